"""The rules a question meets at every door (HTTP, CLI, Python): checked once, where it enters the pipeline."""
from __future__ import annotations

import unicodedata

from ..errors import InvalidInput
from ..text import unicode_problem

QUESTION_FIELD = "question"  # as the API names it
MEANINGFUL_CATEGORIES = "LNS"  # Unicode letters, numbers, symbols: a question needs one (not only NUL or zero-width)


def check_question(question: str, max_chars: int) -> str:
    """The question without surrounding spaces, in its NFKC form; InvalidInput when it is empty, holds a lone
    surrogate (undecodable bytes of a command line, JSON's "\\ud800": no model reads it), has nothing but invisible or
    control characters, or is over ``max_chars`` characters as typed (RAG_MAX_QUESTION_CHARS).

    NFKC writes full-width letters and digits, as Chinese and Japanese keyboards type Latin ones ("ＬＡＷＲＯＷ"), as
    the text does: the model's tokenizer reads them so already, but BM25, the names and the rules about speakers and
    kinds of answers compare characters."""
    typed = len((question or "").strip())
    if typed > max_chars:  # before NFKC, which can make one character eighteen ("ﷺ")
        raise InvalidInput(f"the question has {typed} characters; at most {max_chars} are allowed", QUESTION_FIELD)
    question = unicodedata.normalize("NFKC", question or "").strip()
    if not question:
        raise InvalidInput("the question is empty", QUESTION_FIELD)
    if problem := unicode_problem(question):
        raise InvalidInput(f"the question: {problem}", QUESTION_FIELD)
    if not any(unicodedata.category(c)[0] in MEANINGFUL_CATEGORIES for c in question):
        raise InvalidInput("the question has no letter, digit or symbol", QUESTION_FIELD)
    return question
