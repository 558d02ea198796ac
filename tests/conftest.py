"""Shared fixtures: the seeds indexed once with the real bundled model, fresh apps over an index, and a deterministic
fake embedder."""
from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from rag.api import create_app
from rag.pipeline import Pipeline
from rag.settings import Settings

from .servers import LOCAL_CLIENT

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = ROOT / "data"
SEED_QA = DATA / "seed_qa_dev.jsonl"
XQUAD_DE = DATA / "xquad" / "xquad.de.json"


class FakeEmbedder:
    """Bag-of-words hashing embedder: same text, same vector; shared words, higher cosine. No model involved."""

    name = "fake-hash-64"
    dim = 64

    def warm_up(self) -> None:
        pass

    def _embed(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                out[row, int(hashlib.md5(word.encode("utf-8", "surrogatepass")).hexdigest(), 16) % self.dim] += 1.0
            out[row, 0] += 1e-3
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def embed_queries(self, texts):
        return self._embed(list(texts))

    def embed_passages(self, texts):
        return self._embed(list(texts))


class TokenFakeEmbedder(FakeEmbedder):
    """The fake embedder with latent terms, read in one pass as the bundled model reads: a word's hash is a term of
    weight 1."""

    encoding = "fake-tokens"
    term_space = 97

    def read(self, texts, is_query=False):
        from rag.encoder.e5_files import pooled_terms
        from rag.encoder.embed import Encoded

        readings = []
        for text in texts:
            ids = np.array([hash_term(word) for word in text.split()], np.int64)
            readings.append(Encoded(self._embed([text])[0], *pooled_terms(ids, np.ones(len(ids)), self.term_space)))
        return readings


def hash_term(word: str) -> int:
    return (int(hashlib.md5(word.lower().encode("utf-8", "surrogatepass")).hexdigest(), 16)
            % TokenFakeEmbedder.term_space)


def assert_spans_exact(pipeline: Pipeline, reply) -> None:
    """Every passage, answer and context of the reply cuts exactly its text from its document."""
    for passage in reply.passages:
        assert pipeline.document(passage.doc_id).text[passage.start:passage.end] == passage.text
    for answer in reply.answers:
        text = pipeline.document(answer.doc_id).text
        assert text[answer.start:answer.end] == answer.text
        assert text[answer.context.start:answer.context.end] == answer.context.text
        assert answer.context.start <= answer.sentence.start <= answer.start < answer.end <= answer.sentence.end \
            <= answer.context.end
        assert len(answer.text) <= 300 and 0.0 <= answer.score <= 1.0


@pytest.fixture
def fake_pipeline(tmp_path) -> Pipeline:
    """An empty pipeline over a temporary index, with the fake embedder (for tests about something else)."""
    return Pipeline(Settings(index_dir=tmp_path / "index"), embedder=FakeEmbedder())


@pytest.fixture(scope="session")
def seeded_index_dir(tmp_path_factory) -> Path:
    """The seeds ingested once per test session with the real bundled model; copy it before writing to it."""
    folder = tmp_path_factory.mktemp("seeded") / "index"
    Pipeline(Settings(index_dir=folder)).ingest_folder(SEEDS)
    return folder


@pytest.fixture(scope="session")
def seeded_pipeline(seeded_index_dir) -> Pipeline:
    """A read-only pipeline over the seeded index with the real bundled model."""
    return Pipeline(Settings(index_dir=seeded_index_dir))


@pytest.fixture(scope="session")
def seeded_milvus(seeded_index_dir, tmp_path_factory) -> Path:
    """The seeded index's entries put into a milvus-lite folder (the same vectors: nothing is encoded again)."""
    from rag.index.versions import Index

    pytest.importorskip("milvus_lite")
    folder = tmp_path_factory.mktemp("seeded-milvus") / "milvus.db"
    settings = milvus_settings(seeded_index_dir, folder)
    index = Index.open(seeded_index_dir, settings.model)
    pipeline = Pipeline(settings, embedder=_NoModel(index.dim))
    with pipeline.corpus.writing() as corpus:
        for entry in index.entries.values():
            corpus.put(entry)
        corpus.save()
    pipeline.corpus.client.close()
    return folder


class _NoModel:
    """Stands in for the model where nothing is encoded (the entries are made): only its name and size are read."""

    def __init__(self, dim: int):
        from rag.encoder.embed import BundledEmbedder

        self.name, self.dim, self.encoding, self.read = Settings().model, dim, BundledEmbedder.encoding, None


def milvus_settings(index_dir: Path, milvus_folder: Path) -> Settings:
    return Settings(index_dir=index_dir, vector_store="milvus", milvus_uri=str(milvus_folder))


def in_store(store: str, seeded_pipeline: Pipeline, seeded_milvus: Path, tmp_path_factory) -> Pipeline:
    """``seeded_pipeline`` (store "faiss"), or a pipeline over a copy of the same corpus in Milvus ("milvus")."""
    if store == "faiss":
        return seeded_pipeline
    copy = tmp_path_factory.mktemp("read-milvus") / "milvus.db"
    shutil.copytree(seeded_milvus, copy)
    return Pipeline(milvus_settings(tmp_path_factory.mktemp("unused"), copy), embedder=seeded_pipeline.embedder)


@pytest.fixture
def writable_seeded_settings(seeded_index_dir, tmp_path) -> Settings:
    """Settings over a private copy of the seeded index, for tests that add or delete documents."""
    folder = tmp_path / "index"
    shutil.copytree(seeded_index_dir, folder)
    return Settings(index_dir=folder)


@pytest.fixture
def start_app(seeded_pipeline) -> Callable[[Settings], TestClient]:
    """Starts a fresh app (a new pipeline, as after a restart) over the given settings; the model is shared."""
    clients = []

    def start(settings: Settings) -> TestClient:
        pipeline = Pipeline(settings, embedder=seeded_pipeline.embedder)
        test_client = TestClient(create_app(settings, pipeline), client=LOCAL_CLIENT)
        test_client.__enter__()
        clients.append(test_client)
        return test_client

    yield start
    for test_client in clients:
        test_client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def seed_questions() -> list[dict]:
    return [json.loads(line) for line in SEED_QA.read_text().splitlines() if line.strip()]
