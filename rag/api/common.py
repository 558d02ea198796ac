"""What the routers share: the pipeline of the app and the reply models of the contract.

There is no read/write lock here: a question is answered from the index snapshot its retrieval took
(``Retrieval.snapshot``), and writers exclude each other with the file lock of ``IndexFolder.writing``.
"""
from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import Request
from pydantic import AfterValidator, BaseModel, Field

from ..errors import InvalidInput
from ..pipeline import Pipeline
from ..settings import bounds, default
from ..text import unicode_problem
from .validation import NAMES


def get_pipeline(request: Request) -> Pipeline:
    return request.app.state.pipeline


# --- validation -------------------------------------------------------------------------------------------------
def _valid_unicode(value: str) -> str:
    """Lone surrogates (JSON "\\ud800") can be neither embedded nor written back as UTF-8: refuse them up front."""
    if problem := unicode_problem(value):
        raise ValueError(problem)
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


def utf8_query(request: Request) -> None:
    """Refuse a query parameter whose percent-escapes are not UTF-8 (``?q=%FF``): Starlette would pass it on with
    U+FFFD in place of the bytes, and a search for those would answer. Its sentence is the one the CLI says of the
    same bytes on a command line."""
    query = request.scope.get("query_string", b"").decode("utf-8", "surrogateescape")
    for name, value in parse_qsl(query, keep_blank_values=True, errors="surrogateescape"):
        if problem := unicode_problem(value):
            raise InvalidInput(f"{NAMES.get(name, name)}: {problem}", name)


Text = Annotated[str, AfterValidator(_valid_unicode)]
QUESTION_RULES = (f"the question: not empty, at most RAG_MAX_QUESTION_CHARS characters after stripping surrounding "
                  f"spaces (default {default('max_question_chars')})")
Question = Annotated[str, AfterValidator(_valid_unicode), Field(description=QUESTION_RULES)]  # checked by the pipeline


def _setting(name: str, text: str):
    """An optional request field bounded as the setting ``name`` is; absent: the setting's value."""
    low, high = bounds(name)
    return Annotated[int | None, Field(ge=low, le=high, description=f"{text}, {low}–{high} "
                                       f"(default: RAG_{name.upper()}, {default(name)})")]


TopK = _setting("top_k", "passages to retrieve")
MaxAnswers = _setting("max_answers", "answers to return at most")


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
