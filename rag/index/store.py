"""Vector stores for the chunk vectors: FAISS in the process (default) or Milvus (milvus-lite file or a cluster).

A store answers one question: the ``k`` rows of the chunk matrix with the highest inner product with a normalised
query vector. Rows are the chunk rows of :class:`rag.index.versions.Snapshot`, so everything else (spans, documents, units)
stays in the index; a store holds vectors and row numbers only.

- ``faiss`` (``RAG_VECTOR_STORE=faiss``): exact ``IndexFlatIP`` below ``RAG_EXACT_BELOW`` chunks, HNSW above
  (``RAG_HNSW_M``, ``RAG_HNSW_EF_CONSTRUCTION``, ``RAG_HNSW_EF_SEARCH``). The HNSW graph is saved beside the index
  version (``chunks.faiss``), so a reader loads it instead of rebuilding it.
- ``milvus`` (``RAG_VECTOR_STORE=milvus``): one collection per index content in the Milvus at ``RAG_MILVUS_URI``
  (a ``*.db`` path: embedded milvus-lite; ``http://host:19530``: a server or cluster, ``RAG_MILVUS_TOKEN`` to log
  in). The collection is named after a digest of the vectors, so readers of the same index version share it and a
  new version never changes what a reader of the old one sees.
"""
from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from ..errors import IndexUnavailable, InvalidInput, RagError
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
    def from_settings(cls, settings: Settings | None = None) -> "StoreConfig":
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
    def build(cls, vectors: np.ndarray, config: StoreConfig) -> "FaissStore":
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
    def load(cls, path: Path, config: StoreConfig) -> "FaissStore":
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


# --- Milvus --------------------------------------------------------------------------------------------------
_CLIENTS: dict[tuple[str, str], object] = {}


def _client(uri: str, token: str):
    key = (uri, token)
    if key not in _CLIENTS:
        try:
            from pymilvus import MilvusClient
        except ImportError:  # pragma: no cover - depends on the extra
            raise RuntimeError("RAG_VECTOR_STORE=milvus needs pymilvus: pip install 'rag-news[milvus]'") from None
        if "://" not in uri:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        _CLIENTS[key] = MilvusClient(uri=uri, token=token) if token else MilvusClient(uri=uri)
    return _CLIENTS[key]


def vectors_digest(vectors: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(vectors, np.float32).tobytes(), digest_size=10).hexdigest()


class MilvusStore:
    """Chunk vectors in a Milvus collection (id = chunk row), searched by inner product.

    With milvus-lite (a local file) the index type is FLAT (exact); on a server or cluster it is HNSW with the
    configured parameters. The collection is filled once and then only read; the writer (or the first reader)
    creates it.
    """

    kind = "milvus"
    BATCH = 10_000

    def __init__(self, vectors: np.ndarray, config: StoreConfig, digest: str | None = None):
        with _milvus_errors(config.milvus_uri):
            self.client = _client(config.milvus_uri, config.milvus_token)
        self.dim = vectors.shape[1]
        self._ntotal = len(vectors)
        self.ef_search = config.hnsw_ef_search
        self.name = f"{config.milvus_prefix}_{self.dim}_{self._ntotal}_{digest or vectors_digest(vectors)}"
        self.lite = "://" not in config.milvus_uri
        if not self._ntotal:
            return
        with _milvus_errors(config.milvus_uri):
            if not self.client.has_collection(self.name):
                self._create(vectors, config)
            # a collection another process created, or one milvus-lite released when that process ended, is not
            # searchable until loaded (loading a loaded collection is a no-op)
            self.client.load_collection(self.name)

    def _create(self, vectors: np.ndarray, config: StoreConfig) -> None:
        from pymilvus import DataType, MilvusClient

        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        params = self.client.prepare_index_params()
        if self.lite:
            params.add_index("vector", index_type="FLAT", metric_type="IP")
        else:
            params.add_index("vector", index_type="HNSW", metric_type="IP",
                             params={"M": config.hnsw_m, "efConstruction": config.hnsw_ef_construction})
        staging = f"{self.name}_tmp"
        if self.client.has_collection(staging):
            self.client.drop_collection(staging)
        self.client.create_collection(staging, schema=schema, index_params=params)
        vectors = np.asarray(vectors, np.float32)
        for lo in range(0, len(vectors), self.BATCH):
            block = vectors[lo:lo + self.BATCH]
            self.client.insert(staging, [{"row": lo + i, "vector": v} for i, v in enumerate(block.tolist())])
        self.client.flush(staging)
        try:
            self.client.rename_collection(staging, self.name)  # readers never see a half-filled collection
        except Exception:  # a concurrent creator won the race: theirs is as good as ours
            if not self.client.has_collection(self.name):
                raise
            self.client.drop_collection(staging)

    @property
    def ntotal(self) -> int:
        return self._ntotal

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        if self._ntotal == 0 or k <= 0:
            return []
        params = {"metric_type": "IP"} if self.lite else {"metric_type": "IP", "params": {"ef": max(self.ef_search, k)}}
        with _milvus_errors(self.name):
            hits = self.client.search(self.name, data=[np.asarray(query, np.float32).tolist()],
                                      limit=min(k, self._ntotal), search_params=params, output_fields=["row"])
        return [(int(hit["row"] if "row" in hit else hit["id"]), float(hit["distance"])) for hit in hits[0]]


@contextmanager
def _milvus_errors(where: str):
    """Milvus failures as one-line IndexUnavailable errors (CLI message, HTTP 503) instead of tracebacks."""
    try:
        yield
    except RagError:
        raise
    except Exception as error:  # pymilvus raises MilvusException, gRPC and OS errors alike
        message = getattr(error, "message", None) or str(error)
        raise IndexUnavailable(f"the Milvus store ({where}) failed: {' '.join(message.split())}") from None


def open_store(vectors: np.ndarray, config: StoreConfig, persisted: Path | None = None,
               digest: str | None = None) -> VectorStore:
    """The store for a chunk matrix: Milvus, a saved FAISS graph (``persisted``), or a FAISS index built now."""
    if config.kind == "milvus":
        return MilvusStore(vectors, config, digest)
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
