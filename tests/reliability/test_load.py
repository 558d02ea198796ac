"""A short run of scripts/load_test.py (the 60 s run is for humans, see docs/reliability.md), run as a user runs it:
no errors. 20 s: a question now costs a reader pass, and a write has to find the cores between them."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from scripts.common import ROOT


@pytest.mark.slow
def test_short_load_run(seeded_index_dir):
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "load_test.py"), "--duration", "20", "--clients", "4",
                          "--write-every", "1.5", "--index", str(seeded_index_dir), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert run.stdout.strip(), run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["errors"] == 0 and run.returncode == 0, result["error_samples"]
    assert result["latency_ms"]["ask"]["n"] > 0 and result["latency_ms"]["post"]["n"] >= 2
    assert result["latency_ms"]["delete"]["n"] >= 2
