"""What an ingest changes: which documents are new, changed, unchanged or gone, and the commit of their entries."""
from __future__ import annotations

from dataclasses import dataclass, field

from ..corpus.shard import FolderScope
from ..types import Document
from .versions import Entry, Index, revision


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    chunks: int = 0  # in the index after the ingest
    chunk_counts: dict[str, int] = field(default_factory=dict)  # of each document ingested, as this ingest stored it
    seconds: float = 0.0


class Update:
    """An ingest of ``documents`` into ``current``: what to encode, and how to commit it.

    An index encoded another way than ``encoding`` (saved by earlier code) has all its documents encoded again, so
    that no question compares vectors or latent terms made in two ways. With ``gone_under``, the documents it holds
    (read from its folder, of its shard) that are not among ``documents`` are dropped."""

    def __init__(self, current: Index, documents: list[Document], encoding: str, gone_under: FolderScope | None = None):
        self.report = IngestReport()
        self.fresh = {d.id: d for d in documents}
        self.gone_under = gone_under
        stale = set(current.catalogue()) if current.encoding != encoding else set()
        self.outdated = {doc_id: current.document(doc_id) for doc_id in stale if doc_id not in self.fresh}
        self.encoding = encoding
        self.todo: list[Document] = []
        known = current.catalogue(list(self.fresh))
        for document in self.fresh.values():
            old = known.get(document.id)
            if old and document.id not in stale and old.revision == revision(document):
                self.report.unchanged.append(document.id)
                self.report.chunk_counts[document.id] = old.chunk_count
                continue
            (self.report.updated if old else self.report.added).append(document.id)
            self.todo.append(document)
        self.report.updated.extend(self.outdated)
        self.todo.extend(self.outdated.values())

    def apply(self, index: Index, entries: list[Entry]) -> bool:
        """Commit the encoded ``entries`` to ``index`` (the latest version, under the write lock); whether it
        changed."""
        for doc_id, stored in (index.catalogue() if self.gone_under else {}).items():
            path = stored.meta.get("path")
            if doc_id not in self.fresh and path and self.gone_under.holds(doc_id, path):
                index.remove(doc_id)
                self.report.removed.append(doc_id)
        for entry in entries:
            doc_id = entry.document.id
            if doc_id in self.outdated and index.document(doc_id) != self.outdated[doc_id]:
                continue  # another writer replaced or removed it meanwhile: theirs stands
            index.put(entry)
        self.report.chunk_counts.update((e.document.id, len(e.chunk_spans)) for e in entries
                                        if e.document.id in self.fresh)
        index.encoding = self.encoding
        self.report.chunks = index.chunk_count
        return bool(entries or self.report.removed)
