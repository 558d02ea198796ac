"""Milvus mode, with milvus-lite's gRPC server in a process of its own (so a worker's memory is the worker's alone).

    python scripts/bench_milvus.py latency [--rounds 100] [--work /tmp/bench-milvus]
    python scripts/bench_milvus.py sizes --sizes 1000 10000 100000 [--questions 20] [--work /tmp/bench-milvus]

``latency``: /ask p50 on the seeds in Milvus mode and in FAISS mode in the same run: one worker of each, the seed
questions sent to one then the other, in turns.

``sizes``: an API worker's memory, /ask latency and the cost of adding one document as the corpus grows. The corpus
is synthetic beside the seeds: documents of 10 chunks of seed words with 4 answer units each, random unit
vectors and 256 latent terms per chunk (what the bundled model gives), put straight into Milvus (nothing encoded), then
the five seeds ingested for real so that the questions have their answers. At each size it prints the worker's RSS
after the questions, /ask p50 (seed questions over HTTP) and the wall time of POST /documents for one seed article
(the worker encodes it) and the time writing the same article, encoded beforehand, takes: what a write adds to its
own encoding.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

import httpx
import numpy as np
from common import ROOT, MilvusLiteServer, ServeProcess, ask_ms, rss_mib

from rag.corpus.files import read_folder
from rag.encoder.embed import load_embedder
from rag.index.chunk import split_document
from rag.index.encode import encode_documents
from rag.index.milvus import MilvusCorpus
from rag.index.store import StoreConfig
from rag.index.versions import Entry, Index
from rag.settings import Settings
from rag.types import Document

CHUNKS_PER_DOCUMENT = 10
UNITS_PER_CHUNK = 4
TERMS_PER_CHUNK = 256


def synthetic(number: int, words: list[str], rng: np.random.Generator, dim: int, term_space: int) -> Entry:
    text = " ".join(rng.choice(words, CHUNKS_PER_DOCUMENT * 110))
    step = len(text) // CHUNKS_PER_DOCUMENT
    chunk_spans = np.array([[k * step, (k + 1) * step] for k in range(CHUNKS_PER_DOCUMENT)], np.int64)
    unit_step = step // UNITS_PER_CHUNK
    units = CHUNKS_PER_DOCUMENT * UNITS_PER_CHUNK
    unit_spans = np.array([[k * unit_step, (k + 1) * unit_step] for k in range(units)], np.int64)

    def unit_rows(n: int) -> np.ndarray:
        rows = rng.normal(size=(n, dim)).astype(np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    term_ids = np.stack([rng.choice(term_space, TERMS_PER_CHUNK, replace=False)
                         for _ in range(CHUNKS_PER_DOCUMENT)]).astype(np.int32)
    term_weights = rng.random((CHUNKS_PER_DOCUMENT, TERMS_PER_CHUNK)).astype(np.float32)
    return Entry(Document(f"synthetic-{number:06d}", text, f"Synthetic {number}"), chunk_spans,
                 unit_rows(CHUNKS_PER_DOCUMENT), unit_spans, unit_rows(units), term_ids, term_weights)


def seed_entries(settings: Settings, embedder) -> list[Entry]:
    return encode_documents([split_document(d, settings.chunk_chars, settings.chunk_overlap_chars)
                             for d in read_folder(ROOT / "seeds")], embedder, settings.batch_size)


def seed_questions() -> list[str]:
    return [json.loads(line)["question"] for line in (ROOT / "data" / "seed_qa_dev.jsonl").read_text().splitlines()]


def latency(args: argparse.Namespace, milvus: MilvusLiteServer, corpus: MilvusCorpus, entries: list[Entry]) -> None:
    folder = args.work / "faiss-index"
    index = Index(corpus.model, corpus.dim, encoding=corpus.encoding)
    for entry in entries:
        index.put(entry)
    index.save(folder)
    questions = seed_questions()
    timings: dict[str, list[float]] = {"faiss": [], "milvus": []}
    with ServeProcess(folder, args.work / "serve-faiss.log", RAG_RATE_LIMIT="0").start(timeout=300) as faiss_worker, \
            ServeProcess(args.work / "no-folder", args.work / "serve-milvus.log", RAG_RATE_LIMIT="0",
                         RAG_VECTOR_STORE="milvus", RAG_MILVUS_URI=milvus.url).start(timeout=300) as milvus_worker:
        for url in (faiss_worker.url, milvus_worker.url):  # the first questions warm caches up
            for question in questions:
                ask_ms(url, question)
        for turn in range(args.rounds):
            question = questions[turn % len(questions)]
            timings["faiss"].append(ask_ms(faiss_worker.url, question))
            timings["milvus"].append(ask_ms(milvus_worker.url, question))
    p50 = {store: statistics.median(values) for store, values in timings.items()}
    print(f"/ask p50 over {args.rounds} seed questions each, in turns: FAISS {p50['faiss']:.1f} ms, "
          f"Milvus {p50['milvus']:.1f} ms ({p50['milvus'] / p50['faiss']:.2f}x)")


def sizes(args: argparse.Namespace, milvus: MilvusLiteServer, corpus: MilvusCorpus, embedder) -> None:
    settings = Settings(index_dir=args.work / "no-folder", vector_store="milvus", milvus_uri=milvus.url)
    questions = (seed_questions() * args.questions)[:args.questions]
    seeds = read_folder(ROOT / "seeds")
    article = Document("added-article", seeds[0].text, seeds[0].title)
    words = " ".join(d.text for d in seeds).split()
    rng = np.random.default_rng(0)
    made, chunks = 0, corpus.chunk_count
    encoded, = encode_documents([split_document(Document("encoded-article", article.text, article.title),
                                                 settings.chunk_chars, settings.chunk_overlap_chars)],
                                embedder, settings.batch_size)
    print("chunks | worker RSS MiB | /ask p50 ms | POST one article s (encoding included) | "
          "writing it encoded s | fill s")
    for size in args.sizes:
        started = time.perf_counter()
        while chunks < size:
            corpus.put(synthetic(made, words, rng, corpus.dim, embedder.term_space))
            made, chunks = made + 1, chunks + CHUNKS_PER_DOCUMENT
        filled = time.perf_counter() - started
        with ServeProcess(args.work / "no-folder", args.work / f"serve-{size}.log", RAG_VECTOR_STORE="milvus",
                          RAG_MILVUS_URI=milvus.url).start(timeout=300) as worker:
            latencies = [ask_ms(worker.url, q) for q in questions]
            rss = rss_mib(worker.process.pid)
            post_started = time.perf_counter()
            reply = httpx.post(worker.url + "/documents", json={"id": f"{article.id}-{size}", "text": article.text,
                                                                "title": article.title}, timeout=300)
            posted = time.perf_counter() - post_started
            assert reply.status_code == 201, reply.text
        write_started = time.perf_counter()  # what the write adds to the encoding: the check, the rows, the count
        entry = replace(encoded, document=replace(encoded.document, id=f"encoded-article-{size}"))
        corpus.catalogue([entry.document.id])
        corpus.put(entry)
        chunks = corpus.chunk_count
        written = time.perf_counter() - write_started
        print(f"{chunks} | {rss:.0f} | {statistics.median(latencies):.0f} | {posted:.2f} | {written:.2f} | "
              f"{filled:.0f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["latency", "sizes"])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--questions", type=int, default=20, help="sizes: questions asked at each size")
    parser.add_argument("--rounds", type=int, default=100, help="latency: questions asked of each worker")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-milvus"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    settings = Settings.defaults()
    embedder = load_embedder(settings.model)
    with MilvusLiteServer(args.work / "milvus-data", args.work / "milvus.log").start() as milvus:
        config = StoreConfig.from_settings(settings.model_copy(update={"vector_store": "milvus",
                                                                       "milvus_uri": milvus.url}))
        corpus = MilvusCorpus(config, embedder.name, embedder.dim, embedder.encoding, has_terms=True)
        entries = seed_entries(settings, embedder)
        with corpus.writing() as writing:
            for entry in entries:
                writing.put(entry)
        if args.what == "latency":
            latency(args, milvus, corpus, entries)
        else:
            sizes(args, milvus, corpus, embedder)


if __name__ == "__main__":
    main()
