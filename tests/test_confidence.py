"""The reader's confidence: evidence features and the calibrated probability."""
import json
from types import SimpleNamespace

import numpy as np
import pytest

from rag.answer.confidence import FEATURES, Calibration, Evidence, evidence, lead, term_coverage, word_coverage
from rag.answer.read import Found
from rag.answer.retrieve import Retrieval
from rag.types import Passage


def some_evidence(**changes) -> Evidence:
    values = dict(span_score=2.0, lead=1.0, agreement=0, rank=0, term_coverage=0.5, word_coverage=0.5,
                  name_coverage=0.5)
    return Evidence(**{**values, **changes})


def test_calibration_is_a_probability_rising_with_each_piece_of_evidence(tmp_path):
    calibration = Calibration(tuple([0.5] * len(FEATURES)) + (-3.0,), threshold=0.3)
    base = calibration(some_evidence())
    assert 0.0 < base < 1.0
    assert calibration(some_evidence(span_score=5.0)) > base
    assert calibration(some_evidence(agreement=2)) > base
    assert calibration(some_evidence(rank=2)) < base          # a lower-ranked passage speaks less for it
    assert calibration(some_evidence(word_coverage=1.0)) > base
    assert calibration(some_evidence(name_coverage=1.0)) > base


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


def test_the_same_span_of_several_passages_is_one_candidate_with_their_evidence():
    text = "Lawrow sprach von einer echten Allianz mit China. Peking schwieg."
    passages = [Passage(f"d#{i}", "d", "", text[s:e], s, e, 1.0, i + 1) for i, (s, e) in enumerate([(0, 49), (0, 64)])]
    passages.append(Passage("e#0", "e", "", "Peking schwieg.", 0, 15, 0.5, 3))
    snapshot = SimpleNamespace(chunk_term_ids=np.array([[1, 2], [1, 0], [3, 0]]),
                               chunk_term_weights=np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]]))
    question_terms = np.zeros(4, np.float32)
    question_terms[[1, 2]] = 1.0
    retrieval = Retrieval("Was sagte Lawrow über eine Allianz?", passages, [0, 1, 2], snapshot,
                          np.array([0.1, 0.9, 0.0], np.float32), question_terms)
    start = text.index("echten")
    found = [Found(1, start, start + 29, 4.0), Found(0, start, start + 29, 3.0), Found(2, 0, 6, 1.0)]
    (first, allianz), (_, peking) = evidence(found, retrieval)
    assert first.passage == 0 and allianz.rank == 0 and allianz.agreement == 1
    assert allianz.span_score == 4.0 and allianz.lead == 3.0 and peking.lead == -3.0
    assert allianz.term_coverage == 1.0 and peking.term_coverage == 0.0
    assert allianz.word_coverage == pytest.approx(2 / 3)         # lawrow, allianz of sagt, lawrow, allianz
    assert peking.word_coverage == 0.0
