"""The peer figure of issue 22: Haystack 2's ``SentenceTransformersDocumentEmbedder`` embedding XQuAD-de's 240
paragraphs (one pass per paragraph, "passage: " first) with the project's own model written by ``rag model export``,
sentence-transformers on torch, CPU. Prints the seconds of ``run`` after ``warm_up`` (the model loaded).

    rag model export /tmp/e5-st
    pip install "haystack-ai<3"
    python scripts/bench_peer.py /tmp/e5-st
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
XQUAD_DE = ROOT / "data" / "xquad" / "xquad.de.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", type=Path, help="a directory written by `rag model export`")
    args = parser.parse_args()
    import torch
    from haystack import Document
    from haystack.components.embedders import SentenceTransformersDocumentEmbedder
    from haystack.utils import ComponentDevice

    data = json.loads(XQUAD_DE.read_text("utf-8"))["data"]
    documents = [Document(content=p["context"]) for article in data for p in article["paragraphs"]]
    embedder = SentenceTransformersDocumentEmbedder(model=str(args.model), device=ComponentDevice.from_str("cpu"),
                                                    prefix="passage: ", normalize_embeddings=True, progress_bar=False)
    embedder.warm_up()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    embedded = embedder.run(documents)["documents"]
    seconds = time.perf_counter() - started
    print(json.dumps({"peer": "haystack " + __import__("haystack").__version__,
                      "torch_threads": torch.get_num_threads(),
                      "paragraphs": len(embedded), "embed_s": round(seconds, 2),
                      "paragraphs_per_s": round(len(embedded) / seconds, 1), "load_before": load_before,
                      "load_after": os.getloadavg()[0]}))


if __name__ == "__main__":
    main()
