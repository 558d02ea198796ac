"""Vector stores: FAISS (embedded) and Milvus (milvus-lite here, a cluster in production) answer alike."""
import numpy as np
import pytest

from rag.index.store import FaissStore, StoreConfig, open_store
from rag.pipeline import Pipeline
from rag.settings import Settings

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from rag.index.store import MilvusStore  # noqa: E402


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_milvus_store_finds_what_exact_faiss_finds(tmp_path):
    vectors = unit_rows(300, 32)
    config = StoreConfig.from_settings(Settings.defaults().model_copy(update={"vector_store": "milvus", "milvus_uri": str(tmp_path / "milvus.db")}))
    milvus, faiss_store = open_store(vectors, config), FaissStore.build(vectors, StoreConfig.from_settings())
    assert isinstance(milvus, MilvusStore) and milvus.ntotal == 300
    for query in vectors[:20] + 0.1 * unit_rows(20, 32, seed=1):
        query = query / np.linalg.norm(query)
        got, expected = milvus.search(query, 5), faiss_store.search(query, 5)
        assert [r for r, _ in got] == [r for r, _ in expected]
        assert np.allclose([s for _, s in got], [s for _, s in expected], atol=1e-5)
    assert milvus.search(vectors[0], 0) == [] and len(milvus.search(vectors[0], 1000)) == 300
    again = MilvusStore(vectors, config)  # same vectors: the same collection, reused, not filled again
    assert again.name == milvus.name and again.search(vectors[3], 1)[0][0] == 3


def test_store_setting_is_validated():
    with pytest.raises(ValueError, match="vector_store"):
        Settings(vector_store="pinecone")


@pytest.mark.slow
def test_seed_questions_get_the_same_answers_with_both_stores(seeded_index_dir, seed_questions, tmp_path,
                                                             monkeypatch):
    monkeypatch.setenv("RAG_VECTOR_STORE", "faiss")
    with_faiss = Pipeline(Settings(index_dir=seeded_index_dir))
    # the index reads the store settings from the environment when it opens
    assert with_faiss.index.snapshot.store.kind == "faiss"
    monkeypatch.setenv("RAG_VECTOR_STORE", "milvus")
    monkeypatch.setenv("RAG_MILVUS_URI", str(tmp_path / "milvus.db"))
    with_milvus = Pipeline(Settings(index_dir=seeded_index_dir), embedder=with_faiss.embedder)
    assert with_milvus.index.snapshot.store.kind == "milvus"
    for row in seed_questions:
        a, b = with_faiss.ask(row["question"]), with_milvus.ask(row["question"])
        assert [p.id for p in a.passages] == [p.id for p in b.passages], row["question"]
        assert [(x.doc_id, x.start, x.end, x.text) for x in a.answers] == \
               [(x.doc_id, x.start, x.end, x.text) for x in b.answers], row["question"]
        assert [x.score for x in a.answers] == pytest.approx([x.score for x in b.answers], abs=1e-4)
