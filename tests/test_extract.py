import numpy as np
from hypothesis import given, strategies as st

from rag.extract import FEATURES, ConfidenceModel, context_of, cosine_gaps, feature_rows, question_types, tighten, type_match
from rag.types import Span

SENTENCE = "In gemäßigter Sprache erklärte Lawrow, Russland sei offen für den „Aufbau einer echten Allianz mit China“."


def test_question_types_in_several_languages():
    assert question_types("Wann reiste Putin nach Peking?") == {"when"}
    assert "count" in question_types("How many words did the statement have?")
    assert "who" in question_types("Wer traf Putin?")
    assert "say" in question_types("Was sagte Lawrow über ein Bündnis?")
    assert "say" in question_types("What did Lavrov say about an alliance?")
    assert question_types("Welche Pipeline?") == set()


def test_say_questions_get_the_quote():
    span = tighten("Was sagte Lawrow?", SENTENCE, Span(0, len(SENTENCE)))
    assert SENTENCE[span.start:span.end] == "Aufbau einer echten Allianz mit China"
    whole = tighten("Welche Allianz?", SENTENCE, Span(0, len(SENTENCE)))
    assert whole == Span(0, len(SENTENCE))


def test_type_match():
    assert type_match({"when"}, "am 16. Mai in Peking") == 1.0
    assert type_match({"count"}, "mit 7.000 Wörtern") == 1.0
    assert type_match({"count"}, "ohne Zahl") == 0.0
    assert type_match(set(), "egal") == 0.0


def test_confidence_is_a_probability_and_monotone_in_a_positive_weight():
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("cosine")] = 10.0
    model = ConfidenceModel(weights, scale=1.0, shift=-8.0)
    rows = feature_rows("Wer?", ["a b", "c d"], np.array([0.9, 0.7]), np.array([1.0, 0.5]), 1.0)
    p = model(rows)
    assert rows.shape == (2, len(FEATURES)) and np.all((0 <= p) & (p <= 1)) and p[0] > p[1]


def test_cosine_gap_is_taken_within_the_document():
    # units 0 and 1 come from one article, unit 2 retells unit 0 in another one
    gaps = cosine_gaps(np.array([0.90, 0.80, 0.89]), np.array([0, 0, 1]))
    assert np.allclose(gaps, [0.10, -0.10, -0.01])  # unit 2 is alone in its document: compared with all others
    assert np.allclose(cosine_gaps(np.array([0.9, 0.8]), np.array([0, 0])), [0.1, -0.1])
    assert cosine_gaps(np.array([0.7]), np.array([3])).tolist() == [0.0]


texts = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=400)


@given(texts, st.data())
def test_tightened_and_context_spans_are_exact_and_nested(text, data):
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    span = tighten(data.draw(st.sampled_from(["Was sagte er?", "Wer?", "How many?"])), text, Span(start, end))
    assert start <= span.start < span.end <= end
    context = context_of(text, span)
    assert context.start <= span.start and span.end <= context.end <= len(text)
