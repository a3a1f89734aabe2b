"""SIGKILL of a SparkTrials driver mid-run, then a restart of the same script: every trial
finished before the kill is still there and the run completes to max_evals."""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from parzen import load_trials
from parzen.trial import TrialState

pytestmark = [pytest.mark.spark, pytest.mark.slow]

DRIVER = textwrap.dedent(
    """
    import sys, time
    from pyspark.sql import SparkSession
    from parzen import SparkTrials, fmin, hp, tpe

    spark = SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false").getOrCreate()

    def objective(p):
        time.sleep(0.4)
        return (p["x"] - 1) ** 2 + p["y"] ** 2

    space = {"x": hp.uniform("x", -5, 5), "y": hp.uniform("y", -5, 5)}
    fmin(objective, space, algo=tpe.suggest, max_evals=16, trials=SparkTrials(parallelism=2),
         trials_save_file=sys.argv[1], show_progressbar=False)
    print("FINISHED")
    """
)


def done_rows(db) -> int:
    with contextlib.suppress(sqlite3.OperationalError):
        if db.exists():
            return sqlite3.connect(db).execute("SELECT count(*) FROM trials WHERE state='DONE'").fetchone()[0]
    return 0


def test_sigkill_driver_then_resume(tmp_path):
    db = tmp_path / "spark-crash.db"
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
    while done_rows(db) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its JVM die at once
    proc.wait()
    before = {r.tid: (r.params, r.loss) for r in load_trials(db).records if r.state == TrialState.DONE}
    assert len(before) >= 5
    again = subprocess.run([sys.executable, str(script), str(db)], env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "FINISHED" in again.stdout, again.stderr[-3000:]
    after = load_trials(db)
    assert after.n_finished == 16
    assert {tid: (r.params, r.loss) for tid, r in ((r.tid, r) for r in after.records) if tid in before} == before
    interrupted = [r for r in after.records if r.state == TrialState.INTERRUPTED]
    assert len(interrupted) <= 2, "at most the two trials in flight at the kill"
    assert len(after) == 16 + len(interrupted)
