#!/usr/bin/env python
"""Run the benchmarks with `rag eval … --json` and regenerate the tables of docs/benchmarks.md.

    python scripts/benchmarks.py                      # XQuAD de + en questions, seed QA → docs/benchmarks.md
    python scripts/benchmarks.py --questions-dir data/questions/   # + one cross-lingual table per xquad.LANG.jsonl
    python scripts/benchmarks.py --limit 5 --output /tmp/b.md      # a quick smoke run

Only the block between ``<!-- generated:start -->`` and ``<!-- generated:end -->`` is rewritten; hand-written text
around it stays. Each table is preceded by the exact command that produced it (run from the repository root).
The seed QA run uses a fresh index built from seeds/ in a temporary folder, never the service's own index.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from common import RAG, ROOT

from rag.evaluate import QA_COLUMNS, SQUAD_COLUMNS, table

START, END = "<!-- generated:start -->", "<!-- generated:end -->"
CROSS_COLUMNS = [("R@1", "recall_at_1"), ("MRR@10", "mrr_at_10"), ("hit@1", "answer_hit_at_1"),
                 ("ranked hit@1", "ranked_hit_at_1"), ("no-ans", "no_answer_rate")]
QUESTION_WORDS = [  # (label, pattern on the question's start, German and English)
    ("wie viele / how many", r"(wie ?viele?n?|how (many|much))\b"),
    ("wann / when", r"(wann|seit wann|in welchem jahr|when|what year|in what year)\b"),
    ("wer / who", r"(wer|wen|wem|wessen|who|whom|whose)\b"),
    ("wo / where", r"(wo|wohin|woher|where)\b"),
    ("warum / why", r"(warum|weshalb|wieso|why)\b"),
    ("wie / how", r"(wie|how)\b"),
    ("welche / which", r"(welche[rsnm]?|which)\b"),
    ("was / what", r"(was|what)\b"),
]


def shown(path: Path) -> str:
    """A path as written in the printed command: relative to the repository root when possible."""
    path = Path(path).resolve()
    try:
        return os.path.relpath(path, ROOT)
    except ValueError:
        return str(path)


# The bundled model runs on OpenMP; its default busy-waiting threads slow a query down ~8x as soon as another
# process competes for the cores (measured: 750 ms vs 95 ms per query on a loaded 2-core machine). Passive
# waiting costs nothing measurable on an idle machine, so the runs use it unless the caller set a policy.
BASE_ENV = {"OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE")}


SAVE_DIR: Path | None = None  # --save-json: every output is written as soon as its run ends


REPLAY_DIR: Path | None = None  # --from-json: re-render the tables from a --save-json folder, running nothing


def run_json(args: list[str], env: dict | None = None, name: str | None = None) -> tuple[dict, float]:
    if REPLAY_DIR is not None:
        seconds = (json.loads((REPLAY_DIR / "seconds.json").read_text())
                   if (REPLAY_DIR / "seconds.json").exists() else {})
        return json.loads((REPLAY_DIR / f"{name}.json").read_text(encoding="utf-8")), float(seconds.get(name, 0))
    started = time.perf_counter()
    print("$ rag " + " ".join(shlex.quote(a) for a in args), file=sys.stderr, flush=True)
    done = subprocess.run([*RAG, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                          env={**os.environ, **BASE_ENV, **(env or {})})
    if done.returncode:
        sys.exit(f"rag {' '.join(args)} failed with status {done.returncode}")
    if SAVE_DIR is not None and name:
        SAVE_DIR.mkdir(parents=True, exist_ok=True)
        (SAVE_DIR / f"{name}.json").write_text(done.stdout, encoding="utf-8")
        timings = SAVE_DIR / "seconds.json"
        seconds = json.loads(timings.read_text()) if timings.exists() else {}
        seconds[name] = round(time.perf_counter() - started, 1)
        timings.write_text(json.dumps(seconds, indent=1))
    return json.loads(done.stdout), time.perf_counter() - started


def run_plain(args: list[str], env: dict | None = None) -> None:
    if REPLAY_DIR is not None:
        return
    print("$ rag " + " ".join(shlex.quote(a) for a in args), file=sys.stderr, flush=True)
    subprocess.run([*RAG, *args], cwd=ROOT, check=True, env={**os.environ, **BASE_ENV, **(env or {})})


def command(args: list[str], env: str = "") -> str:
    return "```\n" + env + "rag " + " ".join(shlex.quote(a) for a in args) + "\n```"


def squad_section(title: str, args: list[str], outcome: dict, seconds: float, setup: str = "") -> str:
    run = outcome["run"]
    first = next(iter(outcome["metrics"].values()))
    lines = [f"### {title}", "", setup + command(args), "",
             f"{run['paragraphs']} paragraphs → {first['chunks']} chunks, ingested once in {first['ingest_s']:.1f} s "
             f"({first['chunks_per_s']} chunks/s); {run['questions']} questions per mode; "
             f"whole command {seconds:.0f} s"
             + (" (paragraph index reused from the first run, as by `--index-cache`; ingest time is that run's)"
                if first.get("ingest_cached") else "") + ".", "",
             table(outcome["metrics"], SQUAD_COLUMNS, markdown=True), ""]
    return "\n".join(lines)


def question_word(question: str) -> str:
    text = question.strip().lower()
    for label, pattern in QUESTION_WORDS:
        if re.match(pattern, text) or re.search(r"\b" + pattern, text[:40]):
            return label
    return "other"


def breakdown(outcome: dict) -> str:
    """answer-hit@1 and R@1 per question word, plus where extraction misses although retrieval is right."""
    modes = list(outcome["metrics"])
    groups: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for row in outcome["results"]:
        groups[question_word(row["question"])][row["mode"]].append(row)
        groups["all"][row["mode"]].append(row)
    header = ["question", "n"] + [f"hit@1 {m}" for m in modes] + [f"R@1 {m}" for m in modes]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 1)]
    order = [label for label, _ in QUESTION_WORDS] + ["other", "all"]
    for label in order:
        if label not in groups:
            continue
        by_mode = groups[label]
        n = len(by_mode[modes[0]])
        hits = [sum(r["hit"] for r in by_mode[m]) / n for m in modes]
        r1 = [sum(r["rank"] == 1 for r in by_mode[m]) / n for m in modes]
        lines.append(f"| {label} | {n} | " + " | ".join(f"{v:.3f}" for v in hits + r1) + " |")
    misses = ["", "| mode | R@1 but no hit@1 | other unit of the gold paragraph | overlaps the gold span, cuts it | "
              "answer from another paragraph | no answer |", "|---|---:|---:|---:|---:|---:|"]
    for mode in modes:
        rows = groups["all"][mode]
        kinds = defaultdict(int)
        right = [r for r in rows if r["rank"] == 1 and not r["hit"]]
        for r in right:
            kinds[miss_kind(r)] += 1
        misses.append(f"| {mode} | {len(right) / len(rows):.3f} | " + " | ".join(
            f"{kinds[k] / len(rows):.3f}" for k in ("other", "cut", "elsewhere", "none")) + " |")
    return "\n".join(lines + misses)


def miss_kind(row: dict) -> str:
    """Why the top answer of a question whose gold paragraph ranks first is no hit."""
    if row["no_answer"]:
        return "none"
    top = row["answers"][0]
    if top["doc_id"] != row["gold"]["doc_id"]:
        return "elsewhere"
    spans = [(s, s + len(t)) for t, s in zip(row["gold"]["answers"], row["gold"]["answer_starts"])]
    return "cut" if any(top["start"] < e and s < top["end"] for s, e in spans) else "other"


def qa_section(args: list[str], outcome: dict, seconds: float, setup: str) -> str:
    first = next(iter(outcome["metrics"].values()))
    return "\n".join(["### Seed QA (the service's corpus)", "", setup + command(args), "",
                      f"{first['questions']} questions ({first['answerable']} answerable, {first['unanswerable']} "
                      f"unanswerable); whole command {seconds:.0f} s (index built first, not counted).", "",
                      table(outcome["metrics"], QA_COLUMNS, markdown=True), ""])


def cross_section(tables: list[tuple[str, list[str], dict, float]]) -> str:
    lines = ["### Cross-lingual question files", "",
             "German paragraphs of XQuAD, questions in another language (same ids).", ""]
    rows = []
    for lang, args, outcome, seconds in tables:
        lines += [f"`{lang}` ({seconds:.0f} s):", "", command(args), ""]
        for mode, metrics in outcome["metrics"].items():
            rows.append([lang, mode] + [f"{metrics[key]:.3f}" for _, key in CROSS_COLUMNS])
    header = ["language", "mode"] + [name for name, _ in CROSS_COLUMNS]
    lines += ["| " + " | ".join(header) + " |", "|---|---|" + "---:|" * len(CROSS_COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def terms_section(rows: list[tuple[str, dict, dict]]) -> str:
    """Full mode with and without latent terms, same index, same run (RAG_LATENT_TERMS=false for the second)."""
    columns = [("R@1", "recall_at_1"), ("MRR@10", "mrr_at_10"), ("hit@1", "answer_hit_at_1"),
               ("no-ans", "no_answer_rate"), ("p50 ms", "latency_p50_ms")]
    lines = ["### Latent terms on and off (XQuAD, same index, same run)", "",
             "The full mode again with `RAG_LATENT_TERMS=false`: no latent terms for passages or sentences, and "
             "answers ranked by the confidence model fitted without them.", "",
             "| questions | latent terms | " + " | ".join(name for name, _ in columns) + " |",
             "|---|---|" + "---:|" * len(columns)]
    for title, on, off in rows:
        for label, metrics in (("on (default)", on), ("off", off)):
            lines.append(f"| {title} | {label} | " + " | ".join(
                f"{metrics[key]:.1f}" if key.endswith("_ms") else f"{metrics[key]:.3f}" for _, key in columns) + " |")
    return "\n".join(lines) + "\n"


def write_block(output: Path, block: str) -> None:
    generated = f"{START}\n{block.rstrip()}\n{END}"
    if output.exists():
        text = output.read_text(encoding="utf-8")
        if START in text and END in text and text.index(START) < text.index(END):
            text = text[:text.index(START)] + generated + text[text.index(END) + len(END):]
        else:
            text = text.rstrip() + "\n\n## Results\n\n" + generated + "\n"
    else:
        text = "# Benchmarks\n\n## Results\n\n" + generated + "\n"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data",
                        help="folder with xquad/xquad.{de,en}.json and seed_qa_dev.jsonl")
    parser.add_argument("--questions-dir", type=Path, default=None,
                        help="extra question files (e.g. xquad.fr.jsonl): one cross-lingual table per language")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument("--limit", type=int, default=None, help="first N paragraphs only (smoke runs)")
    parser.add_argument("--save-json", type=Path, default=None, help="also keep every --json output in this folder")
    parser.add_argument("--from-json", type=Path, default=None,
                        help="re-render the tables from a --save-json folder of an earlier run, running nothing")
    parser.add_argument("--skip", action="append", default=[], choices=["de", "en", "qa"], help="leave out a run")
    options = parser.parse_args()
    global SAVE_DIR, REPLAY_DIR
    SAVE_DIR, REPLAY_DIR = options.save_json, options.from_json

    german = options.data / "xquad" / "xquad.de.json"
    english = options.data / "xquad" / "xquad.en.json"
    seed_qa = options.data / "seed_qa_dev.jsonl"
    limit = ["--limit", str(options.limit)] if options.limit else []
    sections, started, outputs = [], time.perf_counter(), {}
    with tempfile.TemporaryDirectory(prefix="rag-bench-") as tmp:
        tmp = Path(tmp)
        cache = ["--index-cache", str(tmp / "index-cache")]  # the paragraphs are embedded once for all runs
        if "de" not in options.skip:
            args = ["eval", "squad", shown(german), *limit, "--json"]
            outcome, seconds = run_json([*args, *cache], name="xquad.de")
            outputs["xquad.de"] = outcome
            sections.append(squad_section("XQuAD, German questions on German paragraphs", args, outcome, seconds))
        if "en" not in options.skip:
            questions = tmp / "xquad.en.jsonl"
            run_plain(["eval", "questions", shown(english), "-o", str(questions)])
            args = ["eval", "squad", shown(german), "--questions", "xquad.en.jsonl", *limit, "--json"]
            outcome, seconds = run_json([*args[:3], "--questions", str(questions), *args[5:], *cache],
                                        name="xquad.en-de")
            outputs["xquad.en-de"] = outcome
            setup = command(["eval", "questions", shown(english), "-o", "xquad.en.jsonl"]) + "\n"
            sections.append(squad_section("XQuAD, English questions on German paragraphs", args, outcome, seconds,
                                          setup=setup))
        ablation = []
        for name, title in (("xquad.de", "German questions"), ("xquad.en-de", "English questions")):
            if name in outputs:  # the same question run again with latent terms off, over the same cached index
                args = ["eval", "squad", shown(german),
                        *(["--questions", str(questions)] if name != "xquad.de" else []),
                        "--mode", "full", *limit, "--json"]
                outcome, _ = run_json([*args, *cache], env={"RAG_LATENT_TERMS": "false"}, name=f"{name}.no-terms")
                ablation.append((title, outputs[name]["metrics"]["full"], outcome["metrics"]["full"]))
        if ablation:
            sections.append(terms_section(ablation))
        if "de" not in options.skip:
            sections.append("### Where the modes differ (XQuAD, German questions)\n\n"
                            "answer-hit@1 and R@1 per question word; then the questions whose gold paragraph is "
                            "ranked first but whose top answer misses the gold span (shares of all questions).\n\n"
                            + breakdown(outputs["xquad.de"]) + "\n")
        if "qa" not in options.skip:
            index = tmp / "seed-index"
            env = {"RAG_INDEX_DIR": str(index)}
            run_plain(["ingest", "seeds"], env)
            args = ["eval", "qa", shown(seed_qa), "--json"]
            outcome, seconds = run_json(args, env, name="seed_qa")
            outputs["seed_qa"] = outcome
            setup = "```\nRAG_INDEX_DIR=/tmp/seed-index rag ingest seeds\n```\n"
            sections.append(qa_section(args, outcome, seconds, setup).replace(
                command(args), command(args, "RAG_INDEX_DIR=/tmp/seed-index ")))
        found = sorted(options.questions_dir.glob("*.jsonl")) if options.questions_dir else []
        if REPLAY_DIR is not None:
            found = [f for f in found if (REPLAY_DIR / f"xquad.{f.stem.split('.')[-1]}-de.json").exists()]
        if options.questions_dir and not found:
            print(f"no *.jsonl question files in {options.questions_dir}", file=sys.stderr)
        cross = []
        for path in found:
            lang = path.stem.split(".")[-1]
            args = ["eval", "squad", shown(german), "--questions", shown(path), "--mode", "full", "--mode", "dense",
                    *limit, "--json"]
            outcome, seconds = run_json([*args, *cache], name=f"xquad.{lang}-de")
            outputs[f"xquad.{lang}-de"] = outcome
            cross.append((lang, args, outcome, seconds))
        if cross:
            sections.append(cross_section(cross))
    total = time.perf_counter() - started
    if REPLAY_DIR is not None and (REPLAY_DIR / "seconds.json").exists():
        total = sum(json.loads((REPLAY_DIR / "seconds.json").read_text()).values())
    model = next(iter(outputs.values()))["run"]["model"] if outputs else "?"
    header = (f"_Generated by `python scripts/benchmarks.py{' --limit ' + str(options.limit) if options.limit else ''}"
              f"{' --questions-dir ' + shown(options.questions_dir) if options.questions_dir else ''}` on "
              f"{time.strftime('%Y-%m-%d')} in {total:.0f} s ({os.cpu_count()} CPU cores, model `{model}`, "
              f"OMP_WAIT_POLICY={BASE_ENV['OMP_WAIT_POLICY']}). "
              f"Do not edit inside this block: the script rewrites it._\n")
    write_block(options.output, header + "\n" + "\n".join(sections))
    print(f"wrote {shown(options.output)} ({total:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
