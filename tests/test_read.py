"""The reader's windows, spans and answers: every offset cuts exactly its text."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.answer.read import (
    MAX_ANSWER_TOKENS,
    QUESTION_TOKENS,
    SEQUENCE_TOKENS,
    TokenSpan,
    best_span,
    passage_windows,
    question_ids,
    span_characters,
    token_span,
)
from rag.encoder.tokenize import Encoding

BOS, EOS = 0, 2


def encoding(n: int, width: int = 3) -> Encoding:
    """n tokens of ``width`` characters each, one space apart."""
    starts = np.arange(n) * (width + 1)
    return Encoding(np.arange(10, 10 + n), np.stack([starts, starts + width], axis=1).reshape(n, 2))


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 80), st.integers(0, 1200), st.data())
def test_windows_cover_every_passage_token_and_find_every_span(question_tokens, passage_tokens, data):
    found = passage_windows(encoding(question_tokens), encoding(passage_tokens), BOS, EOS)
    covered = set()
    for window in found:
        assert len(window.ids) <= SEQUENCE_TOKENS and window.ids[0] == BOS and window.ids[-1] == EOS
        covered |= {tuple(o) for o in window.offsets}
    assert covered == {tuple(o) for o in encoding(passage_tokens).offsets}
    if passage_tokens:
        first = data.draw(st.integers(0, passage_tokens - 1))
        last = data.draw(st.integers(first, min(first + 20, passage_tokens - 1)))
        start, end = encoding(passage_tokens).offsets[[first, last], [0, 1]]
        spans = [token_span(w, int(start), int(end)) for w in found]
        assert any(span != (0, 0) for span in spans)
        for window, (a, b) in zip(found, spans):
            if (a, b) != (0, 0):
                assert span_characters(window, TokenSpan(a, b, 0.0)) == (start, end)


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 60), st.data())
def test_best_span_is_ordered_bounded_and_inside_the_passage(tokens, data):
    window = passage_windows(encoding(5), encoding(tokens), BOS, EOS)[0]
    length = len(window.ids)
    logits = data.draw(st.lists(st.floats(-10, 10), min_size=2 * length, max_size=2 * length))
    span = best_span(np.array(logits[:length]), np.array(logits[length:]), window)
    assert window.passage_from <= span.first <= span.last < window.passage_from + tokens
    assert span.last - span.first < MAX_ANSWER_TOKENS


def test_best_span_scores_against_no_answer():
    window = passage_windows(encoding(3), encoding(4), BOS, EOS)[0]
    start, end = np.full(len(window.ids), -5.0), np.full(len(window.ids), -5.0)
    start[window.passage_from + 1], end[window.passage_from + 2] = 3.0, 2.0
    start[0], end[0] = 1.0, 1.0
    span = best_span(start, end, window)
    assert (span.first, span.last, span.score) == (window.passage_from + 1, window.passage_from + 2, 3.0)


def test_a_long_question_is_read_by_its_last_tokens():
    short, long = encoding(QUESTION_TOKENS), encoding(QUESTION_TOKENS + 30)
    assert list(question_ids(short)) == list(short.ids)
    assert list(question_ids(long)) == list(long.ids[-QUESTION_TOKENS:])
