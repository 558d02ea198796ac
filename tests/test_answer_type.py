"""Questions of quantity and duration, and which spans state one."""
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.answer.answer_type import STATES_DURATION, STATES_QUANTITY, expected_answer, fitting, other_units
from rag.answer.read import Found
from rag.types import Document


@pytest.mark.parametrize("question", [
    "Wie viele Abkommen wurden unterzeichnet?", "Um wie viel Prozent sanken die Exporte?", "Wieviele Tote gab es?",
    "How many people visited the fair?", "By how much did exports fall?", "How old is he?",
    "Combien de contrats ont été signés ?", "¿Cuántas personas murieron?", "Quanti accordi hanno firmato?",
    "Сколько стоит газ?", "Ile kosztuje gazociąg?", "Ticaret hacmi kaç milyar dolardı?", "签了多少协议？",
    "Quanto gas ha importato la Cina?", "¿cuantos acuerdos firmaron?",
])
def test_questions_of_quantity_in_many_languages(question):
    assert expected_answer(question) is STATES_QUANTITY


@pytest.mark.parametrize("question", [
    "Wie lange dauerte das Telefonat?", "How long did the talks last?", "Combien de temps a duré la visite ?",
    "¿Cuánto tiempo duró la reunión?", "Quanto tempo è durato il vertice?", "Сколько времени длился визит?",
    "Jak długo trwała wizyta?",
])
def test_questions_of_duration_in_many_languages(question):
    assert expected_answer(question) is STATES_DURATION


@pytest.mark.parametrize("question", [
    "Was sagte Lawrow über eine Allianz?", "Wer traf Putin in Peking?", "When did Xi fly to Moscow?",
    "Rusya ile Çin ne imzaladı?",  # Turkish "ile" ("with") is no Polish "ile" ("how many")
    "¿Qué dijo Xi en cuanto a Ucrania?", "Cosa ha detto Lavrov per quanto riguarda la NATO?",  # "regarding"
])
def test_other_questions_may_have_any_answer(question):
    assert expected_answer(question) is None


@pytest.mark.parametrize("text", [
    "13,5 Prozent", "sechs Tage", "rund ein Dutzend Abkommen", "zehntausende Menschen", "Hunderten", "einundzwanzig",
    "dreihundertfünfzig", "zwei Drittel seiner Bevölkerung", "das Zehnfache", "Keiner", "mehrere Tausend",
    "four", "two-thirds", "twice", "hundreds", "fifteen", "None", "dix-sept", "veintidós", "Millionen",
    "несколько тысяч", "двух", "viel Einfluss", "weniger als erwartet",
])
def test_numbers_digits_and_amounts_state_a_quantity(text):
    assert STATES_QUANTITY.search(text) and STATES_DURATION.search(text)


@pytest.mark.parametrize("text", [
    "achten", "dritten Jahrestag", "the eighth expo", "Kurt Volker", "eine weiche Landung", "ein Staatsbesuch",
    "warm und freundlich", "Achtung", "Dreieck", "das einfache Volk", "the party", "canteen", "движение",
])
def test_ordinals_articles_and_look_alike_words_state_none(text):
    assert not STATES_QUANTITY.search(text)


@pytest.mark.parametrize("text", ["eine Stunde", "seit Jahrzehnten", "well into the nineteenth century",
                                  "fünf bis zehn Jahre", "pendant des années", "два часа"])
def test_units_of_time_state_a_duration(text):
    assert STATES_DURATION.search(text)


@pytest.mark.parametrize("text", ["dritten Jahrestag", "an der Grenze", "Kurt Volker", "часть"])
def test_anniversaries_and_prepositions_state_no_duration(text):
    assert not STATES_DURATION.search(text)


def retrieval_of(question: str, text: str) -> SimpleNamespace:
    document = Document("d", text, "", {})
    return SimpleNamespace(question=question, rows=[0, 1],
                           snapshot=SimpleNamespace(document_of=lambda row: document))


TEXT = "Zur achten Expo kamen 250.000 Besucher und sechs Minister."


def test_a_question_of_quantity_keeps_the_spans_that_state_one():
    spans = [Found(0, 4, 10, 5.0), Found(1, 22, 29, 3.0), Found(1, 43, 48, 1.0)]  # "achten", "250.000", "sechs"
    assert fitting(spans, retrieval_of("Wie viele Besucher kamen?", TEXT)) == spans[1:]


CALL = "Das Telefonat dauerte 90 Minuten, wenige Tage vor dem Gipfel, eine Stunde länger als geplant."


@pytest.mark.parametrize("question", [
    "Wie lange dauerte das Telefonat in Minuten?", "How many minutes did the call last?",
    "Combien de minutes a duré l'appel ?", "¿Cuántos minutos duró la llamada?", "Сколько минут длился разговор?",
])
def test_a_question_asked_in_a_unit_of_time_is_answered_in_no_other(question):
    spans = [Found(0, 21, 31, 3.0), Found(0, 21, 23, 2.0), Found(1, 33, 45, 5.0), Found(1, 67, 78, 4.0)]
    kept = fitting(spans, retrieval_of(question, CALL))  # "90 Minuten", "90", "wenige Tage", "eine Stunde"
    assert kept == spans[:2]


@pytest.mark.parametrize("question", ["Wie lange dauerte das Telefonat?", "Wie lange dauerte der dritte Tag?",
                                      "How long did the call last, in the end?"])
def test_a_question_not_asked_in_a_unit_keeps_every_unit(question):
    spans = [Found(0, 21, 31, 3.0), Found(1, 33, 45, 5.0), Found(1, 67, 78, 4.0)]
    assert other_units(question) is None and fitting(spans, retrieval_of(question, CALL)) == spans


def test_other_questions_keep_every_span():
    spans = [Found(0, 4, 10, 5.0)]
    assert fitting(spans, retrieval_of("Welche Expo war es?", TEXT)) == spans


@given(st.text(), st.lists(st.tuples(st.integers(0, 1), st.integers(0, 60), st.integers(0, 60)), max_size=6))
def test_the_spans_kept_are_some_of_those_found_in_their_order(question, raw):
    spans = [Found(p, min(a, b), max(a, b), float(i)) for i, (p, a, b) in enumerate(raw)]
    kept = fitting(spans, retrieval_of(question, TEXT))
    assert kept == [f for f in spans if f in kept]
    assert kept == spans or expected_answer(question) is not None
