"""Benchmarks: a SQuAD-format file (index its paragraphs in a temporary folder, ask its questions) and questions
over the service's own index (``rag eval qa``). Metrics, result rows and the plain-text tables live here; the CLI
commands in ``rag/cli.py`` only parse options. See docs/benchmarks.md for the JSON layout and the definitions.
"""
from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import IndexUnavailable, InvalidInput
from .metrics import answer_matches, exact_match, f1_score
from .settings import MODES, Settings
from .types import Document, Reply, reply_to_dict

TOP_K = 10          # passages asked for per question: enough for MRR@10
MAX_ANSWER_CHARS = 300  # an answer longer than this never counts as a hit (the contract's limit)


# --- loading -----------------------------------------------------------------------------------------------------
@dataclass
class Question:
    id: str
    question: str
    doc_id: str                      # the gold paragraph
    answers: list[str]               # gold answer texts
    starts: list[int]                # their answer_start offsets into the paragraph
    original: str = ""               # the question text in the file (before --questions)
    article: int = 0                 # position of its article in the file (0-based)

    @property
    def spans(self) -> list[tuple[int, int]]:
        return [(s, s + len(a)) for a, s in zip(self.answers, self.starts)]


@dataclass
class SquadSet:
    documents: list[Document]
    questions: list[Question]
    replaced: int = 0                # question texts replaced from a --questions file
    missing: list[str] = field(default_factory=list)  # question ids the --questions file has no text for


def _read_json(path: Path):
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    try:
        return json.loads(path.read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{path}: not UTF-8 (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise InvalidInput(f"{path}: not valid JSON ({error.msg} at line {error.lineno}, "
                           f"column {error.colno})") from None


def _read_jsonl(path: Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file")
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{path}: not UTF-8 (byte {error.start})") from None
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise InvalidInput(f"{path}, line {number}: not valid JSON ({error.msg})") from None
        if not isinstance(row, dict):
            raise InvalidInput(f"{path}, line {number}: expected a JSON object, got {type(row).__name__}")
        rows.append(row)
    if not rows:
        raise InvalidInput(f"{path}: no questions in the file")
    return rows


def _squad_articles(path: Path) -> list[dict]:
    data = _read_json(path)
    articles = data.get("data") if isinstance(data, dict) else None
    if not isinstance(articles, list) or not articles:
        raise InvalidInput(f"{path}: not a SQuAD-format file (expected an object with a non-empty \"data\" list)")
    for n, article in enumerate(articles):
        if not isinstance(article, dict) or not isinstance(article.get("paragraphs"), list):
            raise InvalidInput(f"{path}: not a SQuAD-format file (data[{n}] has no \"paragraphs\" list)")
    return articles


def load_squad(path: Path, limit: int | None = None) -> SquadSet:
    """One Document per paragraph (id ``"{title}/{i}"``) and its questions; ``limit``: the first N paragraphs."""
    from .corpus.files import make_document

    path = Path(path)
    documents, questions, seen = [], [], set()
    for n, article in enumerate(_squad_articles(path)):
        title = str(article.get("title") or f"article{n}").strip()
        for i, paragraph in enumerate(article["paragraphs"]):
            if limit is not None and len(documents) >= limit:
                break
            where = f"{path}: data[{n}].paragraphs[{i}]"
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not context.strip():
                raise InvalidInput(f"{where} has no \"context\" text")
            doc_id = f"{title}/{i}"
            documents.append(make_document(doc_id, context, title=title.replace("_", " ")))
            for qa in paragraph.get("qas") or []:
                try:
                    qid, text = str(qa["id"]), str(qa["question"])
                    answers = [str(a["text"]) for a in qa.get("answers") or []]
                    starts = [int(a["answer_start"]) for a in qa.get("answers") or []]
                except (KeyError, TypeError, ValueError) as error:
                    raise InvalidInput(f"{where}: a question without {error} (needs id, question, "
                                       f"answers with text and answer_start)") from None
                if qid in seen:
                    raise InvalidInput(f"{path}: question id {qid!r} appears twice")
                seen.add(qid)
                questions.append(Question(qid, text, doc_id, answers, starts, original=text, article=n))
    if not documents:
        raise InvalidInput(f"{path}: no paragraphs")
    if not questions:
        raise InvalidInput(f"{path}: no questions")
    return SquadSet(documents, questions)


def read_questions(path: Path) -> dict[str, str]:
    """A questions file: lines ``{"id": …, "question": …}`` → {id: question}."""
    out = {}
    for number, row in enumerate(_read_jsonl(path), start=1):
        if not isinstance(row.get("id"), (str, int)) or not isinstance(row.get("question"), str) \
                or not row["question"].strip():
            raise InvalidInput(f"{path}: question {number} needs \"id\" and a non-empty \"question\"")
        out[str(row["id"])] = row["question"]
    return out


def replace_questions(squad: SquadSet, texts: dict[str, str], source: Path | str = "--questions") -> SquadSet:
    """Question texts replaced by id; only the questions the file names are kept (all paragraphs stay indexed).

    A cross-lingual file may cover a subset of the questions (e.g. 60 of 1190): asking the others in their
    original language would mix two benchmarks, so they are left out and listed in ``missing``.
    """
    kept, missing = [], []
    for q in squad.questions:
        if q.id in texts:
            q.question = texts[q.id]
            kept.append(q)
        else:
            missing.append(q.id)
    if not kept:
        raise InvalidInput(f"{source}: none of its question ids occur in the SQuAD file"
                           + (" (within --limit)" if texts else ""))
    squad.questions, squad.replaced, squad.missing = kept, len(kept), missing
    return squad


def write_questions(squad_path: Path, out) -> int:
    """Write the questions of a SQuAD file as ``{"id", "question"}`` lines to ``out`` (a path or a text stream)."""
    rows = []
    for article in _squad_articles(Path(squad_path)):
        for paragraph in article["paragraphs"]:
            for qa in (paragraph.get("qas") or []) if isinstance(paragraph, dict) else []:
                if not isinstance(qa, dict) or "id" not in qa or not isinstance(qa.get("question"), str):
                    raise InvalidInput(f"{squad_path}: a question without id or question text")
                rows.append(json.dumps({"id": str(qa["id"]), "question": qa["question"]}, ensure_ascii=False))
    text = "".join(r + "\n" for r in rows)
    if hasattr(out, "write"):
        out.write(text)
    else:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
    return len(rows)


# --- metrics -----------------------------------------------------------------------------------------------------
def doc_rank(doc_ids: Iterable[str], gold: str | Iterable[str]) -> int | None:
    """1-based rank of the first gold document among the passages' doc ids, duplicates removed in order."""
    golds = {gold} if isinstance(gold, str) else set(gold)
    seen: list[str] = []
    for doc_id in doc_ids:
        if doc_id in seen:
            continue
        seen.append(doc_id)
        if doc_id in golds:
            return len(seen)
    return None


def reciprocal_rank(rank: int | None, cutoff: int = 10) -> float:
    return 1.0 / rank if rank is not None and rank <= cutoff else 0.0


def covers(start: int, end: int, spans: Iterable[tuple[int, int]], max_chars: int = MAX_ANSWER_CHARS) -> bool:
    """The extract [start, end) holds a whole gold span and is no longer than ``max_chars``."""
    if end - start > max_chars or end <= start:
        return False
    return any(start <= s and e <= end for s, e in spans)


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default), q in [0, 100]."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _mean(values: list[float]) -> float:
    return round(sum(values) / len(values), 4) if values else 0.0


# --- running -----------------------------------------------------------------------------------------------------
def _progress(total: int, label: str, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit="q", file=sys.stderr, disable=not enabled, leave=False,
                dynamic_ncols=True)


def _check_modes(modes: Iterable[str] | None) -> list[str]:
    modes = list(dict.fromkeys(modes or MODES))
    for mode in modes:
        if mode not in MODES:
            raise InvalidInput(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return modes


def _latency(values: list[float]) -> dict:
    return {"latency_p50_ms": round(percentile(values, 50), 2), "latency_p95_ms": round(percentile(values, 95), 2)}


def _cache_key(path: Path, limit: int | None, settings: Settings, model: str) -> str:
    """What the index of a SQuAD file depends on: the file, --limit, model, chunk settings and the indexing code."""
    import hashlib

    digest = hashlib.sha256(Path(path).read_bytes())
    digest.update(json.dumps([limit, model, settings.chunk_chars, settings.chunk_overlap_chars]).encode())
    for module in ("index/chunk.py", "corpus/files.py", "encoder/embed.py", "index/versions.py"):  # what decides
        source = Path(__file__).parent / module  # chunks, vectors and the format
        if source.exists():
            digest.update(source.read_bytes())
    return digest.hexdigest()[:20]


def squad_eval(path: Path, modes: Iterable[str] | None = None, questions_path: Path | None = None,
               limit: int | None = None, settings: Settings | None = None, embedder=None,
               progress: bool = True, index_cache: Path | None = None, articles: range | None = None,
               every: int = 1) -> dict:
    """Index the paragraphs of a SQuAD file once in a temporary folder, then ask every question in every mode.

    ``articles``: ask only the questions of these articles (0-based, in file order; e.g. XQuAD's held-out 24-47);
    every paragraph is still indexed, so retrieval searches all of them. ``every``: ask every N-th question only.

    ``index_cache``: keep the index in a sub-folder of this folder named by a hash of everything it depends on,
    and reuse it when it is there (cross-lingual runs over the same paragraphs skip the embedding); the
    reported ingest time is then that of the cached ingest (``ingest_cached: true``).
    Returns ``{"metrics": {mode: {...}}, "results": [...], "run": {...}}`` (see docs/benchmarks.md).
    """
    from .encoder.embed import load_embedder
    from .pipeline import Pipeline

    modes = _check_modes(modes)
    squad = load_squad(path, limit)
    if questions_path is not None:
        replace_questions(squad, read_questions(questions_path), questions_path)
    if articles is not None:
        squad.questions = [q for q in squad.questions if q.article in articles]
        if not squad.questions:
            raise InvalidInput(f"{path}: no questions in articles {articles.start}-{articles.stop - 1}")
    squad.questions = squad.questions[::every]
    base = settings or Settings()
    embedder = embedder or load_embedder(base.model, base.device, base.batch_size)
    metrics, results = {}, []
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as folder:
        index_dir = Path(folder) / "index"
        if index_cache is not None:
            index_dir = Path(index_cache) / _cache_key(path, limit, base, embedder.name)
        settings = base.model_copy(update={"index_dir": index_dir})
        stamp = index_dir / "eval-ingest.json"
        started = time.perf_counter()
        embedder.warm_up()
        report = Pipeline(settings, embedder=embedder, mode="full").ingest(squad.documents, progress=progress)
        ingest_seconds = time.perf_counter() - started
        cached = index_cache is not None and not report.added and not report.updated and stamp.is_file()
        if cached:
            ingest_seconds = float(json.loads(stamp.read_text())["ingest_s"])
        elif index_cache is not None:
            stamp.parent.mkdir(parents=True, exist_ok=True)  # in Milvus mode nothing else is written there
            stamp.write_text(json.dumps({"ingest_s": ingest_seconds}))
        ingest = {"documents": len(squad.documents), "chunks": report.chunks,
                  "ingest_s": round(ingest_seconds, 2),
                  "chunks_per_s": round(report.chunks / ingest_seconds, 1) if ingest_seconds else None,
                  "ingest_cached": cached}
        for mode in modes:
            pipeline = Pipeline(settings.model_copy(update={"min_confidence": 0.0}), embedder=embedder, mode=mode)
            threshold = pipeline.calibration.threshold if base.min_confidence is None else base.min_confidence
            rows = []
            with _progress(len(squad.questions), f"{mode:>7}", progress) as bar:
                for q in squad.questions:
                    rows.append(_squad_result(pipeline, q, mode, threshold))
                    bar.update()
            metrics[mode] = {**_squad_metrics(rows), **ingest}
            results.extend(rows)
    run = {"file": str(path), "questions_file": str(questions_path) if questions_path else None,
           "limit": limit, "articles": [articles.start, articles.stop - 1] if articles else None, "every": every,
           "modes": modes, "top_k": TOP_K, "model": embedder.name,
           "paragraphs": len(squad.documents), "questions": len(squad.questions),
           "questions_replaced": squad.replaced if questions_path else None,
           "questions_missing": len(squad.missing) if questions_path else None}
    return {"metrics": metrics, "results": results, "run": run}


def _timed_ask(pipeline, question: str):
    started = time.perf_counter()
    reply = pipeline.ask(question, TOP_K)
    wall = (time.perf_counter() - started) * 1000
    return reply, float(reply.timings_ms.get("total", wall))


def _squad_result(pipeline, q: Question, mode: str, threshold: float) -> dict:
    """One question, asked with no confidence floor so that the ranked top answer is seen even below ``threshold``;
    the result's answers and no_answer are then those of the service, which drops answers below it."""
    reply, latency = _timed_ask(pipeline, q.question)
    rank = doc_rank((p.doc_id for p in reply.passages), q.doc_id)
    ranked_top = reply.answers[0] if reply.answers else None
    hit_ranked = bool(ranked_top and ranked_top.doc_id == q.doc_id
                      and covers(ranked_top.start, ranked_top.end, q.spans))
    reply = _served(reply, threshold)
    top = reply.answers[0] if reply.answers else None
    hit = hit_ranked and top is ranked_top
    answer_text = top.text if top else ""
    sentence_hit = bool(top and top.doc_id == q.doc_id and any(top.sentence.start <= s and e <= top.sentence.end
                                                               for s, e in q.spans))
    return {"mode": mode, "id": q.id, **_reply_fields(reply),
            "gold": {"doc_id": q.doc_id, "answers": q.answers, "answer_starts": q.starts},
            "rank": rank, "hit": hit, "hit_ranked": hit_ranked, "sentence_hit": sentence_hit,
            "em": exact_match(answer_text, q.answers) if top else 0.0,
            "f1": round(f1_score(answer_text, q.answers), 4) if top else 0.0,
            "answer_chars": (top.end - top.start) if top else None,
            "latency_ms": round(latency, 2)}


def _served(reply: Reply, threshold: float) -> Reply:
    """The reply as the service gives it: without the answers below ``threshold``."""
    return replace(reply, answers=[a for a in reply.answers if a.score >= threshold])


def _reply_fields(reply: Reply) -> dict:
    d = reply_to_dict(reply)
    return {"question": d["question"], "no_answer": d["no_answer"], "no_answer_reason": d["no_answer_reason"],
            "answers": d["answers"], "passages": d["passages"], "timings_ms": d["timings_ms"]}


def _squad_metrics(rows: list[dict]) -> dict:
    ranks = [r["rank"] for r in rows]
    return {
        "questions": len(rows),
        "recall_at_1": _mean([float(r is not None and r <= 1) for r in ranks]),
        "recall_at_5": _mean([float(r is not None and r <= 5) for r in ranks]),
        "mrr_at_10": _mean([reciprocal_rank(r, 10) for r in ranks]),
        "answer_hit_at_1": _mean([float(r["hit"]) for r in rows]),
        "ranked_hit_at_1": _mean([float(r["hit_ranked"]) for r in rows]),
        "sentence_hit": _mean([float(r["sentence_hit"]) for r in rows]),
        "exact_match": _mean([r["em"] for r in rows]),
        "f1": _mean([r["f1"] for r in rows]),
        "no_answer_rate": _mean([float(r["no_answer"]) for r in rows]),
        **_latency([r["latency_ms"] for r in rows]),
    }


QA_SPLITS = ("fit", "check")  # halves of a question set (its ``split``): fit and choose on one, report the other


def qa_eval(path: Path, modes: Iterable[str] | None = None, settings: Settings | None = None, embedder=None,
            progress: bool = True, split: str | None = None) -> dict:
    """Questions (``{"id","question","doc_ids","answers","answerable"}`` lines, optionally ``lang``, ``kind`` and
    ``split``) over the service's own index; ``split``: only the questions of that half."""
    from .pipeline import Pipeline

    modes = _check_modes(modes)
    if split is not None and split not in QA_SPLITS:
        raise InvalidInput(f"split must be one of {', '.join(QA_SPLITS)}, not {split!r}")
    questions = []
    for number, row in enumerate(_read_jsonl(path), start=1):
        if split is not None and row.get("split") != split:
            continue
        if not isinstance(row.get("question"), str) or not row["question"].strip():
            raise InvalidInput(f"{path}: question {number} has no \"question\" text")
        answerable = bool(row.get("answerable", True))
        doc_ids, answers = row.get("doc_ids") or [], row.get("answers") or []
        if not isinstance(doc_ids, list) or not isinstance(answers, list):
            raise InvalidInput(f"{path}: question {number}: \"doc_ids\" and \"answers\" must be lists")
        if answerable and (not doc_ids or not answers):
            raise InvalidInput(f"{path}: question {number} is answerable but lacks \"doc_ids\" or \"answers\"")
        questions.append({"id": str(row.get("id", number)), "question": row["question"],
                          "doc_ids": [str(d) for d in doc_ids], "answers": [str(a) for a in answers],
                          "answerable": answerable, "lang": str(row.get("lang") or "–"),
                          "kind": str(row.get("kind") or "–")})
    if not questions:
        raise InvalidInput(f"{path}: no questions with split {split!r}")
    settings = settings or Settings()
    first = Pipeline(settings.model_copy(update={"min_confidence": 0.0}), embedder=embedder, mode=modes[0])
    if not first.has_index():
        raise IndexUnavailable(f"no index in {settings.index_dir}: build it first with `rag ingest`")
    threshold = first.calibration.threshold if settings.min_confidence is None else settings.min_confidence
    embedder = first.embedder
    metrics, results = {}, []
    for mode in modes:
        pipeline = first if mode == modes[0] else Pipeline(first.settings, embedder=embedder, mode=mode)
        rows = []
        with _progress(len(questions), f"{mode:>7}", progress) as bar:
            for q in questions:
                rows.append(_qa_result(pipeline, q, mode, threshold))
                bar.update()
        metrics[mode] = _qa_metrics(rows)
        results.extend(rows)
    run = {"file": str(path), "index_dir": str(settings.index_dir), "split": split, "modes": modes, "top_k": TOP_K,
           "model": embedder.name, "questions": len(questions)}
    return {"metrics": metrics, "results": results, "run": run}


def _qa_result(pipeline, q: dict, mode: str, threshold: float) -> dict:
    """One question, asked with no confidence floor (as in ``_squad_result``): ``ranked_right`` and ``confidence``
    are those of the ranked top answer, the rest those of the service's reply, which drops answers below
    ``threshold``."""
    reply, latency = _timed_ask(pipeline, q["question"])
    ranked_top = reply.answers[0] if reply.answers else None
    ranked_right = bool(q["answerable"] and ranked_top and ranked_top.doc_id in q["doc_ids"]
                        and answer_matches(ranked_top.text, q["answers"]))
    reply = _served(reply, threshold)
    correct = (ranked_right and bool(reply.answers)) if q["answerable"] else reply.no_answer
    rank = doc_rank((p.doc_id for p in reply.passages), q["doc_ids"]) if q["doc_ids"] else None
    return {"mode": mode, "id": q["id"], "lang": q["lang"], "kind": q["kind"], **_reply_fields(reply),
            "gold": {"doc_ids": q["doc_ids"], "answers": q["answers"], "answerable": q["answerable"]},
            "correct": correct, "ranked_right": ranked_right,
            "confidence": ranked_top.score if ranked_top else None, "rank": rank, "latency_ms": round(latency, 2)}


def _median(values: list[float]) -> float | None:
    return round(percentile(values, 50), 4) if values else None


def _accuracies(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["gold"]["answerable"]]
    unanswerable = [r for r in rows if not r["gold"]["answerable"]]
    return {
        "questions": len(rows),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "accuracy": _mean([float(r["correct"]) for r in rows]),
        "answerable_accuracy": _mean([float(r["correct"]) for r in answerable]),
        "unanswerable_accuracy": _mean([float(r["correct"]) for r in unanswerable]),
    }


def _qa_metrics(rows: list[dict]) -> dict:
    """Accuracies overall, by language and by kind; the ranked top answers' median confidence when right and when
    wrong (an answer to an unanswerable question is wrong); answerable questions lost to no_answer."""
    answerable = [r for r in rows if r["gold"]["answerable"]]
    ranks = [r["rank"] for r in answerable]
    answered = [r for r in rows if r["confidence"] is not None]
    return {
        **_accuracies(rows),
        "recall_at_1": _mean([float(r is not None and r <= 1) for r in ranks]),
        "mrr_at_10": _mean([reciprocal_rank(r, 10) for r in ranks]),
        "no_answer_rate": _mean([float(r["no_answer"]) for r in rows]),
        "answerable_lost_rate": _mean([float(r["no_answer"]) for r in answerable]),
        "confidence_right_median": _median([r["confidence"] for r in answered if r["ranked_right"]]),
        "confidence_wrong_median": _median([r["confidence"] for r in answered if not r["ranked_right"]]),
        "by_language": {lang: _accuracies(group) for lang, group in _grouped(rows, "lang").items()},
        "by_kind": {kind: _mean([float(r["correct"]) for r in group])
                    for kind, group in _grouped(rows, "kind").items()},
        "no_answer_by_reason": {reason: {"answerable": sum(r["gold"]["answerable"] for r in group),
                                         "unanswerable": sum(not r["gold"]["answerable"] for r in group)}
                                for reason, group in _grouped([r for r in rows if r["no_answer"]],
                                                              "no_answer_reason").items()},
        **_latency([r["latency_ms"] for r in rows]),
    }


def _grouped(rows: list[dict], key: str) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row)
    return groups


# --- output ------------------------------------------------------------------------------------------------------
SQUAD_COLUMNS = [("R@1", "recall_at_1"), ("R@5", "recall_at_5"), ("MRR@10", "mrr_at_10"),
                 ("hit@1", "answer_hit_at_1"), ("sentence hit", "sentence_hit"), ("EM", "exact_match"), ("F1", "f1"),
                 ("no-ans", "no_answer_rate"),
                 ("p50 ms", "latency_p50_ms"), ("p95 ms", "latency_p95_ms"), ("ingest s", "ingest_s")]
QA_COLUMNS = [("acc", "accuracy"), ("answerable", "answerable_accuracy"), ("unanswerable", "unanswerable_accuracy"),
              ("lost", "answerable_lost_rate"), ("conf right", "confidence_right_median"),
              ("conf wrong", "confidence_wrong_median"), ("R@1", "recall_at_1"), ("MRR@10", "mrr_at_10"),
              ("no-ans", "no_answer_rate"), ("p50 ms", "latency_p50_ms"), ("p95 ms", "latency_p95_ms")]
LANGUAGE_COLUMNS = [("n", "questions"), ("acc", "accuracy"), ("answerable", "answerable_accuracy"),
                    ("unanswerable", "unanswerable_accuracy")]


def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) <= 1 else f"{value:.1f}"
    return str(value)


def table(metrics: dict[str, dict], columns: list[tuple[str, str]], markdown: bool = False, first: str = "mode") -> str:
    """Modes (or the groups named by ``first``) as rows, metrics as columns; plain aligned text, or a Markdown table."""
    header = [first] + [name for name, _ in columns]
    body = [[mode] + [_cell(values.get(key)) for _, key in columns] for mode, values in metrics.items()]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] + ["---:"] * len(columns)) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))

    return "\n".join([fmt(header)] + [fmt(row) for row in body])


def squad_summary(outcome: dict) -> str:
    run = outcome["run"]
    first = next(iter(outcome["metrics"].values()))
    lines = [f"{run['file']}: {run['paragraphs']} paragraphs ({first['chunks']} chunks, ingested in "
             f"{first['ingest_s']:.1f} s, {first['chunks_per_s']} chunks/s), {run['questions']} questions"
             + (" of articles {}-{}".format(*run["articles"]) if run.get("articles") else "")]
    if run.get("questions_file"):
        lines.append(f"questions from {run['questions_file']}: {run['questions_replaced']} asked, "
                     f"{run['questions_missing']} questions it has no text for left out")
    lines += ["", table(outcome["metrics"], SQUAD_COLUMNS)]
    return "\n".join(lines)


def qa_summary(outcome: dict) -> str:
    run = outcome["run"]
    first = next(iter(outcome["metrics"].values()))
    lines = [f"{run['file']} over {run['index_dir']}: {run['questions']} questions"
             + (f" of the {run['split']} half" if run.get("split") else "")
             + f" ({first['answerable']} answerable, {first['unanswerable']} unanswerable)", "",
             table(outcome["metrics"], QA_COLUMNS)]
    for mode, metrics in outcome["metrics"].items():
        lines += ["", f"{mode}, by language:", table(metrics["by_language"], LANGUAGE_COLUMNS, first="lang"),
                  f"{mode}, accuracy by kind: "
                  + ", ".join(f"{kind} {value:.3f}" for kind, value in metrics["by_kind"].items())]
    return "\n".join(lines)


def as_json_object(outcome: dict) -> dict:
    """The --json object: ``metrics`` keyed by mode, ``results`` one row per (mode, question), and ``run``."""
    return {"metrics": outcome["metrics"], "results": outcome["results"], "run": outcome["run"]}
