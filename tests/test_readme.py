"""The README's `rag …` examples, run exactly as written in a clean copy of the project, with the virtual environment
active as the README says (its bin/ first on PATH) and no RAG_* variable set: the real model on the seeds."""
from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SERVE_PORT = 8000  # what the README's `rag serve` listens on

pytestmark = pytest.mark.slow


def readme_commands() -> list[str]:
    """The `rag …` lines of the README's "Run" block, comments dropped."""
    text = (ROOT / "README.md").read_text("utf-8")
    block = text.split("## Run", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line.split(" #", 1)[0].strip() for line in block.splitlines() if line.startswith("rag ")]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def project(tmp_path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("seeds", "README.md", "pyproject.toml"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, copy / name)
    return copy


def test_the_readme_cli_examples_work_as_written(project):
    commands = readme_commands()
    assert [c.split()[1] for c in commands] == ["ingest", "ask", "ask", "serve"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # `. .venv/bin/activate`
    for command in commands:
        if command.startswith("rag serve"):
            if not port_is_free(SERVE_PORT):
                pytest.skip(f"port {SERVE_PORT} is taken: the README's rag serve can't be tried here")
            server = subprocess.Popen(shlex.split(command), cwd=project / "seeds", env=env,  # another folder
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.monotonic() + 120
                while True:
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{SERVE_PORT}/health", timeout=2) as reply:
                            assert json.load(reply)["documents"] == 5
                            break
                    except OSError:
                        assert server.poll() is None and time.monotonic() < deadline, "rag serve did not start"
                        time.sleep(1)
            finally:
                server.terminate()
                server.wait(30)
            continue
        done = subprocess.run(shlex.split(command), cwd=project, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}: {done.stderr}"
        if "--json" in command:  # the README shows only questions that answer
            reply = json.loads(done.stdout)
            assert reply["answers"] and not reply["no_answer"], command
        elif command.startswith("rag ask"):
            assert done.stdout.startswith("[1] ") and "Passages:" in done.stdout, command
