"""Sentences, answer units and chunks, each a [start, end) span of the document's original text.

Sentences come from pysbd (German rules by default: "z. B.", "16. Mai", "Nr. 5" do not end a sentence); chunks
are runs of whole sentences merged by a langchain ``TextSplitter``; answer units are sentences, or clauses of a
sentence longer than ``MAX_UNIT_CHARS``, so that every answer is at most that long.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np
import pysbd
from langchain_text_splitters import TextSplitter

from ..text import content_spans
from ..types import Document, Span

MAX_UNIT_CHARS = 300
SEGMENT_WINDOW = 5000
WORDISH = re.compile(r"[^\W_]")  # letters and digits: a unit without two of them ("**", "–") answers nothing
CLAUSE_BREAK = re.compile(r"(?<=[,;:–—)])\s+|\s+(?=[–—(])")
DEFAULT_LANGUAGE = "de"  # the corpus's: sentence rules for a document whose language pysbd has none for
PYSBD_LANGUAGES = {"en", "hi", "mr", "zh", "es", "am", "ar", "hy", "bg", "ur", "ru", "pl", "fa", "nl", "da", "fr",
                   "my", "el", "it", "ja", "de", "kk", "sk"}


@cache
def _segmenter(language: str) -> pysbd.Segmenter:
    return pysbd.Segmenter(language=language, clean=False)


def trim(text: str, span: Span) -> Span | None:
    """The span without surrounding whitespace; None when nothing is left."""
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end) if end > start else None


def split_sentences(text: str, span: Span | None = None, language: str = DEFAULT_LANGUAGE) -> list[Span]:
    """Sentence spans inside ``span`` of ``text``, trimmed of whitespace, never crossing a blank line."""
    span = span or Span(0, len(text))
    sentences: list[Span] = []
    for block in _blocks(text, span):
        cursor = block.start
        for sentence in _segment(text[block.start:block.end], language):
            stripped = sentence.strip()
            if not stripped:
                continue
            found = text.find(stripped, cursor, block.end)
            if found < 0:  # pysbd changed the text: keep what we have, resume after the block's known part
                continue
            sentences.append(Span(found, found + len(stripped)))
            cursor = found + len(stripped)
        sentences.extend(_fill_gaps(text, block, sentences))
    sentences.sort(key=lambda s: s.start)
    return [s for s in (trim(text, s) for s in sentences) if s]


def _segment(block: str, language: str) -> list[str]:
    """pysbd's sentences; a block over SEGMENT_WINDOW characters goes in windows cut at spaces (pysbd is slow on
    very long input), so a sentence crossing a window edge is cut there."""
    pieces, start = [], 0
    while len(block) - start > SEGMENT_WINDOW:
        cut = block.rfind(" ", start + SEGMENT_WINDOW // 2, start + SEGMENT_WINDOW)
        cut = cut if cut > start else start + SEGMENT_WINDOW
        pieces.append(block[start:cut])
        start = cut
    pieces.append(block[start:])
    return [sentence for piece in pieces for sentence in _segmenter(language).segment(piece)]


def _blocks(text: str, span: Span) -> list[Span]:
    """Paragraphs of ``span``: separated by line breaks, since a scraped line is never continued across one."""
    blocks, start = [], span.start
    for match in re.finditer(r"\n", text[span.start:span.end]):
        end = span.start + match.start()
        blocks.append(Span(start, end))
        start = end + 1
    blocks.append(Span(start, span.end))
    return [b for b in (trim(text, b) for b in blocks) if b]


def _fill_gaps(text: str, block: Span, sentences: list[Span]) -> list[Span]:
    """Text of the block that no sentence covers (pysbd dropped or altered it) becomes sentences of its own."""
    inside = sorted((s for s in sentences if block.start <= s.start < block.end), key=lambda s: s.start)
    gaps, cursor = [], block.start
    for sentence in inside:
        if sentence.start > cursor:
            gaps.append(Span(cursor, sentence.start))
        cursor = max(cursor, sentence.end)
    if cursor < block.end:
        gaps.append(Span(cursor, block.end))
    return [g for g in (trim(text, g) for g in gaps) if g and re.search(r"\w", text[g.start:g.end])]


def split_units(text: str, sentence: Span, limit: int = MAX_UNIT_CHARS) -> list[Span]:
    """The sentence itself, or consecutive clauses of it, each at most ``limit`` characters."""
    if sentence.end - sentence.start <= limit:
        return [sentence]
    pieces, start = [], sentence.start
    for match in CLAUSE_BREAK.finditer(text, sentence.start, sentence.end):
        pieces.append(Span(start, match.start()))
        start = match.end()
    pieces.append(Span(start, sentence.end))
    units: list[Span] = []
    for piece in pieces:
        if units and piece.end - units[-1].start <= limit:
            units[-1] = Span(units[-1].start, piece.end)
        else:
            units.extend(_hard_split(text, piece, limit))
    return [u for u in (trim(text, u) for u in units) if u]


def _hard_split(text: str, span: Span, limit: int) -> list[Span]:
    parts, start = [], span.start
    while span.end - start > limit:
        cut = text.rfind(" ", start + 1, start + limit + 1)
        cut = cut if cut > start else start + limit
        parts.append(Span(start, cut))
        start = cut
    parts.append(Span(start, span.end))
    return parts


@dataclass
class DocumentSpans:
    """A document cut into chunks and answer units: rows of [start, end) of its text (what encoding reads)."""

    document: Document
    chunk_spans: np.ndarray
    unit_spans: np.ndarray


class UnitTextSplitter(TextSplitter):
    """langchain splitter whose pieces are the given answer units of a text: chunks end where sentences (or clauses
    of a sentence too long for one chunk) end, so no chunk is longer than ``chunk_size`` plus one unit."""

    def __init__(self, units: list[Span], **kwargs):
        super().__init__(strip_whitespace=True, add_start_index=True, **kwargs)
        self.units = units

    def split_text(self, text: str) -> list[str]:
        bounds = [u.start for u in self.units[1:]] + [len(text)]
        return self._merge_splits([text[u.start:end] for u, end in zip(self.units, bounds)], "")


def sentence_language(document: Document) -> str:
    """The language whose sentence rules cut the document: its detected one where pysbd has rules, else German."""
    language = document.meta.get("language")
    return language if language in PYSBD_LANGUAGES else DEFAULT_LANGUAGE


def split_document(document: Document, chunk_chars: int, overlap_chars: int) -> DocumentSpans:
    """The chunks and answer units of the document's content (boilerplate left out), with exact offsets; each part's
    sentences are segmented once, for both."""
    language = sentence_language(document)
    chunks: list[Span] = []
    units: list[Span] = []
    for part in content_spans(document):
        segment = document.text[part.start:part.end]
        part_units = [u for s in split_sentences(segment, language=language) for u in split_units(segment, s)]
        splitter = UnitTextSplitter(part_units, chunk_size=chunk_chars, chunk_overlap=overlap_chars)
        for piece in splitter.create_documents([segment]):
            start = part.start + piece.metadata["start_index"]
            assert document.text[start:start + len(piece.page_content)] == piece.page_content
            chunks.append(Span(start, start + len(piece.page_content)))
        units += [Span(part.start + u.start, part.start + u.end) for u in part_units
                  if len(WORDISH.findall(segment[u.start:u.end])) >= 2]
    return DocumentSpans(document, _span_array(chunks), _span_array(units))


def _span_array(spans: list[Span]) -> np.ndarray:
    return np.array([[s.start, s.end] for s in spans], np.int64).reshape(len(spans), 2)
