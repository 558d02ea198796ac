"""Reading: a fine-tuned copy of the bundled encoder reads the question and a passage together and points at the
answer's first and last token (or at <s>: no answer here). Runs on ONNX Runtime; no torch.

A sequence is ``<s> question </s></s> passage-window </s>``; a passage longer than one window is read in overlapping
windows. The same windows serve training (``scripts/train_reader.py``) and answering.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..encoder.tokenize import Encoding
from ..types import Passage
from .spans import clean_span

MODEL_PATH = Path(__file__).parent.parent / "models" / "reader.onnx"

SEQUENCE_TOKENS = 384  # the reader's window: question, passage and four special tokens
QUESTION_TOKENS = 64  # of a question, read beside each passage window (``question_ids``)
STRIDE_TOKENS = 128  # overlap of consecutive windows of one passage
MAX_ANSWER_TOKENS = 40


@dataclass
class Window:
    ids: np.ndarray  # the whole sequence
    passage_from: int  # position of the window's first passage token in ``ids``
    offsets: np.ndarray  # [n, 2] character range of each passage token of the window, in the passage's text


def passage_windows(question: Encoding, passage: Encoding, bos: int, eos: int,
                    sequence_tokens: int = SEQUENCE_TOKENS, stride_tokens: int = STRIDE_TOKENS) -> list[Window]:
    """The reader's input sequences for one question and one passage (at least one, even for an empty passage):
    ``<s> question </s></s> passage-window </s>``, consecutive windows overlapping by ``stride_tokens``."""
    head = np.concatenate([[bos], question_ids(question), [eos, eos]]).astype(np.int64)
    room = sequence_tokens - len(head) - 1
    step = max(room - stride_tokens, 1)
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
    return (int(window.offsets[span.first - window.passage_from, 0]),
            int(window.offsets[span.last - window.passage_from, 1]))


def question_ids(question: Encoding, budget: int = QUESTION_TOKENS) -> np.ndarray:
    """The question's tokens the reader reads: all of them up to ``budget``; of a longer question, its last
    ``budget`` tokens, which hold what it asks (a long question leads up to its ask: "… What did Lavrov say?")."""
    return question.ids[-budget:] if len(question.ids) > budget else question.ids


@dataclass
class Found:
    """The reader's best span in one passage: [start, end) in document characters, and its score."""

    passage: int  # position of the passage in the list read
    start: int
    end: int
    score: float


class Reader:
    """Short answers from passages: the best span of each, scored against "no answer". Each passage is read on its
    own, in the same windows whatever else is read, so its score is its own. The model loads on first use
    (``warm_up``); window sizes and how many of the passages it reads are set once, here."""

    def __init__(self, passages: int, model_path: Path = MODEL_PATH, threads: int | None = None,
                 sequence_tokens: int = SEQUENCE_TOKENS, stride_tokens: int = STRIDE_TOKENS):
        self.passages = passages
        self.model_path = model_path
        self.threads = threads
        self.sequence_tokens, self.stride_tokens = sequence_tokens, stride_tokens
        self._session = None

    def warm_up(self) -> None:
        if self._session is None:
            import onnxruntime

            from ..encoder import e5_files
            from ..encoder.kept import cached_session, optimized
            from ..encoder.tokenize import bundled

            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads or os.cpu_count() or 1
            options.inter_op_num_threads = 1
            self._files, self._tokenizer = e5_files.load(), bundled()
            self._session = cached_session("reader", lambda: optimized(self.model_path), [self.model_path], options)

    def run(self, question: str, passages: list[Passage]) -> list[Found]:
        """The best span of each of the first ``passages`` passages that has one, in the order read."""
        self.warm_up()
        tokenizer = self._tokenizer
        passages = passages[:self.passages]
        asked, *texts = tokenizer.encode_batch([question] + [passage.text for passage in passages])
        found = []
        for position, (passage, text) in enumerate(zip(passages, texts)):
            best: tuple[TokenSpan, Window] | None = None
            for window in passage_windows(asked, text, tokenizer.bos, tokenizer.eos, self.sequence_tokens,
                                          self.stride_tokens):
                span = best_span(*self._logits(window), window)  # one window at a time: no padding to compute
                if span and (best is None or span.score > best[0].score):
                    best = (span, window)
            if best:
                start, end = clean_span(passage.text, *span_characters(best[1], best[0]))
                if start < end:
                    found.append(Found(position, passage.start + start, passage.start + end, best[0].score))
        return found

    def _logits(self, window: Window) -> tuple[np.ndarray, np.ndarray]:
        """Start and end logits of each token of one window."""
        embeddings = self._files.word_embeddings(window.ids)[None]
        start, end = self._session.run(None, {"word_embeddings": embeddings,
                                              "mask": np.ones((1, len(window.ids)), np.int64)})
        return start[0], end[0]
