"""GET, POST and DELETE /documents: listing, exact texts, ids with "/", replacing, deleting, and restarts."""
from __future__ import annotations

import re

import pytest

from .helpers import DocumentTexts, assert_passages_exact, assert_reply_exact, document_url

SEED_IDS = {"000_4cb28fa25178b61e"}

ARTICLE = (
    "Quastenberg baut eine Seilbahn\n\n"
    "Die Gemeinde Quastenberg im Harz baut eine neue Seilbahn auf den Hexenkopf. "
    "Bürgermeisterin Ottilie Wendrich sagte am Montag, die Bahn solle im Frühjahr 2027 eröffnet werden. "
    "Die Kosten der Seilbahn betragen nach Angaben der Gemeinde 14 Millionen Euro.\n\n"
    "Kritiker  bemängeln   den Eingriff in den Wald 🌲🌲 und fordern ein Gutachten. "
    "Der Naturschutzbund kündigte eine Klage gegen die Seilbahn an.\n"
)


def test_list_documents(client):
    response = client.get("/documents")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == len(body["documents"]) == 5
    ids = {row["id"] for row in body["documents"]}
    assert SEED_IDS <= ids
    texts = DocumentTexts(client)
    for row in body["documents"]:
        assert set(row) >= {"id", "title", "chars", "chunks"}
        assert row["title"] and row["chunks"] >= 1
        assert row["chars"] == len(texts[row["id"]])
        assert "boilerplate" not in row and "sha256" not in row
    assert any("date" in row for row in body["documents"])
    page = client.get("/documents", params={"offset": 1, "limit": 2}).json()
    assert page["total"] == 5 and [r["id"] for r in page["documents"]] == [r["id"] for r in body["documents"][1:3]]
    assert client.get("/documents", params={"limit": 0}).status_code == 422
    assert client.get("/documents", params={"offset": -1}).status_code == 422


def test_get_document(client):
    response = client.get(document_url("000_4cb28fa25178b61e"))
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"id", "title", "text", "meta"}
    assert body["id"] == "000_4cb28fa25178b61e"
    assert "Lawrow" in body["text"]
    assert isinstance(body["meta"], dict)


@pytest.mark.parametrize("doc_id", ["nope", "Super_Bowl_50/0", "000_4cb28fa25178b61e/x", "a b", "ü#1"])
def test_unknown_id_is_404(client, doc_id):
    for response in (client.get(document_url(doc_id)), client.delete(document_url(doc_id))):
        assert response.status_code == 404, response.text
        assert isinstance(response.json()["detail"], str)


def test_posted_document_is_searchable_at_once_and_survives_a_restart(writable_client, start_app,
                                                                      writable_seeded_settings):
    response = writable_client.post("/documents", json={"text": ARTICLE, "meta": {"source": "Harzbote"}})
    assert response.status_code == 201, response.text
    created = response.json()
    doc_id = created["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", doc_id)
    assert created["chunks"] >= 1

    def check(client):
        body = client.get(document_url(doc_id)).json()
        assert body["text"] == ARTICLE
        assert body["title"] == "Quastenberg baut eine Seilbahn"
        assert body["meta"]["source"] == "Harzbote"
        listed = client.get("/documents").json()
        assert listed["total"] == 6
        row = next(r for r in listed["documents"] if r["id"] == doc_id)
        assert row["chars"] == len(ARTICLE) and row["chunks"] == created["chunks"] and row["source"] == "Harzbote"
        passages = client.get("/search", params={"q": "Seilbahn Quastenberg Hexenkopf", "k": 3}).json()["passages"]
        assert passages[0]["doc_id"] == doc_id
        assert_passages_exact(DocumentTexts(client), passages)
        reply = client.post("/ask", json={"question": "Wann soll die Seilbahn in Quastenberg eröffnet werden?"}).json()
        assert_reply_exact(client, reply)
        assert reply["passages"][0]["doc_id"] == doc_id
        assert client.get("/health").json()["documents"] == 6

    check(writable_client)
    check(start_app(writable_seeded_settings))  # a restart: a new app and pipeline over the same folder


def test_ids_with_slashes_emoji_offsets_and_replacing(writable_client, start_app, writable_seeded_settings):
    doc_id = "Super_Bowl_50/0"
    text = "😀 " * 40 + ARTICLE
    created = writable_client.post("/documents", json={"id": doc_id, "title": "Emoji vorweg", "text": text})
    assert created.status_code == 201 and created.json()["id"] == doc_id
    body = writable_client.get(f"/documents/{doc_id}").json()  # a literal "/" in the path works too
    assert body["text"] == text and body["title"] == "Emoji vorweg"
    reply = writable_client.post("/ask", json={"question": "Wie viel kostet die Seilbahn auf den Hexenkopf?",
                                               "top_k": 10, "max_answers": 10}).json()
    assert_reply_exact(writable_client, reply, max_answers=10)
    assert doc_id in {p["doc_id"] for p in reply["passages"]}
    passage = next(p for p in reply["passages"] if p["doc_id"] == doc_id and "Millionen" in p["text"])
    assert passage["start"] == text.index(passage["text"])  # code points, not UTF-16 units or bytes

    replacement = "Der Hexenkopf bleibt ohne Bahn. Die Gemeinde verzichtet auf das Projekt, teilte sie am Dienstag mit."
    again = writable_client.post("/documents", json={"id": doc_id, "text": replacement})
    assert again.status_code == 201 and again.json() == {"id": doc_id, "chunks": 1}
    for client in (writable_client, start_app(writable_seeded_settings)):
        assert client.get(document_url(doc_id)).json()["text"] == replacement
        assert client.get("/documents").json()["total"] == 6
        passages = client.get("/search", params={"q": "Hexenkopf Gemeinde", "k": 50}).json()["passages"]
        assert all(replacement[p["start"]:p["end"]] == p["text"] for p in passages if p["doc_id"] == doc_id)


def test_delete_survives_a_restart(writable_client, start_app, writable_seeded_settings):
    doc_id = "000_4cb28fa25178b61e"
    response = writable_client.delete(document_url(doc_id))
    assert response.status_code == 204 and response.content == b""
    for client in (writable_client, start_app(writable_seeded_settings)):
        assert client.get(document_url(doc_id)).status_code == 404
        assert client.delete(document_url(doc_id)).status_code == 404
        listed = client.get("/documents").json()
        assert listed["total"] == 4 and doc_id not in {r["id"] for r in listed["documents"]}
        passages = client.get("/search", params={"q": "Lawrow Bündnis China", "k": 50}).json()["passages"]
        assert doc_id not in {p["doc_id"] for p in passages}
        reply = client.post("/ask", json={"question": "Was sagte Lawrow über ein Bündnis?"}).json()
        assert_reply_exact(client, reply)


def test_deleting_everything_leaves_a_working_empty_service(writable_client):
    for row in writable_client.get("/documents").json()["documents"]:
        assert writable_client.delete(document_url(row["id"])).status_code == 204
    assert writable_client.get("/documents").json() == {"documents": [], "total": 0}
    reply = writable_client.post("/ask", json={"question": "Was sagte Lawrow?"})
    assert reply.status_code == 200 and reply.json()["passages"] == []
    assert reply.json()["no_answer"] is True and reply.json()["no_answer_reason"] == "no_passages"
    assert writable_client.get("/search", params={"q": "Lawrow"}).json() == {"passages": []}
    assert writable_client.get("/health").json()["chunks"] == 0


@pytest.mark.parametrize("body", [
    {"text": ""},
    {"text": "   \n  "},
    {"title": "no text"},
    {"text": 5},
    {"id": "", "text": "Ein Satz."},
    {"id": "a#b", "text": "Ein Satz."},
    {"id": " padded", "text": "Ein Satz."},
    {"id": 7, "text": "Ein Satz."},
    {"text": "Ein Satz.", "meta": "not an object"},
    {"text": "Ein Satz.", "meta": {"boilerplate": [[0, 3]]}},
    {"text": "Ein Satz.", "meta": {"sha256": "x"}},
], ids=lambda body: str(body)[:40])
def test_invalid_document_is_422(module_writable_client, body):
    response = module_writable_client.post("/documents", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert module_writable_client.get("/documents").json()["total"] == 5


def test_lone_surrogates_and_bad_json_are_422(module_writable_client):
    writable_client = module_writable_client
    for raw in (b'{"text": "Ein \\ud800 Satz."}', b'{"text": "ok", "meta": {"k": "\\udfff"}}', b'{"text": "x"',
                b'{"text": "Ein Satz.", "id": "\\udc80"}'):
        response = writable_client.post("/documents", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 422, (raw, response.text)
        assert response.json()["detail"]


def test_document_over_the_body_limit_is_413(module_writable_client):
    writable_client = module_writable_client
    response = writable_client.post("/documents", json={"text": "Wort " * 220_000})
    assert response.status_code == 413
    assert "detail" in response.json()
    assert writable_client.get("/documents").json()["total"] == 5
