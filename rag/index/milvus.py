"""Milvus as the store of record (``RAG_VECTOR_STORE=milvus``): every document, chunk and answer unit lives in Milvus,
so API workers on any number of machines hold no per-chunk state and see each other's writes at their next question.

Four collections, named ``{RAG_MILVUS_COLLECTION_PREFIX}_{tag}_…`` (the tag names the model and how it encoded, so a
corpus made by another model is never searched with this one's vectors):

- ``chunks``: one row per chunk: its document, revision and ordinal, character span, raw text and title (what a
  passage shows), the stems BM25 reads (Milvus's own BM25 function over them), the dense vector and the latent terms
  as a sparse vector.
- ``units``: one row per answer unit (sentence), in the order of the text: its span and vector (the best-sentence
  score reads them). A chunk names the range of the units that start in it; a unit in the overlap of two chunks is
  in both ranges and stored once.
- ``documents``: each document's text in parts of at most ``PART_CHARS`` characters (a Milvus string holds at most
  64 KB), its title and metadata, on every part.
- ``lexicon``: every stem the corpus holds (how much of a question BM25 can know, as ``LexicalIndex.known_fraction``);
  a write that deletes a revision takes out the stems that Milvus's BM25 then finds in no chunk (``_forget``).

Rows are keyed by 64-bit hashes, so no user string is ever spliced into a filter. A write upserts the document's new
revision, then deletes its older revisions: a question asked meanwhile may see both for a moment, never neither, and a
write acknowledged is in Milvus. A revision is named by its content's digest and a stamp ("digest@stamp"): the
microseconds of the write's start, and always above the stamps of the revisions it found, so writes of one document
are ordered even across machines whose clocks differ. Two writers of one document at once each delete only what is
older than their own revision, so the later stamp's revision stays, whole; a write whose revision a later one (or a
removal) deleted while it was still inserting deletes what it inserted after that. If it is killed before it can, a
search never returns those rows, and the document's next write or removal deletes them (``_sweep``).
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import IndexUnavailable, RagError
from ..text import chunk_view
from ..types import Chunk, Document
from .lexical import terms
from .store import StoreConfig
from .versions import Entry, StoredDocument, revision

PART_CHARS = 16_000  # of a document's text per row: at most 64,000 bytes of UTF-8
ID_BYTES = 4_096  # a document id of up to 1,000 characters, in UTF-8
TEXT_BYTES = 65_535  # Milvus's longest string
QUERY_BATCH = 1_000  # rows inserted or keys asked for per request
PLACEHOLDER = [1.0, 0.0]  # Milvus wants a vector field in every collection; documents and lexicon need none
PAGE_ROWS = 16_384  # Milvus returns at most this many rows per query: a listing of all documents goes page by page
FILTERED = ("doc_key",)  # fields in filters (the primary key has its own index)
HIT_FIELDS = ["doc", "revision", "ordinal", "start", "end", "text", "title", "vector", "unit_lo", "unit_hi"]  # of a
# search's chunk rows: what ranking and reading need; their latent terms only where they score (parsing them is
# half a search's time in pymilvus)
LAYOUT = 2  # of the rows: a corpus written in another layout is another corpus (2: each unit stored once)
DOCUMENTS_CACHED = 64  # documents' texts a worker keeps (bounded: answers read the documents of a few passages)

log = logging.getLogger(__name__)


def digest(at: str) -> str:
    """The content digest of a revision ("digest@stamp"; a revision written before stamps is its digest)."""
    return at.partition("@")[0]


def stamp(at: str) -> int:
    """The write order of a revision (0 for one written before stamps)."""
    return int(at.partition("@")[2] or "0", 16)


def key(*parts: object) -> int:
    """A signed 64-bit key for a document, chunk, unit or stem."""
    hashed = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(hashed, "little", signed=True)


@dataclass
class Candidates:
    """The chunks a question's search found, laid out as rows like a ``Snapshot`` (row ``r`` is the ``r``-th hit), with
    their units: what ranking, reading and the answers (their sentences and evidence) read."""

    chunks: list[Chunk]
    titles: list[str]
    revisions: list[str]
    keys: list[int]
    chunk_vectors: np.ndarray
    chunk_term_ids: np.ndarray
    chunk_term_weights: np.ndarray
    unit_spans: np.ndarray
    unit_vectors: np.ndarray
    unit_ranges: list[range]
    corpus: MilvusCorpus

    def chunk(self, row: int) -> Chunk:
        return self.chunks[row]

    def title_of(self, row: int) -> str:
        return self.titles[row]

    def units_of(self, row: int) -> range:
        return self.unit_ranges[row]

    def document_of(self, row: int) -> Document:
        return self.corpus.document_at(self.chunks[row].doc_id, self.revisions[row])


class MilvusCorpus:
    """The corpus in Milvus, in the roles ``Pipeline`` gives the index folder and the index: safe to share between
    threads; every method is one or a few requests."""

    path = None  # no folder: the corpus is wherever RAG_MILVUS_URI points

    def __init__(self, config: StoreConfig, model: str, dim: int, encoding: str, has_terms: bool):
        self.config, self.model, self.dim, self.encoding, self.has_terms = config, model, dim, encoding, has_terms
        self.version = None
        tag = hashlib.blake2b(f"{model}|{encoding}|{dim}|{LAYOUT}".encode(), digest_size=4).hexdigest()
        names = ("chunks", "units", "documents", "lexicon")
        self.chunks, self.units, self.documents, self.lexicon = (f"{config.milvus_prefix}_{tag}_{n}" for n in names)
        self.where = f"Milvus at {config.milvus_uri}"
        self._client = None
        self._document_at = lru_cache(maxsize=DOCUMENTS_CACHED)(self._fetch_document)

    @property
    def client(self):
        if self._client is None:
            with milvus_errors(self.config.milvus_uri):
                os.environ.setdefault("GRPC_VERBOSITY", "NONE")  # gRPC's own log lines are not for our users
                from pymilvus import MilvusClient

                uri = self.config.milvus_uri
                if "://" not in uri:  # milvus-lite in this process: its server logs what pymilvus asks and it lacks
                    Path(uri).parent.mkdir(parents=True, exist_ok=True)
                    logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
                    logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)  # it
                    # warns that milvus-lite gives a listing no timestamp (the client's is then used, as it should)
                client = MilvusClient(uri=uri, token=self.config.milvus_token) if self.config.milvus_token \
                    else MilvusClient(uri=uri)
                if client.has_collection(self.documents):
                    for name in (self.chunks, self.units, self.documents, self.lexicon):
                        client.load_collection(name)  # collections another process made are released until loaded
                self._client = client
        return self._client

    # --- the index folder's role ------------------------------------------------------------------------------
    def exists(self) -> bool:
        with self._failing():
            return self.client.has_collection(self.documents)

    @property
    def index(self) -> MilvusCorpus:
        return self

    def current(self) -> MilvusCorpus:
        return self

    def snapshot(self) -> MilvusCorpus:
        return self

    @contextmanager
    def writing(self):
        """Writes go straight to Milvus, document by document; nothing to lock or swap."""
        with self._failing():
            self._create()
        yield self

    def repair(self) -> list[Path]:
        return []  # Milvus keeps its own log; there are no versions to set aside

    # --- the index's role -------------------------------------------------------------------------------------
    def catalogue(self, ids: list[str] | None = None) -> dict[str, StoredDocument]:
        """The documents (all, or those of ``ids`` that exist) as the index lists them: one request per batch. Only
        a revision written whole counts (``_whole``); a document whose write has not deleted its other revisions yet,
        or stopped before it did, is listed at revision "" so that its next ingest writes it again."""
        if not self.exists():
            return {}
        fields = ["doc", "title", "meta", "chars", "chunks", "revision"]
        with self._failing():
            if ids is None:
                heads = list(self._every_row(self.documents, "part == 0", fields))
            else:
                batches = [[key(i) for i in ids[lo:lo + QUERY_BATCH]] for lo in range(0, len(ids), QUERY_BATCH)]
                heads = [head for keys in batches for head in self.client.query(
                    self.documents, filter=f"part == 0 and doc_key in {keys}", output_fields=fields)]
            whole = self._whole(heads)
        revisions = Counter(head["doc"] for head in heads)
        return {head["doc"]: StoredDocument(head["doc"], head["title"], head["meta"], head["chars"], head["chunks"],
                                            digest(head["revision"]) if revisions[head["doc"]] == 1 else "")
                for head in heads if (head["doc"], head["revision"]) in whole}

    def _whole(self, heads: list[dict]) -> set[tuple[str, str]]:
        """The (document, revision) of the ``heads`` whose last chunk is in Milvus (or that have none): a write
        inserts the chunks last, in order, so their revision is written whole."""
        last = {key(h["doc"], h["revision"], h["chunks"] - 1): (h["doc"], h["revision"]) for h in heads if h["chunks"]}
        return {last[row["key"]] for row in self._get(self.chunks, list(last), ["key"])} | {
            (h["doc"], h["revision"]) for h in heads if not h["chunks"]}

    def __len__(self) -> int:
        return self._count(self.documents, "part == 0")

    @property
    def chunk_count(self) -> int:
        return self._count(self.chunks, "")

    def document(self, doc_id: str) -> Document | None:
        """The document at its latest revision written whole (of two, during a write or after one that stopped)."""
        with self._failing():
            whole = [at for _, at in self._whole(self._heads(doc_id, ["doc", "revision", "chunks"]))]
        return self.document_at(doc_id, max(whole, key=lambda at: (stamp(at), at))) if whole else None

    def document_at(self, doc_id: str, at: str) -> Document:
        """The document at revision ``at`` (a worker keeps the last few it read)."""
        return self._document_at(doc_id, at)

    def put(self, entry: Entry) -> None:
        """Write a document's revision, then delete its older ones. The document's rows come first (every chunk in
        Milvus has its document) and its chunks last, in order: a revision without its last chunk is not listed
        (``catalogue``), so the document's next ingest writes it again and cleans what the stopped write left."""
        document = entry.document
        doc_key = key(document.id)
        unit_starts = entry.unit_spans[:, 0]  # a chunk's units: those that start in it
        unit_lo = np.searchsorted(unit_starts, entry.chunk_spans[:, 0], "left").tolist()
        unit_hi = np.searchsorted(unit_starts, entry.chunk_spans[:, 1], "left").tolist()
        text = document.text
        parts = max(1, -(-len(text) // PART_CHARS))
        with self._failing():
            at = self._new_revision(document)
            self._insert(self.documents, [
                {"key": key(document.id, at, "part", p), "doc_key": doc_key, "doc": document.id, "revision": at,
                 "part": p, "parts": parts, "title": document.title, "meta": document.meta,
                 "chunks": len(entry.chunk_spans), "units": len(entry.unit_spans), "chars": len(text),
                 "text": text[p * PART_CHARS:(p + 1) * PART_CHARS], "placeholder": PLACEHOLDER}
                for p in range(parts)])
            self._insert(self.units, [
                {"key": key(document.id, at, "unit", u), "doc_key": doc_key, "revision": at, "start": start,
                 "end": end, "vector": vector}
                for u, ((start, end), vector) in enumerate(zip(entry.unit_spans.tolist(),
                                                               entry.unit_vectors.tolist()))])
            chunk_rows, stems = [], set()
            for i, ((start, end), vector) in enumerate(zip(entry.chunk_spans.tolist(), entry.chunk_vectors.tolist())):
                lexical = terms(chunk_view(document, start, end))
                stems.update(lexical)
                row = {"key": key(document.id, at, i), "doc_key": doc_key, "doc": document.id, "revision": at,
                       "ordinal": i, "start": start, "end": end, "text": document.text[start:end],
                       "title": document.title, "lexical": " ".join(lexical), "vector": vector,
                       "unit_lo": unit_lo[i], "unit_hi": unit_hi[i]}
                if self.has_terms:
                    row["terms"] = _sparse(entry.chunk_term_ids[i], entry.chunk_term_weights[i])
                chunk_rows.append(row)
            self._learn(stems)
            self._insert(self.chunks, chunk_rows)  # last: its last row marks the revision written whole
            held = {row["key"] for row in self._get(self.lexicon, [key(stem) for stem in stems], ["key"])}
            self._learn({stem for stem in stems if key(stem) not in held})  # taken out by a removal meanwhile that
            # found them in no chunk (``_forget``)
            self._delete(document.id, older_than=at, kept_stems=stems)
            if not any(head["revision"] == at for head in self._heads(document.id, ["revision"])):
                # a later write or a removal deleted this revision meanwhile: what went in after that goes too
                self._forget(sorted(self._drop(document.id, {"revision": at, "parts": parts, "chunks": len(chunk_rows),
                                                             "units": len(entry.unit_spans)})))

    def _new_revision(self, document: Document) -> str:
        """The revision a write of ``document`` stores: its digest, stamped after every revision of it found."""
        found = [stamp(head["revision"]) for head in self._heads(document.id, ["revision"])]
        return f"{revision(document)}@{max([time.time_ns() // 1000] + [s + 1 for s in found]):x}"

    def remove(self, doc_id: str) -> bool:
        with self._failing():
            return self.exists() and self._delete(doc_id)

    def save(self, folder: Path | None = None) -> None:
        """Nothing to do: Milvus logs each write before it acknowledges it (a flush per write would seal a segment
        each time: 2.7 s after a hundred documents here), so what ``put`` wrote survives a crash of Milvus
        (tests/reliability/test_milvus.py)."""

    # --- reading ----------------------------------------------------------------------------------------------
    def known_fraction(self, stems: list[str]) -> float:
        """Share of the question's stems that occur in the corpus (``LexicalIndex.known_fraction``)."""
        if not stems:
            return 0.0
        keys = sorted({key(stem) for stem in stems})
        with self._failing():
            found = {row["key"] for row in self.client.query(self.lexicon, filter=f"key in {keys}",
                                                             output_fields=["key"])}
        return sum(key(stem) in found for stem in stems) / len(stems)

    def search(self, query_vector: np.ndarray, stems: list[str], weights: dict[str, float], limit: int,
               with_terms: bool) -> list[tuple[dict, float]]:
        """(chunk row, fused score) of one server-side search, best first: dense and BM25 over the stems (the routes
        ``weights`` names), each route's best ``limit`` hits, their scores min-max normalised and weighted (Milvus's
        WeightedRanker); the best ``2 × limit``, as many as the routes may find together. The rows come with what
        ranking and reading need of them (``candidates`` lays them out), their latent terms if ``with_terms``."""
        from pymilvus import AnnSearchRequest, WeightedRanker

        routes = {"dense": ([query_vector.tolist()], "vector", "IP"), "lexical": ([" ".join(stems)], "bm25", "BM25")}
        chosen = [name for name in routes if weights.get(name) and (name != "lexical" or stems)]
        if not chosen:
            return []
        requests = [AnnSearchRequest(routes[name][0], routes[name][1], {"metric_type": routes[name][2]}, limit)
                    for name in chosen]
        fields = HIT_FIELDS + (["terms"] if with_terms and self.has_terms else [])
        with self._failing():
            hits = self.client.hybrid_search(self.chunks, requests, WeightedRanker(*(weights[n] for n in chosen)),
                                             limit=2 * limit, output_fields=fields)[0]
            heads = [key(hit["entity"]["doc"], hit["entity"]["revision"], "part", 0) for hit in hits]
            held = {row["key"] for row in self._get(self.documents, sorted(set(heads)), ["key"])}
        return [(hit["entity"], float(hit["distance"])) for hit, head in zip(hits, heads)
                if head in held]  # not a chunk whose revision is gone (``_sweep``)

    def candidates(self, rows: list[dict]) -> Candidates:
        """The chunk rows of a search laid out as rows in that order, with their units: one lookup by key of the units
        (each once, though overlapping chunks share some; a filter, or a search restricted to these chunks, would
        scan every row)."""
        wanted = {(doc, at, u): key(doc, at, "unit", u)
                  for doc, at, u in sorted({(r["doc"], r["revision"], u) for r in rows
                                            for u in range(r["unit_lo"], r["unit_hi"])})}
        with self._failing():
            fetched = self._get(self.units, list(wanted.values()), ["start", "end", "vector"])
        by_key = {unit["key"]: unit for unit in fetched}
        found = {unit: by_key[k] for unit, k in wanted.items() if k in by_key}  # in the text's order, by document
        position = {unit: p for p, unit in enumerate(found)}
        ranges = []  # a chunk's units are consecutive in that order
        for r in rows:
            mine = [position[(r["doc"], r["revision"], u)] for u in range(r["unit_lo"], r["unit_hi"])
                    if (r["doc"], r["revision"], u) in position]
            ranges.append(range(mine[0], mine[-1] + 1) if mine else range(0))
        units = list(found.values())
        chunks = [Chunk(f"{r['doc']}#{r['ordinal']}", r["doc"], r["start"], r["end"], r["text"]) for r in rows]
        return Candidates(chunks, [r["title"] for r in rows], [r["revision"] for r in rows],
                          [key(r["doc"], r["revision"], r["ordinal"]) for r in rows],
                          np.array([r["vector"] for r in rows], np.float32).reshape(len(rows), self.dim),
                          *_term_arrays([r.get("terms", {}) for r in rows]),
                          np.array([(u["start"], u["end"]) for u in units], np.int64).reshape(len(units), 2),
                          np.array([u["vector"] for u in units], np.float32).reshape(len(units), self.dim),
                          ranges, self)

    def with_terms(self, candidates: Candidates, rows: list[int]) -> Candidates:
        """``candidates`` with the latent terms of ``rows`` (what an answer's evidence reads of its passages), where
        the search left them out."""
        if not self.has_terms or not rows:
            return candidates
        with self._failing():
            found = {r["key"]: r["terms"] for r in self._get(self.chunks, [candidates.keys[row] for row in rows],
                                                              ["terms"])}
        ids, weights = _term_arrays([found.get(k, {}) for k in candidates.keys])
        return replace(candidates, chunk_term_ids=ids, chunk_term_weights=weights)

    # --- inside -----------------------------------------------------------------------------------------------
    @contextmanager
    def _failing(self):
        """Milvus failures as IndexUnavailable (HTTP 503); the next request connects anew, since Milvus may have
        restarted (its collections must then be loaded again)."""
        try:
            with milvus_errors(self.config.milvus_uri):
                yield
        except IndexUnavailable:
            self._client = None
            raise

    def _every_row(self, collection: str, where: str, fields: list[str]):
        """Every row that ``where`` selects: one query, or page by page where that one is full (a query returns at
        most PAGE_ROWS rows; an iterator costs several requests more)."""
        first = self.client.query(collection, filter=where, output_fields=fields, limit=PAGE_ROWS)
        if len(first) < PAGE_ROWS:
            yield from first
            return
        pages = self.client.query_iterator(collection, batch_size=PAGE_ROWS, filter=where, output_fields=fields)
        try:
            while page := pages.next():
                yield from page
        finally:
            pages.close()

    def _get(self, collection: str, keys: list[int], fields: list[str]) -> list[dict]:
        rows = []
        for lo in range(0, len(keys), QUERY_BATCH):
            rows += self.client.query(collection, filter=f"key in {keys[lo:lo + QUERY_BATCH]}", output_fields=fields)
        return rows

    def _heads(self, doc_id: str, fields: list[str]) -> list[dict]:
        """The first part's row of each revision of the document that Milvus holds."""
        return self.client.query(self.documents, filter=f"doc_key == {key(doc_id)} and part == 0", output_fields=fields)

    def _fetch_document(self, doc_id: str, at: str) -> Document:
        with self._failing():
            parts = self.client.query(self.documents, filter=f'doc_key == {key(doc_id)} and revision == "{at}"',
                                      output_fields=["part", "title", "meta", "text"])
        if not parts:
            raise IndexUnavailable(f"document {doc_id!r} changed while it was read: ask again")
        parts.sort(key=lambda p: p["part"])
        return Document(doc_id, "".join(p["text"] for p in parts), parts[0]["title"], parts[0]["meta"])

    def _count(self, collection: str, where: str) -> int:
        with self._failing():
            if not self.client.has_collection(collection):
                return 0
            rows = self.client.query(collection, filter=where, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def _insert(self, collection: str, rows: list[dict]) -> None:
        """Upserted, not inserted: Milvus keeps duplicate keys, and a revision written twice (a retry, two writers)
        must stay one set of rows."""
        for lo in range(0, len(rows), QUERY_BATCH):
            self.client.upsert(collection, rows[lo:lo + QUERY_BATCH])

    def _remove(self, collection: str, keys: list[int]) -> None:
        """Delete the rows of ``keys``, a batch per request."""
        for lo in range(0, len(keys), QUERY_BATCH):
            self.client.delete(collection, ids=keys[lo:lo + QUERY_BATCH])

    def _delete(self, doc_id: str, older_than: str | None = None, kept_stems: set[str] = frozenset()) -> bool:
        """Delete the document's rows of every revision (older than ``older_than``), and the stems of the lexicon
        that no chunk holds any more; whether there were any rows."""
        heads = self._heads(doc_id, ["revision", "parts", "chunks", "units"])
        old = [head for head in heads if older_than is None or stamp(head["revision"]) < stamp(older_than)]
        stems = set().union(*(self._drop(doc_id, head) for head in old))
        kept = {head["revision"] for head in heads if head not in old} | ({older_than} if older_than else set())
        stems |= self._sweep(doc_id, kept)  # not the writer's own rows: it checks its revision itself
        self._forget(sorted(stems - kept_stems))
        return bool(old)

    def _sweep(self, doc_id: str, kept: set[str]) -> set[str]:
        """Delete the document's chunks and units of revisions that have no document rows (``kept``: the revisions
        whose head rows were there before): a write killed after a later write or a removal had deleted its revision
        leaves them, and ``search`` never returns them. The stems the chunks held.

        A write inserts its head row before any other row, so a revision whose rows are found and whose head is not
        there after that is gone for good; one whose head is there (a write begun meanwhile) is left alone."""
        where = f"doc_key == {key(doc_id)} and revision not in {json.dumps(sorted(kept))}"  # "digest@stamp", in hex
        found = {collection: list(self._every_row(collection, where, fields))
                 for collection, fields in ((self.chunks, ["key", "revision", "lexical"]),
                                            (self.units, ["key", "revision"]))}
        if not any(found.values()):
            return set()
        headed = {head["revision"] for head in self._heads(doc_id, ["revision"])}
        stems = set()
        for collection, rows in found.items():
            left = [row for row in rows if row["revision"] not in headed]
            stems.update(word for row in left for word in row.get("lexical", "").split())
            self._remove(collection, [row["key"] for row in left])
        return stems

    def _drop(self, doc_id: str, head: dict) -> set[str]:
        """Delete one revision's rows by their keys (a filter would scan every row); the stems its chunks held."""
        at, stems = head["revision"], set()
        chunk_keys = [key(doc_id, at, i) for i in range(head["chunks"])]
        for row in self._get(self.chunks, chunk_keys, ["lexical"]):
            stems.update(row["lexical"].split())
        for name, keys in ((self.chunks, chunk_keys),
                           (self.units, [key(doc_id, at, "unit", i) for i in range(head["units"])]),
                           (self.documents, [key(doc_id, at, "part", p) for p in range(head["parts"])])):
            self._remove(name, keys)
        self._document_at.cache_clear()
        return stems

    def _forget(self, stems: list[str]) -> None:
        """Take out of the lexicon the ``stems`` that Milvus's BM25 finds in no chunk now, then put back those that
        a write's chunks brought meanwhile. (A write puts its stems in the lexicon before its chunks, and puts back
        after them those a removal took out meanwhile, so no interleaving with it loses one.)"""
        gone = self._unheld(stems)
        self._remove(self.lexicon, [key(stem) for stem in gone])
        self._learn(set(gone) - set(self._unheld(gone)))

    def _learn(self, stems: set[str]) -> None:
        """Put ``stems`` in the lexicon."""
        self._insert(self.lexicon, [{"key": key(stem), "placeholder": PLACEHOLDER} for stem in sorted(stems)])

    def _unheld(self, stems: list[str]) -> list[str]:
        """The ``stems`` that Milvus's BM25 finds in no chunk."""
        unheld = []
        for lo in range(0, len(stems), QUERY_BATCH):
            batch = stems[lo:lo + QUERY_BATCH]
            hits = self.client.search(self.chunks, data=batch, anns_field="bm25", limit=1,
                                      search_params={"metric_type": "BM25"}, output_fields=[])
            unheld += [stem for stem, found in zip(batch, hits) if not found]
        return unheld

    def _create(self) -> None:
        """The four collections, where they are missing (documents last: it marks the corpus as made)."""
        from pymilvus import DataType, Function, FunctionType, MilvusClient

        client = self.client
        if client.has_collection(self.documents):
            return
        others = sorted(name for name in client.list_collections() if name != self.documents
                        and name.startswith(f"{self.config.milvus_prefix}_") and name.endswith("_documents"))
        if others:
            log.warning("%s holds a corpus of another model or an earlier layout (%s): it is left as it is and not "
                        "read; ingest the articles again", self.where, ", ".join(others))
        vector_index = {"index_type": "FLAT"} if "://" not in self.config.milvus_uri else \
            {"index_type": "HNSW", "params": {"M": self.config.hnsw_m,
                                              "efConstruction": self.config.hnsw_ef_construction}}

        def schema(*fields: tuple) -> object:
            made = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
            made.add_field("key", DataType.INT64, is_primary=True)
            for name, kind, options in fields:
                made.add_field(name, kind, **options)
            return made

        def create(name: str, made, indexes: list[tuple[str, dict]]) -> None:
            if client.has_collection(name):
                client.drop_collection(name)  # left half-made by a writer that stopped before the documents
            params = client.prepare_index_params()
            for field, options in indexes:
                params.add_index(field, **options)
            for field in made.fields:  # the keys writes and questions filter by: without an index, every filter scans
                if field.name in FILTERED:
                    params.add_index(field.name, index_type="INVERTED")
            client.create_collection(name, schema=made, index_params=params)

        text = {"max_length": TEXT_BYTES}
        owned = (("doc_key", DataType.INT64, {}), ("revision", DataType.VARCHAR, {"max_length": 32}))  # by a document
        chunks = schema(*owned, ("doc", DataType.VARCHAR, {"max_length": ID_BYTES}), ("ordinal", DataType.INT64, {}),
                        ("unit_lo", DataType.INT64, {}), ("unit_hi", DataType.INT64, {}),
                        ("start", DataType.INT64, {}), ("end", DataType.INT64, {}),
                        ("text", DataType.VARCHAR, text), ("title", DataType.VARCHAR, text),
                        ("lexical", DataType.VARCHAR, {**text, "enable_analyzer": True,
                                                       "analyzer_params": {"tokenizer": "standard"}}),
                        ("bm25", DataType.SPARSE_FLOAT_VECTOR, {}),
                        ("vector", DataType.FLOAT_VECTOR, {"dim": self.dim}),
                        *([("terms", DataType.SPARSE_FLOAT_VECTOR, {})] if self.has_terms else []))
        chunks.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["lexical"],
                                     output_field_names=["bm25"]))
        create(self.chunks, chunks, [
            ("vector", {**vector_index, "metric_type": "IP"}),
            ("bm25", {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "BM25",
                      "params": {"bm25_k1": 1.5, "bm25_b": 0.75}}),  # bm25s's defaults (rag/index/lexical.py)
            *([("terms", {"index_type": "SPARSE_INVERTED_INDEX", "metric_type": "IP"})] if self.has_terms else [])])
        create(self.units, schema(*owned, ("start", DataType.INT64, {}),
                                  ("end", DataType.INT64, {}), ("vector", DataType.FLOAT_VECTOR, {"dim": self.dim})),
               [("vector", {**vector_index, "metric_type": "IP"})])
        placeholder = ("placeholder", DataType.FLOAT_VECTOR, {"dim": len(PLACEHOLDER)})
        flat = ("placeholder", {"index_type": "FLAT", "metric_type": "IP"})
        create(self.lexicon, schema(placeholder), [flat])
        create(self.documents, schema(*owned, ("doc", DataType.VARCHAR, {"max_length": ID_BYTES}),
                                      ("part", DataType.INT64, {}), ("parts", DataType.INT64, {}),
                                      ("title", DataType.VARCHAR, text),
                                      ("meta", DataType.JSON, {}), ("chunks", DataType.INT64, {}),
                                      ("units", DataType.INT64, {}),
                                      ("chars", DataType.INT64, {}), ("text", DataType.VARCHAR, text), placeholder),
               [flat])
        for name in (self.chunks, self.units, self.documents, self.lexicon):
            client.load_collection(name)


def _term_arrays(rows: list[dict[int, float]]) -> tuple[np.ndarray, np.ndarray]:
    """Latent terms (sparse rows) as the term ids and weights of a Snapshot, heaviest first, padded with zeros."""
    ordered = [sorted(row.items(), key=lambda item: -item[1]) for row in rows]
    width = max(map(len, ordered), default=0)
    ids, weights = np.zeros((len(rows), width), np.int32), np.zeros((len(rows), width), np.float32)
    for i, row in enumerate(ordered):
        ids[i, :len(row)] = [t for t, _ in row]
        weights[i, :len(row)] = [w for _, w in row]
    return ids, weights


def _sparse(ids: np.ndarray, weights: np.ndarray) -> dict[int, float]:
    kept = weights > 0
    return dict(zip(ids[kept].tolist(), weights[kept].tolist())) or {int(ids[0]) if len(ids) else 0: 1e-9}


@contextmanager
def milvus_errors(where: str):
    """Milvus failures as one-line IndexUnavailable errors (CLI message, HTTP 503) instead of tracebacks."""
    try:
        yield
    except RagError:
        raise
    except ImportError:
        raise IndexUnavailable("RAG_VECTOR_STORE=milvus needs pymilvus: pip install 'rag-news[milvus]'") from None
    except Exception as error:  # pymilvus raises MilvusException, gRPC and OS errors alike
        message = getattr(error, "message", None) or str(error)
        raise IndexUnavailable(f"the Milvus store ({where}) failed: {' '.join(message.split())}") from None
