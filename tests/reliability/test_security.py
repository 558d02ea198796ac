"""Security: the optional API key, CORS, the per-client rate limit, keys kept out of logs, folders not left."""
from __future__ import annotations

import asyncio
import logging
import os

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from rag.api import create_app
from rag.api.security import WRITES_CLOSED, RateLimit
from rag.corpus.files import find_files, read_folder
from rag.pipeline import Pipeline
from rag.settings import Settings

from ..servers import LOCAL_CLIENT, ThreadServer

KEY = "s3cret-key-Zq8"


@pytest.fixture
def make_client(index_copy, start_app):
    """A fresh app over the private index copy with settings ``overrides``."""
    return lambda **overrides: start_app(Settings(index_dir=index_copy, **overrides))


DOC = {"id": "sec/1", "text": "Die Gemeinde Quastenberg baut eine Seilbahn über den Fluss."}


@pytest.mark.parametrize("peer", [LOCAL_CLIENT, ("127.8.9.10", 4000), ("::1", 4000)])
def test_no_key_writes_from_this_machine(make_client, peer):
    client = TestClient(make_client().app, client=peer)
    assert client.post("/documents", json=DOC).status_code == 201
    assert client.delete("/documents/sec/1").status_code == 204
    assert "securitySchemes" not in client.get("/openapi.json").json().get("components", {})


# Starlette's TestClient is "testclient": no address, so not this machine either
@pytest.mark.parametrize("peer", [("10.1.2.3", 4000), ("172.17.0.1", 4000), ("2001:db8::1", 4000),
                                  ("testclient", 50000)])
def test_no_key_writes_from_elsewhere_are_refused(make_client, peer):
    client = TestClient(make_client().app, client=peer)
    for response in (client.post("/documents", json=DOC), client.delete("/documents/000_4cb28fa25178b61e")):
        assert response.status_code == 403
        assert response.json() == {"detail": WRITES_CLOSED} and "RAG_API_KEY" in WRITES_CLOSED
    assert client.get("/documents/000_4cb28fa25178b61e").status_code == 200  # reads stay open
    assert client.post("/ask", json={"question": "Was sagte Lawrow?"}).status_code == 200


def test_open_writes_accept_every_client(make_client):
    client = TestClient(make_client(open_writes=True).app, client=("10.1.2.3", 4000))
    assert client.post("/documents", json=DOC).status_code == 201
    assert client.delete("/documents/sec/1").status_code == 204


def test_a_key_replaces_the_loopback_rule(make_client):
    client = TestClient(make_client(api_key=KEY).app, client=("10.1.2.3", 4000))
    assert client.post("/documents", json=DOC, headers={"X-API-Key": KEY}).status_code == 201
    assert client.post("/documents", json=DOC).status_code == 401


@pytest.mark.parametrize(("overrides", "said"), [
    ({}, "only from this machine"), ({"open_writes": True}, "open to every client"),
    ({"api_key": KEY}, "need the API key")])
def test_the_start_up_log_says_who_may_write(make_client, caplog, overrides, said):
    caplog.set_level(logging.INFO, logger="rag.api.security")
    make_client(**overrides)
    assert any(said in record.getMessage() for record in caplog.records if record.name == "rag.api.security")


def test_writes_need_the_key(make_client):
    client = make_client(api_key=KEY)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-API-Key": "wrong"}, {"Authorization": KEY},
                    {"Authorization": f"Basic {KEY}"}, {"X-API-Key": KEY + "x"}):
        for response in (client.post("/documents", json=DOC, headers=headers),
                         client.delete("/documents/000_4cb28fa25178b61e", headers=headers)):
            assert response.status_code == 401, headers
            assert response.headers["content-type"] == "application/json"
            assert "API key" in response.json()["detail"] and KEY not in response.text
    assert client.post("/documents", json=DOC, headers={"Authorization": f"Bearer {KEY}"}).status_code == 201
    assert client.delete("/documents/sec/1", headers={"X-API-Key": KEY}).status_code == 204
    # reads stay open, and so does the chat page
    assert client.post("/ask", json={"question": "Was sagte Lawrow?"}).status_code == 200
    for path in ("/health", "/documents", "/search?q=Lawrow", "/", "/static/chat.js"):
        assert client.get(path).status_code == 200, path
    schema = client.get("/openapi.json").json()
    assert set(schema["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert schema["paths"]["/documents"]["post"]["security"] == [{"bearer": []}, {"apiKey": []}]
    assert "security" not in schema["paths"]["/ask"]["post"]


def test_reads_need_the_key_when_configured(make_client):
    client = make_client(api_key=KEY, api_key_for_reads=True)
    for path in ("/health", "/documents", "/search?q=Lawrow", "/documents/000_4cb28fa25178b61e"):
        assert client.get(path).status_code == 401, path
        assert client.get(path, headers={"X-API-Key": KEY}).status_code == 200, path
    assert client.post("/ask", json={"question": "Was sagte Lawrow?"}).status_code == 401
    assert client.post("/ask", json={"question": "Was sagte Lawrow?"},
                       headers={"Authorization": f"bearer {KEY}"}).status_code == 200
    assert client.get("/").status_code == 200 and client.get("/static/chat.js").status_code == 200
    assert client.get("/openapi.json").json()["paths"]["/ask"]["post"]["security"]


def test_an_empty_key_means_no_key(make_client):
    client = make_client(api_key="")
    assert client.post("/documents", json=DOC).status_code == 201


def test_cors_same_origin_by_default(make_client):
    client = make_client()
    response = client.options("/ask", headers={"Origin": "https://evil.example",
                                               "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in response.headers
    response = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in response.headers


def test_cors_configured_origins(make_client):
    client = make_client(cors_origins="https://news.example, https://other.example/", api_key=KEY)
    preflight = client.options("/documents", headers={"Origin": "https://news.example",
                                                       "Access-Control-Request-Method": "POST",
                                                       "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200  # a preflight needs no key
    assert preflight.headers["access-control-allow-origin"] == "https://news.example"
    assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
    assert client.get("/health", headers={"Origin": "https://other.example"}).headers[
        "access-control-allow-origin"] == "https://other.example"
    assert "access-control-allow-origin" not in client.get("/health", headers={"Origin": "https://evil.example"}).headers


def test_rate_limit_per_client(make_client, index_copy, seeded_pipeline):
    client = make_client(rate_limit=3)
    assert [client.get("/health").status_code for _ in range(3)] == [200] * 3
    refused = client.get("/health")
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1 and "too many requests" in refused.json()["detail"]
    assert client.get("/").status_code == 200  # the page is not counted
    other = TestClient(client.app, client=("10.1.2.3", 50000))  # another client IP has its own budget
    assert other.get("/health").status_code == 200


def test_rate_limit_refills():
    asyncio.run(_refills())


async def _refills():
    now = [0.0]
    calls = []

    async def app(scope, receive, send):
        calls.append(scope["path"])

    sent = []

    async def send(message):
        sent.append(message)

    limit = RateLimit(app, per_minute=60, clock=lambda: now[0])
    scope = {"type": "http", "path": "/ask", "method": "POST", "client": ("127.0.0.1", 1)}
    for _ in range(60):
        await limit(scope, None, send)
    await limit(scope, None, send)
    assert len(calls) == 60 and sent[0]["status"] == 429 and (b"retry-after", b"1") in sent[0]["headers"]
    now[0] = 2.0  # two seconds later: two more
    for _ in range(3):
        await limit(scope, None, send)
    assert len(calls) == 62


def test_rate_limit_off(make_client):
    client = make_client(rate_limit=0)
    assert all(client.get("/health").status_code == 200 for _ in range(50))


def test_keys_never_reach_the_logs(index_copy, seeded_pipeline, caplog):
    """uvicorn's access log and the app's own log, over real HTTP, with good and bad keys in both headers."""
    settings = Settings(index_dir=index_copy, api_key=KEY)
    app = create_app(settings, Pipeline(settings, embedder=seeded_pipeline.embedder))
    caplog.set_level(logging.DEBUG)
    with ThreadServer(app, log_config=None, log_level="debug", access_log=True) as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            assert client.post("/documents", json=DOC, headers={"Authorization": f"Bearer {KEY}"}).status_code == 201
            assert client.delete("/documents/sec/1", headers={"X-API-Key": KEY}).status_code == 204
            assert client.post("/documents", json=DOC, headers={"X-API-Key": KEY[::-1]}).status_code == 401
            assert client.post("/ask", json={"question": "x"}, headers={"X-API-Key": KEY}).status_code == 200
    assert any(r.name == "uvicorn.access" for r in caplog.records), "the access log was not captured"
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert KEY not in logged and KEY[::-1] not in logged
    assert KEY not in repr(settings) and KEY not in str(settings.model_dump())


def test_schema_with_a_key(index_copy, seeded_pipeline):
    """schemathesis over the writes with the key configured and sent: no 5xx, every reply as documented."""
    settings = Settings(index_dir=index_copy, api_key=KEY)
    app = create_app(settings, Pipeline(settings, embedder=seeded_pipeline.embedder))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    for path, method in (("/documents", "POST"), ("/documents/{doc_id}", "DELETE")):
        operation = schema[path][method]

        @given(case=operation.as_strategy(GenerationMode.POSITIVE))
        @hsettings(max_examples=8, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))
        def check(case):
            case.headers = {"Authorization": f"Bearer {KEY}"}  # the generated ones are empty or random
            response = case.call()
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance,
                                                     response_schema_conformance])
            assert response.status_code != 401

        check()
        unauthorised = TestClient(app).request(method, path.replace("{doc_id}", "x"), json=DOC)
        assert unauthorised.status_code == 401


# --- ingest stays inside its folder --------------------------------------------------------------------------
def test_symlinked_directory_outside_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Geheimer Text ausserhalb des Ordners.")
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("Ein Artikel im Ordner.")
    os.symlink(outside, folder / "linked-dir")
    os.symlink(outside / "secret.txt", folder / "linked-file.txt")
    os.symlink(tmp_path, folder / "parent")  # a loop back to an ancestor
    assert [p.name for p in find_files(folder)] == ["a.txt"]
    assert [d.id for d in read_folder(folder)] == ["a"]


def test_symlinked_directory_inside_is_read(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "b.txt").write_text("Ein Artikel im Unterordner.")
    os.symlink(folder / "sub", folder / "alias")
    assert {d.id for d in read_folder(folder)} == {"b"}
