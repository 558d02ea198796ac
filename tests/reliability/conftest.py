"""Fixtures of the reliability tests: a private copy of the seeded index, `rag serve` subprocesses on 127.0.0.1
(scripts/common.py's ServeProcess), the index as stored."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rag.index.versions import Index
from rag.settings import DEFAULT_MODEL
from scripts.common import ServeProcess


def index_state(folder: Path, model: str = DEFAULT_MODEL) -> dict[str, str]:
    """{doc id: text} of the live version; Index.open checks every file against the manifest's sha256."""
    index = Index.open(folder, model)
    return {doc_id: entry.document.text for doc_id, entry in index.entries.items()}


@pytest.fixture
def index_copy(seeded_index_dir, tmp_path) -> Path:
    """A private copy of the seeded index (real bundled model)."""
    folder = tmp_path / "index"
    shutil.copytree(seeded_index_dir, folder)
    return folder


@pytest.fixture
def serve(tmp_path):
    """Starts `rag serve` processes; every one is stopped at the end of the test."""
    started: list[ServeProcess] = []

    def start(index_dir: Path, expect_status: int = 200, **env: str) -> ServeProcess:
        server = ServeProcess(index_dir, tmp_path / f"serve-{len(started)}.log", **env)
        started.append(server)
        return server.start(expect_status=expect_status)

    yield start
    for server in started:
        server.stop()
