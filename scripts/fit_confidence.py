"""Fit the answer ranker and its confidence calibration on one half of XQuAD's articles; report on the other half.

    python scripts/fit_confidence.py [--write]

- Articles 0–23 of xquad.de.json ("fit") train; articles 24–47 ("held-out") are only reported on.
- Questions: the German ones and, under the same ids, the English ones of xquad.en.json (cross-lingual).
- Ranker: a conditional logit (softmax over each question's candidate units) on rag.extract.FEATURES; label = the
  unit covers a gold answer. A pointwise logistic regression and plain cosine are reported beside it.
- Unanswerable questions are made by leaving a question's whole article out of the index: every candidate is then
  wrong, and the calibrated confidence of the top one should be low.
- Calibration: Platt scaling of the top candidate's ranker logit, label = that answer is right (answerable questions
  with their article indexed, and the same questions with it left out). The no-answer threshold is the lowest one
  whose precision on the fit half reaches --precision.
- Twice: with latent terms, and again without them (RAG_LATENT_TERMS=false, or a model without a sparse head),
  whose units have no term cosine. The second model keeps the first one's threshold: both are calibrated to the same
  probability.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.evaluate import covers, load_squad  # noqa: E402
from rag.extract import FEATURES, WEIGHTS_FILE, WITHOUT_TERMS, ConfidenceModel  # noqa: E402
from rag.index import Index  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402
from rag.settings import Settings  # noqa: E402

XQUAD = ROOT / "data" / "xquad"
FIT_ARTICLES = 24


def article_of(doc_id: str) -> str:
    return doc_id.rsplit("/", 1)[0]


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, iterations: int = 50) -> np.ndarray:
    """Logistic regression by Newton's method with an L2 penalty (not on the last, bias, column)."""
    w = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], l2)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-(x @ w)))
        gradient = x.T @ (p - y) + penalty * w
        hessian = (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


def softmax_ranker(groups: list[dict], l2: float = 1e-2) -> np.ndarray:
    """Conditional logit: maximise log P(a right unit | the question's candidates), questions with one right unit."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    usable = [g for g in groups if g["good"].any()]
    width = usable[0]["features"].shape[1]

    def loss(w):
        total, gradient = 0.0, np.zeros_like(w)
        for g in usable:
            z = g["features"] @ w
            p = np.exp(z - logsumexp(z))
            good = g["good"] > 0
            q = p[good] / p[good].sum()
            total -= logsumexp(z[good]) - logsumexp(z)
            gradient -= g["features"][good].T @ q - g["features"].T @ p
        penalty = np.r_[np.full(width - 1, l2), 0.0]
        return total + 0.5 * (penalty * w * w).sum(), gradient + penalty * w

    return minimize(loss, np.zeros(width), jac=True, method="L-BFGS-B").x


class QueryCache:
    """The embedder, remembering question vectors: each question is asked with and without its article."""

    def __init__(self, embedder):
        self.embedder, self.name, self.memory = embedder, embedder.name, {}

    def __getattr__(self, name):
        return getattr(self.embedder, name)

    def embed_queries(self, texts):
        missing = [t for t in texts if t not in self.memory]
        if missing:
            self.memory.update(zip(missing, self.embedder.embed_queries(missing)))
        return np.array([self.memory[t] for t in texts])


def pipeline_over(index: Index, settings: Settings, embedder) -> Pipeline:
    pipeline = Pipeline(settings, embedder=embedder)
    pipeline._index = index  # an in-memory index: nothing on disk to reload from
    return pipeline


def collect(pipeline: Pipeline, questions, label: bool, desc: str) -> list[dict]:
    """Per question: the candidates' features and which of them cover a gold answer."""
    rows = []
    compiled = pipeline.index.compiled
    for q in tqdm(questions, desc=desc, leave=False):
        retrieval = pipeline.retrieve(q.question, top_k=10)
        found = pipeline.candidates(q.question, retrieval)
        if found is None:
            continue
        good = np.array([label and compiled.documents[compiled.unit_doc[u]].id == q.doc_id
                         and covers(*compiled.unit_spans[u], q.spans) for u in found.units], float)
        rows.append({"id": q.id, "features": found.features, "good": good, "answerable": label})
    return rows


def top_answers(model: ConfidenceModel, rows: list[dict]) -> tuple[np.ndarray, np.ndarray]:
    """Feature rows of each question's top-ranked unit, and whether it is right."""
    top, right = [], []
    for row in rows:
        best = int(np.argmax(model.logits(row["features"])))
        top.append(row["features"][best])
        right.append(row["good"][best])
    return np.array(top), np.array(right)


def reliability(confidences: np.ndarray, right: np.ndarray) -> list[tuple[str, int, float, float]]:
    table = []
    for low in np.arange(0.0, 1.0, 0.1):
        inside = (confidences >= low) & (confidences < low + 0.1 + (1e-9 if low >= 0.9 else 0))
        if inside.any():
            table.append((f"{low:.1f}–{low + 0.1:.1f}", int(inside.sum()), float(confidences[inside].mean()),
                          float(right[inside].mean())))
    return table


def collect_all(pipeline: Pipeline, settings: Settings, questions, fit_articles: set, articles: list) -> dict:
    """Candidates of every question of both halves and languages, with its article indexed and left out."""
    full = pipeline.index
    data = {}
    for half, article_set in (("fit", fit_articles), ("held-out", set(articles) - fit_articles)):
        for language in ("de", "en"):
            data[half, language, "in"] = collect(pipeline, questions(article_set, language), True, f"{half} {language}")
            left_out = []
            for article in tqdm(sorted(article_set), desc=f"{half} {language} left out", leave=False):
                index = Index(full.model, full.dim)
                for doc_id, entry in full.entries.items():
                    if article_of(doc_id) != article:
                        index.put(entry)
                other = pipeline_over(index, settings.model_copy(update={"index_dir": settings.index_dir / "none"}),
                                      pipeline.embedder)
                left_out += collect(other, questions({article}, language), False, article)
            data[half, language, "out"] = left_out
    return data


def fit(data: dict, ranker_kind: str, precision: float, threshold: float | None = None) -> tuple[ConfidenceModel, dict]:
    """The ranker on the fit half's answerable questions, its calibration on the fit half with the left-out ones, and
    the no-answer threshold (the lowest whose precision on the fit half reaches ``precision``, unless given)."""
    for key, rows in sorted(data.items()):
        if key[2] == "in":
            print(f"ceiling {key[0]}/{key[1]}: a right unit among the candidates for "
                  f"{np.mean([r['good'].any() for r in rows]):.3f} of {len(rows)} questions")
    ranker_rows = data["fit", "de", "in"] + data["fit", "en", "in"]
    x = np.concatenate([r["features"] for r in ranker_rows])
    y = np.concatenate([r["good"] for r in ranker_rows])
    pointwise = logistic(x, y)
    listwise = softmax_ranker(ranker_rows)
    cosine_only = np.zeros(len(FEATURES))
    cosine_only[FEATURES.index("cosine")] = 1.0
    for name, w in (("cosine only", cosine_only), ("pointwise", pointwise), ("softmax", listwise)):
        for half in ("fit", "held-out"):
            for language in ("de", "en"):
                _, right = top_answers(ConfidenceModel(w), data[half, language, "in"])
                print(f"{name} ranker, {half}/{language}: top answer right {right.mean():.3f}")
    weights = listwise if ranker_kind == "softmax" else pointwise
    ranker = ConfidenceModel(weights)

    calibration_rows = ranker_rows + data["fit", "de", "out"] + data["fit", "en", "out"]
    top, right = top_answers(ranker, calibration_rows)
    lexical_fit = top[:, FEATURES.index("lexical_fit")]
    scale, lexical, shift = logistic(np.stack([ranker.logits(top), lexical_fit, np.ones(len(top))], axis=1), right,
                                     l2=0.0)
    model = ConfidenceModel(weights, float(scale), float(shift), 0.5, float(lexical))
    if threshold is None:
        confidences = model(top)
        threshold = 0.5
        for candidate in np.arange(0.05, 0.96, 0.01):
            answered = confidences >= candidate
            if answered.sum() and right[answered].mean() >= precision:
                threshold = float(round(candidate, 2))
                break
    model = ConfidenceModel(weights, float(scale), float(shift), threshold, float(lexical))

    report = {}
    for (half, language, kind), rows in sorted(data.items()):
        top, right = top_answers(model, rows)
        answered = model(top) >= threshold
        report[f"{half}/{language}/{'answerable' if kind == 'in' else 'unanswerable'}"] = {
            "questions": len(rows),
            "top_right": round(float(right.mean()), 3) if kind == "in" else None,
            "answered_right": round(float((right * answered).mean()), 3) if kind == "in" else None,
            "no_answer_rate": round(float(1 - answered.mean()), 3),
        }
    held = data["held-out", "de", "in"] + data["held-out", "en", "in"] + \
        data["held-out", "de", "out"] + data["held-out", "en", "out"]
    top, right = top_answers(model, held)
    table = reliability(model(top), right)

    print(f"ranker weights: {dict(zip(FEATURES, np.round(weights, 3)))}")
    print(f"calibration: scale {scale:.3f} lexical {lexical:.3f} shift {shift:.3f}; "
          f"threshold {threshold} for precision {precision}")
    print("\n| split / questions | n | top answer right | answered and right | no-answer rate |\n|---|---|---|---|---|")
    for name, r in report.items():
        print(f"| {name} | {r['questions']} | {r['top_right'] if r['top_right'] is not None else '—'} | "
              f"{r['answered_right'] if r['answered_right'] is not None else '—'} | {r['no_answer_rate']} |")
    print("\nReliability on the held-out half (answerable + left-out questions, de + en):\n")
    print("| confidence | n | mean confidence | share right |\n|---|---|---|---|")
    for name, n, mean, share in table:
        print(f"| {name} | {n} | {mean:.3f} | {share:.3f} |")
    return model, {"weights": {name: round(float(w), 5) for name, w in zip(FEATURES, weights)},
                   "calibration": {"scale": round(float(scale), 5), "lexical": round(float(lexical), 5),
                                   "shift": round(float(shift), 5)},
                   "held_out": report, "reliability_held_out": table}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--precision", type=float, default=0.5, help="precision the no-answer threshold aims at")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "rag-xquad-index",
                        help="where the XQuAD index is kept between runs")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "rag-fit-data.pkl",
                        help="where the collected candidates are kept")
    parser.add_argument("--reuse", action="store_true", help="reuse the collected candidates of an earlier run")
    parser.add_argument("--answer-passages", type=int, default=3, help="candidates come from this many passages")
    parser.add_argument("--ranker", choices=("softmax", "pointwise"), default="softmax")
    parser.add_argument("--write", action="store_true", help=f"write the fitted model to {WEIGHTS_FILE}")
    args = parser.parse_args()

    squad = load_squad(XQUAD / "xquad.de.json")
    english = {q.id: q.question for q in load_squad(XQUAD / "xquad.en.json").questions}
    articles = list(dict.fromkeys(article_of(d.id) for d in squad.documents))
    fit_articles = set(articles[:FIT_ARTICLES])
    settings = Settings(index_dir=args.cache, answer_passages=args.answer_passages)
    pipeline = Pipeline(settings)
    pipeline.embedder = QueryCache(pipeline.embedder)
    pipeline.ingest(squad.documents, progress=True)  # builds the cached index, or brings it up to date

    def questions(article_set, language):
        chosen = [q for q in squad.questions if article_of(q.doc_id) in article_set]
        if language == "en":
            chosen = [type(q)(q.id, english[q.id], q.doc_id, q.answers, q.starts) for q in chosen]
        return chosen

    if args.data.exists() and args.reuse:
        data = pickle.loads(args.data.read_bytes())
    else:
        data = {}
        for latent_terms in (True, False):  # the second model serves questions asked without latent terms
            variant = settings.model_copy(update={"latent_terms": latent_terms})
            pipeline.settings = variant
            data[latent_terms] = collect_all(pipeline, variant, questions, fit_articles, articles)
        args.data.write_bytes(pickle.dumps(data))
    print("## with latent terms")
    model, fitted = fit(data[True], args.ranker, args.precision)
    print(f"\n## without latent terms (threshold {model.threshold}, shared)")
    _, without = fit(data[False], args.ranker, args.precision, threshold=model.threshold)
    if args.write:
        WEIGHTS_FILE.write_text(json.dumps({
            "fitted_on": f"scripts/fit_confidence.py: XQuAD articles 0-{FIT_ARTICLES - 1} (de + en questions); "
                         f"reported on articles {FIT_ARTICLES}-47",
            **fitted, "threshold": model.threshold, "precision_target": args.precision,
            WITHOUT_TERMS: without}, indent=1, ensure_ascii=False) + "\n")
        print(f"\nwrote {WEIGHTS_FILE}")


if __name__ == "__main__":
    main()
