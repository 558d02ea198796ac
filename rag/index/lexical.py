"""A German-aware BM25 index (bm25s): lower-cased words, German and English stopwords, Snowball German stems."""
from __future__ import annotations

import logging
import re
from functools import cache

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN

WORD = re.compile(r"\w+", re.UNICODE)
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every index build at DEBUG

STOPWORDS = frozenset(STOPWORDS_GERMAN) | frozenset(STOPWORDS_EN)


@cache
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("german")


def terms(text: str) -> list[str]:
    """The index terms of a text: stems of its words, stopwords and single characters left out."""
    words = [w for w in WORD.findall(text.lower()) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]
    return _stemmer().stemWords(words)


class LexicalIndex:
    """fit(texts) once, then search(query, k) → [(row, bm25 score)], best first; [] when nothing matches."""

    def __init__(self):
        self._bm25: bm25s.BM25 | None = None
        self._size = 0

    def fit(self, texts: list[str]) -> LexicalIndex:
        self._size = len(texts)
        self._vocabulary: dict[str, int] = {}
        corpus = [[self._vocabulary.setdefault(t, len(self._vocabulary)) for t in terms(text)] for text in texts]
        if self._size and self._vocabulary:
            self._bm25 = bm25s.BM25()
            self._bm25.index(bm25s.tokenization.Tokenized(ids=corpus, vocab=self._vocabulary), show_progress=False)
        return self

    def known_fraction(self, query: str) -> float:
        """Share of the query's terms that occur in the indexed texts."""
        query_terms = terms(query)
        return sum(t in self._vocabulary for t in query_terms) / len(query_terms) if query_terms else 0.0

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        if self._bm25 is None or k <= 0:
            return []
        ids = [self._vocabulary[t] for t in terms(query) if t in self._vocabulary]
        if not ids:
            return []
        scores = self._bm25.get_scores(ids)
        top = np.argsort(-scores)[:k]
        return [(int(row), float(scores[row])) for row in top if scores[row] > 0]
