"""Reading: a fine-tuned copy of the bundled encoder reads the question and a passage together and points at the
answer's first and last token (or at <s>: no answer here). Runs on ONNX Runtime; no torch.

A sequence is ``<s> question </s></s> passage-window </s>``; a passage longer than one window is read in overlapping
windows. The same windows serve training (``scripts/train_reader.py``) and answering.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..encoder.tokenize import Encoding
from ..index.lexical import terms
from ..types import Answer, Context, Span
from .confidence import Calibration, Evidence, lead, term_coverage, word_coverage
from .spans import clean_span

if TYPE_CHECKING:
    from ..index.versions import Compiled
    from .retrieve import Retrieval

MODEL_PATH = Path(__file__).parent.parent / "models" / "reader.onnx"
ANSWER_PASSAGES = 3  # top passages read for answers
CONTEXT_CHARS = 600  # of the context returned around an answer's sentence

SEQUENCE_TOKENS = 384  # the reader's window: question, passage and four special tokens
QUESTION_TOKENS = 64  # a longer question is cut to its first 64 tokens (bounded cost)
STRIDE_TOKENS = 128  # overlap of consecutive windows of one passage
MAX_ANSWER_TOKENS = 40


@dataclass
class Window:
    ids: np.ndarray  # the whole sequence
    passage_from: int  # position of the window's first passage token in ``ids``
    offsets: np.ndarray  # [n, 2] character range of each passage token of the window, in the passage's text


def windows(question: Encoding, passage: Encoding, bos: int, eos: int,
            sequence_tokens: int = SEQUENCE_TOKENS) -> list[Window]:
    """The reader's input sequences for one question and one passage (at least one, even for an empty passage)."""
    head = np.concatenate([[bos], question.ids[:QUESTION_TOKENS], [eos, eos]]).astype(np.int64)
    room = sequence_tokens - len(head) - 1
    step = max(room - STRIDE_TOKENS, 1)
    found = []
    for first in range(0, max(len(passage.ids), 1), step):
        last = min(first + room, len(passage.ids))
        found.append(Window(np.concatenate([head, passage.ids[first:last], [eos]]).astype(np.int64), len(head),
                            passage.offsets[first:last]))
        if last >= len(passage.ids):
            break
    return found


def token_span(window: Window, start: int, end: int) -> tuple[int, int]:
    """Sequence positions of the first and last token of the character range [start, end) of the passage, or (0, 0)
    (pointing at <s>) when the window does not hold all of it."""
    offsets = window.offsets
    if not len(offsets) or start < offsets[0, 0] or end > offsets[-1, 1]:
        return 0, 0
    first = int(np.searchsorted(offsets[:, 1], start, side="right"))
    last = int(np.searchsorted(offsets[:, 0], end, side="left")) - 1
    if last < first:
        return 0, 0
    return window.passage_from + first, window.passage_from + last


@dataclass
class TokenSpan:
    first: int  # sequence positions of the answer's first and last token
    last: int
    score: float  # start + end logit of the span, less those of <s> (no answer): above 0, the span beats no answer


def best_span(start_logits: np.ndarray, end_logits: np.ndarray, window: Window) -> TokenSpan | None:
    """The highest-scoring span of passage tokens, at most MAX_ANSWER_TOKENS long; None for a window without passage."""
    first, count = window.passage_from, len(window.offsets)
    if not count:
        return None
    starts = start_logits[first:first + count]
    ends = end_logits[first:first + count]
    pair = starts[:, None] + ends[None, :]
    allowed = np.triu(np.ones((count, count), bool)) & ~np.triu(np.ones((count, count), bool), MAX_ANSWER_TOKENS)
    pair = np.where(allowed, pair, -np.inf)
    i, j = np.unravel_index(int(np.argmax(pair)), pair.shape)
    return TokenSpan(first + int(i), first + int(j), float(pair[i, j] - start_logits[0] - end_logits[0]))


def span_characters(window: Window, span: TokenSpan) -> tuple[int, int]:
    """The passage characters [start, end) of a token span."""
    return int(window.offsets[span.first - window.passage_from, 0]), int(window.offsets[span.last - window.passage_from, 1])


@dataclass
class Found:
    """The reader's best answer in one text: characters [start, end) of the text, and its score."""

    text: int  # index into the texts read
    start: int
    end: int
    score: float


@dataclass
class Candidate:
    """A span the reader found, in document characters, with the evidence for it, before calibration."""

    doc_id: str
    start: int
    end: int
    passage: int  # position of the best-ranked retrieved passage that gives it
    sentence: Span
    evidence: Evidence


def sentence_around(compiled: "Compiled", rows: list[int], start: int, end: int) -> Span:
    """The answer units (sentences) of the chunk ``rows`` that the span [start, end) touches, as one range that
    holds the span (a span outside every unit, as in a caption left out of the units, is its own sentence)."""
    units = [compiled.unit_spans[u] for row in rows for u in compiled.units_of(row)]
    touched = [(int(s), int(e)) for s, e in units if s < end and start < e]
    return Span(min([start] + [s for s, _ in touched]), max([end] + [e for _, e in touched]))


class Reader:
    """Short answers from the top passages of a retrieval. The model loads on first use (``warm_up``)."""

    def __init__(self, model_path: Path = MODEL_PATH, calibration: Calibration | None = None,
                 threads: int | None = None):
        self.model_path = model_path
        self.threads = threads
        self._calibration = calibration
        self._session = None

    @property
    def calibration(self) -> Calibration:
        if self._calibration is None:
            self._calibration = Calibration.load()
        return self._calibration

    def warm_up(self) -> None:
        if self._session is None:
            import onnxruntime

            from ..encoder import e5_files
            from ..encoder.tokenize import bundled

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads or os.cpu_count() or 1
            options.inter_op_num_threads = 1
            self._files, self._tokenizer = e5_files.load(), bundled()
            self._session = onnxruntime.InferenceSession(str(self.model_path), options,
                                                         providers=["CPUExecutionProvider"])

    def spans(self, question: str, texts: list[str]) -> list[Found]:
        """The best span of each text that has one (an empty text has none)."""
        self.warm_up()
        tokenizer = self._tokenizer
        asked = tokenizer.encode(question)
        read = [(t, w) for t, text in enumerate(texts)
                for w in windows(asked, tokenizer.encode(text), tokenizer.bos, tokenizer.eos)]
        logits = [self._logits(window) for _, window in read]  # one window at a time: no padding to compute
        best: dict[int, Found] = {}
        for (t, window), (start_logits, end_logits) in zip(read, logits):
            span = best_span(start_logits, end_logits, window)
            if span and (t not in best or span.score > best[t].score):
                best[t] = Found(t, *clean_span(texts[t], *span_characters(window, span)), span.score)
        return [best[t] for t in sorted(best)]

    def candidates(self, question: str, retrieval: "Retrieval", passages: int = ANSWER_PASSAGES) -> list[Candidate]:
        """The best span of each of the top ``passages`` passages, uncalibrated. Each passage is read on its own, in
        the same windows whatever else is read, so its score is its own; passages that give the same span make one
        candidate."""
        compiled, read = retrieval.compiled, retrieval.passages[:passages]
        given: dict[tuple[str, int, int], list[tuple[int, float]]] = {}  # span → (passage position, score)
        for f in self.spans(question, [p.text for p in read]):
            if f.start < f.end:
                p = read[f.text]
                given.setdefault((p.doc_id, p.start + f.start, p.start + f.end), []).append((f.text, f.score))
        best = {span: max(score for _, score in by) for span, by in given.items()}
        asked = set(terms(question))
        found = []
        for span, by in given.items():
            positions = sorted(position for position, _ in by)
            rows = [retrieval.rows[position] for position in positions]
            evidence = Evidence(
                best[span], lead(best[span], [score for other, score in best.items() if other != span]),
                len(by) - 1, positions[0], max(float(compiled.chunk_vectors[row] @ retrieval.query_vector) for row in rows),
                max(term_coverage(retrieval.query_terms, compiled.chunk_term_ids[row], compiled.chunk_term_weights[row])
                    for row in rows),
                max(word_coverage(asked, set(terms(read[position].text))) for position in positions))
            doc_id, start, end = span
            found.append(Candidate(doc_id, start, end, positions[0], sentence_around(compiled, rows, start, end),
                                   evidence))
        return found

    def _logits(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits of each token of one window."""
        embeddings = self._files.word_embeddings(window.ids)[None]
        start, end = self._session.run(None, {"word_embeddings": embeddings,
                                              "mask": np.ones((1, len(window.ids)), np.int64)})
        return start[0], end[0]

    def run(self, question: str, retrieval: "Retrieval", max_answers: int, min_confidence: float | None = None,
            passages: int = ANSWER_PASSAGES) -> list[Answer]:
        """Answers from the top ``passages`` passages, most confident first, none below ``min_confidence`` (default:
        the calibrated threshold)."""
        threshold = self.calibration.threshold if min_confidence is None else min_confidence
        scored = [(self.calibration(c.evidence), c) for c in self.candidates(question, retrieval, passages)]
        kept = sorted((item for item in scored if item[0] >= threshold), key=lambda item: -item[0])
        return [_answer(score, c, retrieval) for score, c in kept[:max_answers]]


def _answer(score: float, c: Candidate, retrieval: "Retrieval") -> Answer:
    compiled = retrieval.compiled
    document = compiled.documents[compiled.chunk_doc[retrieval.rows[c.passage]]]
    context = context_of(document.text, c.sentence)
    return Answer(document.text[c.start:c.end], round(score, 4), document.id, c.start, c.end,
                  retrieval.passages[c.passage].id, c.sentence,
                  Context(document.text[context.start:context.end], context.start, context.end))


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
