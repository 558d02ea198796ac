"""The answers' confidence: a calibrated P(the answer is right), and the threshold below which a reply has no answer."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

CALIBRATION_PATH = Path(__file__).parent.parent / "models" / "reader.json"


@dataclass(frozen=True)
class Calibration:
    """P(the answer is right) = sigmoid(weights · (span score, 1)); fitted by scripts/fit_reader_confidence.py on
    questions the reader never saw."""

    weights: tuple[float, float]
    threshold: float

    @classmethod
    def load(cls, path: Path = CALIBRATION_PATH) -> "Calibration":
        data = json.loads(path.read_text())
        return cls(tuple(data["weights"]), data["threshold"])

    def __call__(self, span_score: float) -> float:
        return float(1 / (1 + np.exp(-(self.weights[0] * span_score + self.weights[1]))))


@cache
def bundled_calibration() -> Calibration:
    """The calibration shipped with the reader."""
    return Calibration.load()
