"""POST /ask and GET /search over the seeded index with the real model."""
from __future__ import annotations

import json

import pytest

from rag.api import create_app
from rag.settings import Settings, default

from .helpers import DocumentTexts, assert_passages_exact, assert_reply_exact

LAWROW = "Was sagte Lawrow über ein Bündnis?"
PIPELINE = "Welche Pipeline will Putin vorantreiben?"
UNANSWERABLE = "Wie hoch ist der Eiffelturm?"


def test_ask_answers_with_exact_spans(client):
    response = client.post("/ask", json={"question": PIPELINE})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    reply = response.json()
    assert set(reply) >= {"question", "no_answer", "answers", "passages", "timings_ms"}
    assert reply["question"] == PIPELINE
    assert reply["no_answer"] is False
    assert reply["answers"][0]["doc_id"] in {"003_0d68779ecc34fcb5", "001_6cd37be0f24843b2"}
    assert 1 <= len(reply["passages"]) <= 5
    assert reply["timings_ms"]["total"] > 0
    assert_reply_exact(client, reply)


def test_every_seed_question_gives_exact_spans(client, seed_questions):
    for item in seed_questions:
        reply = client.post("/ask", json={"question": item["question"], "top_k": 8, "max_answers": 5}).json()
        assert_reply_exact(client, reply, max_answers=5)
        assert len(reply["passages"]) <= 8
        if item["answerable"] and reply["answers"]:
            assert reply["passages"], item


def test_unanswerable_question_says_no_answer(client):
    reply = client.post("/ask", json={"question": UNANSWERABLE}).json()
    assert reply["no_answer"] is True and reply["no_answer_reason"] == "not_confident"
    assert reply["answers"] == []
    assert_passages_exact(DocumentTexts(client), reply["passages"])


def test_limits_and_stripping(client):
    reply = client.post("/ask", json={"question": f"  {LAWROW}\n", "top_k": 2, "max_answers": 1}).json()
    assert reply["question"] == LAWROW
    assert len(reply["passages"]) <= 2
    assert len(reply["answers"]) <= 1
    assert_reply_exact(client, reply, max_answers=1)
    limit = default("max_question_chars")
    longest = ("Lawrow " * limit)[:limit - len(LAWROW)] + LAWROW
    assert client.post("/ask", json={"question": f"  {longest}\n  "}).status_code == 200
    over = client.post("/ask", json={"question": longest + "?"})
    assert over.status_code == 422, over.text
    assert over.json()["detail"] == f"the question has {limit + 1} characters; at most {limit} are allowed"


def test_top_k_and_max_answers_default_to_the_settings(start_app, seeded_index_dir):
    narrow = start_app(Settings(index_dir=seeded_index_dir, top_k=2, max_answers=1, min_confidence=0.0))
    reply = narrow.post("/ask", json={"question": LAWROW}).json()
    assert len(reply["passages"]) == 2 and len(reply["answers"]) == 1
    assert len(narrow.get("/search", params={"q": LAWROW}).json()["passages"]) == 2
    assert len(narrow.post("/ask", json={"question": LAWROW, "top_k": 4}).json()["passages"]) == 4


@pytest.mark.parametrize("body", [
    {"question": ""},
    {"question": "   \n\t "},
    {"question": "x" * (default("max_question_chars") + 1)},
    {"question": " " + "x" * (default("max_question_chars") + 1) + " "},
    {"question": LAWROW, "top_k": 0},
    {"question": LAWROW, "top_k": 51},
    {"question": LAWROW, "max_answers": 0},
    {"question": LAWROW, "max_answers": 11},
    {"question": LAWROW, "top_k": "many"},
    {"question": 42},
    {"question": None},
    {"top_k": 3},
    {},
    [],
    "Lawrow",
], ids=lambda body: json.dumps(body)[:40])
def test_invalid_ask_is_422(client, body):
    response = client.post("/ask", json=body)
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail and isinstance(detail, str)


@pytest.mark.parametrize("raw", [b"{", b'{"question": "x",}', b"not json", b'{"question": "\\ud800 Lawrow"}'],
                         ids=["truncated", "trailing-comma", "text", "lone-surrogate"])
def test_malformed_json_is_422(client, raw):
    response = client.post("/ask", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


def test_body_over_the_limit_is_413(seeded_pipeline):
    from fastapi.testclient import TestClient

    settings = Settings(index_dir=seeded_pipeline.settings.index_dir, max_body_bytes=2048)
    with TestClient(create_app(settings, seeded_pipeline)) as small:
        big = json.dumps({"question": "x" * 5000}).encode()
        response = small.post("/ask", content=big, headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert "2048" in response.json()["detail"]

        def chunks():  # no Content-Length: the bytes are counted as they arrive
            for _ in range(5):
                yield b" " * 1000

        response = small.post("/ask", content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["detail"]
        # under the limit still works
        assert small.post("/ask", json={"question": LAWROW}).status_code == 200


def test_default_body_limit_is_one_mebibyte(client):
    response = client.post("/ask", content=b" " * ((1 << 20) + 1), headers={"content-type": "application/json"})
    assert response.status_code == 413


def test_search_returns_exact_passages(client):
    response = client.get("/search", params={"q": "Lawrow Bündnis China", "k": 3})
    assert response.status_code == 200
    passages = response.json()["passages"]
    assert 1 <= len(passages) <= 3
    assert passages[0]["doc_id"] == "000_4cb28fa25178b61e"
    assert_passages_exact(DocumentTexts(client), passages)
    assert len(client.get("/search", params={"q": "Lawrow"}).json()["passages"]) == 5


@pytest.mark.parametrize("params", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * (default("max_question_chars") + 1)},
                                    {"q": "Lawrow", "k": 0}, {"q": "Lawrow", "k": 51}, {"q": "Lawrow", "k": "two"}],
                         ids=lambda p: json.dumps(p)[:40])
def test_invalid_search_is_422(client, params):
    response = client.get("/search", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


def test_unknown_route_and_method_are_json(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert response.json() == {"detail": "no such route: /nowhere (the API is described at /docs)"}
    response = client.put("/ask", json={"question": LAWROW})
    assert response.status_code == 405 and "detail" in response.json()
