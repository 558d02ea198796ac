"""Bounded load test on loopback: starts `rag serve` on 127.0.0.1 over a temporary copy of an index, runs N
concurrent clients for D seconds (mixed POST /ask and GET /search, plus a few POST/DELETE /documents), and reports
throughput, p50/p99 latency per kind, the error count (must be 0) and the server's RSS before, after and at ten
even steps in between (to tell a plateau from a leak in a long run).

    python scripts/load_test.py                      # 60 s, 8 clients, over a copy of ./index (or $RAG_INDEX_DIR)
    python scripts/load_test.py --duration 5 --json  # a short run, one JSON object
    python scripts/load_test.py --duration 900       # a soak: does RSS level off?

The server runs with RAG_RATE_LIMIT=0 (all clients share 127.0.0.1; the default 600/min would answer 429).
Exit status 1 when any request failed.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import ROOT, ServeProcess, rss_mib

from rag.evaluate import percentile

QUESTIONS = ["Was sagte Lawrow über ein Bündnis?", "What did Lawrow say about an alliance?",
             "Wann trafen sich Putin und Xi Jinping?", "Welche Rolle spielt Kasachstan?",
             "Was sagte Putin über den Westen?", "Wie viel Gas liefert Russland nach China?",
             "Who criticised the sanctions?", "Was bedeutet die Partnerschaft für Europa?"]


def run(url: str, duration: float, clients: int, write_every: float, seed: int) -> dict:
    latencies: dict[str, list[float]] = {"ask": [], "search": [], "post": [], "delete": []}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def record(kind: str, started: float, response: httpx.Response | None, expected: int, error: str = "") -> None:
        elapsed = time.perf_counter() - started
        with lock:
            if response is not None and response.status_code == expected:
                latencies[kind].append(elapsed)
            else:
                errors.append(f"{kind}: {response.status_code if response is not None else error} "
                              f"{response.text[:200] if response is not None else ''}")

    def reader(n: int) -> None:
        rng = random.Random(seed + n)
        with httpx.Client(base_url=url, timeout=60) as client:
            while time.monotonic() < stop_at:
                question = rng.choice(QUESTIONS)
                kind = "ask" if rng.random() < 0.6 else "search"
                started = time.perf_counter()
                try:
                    if kind == "ask":
                        response = client.post("/ask", json={"question": question, "top_k": 5})
                    else:
                        response = client.get("/search", params={"q": question, "k": 5})
                    record(kind, started, response, 200)
                except httpx.HTTPError as error:
                    record(kind, started, None, 200, repr(error))

    def writer() -> None:
        i = 0
        with httpx.Client(base_url=url, timeout=120) as client:
            while time.monotonic() + write_every < stop_at:
                time.sleep(write_every)
                doc_id = f"load/{i}"
                text = (f"Lastmeldung {i}: Die Gemeinde Quastenberg baut eine Seilbahn. Der Bürgermeister sagte, "
                        f"sie koste {i + 2} Millionen Euro.\n")
                for kind, method, path, body, expected in (("post", "POST", "/documents",
                                                            {"id": doc_id, "text": text}, 201),
                                                           ("delete", "DELETE", f"/documents/{doc_id}", None, 204)):
                    started = time.perf_counter()
                    try:
                        record(kind, started, client.request(method, path, json=body), expected)
                    except httpx.HTTPError as error:
                        record(kind, started, None, expected, repr(error))
                i += 1

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(clients)]
    if write_every > 0:
        threads.append(threading.Thread(target=writer))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    total = sum(len(v) for v in latencies.values()) + len(errors)
    return {
        "seconds": round(elapsed, 1), "clients": clients, "requests": total, "errors": len(errors),
        "error_samples": errors[:5], "throughput_rps": round(total / elapsed, 1),
        "latency_ms": {kind: {"n": len(v), "p50": round(percentile(v, 50) * 1000, 1),
                              "p99": round(percentile(v, 99) * 1000, 1)} for kind, v in latencies.items() if v},
        "reads_latency_ms": {"p50": round(percentile(latencies["ask"] + latencies["search"], 50) * 1000, 1),
                             "p99": round(percentile(latencies["ask"] + latencies["search"], 99) * 1000, 1)},
    }


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent reading clients (default 8)")
    parser.add_argument("--write-every", type=float, default=5.0,
                        help="seconds between POST+DELETE pairs of a ninth client (0: no writes; default 5)")
    parser.add_argument("--index", type=Path, default=Path(os.environ.get("RAG_INDEX_DIR", ROOT / "index")),
                        help="index to copy (built from seeds/ into the copy when missing)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        index_dir = Path(tmp) / "index"
        if (args.index / "CURRENT").exists():
            shutil.copytree(args.index, index_dir, ignore=shutil.ignore_patterns(".write.lock"))
        # building the index from seeds/ (when --index has none) takes a while on 2 cores
        with ServeProcess(index_dir, Path(tmp) / "serve.log").start(timeout=600) as server:
            url, process = server.url, server.process
            httpx.post(url + "/ask", json={"question": QUESTIONS[0]}, timeout=60)  # first-request costs out of the way
            health = httpx.get(url + "/health", timeout=30).json()
            rss_before = rss_mib(process.pid)
            anon_before = rss_mib(process.pid, "RssAnon")
            timeline: list[tuple[float, float]] = []
            done = threading.Event()

            def sample_rss() -> None:
                while not done.wait(args.duration / 10):
                    timeline.append((round(rss_mib(process.pid), 1), round(rss_mib(process.pid, "RssAnon"), 1)))

            sampler = threading.Thread(target=sample_rss, daemon=True)
            sampler.start()
            result = run(url, args.duration, args.clients, args.write_every, args.seed)
            done.set()
            result["rss_mib"] = {"before": round(rss_before, 1), "after": round(rss_mib(process.pid), 1),
                                 "anonymous_before": round(anon_before, 1),
                                 "anonymous_after": round(rss_mib(process.pid, "RssAnon"), 1),
                                 "every_tenth_of_the_run": timeline}
            result["index"] = {"documents": health["documents"], "chunks": health["chunks"]}
            result["cpus"] = os.cpu_count()
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['requests']} requests in {result['seconds']} s from {args.clients} clients "
              f"({result['throughput_rps']} req/s), errors {result['errors']}")
        for kind, figures in result["latency_ms"].items():
            print(f"  {kind:7s} n={figures['n']:5d}  p50 {figures['p50']:7.1f} ms  p99 {figures['p99']:7.1f} ms")
        print(f"  server RSS {result['rss_mib']['before']} MiB before, {result['rss_mib']['after']} MiB after; "
              f"index {result['index']['documents']} documents, {result['index']['chunks']} chunks; "
              f"{result['cpus']} CPUs")
        rss = result["rss_mib"]
        print(f"  server RSS at each tenth of the run (anonymous part in brackets): "
              f"{', '.join(f'{total} ({anon})' for total, anon in rss['every_tenth_of_the_run'])} MiB; "
              f"anonymous {rss['anonymous_before']} MiB before, {rss['anonymous_after']} MiB after")
        for sample in result["error_samples"]:
            print("  error:", sample)
    return result


if __name__ == "__main__":
    sys.exit(1 if main()["errors"] else 0)
