"""The vector store of an index version's chunk vectors: FAISS in the process.

A store answers one question: the ``k`` rows of the chunk matrix with the highest inner product with a normalised
query vector. Rows are the chunk rows of :class:`rag.index.versions.Snapshot`, so everything else (spans, documents,
units) stays in the index; a store holds vectors and row numbers only.

- ``faiss`` (``RAG_VECTOR_STORE=faiss``): exact ``IndexFlatIP`` below ``RAG_EXACT_BELOW`` chunks, HNSW above
  (``RAG_HNSW_M``, ``RAG_HNSW_EF_CONSTRUCTION``, ``RAG_HNSW_EF_SEARCH``). The HNSW graph is saved beside the index
  version (``chunks.faiss``), so a reader loads it instead of rebuilding it.
- ``milvus`` (``RAG_VECTOR_STORE=milvus``): no index folder at all; the whole corpus lives in Milvus
  (rag/index/milvus.py), and these settings reach it through ``StoreConfig``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from ..errors import InvalidInput
from ..settings import Settings

log = logging.getLogger(__name__)

STORES = ("faiss", "milvus")


@dataclass(frozen=True)
class StoreConfig:
    """The settings a vector store reads (all of them declared, with their defaults, in ``Settings``)."""

    kind: str
    exact_below: int
    hnsw_m: int
    hnsw_ef_construction: int
    hnsw_ef_search: int
    milvus_uri: str
    milvus_token: str
    milvus_prefix: str

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> StoreConfig:
        """From ``settings``; without them, from the declared defaults (never from the environment)."""
        settings = settings or Settings.defaults()
        kind = settings.vector_store
        if kind not in STORES:
            raise InvalidInput(f"RAG_VECTOR_STORE must be one of {', '.join(STORES)}, not {kind!r}")
        return cls(kind, settings.exact_below, settings.hnsw_m, settings.hnsw_ef_construction,
                   settings.hnsw_ef_search, settings.milvus_uri, settings.milvus_token,
                   settings.milvus_collection_prefix)

    def uses_hnsw(self, rows: int) -> bool:
        return self.kind == "faiss" and rows >= self.exact_below


class VectorStore(Protocol):
    kind: str

    @property
    def ntotal(self) -> int: ...

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]: ...


# --- FAISS ---------------------------------------------------------------------------------------------------
class FaissStore:
    kind = "faiss"

    def __init__(self, index: faiss.Index):
        self.index = index

    @property
    def ntotal(self) -> int:
        return self.index.ntotal

    @property
    def is_hnsw(self) -> bool:
        return isinstance(self.index, faiss.IndexHNSW)

    @classmethod
    def build(cls, vectors: np.ndarray, config: StoreConfig) -> FaissStore:
        """Exact inner product below ``config.exact_below`` vectors, HNSW above it."""
        dim = vectors.shape[1]
        if len(vectors) < config.exact_below:
            index = faiss.IndexFlatIP(dim)
        else:
            index = faiss.IndexHNSWFlat(dim, config.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = config.hnsw_ef_construction
            index.hnsw.efSearch = config.hnsw_ef_search
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, np.float32))
        return cls(index)

    @classmethod
    def load(cls, path: Path, config: StoreConfig) -> FaissStore:
        index = faiss.read_index(str(path))
        if isinstance(index, faiss.IndexHNSW):
            index.hnsw.efSearch = config.hnsw_ef_search
        return cls(index)

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        n = self.index.ntotal
        if n == 0 or k <= 0:
            return []
        query = np.ascontiguousarray(query, np.float32).reshape(1, -1)  # per call: requests run in parallel threads
        scores, rows = self.index.search(query, min(k, n))
        return [(int(r), float(s)) for r, s in zip(rows[0].tolist(), scores[0].tolist()) if r >= 0]


def open_store(vectors: np.ndarray, config: StoreConfig, persisted: Path | None = None) -> VectorStore:
    """The store for a chunk matrix: a saved FAISS graph (``persisted``), or a FAISS index built now."""
    if persisted is not None and config.uses_hnsw(len(vectors)):
        try:
            store = FaissStore.load(persisted, config)
        except RuntimeError as error:  # e.g. the version was pruned meanwhile: build it, as without a saved graph
            log.warning("cannot read the saved FAISS index %s (%s): rebuilding it", persisted, error)
            return FaissStore.build(vectors, config)
        if store.ntotal == len(vectors) and store.index.d == vectors.shape[1] and store.is_hnsw:
            return store
        log.warning("the saved FAISS index %s does not fit the vectors: rebuilding it", persisted)
    return FaissStore.build(vectors, config)
