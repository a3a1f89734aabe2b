"""auto.suggest and gp.suggest on local Spark (issue 26): trials in flight, the decision stored with the run,
and a resume from the store. Run by the lead (pytest -m spark); helpers never start Spark."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from parzen import SparkTrials, TrialState, fmin, hp, load_trials
from parzen.algorithms import auto, gp
from parzen.storage.store import TrialStore

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark").cloudpickle.register_pickle_by_value(sys.modules[__name__])

FLAT = {f"x{i}": hp.uniform(f"x{i}", -5, 5) for i in range(3)}
CONDITIONAL = hp.choice(
    "model",
    [
        {"kind": "a", "x": hp.uniform("xa", -2, 2)},
        {"kind": "b", "y": hp.loguniform("yb", -3, 1), "k": hp.randint("k", 5)},
    ],
)


def sphere(p):
    return sum((v - 0.5) ** 2 for v in p.values())


def branches(p):
    return (p["x"] - 1) ** 2 if p["kind"] == "a" else abs(p["y"] - 0.2) + 0.1 * p["k"]


@pytest.mark.parametrize("parallelism", [2, 4])
def test_auto_on_spark_with_trials_in_flight_stores_its_decision_and_resumes(spark, tmp_path, parallelism):
    path = tmp_path / "run.db"
    trials = SparkTrials(parallelism=parallelism, spark_session=spark)
    fmin(
        sphere,
        FLAT,
        algo=auto.suggest,
        max_evals=16,
        trials=trials,
        trials_save_file=path,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    assert sum(t.state == TrialState.DONE for t in trials.records) == 16
    stored = json.loads(TrialStore(path, readonly=True).meta("algorithm"))
    expected = "gp" if parallelism <= auto.GP_MAX_CONCURRENCY else "tpe"  # the executor's capacity counts
    assert stored[0]["method"] == expected and stored[0]["budget"] == 16 and stored[0]["capacity"] == parallelism

    resumed = SparkTrials(parallelism=parallelism, spark_session=spark)
    fmin(
        sphere,
        FLAT,
        algo=auto.suggest,
        max_evals=28,
        trials=resumed,
        trials_save_file=path,
        rstate=np.random.default_rng(1),
        show_progressbar=False,
    )
    again = load_trials(path)
    assert sum(t.state == TrialState.DONE for t in again.records) == 28
    stored = json.loads(TrialStore(path, readonly=True).meta("algorithm"))
    assert [d["budget"] for d in stored] == [16, 28] and stored[1]["n_trials"] >= 16


def test_auto_on_a_conditional_space_on_spark_uses_tpe(spark, tmp_path):
    path = tmp_path / "run.db"
    trials = SparkTrials(parallelism=3, spark_session=spark)
    fmin(
        branches,
        CONDITIONAL,
        algo=auto.suggest,
        max_evals=15,
        trials=trials,
        trials_save_file=path,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    stored = json.loads(TrialStore(path, readonly=True).meta("algorithm"))
    assert [d["method"] for d in stored] == ["tpe"]


def test_gp_on_spark_with_four_in_flight(spark):
    trials = SparkTrials(parallelism=4, spark_session=spark)
    fmin(
        sphere,
        FLAT,
        algo=gp.suggest,
        max_evals=20,
        trials=trials,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    assert sum(t.state == TrialState.DONE for t in trials.records) == 20
    assert min(t.loss for t in trials.records if t.loss is not None) < 5.0


NUMERIC = {f"x{i}": hp.uniform(f"x{i}", -5, 5) for i in range(auto.LOCAL_MIN_DIM)}


def test_auto_one_trial_at_a_time_on_spark_searches_locally_and_resumes(spark, tmp_path):
    """SparkTrials(parallelism=1) on ten numeric parameters: local search (the GP, then COBYLA from its best)."""
    path = tmp_path / "run.db"
    run = dict(algo=auto.suggest, trials_save_file=path, rstate=np.random.default_rng(0), show_progressbar=False)
    fmin(sphere, NUMERIC, max_evals=8, trials=SparkTrials(parallelism=1, spark_session=spark), **run)
    fmin(sphere, NUMERIC, max_evals=14, trials=SparkTrials(parallelism=1, spark_session=spark), **run)
    resumed = load_trials(path)
    stored = json.loads(TrialStore(path, readonly=True).meta("algorithm"))
    assert [d["method"] for d in stored] == ["local", "local"] and stored[1]["n_trials"] == 8
    assert sum(t.state == TrialState.DONE for t in resumed.records) == 14
