"""Training questions of the kind "what did X say about Y?", made from quotations and reported speech in German and
English text: the answer is the quoted words (or the reported clause), X the speaker named beside them, Y the
answer's rarest word (in the counts given; else its longest). Rule-based and deliberately strict: a quotation without
a named speaker gives nothing."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

SPEAKER = r"(?P<speaker>[A-ZÄÖÜ](?:[\w-]|\.(?=\w))+(?: (?:von |van |de )?[A-ZÄÖÜ][\w-]+){0,2})"
FIRST_SPEAKER = r"(?<![a-zäöüß,] )" + SPEAKER  # a speaker before the verb: not a noun after a lower-case word
VERB_DE = r"(?:sagte|erklärte|betonte|meinte|warnte|schrieb|kritisierte)"
VERB_EN = r"(?:said|stated|explained|stressed|warned|wrote|argued)"
QUOTE = r"[„\"“](?P<answer>[^„“\"”]{12,300})[“\"”]"
REPORTED = r"(?P<answer>[^.;:!?\"„“]{12,300})"
PATTERNS = (
    re.compile(QUOTE + r",? (?:" + VERB_DE + "|so|" + VERB_EN + r") " + SPEAKER),
    re.compile(QUOTE + r",? " + SPEAKER + " " + VERB_EN),  # '"…," Trump said'
    re.compile(FIRST_SPEAKER + r" (?:" + VERB_DE + "|" + VERB_EN + r")(?: [\w-]+){0,4}[:,] " + QUOTE),
    re.compile(VERB_DE + " " + SPEAKER + r"(?: [\w-]+){0,4}: " + QUOTE),  # "…, sagte X einmal: „…“"
    re.compile(FIRST_SPEAKER + r" " + VERB_DE + r", (?:dass )?" + REPORTED + r"[.;]"),
    re.compile(FIRST_SPEAKER + r" " + VERB_EN + r",? that " + REPORTED + r"[.;]"),
)
NOT_SPEAKERS = {"Er", "Sie", "Es", "Man", "Der", "Die", "Das", "Dies", "Ein", "Eine", "He", "She", "It", "They",
                "The", "This", "A", "An", "We", "I", "You"}
TEMPLATES = ("Was sagte {speaker} über {topic}?", "What did {speaker} say about {topic}?")
MIN_TOPIC_LETTERS = 4


@dataclass
class QuoteQuestion:
    question: str
    answer_start: int  # the answer's character range in the text
    answer_end: int


def topic_word(answer: str, speaker: str, word_counts: Counter | None = None) -> str:
    """The answer's word that says most what it is about: the rarest in ``word_counts``, the longest among equals."""
    words = [w for w in re.findall(r"\w+", answer)
             if len(w) >= MIN_TOPIC_LETTERS and not w.isdigit() and w not in speaker.split()]
    return min(words, key=lambda w: ((word_counts or {}).get(w.lower(), 0), -len(w)), default="")


def quote_questions(text: str, word_counts: Counter | None = None) -> list[QuoteQuestion]:
    """A German and an English question for each quotation or reported statement of a named speaker in ``text``;
    ``word_counts`` (lower-cased words of the texts read) chooses the topic."""
    found, seen = [], set()
    for pattern in PATTERNS:
        for match in pattern.finditer(text):
            speaker, answer = match.group("speaker"), match.group("answer")
            start = match.start("answer") + len(answer) - len(answer.lstrip())
            end = match.end("answer") - len(answer) + len(re.sub(r"[\s,;:]+$", "", answer))
            topic = topic_word(answer, speaker, word_counts)
            if speaker.split()[0] in NOT_SPEAKERS or not topic or (start, end) in seen:
                continue
            seen.add((start, end))
            found += [QuoteQuestion(t.format(speaker=speaker, topic=topic), start, end) for t in TEMPLATES]
    return found
