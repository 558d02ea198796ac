"""FastAPI's validation errors as one human sentence, the same the CLI prints for the same problem.

Pydantic reports a list of ``{"loc", "type", "msg", "ctx", "input"}``; a client gets
``{"detail": "the question is empty", "field": "question"}`` instead (the first problem of each field, joined).
"""
from __future__ import annotations

from typing import Any

from fastapi.exceptions import RequestValidationError

from ..text import unicode_problem

LOCATIONS = ("body", "query", "path", "header", "cookie")  # FastAPI's first part of ``loc``: where, not which
NAMES = {"question": "the question", "q": "the question", "text": "the text", "id": "the id", "title": "the title",
         "": "the body"}
FILE_TYPES = ("application/pdf", "text/html", "application/xhtml+xml")  # sent as they are: ``rag ingest`` reads them


def field_of(loc: tuple | list) -> str:
    """``("body", "meta", "x")`` → ``"meta.x"``; the body itself → ``""``."""
    parts = list(loc)[1:] if loc and loc[0] in LOCATIONS else list(loc)
    if parts and isinstance(parts[-1], int) and len(parts) == 1:  # a position in the body (invalid JSON)
        parts = []
    return ".".join(map(str, parts))


def problem(error: dict[str, Any]) -> str:
    """One pydantic error as a sentence about its field."""
    field = field_of(error.get("loc", ()))
    name = NAMES.get(field, field)
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    given = error.get("input")
    if kind == "missing":
        return f"{name} is missing" if field else "the body is missing: send a JSON object"
    if kind in ("string_too_short", "too_short"):
        shortest = ctx.get("min_length")
        return f"{name} is empty" if shortest == 1 else f"{name} is shorter than {shortest} characters"
    if kind == "string_too_long":
        count = f"has {len(given)} characters; " if isinstance(given, str) else ""
        return f"{name} {count}at most {ctx.get('max_length')} are allowed"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most",
                 "less_than": "less than"}[kind]
        limit = next(iter(ctx.values()), "")
        return f"{name} must be {bound} {limit}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{name} must be a whole number"
    if kind == "string_unicode" and isinstance(given, str) and (unreadable := unicode_problem(given)):
        return f"{name}: {unreadable}"
    if kind in ("string_type", "string_unicode"):
        return f"{name} must be a string"
    if kind in ("dict_type", "model_attributes_type", "model_type"):
        return f"{name} must be a JSON object"
    if kind == "json_invalid":
        return f"the body is not valid JSON ({ctx.get('error', 'decode error')})"
    if kind == "value_error" and "error" in ctx:  # our own validators' messages
        message = str(ctx["error"])
        return message if message.startswith((name, field or name)) else f"{name}: {message}"
    message = str(error.get("msg", "is invalid"))
    return f"{name}: {message[:1].lower()}{message[1:]}" if field else message


def human(error: RequestValidationError, content_type: str) -> dict[str, str]:
    """The body of a 422: ``detail`` one sentence (a problem per field, joined by "; "), ``field`` the first field
    (dotted, "" for the body itself). A body that is not JSON by its ``content_type`` says so: ``curl -d`` sends
    JSON as a form unless told otherwise."""
    problems: dict[str, str] = {}
    for item in error.errors():
        problems.setdefault(field_of(item.get("loc", ())), problem(item))
    media_type = content_type.split(";")[0].strip().lower()
    sent = any(field_of(item.get("loc", ())) == "" and item.get("type") != "missing" for item in error.errors())
    if sent and not media_type.endswith("json"):
        files = "; HTML and PDF files are added with `rag ingest FOLDER`" if media_type in FILE_TYPES else ""
        sent_as = media_type or "no Content-Type"
        problems[""] += f" (it was sent as {sent_as}: send Content-Type: application/json{files})"
    first = next(iter(problems), "")
    return {"detail": "; ".join(problems.values()) or "invalid request", "field": first}
