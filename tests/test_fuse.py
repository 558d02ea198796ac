from hypothesis import given
from hypothesis import strategies as st

from rag.answer.fuse import minmax, weighted_fusion

scores = st.dictionaries(st.integers(0, 50), st.floats(-10, 10, allow_nan=False), max_size=20)


def test_minmax_maps_onto_unit_interval():
    assert minmax({1: 2.0, 2: 4.0, 3: 3.0}) == {1: 0.0, 2: 1.0, 3: 0.5}
    assert minmax({7: 5.0}) == {7: 1.0}
    assert minmax({}) == {}


def test_weighted_fusion_respects_weights_and_missing_rows():
    runs = {"dense": {1: 0.9, 2: 0.8, 3: 0.1}, "lexical": {3: 12.0, 2: 1.0}}
    assert [row for row, _ in weighted_fusion(runs, {"dense": 1.0, "lexical": 0.0})] == [1, 2, 3]
    assert weighted_fusion(runs, {"dense": 0.0, "lexical": 1.0})[0][0] == 3
    assert weighted_fusion({}, {"dense": 1.0}) == []


@given(st.dictionaries(st.sampled_from(["a", "b", "c"]), scores), st.floats(0, 1), st.floats(0, 1))
def test_fused_scores_stay_in_unit_interval_and_sorted(runs, wa, wb):
    fused = weighted_fusion(runs, {"a": wa, "b": wb, "c": 1.0})
    values = [s for _, s in fused]
    assert values == sorted(values, reverse=True)
    assert all(-1e-9 <= v <= 1 + 1e-9 for v in values)
