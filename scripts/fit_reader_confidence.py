"""Fit the reader's confidence (rag/models/reader.json): P(the answer is right) from the evidence for a span
(rag/answer/confidence.py: span score, lead over the other spans, agreement across passages, passage rank, how much of
the question the passage covers in latent terms and in words), and the threshold below which the reply is no_answer.

    python scripts/fit_reader_confidence.py            # prints the fit and the reliability tables; --write saves it

Questions, none of which the reader trained on:
- XQuAD articles 16-23 (German and English questions over an index of all 240 German paragraphs, as in the
  benchmark), twice: as they are, and with their own article's passages taken out of the retrieval
  ("leave-article-out": the right reply is no_answer). Not the held-out articles 24-47 that reported figures use.
- the fit half of data/news_qa/questions.jsonl over an index of seeds/ (its unanswerable look-alikes: no_answer).

The passages are put in the reader's order first (rag/answer/rerank.py), as the service does, so the passage rank
in the evidence is the one a reply shows.

A candidate is right when it lies in a gold document and holds a gold answer or has a token F1 of at least 0.5 with
one (``answer_matches``, as ``rag eval qa`` counts). The model is fitted on every candidate (the reply shows the most
probable first). The passage's fused retrieval score is left out on purpose: it is normalised over the candidates,
so taking an article out leaves the other passages with scores they would not have in an index without it.

Threshold: the one with the best accuracy on these questions (answerable: the top answer is right and kept;
unanswerable: turned away), the two domains weighted equally, among those that turn away at most MAX_LOST of the
answerable questions of each domain (on the news set, accuracy hardly moves between 0.08 and 0.4 while the answerable
questions lost grow from 7 % to 34 %).
"""
from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import ROOT
from tqdm import tqdm

from rag.answer.confidence import CALIBRATION_PATH, FEATURES, evidence
from rag.answer.rerank import rerank
from rag.evaluate import load_squad, replace_questions
from rag.metrics import answer_matches
from rag.pipeline import Pipeline
from rag.settings import Settings

XQUAD = ROOT / "data" / "xquad"
NEWS = ROOT / "data" / "news_qa" / "questions.jsonl"
CALIBRATION_ARTICLES = range(16, 24)
RETRIEVED = 10  # passages retrieved, so that three remain when an article's passages are taken out
THRESHOLDS = np.linspace(0.02, 0.8, 40)
MAX_LOST = 0.10  # share of answerable questions a threshold may turn away, in each domain


def candidates(pipeline: Pipeline, question: str, keep, gold_docs: list[str], answers: list[str]) -> list[dict]:
    retrieval = pipeline.retrieve(question, RETRIEVED)
    kept = [i for i, p in enumerate(retrieval.passages) if keep(p)]
    narrowed = replace(retrieval, passages=[retrieval.passages[i] for i in kept],
                       rows=[retrieval.rows[i] for i in kept])
    narrowed, found = rerank(narrowed, pipeline.reader.run(question, narrowed.passages))
    spans = evidence(found, narrowed)
    right = [narrowed.passages[f.passage].doc_id in gold_docs
             and answer_matches(pipeline.document(narrowed.passages[f.passage].doc_id).text[f.start:f.end], answers)
             for f, _ in spans]
    return [{"features": e.features(), "right": ok} for (_, e), ok in zip(spans, right)]


def collect_xquad(pipeline: Pipeline, language: str, every: int) -> list[dict]:
    squad = load_squad(XQUAD / "xquad.de.json")
    if language != "de":  # the same questions in another language; gold paragraphs and answers stay German
        replace_questions(squad, {q.id: q.question for q in load_squad(XQUAD / f"xquad.{language}.json").questions})
    rows = []
    for q in tqdm([q for q in squad.questions if q.article in CALIBRATION_ARTICLES][::every], desc=language, unit="q"):
        article = q.doc_id.rsplit("/", 1)[0]
        for answerable, keep in ((True, lambda p: True), (False, lambda p: p.doc_id.rsplit("/", 1)[0] != article)):
            rows.append({"domain": "xquad", "answerable": answerable,
                         "candidates": candidates(pipeline, q.question, keep, [q.doc_id], q.answers)})
    return rows


def collect_news(pipeline: Pipeline) -> list[dict]:
    questions = [json.loads(line) for line in NEWS.read_text().splitlines() if line.strip()]
    return [{"domain": "news", "answerable": q["answerable"],
             "candidates": candidates(pipeline, q["question"], lambda p: True, q["doc_ids"], q["answers"])}
            for q in tqdm([q for q in questions if q["split"] == "fit"], desc="news", unit="q")]


def fit_logistic(features: np.ndarray, labels: np.ndarray, iterations: int = 60, ridge: float = 1e-2) -> np.ndarray:
    """Logistic regression by Newton's method on standardised features; weights for the raw features and a bias."""
    mean, scale = features.mean(0), features.std(0) + 1e-9
    x = np.column_stack([(features - mean) / scale, np.ones(len(features))])
    weights = np.zeros(x.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-x @ weights))
        gradient = x.T @ (p - labels) + ridge * weights
        hessian = (x * (p * (1 - p))[:, None]).T @ x + ridge * np.eye(len(weights))
        weights -= np.linalg.solve(hessian, gradient)
    return np.append(weights[:-1] / scale, weights[-1] - (weights[:-1] * mean / scale).sum())


def shown(row: dict, weights: np.ndarray) -> tuple[float, bool]:
    """The confidence of the answer shown first and whether it is right; (0, False) when there is none."""
    scored = [(float(1 / (1 + np.exp(-weights @ (c["features"] + [1.0])))), c["right"]) for c in row["candidates"]]
    return max(scored, default=(0.0, False))


def accuracy(rows: list[dict], weights: np.ndarray, threshold: float) -> dict:
    counts = defaultdict(list)
    for row in rows:
        p, right = shown(row, weights)
        if row["answerable"]:
            counts["answered right"].append(right and p >= threshold)
            counts["lost"].append(p < threshold)
            counts["right, ranked"].append(right)
        else:
            counts["turned away"].append(p < threshold)
        counts["accuracy"].append(right and p >= threshold if row["answerable"] else p < threshold)
    return {name: round(float(np.mean(values)), 3) for name, values in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("/tmp/rag-xquad-de"), help="index of the German paragraphs "
                        "(built on first use, reused after)")
    parser.add_argument("--news-index", type=Path, default=Path("/tmp/rag-seeds"), help="index of seeds/ (built on "
                        "first use, reused after)")
    parser.add_argument("--every", type=int, default=1, help="ask every N-th XQuAD question only (a faster fit)")
    parser.add_argument("--write", action="store_true", help=f"save the fit to {CALIBRATION_PATH}")
    args = parser.parse_args()

    cache = args.index / f"calibration-candidates-{args.every}.json"  # to refit without reading again
    if cache.exists():
        rows = json.loads(cache.read_text())
    else:
        xquad = Pipeline(Settings(index_dir=args.index))
        xquad.ingest(load_squad(XQUAD / "xquad.de.json").documents, progress=True)
        news = Pipeline(Settings(index_dir=args.news_index), embedder=xquad.embedder, reader=xquad.reader)
        news.ingest_folder(ROOT / "seeds")
        rows = [row for language in ("de", "en") for row in collect_xquad(xquad, language, args.every)]
        rows += collect_news(news)
        cache.write_text(json.dumps(rows))
    every = [c for row in rows for c in row["candidates"]]
    weights = fit_logistic(np.array([c["features"] for c in every]), np.array([c["right"] for c in every], float))
    domains = sorted({row["domain"] for row in rows})
    by_domain = {d: [row for row in rows if row["domain"] == d] for d in domains}
    allowed = [t for t in THRESHOLDS if all(accuracy(by_domain[d], weights, t)["lost"] <= MAX_LOST for d in domains)]
    threshold = float(max(allowed or THRESHOLDS[:1],
                          key=lambda t: np.mean([accuracy(by_domain[d], weights, t)["accuracy"] for d in domains])))
    print("weights:", ", ".join(f"{name} {w:.4f}" for name, w in zip(FEATURES + ("bias",), weights)),
          f"; threshold {threshold:.3f}")
    for domain in domains:
        print(f"\n{domain}: {len(by_domain[domain])} questions", accuracy(by_domain[domain], weights, threshold))
        print("  confidence   answers   mean confidence   right")
        bins = defaultdict(list)
        for row in by_domain[domain]:
            if row["candidates"]:
                p, right = shown(row, weights)
                bins[min(int(p * 10), 9)].append((p, right))
        for b, inside in sorted(bins.items()):
            print(f"  {b / 10:.1f}–{(b + 1) / 10:.1f}   {len(inside):9d}   {np.mean([p for p, _ in inside]):15.3f}"
                  f"   {np.mean([r for _, r in inside]):.3f}")
    if args.write:
        CALIBRATION_PATH.write_text(json.dumps({
            "weights": [round(float(w), 6) for w in weights], "threshold": round(threshold, 4),
            "features": list(FEATURES) + ["bias"],
            "fitted_on": "XQuAD articles 16-23 (de and en questions, answerable and leave-article-out) and the fit "
                         "half of data/news_qa (scripts/fit_reader_confidence.py)"}, indent=1) + "\n")
        print(f"wrote {CALIBRATION_PATH}")


if __name__ == "__main__":
    main()
