"""The service's encoder (rag/encoder/e5_onnx.py) under other ONNX Runtime settings, on the chunks (with the sparse
head) and the answer units (without) of a generated German document, in rounds that alternate the settings so that
the load of other jobs falls on all of them alike. Prints the CPU seconds (all threads) and wall seconds of each
setting after each round (all rounds so far); the vectors do not depend on these settings.

Settings: padded tokens per run (TOKENS_PER_BATCH), intra-op threads spinning, the memory arena, the graph
optimisation level, and one thread per session with two runs side by side.

    python scripts/bench_onnx_settings.py --bytes 60000 --rounds 3
"""
from __future__ import annotations

import argparse
import json
import os
import threading
import time

import numpy as np
from common import ROOT
from reliability_bench import big_text

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def windows(embedder, texts: list[str]) -> list[np.ndarray]:
    from rag.encoder.embed import PASSAGE_PREFIX

    tokenizer = embedder._tokenizer
    return [np.array([tokenizer.bos, *tokenizer.encode(PASSAGE_PREFIX + text).ids, tokenizer.eos]) for text in texts]


def encoder(threads: int = 2, spinning: bool = False, arena: bool = False, level: str = "ORT_ENABLE_ALL"):
    """A TokenEncoder whose sessions have these options (the graphs as the service builds them)."""
    import onnxruntime

    from rag.encoder import e5_files
    from rag.encoder.e5_onnx import TokenEncoder, build_graph

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.enable_cpu_mem_arena = arena
    options.graph_optimization_level = getattr(onnxruntime.GraphOptimizationLevel, level)
    found = TokenEncoder()
    found.warm_up()
    files = e5_files.load()
    for features in (True, False):
        graph = build_graph(files, e5_files.load_sparse_head() if features else None)
        found._sessions[features] = onnxruntime.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    return found


def side_by_side(found, batch: list[np.ndarray], features: bool) -> None:
    """Two runs at once, each over half the windows (one thread each)."""
    halves = [threading.Thread(target=found.run, args=(batch[part::2], features)) for part in (0, 1)]
    for half in halves:
        half.start()
    for half in halves:
        half.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bytes", type=int, default=60_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, action="append", default=[], help="TOKENS_PER_BATCH values to try")
    args = parser.parse_args()
    from rag.corpus.files import make_document
    from rag.encoder import e5_onnx
    from rag.encoder.embed import BundledEmbedder
    from rag.index.chunk import split_document
    from rag.text import chunk_view, searchable_text

    document = make_document("big", big_text(args.bytes, ROOT / "seeds"))
    plan = split_document(document, 800, 300)
    embedder = BundledEmbedder()
    embedder.warm_up()
    texts = {"chunks": windows(embedder, [chunk_view(document, *span) for span in plan.chunk_spans]),
             "units": windows(embedder, [searchable_text(document.text[a:b]) for a, b in plan.unit_spans])}
    shipped = e5_onnx.TOKENS_PER_BATCH
    settings = {**{f"tokens per run {n}": ({}, n, False) for n in args.tokens or [2048, 1024, 512, 256]},
                "spinning": ({"spinning": True}, shipped, False), "arena": ({"arena": True}, shipped, False),
                "basic graph optimisation": ({"level": "ORT_ENABLE_BASIC"}, shipped, False),
                "1 thread, 2 runs side by side": ({"threads": 1}, shipped, True)}
    encoders = {name: encoder(**options) for name, (options, _, _) in settings.items()}
    print(json.dumps({"tokens": {kind: int(sum(map(len, found))) for kind, found in texts.items()},
                      "shipped_tokens_per_run": shipped}), flush=True)
    for name in settings:  # once before the clock: the first runs of a session are slower
        encoders[name].run(texts["units"][:8], False)
    results: dict[str, dict[str, list]] = {}
    for _ in range(args.rounds):
        for name, (_, tokens, split) in settings.items():
            e5_onnx.TOKENS_PER_BATCH = tokens
            for kind, batch in texts.items():
                started, cpu = time.perf_counter(), time.process_time()
                if split:
                    side_by_side(encoders[name], batch, kind == "chunks")
                else:
                    encoders[name].run(batch, kind == "chunks")
                spent = [round(time.process_time() - cpu, 2), round(time.perf_counter() - started, 2)]
                results.setdefault(name, {}).setdefault(kind, []).append(spent)
        print(json.dumps({"load": os.getloadavg()[0], **{
            name: {kind: {"cpu_s": [c for c, _ in runs], "wall_s": [w for _, w in runs]}
                   for kind, runs in kinds.items()}
            for name, kinds in results.items()}}), flush=True)
    e5_onnx.TOKENS_PER_BATCH = shipped


if __name__ == "__main__":
    main()
