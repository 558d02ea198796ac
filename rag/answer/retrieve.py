"""Retrieval: a question's passages, best first, by weighted fusion of dense, best-sentence, latent-term and BM25
scores over one index version."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from ..encoder.embed import Embedder, term_similarity, term_vector
from ..index.lexical import LexicalIndex
from ..index.versions import Snapshot
from ..settings import Settings
from ..text import chunk_view
from ..types import Passage
from .fuse import weighted_fusion

TERMS_WEIGHT = 0.75  # of latent-term overlap in the fusion, beside dense 1, best sentence 1 and BM25 0.6 × lexical fit;
# chosen on XQuAD's fit half (articles 0-23), docs/benchmarks.md
CANDIDATE_POOL = 40  # chunks taken from each of dense and BM25 search before fusion, whatever top_k up to 10: the
# fused scores are normalised over the pool, so a passage's score does not depend on top_k
TERMS_BELOW_FIT = 0.75  # latent terms score passages only for questions with less of their words in the corpus:
# above, BM25 carries the lexical signal and the passages' terms gained nothing on XQuAD


@dataclass
class Retrieval:
    """A question's passages best first, with the chunk rows they come from; what reading starts from."""

    question: str
    passages: list[Passage]
    rows: list[int]
    snapshot: Snapshot  # the index version the rows refer to, kept even if a write replaces it meanwhile (in Milvus
    # mode: the Candidates the search returned, laid out alike)
    query_vector: np.ndarray | None = None  # the question's vector, and its latent terms (a term_vector) when used:
    query_terms: np.ndarray | None = None  # evidence for the answers' confidence


class Retriever:
    """Safe to share between threads; keeps the BM25 twin of the last index version it searched."""

    def __init__(self, embedder: Embedder, settings: Settings, mode: str = "full"):
        self.embedder = embedder
        self.settings = settings  # read at each question: RAG_LATENT_TERMS may change
        self.mode = mode
        self._lexical: tuple[Snapshot, LexicalIndex] | None = None
        self._lock = threading.Lock()

    def _lexical_index(self, snapshot: Snapshot) -> LexicalIndex:
        with self._lock:
            if self._lexical is None or self._lexical[0] is not snapshot:  # held, so never confused with a new one
                texts = [chunk_view(snapshot.document_of(row), *snapshot.chunk_spans[row])
                         for row in range(len(snapshot.chunk_spans))]
                self._lexical = (snapshot, LexicalIndex().fit(texts))
            return self._lexical[1]

    def has_terms(self, snapshot: Snapshot) -> bool:
        """Whether questions get latent terms: both the embedder and the index have them (the answers' confidence
        reads them as evidence, whatever RAG_LATENT_TERMS says)."""
        return hasattr(self.embedder, "read") and snapshot.has_terms

    def uses_terms(self, snapshot: Snapshot) -> bool:
        """Whether the question's latent terms score passages: the full mode, switched on, and terms at hand."""
        return self.mode == "full" and self.settings.latent_terms and self.has_terms(snapshot)

    def embed_question(self, question: str, snapshot: Snapshot) -> tuple[np.ndarray, np.ndarray | None]:
        """The question's vector, and its latent terms (a term_vector) where there are any: one encoder pass gives
        both."""
        if not self.has_terms(snapshot):
            return self.embedder.embed_queries([question])[0], None
        reading, = self.embedder.read([question], is_query=True)
        return reading.vector, term_vector(reading.term_ids, reading.term_weights, self.embedder.term_space)

    def run(self, question: str, snapshot: Snapshot, top_k: int) -> Retrieval:
        lexical = self._lexical_index(snapshot) if self.mode != "dense" else None
        query_vector, query_terms = self.embed_question(question, snapshot)
        pool = max(4 * top_k, CANDIDATE_POOL)
        runs: dict[str, dict[int, float]] = {}
        if self.mode != "lexical":
            runs["dense"] = dict(snapshot.search(query_vector, pool))
        if lexical is not None:
            runs["lexical"] = dict(lexical.search(question, pool))
        lexical_fit = lexical.known_fraction(question) if lexical is not None else 0.0
        if self.mode == "full":
            rows = sorted(set(runs["dense"]) | set(runs["lexical"]))
            runs["dense"] = {r: float(snapshot.chunk_vectors[r] @ query_vector) for r in rows}
            runs["sentence"] = {r: best_unit(snapshot, r, query_vector) for r in rows}
            if self.uses_terms(snapshot) and lexical_fit < TERMS_BELOW_FIT and rows:
                scores = term_similarity(query_terms, snapshot.chunk_term_ids[rows], snapshot.chunk_term_weights[rows])
                runs["terms"] = dict(zip(rows, scores.tolist()))
            ranked = weighted_fusion(runs, fusion_weights(lexical_fit))
        else:
            (scores,) = runs.values()
            ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        return retrieval(question, snapshot, ranked[:top_k], query_vector, query_terms)


def fusion_weights(lexical_fit: float) -> dict[str, float]:
    """Each signal's weight in the fusion; BM25's grows with the share of the question's words the corpus knows."""
    return {"dense": 1.0, "sentence": 1.0, "lexical": 0.6 * lexical_fit, "terms": TERMS_WEIGHT}


def retrieval(question: str, rows, ranked: list[tuple[int, float]], query_vector: np.ndarray,
              query_terms: np.ndarray | None) -> Retrieval:
    """The Retrieval of the ``ranked`` (row, score) pairs of ``rows`` (a Snapshot, or the Candidates of a search in
    Milvus)."""
    passages = []
    for rank, (row, score) in enumerate(ranked, start=1):
        chunk = rows.chunk(row)
        passages.append(Passage(chunk.id, chunk.doc_id, rows.title_of(row), chunk.text, chunk.start, chunk.end,
                                round(float(score), 4), rank))
    return Retrieval(question, passages, [row for row, _ in ranked], rows, query_vector, query_terms)


def best_unit(snapshot: Snapshot, row: int, query_vector: np.ndarray) -> float:
    """The best-sentence score of chunk row ``row``: its best unit's inner product with the question (the chunk's own
    where it has no units)."""
    units = snapshot.units_of(row)
    if not len(units):
        return float(snapshot.chunk_vectors[row] @ query_vector)
    return float((snapshot.unit_vectors[units.start:units.stop] @ query_vector).max())
