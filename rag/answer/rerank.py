"""The reader's evidence in the passage order: a passage the reader finds an answer in moves up, one where "no answer"
wins moves down. Its score is the fused retrieval score plus READER_WEIGHT × the reader's margin over "no answer"
(0 for a passage it did not read or found no span in); the passages keep their own order on a tie."""
from __future__ import annotations

from dataclasses import replace

from .read import Found
from .retrieve import Retrieval

READER_WEIGHT = 0.02  # the margin runs from about -15 to +15, the fused scores of the first passages lie within
# about 0.3 of each other; chosen on XQuAD 16-23 and the news fit half (docs/benchmarks.md, "The reader's order")


def rerank(retrieval: Retrieval, found: list[Found]) -> tuple[Retrieval, list[Found]]:
    """``retrieval`` with its passages in the reader's order (scores and ranks anew), and ``found`` pointing at them."""
    margin = {f.passage: f.score for f in found}
    scores = [p.score + READER_WEIGHT * margin.get(i, 0.0) for i, p in enumerate(retrieval.passages)]
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    position = {old: new for new, old in enumerate(order)}
    passages = [replace(retrieval.passages[old], score=round(scores[old], 4), rank=new)
                for new, old in enumerate(order, start=1)]
    return (replace(retrieval, passages=passages, rows=[retrieval.rows[old] for old in order]),
            [replace(f, passage=position[f.passage]) for f in found])
