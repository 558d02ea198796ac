"""The question-answering pipeline: articles → chunks → vectors → index (rag/index/), and question → passages
(rag/answer/retrieve.py) → spans (rag/answer/read.py) → answers (rag/answer/answers.py)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from .answer.answer_type import fitting
from .answer.answers import make_answers
from .answer.confidence import Calibration, bundled_calibration
from .answer.question import check_question
from .answer.read import Reader
from .answer.rerank import rerank
from .answer.retrieve import Retrieval, Retriever
from .answer.speaker import speaker_unnamed
from .corpus.files import read_folder
from .corpus.shard import FolderScope, Shard
from .encoder.embed import Embedder, load_embedder
from .errors import InvalidInput, NotFound, shown
from .index.encode import encode_documents
from .index.folder import IndexFolder
from .index.store import StoreConfig
from .index.update import IngestReport, Update
from .index.versions import Index
from .settings import MODES, Settings
from .types import Document, NoAnswerReason, Passage, Reply

if TYPE_CHECKING:
    from .index.chunk import DocumentSpans


class Pipeline:
    """One per process: holds the embedder, the reader and the index folder; safe to share between threads."""

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None,
                 mode: str = "full", reader: Reader | None = None, calibration: Calibration | None = None):
        if mode not in MODES:
            raise InvalidInput(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.settings = settings or Settings()
        self.embedder = embedder or load_embedder(self.settings.model, self.settings.device, self.settings.batch_size)
        self.reader = reader or Reader(self.settings.answer_passages)
        self._calibration = calibration
        store, encoding = StoreConfig.from_settings(self.settings), getattr(self.embedder, "encoding", "")
        if store.kind == "milvus":  # the corpus lives in Milvus; nothing per chunk in this process
            from .answer.hybrid import ServerRetriever
            from .index.milvus import MilvusCorpus

            self.corpus = MilvusCorpus(store, self.embedder.name, self.embedder.dim, encoding,
                                       hasattr(self.embedder, "read"))
            self.retriever = ServerRetriever(self.embedder, self.settings, mode)
        else:
            self.corpus = IndexFolder(self.settings.index_dir, self.embedder.name, self.embedder.dim, encoding, store)
            self.retriever = Retriever(self.embedder, self.settings, mode)

    @property
    def calibration(self) -> Calibration:
        return self._calibration or bundled_calibration()

    @property
    def index(self) -> Index:
        return self.corpus.index

    def has_index(self) -> bool:
        return self.corpus.exists()

    # --- writing -------------------------------------------------------------------------------------------
    def ingest_folder(self, folder: Path, progress: bool = False, shard: Shard | None = None) -> IngestReport:
        """Add new and changed articles of ``folder`` (of its ``shard`` only, if given: rag/corpus/shard.py), drop
        those whose file is gone; unchanged ones cost nothing."""
        return self.ingest(read_folder(folder, shard), progress=progress, gone_under=FolderScope(folder, shard))

    def ingest(self, documents: list[Document], progress: bool = False,
               gone_under: FolderScope | None = None) -> IngestReport:
        """Add or replace documents; with ``gone_under``, drop those it holds (read from its folder, of its shard) that
        are not among them.

        Encoding starts from the live version, outside the write lock; the lock is held only to commit."""
        started = time.perf_counter()
        update = Update(self.corpus.current(), documents, self.corpus.encoding, gone_under)
        entries = encode_documents([self._split(d) for d in update.todo], self.embedder, self.settings.batch_size,
                                   progress)
        with self.corpus.writing() as index:
            if update.apply(index, entries) or not self.has_index():
                index.save(self.corpus.path)
        update.report.seconds = time.perf_counter() - started
        return update.report

    def _split(self, document: Document) -> DocumentSpans:
        from .index.chunk import split_document  # langchain and pysbd: for ingest only

        spans = split_document(document, self.settings.chunk_chars, self.settings.chunk_overlap_chars)
        if not len(spans.chunk_spans):
            raise InvalidInput(f"document {document.id!r} has no text outside its boilerplate")
        return spans

    def remove(self, doc_id: str) -> None:
        with self.corpus.writing() as index:
            if not index.remove(doc_id):
                raise NotFound(f"no document with id {shown(doc_id)}")
            index.save(self.corpus.path)

    def repair(self) -> list[Path]:
        return self.corpus.repair()

    # --- reading -------------------------------------------------------------------------------------------
    def document(self, doc_id: str) -> Document:
        document = self.index.document(doc_id)
        if document is None:
            raise NotFound(f"no document with id {shown(doc_id)}")
        return document

    def retrieve(self, question: str, top_k: int | None = None) -> Retrieval:
        question = check_question(question, self.settings.max_question_chars)
        return self.retriever.run(question, self.corpus.snapshot(), top_k or self.settings.top_k)

    def search(self, question: str, top_k: int | None = None) -> list[Passage]:
        return self.retrieve(question, top_k).passages

    def ask(self, question: str, top_k: int | None = None, max_answers: int | None = None) -> Reply:
        started = time.perf_counter()
        retrieval = self.retrieve(question, top_k)
        retrieved = time.perf_counter()
        found, reason = [], None  # without passages, the reply's reason is NO_PASSAGES
        if retrieval.passages and speaker_unnamed(retrieval, self.reader.passages):
            reason = NoAnswerReason.SPEAKER_NOT_NAMED
        elif read := self.reader.run(retrieval.question, retrieval.passages):
            retrieval, read = rerank(retrieval, read)
            found = fitting(read, retrieval)
            reason = None if found else NoAnswerReason.NOT_OF_THE_KIND_ASKED
        threshold = self.calibration.threshold if self.settings.min_confidence is None else self.settings.min_confidence
        answers = make_answers(found, retrieval, self.calibration, max_answers or self.settings.max_answers, threshold)
        done = time.perf_counter()
        return Reply(retrieval.question, answers, retrieval.passages,
                     {"retrieve": round((retrieved - started) * 1000, 2), "read": round((done - retrieved) * 1000, 2),
                      "total": round((done - started) * 1000, 2)}, no_answer_reason=reason)
