"""Retrieval over a corpus in Milvus (``RAG_VECTOR_STORE=milvus``): one server-side hybrid search fuses the dense,
BM25 and latent-term scores with the weights of the in-process fusion (each route's scores min-max normalised and
weighted, as ``weighted_fusion`` does); a grouped search over the hits' units gives their best-sentence scores, which
the worker adds with its weight; then the top passages are fetched with their units' spans. The worker holds nothing
per chunk: everything a question needs is fetched for it."""
from __future__ import annotations

import numpy as np

from ..index.lexical import terms
from ..index.milvus import MilvusCorpus
from .fuse import minmax
from .retrieve import CANDIDATE_POOL, TERMS_BELOW_FIT, Retrieval, Retriever, fusion_weights, retrieval

SERVER_ROUTES = ("dense", "lexical", "terms")  # fused by Milvus; "sentence" is added in the worker


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
        sparse = _sparse(query_terms) if "terms" in server else None
        hits = corpus.search(query_vector, stems, sparse, server, max(4 * top_k, CANDIDATE_POOL))
        scores = dict(hits)
        if "sentence" in weights and scores:
            best = corpus.best_units(query_vector, list(scores))
            sentence = minmax({chunk: best.get(chunk, min(best.values(), default=0.0)) for chunk in scores})
            scores = {chunk: (score + weights["sentence"] * sentence[chunk]) / sum(weights.values())
                      for chunk, score in scores.items()}
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:top_k]
        candidates = corpus.candidates([chunk for chunk, _ in ranked])
        rows = [(row, scores[chunk]) for row, chunk in enumerate(candidates.keys)]
        return retrieval(question, candidates, rows, query_vector, query_terms)


def _sparse(term_vector: np.ndarray | None) -> dict[int, float] | None:
    if term_vector is None:
        return None
    ids = np.flatnonzero(term_vector)
    return dict(zip(ids.tolist(), term_vector[ids].tolist())) or None
