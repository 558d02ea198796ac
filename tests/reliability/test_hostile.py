"""Hostile input: random Unicode (emoji, RTL, combining marks, NUL, CRLF, lone surrogates), 1 MB lines, empty and
binary files. Nothing crashes and every offset stays exact: fast properties on make_document + chunk_document /
document_units, the HTTP API with a fake embedder, and a few examples through the real pipeline and model."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings, strategies as st

from rag.api import create_app
from rag.chunk import chunk_document, document_units
from rag.errors import InvalidInput
from rag.ingest import make_document, read_file
from rag.pipeline import Pipeline
from rag.settings import Settings

from ..conftest import FakeEmbedder

SPECIAL = ["\x00", "\r\n", "\r", "\n\n", "\t", "\u200b", "\u200d", "\u200e", "\u200f", "\u202e", "\u2066", "\u2028",
           "\u2029", "\ufeff", "\u0301", "\u0308", "\u20dd", "👩‍👩‍👧", "🇩🇪", "🚡", "\U0001f3fd", "\ud800", "\udfff",
           "שלום", "مرحبا", "z. B.", "16. Mai", "Dr.", "...", "…", "„", "“", "»", "«", "?", "!", ". ", " ", "ẞ",
           "e\u0301", "Z\u0351\u0361a\u0344l\u0366go", "\x85", "\x0b", "\x0c", "\ufffd", "\U0010ffff"]
WORDS = st.text(st.characters(codec=None, categories=None, exclude_characters=""), min_size=0, max_size=12)
TEXTS = st.lists(st.one_of(st.sampled_from(SPECIAL), WORDS, st.sampled_from(["Lawrow sagte", "Die Gemeinde baut"])),
                 min_size=1, max_size=60).map("".join)
SURROGATE_FREE = TEXTS.map(lambda t: "".join(c for c in t if not "\ud800" <= c <= "\udfff"))


def assert_exact(text: str) -> None:
    try:
        document = make_document("doc", text)
    except InvalidInput:
        assert not text.strip()
        return
    assert document.text == text  # kept untouched
    for chunk in chunk_document(document):
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert text[chunk.start:chunk.end] == chunk.text
    previous = 0
    for unit in document_units(document):
        assert previous <= unit.start < unit.end <= len(text)
        assert text[unit.start:unit.end].strip()
        previous = unit.start
    for span in document.meta.get("boilerplate", []):
        start, end = (span["start"], span["end"]) if isinstance(span, dict) else span
        assert 0 <= start <= end <= len(text)


@given(TEXTS)
@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_unicode_offsets_stay_exact(text):
    assert_exact(text)


@given(st.lists(TEXTS, min_size=1, max_size=8).map(lambda parts: "\r\n".join(parts)))
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_multiline_offsets_stay_exact(text):
    assert_exact(text)


@pytest.mark.parametrize("text", ["Wort " * 200_000, "x" * 1_000_000, "Ein Satz.\r\n" + "🚡" * 300_000 + "\r\nEnde."],
                         ids=["1MB words", "1MB no space", "emoji line"])
def test_one_megabyte_lines(text):
    assert_exact(text)


@given(st.binary(max_size=3000))
@settings(max_examples=150, deadline=None, database=None)
def test_any_bytes_read_or_refused(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("bytes") / "a.txt"
    path.write_bytes(data)
    try:
        text = read_file(path)
    except InvalidInput as error:
        assert str(path) in str(error)
        return
    assert text.strip()
    assert_exact(text)


# --- the HTTP API: raw JSON bodies, lone surrogates included, with a fake embedder -------------------------------
@pytest.fixture(scope="module")
def fake_client(tmp_path_factory):
    settings = Settings(index_dir=tmp_path_factory.mktemp("hostile") / "index", rate_limit=0)
    with TestClient(create_app(settings, Pipeline(settings, embedder=FakeEmbedder()))) as client:
        yield client


def raw_json(text: str) -> bytes:
    """JSON with \\uXXXX escapes for everything outside ASCII: lone surrogates arrive as the escapes a client sends."""
    return json.dumps({"text": text, "title": text[:50]}, ensure_ascii=True).encode("ascii")


@given(TEXTS)
@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_post_random_unicode(fake_client, text):
    response = fake_client.post("/documents", content=raw_json(text), headers={"content-type": "application/json"})
    surrogate = any("\ud800" <= c <= "\udfff" for c in text)
    if surrogate or not text.strip():
        assert response.status_code == 422, response.text
        return
    if response.status_code == 422:  # only boilerplate, no text to index
        assert "no text" in response.json()["detail"]
        return
    assert response.status_code == 201, response.text
    doc_id = response.json()["id"]
    stored = fake_client.get(f"/documents/{doc_id}").json()
    assert stored["text"] == text
    search = fake_client.get("/search", params={"q": text.strip()[:200] or "x", "k": 50})
    assert search.status_code in (200, 422)
    if search.status_code == 200:
        for passage in search.json()["passages"]:
            full = fake_client.get(f"/documents/{passage['doc_id']}").json()["text"]
            assert full[passage["start"]:passage["end"]] == passage["text"]
    assert fake_client.delete(f"/documents/{doc_id}").status_code == 204


@pytest.mark.parametrize("body", [b"\xff\xfe{", b'{"text": "\\ud800"}', b'{"text": "a\\u0000b"}', b"\x00" * 100,
                                  b'{"text": ' + b'"' + b"a" * 2_000_000 + b'"}', b"[]", b'"text"', b"{" * 5000])
def test_post_hostile_bodies_never_5xx(fake_client, body):
    response = fake_client.post("/documents", content=body, headers={"content-type": "application/json"})
    assert response.status_code < 500 and response.headers["content-type"] == "application/json"


@given(TEXTS)
@settings(max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_questions_of_random_unicode(fake_client, question):
    fake_client.post("/documents", json={"id": "fixed", "text": "Lawrow sagte in Astana etwas über ein Bündnis."})
    response = fake_client.post("/ask", content=json.dumps({"question": question}).encode(),
                                headers={"content-type": "application/json"})
    assert response.status_code in (200, 422), response.text


# --- the real pipeline and model ---------------------------------------------------------------------------------
HOSTILE_FILES = {
    "emoji": "Die Seilbahn 🚡 fährt ab Mai. Der Bürgermeister 👩‍👩‍👧 freut sich über 🇩🇪 Fahnen.\n",
    "rtl": "Der Gesandte sagte שלום und مرحبا zur Begrüßung.\u200f Dann sprach er über den Handel.\n",
    "combining": "Zoe\u0308 und Rene\u0301 bauen eine Bru\u0308cke. Sie kostet drei Millionen Euro.\n",
    "crlf": "Titel der Meldung\r\n\r\nDie Gemeinde baut eine Schule.\r\nSie wird im Juni eröffnet.\r\n",
    "nul-late": "Ein Satz über die Feuerwehr. " * 400 + "\x00 Danach kam ein NUL-Zeichen. Ende.\n",
    "long-line": "Der Fluss ist lang " * 1000 + ".\n",
    "bom": "\ufeffDie Meldung beginnt mit einer Byte-Order-Mark. Sie handelt vom Wetter.\n",
}


@pytest.mark.slow
def test_hostile_files_through_the_real_pipeline(tmp_path, seeded_pipeline):
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in HOSTILE_FILES.items():
        (folder / f"{name}.txt").write_bytes(text.encode("utf-8"))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "blank.txt").write_bytes(b" \n\r\n\t")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (folder / "latin1.txt").write_bytes("Straße in Köln".encode("latin-1"))
    (folder / "surrogate.txt").write_bytes(b"Ein \xed\xa0\x80 Zeichen.")  # CESU-style lone surrogate: not UTF-8
    pipeline = Pipeline(Settings(index_dir=tmp_path / "index"), embedder=seeded_pipeline.embedder)
    report = pipeline.ingest_folder(folder)
    assert sorted(report.added) == sorted(HOSTILE_FILES)
    texts = {name: text.removeprefix("\ufeff") for name, text in HOSTILE_FILES.items()}
    for doc_id, text in texts.items():
        assert pipeline.document(doc_id).text == text
    for question in ["Was kostet die Brücke?", "Wann fährt die Seilbahn?", "Was sagte der Gesandte?", "🚡",
                     "שלום", "Wann wird die Schule eröffnet?", "NUL"]:
        reply = pipeline.ask(question)
        for passage in reply.passages:
            assert texts[passage.doc_id][passage.start:passage.end] == passage.text
        for answer in reply.answers:
            assert texts[answer.doc_id][answer.start:answer.end] == answer.text
    for invisible in ["\u0301\u0301", "\x00\x00", "\u200b\u200d\ufeff"]:  # no letter, digit or symbol
        with pytest.raises(InvalidInput, match="no letter"):
            pipeline.ask(invisible)
    # a document posted with NUL bytes and lone-surrogate-free oddities through the real model
    nul = "A\x00B ist ein Satz mit NUL.\r\nUnd 👩‍👩‍👧 noch einer."
    pipeline.ingest([make_document("nul", nul)])
    assert pipeline.document("nul").text == nul
    assert all(nul[p.start:p.end] == p.text for p in pipeline.search("NUL Satz", 50) if p.doc_id == "nul")
