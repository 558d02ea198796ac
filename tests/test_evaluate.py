"""Benchmarks: the metric functions on hand-made inputs, and `rag eval` end to end on a few XQuAD paragraphs."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.errors import InvalidInput
from rag.evaluate import (
    _qa_metrics,
    covers,
    doc_rank,
    load_squad,
    percentile,
    qa_eval,
    qa_summary,
    read_questions,
    reciprocal_rank,
    replace_questions,
    write_questions,
)
from rag.metrics import exact_match, f1_score, normalize_answer

from .conftest import SEED_QA, SEEDS, XQUAD_DE, FakeEmbedder

XQUAD_EN = XQUAD_DE.with_name("xquad.en.json")


# --- metrics -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("The Eiffel Tower!", "eiffel tower"),
    ("Der  Hund, die Katze und das Pferd.", "hund katze und pferd"),
    ("„Eine Allianz“ – mit China…", "allianz mit china"),
    ("Dieser Satz", "dieser satz"),          # only whole words are articles
    ("7.000 Wörtern", "7000 wörtern"),
    ("", ""),
])
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_exact_match_and_f1():
    assert exact_match("die Panthers", ["Panthers", "Carolina"]) == 1.0
    assert exact_match("Panthers defence", ["Panthers"]) == 0.0
    assert f1_score("Panthers", ["Panthers"]) == 1.0
    # 1 common token of 2 predicted and 1 gold: P = 0.5, R = 1 → F1 = 2/3
    assert f1_score("Carolina Panthers", ["Panthers"]) == pytest.approx(2 / 3)
    assert f1_score("Carolina Panthers", ["Broncos", "the Panthers"]) == pytest.approx(2 / 3)  # best gold counts
    assert f1_score("nothing alike", ["Panthers"]) == 0.0
    assert f1_score("", ["Panthers"]) == 0.0
    assert f1_score("the", ["a"]) == 1.0  # both empty after normalisation, as in the SQuAD script


def test_doc_rank_dedupes_chunks_of_one_document():
    passages = ["a/0", "a/0", "b/1", "a/0", "c/2"]
    assert doc_rank(passages, "a/0") == 1
    assert doc_rank(passages, "b/1") == 2        # the second chunk of a/0 does not push b/1 down
    assert doc_rank(passages, "c/2") == 3
    assert doc_rank(passages, "zzz") is None
    assert doc_rank(passages, ["c/2", "b/1"]) == 2  # several gold documents: the first found
    assert doc_rank([], "a/0") is None


def test_reciprocal_rank_cutoff():
    assert reciprocal_rank(1) == 1.0
    assert reciprocal_rank(4) == 0.25
    assert reciprocal_rank(10) == 0.1
    assert reciprocal_rank(11) == 0.0
    assert reciprocal_rank(None) == 0.0


def test_covers():
    spans = [(10, 15)]
    assert covers(0, 100, spans)
    assert covers(10, 15, spans)
    assert not covers(11, 100, spans)     # cuts the start of the gold span
    assert not covers(0, 14, spans)       # cuts its end
    assert not covers(0, 301, spans)      # longer than an answer may be
    assert covers(0, 300, spans)
    assert covers(50, 60, [(10, 15), (52, 58)])  # any gold span
    assert not covers(5, 5, spans)


def test_percentile():
    assert percentile([3, 1, 2], 50) == 2
    assert percentile([0, 10], 95) == pytest.approx(9.5)
    assert percentile([7], 95) == 7


def _qa_row(lang, kind, answerable, correct, ranked_right, confidence, no_answer, reason="not_confident"):
    return {"lang": lang, "kind": kind, "gold": {"answerable": answerable}, "correct": correct,
            "ranked_right": ranked_right, "confidence": confidence, "no_answer": no_answer,
            "no_answer_reason": reason if no_answer else None, "rank": 1 if answerable else None, "latency_ms": 1.0}


def test_qa_metrics_by_language_kind_and_confidence():
    rows = [_qa_row("de", "said", True, True, True, 0.9, False),
            _qa_row("de", "said", True, False, True, 0.05, True),   # right but under the threshold: lost
            _qa_row("de", "who", True, False, False, 0.4, False),   # wrong answer
            _qa_row("en", "unanswerable", False, True, False, 0.01, True, "speaker_not_named"),
            _qa_row("en", "unanswerable", False, False, False, 0.7, False),  # answered a look-alike: wrong
            _qa_row("en", "who", True, False, False, None, True)]   # nothing found at all
    metrics = _qa_metrics(rows)
    assert metrics["accuracy"] == pytest.approx(2 / 6, abs=1e-4)
    assert metrics["unanswerable_accuracy"] == 0.5                  # unanswerable → no_answer
    assert metrics["answerable_lost_rate"] == 0.5                   # 2 of the 4 answerable got no_answer
    assert metrics["confidence_right_median"] == pytest.approx(0.475)  # 0.9 and 0.05
    assert metrics["confidence_wrong_median"] == pytest.approx(0.4)    # 0.4, 0.01, 0.7; None is no answer
    assert metrics["by_language"]["de"] == {"questions": 3, "answerable": 3, "unanswerable": 0,
                                            "accuracy": pytest.approx(1 / 3, abs=1e-4),
                                            "answerable_accuracy": pytest.approx(1 / 3, abs=1e-4),
                                            "unanswerable_accuracy": 0.0}
    assert metrics["by_language"]["en"]["accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert metrics["by_kind"] == {"said": 0.5, "who": 0.0, "unanswerable": 0.5}
    assert metrics["no_answer_by_reason"] == {"not_confident": {"answerable": 2, "unanswerable": 0},
                                              "speaker_not_named": {"answerable": 0, "unanswerable": 1}}


def test_qa_eval_asks_only_the_chosen_split(tmp_path, fake_pipeline):
    fake_pipeline.ingest_folder(SEEDS)
    lines = [{"id": "a", "question": "Was sagte Lawrow über China?", "doc_ids": ["000_4cb28fa25178b61e"],
              "answers": ["Allianz"], "answerable": True, "lang": "de", "kind": "said", "split": "fit"},
             {"id": "b", "question": "Wer ist Scholz?", "doc_ids": [], "answers": [], "answerable": False,
              "lang": "en", "kind": "unanswerable", "split": "check"},
             {"id": "c", "question": "Who met Putin?", "doc_ids": ["001_6cd37be0f24843b2"], "answers": ["Wang Yi"],
              "answerable": True, "lang": "en", "kind": "who", "split": "fit"}]
    path = tmp_path / "q.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    outcome = qa_eval(path, ["lexical"], fake_pipeline.settings, FakeEmbedder(), progress=False, split="fit")
    assert [row["id"] for row in outcome["results"]] == ["a", "c"] and outcome["run"]["split"] == "fit"
    metrics = outcome["metrics"]["lexical"]
    assert set(metrics["by_language"]) == {"de", "en"} and set(metrics["by_kind"]) == {"said", "who"}
    for row in outcome["results"]:
        assert row["no_answer"] == (row["answers"] == [])
        assert row["confidence"] is None or 0.0 <= row["confidence"] <= 1.0
    summary = qa_summary(outcome)
    assert "of the fit half" in summary and "by language" in summary and "conf right" in summary
    with pytest.raises(InvalidInput, match="split"):
        qa_eval(path, ["lexical"], fake_pipeline.settings, FakeEmbedder(), progress=False, split="train")


# --- loading -----------------------------------------------------------------------------------------------------
def test_load_squad_ids_offsets_and_limit():
    squad = load_squad(XQUAD_DE, limit=3)
    assert [d.id for d in squad.documents] == ["Super_Bowl_50/0", "Super_Bowl_50/1", "Super_Bowl_50/2"]
    texts = {d.id: d.text for d in squad.documents}
    assert squad.questions and {q.doc_id for q in squad.questions} <= set(texts)
    for q in squad.questions:
        for answer, (start, end) in zip(q.answers, q.spans):
            assert texts[q.doc_id][start:end] == answer


def test_questions_file_round_trip(tmp_path):
    out = tmp_path / "en.jsonl"
    assert write_questions(XQUAD_EN, out) == 1190
    texts = read_questions(out)
    squad = replace_questions(load_squad(XQUAD_DE, limit=2), texts)
    assert squad.replaced == len(squad.questions) and not squad.missing
    assert all(q.question == texts[q.id] != q.original for q in squad.questions)


def test_partial_questions_file_keeps_only_its_questions(tmp_path):
    squad = load_squad(XQUAD_DE, limit=2)
    chosen = squad.questions[1]
    path = tmp_path / "fr.jsonl"
    path.write_text(json.dumps({"id": chosen.id, "question": "Combien ?", "lang": "fr"}) + "\n"
                    + json.dumps({"id": "not-in-the-file", "question": "Quoi ?"}) + "\n")
    squad = replace_questions(squad, read_questions(path))
    assert [(q.id, q.question) for q in squad.questions] == [(chosen.id, "Combien ?")]
    assert len(squad.documents) == 2 and chosen.id not in squad.missing and len(squad.missing) >= 1
    path.write_text(json.dumps({"id": "nope", "question": "Quoi ?"}) + "\n")
    with pytest.raises(InvalidInput, match="none of its question ids"):
        replace_questions(load_squad(XQUAD_DE, limit=2), read_questions(path))


@pytest.mark.parametrize("content, message", [
    ("{not json", "not valid JSON"),
    ('{"version": "1.1"}', "not a SQuAD-format file"),
    ('{"data": [{"title": "x"}]}', "paragraphs"),
])
def test_bad_squad_files(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(InvalidInput, match=message):
        load_squad(path)


def test_cli_errors_are_messages(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["eval", "squad", str(tmp_path / "missing.json")])
    assert result.exit_code == 1 and "no such file" in result.output and "Traceback" not in result.output
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": 1, "question": "x"}\nnot json\n')
    result = runner.invoke(cli, ["eval", "squad", str(XQUAD_DE), "--questions", str(bad), "--limit", "1"])
    assert result.exit_code == 1 and "line 2" in result.output
    result = runner.invoke(cli, ["eval", "qa", str(SEED_QA)], env={"RAG_INDEX_DIR": str(tmp_path / "none")})
    assert result.exit_code == 1 and "rag ingest" in result.output
    result = runner.invoke(cli, ["eval", "squad", str(XQUAD_DE), "--articles", "47-24"])
    assert result.exit_code == 2 and "24-47" in result.output and "Traceback" not in result.output
    result = runner.invoke(cli, ["eval", "squad", str(XQUAD_DE), "--limit", "1", "--articles", "30-31"])
    assert result.exit_code == 1 and "no questions in articles 30-31" in result.output


@pytest.mark.slow
def test_eval_squad_asks_only_the_chosen_articles_over_every_paragraph():
    result = CliRunner().invoke(cli, ["eval", "squad", str(XQUAD_DE), "--limit", "12", "--articles", "1-1",
                                      "--every", "2", "--mode", "full", "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    asked = {row["gold"]["doc_id"].split("/")[0] for row in outcome["results"]}
    everyone = load_squad(XQUAD_DE, limit=12).questions
    assert asked == {"Warsaw"} and outcome["run"]["paragraphs"] == 12
    assert len(outcome["results"]) == len([q for q in everyone if q.article == 1][::2])


# --- end to end with the real model ------------------------------------------------------------------------------
SQUAD_METRICS = {"recall_at_1", "recall_at_5", "mrr_at_10", "answer_hit_at_1", "sentence_hit", "exact_match", "f1",
                 "no_answer_rate", "latency_p50_ms", "latency_p95_ms", "ingest_s", "chunks_per_s", "chunks"}
RATES = ("recall_at_1", "recall_at_5", "mrr_at_10", "answer_hit_at_1", "sentence_hit", "exact_match", "f1",
         "no_answer_rate")


@pytest.mark.slow
def test_eval_squad_json_smoke():
    result = CliRunner().invoke(cli, ["eval", "squad", str(XQUAD_DE), "--limit", "3", "--json", "--no-progress"])
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    assert set(outcome) == {"metrics", "results", "run"}
    assert list(outcome["metrics"]) == ["full", "dense", "lexical"]
    questions = outcome["run"]["questions"]
    assert questions > 0 and len(outcome["results"]) == 3 * questions
    for mode, metrics in outcome["metrics"].items():
        assert SQUAD_METRICS <= set(metrics)
        assert all(0.0 <= metrics[key] <= 1.0 for key in RATES)
        assert metrics["recall_at_1"] <= metrics["recall_at_5"]
        assert metrics["recall_at_5"] >= 0.8, mode    # 3 paragraphs: the gold one is nearly always in the top 5
        assert metrics["latency_p50_ms"] <= metrics["latency_p95_ms"]
    for row in outcome["results"]:
        assert row["mode"] in {"full", "dense", "lexical"}
        assert {"id", "question", "answers", "passages", "no_answer", "hit", "em", "f1", "rank"} <= set(row)
        assert row["no_answer"] == (row["answers"] == [])
        assert all(p["doc_id"].startswith("Super_Bowl_50/") for p in row["passages"])


@pytest.mark.slow
def test_eval_squad_cross_lingual_single_mode(tmp_path):
    questions = tmp_path / "en.jsonl"
    runner = CliRunner()
    assert runner.invoke(cli, ["eval", "questions", str(XQUAD_EN), "-o", str(questions)]).exit_code == 0
    result = runner.invoke(cli, ["eval", "squad", str(XQUAD_DE), "--limit", "2", "--mode", "dense",
                                 "--questions", str(questions), "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "dense" in result.stdout and "lexical" not in result.stdout and "R@1" in result.stdout


@pytest.mark.slow
def test_eval_qa_on_seeded_index(seeded_index_dir):
    result = CliRunner().invoke(cli, ["eval", "qa", str(SEED_QA), "--json", "--no-progress", "--mode", "full"],
                                env={"RAG_INDEX_DIR": str(seeded_index_dir)})
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)
    metrics = outcome["metrics"]["full"]
    lines = [line for line in SEED_QA.read_text().splitlines() if line.strip()]
    assert metrics["questions"] == len(lines) == len(outcome["results"])
    assert metrics["answerable"] + metrics["unanswerable"] == len(lines)
    for key in ("accuracy", "answerable_accuracy", "unanswerable_accuracy", "no_answer_rate"):
        assert 0.0 <= metrics[key] <= 1.0
    for row in outcome["results"]:
        assert {"id", "answers", "passages", "no_answer", "correct", "mode"} <= set(row)
