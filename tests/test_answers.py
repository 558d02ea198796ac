"""Answers from spans: calibrated confidence, the sentence and context around each."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from rag.answer.answers import context_of, sentence_around
from rag.types import Answer, Context, NoAnswerReason, Passage, Reply, Span, reply_to_dict


class Units:
    """Just what sentence_around reads of an index version: the units of each chunk row."""

    unit_spans = np.array([[0, 10], [11, 30], [40, 60]])

    def units_of(self, row: int) -> range:
        return range(2) if row == 0 else range(2, 3)


@given(st.integers(0, 70), st.integers(1, 30))
def test_the_sentence_holds_its_answer(start, length):
    sentence = sentence_around(Units(), [0, 1], start, start + length)
    assert sentence.start <= start and start + length <= sentence.end


@given(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300), st.data())
def test_the_context_holds_its_span(text, data):
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    context = context_of(text, Span(start, end))
    assert 0 <= context.start <= start and end <= context.end <= len(text)


def test_a_reply_says_why_it_has_no_answer_and_only_then():
    passage = Passage("d#0", "d", "", "Lawrow sprach.", 0, 14, 1.0, 1)
    answer = Answer("Lawrow", 0.9, "d", 0, 6, "d#0", Span(0, 14), Context("Lawrow sprach.", 0, 14))
    assert Reply("q", [], [], {}).no_answer_reason == NoAnswerReason.NO_PASSAGES
    assert Reply("q", [], [passage], {}).no_answer_reason == NoAnswerReason.NOT_CONFIDENT
    unnamed = Reply("q", [], [passage], {}, no_answer_reason=NoAnswerReason.SPEAKER_NOT_NAMED)
    assert unnamed.no_answer and reply_to_dict(unnamed)["no_answer_reason"] == "speaker_not_named"
    answered = Reply("q", [answer], [passage], {}, no_answer_reason=NoAnswerReason.NOT_OF_THE_KIND_ASKED)
    assert not answered.no_answer and reply_to_dict(answered)["no_answer_reason"] is None
