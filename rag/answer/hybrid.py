"""Retrieval over a corpus in Milvus (``RAG_VECTOR_STORE=milvus``): one server-side hybrid search fuses the dense and
BM25 scores with the weights of the in-process fusion (each route's scores min-max normalised and weighted, as
``weighted_fusion`` does); its hits come with their vectors (and latent terms where they score), their units are
fetched by key, and the worker adds their best-sentence and latent-term scores as the in-process fusion does. The
worker holds nothing per chunk: everything a question needs is fetched for it."""
from __future__ import annotations

from ..encoder.embed import term_similarity
from ..index.lexical import terms
from ..index.milvus import MilvusCorpus
from .fuse import minmax
from .retrieve import (
    CANDIDATE_POOL,
    TERMS_BELOW_FIT,
    Retrieval,
    Retriever,
    best_unit,
    fusion_weights,
    retrieval,
)

SERVER_ROUTES = ("dense", "lexical")  # fused by Milvus; the best-sentence and latent-term scores are the hits' only,
# as in process (latent terms as a route of their own, over the whole collection, cost English questions 0.038 of
# XQuAD R@1; searches restricted to the hits scanned every row in milvus-lite: 1-3 s at 5,000 chunks)


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
        hits = corpus.search(query_vector, stems, server, max(4 * top_k, CANDIDATE_POOL), "terms" in weights)
        candidates = corpus.candidates([chunk for chunk, _ in hits])
        scores = {row: score for row, (_, score) in enumerate(hits)}
        if scores and set(weights) - set(SERVER_ROUTES):
            rows = list(scores)
            found = {}
            if "sentence" in weights:
                found["sentence"] = {row: best_unit(candidates, row, query_vector) for row in rows}
            if "terms" in weights:
                similarity = term_similarity(query_terms, candidates.chunk_term_ids, candidates.chunk_term_weights)
                found["terms"] = dict(zip(rows, similarity.tolist()))
            for name, by_row in found.items():
                normalised = minmax(by_row)
                scores = {row: score + weights[name] * normalised[row] for row, score in scores.items()}
            scores = {row: score / sum(weights.values()) for row, score in scores.items()}
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:top_k]
        if "terms" not in weights and query_terms is not None:  # the answers' evidence reads their passages' terms
            candidates = corpus.with_terms(candidates, [row for row, _ in ranked])
        return retrieval(question, candidates, ranked, query_vector, query_terms)
