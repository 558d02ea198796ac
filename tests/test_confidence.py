"""The reader's confidence: evidence features and the calibrated probability."""
import json

import numpy as np
import pytest

from rag.answer.confidence import FEATURES, Calibration, Evidence, lead, term_coverage, word_coverage


def evidence(**changes) -> Evidence:
    values = dict(span_score=2.0, lead=1.0, agreement=0, rank=0, cosine=0.85, term_coverage=0.5, word_coverage=0.5)
    return Evidence(**{**values, **changes})


def test_calibration_is_a_probability_rising_with_each_piece_of_evidence(tmp_path):
    calibration = Calibration(tuple([0.5] * len(FEATURES)) + (-3.0,), threshold=0.3)
    base = calibration(evidence())
    assert 0.0 < base < 1.0
    assert calibration(evidence(span_score=5.0)) > base
    assert calibration(evidence(agreement=2)) > base
    assert calibration(evidence(rank=2)) < base          # a lower-ranked passage speaks less for it
    assert calibration(evidence(word_coverage=1.0)) > base


def test_calibration_refuses_a_file_fitted_on_other_features(tmp_path):
    path = tmp_path / "reader.json"
    path.write_text(json.dumps({"weights": [0.25, -2.7], "threshold": 0.12, "features": ["span score", "bias"]}))
    with pytest.raises(ValueError, match="refit"):
        Calibration.load(path)
    path.write_text(json.dumps({"weights": [0.1] * (len(FEATURES) + 1), "threshold": 0.2,
                                "features": list(FEATURES) + ["bias"]}))
    assert Calibration.load(path).threshold == 0.2


def test_the_shipped_calibration_loads():
    calibration = Calibration.load()
    assert len(calibration.weights) == len(FEATURES) + 1 and 0.0 < calibration.threshold < 1.0


def test_lead_and_coverage():
    assert lead(3.0, [1.0, 2.5]) == 0.5
    assert lead(-50.0, [1.0]) == -10.0 and lead(1.0, []) == 10.0
    question = np.zeros(8, np.float32)
    question[[1, 3]] = [3.0, 1.0]
    assert term_coverage(question, np.array([1, 5, 0]), np.array([0.2, 0.4, 0.0])) == pytest.approx(0.75)
    assert term_coverage(question, np.array([3, 1]), np.array([0.0, 0.0])) == 0.0  # weightless terms are absent
    assert term_coverage(None, np.array([1]), np.array([1.0])) == 0.0
    assert word_coverage({"lawrow", "allianz"}, {"lawrow", "china"}) == 0.5
    assert word_coverage(set(), {"x"}) == 0.0
