"""End to end on the seed articles with the real bundled model; the questions are asked over the index folder and
over the same corpus in Milvus."""
import json

import pytest
from click.testing import CliRunner

from rag.answer.answer_type import STATES_QUANTITY
from rag.cli import cli
from rag.metrics import answer_matches
from rag.pipeline import Pipeline
from rag.types import NoAnswerReason

from .conftest import assert_spans_exact, in_store

LAWROW = "Was sagte Lawrow über eine Allianz?"  # the design card's question, in German


@pytest.fixture(scope="module", params=["faiss", "milvus"])
def seeded_pipeline(request, seeded_pipeline, seeded_milvus, tmp_path_factory) -> Pipeline:
    return in_store(request.param, seeded_pipeline, seeded_milvus, tmp_path_factory)


def test_lawrow_question_cites_his_speech(seeded_pipeline):
    reply = seeded_pipeline.ask(LAWROW)
    assert not reply.no_answer
    top = reply.answers[0]
    assert top.doc_id == "000_4cb28fa25178b61e"
    assert "Allianz" in top.text or "Bündnis" in top.text
    assert_spans_exact(seeded_pipeline, reply)


def full_width(text: str) -> str:
    """``text`` as a Chinese or Japanese keyboard types it: ASCII letters, digits and marks full width."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


def test_a_question_in_full_width_letters_is_the_same_question(seeded_pipeline):
    asked = "Was sagte Lawrow über eine Allianz?"
    typed, reply = seeded_pipeline.ask(full_width(asked)), seeded_pipeline.ask(asked)
    assert typed.answers and typed.question == asked  # before NFKC: no answer (BM25 and the rules missed the name)
    assert [(a.doc_id, a.start, a.end, a.score) for a in typed.answers] == [
        (a.doc_id, a.start, a.end, a.score) for a in reply.answers]


def seed_outcomes(pipeline, questions) -> dict[str, bool]:
    """Per seed question: right (answerable: the top answer cites an expected document and matches an expected
    answer; unanswerable: no_answer), checking every span on the way."""
    outcomes = {}
    for item in questions:
        reply = pipeline.ask(item["question"])
        assert_spans_exact(pipeline, reply)
        if not item["answerable"]:
            outcomes[item["id"]] = reply.no_answer
            continue
        top = reply.answers[0] if reply.answers else None
        outcomes[item["id"]] = bool(top) and top.doc_id in item["doc_ids"] and answer_matches(top.text, item["answers"])
    return outcomes


# of the 9 seed questions: the German Lawrow question gets no_answer, and without latent terms the English one too
# (the reader's margin on them is below the calibrated threshold; docs/benchmarks.md)
SEEDS_RIGHT_AT_LEAST = {True: 8, False: 7}


@pytest.mark.parametrize("latent_terms", [True, False], ids=["latent-terms", "no-latent-terms"])
def test_seed_questions(seeded_pipeline, seed_questions, latent_terms):
    """The seed questions are answered right (the top answer from an expected document matching an expected answer,
    and no_answer for the unanswerable one), with and without latent terms in retrieval; the misses are named."""
    pipeline = Pipeline(seeded_pipeline.settings.model_copy(update={"latent_terms": latent_terms}),
                        embedder=seeded_pipeline.embedder)
    outcomes = seed_outcomes(pipeline, seed_questions)
    missed = sorted(question for question, right in outcomes.items() if not right)
    assert len(outcomes) - len(missed) >= SEEDS_RIGHT_AT_LEAST[latent_terms], missed


def test_several_answers_come_from_different_places(seeded_pipeline):
    reply = seeded_pipeline.ask("Was sagte Lawrow über ein Bündnis mit China?", max_answers=3)
    spans = [(a.doc_id, a.start, a.end) for a in reply.answers]
    assert len(spans) == len(set(spans))
    for (d1, s1, e1) in spans:
        assert sum(1 for (d2, s2, e2) in spans if d1 == d2 and s1 < e2 and s2 < e1) == 1


@pytest.mark.parametrize("question", ["Was sagte Baerbock über die Partnerschaft von Russland und China?",
                                      "What did Stoltenberg say about the phone call between Xi and Putin?"])
def test_what_a_speaker_the_articles_never_name_said_has_no_answer(seeded_pipeline, question):
    reply = seeded_pipeline.ask(question)  # the reader alone answers both with others' words
    assert reply.no_answer and reply.passages and reply.no_answer_reason == NoAnswerReason.SPEAKER_NOT_NAMED


@pytest.mark.parametrize("question", ["Was sagte Lawrow über ein Bündnis mit China?",
                                      "Was hat Lawrow über ein Bündnis mit China gesagt?"])
def test_what_a_named_speaker_said_is_read(seeded_pipeline, question):
    reply = seeded_pipeline.ask(question)
    assert not reply.no_answer and reply.answers[0].doc_id == "000_4cb28fa25178b61e"  # Lawrow's speech


def test_how_long_is_never_answered_by_an_anniversary(seeded_pipeline):
    reply = seeded_pipeline.ask("Wie lange dauerte das Telefonat zwischen Xi und Putin in Minuten?")
    assert reply.no_answer and reply.passages  # the reader alone answers "dritten Jahrestag" (0.76)
    assert reply.no_answer_reason == NoAnswerReason.NOT_OF_THE_KIND_ASKED


@pytest.mark.parametrize("question", ["Wie viele Tage dauerte Putins Besuch in China?",
                                      "How many years ago did China and Russia establish diplomatic relations?"])
def test_how_many_is_answered_by_a_number(seeded_pipeline, question):
    reply = seeded_pipeline.ask(question)
    assert not reply.no_answer and all(STATES_QUANTITY.search(answer.text) for answer in reply.answers)


@pytest.fixture
def runner(seeded_index_dir, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_DIR", str(seeded_index_dir))
    return CliRunner()


def test_cli_ask_json_is_the_contract_reply(runner):
    result = runner.invoke(cli, ["ask", LAWROW, "--json"])
    assert result.exit_code == 0, result.output
    reply = json.loads(result.output)
    assert set(reply) >= {"question", "no_answer", "answers", "passages", "timings_ms"}
    answer = reply["answers"][0]
    assert set(answer) >= {"text", "score", "doc_id", "start", "end", "passage_id", "sentence", "context"}
    assert set(reply["passages"][0]) >= {"id", "doc_id", "title", "text", "start", "end", "score", "rank"}
    assert [p["rank"] for p in reply["passages"]] == list(range(1, len(reply["passages"]) + 1))


def test_cli_ask_prints_the_short_answer_then_its_sentence_and_passages(runner):
    result = runner.invoke(cli, ["ask", "Wer traf Putin im Februar 2023 in Moskau?"])
    assert result.exit_code == 0 and "004_436c9eb40a421347" in result.output and "Passages:" in result.output
    first, _, sentence = result.output.split("\n")[:3]
    assert first.startswith("[1] ") and sentence.strip().startswith("in: ") and first[4:] in sentence


def test_cli_ask_says_why_there_is_no_answer(runner):
    result = runner.invoke(cli, ["ask", "What did Stoltenberg say about the phone call between Xi and Putin?"])
    assert result.exit_code == 0 and "Passages:" in result.output
    assert result.output.startswith("No answer: the articles found never name the person the question asks about. "
                                    "Closest passages:")


def test_cli_errors_are_messages_not_tracebacks(runner, tmp_path, monkeypatch):
    result = runner.invoke(cli, ["ask", "   "])
    assert result.exit_code == 1 and "question is empty" in result.output and "Traceback" not in result.output
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "none"))
    result = runner.invoke(cli, ["ask", "Wer?"])
    assert result.exit_code == 1 and "rag ingest" in result.output
    result = runner.invoke(cli, ["ingest", str(tmp_path / "missing")])
    assert result.exit_code == 1 and "no such file or folder" in result.output
    monkeypatch.setenv("RAG_TOP_K", "0")
    result = runner.invoke(cli, ["ask", "Wer?"])
    assert result.exit_code == 1 and "RAG_TOP_K" in result.output and "Traceback" not in result.output


def test_cli_ingest_reports_counts(tmp_path, monkeypatch):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Moskau setzte den New-Start-Vertrag aus.", "utf-8")
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    first = CliRunner().invoke(cli, ["ingest", str(folder)])
    assert first.exit_code == 0 and "1 added" in first.output
    again = CliRunner().invoke(cli, ["ingest", str(folder)])
    assert "1 unchanged" in again.output


def test_confidence_does_not_depend_on_how_many_passages_are_asked_for(seeded_pipeline):
    answers = {k: [(a.doc_id, a.start, a.end, a.score) for a in seeded_pipeline.ask(LAWROW, top_k=k).answers]
               for k in (3, 5, 10)}
    assert answers[3] == answers[5] == answers[10] and answers[5]
