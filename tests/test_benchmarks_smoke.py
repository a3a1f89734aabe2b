"""The smoke mode of each benchmark script runs (``--seeds 1 --evals 20``): the scripts `make bench` relies on
stay runnable. Needs the bench extra (hyperopt, optuna, coco-experiment); skipped without it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def smoke(script: str, out: Path, *extra: str) -> None:
    command = [sys.executable, str(BENCH / script), "--seeds", "1", "--evals", "20", "--out", str(out), *extra]
    subprocess.run(command, cwd=BENCH, check=True, capture_output=True, timeout=300)


@pytest.mark.slow
def test_bbob_smoke(tmp_path):
    pytest.importorskip("cocoex")
    pytest.importorskip("optuna")
    pytest.importorskip("hyperopt")
    out = tmp_path / "bbob.json"
    smoke("bbob.py", out, "--dims", "2", "--functions", "1", "15")
    runs = json.loads(out.read_text())["runs"]
    assert len(runs) == 8 and all(r["at"]["20"] >= 0 for r in runs.values())


@pytest.mark.slow
def test_in_flight_smoke(tmp_path):
    pytest.importorskip("optuna")
    out = tmp_path / "flight.json"
    smoke("in_flight.py", out, "--problems", "branin", "conditional")
    methods = {r["method"] for r in json.loads(out.read_text())["runs"].values()}
    assert "parzen_tpe@8" in methods and "optuna_tpe[constant_liar=False]@8" in methods


def test_driver_smoke(tmp_path):
    out = tmp_path / "driver.json"
    smoke("driver.py", out)
    runs = json.loads(out.read_text())["runs"]
    batched = next(r for r in runs if r["name"] == "tpe (batches)")
    assert batched["trials"] == 100 and batched["mean_batch"] > 1 and batched["ms_per_trial"]["algorithm"] > 0
