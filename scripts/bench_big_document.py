"""One large German document from its POST to searchable, for the code on PYTHONPATH (run it once with an older
checkout, ``PYTHONPATH=/path/to/old``, to compare): what `POST /documents` does after the model is loaded (the
document made from its text, `Pipeline.ingest`, then the first question over the new version), with where the time
goes: splitting (sentences, units, chunks), the encoder's passes, and the rest (commit: the index saved, the
snapshot and BM25 built by the first question). The passes are timed by the embedder's method: ``read`` (vectors
and latent terms: the chunks before 2026-12-08; since then the units and the document's head, all the text) and
``embed`` (vectors only: the units before 2026-12-08).

The text is reliability_bench's generator (seed words in random sentences, as the 1 MB figure of docs/reliability.md
was measured). Prints JSON: wall and CPU seconds (all threads) of each part.

    python scripts/bench_big_document.py --bytes 1000000
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from common import ROOT
from reliability_bench import QUESTION, big_text

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


class Clock:
    """Wall and CPU seconds spent inside the wrapped callables, per part."""

    def __init__(self):
        self.parts: dict[str, list[float]] = {}

    def wrap(self, part: str, function):
        def timed(*args, **kwargs):
            started, cpu = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent = self.parts.setdefault(part, [0.0, 0.0])
                spent[0] += time.perf_counter() - started
                spent[1] += time.process_time() - cpu
        return timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bytes", type=int, default=1_000_000)
    args = parser.parse_args()
    import rag
    from rag.corpus.files import make_document
    from rag.pipeline import Pipeline
    from rag.settings import Settings

    text = big_text(args.bytes, ROOT / "seeds")
    with tempfile.TemporaryDirectory(prefix="bench-big-") as work:
        pipeline = Pipeline(Settings(index_dir=Path(work) / "index"))
        pipeline.embedder.warm_up()
        clock = Clock()
        pipeline._split = clock.wrap("split", pipeline._split)
        pipeline.embedder.read = clock.wrap("read", pipeline.embedder.read)
        pipeline.embedder.embed_passages = clock.wrap("embed", pipeline.embedder.embed_passages)
        started, cpu = time.perf_counter(), time.process_time()
        report = pipeline.ingest([make_document("big", text)])
        found = pipeline.search(QUESTION)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        snapshot = pipeline.index.snapshot
        out = {"code": str(Path(rag.__file__).parent), "bytes": len(text.encode()), "chunks": report.chunks,
               "units": len(snapshot.unit_spans), "searchable": bool(found), "load_before": os.getloadavg()[0]}
        spent = {part: [round(wall_s, 1), round(cpu_s, 1)] for part, (wall_s, cpu_s) in clock.parts.items()}
        rest = [round(wall - sum(w for w, _ in spent.values()), 1), round(cpu - sum(c for _, c in spent.values()), 1)]
        out.update({"total_wall_cpu_s": [round(wall, 1), round(cpu, 1)], "parts_wall_cpu_s": {**spent, "rest": rest},
                    "load_after": os.getloadavg()[0]})
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
