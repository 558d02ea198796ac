"""The answer units' pass: what each way of making (or not making) their vectors costs in encoder time and in
retrieval quality. XQuAD-de's 240 paragraphs are ingested once; then, over the same index, the units' vectors are
swapped for each option and the questions of the chosen articles (default: the fit articles 0-23) are retrieved, in
German and in English (the same ids in xquad.en.json): R@1 and MRR@10 of the gold paragraph.

- ``separate``: each unit embedded as a text of its own (what ingest does);
- ``truncated-N``: each unit cut to its first N tokens before its pass;
- ``none``: no unit vectors: the best-sentence score falls back to the chunk's own (what a document with no units
  gets).

    python scripts/bench_units.py --truncate 32 --truncate 48
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import ROOT

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

XQUAD = ROOT / "data" / "xquad"


def unit_texts(snapshot) -> list[str]:
    from rag.text import searchable_text

    return [searchable_text(snapshot.documents[document].text[start:end])
            for document, (start, end) in zip(snapshot.unit_doc, snapshot.unit_spans)]


def truncated(embedder, texts: list[str], tokens: int) -> list[str]:
    """Each text cut after its first ``tokens`` tokens (as the model reads it, after "passage: ")."""
    from rag.encoder.embed import PASSAGE_PREFIX

    cut = []
    for text in texts:
        ends = embedder._tokenizer.encode(PASSAGE_PREFIX + text).offsets[:, 1] - len(PASSAGE_PREFIX)
        cut.append(text[:ends[tokens - 1]] if len(ends) > tokens else text)
    return cut


def timed_vectors(embedder, texts: list[str], batch_size: int) -> tuple[np.ndarray, float]:
    from rag.index.encode import by_length
    from rag.progress import Progress

    started = time.process_time()
    with Progress(len(texts), "units", "text", False) as bar:
        vectors = by_length(texts, [len(text) for text in texts], embedder.embed_passages, batch_size, bar)
    return np.array(vectors, np.float32), time.process_time() - started


def retrieval(pipeline, questions) -> dict:
    ranks = []
    for q in questions:
        passages = pipeline.retrieve(q.question, 10).passages
        ranks.append(next((p.rank for p in passages if p.doc_id == q.doc_id), None))
    return {"recall_at_1": round(sum(r == 1 for r in ranks) / len(ranks), 4),
            "mrr_at_10": round(sum(1 / r for r in ranks if r) / len(ranks), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", default="0-23", help="the articles whose questions are asked (first-last)")
    parser.add_argument("--truncate", type=int, action="append", default=[], help="tokens a truncated unit keeps")
    args = parser.parse_args()
    import rag
    from rag.evaluate import load_squad
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    first, last = (int(n) for n in args.articles.split("-"))
    squad = load_squad(XQUAD / "xquad.de.json")
    german = [q for q in squad.questions if first <= q.article <= last]
    english = {q.id: q.question for q in load_squad(XQUAD / "xquad.en.json").questions}
    with tempfile.TemporaryDirectory(prefix="bench-units-") as work:
        pipeline = Pipeline(Settings(index_dir=Path(work) / "index"))
        pipeline.ingest(squad.documents)
        snapshot = pipeline.folder.snapshot()
        texts = unit_texts(snapshot)
        options = {"separate": texts, **{f"truncated-{n}": truncated(pipeline.embedder, texts, n)
                                         for n in args.truncate}}
        out = {"code": str(Path(rag.__file__).parent), "articles": args.articles, "questions": len(german),
               "units": len(texts), "load_before": os.getloadavg()[0]}
        ranges = snapshot.chunk_unit_hi.copy()
        for name in [*options, "none"]:
            row = {}
            if name == "none":
                snapshot.chunk_unit_hi = snapshot.chunk_unit_lo  # no units: the chunk's own score
            else:
                snapshot.unit_vectors, row["unit_pass_cpu_s"] = timed_vectors(pipeline.embedder, options[name],
                                                                              pipeline.settings.batch_size)
                row["unit_pass_cpu_s"] = round(row["unit_pass_cpu_s"], 2)
            row["de"] = retrieval(pipeline, german)
            row["en"] = retrieval(pipeline, [replace(q, question=english[q.id]) for q in german])
            out[name] = row
            print(json.dumps({name: row}), flush=True)
        snapshot.chunk_unit_hi = ranges
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
