"""The answers' confidence: P(the answer is right) from the evidence for a span, not from its score alone, and the
threshold below which a reply has no answer.

Fitted by scripts/fit_reader_confidence.py (XQuAD calibration articles and the news set's fit half) and saved in
rag/models/reader.json: a logistic model over ``Evidence.features()``, and the threshold below which the reply is
no_answer.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..index.lexical import terms
from .names import asked_names, name_coverage

if TYPE_CHECKING:
    from .read import Found
    from .retrieve import Retrieval

CALIBRATION_PATH = Path(__file__).parent.parent / "models" / "reader.json"
FEATURES = ("span score", "lead", "agreement", "passage rank", "term coverage", "word coverage", "name coverage")
LEAD_LIMIT = 10.0  # a lead over the other candidates' span scores counts up to this (a lone candidate has it)


@dataclass(frozen=True)
class Evidence:
    """What speaks for one span of the passages read for a question."""

    span_score: float  # the reader's margin over "no answer", best over the passages that give this span
    lead: float  # over the best other span's score, within ±LEAD_LIMIT
    agreement: int  # other passages read that give the same span
    rank: int  # 0-based position of the best-ranked passage that gives it
    term_coverage: float  # share of the question's latent-term weight found among its passages' terms (best)
    word_coverage: float  # share of the question's words (stemmed, no stopwords) found in its passages (best)
    name_coverage: float  # share of the question's names found in its passages in any spelling or script (best)

    def features(self) -> list[float]:
        return [self.span_score, self.lead, float(self.agreement), 1 / (1 + self.rank), self.term_coverage,
                self.word_coverage, self.name_coverage]


def evidence(found: list[Found], retrieval: Retrieval) -> list[tuple[Found, Evidence]]:
    """The spans found in ``retrieval``'s passages with the evidence for each; passages that give the same span of a
    document make one (the best-ranked passage's span, with the best score)."""
    given: dict[tuple[str, int, int], list[Found]] = {}
    for f in found:
        given.setdefault((retrieval.passages[f.passage].doc_id, f.start, f.end), []).append(f)
    best = {span: max(f.score for f in by) for span, by in given.items()}
    snapshot, asked, names = retrieval.snapshot, set(terms(retrieval.question)), asked_names(retrieval.question)
    out = []
    for span, by in given.items():
        first = min(by, key=lambda f: f.passage)
        rows = [retrieval.rows[f.passage] for f in by]
        out.append((first, Evidence(
            best[span], lead(best[span], [score for other, score in best.items() if other != span]), len(by) - 1,
            first.passage,
            max(term_coverage(retrieval.query_terms, snapshot.chunk_term_ids[row], snapshot.chunk_term_weights[row])
                for row in rows),
            max(word_coverage(asked, set(terms(retrieval.passages[f.passage].text))) for f in by),
            max(name_coverage(names, retrieval.passages[f.passage].text) for f in by))))
    return out


def lead(score: float, others: list[float]) -> float:
    return float(np.clip(score - max(others), -LEAD_LIMIT, LEAD_LIMIT)) if others else LEAD_LIMIT


def term_coverage(question_terms: np.ndarray | None, ids: np.ndarray, weights: np.ndarray) -> float:
    """Share of the question's latent-term weight (a term_vector) on terms the passage has; 0 without terms."""
    if question_terms is None or not question_terms.sum():
        return 0.0
    return float(question_terms[ids[weights > 0]].sum() / question_terms.sum())


def word_coverage(question_words: set[str], passage_words: set[str]) -> float:
    return len(question_words & passage_words) / len(question_words) if question_words else 0.0


@dataclass(frozen=True)
class Calibration:
    """P(right) = sigmoid(weights · (features, 1))."""

    weights: tuple[float, ...]
    threshold: float

    @classmethod
    def load(cls, path: Path = CALIBRATION_PATH) -> Calibration:
        data = json.loads(path.read_text())
        if tuple(data.get("features", ())) != FEATURES + ("bias",):
            raise ValueError(f"{path} was fitted on other features ({data.get('features')}); "
                             "refit it with scripts/fit_reader_confidence.py --write")
        return cls(tuple(data["weights"]), data["threshold"])

    def __call__(self, evidence: Evidence) -> float:
        return float(1 / (1 + np.exp(-np.dot(self.weights, evidence.features() + [1.0]))))


@cache
def bundled_calibration() -> Calibration:
    """The calibration shipped with the reader."""
    return Calibration.load()
