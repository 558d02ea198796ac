"""Encoding (the stage; the model behind it is an embedder, rag/encoder/embed.py): documents' chunks and answer units
into the vectors and latent terms the index stores, in batches across documents (texts of similar length together, so
that little padding is computed), with a progress bar (log lines when not on a terminal).

An embedder that reads at token level (``read``: the bundled model) reads each chunk once for its vector and its
latent terms. Answer units are embedded as texts of their own: their vectors pooled from the chunks' token states lost
0.014 (German) and 0.040 (English) of XQuAD R@1 against that (docs/benchmarks.md, "One pass per chunk").
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from ..encoder.embed import Embedder
from ..progress import Progress
from ..text import chunk_view, searchable_text
from .versions import Entry

if TYPE_CHECKING:
    from .chunk import DocumentSpans  # langchain and pysbd: for ingest only

T = TypeVar("T")


def encode_documents(plans: list[DocumentSpans], embedder: Embedder, batch_size: int,
                     progress: bool = False) -> list[Entry]:
    """An index entry for each document: the vectors of its chunks and units, and its chunks' latent terms."""
    if not plans:
        return []
    chunk_views = [chunk_view(p.document, *span) for p in plans for span in p.chunk_spans]
    unit_texts = [searchable_text(p.document.text[start:end]) for p in plans for start, end in p.unit_spans]
    reads = hasattr(embedder, "read")
    with Progress(len(chunk_views) + len(unit_texts), "encoding", "text", progress) as bar:
        if reads:
            readings = by_length(chunk_views, [len(view) for view in chunk_views], embedder.read, batch_size, bar)
            chunk_vectors = [r.vector for r in readings]
            term_rows = [(r.term_ids, r.term_weights) for r in readings]
        else:
            chunk_vectors = by_length(chunk_views, [len(view) for view in chunk_views], embedder.embed_passages,
                                      batch_size, bar)
        unit_vectors = by_length(unit_texts, [len(text) for text in unit_texts], embedder.embed_passages,
                                 batch_size, bar)
    chunks = np.array(chunk_vectors, np.float32).reshape(len(chunk_views), embedder.dim)
    units = np.array(unit_vectors, np.float32).reshape(len(unit_texts), embedder.dim)
    term_ids, term_weights = _term_matrices(term_rows) if reads else (None, None)
    entries, chunk_at, unit_at = [], 0, 0
    for plan in plans:
        rows = slice(chunk_at, chunk_at + len(plan.chunk_spans))
        entries.append(Entry(plan.document, plan.chunk_spans, chunks[rows], plan.unit_spans,
                             units[unit_at:unit_at + len(plan.unit_spans)],
                             *((term_ids[rows], term_weights[rows]) if reads else ())))
        chunk_at, unit_at = rows.stop, unit_at + len(plan.unit_spans)
    return entries


def by_length(texts: list[str], lengths: list[int], embed: Callable[[list[str]], Sequence[T]], batch_size: int,
              bar: Progress) -> list[T]:
    """``embed`` of each text, in the texts' order, called on batches of texts of similar ``lengths`` (shortest first),
    so that a batch pads its texts little (docs/performance.md, "Ingest in order of length")."""
    order = sorted(range(len(texts)), key=lambda i: lengths[i])
    found: list[T | None] = [None] * len(texts)
    for first in range(0, len(order), batch_size):
        rows = order[first:first + batch_size]
        for row, result in zip(rows, embed([texts[i] for i in rows])):
            found[row] = result
        bar.update(len(rows))
    return found


def _term_matrices(rows: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Rows of latent terms (ids, weights) as two zero-padded matrices."""
    width = max((len(ids) for ids, _ in rows), default=0)
    ids = np.zeros((len(rows), width), np.int32)
    weights = np.zeros((len(rows), width), np.float32)
    for row, (found, values) in enumerate(rows):
        ids[row, :len(found)], weights[row, :len(values)] = found, values
    return ids, weights
