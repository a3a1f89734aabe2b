"""The pruning benchmark's smoke mode runs end to end (seconds), so `make bench` cannot rot."""

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("optuna")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import pruning  # noqa: E402


def test_smoke_mode_writes_results_and_a_table(tmp_path, capsys):
    out = tmp_path / "pruning.json"
    assert (
        pruning.main(
            ["--seeds", "1", "--trials", "4", "--workloads", "synthetic", "--modes", "sequential", "--out", str(out)]
        )
        == 0
    )
    results = json.loads(out.read_text())
    assert sorted(k.split("/")[2] for k in results) == sorted(pruning.METHODS)
    budget = 4 * pruning.FULL_STEPS["synthetic"]
    assert all(run["steps"] >= budget for run in results.values())
    assert "| parzen_asha |" in capsys.readouterr().out
