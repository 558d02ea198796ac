"""Training questions of the kind "what did X say about Y?", made from quotations and reported speech in German and
English text: the answer is the quoted words (or the reported clause), X the speaker named beside them, Y the
longest word of the answer. Rule-based and deliberately strict: a quotation without a named speaker gives nothing."""
from __future__ import annotations

import re
from dataclasses import dataclass

SPEAKER = r"(?P<speaker>[A-ZÄÖÜ][\w.-]+(?: (?:von |van |de )?[A-ZÄÖÜ][\w-]+){0,2})"
FIRST_SPEAKER = r"(?<![a-zäöüß,] )" + SPEAKER  # a speaker before the verb: not a noun after a lower-case word
VERB_DE = r"(?:sagte|erklärte|betonte|meinte|warnte|schrieb|kritisierte)"
VERB_EN = r"(?:said|stated|explained|stressed|warned|wrote|argued)"
QUOTE = r"[„\"“](?P<answer>[^„“\"”]{12,300})[“\"”]"
REPORTED = r"(?P<answer>[^.;:!?\"„“]{12,300})"
PATTERNS = (
    re.compile(QUOTE + r",? (?:" + VERB_DE + "|so|" + VERB_EN + r") " + SPEAKER),
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


def quote_questions(text: str) -> list[QuoteQuestion]:
    """A German and an English question for each quotation or reported statement of a named speaker in ``text``."""
    found, seen = [], set()
    for pattern in PATTERNS:
        for match in pattern.finditer(text):
            speaker, answer = match.group("speaker"), match.group("answer")
            start = match.start("answer") + len(answer) - len(answer.lstrip())
            end = match.end("answer") - len(answer) + len(answer.rstrip())
            topic = max((w for w in re.findall(r"\w+", answer) if w not in speaker.split()), key=len, default="")
            if speaker.split()[0] in NOT_SPEAKERS or len(topic) < MIN_TOPIC_LETTERS or (start, end) in seen:
                continue
            seen.add((start, end))
            found += [QuoteQuestion(t.format(speaker=speaker, topic=topic), start, end) for t in TEMPLATES]
    return found
