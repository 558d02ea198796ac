"""News-like German paragraphs made from parliamentary speeches, for training the reader on what the seeds ask most:
"what did X say about Y?", asked in many languages, where the answer is X's quoted words and the paragraph quotes
others beside X. A paragraph quotes a sentence from each of two to four speakers, framed as a newspaper frames them
(„…“, sagte Name (Partei).); a question names one of them, or (a look-alike without answer) a speaker quoted
elsewhere but not in this paragraph."""
from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass

from rag.train.quotes import topic_word

FRAMES = ("„{quote}“, sagte {name} ({party}).", "{name} ({party}) sagte: „{quote}“",
          "„{quote}“, betonte {name} ({party}).", "{name} ({party}) erklärte: „{quote}“",
          "„{quote}“, so {name} ({party}).", "{name} ({party}) warnte: „{quote}“")
QUESTIONS = {
    "de": ("Was sagte {speaker} über {topic}?", "Wie äußerte sich {speaker} zu {topic}?"),
    "en": ("What did {speaker} say about {topic}?", "What was {speaker}'s view on {topic}?"),
    "fr": ("Qu'a dit {speaker} à propos de {topic} ?",),
    "es": ("¿Qué dijo {speaker} sobre {topic}?",),
    "it": ("Cosa ha detto {speaker} su {topic}?",),
    "ru": ("Что сказал {speaker} о {topic}?",),
    "pl": ("Co powiedział {speaker} o {topic}?",),
    "tr": ("{speaker} {topic} hakkında ne söyledi?",),
    "zh": ("{speaker}关于{topic}说了什么？",),
}
LANGUAGE_WEIGHTS = {"de": 4, "en": 3, "fr": 1, "es": 1, "it": 1, "ru": 1, "pl": 1, "tr": 1, "zh": 1}
SPEAKERS_PER_PARAGRAPH = (2, 4)
SENTENCE_CHARS = (40, 220)
FULL_NAME_SHARE = 0.4  # questions that name the speaker in full; the others by surname
LOOK_ALIKE_SHARE = 0.5  # paragraphs that are also asked about a speaker they do not quote
FORMAL_ADDRESS = re.compile(r"Präsident|Kolleg|Damen und Herren|Zwischenruf|Beifall|\(")


@dataclass
class Speech:
    speaker: str  # full name
    party: str
    text: str  # as transcribed: tokens separated by spaces


def detokenised(text: str) -> str:
    """A transcript's text with one space between words, none before punctuation or inside brackets and quotes."""
    text = re.sub(r" ([.,;:!?)“])", r"\1", " ".join(text.split()))
    return re.sub(r"([(„]) ", r"\1", text)


def quotable_sentences(speech: Speech) -> list[str]:
    """The speech's statements that read as a quotation: whole sentences, not a question, no address or heckling."""
    sentences = re.split(r"(?<=[.!])\s+(?=[A-ZÄÖÜ])", detokenised(speech.text))
    return [s for s in sentences if SENTENCE_CHARS[0] <= len(s) <= SENTENCE_CHARS[1] and s[-1] in ".!"
            and not FORMAL_ADDRESS.search(s) and not set("„“\"") & set(s)]


def reported_speech(speeches: list[Speech], paragraphs: int,
                    rng: random.Random) -> list[tuple[str, str, int | None, int | None]]:
    """``paragraphs`` paragraphs, each asked once, in one of several languages, about a speaker it quotes and, for a
    share of them, once about one it does not: (paragraph, question, answer start, answer end), no answer as None."""
    quotable = [(s, sentences) for s in speeches if (sentences := quotable_sentences(s))]
    word_counts = Counter(w.lower() for _, sentences in quotable for s in sentences for w in re.findall(r"\w+", s))
    languages, weights = zip(*LANGUAGE_WEIGHTS.items())

    def question(speaker: str, topic: str) -> str:
        language = rng.choices(languages, weights)[0]
        name = speaker if rng.random() < FULL_NAME_SHARE else speaker.split()[-1]
        return rng.choice(QUESTIONS[language]).format(speaker=name, topic=topic)

    found = []
    for _ in range(paragraphs if quotable else 0):
        chosen = {}
        for speech, sentences in rng.sample(quotable, min(len(quotable), rng.randint(*SPEAKERS_PER_PARAGRAPH))):
            chosen.setdefault(speech.speaker, (speech, rng.choice(sentences)))
        paragraph, quotes = "", []
        for speech, quote in chosen.values():
            before, after = rng.choice(FRAMES).split("{quote}")
            if after.startswith("“,"):  # „…“, sagte X: the full stop of a statement falls away before the comma
                quote = quote.removesuffix(".")
            paragraph += " " * bool(paragraph) + before.format(name=speech.speaker, party=speech.party)
            quotes.append((speech.speaker, quote, len(paragraph), len(paragraph) + len(quote.rstrip(".!"))))
            paragraph += quote + after.format(name=speech.speaker, party=speech.party)
        speaker, quote, start, end = rng.choice(quotes)
        topic = topic_word(quote, speaker, word_counts)
        if not topic:
            continue
        found.append((paragraph, question(speaker, topic), start, end))
        absent = rng.choice(quotable)[0].speaker
        if rng.random() < LOOK_ALIKE_SHARE and absent not in chosen and absent.split()[-1] not in paragraph:
            found.append((paragraph, question(absent, topic), None, None))
    return found
