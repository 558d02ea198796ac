"""`rag ask` from any folder of the project, and through a running server: the same reply as in the process."""
import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from rag.api.app import create_app
from rag.cli import cli

from .servers import ThreadServer, free_port

QUESTION = "Wer traf Putin im Februar 2023 in Moskau?"


def without_timings(output: str) -> dict:
    reply = json.loads(output)
    reply.pop("timings_ms")
    return reply


@pytest.fixture
def runner(monkeypatch):
    for name in ("RAG_INDEX_DIR", "RAG_SEEDS_DIR", "RAG_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


@pytest.fixture
def here(runner, seeded_index_dir, monkeypatch) -> dict:
    monkeypatch.setenv("RAG_INDEX_DIR", str(seeded_index_dir))
    result = runner.invoke(cli, ["ask", QUESTION, "--json"])
    assert result.exit_code == 0, result.output
    monkeypatch.delenv("RAG_INDEX_DIR")
    return without_timings(result.output)


def test_ask_finds_the_index_of_the_project_from_a_folder_below(runner, here, seeded_index_dir, tmp_path,
                                                                 monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "rag-news"\n')
    shutil.copytree(seeded_index_dir, tmp_path / "index")
    (tmp_path / "docs" / "deep").mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "docs" / "deep")
    result = runner.invoke(cli, ["ask", QUESTION, "--json"])
    assert result.exit_code == 0, result.output
    assert without_timings(result.output) == here and here["answers"]


def test_without_an_index_ask_names_the_folder_and_how_to_get_one(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(cli, ["ask", QUESTION])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert str(tmp_path / "index") in result.output
    assert "RAG_INDEX_DIR" in result.output and "rag ingest seeds/" in result.output


def test_ask_through_a_server_gives_the_reply_of_the_process(runner, here, seeded_pipeline, monkeypatch):
    with ThreadServer(create_app(seeded_pipeline.settings, seeded_pipeline)) as server:
        through_option = runner.invoke(cli, ["ask", QUESTION, "--json", "--server", server.url])
        monkeypatch.setenv("RAG_SERVER_URL", server.url)
        through_variable = runner.invoke(cli, ["ask", QUESTION])
        too_long = runner.invoke(cli, ["ask", "Wer? " * 300])
    assert through_option.exit_code == 0, through_option.output
    assert without_timings(through_option.output) == here
    assert through_variable.exit_code == 0 and through_variable.output.startswith(f"[1] {here['answers'][0]['text']}")
    assert too_long.exit_code == 1 and f"the server at {server.url} answered 422" in too_long.output
    assert "Traceback" not in too_long.output


def test_when_no_server_answers_the_question_is_answered_here(runner, here, seeded_index_dir, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_DIR", str(seeded_index_dir))
    url = f"http://127.0.0.1:{free_port()}"
    result = runner.invoke(cli, ["ask", QUESTION, "--json", "--server", url])
    assert result.exit_code == 0, result.output
    assert f"no server answers at {url}" in result.stderr and "answering here" in result.stderr
    assert without_timings(result.stdout) == here


def test_a_server_address_without_its_scheme_is_a_message(runner):
    result = runner.invoke(cli, ["ask", QUESTION, "--server", "127.0.0.1:8000"])
    assert result.exit_code == 1 and "must start with http://" in result.output and "Traceback" not in result.output


HEAVY = ("numpy", "onnxruntime", "onnx", "faiss", "bm25s", "tokenizers", "langchain_text_splitters")
LOADED = "import sys; {}; print('loaded:', *(m for m in {!r} if m in sys.modules))"


def test_the_cli_imports_what_a_command_needs_only_when_it_runs(seeded_index_dir, tmp_path):
    """`rag --help` loads no model library; a question, once the models' files are kept, neither builds a graph
    (onnx) nor imports what only ingest needs (langchain)."""
    env = {**os.environ, "RAG_INDEX_DIR": str(seeded_index_dir), "XDG_CACHE_HOME": str(tmp_path)}

    def loaded(code: str) -> set[str]:
        run = subprocess.run([sys.executable, "-c", LOADED.format(code, HEAVY)], env=env, cwd=tmp_path,
                             capture_output=True, text=True, check=True)
        return set(run.stdout.splitlines()[-1].split()[1:])

    assert loaded("import rag.cli") == set()
    ask = f"from rag.cli import cli; cli(['ask', {QUESTION!r}], standalone_mode=False)"
    assert "onnx" in loaded(ask)  # the first run builds the encoder's graph, and keeps it
    assert loaded(ask) == set(HEAVY) - {"onnx", "langchain_text_splitters"}
