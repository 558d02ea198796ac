"""Score fusion: pure functions over {row: score} maps from different retrievers."""
from __future__ import annotations

import numpy as np


def minmax(scores: dict[int, float]) -> dict[int, float]:
    """Scores mapped onto [0, 1] within their own list; a single or constant list maps to 1."""
    if not scores:
        return {}
    values = np.fromiter(scores.values(), float)
    low, high = values.min(), values.max()
    if high - low < 1e-9:
        return {row: 1.0 for row in scores}
    return {row: float((s - low) / (high - low)) for row, s in scores.items()}


def weighted_fusion(runs: dict[str, dict[int, float]], weights: dict[str, float]) -> list[tuple[int, float]]:
    """Weighted sum of min-max normalised scores (a row missing from a run scores 0 there), best first."""
    total: dict[int, float] = {}
    weight_sum = sum(weights.get(name, 0.0) for name in runs) or 1.0
    for name, scores in runs.items():
        weight = weights.get(name, 0.0)
        if not weight:
            continue
        for row, score in minmax(scores).items():
            total[row] = total.get(row, 0.0) + weight * score / weight_sum
    return sorted(total.items(), key=lambda item: (-item[1], item[0]))
