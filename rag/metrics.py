"""Answer metrics of SQuAD: exact match and token F1 after normalisation."""
from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable

# SQuAD v1.1 normalisation (lower case, no punctuation, no articles, single spaces), with the German articles
# (der/die/das/den/dem/des, ein/eine/einen/einem/einer/eines) removed as well as the English ones (a/an/the).
# Punctuation is every Unicode P* character (so „“ « » – … count too), not only string.punctuation.
ARTICLES = re.compile(r"\b(a|an|the|der|die|das|den|dem|des|ein|eine|einen|einem|einer|eines)\b", re.UNICODE)


def normalize_answer(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(c for c in text if not (unicodedata.category(c).startswith("P") or c in string.punctuation))
    text = ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: Iterable[str]) -> float:
    p = normalize_answer(prediction)
    return float(any(p == normalize_answer(g) for g in golds))


def _f1(prediction: str, gold: str) -> float:
    p, g = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not p or not g:
        return float(p == g)
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(g)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, golds: Iterable[str]) -> float:
    """SQuAD token F1: the best over the gold answers."""
    return max((_f1(prediction, g) for g in golds), default=0.0)


RIGHT_F1 = 0.5


def answer_matches(prediction: str, expected: Iterable[str]) -> bool:
    """A short answer is right when it holds an expected answer or has a token F1 of at least 0.5 with one."""
    expected = list(expected)
    held = normalize_answer(prediction)
    return any(normalize_answer(e) in held for e in expected if normalize_answer(e)) or \
        f1_score(prediction, expected) >= RIGHT_F1
