"""Crash safety: SIGKILL at seeded random moments during `rag ingest` and during `POST`/`DELETE /documents` to a
`rag serve` subprocess (real bundled model). After every kill the index opens (checksums verified) and holds exactly
the old or the new set of documents, and a follow-up write works. A corrupt or foreign index gives a clear error.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from rag.index.versions import CURRENT, Index, _sha256
from rag.pipeline import Pipeline
from rag.settings import DEFAULT_MODEL, Settings
from scripts.common import RAG, ROOT, ServeProcess, rag_env

from .conftest import index_state

pytestmark = pytest.mark.slow

INGEST_KILLS = 12
SERVE_KILLS = 10
SEED = 20240611


def small_text(i: int) -> str:
    return (f"Meldung {i}: Die Gemeinde Quastenberg{i} baut eine Seilbahn über den Fluss. "
            f"Der Bürgermeister sagte, der Bau koste {i} Millionen Euro. Die Arbeiten beginnen im Mai.\n")


def check_live_version(folder: Path) -> None:
    """CURRENT names a complete version whose files all match the manifest (what Index.open also checks)."""
    live = folder / (folder / CURRENT).read_text().strip()
    manifest = json.loads((live / "manifest.json").read_text())
    assert manifest["model"] == DEFAULT_MODEL
    for name, digest in manifest["files"].items():
        assert _sha256(live / name) == digest, name


def kill_at_random_point(rng: random.Random, process: subprocess.Popen, folder: Path, duration: float) -> str:
    """SIGKILL ``process`` (its whole group) at a seeded random moment; returns where the kill was aimed.

    A third of the kills fall anywhere in the run (start-up, reading, embedding); the rest wait until a staging
    version ``.vNNNNNN.tmp-PID`` appears and then fire within 60 ms: inside the save (files, fsyncs, the rename of
    the version, the replacement of CURRENT, the pruning of old versions).
    """
    stale = set(folder.glob(".v*.tmp-*"))
    if rng.random() < 1 / 3:
        aim = "anywhere"
        time.sleep(rng.uniform(0.0, duration))
    else:
        aim = "during the save"
        delay = rng.uniform(0.0, 0.06)
        deadline = time.monotonic() + 3 * duration + 30
        while process.poll() is None and time.monotonic() < deadline and not set(folder.glob(".v*.tmp-*")) - stale:
            time.sleep(0.0005)
        time.sleep(delay)
    if process.poll() is not None:
        return "after the end"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    return aim


def test_sigkill_during_rag_ingest(index_copy, seeded_pipeline, tmp_path):
    rng = random.Random(SEED)
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "base.txt").write_text(small_text(0))
    env = rag_env(index_copy)

    def run_ingest() -> subprocess.Popen:
        return subprocess.Popen(RAG + ["ingest", str(docs)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, start_new_session=True)

    started = time.monotonic()
    first = run_ingest()
    assert first.wait(120) == 0, first.stderr.read().decode()
    duration = time.monotonic() - started
    outcomes = {"old": 0, "new": 0}
    aims: dict[str, int] = {}
    round_ = 0
    while sum(outcomes.values()) < INGEST_KILLS and round_ < 3 * INGEST_KILLS:
        round_ += 1
        old = index_state(index_copy)
        # the change of this round: a new file, a changed file, and (every other round) a file gone
        (docs / f"r{round_}.txt").write_text(small_text(round_))
        (docs / "base.txt").write_text(small_text(100 + round_))
        if round_ % 2 == 0 and (docs / f"r{round_ - 1}.txt").exists():
            (docs / f"r{round_ - 1}.txt").unlink()
        process = run_ingest()
        aim = kill_at_random_point(rng, process, index_copy, duration)
        aims[aim] = aims.get(aim, 0) + 1
        state = index_state(index_copy)  # raises if the live version is incomplete or fails its checksums
        check_live_version(index_copy)
        # the new state is what an uninterrupted ingest gives: the follow-up ingest (a fresh pipeline) must get there
        follow_up = Pipeline(Settings(index_dir=index_copy), embedder=seeded_pipeline.embedder)
        follow_up.ingest_folder(docs)
        new = index_state(index_copy)
        expected = {k: v for k, v in old.items() if not (k.startswith("r") and not (docs / f"{k}.txt").exists())}
        expected.update({p.stem: p.read_text() for p in docs.glob("*.txt")})
        assert new == expected
        assert state in (old, new), f"round {round_}: neither the old nor the new state"
        assert not list(index_copy.glob(".v*.tmp-*")), "a staging version outlived the next save"
        if aim != "after the end":
            outcomes["old" if state == old and state != new else "new"] += 1
    print(f"\nrag ingest: {sum(outcomes.values())} SIGKILLs {aims}, left the old state {outcomes['old']}x, "
          f"the new {outcomes['new']}x")
    assert sum(outcomes.values()) == INGEST_KILLS


def test_sigkill_during_post_and_delete(index_copy, tmp_path):
    rng = random.Random(SEED + 1)
    server = ServeProcess(index_copy, tmp_path / "serve.log").start()
    try:
        # how long a write takes when nothing interrupts it
        started = time.monotonic()
        assert httpx.post(server.url + "/documents", json={"id": "p0", "text": small_text(0)},
                          timeout=60).status_code == 201
        duration = time.monotonic() - started
        outcomes = {"old": 0, "new": 0}
        aims: dict[str, int] = {}
        round_ = 0
        while sum(outcomes.values()) < SERVE_KILLS and round_ < 3 * SERVE_KILLS:
            round_ += 1
            old = index_state(index_copy)
            if round_ % 3 == 0:  # a DELETE of the previous round's document
                target = f"p{round_ - 1}"
                request = ("DELETE", f"/documents/{target}", None)
                new = {k: v for k, v in old.items() if k != target}
            else:
                target = f"p{round_}"
                request = ("POST", "/documents", {"id": target, "text": small_text(round_)})
                new = {**old, target: small_text(round_)}
            replies: list[int] = []

            def send():
                try:
                    replies.append(httpx.request(request[0], server.url + request[1], json=request[2],
                                                 timeout=60).status_code)
                except httpx.TransportError:
                    replies.append(0)

            thread = threading.Thread(target=send)
            thread.start()
            aim = kill_at_random_point(rng, server.process, index_copy, duration)
            aims[aim] = aims.get(aim, 0) + 1
            server.kill()
            thread.join(60)
            state = index_state(index_copy)
            check_live_version(index_copy)
            assert state in (old, new), f"round {round_}: neither the old nor the new state"
            if replies and replies[0] in (201, 204):
                assert state == new, "a write that was acknowledged was lost"
            if aim != "after the end":
                outcomes["old" if state == old else "new"] += 1
            # a restarted server takes the same write again
            server.start()
            if request[0] == "POST" or state == old:
                status = httpx.request(request[0], server.url + request[1], json=request[2], timeout=60).status_code
                assert status in (201, 204)
            assert index_state(index_copy) == new
            assert not list(index_copy.glob(".v*.tmp-*")), "a staging version outlived the next save"
            if request[0] == "POST":
                reply = httpx.get(server.url + f"/documents/{target}", timeout=30).json()
                assert reply["text"] == small_text(round_)
        print(f"\nrag serve: {sum(outcomes.values())} SIGKILLs {aims}, left the old state {outcomes['old']}x, "
              f"the new {outcomes['new']}x")
        assert sum(outcomes.values()) == SERVE_KILLS
    finally:
        server.stop()


# --- a corrupt or foreign index ----------------------------------------------------------------------------------
def live_dir(folder: Path) -> Path:
    return folder / (folder / CURRENT).read_text().strip()


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in (len(data) // 2, len(data) - 1):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def corrupt(folder: Path, how: str) -> None:
    live = live_dir(folder)
    if how == "flipped vectors":
        flip_bytes(live / "unit_vectors.npy")
    elif how == "flipped documents":
        flip_bytes(live / "documents.jsonl")
    elif how == "truncated file":
        (live / "chunk_spans.npy").write_bytes((live / "chunk_spans.npy").read_bytes()[:10])
    elif how == "broken manifest":
        (live / "manifest.json").write_text("{not json")
    elif how == "missing version":
        shutil.rmtree(live)
    elif how == "foreign model":
        manifest = json.loads((live / "manifest.json").read_text())
        manifest["model"] = "intfloat/multilingual-e5-large"
        (live / "manifest.json").write_text(json.dumps(manifest))


CORRUPTIONS = ["flipped vectors", "flipped documents", "truncated file", "broken manifest", "missing version",
               "foreign model"]


@pytest.mark.parametrize("how", CORRUPTIONS)
def test_rag_ask_over_a_corrupt_index(index_copy, how):
    corrupt(index_copy, how)
    with pytest.raises(Exception):
        Index.open(index_copy, DEFAULT_MODEL)
    result = subprocess.run(RAG + ["ask", "Was sagte Lawrow?"], env=rag_env(index_copy), cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    message = result.stderr.strip()
    assert message.startswith("Error: ") and "rag ingest" in message, message
    if how == "foreign model":
        assert "intfloat/multilingual-e5-large" in message and "RAG_MODEL" in message
    else:
        assert str(index_copy) in message


def test_the_rebuild_command_works(index_copy, tmp_path):
    """The message says: delete the folder, then rag ingest; doing that gives a working index again."""
    corrupt(index_copy, "flipped vectors")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text(small_text(1))
    shutil.rmtree(index_copy)
    env = rag_env(index_copy)
    assert subprocess.run(RAG + ["ingest", str(docs)], env=env, cwd=ROOT, capture_output=True,
                          timeout=120).returncode == 0
    result = subprocess.run(RAG + ["ask", "Was baut die Gemeinde?", "--json"], env=env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and json.loads(result.stdout)["passages"][0]["doc_id"] == "a"


def test_rag_serve_over_a_corrupt_index(index_copy, serve):
    """No crash loop: the server starts, /health and /ask answer 503 with the message, and it keeps running."""
    corrupt(index_copy, "flipped vectors")
    server = serve(index_copy, expect_status=503)
    for _ in range(3):
        health = httpx.get(server.url + "/health", timeout=30)
        assert health.status_code == 503
        assert "checksum" in health.json()["detail"] and "rag ingest" in health.json()["detail"]
        ask = httpx.post(server.url + "/ask", json={"question": "Was sagte Lawrow?"}, timeout=30)
        assert ask.status_code == 503 and "rag ingest" in ask.json()["detail"]
        assert httpx.get(server.url + "/search", params={"q": "Lawrow"}, timeout=30).status_code == 503
        post = httpx.post(server.url + "/documents", json={"text": "Ein Satz."}, timeout=30)
        assert post.status_code == 503
    assert httpx.get(server.url + "/", timeout=30).status_code == 200  # the page still loads and can show the error
    assert server.alive
