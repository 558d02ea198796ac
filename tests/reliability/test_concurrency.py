"""Concurrency: questions in parallel with POST and DELETE (one process, threads), reads while a 1 MB document is
ingested, and two `rag serve` processes over one index folder (each sees the other's writes; concurrent writes to both
lose nothing)."""
from __future__ import annotations

import math
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from rag.api import create_app
from rag.pipeline import Pipeline
from rag.settings import Settings

from ..servers import ThreadServer
from .conftest import index_state

QUESTIONS = ["Was sagte Lawrow über ein Bündnis?", "Wann trafen sich Putin und Xi Jinping?",
             "Was baut die Gemeinde Quastenberg?", "Wie viel kostet die Seilbahn?", "Who is the mayor?"]
SHARED_CORES_SLOWDOWN = 5  # how much slower a read may get while a write's encoder shares the 2 cores with it


def posted_text(i: int) -> str:
    return (f"Die Gemeinde Quastenberg baut eine Seilbahn Nummer {i}. Der Bürgermeister Anton Weber sagte, "
            f"sie koste {i + 3} Millionen Euro. Die Bauarbeiten beginnen im Mai. 🚡 Sie führt über den Fluss.\n")


def check_spans(reply: dict, texts: dict[str, str]) -> None:
    for passage in reply["passages"]:
        assert texts[passage["doc_id"]][passage["start"]:passage["end"]] == passage["text"]
    for answer in reply.get("answers", []):
        text = texts[answer["doc_id"]]
        assert text[answer["start"]:answer["end"]] == answer["text"]
        context = answer["context"]
        assert text[context["start"]:context["end"]] == context["text"]


def test_questions_while_documents_are_posted_and_deleted(index_copy, seeded_pipeline):
    settings = Settings(index_dir=index_copy, rate_limit=0)
    texts = index_state(index_copy)  # every text any version can hold: the seeds and what the writer posts
    texts.update({f"w{i}": posted_text(i) for i in range(8)})
    app = create_app(settings, Pipeline(settings, embedder=seeded_pipeline.embedder))
    failures: list[str] = []
    latencies: list[float] = []
    writing = threading.Event()
    done = threading.Event()
    replies = 0

    with ThreadServer(app) as server:
        def reader(n: int) -> None:
            nonlocal replies
            with httpx.Client(base_url=server.url, timeout=60) as client:
                i = n
                while not done.is_set():
                    question = QUESTIONS[i % len(QUESTIONS)]
                    started = time.perf_counter()
                    if i % 3:
                        response = client.post("/ask", json={"question": question, "top_k": 5})
                    else:
                        response = client.get("/search", params={"q": question, "k": 5})
                    if writing.is_set():
                        latencies.append(time.perf_counter() - started)
                    if response.status_code != 200:
                        failures.append(f"{response.status_code} {response.text[:300]}")
                        continue
                    try:
                        check_spans(response.json(), texts)
                    except (AssertionError, KeyError) as error:
                        failures.append(f"inexact span: {error!r}")
                    replies += 1
                    i += 1

        def writer() -> None:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                writing.set()
                for i in range(8):
                    response = client.post("/documents", json={"id": f"w{i}", "text": posted_text(i)})
                    if response.status_code != 201:
                        failures.append(f"POST {response.status_code} {response.text[:300]}")
                    if i % 2:
                        response = client.delete(f"/documents/w{i - 1}")
                        if response.status_code != 204:
                            failures.append(f"DELETE {response.status_code} {response.text[:300]}")
                done.set()

        with ThreadPoolExecutor(5) as pool:
            futures = [pool.submit(reader, n) for n in range(4)] + [pool.submit(writer)]
            for future in futures:
                future.result(timeout=300)
        final = httpx.get(server.url + "/documents", timeout=30).json()

    assert failures == []
    assert replies >= 20
    ids = {d["id"] for d in final["documents"]}
    assert {f"w{i}" for i in range(1, 8, 2)} <= ids and not {f"w{i}" for i in range(0, 8, 2)} & ids
    print(f"\n{replies} replies during 8 POSTs and 4 DELETEs; /ask and /search while writing: "
          f"p50 {statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")


def latency(client: httpx.Client, method: str, path: str, **kwargs) -> float:
    """Seconds to a 200; infinite when the read times out (as one waiting on the write would)."""
    started = time.perf_counter()
    try:
        client.request(method, path, **kwargs).raise_for_status()
    except httpx.TimeoutException:
        return math.inf
    return time.perf_counter() - started


def read_latencies(url: str, seconds: float, stop: threading.Event | None = None) -> dict[str, list[float]]:
    """/health and /ask one after the other for ``seconds``, keeping only the rounds that ended before ``stop``."""
    stop = stop or threading.Event()
    got = {"health": [], "ask": []}
    with httpx.Client(base_url=url, timeout=20) as client:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not stop.is_set():
            health = latency(client, "GET", "/health")
            ask = latency(client, "POST", "/ask", json={"question": QUESTIONS[0]})
            if not stop.is_set():
                got["health"].append(health)
                got["ask"].append(ask)
    return got


@pytest.mark.slow
def test_reads_keep_their_latency_while_a_megabyte_is_ingested(index_copy, serve):
    """The defect: a large POST held the write lock while it embedded, and /health and /ask waited minutes behind it.
    Embedding runs outside the lock now. The 1 MB write takes minutes here; the test ends it by killing the server."""
    server = serve(index_copy)
    quiet = read_latencies(server.url, 8)
    text = " ".join(posted_text(i) for i in range(5_000))  # 0.96 MB
    written = threading.Event()
    outcome = []

    def post() -> None:
        try:
            outcome.append(httpx.post(server.url + "/documents", json={"id": "big", "text": text}, timeout=None))
        except httpx.TransportError as error:  # the kill
            outcome.append(error)
        written.set()

    threading.Thread(target=post, daemon=True).start()
    time.sleep(2)  # the body has arrived and the document is being chunked
    during = read_latencies(server.url, 20, written)
    server.kill()
    assert during["ask"], f"the write ended before a read during it: {outcome}"
    health, ask, ask_quiet = (statistics.median(v) for v in (during["health"], during["ask"], quiet["ask"]))
    print(f"\nquiet /ask p50 {ask_quiet * 1000:.0f} ms; during the 1 MB write /health p50 {health * 1000:.0f} ms, "
          f"/ask p50 {ask * 1000:.0f} ms ({ask / ask_quiet:.1f}x), {len(during['ask'])} rounds")
    # The write's embedding takes its share of the 2 cores from the reader: 2.8x and 4.01x measured in two CI runs of
    # one day (the quiet p50 is taken before, on a machine whose load changes). A read that waited on the write would
    # wait for the whole embedding (minutes) and time out at 20 s: over 100x
    assert health < 0.5 and ask < SHARED_CORES_SLOWDOWN * ask_quiet, (quiet, during)


@pytest.mark.slow
def test_two_server_processes_share_one_index(index_copy, serve):
    a = serve(index_copy)
    b = serve(index_copy)
    text = posted_text(1)
    assert httpx.post(a.url + "/documents", json={"id": "shared/1", "text": text}, timeout=60).status_code == 201
    # b sees a's write at once: it reloads when CURRENT names a newer version
    assert httpx.get(b.url + "/documents/shared/1", timeout=30).json()["text"] == text
    reply = httpx.post(b.url + "/ask", json={"question": "Was baut die Gemeinde Quastenberg?"}, timeout=60).json()
    assert "shared/1" in {p["doc_id"] for p in reply["passages"]}
    assert httpx.delete(b.url + "/documents/shared/1", timeout=60).status_code == 204
    assert httpx.get(a.url + "/documents/shared/1", timeout=30).status_code == 404

    # writes to both at once: the file lock makes them take turns, each starting from the other's last version; a
    # server busy with its own writes answers 503 with Retry-After, and a client tries again then
    def post(i: int) -> int:
        server = (a, b)[i % 2]
        for _ in range(30):
            response = httpx.post(server.url + "/documents", json={"id": f"both/{i}", "text": posted_text(i)},
                                  timeout=120)
            if response.status_code != 503:
                return response.status_code
            time.sleep(float(response.headers["retry-after"]) / 10)
        return response.status_code

    with ThreadPoolExecutor(6) as pool:
        assert list(pool.map(post, range(6))) == [201] * 6
    for server in (a, b):
        listed = httpx.get(server.url + "/documents", timeout=30).json()["documents"]
        assert {f"both/{i}" for i in range(6)} <= {d["id"] for d in listed}
    state = index_state(index_copy)
    assert all(state[f"both/{i}"] == posted_text(i) for i in range(6))
