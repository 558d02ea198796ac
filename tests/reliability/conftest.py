"""Servers for the reliability tests: `rag serve` as a subprocess, or uvicorn in a thread, on 127.0.0.1 only."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rag.index.versions import Index
from rag.settings import DEFAULT_MODEL

from ..servers import free_port

ROOT = Path(__file__).resolve().parents[2]
RAG = [str(Path(sys.executable).parent / "rag")]  # the console script of this venv


def rag_env(index_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update({"RAG_INDEX_DIR": str(index_dir), "RAG_RATE_LIMIT": "0", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


def index_state(folder: Path, model: str = DEFAULT_MODEL) -> dict[str, str]:
    """{doc id: text} of the live version; Index.open checks every file against the manifest's sha256."""
    index = Index.open(folder, model)
    return {doc_id: entry.document.text for doc_id, entry in index.entries.items()}


class ServeProcess:
    """`rag serve` on a free loopback port, in its own process group so that SIGKILL reaches only it."""

    def __init__(self, index_dir: Path, log: Path, **env: str):
        self.index_dir = index_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = rag_env(index_dir, **env)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90, expect_status: int = 200) -> "ServeProcess":
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(RAG + ["serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                            env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rag serve exited with {self.process.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == expect_status:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"rag serve did not answer in {timeout} s: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None


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
