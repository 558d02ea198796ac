"""A short run of scripts/load_test.py (the 60 s run is for humans, see docs/reliability.md): no errors. 20 s: a
question now costs a reader pass, and a write has to find the cores between them."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "load_test.py"


@pytest.mark.slow
def test_short_load_run(seeded_index_dir, capsys):
    spec = importlib.util.spec_from_file_location("load_test", SCRIPT)
    load_test = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(load_test)
    result = load_test.main(["--duration", "20", "--clients", "4", "--write-every", "1.5",
                             "--index", str(seeded_index_dir), "--json"])
    assert result["errors"] == 0, result["error_samples"]
    assert result["latency_ms"]["ask"]["n"] > 0 and result["latency_ms"]["post"]["n"] >= 2
    assert result["latency_ms"]["delete"]["n"] >= 2
