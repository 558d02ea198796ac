"""Clean answer spans: whole words and compounds, quotes and brackets in pairs."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.answer.spans import CLOSES, OPENS, _pairs, clean_span


def cleaned(text: str, piece: str) -> str:
    start = text.index(piece)
    a, b = clean_span(text, start, start + len(piece))
    return text[a:b]


NEW_START = 'Moskau setzte seine Teilnahme am Atomwaffenkontrollvertrag mit Washington, "New Start", aus.'
RICHTUNG = "einig, dass eine politische Lösung die „richtige Richtung“ sei."
SIBERIA = 'gehörte ein Vorschlag für eine "Power of Siberia 2"-Pipeline, die russisches Gas liefern sollte'


@pytest.mark.parametrize("text, piece, expected", [
    (NEW_START, 'Atomwaffenkontrollvertrag mit Washington, "New Start',
     'Atomwaffenkontrollvertrag mit Washington, "New Start"'),
    (NEW_START, '"New Start",', "New Start"),
    (NEW_START, 'New Start"', "New Start"),
    (RICHTUNG, "die „richtige Richtung", "die „richtige Richtung“"),
    (RICHTUNG, "„richtige Richtung", "richtige Richtung"),
    (SIBERIA, 'Power of Siberia 2"-Pipeline', '"Power of Siberia 2"-Pipeline'),
    (SIBERIA, 'Power of Siberia 2"-', '"Power of Siberia 2"-Pipeline'),
    (SIBERIA, "Power of Siberia 2", "Power of Siberia 2"),
    (SIBERIA, "Power of Sib", "Power of Siberia"),                  # never ends inside a word
    ("der Russland-China-Gipfel begann", "Russland-Ch", "Russland-China-Gipfel"),  # nor inside a compound
    ("der Russland-China-Gipfel begann", "China", "Russland-China-Gipfel"),
    ("mit 7.000 Wörtern verfasst", " 7.000 ", "7.000"),
    ("sprach mit den U.S. Behörden", "U.S.", "U.S."),
    ("nach Peking. Dort", "Peking.", "Peking"),
    ("Kraft Sibiriens 2“. Dann", "Kraft Sibiriens 2“.", "Kraft Sibiriens 2"),  # a closer with no opener in reach
    ("(Moskau) und Peking", "(Moskau", "Moskau"),
    ("Peking (China", "Peking (China", "Peking"),                    # the bracket never closes: cut before it
    ("Xi Jinping", "Xi", "Xi"),
])
def test_examples(text, piece, expected):
    assert cleaned(text, piece) == expected


def test_out_of_range_and_empty_inputs():
    assert clean_span("abc", -5, 99) == (0, 3)
    assert clean_span("abc", 2, 1) == (0, 3)        # reversed ends are sorted, then grown to the whole word
    assert clean_span("", 0, 0) == (0, 0)
    a, b = clean_span("  ,; ", 0, 5)
    assert a == b


def balanced(piece: str) -> bool:
    return not _pairs(piece)[1]


PAIRED = "".join(sorted(set(OPENS) | set(CLOSES)))
texts = st.text(st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(PAIRED + "-. ,")),
                max_size=200)


@settings(max_examples=400, deadline=None)
@given(texts, st.data())
def test_clean_spans_are_inside_idempotent_trimmed_whole_and_balanced(text, data):
    start = data.draw(st.integers(-2, len(text) + 2))
    end = data.draw(st.integers(-2, len(text) + 2))
    a, b = clean_span(text, start, end)
    assert 0 <= a <= b <= len(text)
    assert clean_span(text, a, b) == (a, b)
    piece = text[a:b]
    assert piece == piece.strip() and balanced(piece)
    if a < b:
        assert not (0 < a and text[a - 1].isalnum() and text[a].isalnum())
        assert not (b < len(text) and text[b - 1].isalnum() and text[b].isalnum())
    low, high = sorted((min(max(start, 0), len(text)), min(max(end, 0), len(text))))
    words = [i for i in range(low, high) if text[i].isalnum()]
    if words:  # the answer keeps some of the words it was given
        assert any(a <= i < b for i in words)


def test_an_unpaired_bracket_at_the_end_is_dropped_not_grown_to():
    text = "vor allem Pflegeheimbetreiber (hauptsächlich Omnicare, Kindred Healthcare und PharMerica) sind"
    assert (cleaned(text, "Omnicare, Kindred Healthcare und PharMerica)")
            == "Omnicare, Kindred Healthcare und PharMerica")


def test_half_a_quotation_becomes_the_whole_one():
    text = "Russland sei offen für den „Aufbau einer echten Allianz mit China“. Lawrow"
    assert cleaned(text, "China“.") == "Aufbau einer echten Allianz mit China"
