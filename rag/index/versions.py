"""The stored index: documents, chunk vectors in FAISS, answer-unit vectors, and a manifest.

On disk an index is a folder of immutable versions, ``v000001/`` …, and a ``CURRENT`` file naming the live one.
A save writes a new version completely (with a checksum per file in its manifest), then replaces ``CURRENT``
atomically: a crash mid-write leaves the previous version live. Readers can compare ``CURRENT`` to the version
they hold to see another process's writes. When the live version is damaged, opening falls back to the newest intact
older one; the next save makes that content live and renames the damaged version ``damaged-vNNNNNN`` (kept, never
pruned), which is what ``rag index repair`` does.

``documents.jsonl`` holds one JSON object per line, ASCII only (every other character escaped), and is split at
``\n`` alone: U+2028, U+2029, U+0085 and the other characters ``str.splitlines`` breaks at stay inside their string.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import IndexUnavailable
from ..types import Chunk, Document
from .store import FaissStore, StoreConfig, VectorStore, open_store

log = logging.getLogger(__name__)

FORMAT = 1
CURRENT = "CURRENT"
KEEP_VERSIONS = 2
REBUILD_HINT = "rebuild it: delete the index folder, then run: rag ingest seeds/"
DAMAGED_PREFIX = "damaged-"  # a damaged version set aside by a save: kept for inspection, never pruned
FAISS_FILE = "chunks.faiss"  # the saved HNSW graph of a version, when it has one (exact search needs none)
ARRAYS = ("chunk_spans", "chunk_counts", "chunk_vectors", "unit_spans", "unit_counts", "unit_vectors")
TERM_ARRAYS = ("chunk_term_ids", "chunk_term_weights")  # optional: an index saved before them, or by a model without
# latent terms, opens with rows of width 0


class DamagedVersion(IndexUnavailable):
    """A version whose files are missing, unreadable or not those of its manifest (an older one may still be intact)."""


@dataclass
class Entry:
    """One document with its chunk and unit spans (rows of [start, end)), their vectors, and the latent terms of its
    chunks (ids and weights; rows of width 0 when the model has none)."""

    document: Document
    chunk_spans: np.ndarray
    chunk_vectors: np.ndarray
    unit_spans: np.ndarray
    unit_vectors: np.ndarray
    chunk_term_ids: np.ndarray | None = None
    chunk_term_weights: np.ndarray | None = None

    def __post_init__(self):
        if self.chunk_term_ids is None or self.chunk_term_weights is None:
            self.chunk_term_ids = np.zeros((len(self.chunk_spans), 0), np.int32)
            self.chunk_term_weights = np.zeros((len(self.chunk_spans), 0), np.float32)

    @cached_property
    def stored(self) -> StoredDocument:
        document = self.document
        return StoredDocument(document.id, document.title, document.meta, len(document.text), len(self.chunk_spans),
                              revision(document))


def revision(document: Document) -> str:
    """A digest of everything an entry is made from: whether a document given again is unchanged."""
    content = json.dumps([document.id, document.text, document.title, document.meta], sort_keys=True, default=str)
    return hashlib.blake2b(content.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


@dataclass(frozen=True)
class StoredDocument:
    """A document as the index lists it: what it is, how long, in how many chunks, at which revision."""

    id: str
    title: str
    meta: dict
    chars: int
    chunk_count: int
    revision: str


class Index:
    """Documents, their chunks and answer units, searchable by inner product on normalised vectors."""

    def __init__(self, model: str, dim: int, store: StoreConfig | None = None, encoding: str = ""):
        """``store``: the vector store and its parameters (default: the declared defaults of ``Settings``).
        ``encoding``: how the embedder made the vectors and latent terms (an embedder's ``encoding``; "" before
        there were several)."""
        self.model = model
        self.encoding = encoding
        self.dim = dim
        self.store = store or StoreConfig.from_settings()
        self.entries: dict[str, Entry] = {}
        self.version = 0
        self.opened_as: str | None = None  # the version CURRENT named when this was opened or saved
        self.damaged: list[Path] = []  # newer versions skipped as damaged when opening: the next save sets them aside
        self._snapshot = None
        self._loaded: dict | None = None  # the arrays of the opened version, while the entries are exactly those

    # --- writing -------------------------------------------------------------------------------------------
    def copy(self) -> Index:
        """A shallow copy whose document set can change without touching this one (entries are never mutated)."""
        twin = Index(self.model, self.dim, self.store, self.encoding)
        twin.entries = dict(self.entries)
        twin.version, twin.opened_as, twin.damaged = self.version, self.opened_as, list(self.damaged)
        twin._snapshot, twin._loaded = self._snapshot, self._loaded  # same entries: same snapshot
        return twin

    def put(self, entry: Entry) -> None:
        for vectors in (entry.chunk_vectors, entry.unit_vectors):
            if vectors.ndim != 2 or vectors.shape[1] != self.dim:
                raise ValueError(f"vectors of shape {vectors.shape} for an index of dimension {self.dim}")
        self.entries[entry.document.id] = entry
        self._snapshot = self._loaded = None

    def remove(self, doc_id: str) -> bool:
        found = self.entries.pop(doc_id, None) is not None
        if found:
            self._snapshot = self._loaded = None
        return found

    # --- reading -------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.entries)

    @property
    def chunk_count(self) -> int:
        return sum(len(e.chunk_spans) for e in self.entries.values())

    def document(self, doc_id: str) -> Document | None:
        entry = self.entries.get(doc_id)
        return entry.document if entry else None

    def catalogue(self, ids: list[str] | None = None) -> dict[str, StoredDocument]:
        """The documents (all, or those of ``ids`` that exist) as the index lists them."""
        chosen = self.entries if ids is None else {i: self.entries[i] for i in ids if i in self.entries}
        return {doc_id: entry.stored for doc_id, entry in chosen.items()}

    @property
    def snapshot(self) -> Snapshot:
        if self._snapshot is None:
            self._snapshot = Snapshot(list(self.entries.values()), self.dim, self.store, self._loaded)
        return self._snapshot

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk row, cosine) of the ``k`` nearest chunks; [] for an empty index."""
        return self.snapshot.search(query_vector, k)

    # --- disk ----------------------------------------------------------------------------------------------
    def save(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        version = max(self.version, latest_version(folder)) + 1
        final = folder / f"v{version:06d}"
        staging = folder / f".{final.name}.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        entries = list(self.entries.values())
        _write(staging / "documents.jsonl", "".join(
            json.dumps({"id": e.document.id, "title": e.document.title, "text": e.document.text,
                        "meta": e.document.meta}, ensure_ascii=True) + "\n" for e in entries).encode("ascii"))
        arrays = {
            "chunk_spans": _stack([e.chunk_spans for e in entries], (0, 2), np.int64),
            "chunk_counts": np.array([len(e.chunk_spans) for e in entries], np.int64),
            "chunk_vectors": _stack([e.chunk_vectors for e in entries], (0, self.dim), np.float32),
            "unit_spans": _stack([e.unit_spans for e in entries], (0, 2), np.int64),
            "unit_counts": np.array([len(e.unit_spans) for e in entries], np.int64),
            "unit_vectors": _stack([e.unit_vectors for e in entries], (0, self.dim), np.float32),
            **{name: _stack_terms([getattr(e, name) for e in entries], _term_dtype(name)) for name in TERM_ARRAYS},
        }
        for name, array in arrays.items():
            with open(staging / f"{name}.npy", "wb") as handle:
                np.save(handle, array)
                handle.flush()
                os.fsync(handle.fileno())
        store = self.snapshot.store if self.store.uses_hnsw(len(arrays["chunk_vectors"])) else None
        if isinstance(store, FaissStore) and store.is_hnsw:  # readers load the graph instead of rebuilding it
            store.save(staging / FAISS_FILE)
            fd = os.open(staging / FAISS_FILE, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        files = {p.name: _sha256(p) for p in sorted(staging.iterdir())}
        manifest = {"format": FORMAT, "model": self.model, "encoding": self.encoding, "dim": self.dim,
                    "version": version, "documents": len(entries), "chunks": int(arrays["chunk_counts"].sum()),
                    "units": int(arrays["unit_counts"].sum()), "created": time.time(), "files": files}
        _write(staging / "manifest.json", json.dumps(manifest, indent=1).encode())
        _fsync_dir(staging)
        os.replace(staging, final)
        _write_atomic(folder / CURRENT, final.name.encode())
        self.version, self.opened_as = version, final.name
        for damaged in self.damaged:
            if damaged.is_dir():
                os.replace(damaged, damaged.with_name(DAMAGED_PREFIX + damaged.name))
                log.warning("set the damaged index version %s aside as %s%s", damaged, DAMAGED_PREFIX, damaged.name)
        self.damaged = []
        if self._snapshot is None:  # what a reader of this version gets: the same arrays
            self._loaded = dict(arrays, faiss=final / FAISS_FILE if FAISS_FILE in files else None)
        _prune(folder, keep=KEEP_VERSIONS)
        return final

    @classmethod
    def open(cls, folder: Path, model: str, store: StoreConfig | None = None) -> Index:
        """The live version of the index in ``folder``, checked against its manifest and the expected model; when it is
        damaged, the newest intact older version, with a warning."""
        live = live_version(folder)
        if live is None:
            raise IndexUnavailable(f"no index in {Path(folder).resolve()}: build one with `rag ingest seeds/`, or set "
                                   "RAG_INDEX_DIR to the folder of one")
        older = sorted((p.name for p in folder.glob("v[0-9]*") if p.is_dir() and p.name < live), reverse=True)
        damage = None
        for name in [live, *older]:
            try:
                index = cls._open_version(folder, folder / name, model, store)
            except DamagedVersion as error:
                damage = damage or error
                continue
            if name != live:
                log.warning("%s; answering from the previous version %s instead (a write or `rag index repair` "
                            "makes it live)", damage, name)
                index.damaged = [folder / live]
            index.opened_as = live
            return index
        raise damage

    @classmethod
    def _open_version(cls, folder: Path, version: Path, model: str, store: StoreConfig | None) -> Index:
        try:
            manifest = json.loads((version / "manifest.json").read_text())
            for name, digest in manifest["files"].items():
                if _sha256(version / name) != digest:
                    raise DamagedVersion(f"index file {version / name} does not match its checksum: {REBUILD_HINT}")
            if manifest["format"] != FORMAT:
                raise IndexUnavailable(f"index format {manifest['format']} is not {FORMAT}: {REBUILD_HINT}")
            if manifest["model"] != model:
                raise IndexUnavailable(
                    f"the index in {folder} was built with model {manifest['model']!r}, not {model!r}: set "
                    f"RAG_MODEL={manifest['model']} or rebuild it with that model (rag ingest, in a new RAG_INDEX_DIR)")
            arrays = {name: np.load(version / f"{name}.npy") for name in ARRAYS}
            for name in TERM_ARRAYS:
                present = f"{name}.npy" in manifest["files"]
                rows = len(arrays["chunk_spans"])
                arrays[name] = np.load(version / f"{name}.npy") if present else np.zeros((rows, 0), _term_dtype(name))
            # split at "\n" only: an index written before documents.jsonl was ASCII holds raw U+2028 … in its strings
            lines = (version / "documents.jsonl").read_text("utf-8", "surrogatepass").split("\n")
            rows = [json.loads(line) for line in lines if line]
        except IndexUnavailable:
            raise
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DamagedVersion(f"the index in {folder} is unreadable ({error}): {REBUILD_HINT}") from None
        index = cls(model, int(manifest["dim"]), store, manifest.get("encoding", ""))
        index.version = int(manifest["version"])
        index._loaded = dict(arrays, faiss=version / FAISS_FILE if FAISS_FILE in manifest["files"] else None)
        chunk_ends = np.cumsum(arrays["chunk_counts"])
        unit_ends = np.cumsum(arrays["unit_counts"])
        for i, row in enumerate(rows):
            c0, c1 = (chunk_ends[i - 1] if i else 0), chunk_ends[i]
            u0, u1 = (unit_ends[i - 1] if i else 0), unit_ends[i]
            document = Document(row["id"], row["text"], row["title"], row["meta"])
            index.entries[document.id] = Entry(document, arrays["chunk_spans"][c0:c1], arrays["chunk_vectors"][c0:c1],
                                               arrays["unit_spans"][u0:u1], arrays["unit_vectors"][u0:u1],
                                               arrays["chunk_term_ids"][c0:c1], arrays["chunk_term_weights"][c0:c1])
        return index


class Snapshot:
    """One index version laid out for search: the entries end to end as rows (chunk row ``r`` is the ``r``-th chunk
    of all documents, in entry order; likewise units), and the vector store over the chunk vectors. Never changed:
    a write makes a new one, so a question keeps the snapshot it started with."""

    def __init__(self, entries: list[Entry], dim: int, config: StoreConfig, loaded: dict | None = None):
        """``loaded``: the arrays of the version the entries were opened from (used as they are, not concatenated
        again) with its saved FAISS graph, if any."""
        self.documents = [e.document for e in entries]
        chunk_counts = np.array([len(e.chunk_spans) for e in entries], np.int64)
        unit_counts = np.array([len(e.unit_spans) for e in entries], np.int64)
        self.chunk_doc = np.repeat(np.arange(len(entries), dtype=np.int64), chunk_counts)
        self.unit_doc = np.repeat(np.arange(len(entries), dtype=np.int64), unit_counts)
        if loaded is not None and len(loaded["chunk_counts"]) == len(entries):
            self.chunk_spans, self.unit_spans = loaded["chunk_spans"], loaded["unit_spans"]
            self.chunk_vectors, self.unit_vectors = loaded["chunk_vectors"], loaded["unit_vectors"]
            for name in TERM_ARRAYS:
                setattr(self, name, loaded[name])
            persisted = loaded["faiss"]
        else:
            self.chunk_spans = _stack([e.chunk_spans for e in entries], (0, 2), np.int64)
            self.unit_spans = _stack([e.unit_spans for e in entries], (0, 2), np.int64)
            self.unit_vectors = _stack([e.unit_vectors for e in entries], (0, dim), np.float32)
            self.chunk_vectors = _stack([e.chunk_vectors for e in entries], (0, dim), np.float32)
            for name in TERM_ARRAYS:
                setattr(self, name, _stack_terms([getattr(e, name) for e in entries], _term_dtype(name)))
            persisted = None
        self.store: VectorStore = open_store(self.chunk_vectors, config, persisted)
        # units of each chunk: rows [lo, hi) of units of the same document inside the chunk's span
        unit_keys = self.unit_doc * (1 << 40) + self.unit_spans[:, 0] if len(self.unit_spans) else np.zeros(0, np.int64)
        self.chunk_unit_lo = np.searchsorted(unit_keys, self.chunk_doc * (1 << 40) + self.chunk_spans[:, 0], "left")
        self.chunk_unit_hi = np.searchsorted(unit_keys, self.chunk_doc * (1 << 40) + self.chunk_spans[:, 1], "left")

    def search(self, query_vector: np.ndarray, k: int) -> list[tuple[int, float]]:
        """(chunk row, inner product) of the ``k`` best chunks, best first, through the vector store."""
        return self.store.search(query_vector, k)

    def document_of(self, row: int) -> Document:
        """The document of chunk row ``row``."""
        return self.documents[self.chunk_doc[row]]

    def title_of(self, row: int) -> str:
        return self.document_of(row).title

    @property
    def has_terms(self) -> bool:
        """Whether the chunks have latent terms (the bundled model's; rows of width 0 otherwise)."""
        return bool(self.chunk_term_ids.shape[1])

    def chunk(self, row: int) -> Chunk:
        document = self.document_of(row)
        start, end = (int(x) for x in self.chunk_spans[row])
        ordinal = row - int(np.searchsorted(self.chunk_doc, self.chunk_doc[row], "left"))
        return Chunk(f"{document.id}#{ordinal}", document.id, start, end, document.text[start:end])

    def units_of(self, row: int) -> range:
        return range(int(self.chunk_unit_lo[row]), int(self.chunk_unit_hi[row]))


def latest_version(folder: Path) -> int:
    versions = [int(p.name[1:]) for p in folder.glob("v[0-9]*") if p.name[1:].isdigit()]
    return max(versions, default=0)


def live_version(folder: Path) -> str | None:
    try:
        return (folder / CURRENT).read_text().strip()
    except OSError:
        return None


def _stack(parts: list[np.ndarray], empty_shape: tuple, dtype) -> np.ndarray:
    parts = [p for p in parts if len(p)]
    return np.concatenate(parts).astype(dtype, copy=False) if parts else np.zeros(empty_shape, dtype)


def _term_dtype(name: str):
    return np.int32 if name.endswith("_ids") else np.float32


def _stack_terms(parts: list[np.ndarray], dtype) -> np.ndarray:
    """Latent-term rows laid end to end; a document saved without terms (width 0) gets zero rows: no terms."""
    width = max((p.shape[1] for p in parts), default=0)
    return _stack([np.pad(p, ((0, 0), (0, width - p.shape[1]))) for p in parts], (0, width), dtype)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    _write(tmp, data)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(folder: Path, keep: int) -> None:
    live = live_version(folder)
    versions = sorted(p for p in folder.glob("v[0-9]*") if p.is_dir())
    for old in versions[:-keep]:
        if old.name != live:
            shutil.rmtree(old, ignore_errors=True)
    for stale in folder.glob(".v*.tmp-*"):
        pid = stale.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
