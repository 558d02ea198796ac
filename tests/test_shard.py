"""`rag ingest --shard i/N`: N processes, one per shard, build the index one process would."""
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from rag.cli import cli
from rag.corpus.shard import Shard
from rag.errors import InvalidInput
from rag.index.versions import Index
from rag.pipeline import Pipeline
from rag.settings import Settings
from scripts.common import rag_env

from .conftest import SEEDS, FakeEmbedder

RAG = [sys.executable, "-c", "from rag.cli import main; main()"]


@given(st.text(min_size=1), st.integers(1, 16))
def test_every_document_belongs_to_exactly_one_shard(doc_id, count):
    owners = [number for number in range(1, count + 1) if Shard(number, count).owns(doc_id)]
    assert len(owners) == 1


def test_a_shard_is_parsed_from_i_of_n():
    assert Shard.parse("2/3") == Shard(2, 3)
    assert Shard.parse(" 1 / 1 ") == Shard(1, 1)
    for bad in ("3/2", "0/2", "x", "1/0", "-1/2", "1/2/3", ""):
        with pytest.raises(InvalidInput):
            Shard.parse(bad)


@pytest.mark.parametrize("bad", ["3/2", "x", "0/4"])
def test_a_bad_shard_is_a_message(bad, tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    result = CliRunner().invoke(cli, ["ingest", str(SEEDS), "--shard", bad])
    assert result.exit_code == 2
    assert "Invalid value for '--shard'" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "index").exists()


def test_a_shard_drops_only_its_own_documents_whose_files_are_gone(tmp_path):
    folder = tmp_path / "seeds"
    shutil.copytree(SEEDS, folder)
    pipeline = Pipeline(Settings(index_dir=tmp_path / "index"), embedder=FakeEmbedder())
    pipeline.ingest_folder(folder)
    for path in folder.iterdir():
        path.unlink()
    first, second = Shard(1, 2), Shard(2, 2)
    ids = {path.stem for path in SEEDS.iterdir()}
    report = pipeline.ingest_folder(folder, shard=first)
    assert sorted(report.removed) == sorted(i for i in ids if first.owns(i))
    assert set(pipeline.index.entries) == {i for i in ids if second.owns(i)}
    pipeline.ingest_folder(folder, shard=second)
    assert not pipeline.index.entries


def test_two_shard_processes_build_the_index_of_one_run(seeded_index_dir, tmp_path):
    """The real model on the seeds: two `rag ingest --shard` processes at once, against the session's one ingest."""
    index_dir = tmp_path / "index"
    shards = [subprocess.Popen([*RAG, "ingest", str(SEEDS), "--shard", f"{number}/2"], env=rag_env(index_dir),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for number in (1, 2)]
    outputs = [shard.communicate(timeout=600)[0] for shard in shards]
    assert [shard.returncode for shard in shards] == [0, 0], outputs
    assert all("0 removed" in output for output in outputs)
    sharded, whole = (Index.open(folder, Settings().model) for folder in (index_dir, seeded_index_dir))
    assert set(sharded.entries) == set(whole.entries) == {path.stem for path in SEEDS.iterdir()}
    assert sharded.chunk_count == whole.chunk_count
    for doc_id, entry in whole.entries.items():
        mine = sharded.entries[doc_id]
        assert mine.document == entry.document
        assert np.array_equal(mine.chunk_spans, entry.chunk_spans) and np.array_equal(mine.unit_spans, entry.unit_spans)
        assert np.allclose(mine.chunk_vectors, entry.chunk_vectors, atol=1e-4)
