"""Several objectives and constraints on Spark (issue 25): classic SparkTrials with MO-ASHA deciding on
reports that cross the report server, Spark Connect, and a driver killed with SIGKILL then resumed."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from parzen import SparkTrials, TrialPruned, TrialState, fmin, hp, hypervolume, load_trials, report, tpe

pytestmark = pytest.mark.spark
pytest.importorskip("pyspark").cloudpickle.register_pickle_by_value(sys.modules[__name__])

SPACE = {f"x{i}": hp.uniform(f"x{i}", 0, 1) for i in range(3)}
EPOCHS = 9


def zdt1_constrained(p):
    """ZDT1 on three variables, feasible when x1 <= 0.8."""
    f1 = p["x0"]
    g = 1 + 9 * (p["x1"] + p["x2"]) / 2
    return {"loss": [f1, g * (1 - math.sqrt(f1 / g))], "status": "ok", "constraints": [p["x1"] - 0.8]}


def zdt1_by_epochs(p):
    """The same losses approached over epochs, reported as a pair at each one."""
    final = zdt1_constrained(p)
    for epoch in range(EPOCHS):
        scale = 1 + 2.0 * math.exp(-0.5 * (epoch + 1))
        if report(epoch, [v * scale for v in final["loss"]]):
            raise TrialPruned()
    return final


def check_pareto_run(trials, n):
    assert trials.n_finished == n and trials.objectives == ("error", "size")
    ok = [t for t in trials.records if t.state == TrialState.DONE]
    assert all(len(t.losses) == 2 and len(t.constraints) == 1 for t in ok)
    front = trials.best_trials
    assert front and all(t.feasible for t in front)
    assert hypervolume([t.losses for t in front], [1.1, 11.0]) > 0


def test_classic_spark_runs_a_constrained_pareto_search_and_moasha_prunes_on_reported_pairs(spark):
    from parzen.pruners import MOASHAPruner

    trials = SparkTrials(parallelism=4, spark_session=spark)
    best = fmin(
        zdt1_by_epochs,
        SPACE,
        algo=tpe.suggest,
        max_evals=32,
        trials=trials,
        objectives=["error", "size"],
        pruner=MOASHAPruner(min_resource=1, reduction_factor=3),
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    check_pareto_run(trials, 32)
    assert best == [dict(t.params) for t in trials.best_trials]
    pruned = [t for t in trials.records if t.state == TrialState.PRUNED]
    assert pruned, "MO-ASHA stopped none of 32 trials"
    reported = [v for t in trials.records for v in t.intermediate.values()]
    assert reported and all(isinstance(v, tuple) and len(v) == 2 for v in reported)  # pairs crossed the server


def test_spark_connect_runs_several_objectives(connect_spark, tmp_path):
    trials = SparkTrials(parallelism=2, spark_session=connect_spark)
    fmin(
        zdt1_constrained,
        SPACE,
        algo=tpe.suggest,
        max_evals=10,
        trials=trials,
        objectives=["error", "size"],
        trials_save_file=str(tmp_path / "connect.db"),
        rstate=np.random.default_rng(1),
        show_progressbar=False,
    )
    check_pareto_run(trials, 10)
    assert [t.losses for t in load_trials(str(tmp_path / "connect.db")).best_trials] == [
        t.losses for t in trials.best_trials
    ]


DRIVER = textwrap.dedent(
    """
    import math, sys, time
    from pyspark.sql import SparkSession
    from parzen import SparkTrials, fmin, hp, tpe

    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()

    def objective(p):
        time.sleep(0.3)
        f1 = p["x0"]
        g = 1 + 9 * (p["x1"] + p["x2"]) / 2
        return {"loss": [f1, g * (1 - math.sqrt(f1 / g))], "status": "ok", "constraints": [p["x1"] - 0.8]}

    space = {f"x{i}": hp.uniform(f"x{i}", 0, 1) for i in range(3)}
    front = fmin(objective, space, algo=tpe.suggest, max_evals=14, trials=SparkTrials(parallelism=2),
                 objectives=["error", "size"], trials_save_file=sys.argv[1], show_progressbar=False)
    print("FINISHED", len(front))
    """
)


def done_rows(db) -> int:
    try:
        return sqlite3.connect(db).execute("SELECT count(*) FROM trials WHERE state='DONE'").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_a_killed_pareto_search_resumes_from_its_store(tmp_path):
    db = tmp_path / "mo-crash.db"
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(db)],
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 180
    while (not db.exists() or done_rows(db) < 4) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = {t.tid: t.losses for t in load_trials(db).records if t.state == TrialState.DONE}
    assert len(before) >= 4
    again = subprocess.run([sys.executable, str(script), str(db)], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "FINISHED" in again.stdout, again.stderr[-3000:]
    after = load_trials(db)
    assert after.n_finished == 14 and after.objectives == ("error", "size")
    assert {t.tid: t.losses for t in after.records if t.tid in before} == before
    front = after.best_trials
    assert front and all(t.feasible for t in front)
    assert int(again.stdout.split("FINISHED")[1].split()[0]) == len(front)
