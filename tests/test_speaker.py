"""Questions about what someone said, and whether the articles read name that speaker."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.answer.names import similar, spelling_key
from rag.answer.speaker import asked_speaker, speaker_named


@pytest.mark.parametrize("question, speaker", [
    ("Was sagte Baerbock über die Sanktionen?", "Baerbock"),
    ("Wie beschrieb Olaf Scholz das Treffen?", "Olaf Scholz"),
    ("What did Antony Blinken say about exports?", "Antony Blinken"),
    ("How did Wang Yi describe the visit?", "Wang Yi"),
    ("What did the Kremlin say about the call?", "Kremlin"),
    ("Qu'a dit Macron à propos de l'OTAN ?", "Macron"),
    ("¿Qué dijo Sánchez sobre el gas?", "Sánchez"),
    ("Cosa ha detto Meloni sulla Cina?", "Meloni"),
    ("Что сказал Песков о визите?", "Песков"),
    ("Co powiedział Tusk o Rosji?", "Tusk"),
    ("Jak Tusk opisał spotkanie?", "Tusk"),                  # the Polish verb after the name
    ("Según Borrell, ¿qué quiere China?", "Borrell"),
    ("Was hat Baerbock über die Sanktionen gesagt?", "Baerbock"),     # the German perfect
    ("What has Olaf Scholz said about it?", "Olaf Scholz"),
    ("¿Qué ha dicho Sánchez del gas?", "Sánchez"),
    ("Что говорит Песков?", "Песков"),
])
def test_the_speaker_is_the_capitalised_name_beside_a_verb_of_saying(question, speaker):
    assert asked_speaker(question) == [spelling_key(word) for word in speaker.split()]


@pytest.mark.parametrize("question", [
    "Was sagte der Kanzler über die Sanktionen?",            # a role, not a name
    "What did the chancellor say about the call?",
    "Wie viele Grammys hat sie laut Bericht gewonnen?",      # German capitalises nouns: "laut" is left out
    "Wann trafen sich Xi und Putin?",                        # no verb of saying
    "Wann hat Putin Peking besucht?",
    "拉夫罗夫说了什么？",                                      # a language without capitals
    "Что сказал Си Цзиньпин о войне?",                       # a Chinese name in Cyrillic: its spelling differs
    "Jak opisał to spotkanie?",                              # "Jak" is capitalised as the first word
])
def test_a_question_without_a_named_speaker_has_none(question):
    assert asked_speaker(question) is None


@pytest.mark.parametrize("question", [
    "What did Lavrov say?", "Что сказал Лавров?", "Co powiedział Ławrow?", "Was sagte Lawrows Sprecher?",
    "Qu'a dit Jaeger ?", "What did Dr. Jäger say?",
])
def test_a_speaker_is_named_in_any_spelling_with_any_word_of_the_name(question):
    speaker = asked_speaker(question)
    assert speaker and speaker_named(speaker, ["„Wir sind bereit“, sagte Lawrow. Professor Thomas Jäger widersprach."])


@pytest.mark.parametrize("question", ["What did Stoltenberg say?", "Was sagte Olaf Scholz?", "Что сказал Путин?"])
def test_a_speaker_the_texts_never_name_is_not_named(question):
    assert not speaker_named(asked_speaker(question), ["„Wir sind bereit“, sagte Lawrow in Peking."])


KEYS = st.text(alphabet="abdefgiklmnoprstuv", min_size=4, max_size=12)


@given(KEYS, st.text(alphabet="aeimuv", max_size=3))
def test_a_case_ending_keeps_a_name(key, ending):
    assert similar(key, key + ending) and similar(key + ending, key)


@given(KEYS, KEYS)
def test_similar_is_symmetric_and_keys_far_apart_are_different_names(a, b):
    assert similar(a, b) == similar(b, a)
    if abs(len(a) - len(b)) > 3 or (a[:4] != b[:4] and sum(x != y for x, y in zip(a, b)) > 1 and len(a) == len(b)):
        assert not similar(a, b)



@given(st.text(), st.lists(st.text(), max_size=3))
def test_any_question_and_texts_give_a_speaker_or_none_and_an_answer(question, texts):
    speaker = asked_speaker(question)
    assert speaker is None or (speaker and all(isinstance(word, str) for word in speaker))
    assert speaker is None or speaker_named(speaker, texts) in (True, False)


@given(st.sampled_from(["Was sagte {} über die Lage?", "What did {} say?", "Что сказал {} о войне?",
                        "Was hat {} dazu gesagt?", "Jak {} opisał?"]),
       st.text(st.characters(categories=["Lu", "Ll", "Mn", "Zl", "Cc"]), min_size=1, max_size=20))
def test_a_name_in_its_own_text_is_always_named(template, name):
    speaker = asked_speaker(template.format(name))
    assert speaker is None or speaker_named(speaker, [f"Dazu äußerte sich {name} gestern."])
