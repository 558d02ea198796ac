"""The work around the encoder, per text: what ``BundledEmbedder.read`` spends outside the encoder (tokenizing with
offsets, the windows, pooling each text's vector and latent terms), for the code on PYTHONPATH (run it with an older
checkout's ``PYTHONPATH`` to compare). The encoder's output is recorded once and replayed, so only the host's share
is timed: on a GPU that share runs on one CPU core and bounds how many chunks a second ingest can feed the GPU.

    python scripts/bench_host.py [--texts 240] [--rounds 3]

Texts: XQuAD-de's paragraphs (about 700 characters, like a chunk). Prints JSON: milliseconds per text, and texts per
second on one core.
"""
from __future__ import annotations

import argparse
import json
import time

from common import ROOT

from rag.encoder.embed import BundledEmbedder
from rag.evaluate import load_squad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--texts", type=int, default=240)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    texts = [d.text for d in load_squad(ROOT / "data" / "xquad" / "xquad.de.json").documents][:args.texts]
    embedder = BundledEmbedder()
    embedder.warm_up()
    encoder = embedder._encoder
    recorded, encode = {}, encoder.run

    def replay(windows, features=True):
        key = (features, tuple(len(w) for w in windows))
        if key not in recorded:
            recorded[key] = encode(windows, features)
        return recorded[key]

    encoder.run = replay
    embedder.read(texts)  # records the encoder's output (and warms the tokenizer's word cache, as a corpus does)
    started = time.perf_counter()
    for _ in range(args.rounds):
        embedder.read(texts)
    per_text = (time.perf_counter() - started) / args.rounds / len(texts)
    print(json.dumps({"texts": len(texts), "rounds": args.rounds, "host_ms_per_text": round(per_text * 1000, 3),
                      "texts_per_second_one_core": round(1 / per_text)}))


if __name__ == "__main__":
    main()
