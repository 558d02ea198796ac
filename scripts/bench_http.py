#!/usr/bin/env python
"""Latency of POST /ask against a running service (this script starts nothing).

    python scripts/bench_http.py [--url http://127.0.0.1:8000] [--n 300] [--pid PID]

Sends the seed questions (data/seed_qa_dev.jsonl, cycled) one after another and prints p50/p99 latency
in ms, and the server's resident memory when --pid names its process.
"""
from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "data" / "seed_qa_dev.jsonl"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))  # nearest rank
    return ordered[rank]


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description="p50/p99 latency of POST /ask")
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--n", type=int, default=300, help="requests to send")
    parser.add_argument("--pid", type=int, help="the server's process id, for its RSS")
    parser.add_argument("--questions", type=Path, default=QUESTIONS)
    parser.add_argument("--warmup", type=int, default=3, help="requests sent first and not counted")
    args = parser.parse_args()

    questions = [json.loads(line)["question"] for line in args.questions.read_text().splitlines() if line.strip()]
    if not questions:
        sys.exit(f"no questions in {args.questions}")
    url = args.url.rstrip("/") + "/ask"

    def ask(question: str) -> float:
        body = json.dumps({"question": question}).encode()
        request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{url} answered {response.status}")
        return (time.perf_counter() - started) * 1000

    cycle = itertools.cycle(questions)
    for _ in range(args.warmup):
        ask(next(cycle))
    latencies = [ask(next(cycle)) for _ in range(args.n)]
    print(f"{args.n} requests to {url} ({len(questions)} questions cycled), sequential")
    print(f"p50 {percentile(latencies, 50):.1f} ms   p99 {percentile(latencies, 99):.1f} ms   "
          f"mean {statistics.fmean(latencies):.1f} ms   max {max(latencies):.1f} ms")
    if args.pid:
        rss = rss_mib(args.pid)
        print(f"server RSS {rss:.0f} MiB (pid {args.pid})" if rss is not None else f"no process {args.pid}")


if __name__ == "__main__":
    main()
