"""The service runs without torch: `rag serve`, with uvicorn's run replaced so that it hands back the app it would
serve, then a question and a new document through that app, in a fresh interpreter. Torch (and the libraries built on
it) is installed here, so the assertion can fail: only rag/train/, rag/encoder/e5_torch.py (RAG_DEVICE=cuda), `rag model
export` and the sentence-transformers backend may import it."""
from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys

import pytest

from scripts.common import rag_env

from .conftest import ROOT

TORCH_LIBRARIES = ("torch", "transformers", "sentence_transformers")

SERVE_WITHOUT_SERVING = """
import json, sys
import uvicorn
from fastapi.testclient import TestClient

apps = []
uvicorn.run = lambda app, **options: apps.append(app)
from rag.cli import cli

cli(["serve"], standalone_mode=False)
with TestClient(apps[0]) as client:
    asked = client.post("/ask", json={"question": sys.argv[1]})
    added = client.post("/documents", json={"text": "Die Gemeinde Quastenberg baut eine Seilbahn."})
print(json.dumps({"statuses": [asked.status_code, added.status_code], "answers": len(asked.json()["answers"]),
                  "modules": sorted(sys.modules)}))
"""


@pytest.mark.skipif(any(importlib.util.find_spec(name) is None for name in TORCH_LIBRARIES),
                    reason="without torch installed the claim holds trivially")
def test_rag_serve_imports_no_torch(seeded_index_dir, seed_questions, tmp_path):
    shutil.copytree(seeded_index_dir, tmp_path / "index")
    run = subprocess.run([sys.executable, "-c", SERVE_WITHOUT_SERVING, seed_questions[0]["question"]],
                         env=rag_env(tmp_path / "index"), cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    served = json.loads(run.stdout.strip().splitlines()[-1])
    assert served["statuses"] == [200, 201] and served["answers"] > 0
    modules = set(served["modules"])
    assert {"rag.api.app", "rag.pipeline", "rag.encoder.e5_onnx"} <= modules  # the path was taken
    assert [name for name in TORCH_LIBRARIES if name in modules] == []
    assert [name for name in modules if name.startswith(("rag.train", "rag.encoder.e5_torch"))] == []
