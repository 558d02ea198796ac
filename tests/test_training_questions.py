"""Training questions made from text: "what did X say about Y?" from quotations and reported speech, and from
news-like paragraphs that quote parliamentary speeches, with look-alikes that the paragraph cannot answer."""
from __future__ import annotations

import random
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.train.quotes import quote_questions, topic_word
from rag.train.reported_speech import FRAMES, Speech, detokenised, quotable_sentences, reported_speech


def test_a_quotation_with_its_speaker_after_it_gives_questions_in_german_and_english():
    text = "Am Montag gab es Gespräche. „Wir bauen eine echte Allianz mit China auf“, sagte Sergej Lawrow danach."
    found = quote_questions(text)
    assert [q.question for q in found] == ["Was sagte Sergej Lawrow über Allianz?",
                                           "What did Sergej Lawrow say about Allianz?"]
    assert {text[q.answer_start:q.answer_end] for q in found} == {"Wir bauen eine echte Allianz mit China auf"}


def test_reported_speech_and_a_speaker_before_the_quotation():
    text = ("Robert Shiller said that rising inequality is the most important problem. "
            "In einem Interview sagte Tesla einmal: „Der Krieg wird durch Maschinen beendet werden.“")
    answers = {(q.question, text[q.answer_start:q.answer_end]) for q in quote_questions(text)}
    assert ("What did Robert Shiller say about inequality?",
            "rising inequality is the most important problem") in answers
    assert ("Was sagte Tesla über Maschinen?", "Der Krieg wird durch Maschinen beendet werden.") in answers
    assert not any("Interview" in question for question, _ in answers)  # a noun before the verb is no speaker


def test_a_quotation_without_a_named_speaker_gives_nothing():
    assert quote_questions("Er sagte: „Das ist falsch und sehr gefährlich.“ "
                           "Typische Slogans sind „Der beste Mix“.") == []


SPEAKERS = st.sampled_from(["Lawrow", "Sergej Lawrow", "Angela Merkel", "Tesla", "Er", "Die Regierung"])
WORDS = st.lists(st.sampled_from(["Allianz", "China", "wir", "bauen", "eine", "echte", "Frieden", "nie", "sehr"]),
                 min_size=1, max_size=12).map(" ".join)
SENTENCES = st.one_of(
    st.builds(lambda q, s: f"„{q}“, sagte {s}.", WORDS, SPEAKERS),
    st.builds(lambda s, q: f"{s} sagte: „{q}“", SPEAKERS, WORDS),
    st.builds(lambda s, q: f"{s} erklärte, dass {q}.", SPEAKERS, WORDS),
    st.builds(lambda s, q: f'{s} said that "{q}".', SPEAKERS, WORDS),
    st.builds(lambda q, s: f'"{q} ," {s} said.', WORDS, SPEAKERS),
    WORDS.map(lambda w: w + "."))


@settings(max_examples=200, deadline=None)
@given(st.lists(SENTENCES, max_size=6).map(" ".join))
def test_every_answer_is_a_trimmed_stretch_of_the_text_and_its_speaker_is_named_there(text):
    for found in quote_questions(text):
        answer = text[found.answer_start:found.answer_end]
        assert 0 <= found.answer_start < found.answer_end <= len(text)
        assert answer == answer.strip() and not set("„“\"") & set(answer)
        speaker = (found.question.removeprefix("Was sagte ").removeprefix("What did ")
                   .split(" über ")[0].split(" say ")[0])
        assert speaker in text and speaker.split()[0] not in {"Er", "Die"}


def test_an_english_quotation_before_its_speaker_and_verb():
    text = '"We\'re going to look at it very, very carefully," Trump said of voter fraud. Mr. Smith agreed.'
    found = quote_questions(text)
    assert [q.question for q in found] == ["Was sagte Trump über carefully?", "What did Trump say about carefully?"]
    assert {text[q.answer_start:q.answer_end] for q in found} == {"We're going to look at it very, very carefully"}


def test_the_topic_is_the_answers_rarest_word_and_the_longest_without_counts():
    answer = "Die Sanktionen gegen Russland schaden der Wirtschaftskraft"
    assert topic_word(answer, "Lawrow") == "Wirtschaftskraft"
    counts = Counter(wirtschaftskraft=9, sanktionen=5, russland=1, schaden=3, gegen=40)
    assert topic_word(answer, "Lawrow", counts) == "Russland"
    assert topic_word("Ich war 2024 da", "Lawrow") == ""  # no word of four letters but a number


def test_a_transcript_is_detokenised_and_only_statements_are_quotable():
    speech = Speech("Ulla Jelpke", "PDS/LINKE", "Herr Präsident , meine Damen und Herren ! Das Gesetz ist ein "
                    "Fehler , den wir korrigieren müssen . Warum tun Sie nichts dagegen ? ( Beifall ) Die Regierung "
                    "„ verschleppt “ die Reform seit Jahren .")
    assert detokenised("Das ist gut , sagte er ( leise ) .") == "Das ist gut, sagte er (leise)."
    assert quotable_sentences(speech) == ["Das Gesetz ist ein Fehler, den wir korrigieren müssen."]


WORD = st.sampled_from(["Gesetz", "Regierung", "wir", "müssen", "Reform", "Jahren", "die", "ist", "Fehler", "Zukunft",
                        "ß", "Ökologie", "\u2028", "e\u0301"])
PARTIES = ("SPD", "CDU/CSU", "GRUENE")
SPEECH_TEXT = st.lists(st.lists(WORD, min_size=4, max_size=30).map(lambda w: " ".join(w) + " ."),
                       min_size=1, max_size=4).map(" ".join)
SPEECHES = st.lists(st.builds(Speech, st.sampled_from(["Ulla Jelpke", "Jerzy Montag", "Ernst Kastning", "Eva Bulling",
                                                       "Otto Schily"]),
                              st.sampled_from(PARTIES), SPEECH_TEXT), min_size=2, max_size=8)


@settings(max_examples=100, deadline=None)
@given(SPEECHES, st.integers(0, 2**32 - 1))
def test_each_answer_is_the_quoted_words_beside_the_speaker_asked_about(speeches, seed):
    quoted = {}
    for speech in speeches:
        quoted.setdefault(speech.speaker, []).extend(quotable_sentences(speech))
    for paragraph, question, start, end in reported_speech(speeches, 5, random.Random(seed)):
        asked = next(name for name in quoted if name in question or name.split()[-1] in question)
        if start is None:  # a look-alike: the speaker asked about is quoted elsewhere, not here
            assert asked.split()[-1] not in paragraph
            continue
        answer = paragraph[start:end]
        assert answer == answer.strip() and answer[-1] not in ".!" and not set("„“") & set(answer)
        assert paragraph[start - 1] == "„" and paragraph[end:].lstrip(".!")[0] == "“"
        assert any(sentence.startswith(answer) for sentence in quoted[asked])
        assert any(paragraph[:start].endswith(before.format(name=asked, party=party))
                   and paragraph[end:].lstrip(".!").startswith(after.format(name=asked, party=party))
                   for before, after in (f.split("{quote}") for f in FRAMES) for party in PARTIES)
