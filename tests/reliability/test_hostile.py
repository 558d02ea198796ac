"""Hostile input: random Unicode (emoji, RTL, combining marks, NUL, CRLF, lone surrogates), 1 MB lines, empty and
binary files. Nothing crashes and every offset stays exact: fast properties on make_document + split_document, the HTTP
API with a fake embedder, and a few examples through the real pipeline and model."""
from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.api import create_app
from rag.api.app import BodyLimit
from rag.api.documents import WRITE_RETRY_AFTER_S
from rag.corpus.files import make_document, read_file
from rag.errors import InvalidInput
from rag.index.chunk import split_document
from rag.pipeline import Pipeline
from rag.settings import Settings, default
from rag.text import spelled_date

from ..conftest import FakeEmbedder
from ..servers import LOCAL_CLIENT
from .conftest import index_state

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
    spans = split_document(document, default("chunk_chars"), default("chunk_overlap_chars"))
    for start, end in spans.chunk_spans:
        assert 0 <= start < end <= len(text)
    previous = 0
    for start, end in spans.unit_spans:
        assert previous <= start < end <= len(text)
        assert text[start:end].strip()
        previous = start
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
    with TestClient(create_app(settings, Pipeline(settings, embedder=FakeEmbedder())), client=LOCAL_CLIENT) as client:
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


# --- schema-valid input that used to answer 500, unreachable ids, leaks (issue 13) ---------------------------------
@pytest.mark.parametrize("date", [5, ["2024"], {"y": 2024}, "2024-13-01", "2024-00-01", "", None])
def test_any_meta_date_is_stored_and_searchable(fake_client, date):
    response = fake_client.post("/documents",
                                json={"id": "dated", "text": "Lawrow sagte etwas.", "meta": {"date": date}})
    assert response.status_code == 201, response.text
    assert fake_client.get("/documents/dated").json()["meta"]["date"] == date
    assert fake_client.get("/search", params={"q": "Lawrow"}).status_code == 200


def test_a_month_out_of_range_is_not_spelled():
    assert spelled_date("2024-00-01") == "2024-00-01" and spelled_date("2024-13-01") == "2024-13-01"
    assert spelled_date(7) == "" and spelled_date("2023-02-22") == "22. Februar 2023"


@pytest.mark.parametrize("raw", [b'{"question": "Lawrow", "top_k": 1e999}', b'{"question": "Lawrow", "top_k": NaN}',
                                 b'{"question": "Lawrow", "max_answers": -Infinity}'])
def test_non_finite_numbers_are_422(fake_client, raw):
    response = fake_client.post("/ask", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_meta_is_refused_not_nulled(fake_client, value):
    raw = b'{"text": "Ein Satz.", "meta": {"x": [1, ' + value.encode() + b"]}}"
    response = fake_client.post("/documents", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422 and "NaN or Infinity" in response.text


@pytest.mark.parametrize("doc_id", ["a\nb", "a\rb", "a\x00b", "a\x85b", "a\u2028b", "a\u2029b", "a\tb"])
def test_ids_with_line_breaks_or_controls_are_refused(fake_client, doc_id):
    response = fake_client.post("/documents", json={"id": doc_id, "text": "Ein Satz."})
    assert response.status_code == 422 and "control characters or line breaks" in response.text


def test_an_id_with_a_newline_already_stored_stays_reachable(fake_client):
    pipeline = fake_client.app.state.pipeline
    pipeline.ingest([make_document("old\nid", "Ein älterer Satz.")])  # stored before ids were checked
    assert fake_client.get("/documents/old%0Aid").json()["id"] == "old\nid"
    assert fake_client.delete("/documents/old%0Aid").status_code == 204
    assert fake_client.get("/documents/old%0Aid").status_code == 404


def test_server_paths_are_never_shown(fake_client, tmp_path):
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "from-disk.txt").write_text("Die Gemeinde baut eine Seilbahn.")
    fake_client.app.state.pipeline.ingest_folder(folder)
    listing = fake_client.get("/documents").text
    assert "from-disk" in listing and str(folder) not in listing
    assert str(folder) not in fake_client.get("/documents/from-disk").text
    refused = fake_client.post("/documents", json={"text": "Ein Satz.", "meta": {"path": str(folder / "x.txt")}})
    assert refused.status_code == 422  # a client's path could make `rag ingest` of that folder delete the document


def test_invalid_utf8_is_422(fake_client):
    response = fake_client.post("/documents", content=b'{"text": "\xff\xfe"}',
                                headers={"content-type": "application/json"})
    assert response.status_code == 422 and response.headers["content-type"] == "application/json"


def test_head_on_get_routes(fake_client):
    fake_client.post("/documents", json={"id": "fixed", "text": "Lawrow sagte in Astana etwas über ein Bündnis."})
    for path in ("/health", "/documents", "/", "/search?q=Lawrow"):
        response = fake_client.head(path)
        assert response.status_code == 200 and response.content == b"", path


def test_a_huge_id_is_not_echoed_back(fake_client):
    response = fake_client.get("/documents/" + "x" * 60_000)  # (httpx refuses longer URLs)
    assert response.status_code == 404 and len(response.text) < 300


@pytest.mark.parametrize("question", ["\x00", "\x00\x00\x00", "\u200b", "\u200b\u200d\ufeff", "\u0301", "\u2028"])
def test_invisible_questions_are_refused(fake_client, question):
    assert fake_client.post("/ask", json={"question": question}).status_code == 422


@pytest.mark.parametrize("origin, method, headers, refusal", [
    ("https://evil.example", "POST", "content-type", "origin"), ("https://a.example", "PUT", "content-type", "method"),
    ("https://a.example", "POST", "x-evil", "headers")])
def test_cors_refusals_are_json(tmp_path, origin, method, headers, refusal):
    settings = Settings(index_dir=tmp_path / "index", cors_origins="https://a.example", rate_limit=0)
    with TestClient(create_app(settings, Pipeline(settings, embedder=FakeEmbedder())), client=LOCAL_CLIENT) as client:
        response = client.options("/ask", headers={"Origin": origin, "Access-Control-Request-Method": method,
                                                   "Access-Control-Request-Headers": headers})
        assert response.status_code == 400 and response.headers["content-type"] == "application/json"
        assert f"Disallowed CORS {refusal}" in response.json()["detail"]


def test_a_body_shorter_than_its_content_length_times_out():
    sent = []

    async def never(): await asyncio.sleep(3600)

    async def app(scope, receive, send): raise AssertionError("the app must not be called")

    async def send(message): sent.append(message)

    scope = {"type": "http", "headers": [(b"content-length", b"100")]}
    asyncio.run(BodyLimit(app, limit=1000, timeout=0.05)(scope, never, send))
    assert sent[0]["status"] == 408 and b"did not arrive" in sent[1]["body"]


def test_writes_beyond_the_limit_are_refused_at_once(fake_client):
    slots = fake_client.app.state.write_slots
    with slots.hold(), slots.hold():  # MAX_WRITES_IN_PROGRESS (2) writes in progress
        started = time.perf_counter()
        response = fake_client.post("/documents", json={"text": "Ein Satz."})
        assert response.status_code == 503 and response.headers["retry-after"] == str(WRITE_RETRY_AFTER_S)
        assert fake_client.delete("/documents/fixed").status_code == 503
        assert time.perf_counter() - started < 1
        assert fake_client.get("/health").status_code == 200
    assert fake_client.post("/documents", json={"text": "Ein Satz."}).status_code == 201


# --- the whole list against `rag serve`, then a restart (real model) -----------------------------------------------
SEPARATORS = "\u2028\u2029\x85"
HOSTILE_POSTS = [
    {"id": "separators", "title": f"Titel{SEPARATORS}zwei", "text": f"Ein Satz.{SEPARATORS}Noch ein Satz.\u2028Ende.",
     "meta": {f"key{SEPARATORS}": f"value{SEPARATORS}", "list": [SEPARATORS, {SEPARATORS: 1}]}},
    *({"id": f"date/{i}", "text": f"Die Gemeinde baut Brücke {i}.", "meta": {"date": date}}
      for i, date in enumerate([5, ["2024"], {"y": 2024}, "2024-13-01", "2024-00-01"])),
    {"id": "controls", "text": "A\x00B ist ein Satz.\r\nUnd 👩‍👩‍👧 noch einer.\rZoe\u0308 sagte שלום.\u202e Ende."},
    {"title": "\ufeffOhne Id", "text": "Ein Dokument ohne Id bekommt eine."},
]
REFUSED_POSTS = [{"id": f"a{c}b", "text": "Ein Satz."} for c in [*SEPARATORS, "\n", "\x00"]] + [
    {"text": "Ein Satz.", "meta": {"path": "/etc/passwd"}}]
REFUSED_RAW = [("/documents", b'{"text": "Ein Satz.", "meta": {"x": NaN}}'), ("/documents", b'{"text": "\xff\xfe"}'),
               ("/documents", b'{"text": "\\ud800"}'), ("/ask", b'{"question": "Lawrow", "top_k": 1e999}')]


@pytest.mark.slow
def test_a_restarted_server_keeps_the_seeds_and_every_acknowledged_document(index_copy, serve):
    """Done when of issue 13: `rag serve` takes the hostile list, is restarted, and has lost nothing it answered 201 to
    (one POST with U+2028 in it used to make every endpoint answer 503 after a restart)."""
    seeds = index_state(index_copy)
    server = serve(index_copy)
    acknowledged = {}
    with httpx.Client(base_url=server.url, timeout=120) as client:
        for body in HOSTILE_POSTS:
            response = client.post("/documents", json=body)
            assert response.status_code == 201, response.text
            acknowledged[response.json()["id"]] = body
        for body in REFUSED_POSTS:
            assert client.post("/documents", json=body).status_code == 422, body
        for path, raw in REFUSED_RAW:
            response = client.post(path, content=raw, headers={"content-type": "application/json"})
            assert response.status_code == 422, raw
        for question in ["字" * 1000, "\u2028"]:
            assert client.post("/ask", json={"question": question}).status_code == 422
    server.stop()

    restarted = serve(index_copy)
    with httpx.Client(base_url=restarted.url, timeout=120) as client:
        assert client.get("/health").json()["documents"] == len(seeds) + len(acknowledged)
        for doc_id, text in seeds.items():
            assert client.get(f"/documents/{doc_id}").json()["text"] == text
        for doc_id, body in acknowledged.items():
            stored = client.get(f"/documents/{doc_id}").json()
            assert stored["text"] == body["text"] and stored["title"] == body.get("title", stored["title"])
            assert {key: stored["meta"][key] for key in body.get("meta", {})} == body.get("meta", {})
        assert client.post("/ask", json={"question": "Was sagte Lawrow über ein Bündnis?"}).status_code == 200
    assert index_state(index_copy) == seeds | {doc_id: body["text"] for doc_id, body in acknowledged.items()}
