"""Answers from the reader's spans: each span with its calibrated confidence, the sentence it stands in, the
paragraph around it and the passage it was found in; the most confident first, none below the threshold."""
from __future__ import annotations

from ..index.versions import Snapshot
from ..types import Answer, Context, Span
from .confidence import Calibration, evidence
from .read import Found
from .retrieve import Retrieval

CONTEXT_CHARS = 600  # of the context returned around an answer's sentence


def make_answers(found: list[Found], retrieval: Retrieval, calibration: Calibration, max_answers: int,
                 threshold: float) -> list[Answer]:
    """The answers of the spans found in ``retrieval``'s passages, most confident first, none below ``threshold``."""
    scored = sorted(((calibration(e), f) for f, e in evidence(found, retrieval)), key=lambda item: -item[0])
    return [_answer(score, f, retrieval) for score, f in scored if score >= threshold][:max_answers]


def _answer(score: float, found: Found, retrieval: Retrieval) -> Answer:
    snapshot, row = retrieval.snapshot, retrieval.rows[found.passage]
    document = snapshot.document_of(row)
    sentence = sentence_around(snapshot, [row], found.start, found.end)  # the span lies in its passage's chunk
    context = context_of(document.text, sentence)
    return Answer(document.text[found.start:found.end], round(score, 4), document.id, found.start, found.end,
                  retrieval.passages[found.passage].id, sentence,
                  Context(document.text[context.start:context.end], context.start, context.end))


def sentence_around(snapshot: Snapshot, rows: list[int], start: int, end: int) -> Span:
    """The answer units (sentences) of the chunk ``rows`` that the span [start, end) touches, as one range that
    holds the span (a span outside every unit, as in a caption left out of the units, is its own sentence)."""
    units = [snapshot.unit_spans[u] for row in rows for u in snapshot.units_of(row)]
    touched = [(int(s), int(e)) for s, e in units if s < end and start < e]
    return Span(min([start] + [s for s, _ in touched]), max([end] + [e for _, e in touched]))


def context_of(text: str, span: Span, limit: int = CONTEXT_CHARS) -> Span:
    """The paragraph around the span, cut to about ``limit`` characters at word boundaries."""
    start = text.rfind("\n", 0, span.start) + 1
    end = text.find("\n", span.end)
    end = len(text) if end < 0 else end
    room = max(0, limit - (span.end - span.start)) // 2
    if span.start - start > room:
        cut = text.find(" ", span.start - room, span.start)
        start = cut + 1 if cut >= 0 else span.start
    if end - span.end > room:
        cut = text.rfind(" ", span.end, span.end + room)
        end = cut if cut >= 0 else span.end
    return Span(start, end)
