#!/usr/bin/env python
"""The large-index benchmark: FAISS HNSW (as rag.index.store.FaissStore.build builds it) over synthetic clustered vectors.

    python scripts/bench_faiss.py [--n 1000000] [--dim 384] [--m 32] [--ef-construction 80]
                                  [--ef-search 16,32,64,128,256] [--queries 200] [--startup]

Vectors: a gaussian mixture (``--clusters`` centres on the unit sphere, points = centre + noise, normalised), so
near neighbours exist and recall means something. Reports build time and memory, single-query latency p50/p99
and recall@10 against exact search (IndexFlatIP) for each efSearch, the exact search latency for comparison and,
with --startup, the start-up of a saved rag index of that many chunks: Index.open (checksums + arrays) and
its FAISS index loaded from the saved graph versus rebuilt.
"""  # noqa: E501
from __future__ import annotations

import argparse
import gc
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np
from common import rss_mib

from rag.corpus.files import make_document
from rag.evaluate import percentile
from rag.index.store import FaissStore, StoreConfig
from rag.index.versions import TERM_ARRAYS, Entry, Index, Snapshot
from rag.settings import Settings, default


def mixture(n: int, dim: int, clusters: int, spread: float, seed: int, centres=None):
    """``n`` normalised points around ``clusters`` unit centres (same centres for the same seed)."""
    rng = np.random.default_rng(seed)
    if centres is None:
        centres = rng.standard_normal((clusters, dim)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    out = np.empty((n, dim), np.float32)
    block = 100_000
    for lo in range(0, n, block):
        hi = min(n, lo + block)
        labels = rng.integers(0, len(centres), hi - lo)
        points = centres[labels] + rng.standard_normal((hi - lo, dim)).astype(np.float32) * (spread / np.sqrt(dim))
        out[lo:hi] = points / np.linalg.norm(points, axis=1, keepdims=True)
    return out, centres


def timed_search(index, queries: np.ndarray, k: int, repeat: int = 1):
    latencies, found = [], []
    for _ in range(repeat):
        for q in queries:
            started = time.perf_counter()
            _, rows = index.search(q.reshape(1, -1), k)
            latencies.append((time.perf_counter() - started) * 1000)
            found.append(rows[0])
    return latencies, found[: len(queries)]


def recall_at(found, truth, k: int) -> float:
    return float(np.mean([len(set(f[:k].tolist()) & set(t[:k].tolist())) / k for f, t in zip(found, truth)]))


def startup(vectors: np.ndarray, hnsw: faiss.Index, config: StoreConfig, docs: int) -> None:
    """Save a rag Index of len(vectors) chunks (one unit per chunk) with its HNSW graph, then time opening it."""
    n, dim = vectors.shape
    folder = Path(tempfile.mkdtemp(prefix="rag-bench-faiss-"))
    try:
        index = Index("synthetic", dim, config)
        per = n // docs
        text = "x" * 64
        spans = np.tile(np.array([[0, 64]], np.int64), (per, 1))
        for d in range(docs):
            block = vectors[d * per:(d + 1) * per]
            index.put(Entry(make_document(f"doc{d:06d}", text), spans, block, spans, block))
        graph = folder / "prebuilt.faiss"
        faiss.write_index(hnsw, str(graph))
        # the graph built above stands in for the one save() would build (same vectors, same parameters)
        entries = list(index.entries.values())
        arrays = {"chunk_counts": np.full(docs, per, np.int64), "chunk_vectors": vectors[: per * docs],
                  "unit_counts": np.full(docs, per, np.int64), "unit_vectors": vectors[: per * docs],
                  **{name: np.concatenate([getattr(e, name) for e in entries])
                     for name in ("chunk_spans", "unit_spans", *TERM_ARRAYS)}}
        index._snapshot = Snapshot(entries, dim, config, dict(arrays, faiss=graph, digest=None))
        started = time.perf_counter()
        version = index.save(folder / "index")
        save_s = time.perf_counter() - started
        graph.unlink()
        sizes = {p.name: p.stat().st_size / 2**20 for p in version.iterdir()}
        del index, arrays
        gc.collect()
        os.system("sync")
        base = rss_mib()
        started = time.perf_counter()
        opened = Index.open(folder / "index", "synthetic", config)
        open_s = time.perf_counter() - started
        started = time.perf_counter()
        snapshot = opened.snapshot
        load_s = time.perf_counter() - started
        assert snapshot.store.is_hnsw and snapshot.store.ntotal == per * docs
        rss = rss_mib() - base
        print(f"\n## start-up of a saved index of {per * docs:,} chunks ({docs} documents, 1 unit per chunk)")
        print(f"save (arrays + HNSW file, checksums, fsync): {save_s:.1f} s; files: "
              + ", ".join(f"{k} {v:.0f} MiB" for k, v in sorted(sizes.items()) if v > 1))
        print(f"Index.open (checksums + np.load + entries): {open_s:.1f} s")
        print(f"snapshot: FAISS HNSW read from {version.name}/chunks.faiss: {load_s:.1f} s "
              f"(rebuilding it instead costs the build time above)")
        print(f"start-up total {open_s + load_s:.1f} s; RSS added by the opened index {rss:.0f} MiB")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--clusters", type=int, default=5_000)
    parser.add_argument("--spread", type=float, default=1.0, help="noise norm relative to the unit centre")
    parser.add_argument("--m", type=int, default=default("hnsw_m"))
    parser.add_argument("--ef-construction", type=int, default=default("hnsw_ef_construction"))
    parser.add_argument("--ef-search", default="16,32,64,128,256")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--threads", type=int, default=0, help="FAISS OpenMP threads (0: all cores)")
    parser.add_argument("--startup", action="store_true", help="also time opening a saved rag index of --n chunks")
    parser.add_argument("--docs", type=int, default=1000, help="documents of the --startup index")
    args = parser.parse_args()
    if args.threads:
        faiss.omp_set_num_threads(args.threads)
    print(f"# FAISS {faiss.__version__}, {faiss.omp_get_max_threads()} threads, {os.cpu_count()} cores; "
          f"n={args.n:,} dim={args.dim} clusters={args.clusters} spread={args.spread}")

    started = time.perf_counter()
    base = rss_mib()
    vectors, centres = mixture(args.n, args.dim, args.clusters, args.spread, seed=1)
    queries, _ = mixture(args.queries, args.dim, args.clusters, args.spread, seed=2, centres=centres)
    print(f"data: {time.perf_counter() - started:.1f} s, {vectors.nbytes / 2**20:.0f} MiB")

    flat = faiss.IndexFlatIP(args.dim)
    flat.add(vectors)
    started = time.perf_counter()
    _, truth = flat.search(queries, args.k)
    exact_batch = time.perf_counter() - started
    exact_lat, _ = timed_search(flat, queries[:50], args.k)
    print(f"exact IndexFlatIP: ground truth for {args.queries} queries in {exact_batch:.1f} s (batched); "
          f"single query p50 {percentile(exact_lat, 50):.1f} ms p99 {percentile(exact_lat, 99):.1f} ms")
    del flat
    gc.collect()

    before = rss_mib()
    started = time.perf_counter()
    config = StoreConfig.from_settings(Settings.defaults().model_copy(
        update={"exact_below": 0, "hnsw_m": args.m, "hnsw_ef_construction": args.ef_construction}))
    hnsw = FaissStore.build(vectors, config).index
    build_s = time.perf_counter() - started
    added = rss_mib() - before
    print(f"\n## HNSW M={args.m} efConstruction={args.ef_construction}")
    print(f"build {build_s:.1f} s ({args.n / build_s:,.0f} vectors/s); memory of the index {added:.0f} MiB "
          f"(vectors {vectors.nbytes / 2**20:.0f} MiB + graph); process RSS {rss_mib():.0f} MiB (base {base:.0f})")
    print("| efSearch | p50 ms | p99 ms | recall@10 |")
    print("|---:|---:|---:|---:|")
    for ef in (int(x) for x in args.ef_search.split(",")):
        hnsw.hnsw.efSearch = ef
        timed_search(hnsw, queries[:20], args.k)  # warm
        lat, found = timed_search(hnsw, queries, args.k, repeat=3)
        print(f"| {ef} | {percentile(lat, 50):.2f} | {percentile(lat, 99):.2f} | "
              f"{recall_at(found, truth, args.k):.3f} |")
        sys.stdout.flush()

    if args.startup:
        startup(vectors, hnsw, config, args.docs)


if __name__ == "__main__":
    main()
