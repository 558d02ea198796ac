"""Retrieval over a corpus in Milvus (``RAG_VECTOR_STORE=milvus``): one server-side hybrid search fuses the dense and
BM25 scores with the weights of the in-process fusion (each route's scores min-max normalised and weighted, as
``weighted_fusion`` does); searches restricted to its hits give their best-sentence scores (grouped over their units)
and latent-term scores, which the worker adds with their weights; then the top passages are fetched with their units'
spans. The worker holds nothing per chunk: everything a question needs is fetched for it."""
from __future__ import annotations

import numpy as np

from ..index.lexical import terms
from ..index.milvus import MilvusCorpus
from .fuse import minmax
from .retrieve import CANDIDATE_POOL, TERMS_BELOW_FIT, Retrieval, Retriever, fusion_weights, retrieval

SERVER_ROUTES = ("dense", "lexical")  # fused by Milvus; the best-sentence and latent-term scores of their hits are
# computed by Milvus for those hits only (as in process: a whole-collection route of its own cost English questions
# 0.038 of XQuAD R@1) and added in the worker


class ServerRetriever(Retriever):
    """``Retriever`` for a ``MilvusCorpus``: the same modes, weights and Retrieval."""

    def run(self, question: str, corpus: MilvusCorpus, top_k: int) -> Retrieval:
        query_vector, query_terms = self.embed_question(question, corpus)
        stems = terms(question) if self.mode != "dense" else []
        if self.mode == "dense":
            weights = {"dense": 1.0}
        elif self.mode == "lexical":
            weights = {"lexical": 1.0}
        else:
            lexical_fit = corpus.known_fraction(stems)
            weights = fusion_weights(lexical_fit)
            if not (self.uses_terms(corpus) and lexical_fit < TERMS_BELOW_FIT):
                weights.pop("terms")
        server = {name: weight for name, weight in weights.items() if name in SERVER_ROUTES and weight}
        scores = dict(corpus.search(query_vector, stems, server, max(4 * top_k, CANDIDATE_POOL)))
        if scores and set(weights) - set(SERVER_ROUTES):
            for name, by_chunk in _pool_signals(corpus, weights, list(scores), query_vector, query_terms).items():
                normalised = minmax(by_chunk)
                scores = {chunk: score + weights[name] * normalised[chunk] for chunk, score in scores.items()}
            scores = {chunk: score / sum(weights.values()) for chunk, score in scores.items()}
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:top_k]
        candidates = corpus.candidates([chunk for chunk, _ in ranked])
        rows = [(row, scores[chunk]) for row, chunk in enumerate(candidates.keys)]
        return retrieval(question, candidates, rows, query_vector, query_terms)


def _pool_signals(corpus: MilvusCorpus, weights: dict[str, float], pool: list[int], query_vector: np.ndarray,
                  query_terms: np.ndarray | None) -> dict[str, dict[int, float]]:
    """The best-sentence and latent-term scores (those ``weights`` names) of the chunks of ``pool``."""
    found = {}
    if "sentence" in weights:
        best = corpus.best_units(query_vector, pool)
        lowest = min(best.values(), default=0.0)  # a chunk without units (a caption left out) gets the least
        found["sentence"] = {chunk: best.get(chunk, lowest) for chunk in pool}
    if "terms" in weights:
        shared = corpus.term_scores(_sparse(query_terms), pool)
        found["terms"] = {chunk: shared.get(chunk, 0.0) for chunk in pool}
    return found


def _sparse(term_vector: np.ndarray | None) -> dict[int, float] | None:
    if term_vector is None:
        return None
    ids = np.flatnonzero(term_vector)
    return dict(zip(ids.tolist(), term_vector[ids].tolist())) or None
