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
from pathlib import Path

from common import ROOT, ask_ms, rss_mib

from rag.evaluate import percentile

QUESTIONS = ROOT / "data" / "seed_qa_dev.jsonl"


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
    cycle = itertools.cycle(questions)
    for _ in range(args.warmup):
        ask_ms(args.url, next(cycle))
    latencies = [ask_ms(args.url, next(cycle)) for _ in range(args.n)]
    print(f"{args.n} requests to {args.url.rstrip('/')}/ask ({len(questions)} questions cycled), sequential")
    print(f"p50 {percentile(latencies, 50):.1f} ms   p99 {percentile(latencies, 99):.1f} ms   "
          f"mean {statistics.fmean(latencies):.1f} ms   max {max(latencies):.1f} ms")
    if args.pid:
        try:
            print(f"server RSS {rss_mib(args.pid):.0f} MiB (pid {args.pid})")
        except OSError:
            print(f"no process {args.pid}")


if __name__ == "__main__":
    main()
