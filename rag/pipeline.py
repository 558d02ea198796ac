"""The question-answering pipeline: ingest → chunk → embed → index, and question → retrieve (rag/answer/retrieve.py) → read
(rag/answer/read.py)."""
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

from .answer.read import Reader
from .answer.retrieve import MODES, Retrieval, Retriever
from .corpus.files import read_folder
from .encoder.embed import Embedder, load_embedder
from .errors import IndexUnavailable, InvalidInput, NotFound, shown
from .index.encode import Plan, encode
from .index.store import StoreConfig
from .index.versions import Index, live_version
from .settings import Settings
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
    def _encoding(self) -> str:
        """How the embedder makes vectors and latent terms; an index made another way is encoded again."""
        return getattr(self.embedder, "encoding", "")

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
        return Index(self.embedder.name, self.embedder.dim, self.settings.exact_below, self._store, self._encoding)

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
        # encoded another way (an index saved by earlier code): every ingest encodes it all again, so that no
        # question compares vectors or latent terms made in two ways
        stale = set(snapshot.entries) if snapshot.encoding != self._encoding else set()
        outdated = {doc_id: snapshot.entries[doc_id].document for doc_id in stale if doc_id not in fresh}
        todo = []
        for document in fresh.values():
            old = snapshot.entries.get(document.id)
            if old and document.id not in stale and (old.document.text, old.document.title, old.document.meta) == \
                    (document.text, document.title, document.meta):
                report.unchanged.append(document.id)
                continue
            (report.updated if old else report.added).append(document.id)
            todo.append(document)
        report.updated.extend(outdated)
        entries = encode(self._plans(todo + list(outdated.values())), self.embedder, self.settings.batch_size, progress)
        with self._writing() as index:
            for doc_id, entry in list(index.entries.items()):
                path = entry.document.meta.get("path")
                if gone_under and doc_id not in fresh and path and Path(path).resolve().is_relative_to(gone_under):
                    index.remove(doc_id)
                    report.removed.append(doc_id)
            for entry in entries:
                doc_id = entry.document.id
                if doc_id in outdated and index.document(doc_id) != outdated[doc_id]:
                    continue  # another writer replaced or removed it meanwhile: theirs stands
                index.put(entry)
            index.encoding = self._encoding
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

    def _plans(self, documents: list[Document]) -> list[Plan]:
        from .index.chunk import chunk_document, document_units  # langchain and pysbd: for ingest only

        language = "de"
        plans = []
        for document in documents:
            chunks = chunk_document(document, self.settings.chunk_chars, self.settings.chunk_overlap_chars, language)
            if not chunks:
                raise InvalidInput(f"document {document.id!r} has no text outside its boilerplate")
            plans.append(Plan(document, _span_array([Span(c.start, c.end) for c in chunks]),
                              _span_array(document_units(document, language))))
        return plans

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
        return self._retrieve(check_question(question, self._token_count), top_k)

    def _retrieve(self, question: str, top_k: int | None) -> Retrieval:
        with self._lock:
            compiled = self.index.compiled
        return self.retriever.run(question, compiled, top_k or self.settings.top_k)

    def search(self, question: str, top_k: int | None = None) -> list[Passage]:
        return self.retrieve(question, top_k).passages

    def ask(self, question: str, top_k: int | None = None, max_answers: int | None = None) -> Reply:
        started = time.perf_counter()
        question = check_question(question, self._token_count)
        retrieval = self._retrieve(question, top_k)
        retrieved = time.perf_counter()
        answers = self.reader.run(question, retrieval, max_answers or self.settings.max_answers,
                                  self.settings.min_confidence, self.settings.answer_passages)
        done = time.perf_counter()
        return Reply(question, answers, retrieval.passages,
                     {"retrieve": round((retrieved - started) * 1000, 2), "read": round((done - retrieved) * 1000, 2),
                      "total": round((done - started) * 1000, 2)})


def _span_array(spans: list[Span]) -> np.ndarray:
    return np.array([[s.start, s.end] for s in spans], np.int64).reshape(len(spans), 2)
