"""The multi-objective pruning benchmark's smoke mode runs end to end (seconds) and writes what the tables read."""

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("optuna")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import mo_pruning  # noqa: E402

import parzen  # noqa: E402


def test_smoke_run_writes_compact_results_and_the_summary_reads_them(tmp_path, capsys):
    out = tmp_path / "mo_pruning.json"
    argv = ["--trials", "10", "--workloads", "synthetic", "--out", str(out)]
    assert mo_pruning.main(["run", "--seeds", "1", *argv]) == 0
    data = json.loads(out.read_text())
    runs = data["runs"]
    assert sorted(runs) == sorted(
        f"synthetic/{mode}/{method}/0" for mode in mo_pruning.MODES for method in mo_pruning.METHODS
    )
    reference = data["reference"]["synthetic"]
    budget = 10 * mo_pruning.FULL_STEPS["synthetic"]
    for key, run in runs.items():
        assert run["budget"] == budget and run["steps"] >= budget, key
        assert len(run["hv_grid"]) == mo_pruning.GRID and run["hv_grid"][-1] == run["final_hv"]
        assert run["hv_grid"] == sorted(run["hv_grid"])  # the hypervolume of the finished trials only grows
        # the stored front is rounded (compact JSON): its volume matches to 1e-5, not to the last digit
        assert run["final_hv"] == pytest.approx(
            parzen.hypervolume(run["front"], reference) if run["front"] else 0.0, rel=1e-5
        )
        assert run["target"] == pytest.approx(runs[f"synthetic/{key.split('/')[1]}/parzen_none/0"]["final_hv"])
        assert "to_target" in run
        _, mode, method, _ = key.split("/")
        if method.endswith("_none"):
            assert run["pruned"] == 0, key
        elif mode == "sequential":  # seeded and deterministic: the vector reports reach the pruner
            assert run["pruned"] > 0, key
    table = capsys.readouterr().out
    assert "### synthetic, sequential" in table and "### synthetic, 8 in flight" in table
    assert "| parzen_moasha | " in table and "| optuna_none | " in table

    assert mo_pruning.main(["summary", "--out", str(out), "--methods", "parzen_none", "parzen_moasha"]) == 0
    assert "| parzen_asha0 |" not in capsys.readouterr().out


def test_method_names_carry_pruner_options_and_bad_ones_are_refused():
    assert mo_pruning.settings("parzen_moasha[bootstrap_count=3]", "synthetic") == (
        "moasha(bootstrap_count=3, min_resource=3, reduction_factor=3)"
    )
    pruner = mo_pruning.make_pruner("parzen_hyperband0", "synthetic")
    assert pruner.objective == 0 and pruner.max_resource == mo_pruning.FULL_STEPS["synthetic"]
    for bad in ("parzen_median", "optuna_moasha", "hyperopt_none"):
        with pytest.raises(ValueError, match="unknown method"):
            mo_pruning.parse_method(bad)
