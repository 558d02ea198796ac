"""The names a question asks about, found in a passage in any spelling or script."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from rag.answer.names import asked_names, name_coverage, spelling_key

PASSAGE = ("In gemäßigter Sprache erklärte Lawrow, Russland sei offen. Lawrows Rede folgte dem Treffen von Putin, "
           "Patruschew und Uschakow; Selenskyj äußerte sich nicht. Xi Jinping schwieg.")


@pytest.mark.parametrize("spellings", [
    ["Lawrow", "Lavrov", "Лавров", "Ławrow", "LAVROV"],
    ["Patruschew", "Patrushev", "Патрушев"],
    ["Selenskyj", "Zelensky", "Зеленский"],
])
def test_transliterations_of_one_name_share_a_key(spellings):
    assert len({spelling_key(s) for s in spellings}) == 1


def test_the_names_asked_about_are_the_capitalised_words_but_the_first():
    assert asked_names("What did Lavrov tell Wang Yi about the war?") == {"lavrov", "vang", "i"}
    assert asked_names("was sagte er?") == set()


@pytest.mark.parametrize("question", [
    "What did Lavrov say about an alliance?",
    "Что сказал Лавров о союзе?",
    "Что сказал Лаврова?",                       # a case ending
    "Qu'a dit Poutine ?",                        # Putin plus an "e"
    "What did Patrushev and Ushakov say?",
    "Was sagte Zelensky?",
    "What did Xi Jinping say?",
    "what did he say?",                          # no names: nothing is missing
])
def test_a_passage_that_names_them_in_another_spelling_covers_them(question):
    assert name_coverage(asked_names(question), PASSAGE) == 1.0


@pytest.mark.parametrize("question, coverage", [
    ("What did Scholz say about Lavrov?", 0.5),
    ("Was sagte Biden?", 0.0),
    ("What did Xi tell Biden?", 0.5),
])
def test_names_the_passage_lacks_lower_the_coverage(question, coverage):
    assert name_coverage(asked_names(question), PASSAGE) == coverage


@given(st.text())
def test_a_passage_covers_the_names_of_its_own_text(text):
    assert name_coverage(asked_names(text), text) == 1.0
