"""Faults of the driver's world, not of the objective: the Spark session stopped under a
run, an objective that changes numpy's error state or the working directory, a trial
timeout shorter than Spark's start-up, bad arguments. Each is a clear error or a run
that goes on; no finished trial is ever lost or misfiled."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from parzen import STATUS_OK, SparkTrials, Trials, fmin, hp, load_trials, rand, tpe
from parzen.exceptions import AllTrialsFailed, InvalidArgument, InvalidParameterValue
from parzen.trial import TrialState

SPACE = {"x": hp.uniform("x", -3, 3), "y": hp.loguniform("y", -5, 0), "c": hp.choice("c", ["a", "b"])}


def run_script(code: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    env.pop("SPARK_REMOTE", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def report_of(result: subprocess.CompletedProcess) -> dict:
    assert result.returncode == 0, result.stderr[-4000:]
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("REPORT "))
    return json.loads(line[len("REPORT ") :])


# ---- the Spark session stopped under a run ---------------------------------------------------

STOPPED_SESSION = """
import json, sys, threading, time
from pyspark.sql import SparkSession
from parzen import SparkTrials, fmin, hp, tpe
from parzen.exceptions import ExecutorLost

db, stop_after = sys.argv[1], float(sys.argv[2])
space = {"x": hp.uniform("x", -5, 5)}

def objective(p):
    time.sleep(0.3)
    return (p["x"] - 1) ** 2

spark = (SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
         .config("spark.python.worker.reuse", "true").getOrCreate())
if stop_after > 0:
    threading.Timer(stop_after, spark.stop).start()
trials = SparkTrials(parallelism=2, spark_session=spark)
report = {}
try:
    fmin(objective, space, algo=tpe.suggest, max_evals=40, trials=trials, trials_save_file=db, show_progressbar=False)
    report["raised"] = None
except ExecutorLost as exc:
    report["raised"] = str(exc)
report["finished"] = trials.n_finished
print("REPORT " + json.dumps(report))
"""


@pytest.mark.spark
@pytest.mark.slow
def test_a_stopped_spark_session_is_one_clear_error_and_the_store_resumes(tmp_path):
    db = tmp_path / "stopped.db"
    first = report_of(run_script(STOPPED_SESSION, str(db), "6"))
    assert first["raised"] is not None and "Spark" in first["raised"] and "resume" in first["raised"], first
    assert first["finished"] < 40
    stored = load_trials(db).records
    interrupted = [r for r in stored if r.state == TrialState.INTERRUPTED]
    failed = [r for r in stored if r.state == TrialState.ERROR]
    assert interrupted, "the trials in flight when the session stopped are recorded as interrupted"
    assert failed == [], [r.error for r in failed][:3]  # nothing is charged to the trials
    second = report_of(run_script(STOPPED_SESSION, str(db), "0"))  # a new session resumes the same store
    assert second["raised"] is None and second["finished"] == 40
    assert sum(r.state == TrialState.DONE for r in load_trials(db).records) == 40


# ---- what an in-process objective may do to the driver's process ------------------------------


def test_numpy_error_state_set_by_the_objective_does_not_break_tpe():
    def objective(p):
        np.seterr(all="raise")  # some training code does this and never resets it
        return (p["x"] - 1) ** 2 + p["y"]

    saved = np.geterr()
    try:
        trials = Trials()
        fmin(
            objective,
            SPACE,
            algo=tpe.suggest,
            max_evals=40,
            trials=trials,
            rstate=np.random.default_rng(1),
            show_progressbar=False,
        )
    finally:
        np.seterr(**saved)
    assert trials.n_finished == 40 and trials.n_failed == 0


def test_an_objective_that_changes_directory_does_not_move_the_store(tmp_path, monkeypatch):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(home)

    def objective(p):
        os.chdir(elsewhere)  # e.g. a training library that works in its own folder
        return p["x"] ** 2

    fmin(objective, SPACE, algo=rand.suggest, max_evals=5, trials_save_file="run.db", show_progressbar=False)
    assert os.getcwd() == str(home), "the driver's working directory is the driver's"
    fmin(objective, SPACE, algo=rand.suggest, max_evals=8, trials_save_file="run.db", show_progressbar=False)
    assert list(elsewhere.iterdir()) == []
    assert len(load_trials(home / "run.db").records) == 8


# ---- arguments a user can get wrong -----------------------------------------------------------------


@pytest.mark.parametrize(
    "point, words",
    [
        ({"x": -1e300, "y": 0.5, "c": 0}, "'x' (uniform) takes values in [-3, 3]"),
        ({"x": 0.0, "y": 2.0, "c": 0}, "'y' (loguniform) takes values in [0.00673795, 1]"),
        ({"x": 0.0, "y": 0.5, "c": 2}, "'c' (choice) takes the index of an option"),
    ],
)
def test_points_to_evaluate_outside_the_space_are_refused(point, words):
    with pytest.raises(InvalidParameterValue, match=re.escape(words)):
        fmin(lambda p: 0.0, SPACE, max_evals=2, points_to_evaluate=[point], show_progressbar=False)


def test_quantised_points_outside_the_range_are_refused():
    space = {"n": hp.quniform("n", 10, 100, 10)}
    with pytest.raises(InvalidParameterValue, match=re.escape("takes values in [10, 100], got 200")):
        fmin(lambda p: 0.0, space, max_evals=2, points_to_evaluate=[{"n": 200}], show_progressbar=False)


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"rstate": -1}, "rstate must be a non-negative int seed"),
        ({"points_to_evaluate": [None]}, "points_to_evaluate[0] must be a {label: value} dict, got NoneType"),
        ({"points_to_evaluate": "x=1"}, "points_to_evaluate must be a list of {label: value} dicts, got str"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, words):
    with pytest.raises(InvalidArgument, match=re.escape(words)):
        fmin(lambda p: 0.0, SPACE, max_evals=2, show_progressbar=False, **kwargs)


def test_a_numpy_bool_loss_is_refused_like_a_bool():
    trials = Trials()
    with pytest.raises(AllTrialsFailed):
        fmin(lambda p: np.bool_(True), SPACE, algo=rand.suggest, max_evals=2, trials=trials, show_progressbar=False)
    assert trials.n_failed == 2
    assert all("returned bool" in r.error for r in trials.records), trials.records[0].error


# ---- trial_timeout counts the objective's own run -----------------------------------------------------


def _loaded_slowly():
    time.sleep(2.5)  # a model or dataset that takes a while to download and unpickle on the executor
    return np.random.default_rng(0).normal(size=1_000_000)


class SlowToLoad:
    """Captured by the objective: loading it on a worker takes 2.5 s, longer than trial_timeout."""

    def __reduce__(self):
        return (_loaded_slowly, ())


MODEL = SlowToLoad()


def quick_with_big_capture(p):
    """Returns at once; raises for x < -2 (so a failure is not a timeout either)."""
    if p["x"] < -2:
        raise ValueError("fails at once")
    return {"loss": float(abs(MODEL[:10].mean() - p["x"])), "status": STATUS_OK}


def native_hang(p):
    """Hangs where no signal reaches it (as native code that blocks signals would)."""
    if p["x"] < 0:
        import signal

        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
        time.sleep(600)
    return p["x"]


@pytest.mark.spark
def test_trial_timeout_does_not_charge_spark_start_up_to_the_first_trials(spark):
    pytest.importorskip("pyspark").cloudpickle.register_pickle_by_value(sys.modules[__name__])
    spark.sparkContext.parallelize([0], 1).collect()  # the session is up; the Python workers are not warm
    trials = SparkTrials(parallelism=2, spark_session=spark, trial_timeout=1)
    fmin(
        quick_with_big_capture,
        SPACE,
        algo=rand.suggest,
        max_evals=6,
        trials=trials,
        rstate=np.random.default_rng(4),
        show_progressbar=False,
    )
    timed_out = [r for r in trials.records if "trial_timeout" in (r.error or "")]
    assert timed_out == [], [r.error for r in timed_out]
    assert trials.n_finished == 6


@pytest.mark.spark
def test_a_trial_stuck_in_native_code_is_still_cancelled(spark, monkeypatch):
    from parzen.executors.spark.classic import SparkExecutor

    pytest.importorskip("pyspark").cloudpickle.register_pickle_by_value(sys.modules[__name__])
    monkeypatch.setattr(SparkExecutor, "startup_grace", 2.0)
    trials = SparkTrials(parallelism=2, spark_session=spark, trial_timeout=1)
    start = time.monotonic()
    fmin(
        native_hang,
        {"x": hp.uniform("x", -1, 1)},
        algo=rand.suggest,
        max_evals=4,
        trials=trials,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    stuck = [r for r in trials.records if r.params["x"] < 0]
    assert stuck and all(r.result.get("error_type") == "TrialTimeout" for r in stuck)
    assert all("stuck in native code" in r.error for r in stuck)
    assert time.monotonic() - start < 120
    assert not math.isnan(trials.best_loss)


# ---- what parzen opens on the network ----------------------------------------------------------------

UI_PORT_SCRIPT = """
from parzen.executors.spark.session import get_or_create_session
session = get_or_create_session()
print("REPORT " + __import__("json").dumps({"ui": session.sparkContext.uiWebUrl}))
input()  # keep the session up until the test has looked
"""


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp*) of the sockets listening on `port`."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


@pytest.mark.spark
def test_a_session_parzen_creates_listens_on_loopback_only():
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable)
    for key in ("SPARK_REMOTE", "SPARK_LOCAL_IP", "PYSPARK_SUBMIT_ARGS"):
        env.pop(key, None)
    process = subprocess.Popen(
        [sys.executable, "-c", UI_PORT_SCRIPT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        line = next(ln for ln in process.stdout if ln.startswith("REPORT "))
        port = int(json.loads(line[len("REPORT ") :])["ui"].rsplit(":", 1)[1])
        addresses = listening_addresses(port)
    finally:
        process.communicate("\n", timeout=120)
    loopback = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}
    assert addresses and addresses <= loopback, f"the Spark UI on port {port} listens on {addresses}"
