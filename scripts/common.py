"""What the scripts share, and the tests with them: `rag serve` as a subprocess on a free loopback port, resident
memory, the LZMA feature files of the GPU scripts, Debian's chromium.

A script imports it as ``from common import …`` (``python scripts/X.py`` puts scripts/ first on sys.path); a test as
``from scripts.common import …`` (pytest puts the repository root there). Neither edits sys.path: ``rag`` is the
installed package, or the one PYTHONPATH names. Percentiles are rag.evaluate's ``percentile``.
"""
from __future__ import annotations

import io
import json
import lzma
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
RAG = [str(Path(sys.executable).parent / "rag")]  # the console script of this Python's environment
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mib(pid: int | str = "self", kind: str = "VmRSS") -> float:
    """Resident memory of a process in MiB: all of it (VmRSS), or its anonymous part (RssAnon) or file-backed part
    (RssFile). OSError when there is no such process.

    The bundled model is a memory-mapped file: its pages count as RssFile once a new token first touches them, and
    the kernel can drop them again. A leak would show in RssAnon.
    """
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(kind + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ask_ms(url: str, question: str) -> float:
    """Milliseconds of one POST /ask to the service at ``url`` (its answer read in full; an HTTP error raises)."""
    body = json.dumps({"question": question}).encode()
    request = urllib.request.Request(url.rstrip("/") + "/ask", data=body, headers={"content-type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def rag_env(index_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a `rag` subprocess over ``index_dir``: no rate limit, unbuffered output, and ``settings``
    (RAG_* variables), none of the caller's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update({"RAG_RATE_LIMIT": "0", "PYTHONUNBUFFERED": "1", **settings, "RAG_INDEX_DIR": str(index_dir)})
    return env


def callers_settings() -> dict[str, str]:
    """The caller's own RAG_* variables, for a `rag` subprocess that runs as the caller's would."""
    return {k: v for k, v in os.environ.items() if k.startswith("RAG_")}


class ServeProcess:
    """`rag serve` on a free loopback port over ``index_dir`` (its environment: ``rag_env``), in its own process
    group so that a signal reaches only it. ``with ServeProcess(…).start() as server:`` stops it at the end."""

    def __init__(self, index_dir: Path, log: Path, **settings: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = rag_env(index_dir, **settings)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 90, expect_status: int = 200) -> ServeProcess:
        """Starts the server and waits until /health answers ``expect_status`` (rag serve builds a missing index
        from seeds/ first)."""
        import httpx

        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(RAG + ["serve", "--host", "127.0.0.1", "--port", str(self.port)],
                                            env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                            start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rag serve exited with {self.process.returncode}: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/health", timeout=30).status_code == expect_status:  # a busy store is slow
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"rag serve did not answer in {timeout} s: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.alive:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.alive:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class MilvusLiteServer:
    """milvus-lite's own gRPC server over ``data_dir`` on a free loopback port, in a process of its own (what a Milvus
    standalone is to a deployment); start it again after ``kill`` and it reopens the same data."""

    def __init__(self, data_dir: Path, log: Path):
        self.data_dir, self.log = data_dir, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> MilvusLiteServer:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir",
                                             str(self.data_dir), "--host", "127.0.0.1", "--port", str(self.port)],
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"milvus-lite exited with {self.process.returncode}: {self.log.read_text()[-3000:]}")
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"milvus-lite did not listen in {timeout} s: {self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def __enter__(self) -> MilvusLiteServer:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


def save_features(path: Path, features: dict[str, np.ndarray]) -> None:
    """Arrays in an LZMA-compressed npz: paragraphs and sentences repeat, so token ids shrink about 5x (zip: 1.5x)."""
    buffer = io.BytesIO()
    np.savez(buffer, **features)
    path.write_bytes(lzma.compress(buffer.getvalue()))


def load_features(path: Path) -> dict[str, np.ndarray]:
    return dict(np.load(io.BytesIO(lzma.decompress(path.read_bytes()))))
