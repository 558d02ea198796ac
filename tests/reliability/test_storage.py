"""Storage round trips any string, and a damaged live version never forces deleting the index.

Fast: the index with a fake embedder (no model). The damaged-version tests run the real `rag index repair`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil

import numpy as np
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.api import create_app
from rag.cli import cli
from rag.corpus.files import make_document
from rag.index.versions import CURRENT, DAMAGED_PREFIX, Entry, Index
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.types import Document

from ..conftest import FakeEmbedder
from ..servers import LOCAL_CLIENT

DIM = 4
# every character str.splitlines breaks at, NUL, CR, lone combining marks, BOM, a lone surrogate, the last code point
BREAKERS = ["\u2028", "\u2029", "\x85", "\r", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x00", "\u0301",
            "\u20dd", "\ufeff", "\ud800", "\U0010ffff", '"', "\\"]
ANY = st.lists(st.one_of(st.sampled_from(BREAKERS), st.text(st.characters(codec=None, categories=None), max_size=8)),
               max_size=6).map("".join)
VALUES = st.recursive(st.one_of(ANY, st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                                st.none()),
                      lambda inner: st.lists(inner, max_size=3) | st.dictionaries(ANY, inner, max_size=3), max_leaves=8)
DOCUMENTS = st.lists(st.tuples(ANY, ANY, ANY, st.dictionaries(ANY, VALUES, max_size=4)), min_size=1, max_size=5,
                     unique_by=lambda row: row[0])


def bare_entry(document: Document) -> Entry:
    spans, vectors = np.zeros((0, 2), np.int64), np.zeros((0, DIM), np.float32)
    return Entry(document, spans, vectors, spans, vectors)


@given(DOCUMENTS)
@settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_storage_round_trips_any_string(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("round-trip")
    index = Index("fake", DIM)
    for doc_id, title, text, meta in rows:
        index.put(bare_entry(Document(doc_id, text, title, meta)))
    index.save(folder)
    reopened = Index.open(folder, "fake")  # a new process would do exactly this
    assert list(reopened.entries) == [row[0] for row in rows]
    for doc_id, title, text, meta in rows:
        document = reopened.document(doc_id)
        assert (document.title, document.text, document.meta) == (title, text, meta)


def test_line_separators_survive_a_restart_of_the_service(tmp_path):
    """The defect: one POST with U+2028, U+2029 or U+0085 made every endpoint answer 503 after a restart."""
    settings = Settings(index_dir=tmp_path / "index", rate_limit=0)
    embedder = FakeEmbedder()
    posted = {f"doc-{i}": {"id": f"doc-{i}", "title": f"Titel{c}zwei", "text": f"Ein Satz.{c}Noch ein Satz{c}.",
                           "meta": {f"k{c}": f"v{c}", "list": [c, {c: c}]}}
              for i, c in enumerate(["\u2028", "\u2029", "\x85", "\r", "\x00\u0301"])}
    with TestClient(create_app(settings, Pipeline(settings, embedder=embedder)), client=LOCAL_CLIENT) as client:
        for body in posted.values():
            assert client.post("/documents", json=body).status_code == 201
    # the restart
    with TestClient(create_app(settings, Pipeline(settings, embedder=embedder)), client=LOCAL_CLIENT) as client:
        assert client.get("/health").status_code == 200
        for doc_id, body in posted.items():
            stored = client.get(f"/documents/{doc_id}").json()
            assert (stored["title"], stored["text"]) == (body["title"], body["text"])
            assert {k: stored["meta"][k] for k in body["meta"]} == body["meta"]
        assert client.post("/ask", json={"question": "Ein Satz"}).status_code == 200


def test_an_index_written_before_the_fix_opens(tmp_path):
    """Versions whose documents.jsonl holds raw U+2028 … (written with ensure_ascii=False) are read back whole."""
    index = Index("fake", DIM)
    document = Document("a\u2028b", "x\u2029y\x85z", "t\u2028", {"m": "\u2028"})
    index.put(bare_entry(document))
    version = index.save(tmp_path)
    raw = json.dumps({"id": document.id, "title": document.title, "text": document.text, "meta": document.meta},
                     ensure_ascii=False) + "\n"
    (version / "documents.jsonl").write_text(raw, "utf-8")
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["files"]["documents.jsonl"] = hashlib.sha256(raw.encode()).hexdigest()
    (version / "manifest.json").write_text(json.dumps(manifest))
    assert Index.open(tmp_path, "fake").document("a\u2028b") == document


# --- a damaged live version ----------------------------------------------------------------------------------------
def two_versions(folder) -> Pipeline:
    pipeline = Pipeline(Settings(index_dir=folder), embedder=FakeEmbedder())
    pipeline.ingest([make_document("first", "Die Gemeinde baut eine Seilbahn.")])
    pipeline.ingest([make_document("second", "Der Bürgermeister eröffnet die Schule.")])
    return pipeline


def damage_live(folder) -> str:
    live = (folder / CURRENT).read_text().strip()
    (folder / live / "unit_vectors.npy").write_bytes(b"garbage")
    return live


def test_a_damaged_live_version_falls_back_to_the_previous_one(tmp_path, caplog):
    folder = tmp_path / "index"
    pipeline = two_versions(folder)
    live = damage_live(folder)
    with caplog.at_level(logging.WARNING):
        index = Index.open(folder, pipeline.embedder.name)
    assert list(index.entries) == ["first"]  # the previous version: everything but the last write
    assert "does not match its checksum" in caplog.text and "rag index repair" in caplog.text
    # a write on top of it goes on from there and keeps the damaged version aside, never deleting it
    pipeline = Pipeline(Settings(index_dir=folder), embedder=pipeline.embedder)
    pipeline.ingest([make_document("third", "Die Feuerwehr übt am Montag.")])
    assert set(pipeline.index.entries) == {"first", "third"}
    assert (folder / f"{DAMAGED_PREFIX}{live}").is_dir() and not (folder / live).exists()


def test_rag_index_repair(tmp_path, monkeypatch):
    folder = tmp_path / "index"
    embedder = FakeEmbedder()
    two_versions(folder)
    monkeypatch.setenv("RAG_INDEX_DIR", str(folder))
    monkeypatch.setattr("rag.pipeline.load_embedder", lambda *args: embedder)
    runner = CliRunner()
    intact = runner.invoke(cli, ["index", "repair"])
    assert intact.exit_code == 0 and "nothing to repair" in intact.output
    live = damage_live(folder)
    repaired = runner.invoke(cli, ["index", "repair"])
    assert repaired.exit_code == 0 and f"{DAMAGED_PREFIX}{live}" in repaired.output, repaired.output
    assert (folder / CURRENT).read_text().strip() != live
    assert list(Index.open(folder, embedder.name).entries) == ["first"]
    shutil.rmtree(folder / f"{DAMAGED_PREFIX}{live}")
    assert runner.invoke(cli, ["index", "repair"]).exit_code == 0
