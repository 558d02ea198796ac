"""Every 4xx of every route has one body: ``{"detail": "<a sentence>"}`` (422s of a field add ``"field"``); the
sentence for a question is the one the CLI prints."""
from __future__ import annotations

import json
import re
import string
import unicodedata
from urllib.parse import quote_from_bytes

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from rag.answer.question import check_question
from rag.cli import cli
from rag.errors import InvalidInput
from rag.settings import Settings, default

LAWROW = "Was sagte Lawrow über ein Bündnis?"
JSON = {"content-type": "application/json"}
DOC = {"id": "err/1", "text": "Die Gemeinde Quastenberg baut eine Seilbahn über den Fluss."}


def assert_error_body(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) <= {"detail", "field"} and isinstance(body["detail"], str), body
    return body["detail"]


@pytest.mark.parametrize(("body", "field", "detail"), [
    ({"question": ""}, "question", "the question is empty"),
    ({"question": "  \n "}, "question", "the question is empty"),
    ({}, "question", "the question is missing"),
    ({"question": 42}, "question", "the question must be a string"),
    ({"question": "\ud800"}, "question", "the question: invalid Unicode: lone surrogate at character 0"),
    ({"question": LAWROW, "top_k": 0}, "top_k", "top_k must be at least 1"),
    ({"question": LAWROW, "top_k": 51}, "top_k", "top_k must be at most 50"),
    ({"question": LAWROW, "top_k": "many"}, "top_k", "top_k must be a whole number"),
    ({"question": LAWROW, "max_answers": 11}, "max_answers", "max_answers must be at most 10"),
    ([], "", "the body must be a JSON object"),
], ids=lambda value: json.dumps(value)[:30] if not isinstance(value, str) else value)
def test_ask_422_is_one_sentence_naming_the_field(client, body, field, detail):
    response = client.post("/ask", content=json.dumps(body), headers=JSON)  # ASCII: "\ud800" escaped, as JSON may
    assert assert_error_body(response, 422) == detail
    assert response.json()["field"] == field


@given(st.text(st.sampled_from(string.ascii_letters + string.digits + " ?,.-"), min_size=1, max_size=80))
def test_a_question_in_full_width_letters_is_read_as_in_ascii(ascii_question):
    typed = "".join(chr(ord(c) + 0xFEE0) if c != " " else "\u3000" for c in ascii_question)  # a CJK keyboard's
    try:
        expected = check_question(ascii_question, len(ascii_question))
    except InvalidInput as error:
        with pytest.raises(InvalidInput, match=re.escape(str(error))):
            check_question(typed, len(typed))
    else:
        assert check_question(typed, len(typed)) == expected


@given(st.text(max_size=60))
def test_a_checked_question_is_in_nfkc_and_checked_again_unchanged(question):
    try:
        checked = check_question(question, 60)
    except InvalidInput:
        return
    assert checked == unicodedata.normalize("NFKC", checked) == checked.strip()
    assert check_question(checked, 60 * 18) == checked  # NFKC writes a character as at most 18


def test_a_question_over_the_limit_is_refused_as_typed_before_nfkc_can_lengthen_it(monkeypatch):
    import rag.answer.question

    assert len(unicodedata.normalize("NFKC", "ﷺ")) == 18
    assert check_question("ﷺ" * 10, 10)

    def no_normalising(form, text):
        raise AssertionError("a question over the limit was normalised")

    monkeypatch.setattr(rag.answer.question, "unicodedata",
                        type("Unicodedata", (), {"normalize": staticmethod(no_normalising)}))
    with pytest.raises(InvalidInput, match="the question has 11 characters; at most 10 are allowed"):
        check_question("ﷺ" * 11, 10)


def test_several_fields_are_one_sentence(client):
    response = client.post("/ask", json={"question": LAWROW, "top_k": 0, "max_answers": 11})
    assert assert_error_body(response, 422) == "top_k must be at least 1; max_answers must be at most 10"


def test_http_and_cli_say_the_same_about_a_question(client, seeded_index_dir, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_DIR", str(seeded_index_dir))
    for question in ("", "x" * (default("max_question_chars") + 1), "Was sagte Lawrow \udcff?"):
        with pytest.raises(Exception) as raised:
            check_question(question, default("max_question_chars"))
        said = str(raised.value)
        body = json.dumps({"question": question})  # ASCII, "\udcff" escaped, as JSON may carry it
        assert client.post("/ask", content=body, headers=JSON).json()["detail"] == said
        url_encoded = quote_from_bytes(question.encode("utf-8", "surrogateescape"))  # "\udcff": the byte 0xff, %FF
        assert client.get(f"/search?q={url_encoded}").json()["detail"] == said
        result = CliRunner().invoke(cli, ["ask", question])  # "\udcff": the byte 0xff of a command line
        assert result.exit_code == 1 and said in result.output


def test_invalid_json_is_a_sentence(client):
    response = client.post("/ask", content=b'{"question": ', headers=JSON)
    assert assert_error_body(response, 422).startswith("the body is not valid JSON")


def test_every_route_answers_4xx_with_the_same_body(client, start_app, writable_seeded_settings):
    key = start_app(Settings(index_dir=writable_seeded_settings.index_dir, api_key="k3y", api_key_for_reads=True,
                             rate_limit=2))
    small = start_app(Settings(index_dir=writable_seeded_settings.index_dir, max_body_bytes=1024))
    remote = TestClient(client.app)  # "testclient": not this machine
    checks = [
        (client.get("/search", params={"q": "Lawrow", "k": 0}), 422, "k must be at least 1"),
        (client.get("/documents", params={"limit": 0}), 422, "limit must be at least 1"),
        (client.get("/documents/nope"), 404, "no document with id 'nope'"),
        (client.get("/documents/a%FF"), 422, "the id: invalid Unicode: lone surrogate at character 1"),
        (client.delete("/documents/%ED%A0%80"), 422, "the id: invalid Unicode: lone surrogate at character 0"),
        (client.get("/documents/err%2F%C3%BC"), 404, "no document with id 'err/ü'"),
        (remote.delete("/documents/nope"), 403, "accepted only from this machine"),
        (remote.post("/documents", json=DOC), 403, "RAG_OPEN_WRITES=true"),
        (client.get("/nowhere"), 404, "no such route: /nowhere"),
        (client.put("/ask", json={"question": LAWROW}), 405, "PUT is not allowed on /ask; use POST"),
        (small.post("/documents", json={"text": "x" * 2000}), 413, "larger than 1024 bytes"),
        (small.post("/documents", json={"text": ""}), 422, "the text is empty"),
        (small.post("/documents", json={"id": "", "text": "x"}), 422, "the id is empty"),
        (small.post("/documents", content=json.dumps({"text": "a\udcffb"}), headers=JSON), 422,
         "the text: invalid Unicode: lone surrogate at character 1"),
        (small.post("/documents", json={"text": "x", "meta": {"sha256": "0"}}), 422, "meta may not set sha256"),
        (key.get("/health"), 401, "missing API key"),
        (key.post("/documents", json=DOC, headers={"X-API-Key": "wrong"}), 401, "invalid API key"),
        (key.get("/health", headers={"X-API-Key": "k3y"}), 429, "too many requests"),
    ]
    for response, status, words in checks:
        assert words in assert_error_body(response, status), (status, words)


def test_the_schema_documents_the_error_body(client):
    schema = client.get("/openapi.json").json()
    error = schema["components"]["schemas"]["Error"]
    assert error["properties"]["detail"]["type"] == "string" and set(error["properties"]) == {"detail", "field"}
    post = schema["paths"]["/documents"]["post"]["responses"]
    assert {"401", "403", "413", "422", "429"} <= set(post)


def test_a_json_body_sent_as_a_form_says_which_content_type_to_send(client):
    body = json.dumps({"question": LAWROW})  # curl -d without -H: a form
    response = client.post("/ask", content=body, headers={"content-type": "application/x-www-form-urlencoded"})
    assert assert_error_body(response, 422) == (
        "the body must be a JSON object (it was sent as application/x-www-form-urlencoded: send Content-Type: "
        "application/json)")
    assert client.post("/ask", content=body, headers=JSON).status_code == 200
    assert assert_error_body(client.post("/ask"), 422) == "the body is missing: send a JSON object"


def test_a_pdf_posted_as_a_document_is_pointed_to_rag_ingest(client):
    response = client.post("/documents", content=b"%PDF-1.7\n", headers={"content-type": "application/pdf"})
    assert assert_error_body(response, 422).endswith(
        "(it was sent as application/pdf: send Content-Type: application/json; HTML and PDF files are added with "
        "`rag ingest FOLDER`)")
