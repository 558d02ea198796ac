"""Milvus as the store of record across processes: milvus-lite's own gRPC server in a process of its own, `rag ingest`
and two `rag serve` workers in theirs, sharing nothing but Milvus (each has an index folder of its own, left empty).
A write through one worker is seen by the other at its next question; killing Milvus gives clear 503s, and Milvus
started again over the same data brings back everything that was acknowledged."""
from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from scripts.common import RAG, ROOT, MilvusLiteServer, rag_env

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

pytestmark = pytest.mark.slow

ARTICLES = {"seilbahn": "Die Gemeinde Quastenberg baut eine Seilbahn über den Fluss. Sie kostet drei Millionen Euro.",
            "schule": "Der Bürgermeister eröffnet im Juni die neue Schule. Sie hat zwölf Klassenzimmer."}
FERRY = {"id": "hafen", "title": "Hafen", "text": "Im Hafen legen wieder Fähren nach Norden ab. Die Überfahrt dauert "
                                                  "zwei Stunden und kostet zwölf Euro."}


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(RAG + list(args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def top_document(url: str, question: str) -> str:
    reply = httpx.post(url + "/ask", json={"question": question}, timeout=60)
    assert reply.status_code == 200, reply.text
    return reply.json()["passages"][0]["doc_id"]


def test_workers_share_one_corpus_in_milvus_and_survive_its_restart(tmp_path, serve):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in ARTICLES.items():
        (docs / f"{name}.txt").write_text(text)
    milvus = MilvusLiteServer(tmp_path / "milvus-data", tmp_path / "milvus.log").start()
    try:
        store = {"RAG_VECTOR_STORE": "milvus", "RAG_MILVUS_URI": milvus.url}
        ingest = run(rag_env(tmp_path / "ingest-folder", **store), "ingest", str(docs))
        assert ingest.returncode == 0, ingest.stderr[-2000:]
        assert f"in Milvus at {milvus.url}" in ingest.stdout
        first, second = (serve(tmp_path / f"worker-{n}", **store) for n in (1, 2))
        assert {top_document(w.url, "Was kostet die Seilbahn?") for w in (first, second)} == {"seilbahn"}

        written = httpx.post(first.url + "/documents", json=FERRY, timeout=120)
        assert written.status_code == 201, written.text
        assert top_document(second.url, "Wie lange dauert die Überfahrt mit der Fähre?") == "hafen"
        assert httpx.get(second.url + "/health", timeout=10).json()["documents"] == 3

        milvus.kill()
        down = httpx.post(second.url + "/ask", json={"question": "Was kostet die Seilbahn?"}, timeout=60)
        assert down.status_code == 503 and "Milvus" in down.json()["detail"], down.text
        assert "Traceback" not in down.text

        milvus.start()
        deadline, status = time.monotonic() + 60, None
        while time.monotonic() < deadline and status != 200:  # the first request after the restart may reconnect
            status = httpx.post(second.url + "/ask", json={"question": "Wann öffnet die Schule?"},
                                timeout=60).status_code
            time.sleep(0.5)
        assert status == 200
        for worker in (first, second):  # nothing acknowledged is lost
            assert top_document(worker.url, "Wie lange dauert die Überfahrt mit der Fähre?") == "hafen"
            assert top_document(worker.url, "Wann öffnet die Schule?") == "schule"
    finally:
        milvus.kill()


def test_an_unreachable_milvus_is_a_one_line_error(tmp_path):
    env = rag_env(tmp_path / "index", RAG_VECTOR_STORE="milvus", RAG_MILVUS_URI="http://127.0.0.1:9")
    result = run(env, "ask", "Was sagte Lawrow?")
    assert result.returncode == 1 and "Traceback" not in result.stdout + result.stderr
    assert result.stderr.strip().startswith("Error: the Milvus store (http://127.0.0.1:9) failed"), result.stderr
