"""The names a question asks about, and whether a passage holds them in any spelling or script: "Lavrov", "Лавров"
and "Ławrow" are the "Lawrow" of a German article. A question about a person, place or organisation that its
passages never name ("What did Scholz say about China?" over articles without Scholz) is rarely answered right by
them, whatever the reader points at: the answers' confidence reads ``name_coverage`` as evidence.

Two words are the same name when their spelling keys match (``spelling_key``: Latin letters without diacritics,
Cyrillic transliterated, the letter groups by which transliterations of one sound differ made one), or when one key
is the other plus a one-letter ending (a case ending: "Лаврова", "Lawrows").
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

WORD = re.compile(r"[^\W\d_]+")
CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
                     "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya"]))
NOT_DECOMPOSED = {"ł": "l", "ß": "ss", "ø": "o", "æ": "ae", "đ": "d", "ı": "i"}
SAME_SOUND = [("shch", "sh"), ("tsch", "ch"), ("tch", "ch"), ("sch", "sh"), ("zh", "sh"), ("kh", "h"),
              ("ou", "u"), ("ts", "z"), ("w", "v"), ("j", "i"), ("y", "i"), ("z", "s"), ("x", "ks"), ("c", "k")]
MIN_ENDING_STEM = 4  # a one-letter ending is taken off keys of at least this many letters ("Xi" is no "X" + "i")
MIN_STEM = 4  # letters a name needs to match a longer word, or one a letter off (``similar``)
MAX_ENDING = 3  # letters a case ending may add: "Lawrows", "Лаврова", "Jinpingiem", "Kremlin" for "Kreml"


def spelling_key(word: str) -> str:
    """What transliterations of one name have in common: "Lawrow", "Lavrov", "Лавров" and "Ławrow" all give
    "lavrov"."""
    word = "".join(CYRILLIC.get(c, NOT_DECOMPOSED.get(c, c)) for c in word.lower())
    word = "".join(c for c in unicodedata.normalize("NFKD", word) if not unicodedata.combining(c))
    for spelling, sound in SAME_SOUND:
        word = word.replace(spelling, sound)
    return re.sub(r"(.)\1+", r"\1", word)


def asked_names(question: str) -> set[str]:
    """The spelling keys of the question's names: its capitalised words but the first (which any sentence
    capitalises)."""
    return {spelling_key(w) for w in WORD.findall(question)[1:] if w[0].isupper()}


def name_coverage(names: set[str], passage: str) -> float:
    """Share of the ``names`` (``asked_names``) that ``passage`` holds in any spelling, up to a one-letter ending;
    1.0 for a question that names nothing."""
    if not names:
        return 1.0
    held = spelling_keys(passage)
    held |= {key[:-1] for key in held if len(key) > MIN_ENDING_STEM}
    return sum(name in held or (len(name) > MIN_ENDING_STEM and name[:-1] in held) for name in names) / len(names)


@lru_cache(maxsize=64)
def spelling_keys(text: str) -> frozenset[str]:
    """The spelling keys of the words of ``text`` (the last few texts are kept: a question reads the same ones)."""
    return frozenset(spelling_key(w) for w in WORD.findall(text))


def similar(name: str, word: str) -> bool:
    """Keys of the same name, more loosely than ``name_coverage`` matches them (whose confidence was fitted on its own
    rule): equal; or, both of MIN_STEM letters or more, one is the other with an ending of at most MAX_ENDING letters,
    or they differ in one letter (added, removed or changed)."""
    if name == word:
        return True
    short, long = sorted((name, word), key=len)
    if len(short) < MIN_STEM or len(long) - len(short) > MAX_ENDING:
        return False
    if long.startswith(short):
        return True
    if len(long) - len(short) > 1:
        return False
    cut = next((i for i, (a, b) in enumerate(zip(short, long)) if a != b), len(short))
    return short[cut + (len(short) == len(long)):] == long[cut + 1:]
