"""The Milvus store across processes (milvus-lite, the versions a fresh install resolves): ingest in one process, ask
in others and in a server started afterwards; a failing store gives a one-line error, never a traceback."""
from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from scripts.common import RAG, ROOT, rag_env

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

pytestmark = pytest.mark.slow

ARTICLES = {"seilbahn": "Die Gemeinde Quastenberg baut eine Seilbahn über den Fluss. Sie kostet drei Millionen Euro.",
            "schule": "Der Bürgermeister eröffnet im Juni die neue Schule. Sie hat zwölf Klassenzimmer."}


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(RAG + list(args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_milvus_index_written_by_one_process_is_read_by_others(tmp_path, serve):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in ARTICLES.items():
        (docs / f"{name}.txt").write_text(text)
    store = {"RAG_VECTOR_STORE": "milvus", "RAG_MILVUS_URI": str(tmp_path / "milvus.db")}
    env = rag_env(tmp_path / "index", **store)
    assert run(env, "ingest", str(docs)).returncode == 0
    for _ in range(3):  # each `rag ask` is a new process; the collection was released when the last one ended
        result = run(env, "ask", "Was kostet die Seilbahn?", "--json")
        assert result.returncode == 0, result.stderr[-2000:]
        assert json.loads(result.stdout)["passages"][0]["doc_id"] == "seilbahn"
    server = serve(tmp_path / "index", **store)
    reply = httpx.post(server.url + "/ask", json={"question": "Wann öffnet die Schule?"}, timeout=60)
    assert reply.status_code == 200 and reply.json()["passages"][0]["doc_id"] == "schule"


def test_an_unreachable_milvus_is_a_one_line_error(index_copy):
    env = rag_env(index_copy, RAG_VECTOR_STORE="milvus", RAG_MILVUS_URI="http://127.0.0.1:9")
    result = run(env, "ask", "Was sagte Lawrow?")
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip().startswith("Error: the Milvus store (http://127.0.0.1:9) failed"), result.stderr
