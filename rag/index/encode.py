"""Encoding (the stage; the model behind it is an embedder, rag/encoder/embed.py): documents' text into the vectors
and latent terms the index stores, in batches across documents (texts of similar length together, so that little
padding is computed), with a progress bar (log lines when not on a terminal).

The text goes through the encoder once. Each answer unit (sentence) is read as a text of its own, and so is each
document's head (its title and date, ``document_head``, which begins each chunk's view). A chunk's vector is the
normalised mean of the vectors of its units, weighted by their length in characters, and of its document's head,
weighted as its average unit; its latent terms are theirs, pooled as one text's tokens are (each term's strongest
weight, then the strongest terms). Reading every chunk as a text of its own as well, as before, took twice the
encoder's time and measured no better (docs/performance.md, "Chunks pooled from their sentences").
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from ..encoder.e5_files import pooled_terms
from ..encoder.embed import NO_TERMS, Embedder, Encoded
from ..progress import Progress
from ..text import chunk_view, document_head, searchable_text
from .versions import Entry

if TYPE_CHECKING:
    from .chunk import DocumentSpans  # langchain and pysbd: for ingest only

T = TypeVar("T")


def encode_documents(plans: list[DocumentSpans], embedder: Embedder, batch_size: int,
                     progress: bool = False) -> list[Entry]:
    """An index entry for each document: the vectors of its chunks and units, and its chunks' latent terms."""
    if not plans:
        return []
    texts, first_units, chunk_parts = [], [], []  # what is read; where each plan's units start; each chunk's texts
    for plan in plans:
        first_units.append(len(texts))
        texts += [searchable_text(plan.document.text[start:end]) for start, end in plan.unit_spans]
        head = document_head(plan.document)
        heads = [len(texts)] if head else []
        texts += [head] * len(heads)
        for start, end in plan.chunk_spans:
            parts = {first_units[-1] + u: float(plan.unit_spans[u, 1] - plan.unit_spans[u, 0])
                     for u in units_within(plan.unit_spans, start, end)}
            if not parts:  # no unit of two words in it: the chunk is read as a text of its own
                parts = {len(texts): 1.0}
                texts.append(chunk_view(plan.document, start, end))
            chunk_parts.append(parts | dict.fromkeys(heads, float(np.mean(list(parts.values())))))
    reads = hasattr(embedder, "read")
    with Progress(len(texts), "encoding", "text", progress) as bar:
        readings = by_length(texts, [len(text) for text in texts], embedder.read if reads else _embedded(embedder),
                             batch_size, bar)
    vectors = np.array([r.vector for r in readings], np.float32).reshape(len(texts), embedder.dim)
    chunks = np.array([_normalised(np.average(vectors[list(parts)], axis=0, weights=list(parts.values())))
                       for parts in chunk_parts], np.float32)
    if reads:
        term_ids, term_weights = _term_matrices([_pooled(readings, list(parts), embedder.term_space)
                                                 for parts in chunk_parts])
    entries, chunk_at = [], 0
    for plan, first in zip(plans, first_units):
        rows = slice(chunk_at, chunk_at + len(plan.chunk_spans))
        entries.append(Entry(plan.document, plan.chunk_spans, chunks[rows].reshape(-1, embedder.dim), plan.unit_spans,
                             vectors[first:first + len(plan.unit_spans)],
                             *((term_ids[rows], term_weights[rows]) if reads else ())))
        chunk_at = rows.stop
    return entries


def units_within(unit_spans: np.ndarray, start: int, end: int) -> range:
    """The units (spans in order, none overlapping another) that overlap [start, end)."""
    return range(int(np.searchsorted(unit_spans[:, 1], start, "right")),
                 int(np.searchsorted(unit_spans[:, 0], end, "left")))


def _embedded(embedder: Embedder) -> Callable[[list[str]], list[Encoded]]:
    """The readings of an embedder that only embeds: vectors without latent terms."""
    def embed(texts: list[str]) -> list[Encoded]:
        return [Encoded(vector, *NO_TERMS) for vector in embedder.embed_passages(texts)]
    return embed


def _normalised(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


def _pooled(readings: list[Encoded], parts: list[int], space: int) -> tuple[np.ndarray, np.ndarray]:
    """The latent terms of the texts ``parts`` as those of one text."""
    return pooled_terms(np.concatenate([readings[p].term_ids for p in parts]),
                        np.concatenate([readings[p].term_weights for p in parts]), space)


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
