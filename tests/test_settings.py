"""Settings' folder defaults: the index and the seeds of the project around the working directory."""
from pathlib import Path

import pytest

from rag.settings import Settings


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """A checkout of the project (its pyproject.toml) with a folder below it; no RAG_* folder is set."""
    monkeypatch.delenv("RAG_INDEX_DIR", raising=False)
    monkeypatch.delenv("RAG_SEEDS_DIR", raising=False)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "rag-news"\nversion = "0.1.0"\n')
    (tmp_path / "docs" / "deep").mkdir(parents=True)
    return tmp_path


def test_from_any_folder_of_the_project_its_index_and_seeds_are_found(project, monkeypatch):
    for folder in (project, project / "docs", project / "docs" / "deep"):
        monkeypatch.chdir(folder)
        assert (Settings().index_dir, Settings().seeds_dir) == (project / "index", project / "seeds")


def test_a_folder_with_an_index_is_found_without_a_project(tmp_path, monkeypatch):
    monkeypatch.delenv("RAG_INDEX_DIR", raising=False)
    (tmp_path / "index").mkdir()
    (tmp_path / "index" / "CURRENT").write_text("v000001")
    (tmp_path / "articles").mkdir()
    monkeypatch.chdir(tmp_path / "articles")
    assert Settings().index_dir == tmp_path / "index"


def test_the_nearest_index_wins_over_the_project_above_it(project, monkeypatch):
    inner = project / "docs"
    (inner / "index").mkdir()
    (inner / "index" / "CURRENT").write_text("v000001")
    monkeypatch.chdir(inner / "deep")
    assert Settings().index_dir == inner / "index"


def test_an_index_folder_without_a_live_version_or_another_project_is_no_marker(tmp_path, monkeypatch):
    monkeypatch.delenv("RAG_INDEX_DIR", raising=False)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "other-news"\n')
    (tmp_path / "index").mkdir()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert Settings().index_dir == Path("index")


def test_an_explicit_folder_wins(project, tmp_path_factory, monkeypatch):
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    monkeypatch.chdir(project / "docs")
    monkeypatch.setenv("RAG_INDEX_DIR", str(elsewhere))
    assert Settings().index_dir == elsewhere
    assert Settings(index_dir=elsewhere / "x").index_dir == elsewhere / "x"
