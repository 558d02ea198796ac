"""HTTP fixtures: apps over the seeded index (read-only, or a private writable copy), all sharing one loaded model.
Every API test runs twice: over the index folder (FAISS) and over the same corpus in Milvus (a milvus-lite folder)."""
from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from rag.api import create_app
from rag.pipeline import Pipeline
from rag.settings import Settings

from ..conftest import in_store, milvus_settings
from ..servers import LOCAL_CLIENT


@pytest.fixture(scope="session", params=["faiss", "milvus"])
def store(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def seeded_pipeline(seeded_pipeline, store, seeded_milvus, tmp_path_factory) -> Pipeline:
    """The seeded pipeline of tests/conftest.py, or one over the same corpus in Milvus."""
    return in_store(store, seeded_pipeline, seeded_milvus, tmp_path_factory)


@pytest.fixture
def writable_seeded_settings(writable_seeded_settings, store, seeded_milvus, tmp_path) -> Settings:
    """A private copy of the seeded index, as a folder or in Milvus."""
    if store == "faiss":
        return writable_seeded_settings
    copy = tmp_path / "milvus.db"
    shutil.copytree(seeded_milvus, copy)
    return milvus_settings(writable_seeded_settings.index_dir, copy)


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
def module_writable_client(seeded_pipeline, seeded_index_dir, seeded_milvus, store, tmp_path_factory) -> TestClient:
    """One private copy of the seeded index per test module, for tests whose requests must all be refused."""
    folder = tmp_path_factory.mktemp("module-index") / "index"
    shutil.copytree(seeded_index_dir, folder)
    settings = Settings(index_dir=folder)
    if store == "milvus":
        shutil.copytree(seeded_milvus, folder.parent / "milvus.db")
        settings = milvus_settings(folder, folder.parent / "milvus.db")
    with TestClient(create_app(settings, Pipeline(settings, embedder=seeded_pipeline.embedder)),
                    client=LOCAL_CLIENT) as test_client:
        yield test_client
