"""HTTP fixtures: apps over the seeded index (read-only, or a private writable copy), all sharing one loaded model."""
from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from rag.api import create_app
from rag.pipeline import Pipeline
from rag.settings import Settings

from ..servers import LOCAL_CLIENT


@pytest.fixture(scope="session")
def client(seeded_pipeline) -> TestClient:
    """The service over the seeded index; tests with this client must not write."""
    with TestClient(create_app(pipeline=seeded_pipeline), client=LOCAL_CLIENT) as test_client:
        yield test_client


@pytest.fixture
def writable_client(start_app, writable_seeded_settings) -> TestClient:
    """The service over a private copy of the seeded index."""
    return start_app(writable_seeded_settings)


@pytest.fixture(scope="module")
def module_writable_client(seeded_pipeline, seeded_index_dir, tmp_path_factory) -> TestClient:
    """One private copy of the seeded index per test module, for tests whose requests must all be refused."""
    folder = tmp_path_factory.mktemp("module-index") / "index"
    shutil.copytree(seeded_index_dir, folder)
    settings = Settings(index_dir=folder)
    with TestClient(create_app(settings, Pipeline(settings, embedder=seeded_pipeline.embedder)),
                    client=LOCAL_CLIENT) as test_client:
        yield test_client
