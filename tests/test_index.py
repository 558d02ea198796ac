import hashlib
import json

import numpy as np
import pytest

from rag.corpus.files import make_document
from rag.errors import IndexUnavailable
from rag.index.versions import CURRENT, Entry, Index


def entry(doc_id: str, text: str, dim: int = 8, seed: int = 0) -> Entry:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(2, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    half = len(text) // 2
    spans = np.array([[0, half], [half, len(text)]])
    return Entry(make_document(doc_id, text), spans, vectors, spans.copy(), vectors.copy())


def test_empty_index_searches_to_nothing():
    assert Index("m", 8).search(np.ones(8, np.float32), 5) == []


def test_roundtrip_keeps_documents_spans_and_vectors(tmp_path):
    index = Index("m", 8)
    index.put(entry("a", "Erster Text über Peking.", seed=1))
    index.put(entry("b", "Zweiter Text über Moskau.", seed=2))
    index.save(tmp_path)
    loaded = Index.open(tmp_path, "m")
    assert sorted(loaded.entries) == ["a", "b"]
    query = index.entries["b"].chunk_vectors[1]
    row, score = loaded.search(query, 1)[0]
    assert loaded.snapshot.chunk(row).id == "b#1" and score == pytest.approx(1.0, abs=1e-5)
    chunk = loaded.snapshot.chunk(row)
    assert loaded.document("b").text[chunk.start:chunk.end] == chunk.text


def test_latent_terms_and_the_encoding_are_saved_and_older_indexes_still_open(tmp_path):
    index = Index("m", 8, encoding="one-pass")
    plain = entry("a", "Erster Text über Peking.", seed=1)
    assert plain.chunk_term_ids.shape == (2, 0)
    index.put(plain)  # as a document saved before latent terms existed: no terms, beside one with them
    with_terms = entry("b", "Zweiter Text über Moskau.", seed=2)
    index.put(Entry(with_terms.document, with_terms.chunk_spans, with_terms.chunk_vectors, with_terms.unit_spans,
                    with_terms.unit_vectors, np.array([[3, 1], [2, 0]], np.int32),
                    np.array([[0.9, 0.5], [0.7, 0.0]], np.float32)))
    version = index.save(tmp_path)
    loaded = Index.open(tmp_path, "m")
    assert loaded.encoding == "one-pass" and loaded.copy().encoding == "one-pass"
    assert loaded.entries["b"].chunk_term_ids.tolist() == [[3, 1], [2, 0]]
    assert np.allclose(loaded.snapshot.chunk_term_weights, [[0, 0], [0, 0], [0.9, 0.5], [0.7, 0.0]])

    # an index of earlier code: no encoding, and units' latent terms (no longer read) beside the chunks' ones
    manifest = json.loads((version / "manifest.json").read_text())
    del manifest["encoding"]
    for name in ("unit_term_ids", "unit_term_weights"):
        np.save(version / f"{name}.npy", np.zeros((4, 1), np.float32))
        manifest["files"][f"{name}.npy"] = hashlib.sha256((version / f"{name}.npy").read_bytes()).hexdigest()
    (version / "manifest.json").write_text(json.dumps(manifest))
    older = Index.open(tmp_path, "m")
    assert older.encoding == "" and older.entries["b"].chunk_term_ids.tolist() == [[3, 1], [2, 0]]

    # an index saved before latent terms existed has neither their files nor their manifest entries
    for name in ("chunk_term_ids.npy", "chunk_term_weights.npy"):
        (version / name).unlink()
        del manifest["files"][name]
    (version / "manifest.json").write_text(json.dumps(manifest))
    oldest = Index.open(tmp_path, "m")
    assert oldest.entries["b"].chunk_term_ids.shape == (2, 0) and oldest.snapshot.chunk_term_ids.shape == (4, 0)


def test_another_model_is_a_clear_error(tmp_path):
    index = Index("model-a", 8)
    index.put(entry("a", "Text eins."))
    index.save(tmp_path)
    with pytest.raises(IndexUnavailable, match="built with model 'model-a'"):
        Index.open(tmp_path, "model-b")


def test_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexUnavailable, match="rag ingest"):
        Index.open(tmp_path / "nothing", "m")


def test_a_damaged_file_fails_its_checksum(tmp_path):
    index = Index("m", 8)
    index.put(entry("a", "Text eins."))
    live = index.save(tmp_path)
    with open(live / "unit_vectors.npy", "r+b") as handle:
        handle.seek(-4, 2)
        handle.write(b"\x00\x01\x02\x03")
    with pytest.raises(IndexUnavailable, match="checksum"):
        Index.open(tmp_path, "m")


def test_an_unfinished_save_leaves_the_previous_version_live(tmp_path):
    index = Index("m", 8)
    index.put(entry("a", "Text eins."))
    first = index.save(tmp_path)
    (tmp_path / ".v000002.tmp-999999").mkdir()  # what a crash mid-write leaves behind
    (tmp_path / ".v000002.tmp-999999" / "documents.jsonl").write_text("{broken")
    assert (tmp_path / CURRENT).read_text() == first.name
    assert list(Index.open(tmp_path, "m").entries) == ["a"]
    index.put(entry("b", "Text zwei."))
    second = index.save(tmp_path)
    assert json.loads((second / "manifest.json").read_text())["documents"] == 2
    assert not (tmp_path / ".v000002.tmp-999999").exists()


def test_removing_and_replacing_documents(tmp_path):
    index = Index("m", 8)
    index.put(entry("a", "Text eins."))
    index.put(entry("a", "Ganz anderer Text.", seed=3))
    assert len(index) == 1 and index.document("a").text == "Ganz anderer Text."
    assert index.remove("a") and not index.remove("a")
    assert index.search(np.ones(8, np.float32), 3) == []
