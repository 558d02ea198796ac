"""Reads under hostile load: /health and /ask latency while a 1 MB document is POSTed, and /ask p50 while 4
clients send 1,000-character junk questions: at --junk-rate each (inside the default rate limit of 10 a second), then
as fast as they can. Starts `rag serve` on a free 127.0.0.1 port over a copy of INDEX (default settings, no rate
limit); prints numbers.

    python scripts/reliability_bench.py --index /tmp/ix --seconds 30
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
from common import ROOT, ServeProcess

QUESTION = "Was sagte Lawrow über ein Bündnis?"


def junk(rng: random.Random) -> str:
    kind = rng.choice(["emoji", "cjk", "words"])
    if kind == "emoji":
        return "".join(rng.choice("😀😂🚡🎉🇩🇪👍🔥") for _ in range(1000))[:1000]
    if kind == "cjk":
        return "".join(chr(rng.randint(0x4E00, 0x9FFF)) for _ in range(1000))
    return " ".join("".join(rng.choice("abcdefghijklmnopqrstuvwxyzäöü") for _ in range(rng.randint(2, 9)))
                    for _ in range(200))[:1000]


def big_text(size: int, seeds: Path) -> str:
    words = " ".join(p.read_text() for p in seeds.glob("*.txt")).split()
    rng, parts, total = random.Random(1), [], 0
    while total < size:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(8, 25))).capitalize() + ". "
        parts.append(sentence)
        total += len(sentence.encode())
    return "".join(parts)


def timed(client: httpx.Client, method: str, path: str, **kwargs) -> float:
    started = time.perf_counter()
    client.request(method, path, **kwargs).raise_for_status()
    return (time.perf_counter() - started) * 1000


def sample(url: str, seconds: float) -> dict[str, list[float]]:
    got = {"health": [], "ask": []}
    with httpx.Client(base_url=url, timeout=60) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            got["health"].append(timed(client, "GET", "/health"))
            got["ask"].append(timed(client, "POST", "/ask", json={"question": QUESTION}))
    return got


def show(label: str, got: dict[str, list[float]]) -> None:
    print(f"{label:32}" + "  ".join(f"{name} n={len(v):3} p50 {statistics.median(v):7.1f} ms max {max(v):7.1f} ms"
                                    for name, v in got.items()), flush=True)


def junk_phase(url: str, rate: float, seconds: float) -> None:
    """/health and /ask while 4 clients send junk questions, ``rate`` a second each (0: as fast as they can)."""
    stop = threading.Event()
    refused = []

    def junk_client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=url, timeout=120) as client:
            while not stop.wait(1 / rate if rate else 0):
                refused.append(client.post("/ask", json={"question": junk(rng)}).status_code)

    clients = [threading.Thread(target=junk_client, args=(i,)) for i in range(4)]
    for thread in clients:
        thread.start()
    show(f"4 junk clients, {f'{rate:g}/s each' if rate else 'unpaced'}", sample(url, seconds))
    stop.set()
    for thread in clients:
        thread.join()
    print(f"  junk questions sent {len(refused)}, statuses {sorted(set(refused))}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index", type=Path, required=True, help="an index of the seeds (bundled model)")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--bytes", type=int, default=1_000_000)
    parser.add_argument("--junk-rate", type=float, default=5, help="junk questions a second per client; 0: unpaced")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rag-reliability-"))
    shutil.copytree(args.index, work / "index")
    server = ServeProcess(work / "index", work / "serve.log").start(timeout=120)
    url = server.url
    try:
        show("quiet", sample(url, args.seconds))
        for rate in dict.fromkeys([args.junk_rate, 0.0]):
            junk_phase(url, rate, args.seconds)

        text = big_text(args.bytes, ROOT / "seeds")
        posted = {}

        def post() -> None:
            started = time.perf_counter()
            try:
                response = httpx.post(url + "/documents", json={"id": "big", "text": text}, timeout=None)
            except httpx.TransportError:  # the server is killed at the end, usually before it answers
                return
            posted.update(status=response.status_code, seconds=time.perf_counter() - started)

        writer = threading.Thread(target=post, daemon=True)
        writer.start()
        time.sleep(2)
        show(f"during a {len(text.encode()) / 1e6:.2f} MB POST", sample(url, args.seconds))
        extra = httpx.post(url + "/documents", json={"text": "Ein Satz."}, timeout=60)
        extra2 = httpx.post(url + "/documents", json={"text": "Noch ein Satz."}, timeout=60)
        print(f"  two more POSTs meanwhile: {extra.status_code}, {extra2.status_code} "
              f"(Retry-After {extra2.headers.get('retry-after')})")
        writer.join(float(os.environ.get("BIG_POST_WAIT_S", "0")))
        print(f"  the 1 MB POST: {posted or 'still running'}")
    finally:
        server.kill()  # the 1 MB POST may still be embedding
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
