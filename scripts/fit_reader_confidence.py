"""Fit the reader's confidence (rag/models/reader.json): P(the answer is right) from its span score (the reader's
margin over "no answer"), and the threshold below which the reply is no_answer.

The passage's retrieval score is left out on purpose: taking an article's passages out of a retrieval leaves the
others with the scores they had beside it, lower than they would have in an index without that article, so a fit on
it would learn an artefact of this set-up (it did: a passage-score weight of 18.8 that sent every left-out question
to no_answer).

    python scripts/fit_reader_confidence.py            # prints the reliability table; --write saves reader.json

Questions: XQuAD articles 16-23, German and English, which the reader never trained on (scripts/train_reader.py keeps
them out) and which are not the held-out articles 24-47 that every reported figure uses. They are asked over an index
of all 240 German paragraphs, as in the benchmark, twice: as they are, and with their own article's passages taken
out of the retrieval ("leave-article-out": the article that answers is not in the corpus; the right reply is
no_answer). A candidate is right when it lies in the gold paragraph and its token F1 against a gold answer is at
least 0.5. The fit takes each question's best candidate (highest span score): the answer shown first.

Threshold: the lowest that still sends at least 70 % of the left-out questions to no_answer (the service's promise,
docs/reader.md); the script prints what it costs the answerable ones.
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import ROOT
from tqdm import tqdm

from rag.answer.confidence import CALIBRATION_PATH
from rag.evaluate import load_squad, replace_questions
from rag.metrics import f1_score
from rag.pipeline import Pipeline
from rag.settings import Settings

XQUAD = ROOT / "data" / "xquad"
CALIBRATION_ARTICLES = range(16, 24)
RIGHT_F1 = 0.5
LEFT_OUT_NO_ANSWER = 0.70  # share of left-out questions the threshold sends to no_answer
RETRIEVED = 10  # passages retrieved, so that three remain when an article's passages are taken out


def collect(pipeline: Pipeline, language: str, every: int) -> list[dict]:
    """Per question and condition: the candidates' features and whether each is right."""
    squad = load_squad(XQUAD / "xquad.de.json")
    if language != "de":  # the same questions in another language; gold paragraphs and answers stay German
        replace_questions(squad, {q.id: q.question for q in load_squad(XQUAD / f"xquad.{language}.json").questions})
    texts = {d.id: d.text for d in squad.documents}
    rows = []
    questions = [q for q in squad.questions if q.article in CALIBRATION_ARTICLES][::every]
    for q in tqdm(questions, desc=language, unit="q"):
        retrieval = pipeline.retrieve(q.question, RETRIEVED)
        article = q.doc_id.rsplit("/", 1)[0]
        elsewhere = [i for i, p in enumerate(retrieval.passages) if p.doc_id.rsplit("/", 1)[0] != article]
        for condition, kept in (("answerable", range(len(retrieval.rows))), ("left_out", elsewhere)):
            narrowed = replace(retrieval, passages=[retrieval.passages[i] for i in kept],
                               rows=[retrieval.rows[i] for i in kept])
            found = [(narrowed.passages[f.passage].doc_id, f) for f in pipeline.reader.run(q.question, narrowed.passages)]
            rows.append({"language": language, "condition": condition, "id": q.id, "candidates": [
                {"span": f.score,
                 "right": doc_id == q.doc_id and f1_score(texts[doc_id][f.start:f.end], q.answers) >= RIGHT_F1}
                for doc_id, f in found]})
    return rows


def fit_logistic(features: np.ndarray, labels: np.ndarray, iterations: int = 50, ridge: float = 1e-3) -> np.ndarray:
    """Logistic regression by Newton's method."""
    weights = np.zeros(features.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-features @ weights))
        gradient = features.T @ (p - labels) + ridge * weights
        hessian = (features * (p * (1 - p))[:, None]).T @ features + ridge * np.eye(len(weights))
        weights -= np.linalg.solve(hessian, gradient)
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=Path("/tmp/rag-xquad-de"), help="index of the German paragraphs "
                        "(built on first use, reused after)")
    parser.add_argument("--every", type=int, default=1, help="ask every N-th question only (a faster, smaller fit)")
    parser.add_argument("--write", action="store_true", help=f"save the fit to {CALIBRATION_PATH}")
    args = parser.parse_args()

    german = load_squad(XQUAD / "xquad.de.json")
    pipeline = Pipeline(Settings(index_dir=args.index, min_confidence=0.0))
    if not pipeline.has_index():
        print(f"indexing {len(german.documents)} paragraphs into {args.index} …", file=sys.stderr)
    pipeline.ingest(german.documents, progress=True)

    cache = args.index / "calibration-candidates.json"  # the collected candidates, to refit without the reader
    rows = json.loads(cache.read_text()) if cache.exists() else \
        [row for language in ("de", "en") for row in collect(pipeline, language, args.every)]
    cache.write_text(json.dumps(rows))
    # each question's best candidate: the confidence is that of the answer shown first
    data = np.array([max((c["span"], c["right"]) for c in row["candidates"]) for row in rows if row["candidates"]],
                    float)
    weights = fit_logistic(np.column_stack([data[:, 0], np.ones(len(data))]), data[:, 1])

    def best(row: dict) -> tuple[float, bool]:
        if not row["candidates"]:
            return 0.0, False
        scored = [(1 / (1 + np.exp(-(weights @ [c["span"], 1.0]))), c["right"]) for c in row["candidates"]]
        return max(scored)

    answerable = [best(r) for r in rows if r["condition"] == "answerable"]
    right = sorted(p for p, ok in answerable if ok)
    left_out = sorted(p for p, _ in (best(r) for r in rows if r["condition"] == "left_out"))
    threshold = float(left_out[int(np.ceil(LEFT_OUT_NO_ANSWER * len(left_out))) - 1]) + 1e-6
    left_out = [(p, False) for p in left_out]
    print(f"weights (span score, bias): {np.round(weights, 4).tolist()}; threshold {threshold:.3f}")
    print(f"answerable: best answer right {len(right)}/{len(answerable)}; kept above the threshold "
          f"{sum(p >= threshold for p in right)}/{len(right)}; no_answer "
          f"{np.mean([p < threshold for p, _ in answerable]):.3f}")
    print(f"left out: no_answer {np.mean([p < threshold for p, _ in left_out]):.3f} of {len(left_out)}")
    print("\nreliability of the best answer (answerable questions):\n  confidence   questions   right")
    edges = np.linspace(0, 1, 11)
    for low, high in zip(edges[:-1], edges[1:]):
        inside = [ok for p, ok in answerable if low <= p < high or (high == 1 and p == 1)]
        if inside:
            print(f"  {low:.1f}–{high:.1f}     {len(inside):9d}   {np.mean(inside):.3f}")
    if args.write:
        CALIBRATION_PATH.write_text(json.dumps({
            "weights": [round(float(w), 6) for w in weights], "threshold": round(threshold, 4),
            "features": ["span score", "bias"],
            "fitted_on": "XQuAD articles 16-23, de and en questions, answerable and leave-article-out "
                         "(scripts/fit_reader_confidence.py)"}, indent=1) + "\n")
        print(f"wrote {CALIBRATION_PATH}")


if __name__ == "__main__":
    main()
