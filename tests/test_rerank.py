"""The reader's evidence in the passage order."""
from hypothesis import given
from hypothesis import strategies as st

from rag.answer.read import Found
from rag.answer.rerank import READER_WEIGHT, rerank
from rag.answer.retrieve import Retrieval
from rag.types import Passage


def retrieval(scores: list[float]) -> Retrieval:
    passages = [Passage(f"d{i}#0", f"d{i}", "", "text", 0, 4, score, i + 1) for i, score in enumerate(scores)]
    return Retrieval("q", passages, rows=[10 + i for i in range(len(scores))], snapshot=None)


def test_a_passage_the_reader_answers_from_moves_above_one_where_no_answer_wins():
    reordered, found = rerank(retrieval([0.9, 0.8, 0.5]), [Found(0, 0, 2, -10.0), Found(1, 1, 3, 8.0)])
    assert [p.doc_id for p in reordered.passages] == ["d1", "d0", "d2"]
    assert [p.rank for p in reordered.passages] == [1, 2, 3]
    assert reordered.passages[0].score == round(0.8 + READER_WEIGHT * 8.0, 4)
    assert reordered.rows == [11, 10, 12]
    assert [(f.passage, f.start) for f in found] == [(1, 0), (0, 1)]  # each span still points at its passage


def test_without_the_readers_evidence_the_order_stays():
    reordered, found = rerank(retrieval([0.7, 0.7, 0.2]), [])
    assert [p.doc_id for p in reordered.passages] == ["d0", "d1", "d2"] and found == []


@given(st.lists(st.floats(0, 1), min_size=1, max_size=10), st.data())
def test_the_order_is_the_scores_and_every_span_keeps_its_passage(scores, data):
    before = retrieval(scores)
    read = sorted(data.draw(st.sets(st.integers(0, len(scores) - 1))))
    found = [Found(i, i, i + 1, data.draw(st.floats(-20, 20))) for i in read]
    reordered, moved = rerank(before, found)
    assert sorted(reordered.rows) == before.rows
    shown = [p.score for p in reordered.passages]
    assert shown == sorted(shown, reverse=True)
    assert [p.rank for p in reordered.passages] == list(range(1, len(scores) + 1))
    for old, new in zip(found, moved):
        assert reordered.rows[new.passage] == before.rows[old.passage]
        assert (new.start, new.end) == (old.start, old.end)
