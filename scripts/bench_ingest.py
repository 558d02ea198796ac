"""Ingest time against its floor, and retrieval quality, for the code on PYTHONPATH: run it once with the current code
and once with an older checkout (``PYTHONPATH=/path/to/old``) to compare them side by side on the same machine.

- The ingest's CPU seconds (all its threads) beside its wall time: on shared cores the CPU time moves less with the
  other jobs' load than the wall time does.
- ``seeds``: the five seed articles; ``xquad``: XQuAD-de's 240 paragraphs, then every XQuAD question retrieved over
  them, in German and in English (the English questions of xquad.en.json, same ids): R@1 and MRR@10 of the gold
  paragraph, the p50 of retrieval, and of one query embedding against the question's encoding as retrieval makes it.
- The floor is one bare encoder pass over the chunks ingest makes (their views, batched as ingest batches them), with
  the current code's bundled encoder (``--floor``; the older code has no such pass to time), and the tokens the
  encoder reads for chunks and units with their padding, in batches taken in document order and in order of length.

    python scripts/bench_ingest.py --set seeds --set xquad --floor
    PYTHONPATH=/tmp/old python scripts/bench_ingest.py --set seeds --set xquad
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

XQUAD = ROOT / "data" / "xquad"


def ingest(documents, folder: Path):
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    pipeline = Pipeline(Settings(index_dir=folder))
    pipeline.embedder.warm_up()
    started, cpu = time.perf_counter(), time.process_time()
    report = pipeline.ingest(documents)
    return pipeline, time.perf_counter() - started, time.process_time() - cpu, report.chunks


def texts(pipeline) -> tuple[list[str], list[str]]:
    """The chunk views and the answer units' texts ingest encodes, in document order."""
    from rag.text import chunk_view, searchable_text

    snapshot = pipeline.index.snapshot
    views = [chunk_view(snapshot.documents[document], *span)
             for document, span in zip(snapshot.chunk_doc, snapshot.chunk_spans)]
    units = [searchable_text(snapshot.documents[document].text[start:end])
             for document, (start, end) in zip(snapshot.unit_doc, snapshot.unit_spans)]
    return views, units


def floor_seconds(pipeline, views: list[str]) -> float:
    """One pass of the bundled encoder over the chunk views, in ingest's batches (in order of length)."""
    from rag.encoder.embed import BundledEmbedder
    from rag.index.encode import by_length
    from rag.progress import Progress

    embedder = BundledEmbedder()
    embedder.warm_up()
    started = time.perf_counter()
    with Progress(len(views), "floor", "text", False) as bar:
        by_length(views, [len(view) for view in views], embedder.read, pipeline.settings.batch_size, bar)
    return time.perf_counter() - started


def padded_tokens(texts: list[str], batch_size: int) -> dict:
    """The tokens the encoder reads for the texts (<s>, "passage: ", the text, </s>; one window each here), and with
    the padding of batches of ``batch_size`` taken in document order (the older code) or in order of length (now):
    ``TokenEncoder.run`` pads each run to its longest window."""
    from rag.encoder.e5_onnx import TOKENS_PER_BATCH
    from rag.encoder.embed import PASSAGE_PREFIX
    from rag.encoder.tokenize import bundled

    lengths = [len(bundled().encode(PASSAGE_PREFIX + text).ids) + 2 for text in texts]
    keys = [len(text) for text in texts]  # what ingest orders by

    def padded(order: list[int]) -> int:
        total = 0
        for first in range(0, len(order), batch_size):
            batch, start = sorted(lengths[i] for i in order[first:first + batch_size]), 0
            while start < len(batch):
                end = start + 1
                while end < len(batch) and (end - start + 1) * batch[end] <= TOKENS_PER_BATCH:
                    end += 1
                total, start = total + (end - start) * batch[end - 1], end
        return total

    return {"tokens": sum(lengths), "padded_in_document_order": padded(list(range(len(texts)))),
            "padded_in_order_of_length": padded(sorted(range(len(texts)), key=lambda i: keys[i]))}


def question_cost(pipeline, questions, count: int = 200) -> dict:
    """p50 of one query embedding (the vector alone) and of the question's encoding as retrieval makes it (vector and
    latent terms), over the first ``count`` questions, interleaved."""
    snapshot = pipeline.index.snapshot
    alone, as_retrieved = [], []
    for q in questions[:count]:
        started = time.perf_counter()
        pipeline.embedder.embed_queries([q.question])
        alone.append(time.perf_counter() - started)
        started = time.perf_counter()
        pipeline.retriever.embed_question(q.question, snapshot)
        as_retrieved.append(time.perf_counter() - started)
    return {"query_embedding_p50_ms": round(1000 * sorted(alone)[len(alone) // 2], 1),
            "question_encoding_p50_ms": round(1000 * sorted(as_retrieved)[len(as_retrieved) // 2], 1)}


def retrieval(pipeline, questions) -> dict:
    ranks, seconds = [], []
    for q in questions:
        started = time.perf_counter()
        passages = pipeline.retrieve(q.question, 10).passages
        seconds.append(time.perf_counter() - started)
        ranks.append(next((p.rank for p in passages if p.doc_id == q.doc_id), None))
    return {"questions": len(questions),
            "recall_at_1": round(sum(r == 1 for r in ranks) / len(ranks), 4),
            "mrr_at_10": round(sum(1 / r for r in ranks if r) / len(ranks), 4),
            "retrieve_p50_ms": round(1000 * sorted(seconds)[len(seconds) // 2], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--set", action="append", choices=["seeds", "xquad"], required=True)
    parser.add_argument("--floor", action="store_true", help="time one bare encoder pass over the chunks too")
    args = parser.parse_args()
    import rag
    from rag.corpus.files import read_folder
    from rag.evaluate import load_squad

    out = {"code": str(Path(rag.__file__).parent), "load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as work:
        for name in args.set:
            documents = (read_folder(ROOT / "seeds") if name == "seeds"
                         else load_squad(XQUAD / "xquad.de.json").documents)
            pipeline, seconds, cpu_seconds, chunks = ingest(documents, Path(work) / name)
            row = {"documents": len(documents), "chunks": chunks, "ingest_s": round(seconds, 2),
                   "ingest_cpu_s": round(cpu_seconds, 2), "chunks_per_s": round(chunks / seconds, 1)}
            if args.floor:
                views, units = texts(pipeline)
                row["floor_s"] = round(floor_seconds(pipeline, views), 2)
                row["ingest_over_floor"] = round(seconds / row["floor_s"], 2)
                row["padding"] = {name: padded_tokens(found, pipeline.settings.batch_size)
                                  for name, found in (("chunks", views), ("units", units))}
            if name == "xquad":
                german = load_squad(XQUAD / "xquad.de.json").questions
                english = {q.id: q.question for q in load_squad(XQUAD / "xquad.en.json").questions}
                row["question_cost"] = question_cost(pipeline, german)
                row["de"] = retrieval(pipeline, german)
                for q in german:
                    q.question = english[q.id]
                row["en"] = retrieval(pipeline, german)
            out[name] = row
            print(json.dumps({name: row}), file=sys.stderr, flush=True)
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
