"""The HNSW path of the index (small sizes with a low exact_below) and its saved FAISS graph."""
import json

import numpy as np
import pytest

from rag.corpus.files import make_document
from rag.index.store import FaissStore, StoreConfig
from rag.index.versions import FAISS_FILE, Entry, Index
from rag.settings import Settings


def corpus(docs: int = 6, per: int = 8, dim: int = 16, seed: int = 3) -> list[Entry]:
    rng = np.random.default_rng(seed)
    entries = []
    for d in range(docs):
        vectors = rng.normal(size=(per, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        text = f"Dokument {d} " * per
        spans = np.array([[i * 10, i * 10 + 10] for i in range(per)], np.int64)
        entries.append(Entry(make_document(f"d{d}", text), spans, vectors, spans.copy(), vectors.copy()))
    return entries


def store_config(**settings) -> StoreConfig:
    return StoreConfig.from_settings(Settings.defaults().model_copy(update=settings))


def index_of(entries, exact_below: int, dim: int = 16) -> Index:
    index = Index("m", dim, store_config(exact_below=exact_below))
    for entry in entries:
        index.put(entry)
    return index


def test_hnsw_and_exact_give_the_same_top_results():
    entries = corpus()
    exact, hnsw = index_of(entries, 10_000), index_of(entries, 10)
    assert not exact.snapshot.store.is_hnsw and hnsw.snapshot.store.is_hnsw
    for entry in entries:
        for query in entry.chunk_vectors[:3]:
            assert hnsw.search(query, 1)[0][0] == exact.search(query, 1)[0][0]
            assert [r for r, _ in hnsw.search(query, 5)] == [r for r, _ in exact.search(query, 5)]


def test_hnsw_graph_is_saved_checksummed_and_loaded_not_rebuilt(tmp_path, monkeypatch):
    index = index_of(corpus(), 10)
    version = index.save(tmp_path)
    manifest = json.loads((version / "manifest.json").read_text())
    assert FAISS_FILE in manifest["files"]
    monkeypatch.setattr(FaissStore, "build", classmethod(lambda cls, *a: pytest.fail("rebuilt instead of loaded")))
    opened = Index.open(tmp_path, "m", store_config(exact_below=10, hnsw_ef_search=33))
    store = opened.snapshot.store
    assert store.is_hnsw and store.index.hnsw.efSearch == 33 and store.ntotal == 48
    query = index.entries["d2"].chunk_vectors[4]
    assert opened.snapshot.chunk(opened.search(query, 1)[0][0]).id == "d2#4"


def test_exact_index_saves_no_graph_and_the_switch_follows_exact_below(tmp_path):
    version = index_of(corpus(), 10_000).save(tmp_path)
    assert not (version / FAISS_FILE).exists()
    assert Index.open(tmp_path, "m", store_config(exact_below=10)).snapshot.store.is_hnsw  # built at load
    assert not Index.open(tmp_path, "m", store_config(exact_below=10_000)).snapshot.store.is_hnsw


def test_corrupt_graph_is_refused_by_its_checksum(tmp_path):
    from rag.errors import IndexUnavailable

    version = index_of(corpus(), 10).save(tmp_path)
    with open(version / FAISS_FILE, "r+b") as handle:
        handle.seek(100)
        handle.write(b"\xff\xff\xff\xff")
    with pytest.raises(IndexUnavailable):
        Index.open(tmp_path, "m", store_config(exact_below=10))
