"""Whom a question asks to have said something, and whether the articles read name that speaker at all.

"What did Stoltenberg say about the meeting?" over articles that never name Stoltenberg has no answer, however well
a quotation of someone else fits "the meeting"; the reader alone answers such look-alikes with another speaker's
words. ``asked_speaker`` finds the speaker in questions of the form "what did X say / how did X describe / according
to X" in the languages below (a question in another language, or without a capitalised name in the speaker's place,
has none, and nothing is turned away); ``speaker_named`` looks for the speaker in the documents of the passages read,
in any spelling or script (``names.spelling_key``), up to a case ending.
"""
from __future__ import annotations

import re
import unicodedata
from itertools import takewhile
from typing import TYPE_CHECKING

from .names import WORD, similar, spelling_key, spelling_keys

if TYPE_CHECKING:
    from .retrieve import Retrieval

WORDS = r"([^\W\d_][\w'’.-]*(?:\s+[^\W\d_][\w'’.-]*){0,2})"  # one to three words: the name is those capitalised
SPEECH_VERBS = {  # verbs a question puts the speaker right after
    "de": r"sagte|sagten|sagt|meinte|meint|erklärte|erklärt|äußerte|betonte|warnte|kritisierte|beschrieb|"
          r"bezeichnete|nannte|forderte|schrieb|versprach|behauptete",  # not "laut": "laut Bericht" names nobody
    "en": r"according to",
    "fr": r"dit|déclaré|affirmé|pense|pensait|selon",
    "es": r"dijo|dijeron|dice|dicho|declaró|declarado|afirmó|afirmado|opina|piensa|según",
    "it": r"detto|dice|dichiarato|affermato|pensa|secondo",
    "pt": r"disse|diz|dito|declarou|afirmou|segundo",
    "nl": r"zei|zegt|gezegd|volgens",
    "ru": r"сказал|сказала|сказали|заявил|заявила|заявили|заявляет|говорил|говорила|говорит|считает|назвал|назвала|"
          r"по словам",
    "pl": r"powiedział|powiedziała|powiedzieli|mówił|mówiła|mówi|stwierdził|oświadczył|uważa|twierdzi|według",
}
GERMAN_PARTICIPLES = r"gesagt|erklärt|geäußert|betont|gewarnt|kritisiert|beschrieben|bezeichnet|genannt|gefordert|" \
                     r"geschrieben|versprochen|behauptet"
ENGLISH_VERBS = r"say|said|tell|told|think|claim|claimed|warn|warned|describe|described|call|called|mean|write|written"
PATTERNS = (  # and whether the name's words end where the verb starts (else they start after it)
    (re.compile(r"(?:^|\W)(?i:" + "|".join(SPEECH_VERBS.values()) + r")\s+" + WORDS), False),
    (re.compile(r"\b(?:hat|haben|hatte|hatten)\s+" + WORDS + r"\b.*\b(?:" + GERMAN_PARTICIPLES + r")\b"), False),
    (re.compile(r"\b(?:did|does|do|has|have|had)\s+" + WORDS + r"\s+(?:" + ENGLISH_VERBS + r")\b"), True),
    (re.compile(WORDS + r"\s+(?:opisał|opisała|ocenił|oceniła)\b"), True),  # Polish: "Jak Putin opisał …"
)


def speaker_unnamed(retrieval: Retrieval, passages: int) -> bool:
    """Whether the question asks what someone said whom no document of its first ``passages`` passages names: then
    nothing read can be that speaker's words (a passage may quote them as "he said", so their documents are read)."""
    speaker = asked_speaker(retrieval.question)
    if not speaker:
        return False
    documents = {d.id: d.text for d in map(retrieval.snapshot.document_of, retrieval.rows[:passages])}
    return not speaker_named(speaker, list(documents.values()))


def asked_speaker(question: str) -> list[str] | None:
    """The spelling keys of the words of the name that the question asks to have said something, or None (also
    for a name whose spelling cannot be checked)."""
    for pattern, from_end in PATTERNS:
        for match in pattern.finditer(question):
            words = WORD.findall(match.group(1))
            if from_end and not question[:match.start(1)].strip("¿¡ \"'«„“"):
                words = words[1:]  # the question's first word is capitalised as any sentence's first is: no name
            name = list(takewhile(lambda w: w[0].isupper(), reversed(words) if from_end else words))
            if any(len(word) <= 2 and not unicodedata.name(word[0], "").startswith("LATIN") for word in name):
                return None  # "Си Цзиньпин", "Ван И": a Chinese name in Cyrillic is no spelling of the articles' pinyin
            if name:
                return [spelling_key(word) for word in (reversed(name) if from_end else name)]
    return None


def speaker_named(speaker: list[str], texts: list[str]) -> bool:
    """Whether the texts name the speaker: a word of the name of at least three letters (of a name of shorter words
    only, any word) is a word of the texts in some spelling, up to a case ending or a transliteration's few letters
    (``similar``). One word is enough: a title or first name beside the name the texts use ("Professor Jäger",
    "Xi Jinping" for "Xi") is no reason to turn a question away."""
    held = set().union(*map(spelling_keys, texts))
    return any(similar(word, other) for word in [w for w in speaker if len(w) >= 3] or speaker for other in held)
