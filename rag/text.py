"""Views of a document's text: what chunking keeps (``content_spans``) and what the model and BM25 read
(``searchable_text``, ``chunk_view``). The text itself is never changed; offsets always count the original. And
whether a text given can be read and stored at all (``unicode_problem``)."""
from __future__ import annotations

import re

from .types import Document, Span

GERMAN_MONTHS = "Januar Februar März April Mai Juni Juli August September Oktober November Dezember".split()
INLINE_LINK = re.compile(r"\[([^\]\n]{0,200})\]\([^)\s]{0,500}\)")


def unicode_problem(text: str) -> str | None:
    """Why ``text`` cannot be written as UTF-8, nor read by a model: a lone surrogate (JSON's "\\ud800", undecodable
    bytes of a command line); None when it can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return f"invalid Unicode: lone surrogate at character {error.start}"
    return None


def content_spans(document: Document) -> list[Span]:
    """The parts of the document between its boilerplate spans."""
    spans, cursor = [], 0
    for start, end in document.meta.get("boilerplate", []):
        if start > cursor:
            spans.append(Span(cursor, start))
        cursor = max(cursor, end)
    if cursor < len(document.text):
        spans.append(Span(cursor, len(document.text)))
    return [span for span in spans if document.text[span.start:span.end].strip()]


def searchable_text(text: str) -> str:
    """What the model and the lexical index read: link markup reduced to its link text (lengths may change)."""
    return INLINE_LINK.sub(r"\1", text)


def chunk_view(document: Document, start: int, end: int) -> str:
    """What the model and the lexical index read for a chunk: the document's head, then the chunk's text (so that
    "im Februar 2023" or a headline word finds the article's passages); offsets are untouched."""
    head, body = document_head(document), searchable_text(document.text[start:end])
    return f"{head}\n{body}" if head else body


def document_head(document: Document) -> str:
    """The document's title and date ("" for neither), as a chunk's view begins with them."""
    return " · ".join(part for part in (document.title if document.title != document.id else "",
                                        spelled_date(document.meta.get("date", ""))) if part)


def spelled_date(iso: str) -> str:
    """2023-02-22 → "22. Februar 2023", the way the articles write dates (and questions ask for them)."""
    if not isinstance(iso, str):  # a client's meta.date may be any JSON value
        return ""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", iso)
    if not match or not 1 <= int(match[2]) <= 12:  # "2024-13-01" or "2024-00-01": no month to spell
        return iso
    year, month, day = (int(x) for x in match.groups())
    return f"{day}. {GERMAN_MONTHS[month - 1]} {year}"
