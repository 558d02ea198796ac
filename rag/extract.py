"""Extractive answers: score the answer units of retrieved passages, tighten the best ones, attach a confidence.

Confidence is a logistic model over a few features of (question, unit, passage); its weights live in
``rag/confidence.json`` (fitted by ``scripts/fit_confidence.py``, see docs/benchmarks.md) so that a score means
the same thing for every question. A second set of weights there serves questions asked without latent terms
(``RAG_LATENT_TERMS=false``, or a model without a sparse head), whose units have no term cosine.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from .lexical import terms
from .types import Span

WEIGHTS_FILE = Path(__file__).with_name("confidence.json")

QUESTION_CUES = {
    "when": re.compile(r"\b(wann|seit wann|bis wann|in welchem jahr|an welchem tag|when|what year|which year|what date|"
                       r"quand|cuándo|quando|когда)\b", re.I),
    "count": re.compile(r"\b(wie viele?n?|wieviele?|how many|how much|combien|cuánt[oa]s?|quant[ie]|quantos?|сколько)\b",
                        re.I),
    "who": re.compile(r"\b(wer|wen|wem|wessen|who|whom|whose|qui|quién(es)?|chi|quem|кто)\b", re.I),
    "where": re.compile(r"\b(wo|wohin|woher|where|où|dónde|dove|onde|где|куда)\b", re.I),
    "say": re.compile(r"\b(sag\w*|gesagt|äußer\w*|erklär\w*|betont\w*|meint\w*|say|said|says|state[sd]?|dit|dijo|"
                      r"dice|disse|сказал\w*)\b", re.I),
}
DATE = re.compile(r"\b(\d{1,2}\.\s?(\d{1,2}\.|Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|"
                  r"Dezember)|1[5-9]\d\d|20\d\d|Januar|Februar|März|April|Juni|Juli|August|September|Oktober|"
                  r"November|Dezember|Montag|Dienstag|Mittwoch|Donnerstag|Freitag|Samstag|Sonntag)\b")
NUMBER = re.compile(r"\d|\b(zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|hundert|tausend|Million\w*|"
                    r"Milliard\w*|Dutzend)\b", re.I)
QUOTE = re.compile(r"„([^“”\"]{8,}?)[“”\"]|\"([^\"]{8,}?)\"|«\s?([^»]{8,}?)\s?»|“([^”]{8,}?)”")
FEATURES = ("cosine", "cosine_gap", "passage_score", "overlap", "overlap_lexical", "type_match", "is_sentence",
            "log_length", "lexical_fit", "term_cosine", "bias")
WITHOUT_TERMS = "without_latent_terms"  # the key of the second model in confidence.json
SENTENCE_END = re.compile(r"[.!?…,;:][\"“”»)]*$")  # a sentence or a clause of one; a headline or caption has none


def question_types(question: str) -> set[str]:
    return {name for name, cue in QUESTION_CUES.items() if cue.search(question)}


def type_match(types: set[str], text: str) -> float:
    """1 when the unit holds what the question type asks for (a date for 'when', a number for 'how many')."""
    checks = {"when": DATE, "count": NUMBER, "say": QUOTE}
    relevant = [checks[t] for t in types if t in checks]
    if not relevant:
        return 0.0
    return float(any(pattern.search(text) for pattern in relevant))


def overlap(question_terms: set[str], text: str) -> float:
    """Share of the question's terms found in the text."""
    if not question_terms:
        return 0.0
    return len(question_terms & set(terms(text))) / len(question_terms)


@dataclass(frozen=True)
class ConfidenceModel:
    """A ranker (linear in FEATURES) and a calibration of its logit into P(the answer is right).

    The calibration also sees the question's lexical fit (the share of its words found in the corpus), so that a
    question in another language than the articles, whose logits run lower, is calibrated on its own terms.
    """

    weights: np.ndarray
    scale: float = 1.0
    shift: float = 0.0
    threshold: float = 0.5
    lexical: float = 0.0

    @classmethod
    def load(cls, path: Path = WEIGHTS_FILE, latent_terms: bool = True) -> "ConfidenceModel":
        """The model of ``path``; with ``latent_terms=False`` its second one, for units without a term cosine. Both
        share one threshold: they are calibrated to the same probability."""
        data = json.loads(path.read_text())
        threshold = data.get("threshold", 0.5)
        if not latent_terms:
            data = data.get(WITHOUT_TERMS, data)
        calibration = data.get("calibration", {})
        return cls(np.array([data["weights"].get(name, 0.0) for name in FEATURES], float),
                   calibration.get("scale", 1.0), calibration.get("shift", 0.0), threshold,
                   calibration.get("lexical", 0.0))

    def logits(self, features: np.ndarray) -> np.ndarray:
        return features @ self.weights

    def __call__(self, features: np.ndarray) -> np.ndarray:
        lexical_fit = features[:, FEATURES.index("lexical_fit")]
        return 1.0 / (1.0 + np.exp(-(self.scale * self.logits(features) + self.lexical * lexical_fit + self.shift)))


@lru_cache(maxsize=None)
def default_model(latent_terms: bool = True) -> ConfidenceModel:
    return ConfidenceModel.load(latent_terms=latent_terms)


def confidence(features: np.ndarray, model: ConfidenceModel | None = None) -> np.ndarray:
    """P(answer is right) for each row of features."""
    return (model or default_model())(features)


def cosine_gaps(cosines: np.ndarray, documents: np.ndarray) -> np.ndarray:
    """How far each unit's cosine stands above the best other unit of its own document (of all others when it is
    its document's only candidate).

    Within the document, because news articles retell each other: a sentence that another article paraphrases is no
    less likely to be the answer, but a gap over all candidates would count the paraphrase against it.
    """
    gaps = np.zeros(len(cosines))
    for i, document in enumerate(documents):
        others = np.arange(len(cosines)) != i
        rivals = others & (documents == document)
        rivals = rivals if rivals.any() else others
        gaps[i] = cosines[i] - cosines[rivals].max() if rivals.any() else 0.0
    return gaps


def feature_rows(question: str, unit_texts: list[str], cosines: np.ndarray, passage_scores: np.ndarray,
                 lexical_fit: float, documents: np.ndarray | None = None,
                 term_cosines: np.ndarray | None = None) -> np.ndarray:
    """One row of FEATURES per candidate unit; ``documents`` says which document each unit comes from,
    ``term_cosines`` how alike the latent terms of question and unit are (0 without latent terms).

    Only what describes the unit itself and its passage's fused score: features of passage rank or of neighbouring
    sentences, tried too, fitted Wikipedia paragraphs but transferred worse to news articles (docs/benchmarks.md).
    """
    types = question_types(question)
    question_terms = set(terms(question))
    documents = np.zeros(len(cosines), int) if documents is None else np.asarray(documents)
    term_cosines = np.zeros(len(cosines)) if term_cosines is None else term_cosines
    rows = []
    for text, cosine, gap, passage_score, term_cosine in zip(unit_texts, cosines, cosine_gaps(cosines, documents),
                                                             passage_scores, term_cosines):
        shared = overlap(question_terms, text)
        rows.append([cosine, gap, passage_score, shared, shared * lexical_fit, type_match(types, text),
                     float(bool(SENTENCE_END.search(text))), math.log(max(len(text), 1)), lexical_fit, term_cosine,
                     1.0])
    return np.array(rows, float).reshape(len(rows), len(FEATURES))


def tighten(question: str, text: str, span: Span) -> Span:
    """A tighter part of the unit when the question asks for it: the quote of a 'what did X say' question."""
    if "say" in question_types(question):
        piece = text[span.start:span.end]
        quotes = [m for m in QUOTE.finditer(piece)]
        if quotes:
            quote = max(quotes, key=lambda m: len(m.group(0)))
            group = next(i for i in range(1, 5) if quote.group(i))
            return Span(span.start + quote.start(group), span.start + quote.end(group))
    return span


def context_of(text: str, span: Span, limit: int = 600) -> Span:
    """The paragraph around the span, cut to about ``limit`` characters at word boundaries."""
    start = text.rfind("\n", 0, span.start) + 1
    end = text.find("\n", span.end)
    end = len(text) if end < 0 else end
    room = max(0, limit - (span.end - span.start)) // 2
    if span.start - start > room:
        cut = text.find(" ", span.start - room, span.start)
        start = cut + 1 if cut >= 0 else span.start
    if end - span.end > room:
        cut = text.rfind(" ", span.end, span.end + room)
        end = cut if cut >= 0 else span.end
    return Span(start, end)
