"""Wall time of a question from a cold process: `rag ask` of this checkout against an older one (alternating runs),
and `rag ask --server` against a running `rag serve`; prints medians and the load average around each run.

    python scripts/bench_cold_ask.py --old /tmp/old-cold --runs 5
    python scripts/bench_cold_ask.py --old /tmp/old-cold --phases    # where a cold question's time goes, by step
    python scripts/bench_cold_ask.py --old /tmp/old-cold --tokenizer # the tokenizer's cost: made, then 1,430 texts

Each checkout gets its own index of the seeds (`rag ingest seeds/`, kept in --work) and its own cache folder
(XDG_CACHE_HOME); the first run of this checkout, with its cache empty, is reported apart.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAG = [sys.executable, "-c", "from rag.cli import main; main()"]
QUESTION = "What did Lawrow say about an alliance?"
XQUAD_DE = "data/xquad/xquad.de.json"


def environment(checkout: Path, work: Path, name: str) -> dict:
    """The checkout's code, index and cache (every run starts in ``work``: `python -c` puts the folder it starts in
    first on sys.path, before PYTHONPATH)."""
    return {**os.environ, "PYTHONPATH": str(checkout), "RAG_INDEX_DIR": str(work / f"index-{name}"),
            "XDG_CACHE_HOME": str(work / f"cache-{name}")}


def timed(command: list[str], env: dict, work: Path) -> tuple[float, float, float]:
    """Wall and CPU seconds of one run, and the 1-minute load average before it."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=work, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, load


def report(name: str, runs: list[tuple[float, float, float]]) -> None:
    walls, cpus, loads = zip(*runs)
    print(f"{name:34s} median {statistics.median(walls):5.2f} s wall, {statistics.median(cpus):5.2f} s CPU "
          f"(walls {', '.join(f'{w:.2f}' for w in walls)}; load {min(loads):.1f}-{max(loads):.1f})", flush=True)


def serving(env: dict, work: Path, port: int):
    server = subprocess.Popen([*RAG, "serve", "--port", str(port)], env=env, cwd=work, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("rag serve did not start")


PHASES = """
import time
marks, rows = [(time.process_time(), time.perf_counter())], []
def step(name):
    marks.append((time.process_time(), time.perf_counter()))
    rows.append((name, *(b - a for a, b in zip(marks[-2], marks[-1]))))
import rag.cli; step("import rag.cli (click, settings)")
from rag.pipeline import Pipeline; step("import rag.pipeline (numpy, faiss, bm25s …)")
pipeline = Pipeline(); pipeline.index; step("open the index")
from rag.encoder import e5_files, tokenize; e5_files.load(); tokenize.bundled(); step("model files and tokenizer")
pipeline.embedder.warm_up(); step("encoder session")
pipeline.reader.warm_up(); step("reader session")
pipeline.ask(%r); step("the question")
for name, cpu, wall in rows:
    print(f"  {name:44s} {cpu * 1000:6.0f} ms CPU {wall * 1000:6.0f} ms wall")
"""


TOKENIZER = """
import json, time
started = time.process_time()
from rag.encoder.tokenize import bundled
tokenizer = bundled()
made = time.process_time()
xquad = json.load(open(%r))["data"]
texts = [p["context"] for a in xquad for p in a["paragraphs"]]
texts += [q["question"] for a in xquad for p in a["paragraphs"] for q in p["qas"]]
for text in texts:
    tokenizer.encode(text)
first = time.process_time()
for text in texts:
    tokenizer.encode(text)
print(f"  made in {(made - started) * 1000:.0f} ms CPU; {len(texts)} XQuAD-de texts ({sum(map(len, texts)):,} "
      f"characters) in {(first - made) * 1000:.0f} ms, again in {(time.process_time() - first) * 1000:.0f} ms")
"""


def in_each(envs: dict, work: Path, code: str) -> None:
    """``code`` in a fresh process of each checkout."""
    for name, env in envs.items():
        print(f"{name} (load {os.getloadavg()[0]:.1f}):", flush=True)
        subprocess.run([sys.executable, "-c", code], env=env, cwd=work, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--old", type=Path, required=True, help="a checkout of the older code")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, default=None, help="keep indexes and caches here (default: a temp folder)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--phases", action="store_true", help="only time the steps of one cold question of each")
    parser.add_argument("--tokenizer", action="store_true", help="only time making the tokenizer and its encoding")
    args = parser.parse_args()
    work = (args.work or Path(tempfile.mkdtemp(prefix="bench-cold-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    envs = {"old": environment(args.old.resolve(), work, "old"), "new": environment(ROOT, work, "new")}
    for env in envs.values():
        if not Path(env["RAG_INDEX_DIR"], "CURRENT").exists():
            subprocess.run([*RAG, "ingest", str(ROOT / "seeds")], env=env, cwd=work, check=True,
                           stdout=subprocess.DEVNULL)
    ask = [*RAG, "ask", QUESTION]
    if args.phases or args.tokenizer:
        for env in envs.values():  # caches made
            subprocess.run(ask, env=env, cwd=work, check=True, stdout=subprocess.DEVNULL)
        return in_each(envs, work, PHASES % QUESTION if args.phases else TOKENIZER % str(ROOT / XQUAD_DE))
    shutil.rmtree(envs["new"]["XDG_CACHE_HOME"], ignore_errors=True)
    print(f"question: {QUESTION!r}; {os.cpu_count()} CPUs; {args.runs} runs each", flush=True)
    report("new, first run (cache empty)", [timed(ask, envs["new"], work)])
    runs = {"old": [], "new": []}
    for _ in range(args.runs):
        for name in runs:  # alternating, so that both see the same load
            runs[name].append(timed(ask, envs[name], work))
    for name in runs:
        report(f"rag ask, {name}", runs[name])
    report("rag --help, new", [timed([*RAG, "--help"], envs["new"], work) for _ in range(args.runs)])
    server = serving(envs["new"], work, args.port)
    try:
        url = f"http://127.0.0.1:{args.port}"
        report("rag ask --server, new", [timed([*ask, "--server", url], envs["new"], work) for _ in range(args.runs)])
        reply = subprocess.run([*ask, "--server", url, "--json"], env=envs["new"], cwd=work, check=True,
                               capture_output=True, text=True).stdout
        print(f"the server's own time for the question: {json.loads(reply)['timings_ms']['total']:.0f} ms")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
