"""What the routers share: the pipeline of the app and the reply models of the contract.

There is no read/write lock here: a question is answered from the index snapshot its retrieval took
(``Retrieval.compiled``), and writers exclude each other with the file lock of ``Pipeline._writing``.
"""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import Request
from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from ..pipeline import MAX_QUESTION_CHARS, Pipeline


def get_pipeline(request: Request) -> Pipeline:
    return request.app.state.pipeline


# --- validation -------------------------------------------------------------------------------------------------
def _valid_unicode(value: str) -> str:
    """Lone surrogates (JSON "\\ud800") can be neither embedded nor written back as UTF-8: refuse them up front."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError(f"invalid Unicode: lone surrogate at character {error.start}") from None
    return value


def valid_unicode_tree(value: Any) -> Any:
    if isinstance(value, str):
        return _valid_unicode(value)
    if isinstance(value, dict):
        for key, item in value.items():
            _valid_unicode(key)
            valid_unicode_tree(item)
    elif isinstance(value, list):
        for item in value:
            valid_unicode_tree(item)
    return value


Text = Annotated[str, AfterValidator(_valid_unicode)]
Question = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUESTION_CHARS),
                     AfterValidator(_valid_unicode)]
TopK = Annotated[int, Field(ge=1, le=50, description="passages to retrieve, 1–50")]
MaxAnswers = Annotated[int, Field(ge=1, le=10, description="answers to return at most, 1–10")]


# --- errors -----------------------------------------------------------------------------------------------------
class Error(BaseModel):
    detail: str = Field(description="what is wrong, as one sentence for a person")
    field: str | None = Field(None, description="422 for an invalid field: its name, dotted (meta.source); "
                                                "empty for the body itself")


def errors(*codes: int) -> dict:
    """OpenAPI ``responses`` for the error statuses a route can answer, all shaped ``{"detail": …}``."""
    text = {400: "the body is not parseable", 404: "no document with this id", 413: "the body is over the limit",
            422: "invalid input", 503: "the index is missing or unreadable",
            401: "an API key is configured and this request lacks it (RAG_API_KEY)",
            403: "no API key is configured and the client is not this machine (RAG_API_KEY, RAG_OPEN_WRITES)",
            429: "over the per-client rate limit (RAG_RATE_LIMIT); see Retry-After"}
    return {code: {"model": Error, "description": text[code]} for code in sorted({*codes, 401, 429})}
