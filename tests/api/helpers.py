"""Checks shared by the HTTP tests."""
from __future__ import annotations

from urllib.parse import quote


def document_url(doc_id: str) -> str:
    return "/documents/" + quote(doc_id, safe="")


class DocumentTexts:
    """GET /documents/{id}, once per id."""

    def __init__(self, client):
        self.client = client
        self.texts: dict[str, str] = {}

    def __getitem__(self, doc_id: str) -> str:
        if doc_id not in self.texts:
            response = self.client.get(document_url(doc_id))
            assert response.status_code == 200, response.text
            self.texts[doc_id] = response.json()["text"]
        return self.texts[doc_id]


def assert_passages_exact(texts: DocumentTexts, passages: list[dict]) -> None:
    assert [p["rank"] for p in passages] == list(range(1, len(passages) + 1))
    for passage in passages:
        text = texts[passage["doc_id"]]
        assert 0 <= passage["start"] < passage["end"] <= len(text)
        assert text[passage["start"]:passage["end"]] == passage["text"]
        assert passage["id"].startswith(passage["doc_id"] + "#")


def assert_reply_exact(client, reply: dict, max_answers: int = 3) -> None:
    """Every answer, context and passage of an /ask reply is its document's text[start:end]."""
    texts = DocumentTexts(client)
    assert reply["no_answer"] == (reply["answers"] == []) == (reply["no_answer_reason"] is not None)
    assert len(reply["answers"]) <= max_answers
    assert_passages_exact(texts, reply["passages"])
    passage_ids = {p["id"] for p in reply["passages"]}
    scores = [a["score"] for a in reply["answers"]]
    assert scores == sorted(scores, reverse=True)
    for answer in reply["answers"]:
        text = texts[answer["doc_id"]]
        assert 0 <= answer["start"] < answer["end"] <= len(text)
        assert text[answer["start"]:answer["end"]] == answer["text"]
        assert len(answer["text"]) <= 300
        assert 0.0 <= answer["score"] <= 1.0
        assert answer["passage_id"] in passage_ids
        context = answer["context"]
        assert text[context["start"]:context["end"]] == context["text"]
        assert context["start"] <= answer["start"] <= answer["end"] <= context["end"]
        offset = answer["start"] - context["start"]
        assert context["text"][offset:offset + len(answer["text"])] == answer["text"]
