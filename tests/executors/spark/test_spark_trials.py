"""SparkTrials on a real local-mode Spark: scheduling, failures, stops and user errors."""

import functools
import math
import os
import signal
import sys
import threading
import time
import warnings

import numpy as np
import pytest

from parzen import STATUS_FAIL, STATUS_OK, SparkTrials, early_stop, fmin, hp, rand, tpe
from parzen.exceptions import AllTrialsFailed, InvalidArgument, ObjectiveNotSerializable
from parzen.trial import TrialState

pytestmark = pytest.mark.spark

# Executors cannot import this test module: ship its functions by value, as a user
# would for a helper module that is not installed on the cluster.
pytest.importorskip("pyspark").cloudpickle.register_pickle_by_value(sys.modules[__name__])

SPACE = {"x": hp.uniform("x", -5, 5), "c": hp.choice("c", ["a", "b"])}


def quadratic(p):
    return (p["x"] - 1) ** 2 + (p["c"] == "a")


def run(trials, fn=quadratic, **kw):
    kw.setdefault("algo", tpe.suggest)
    kw.setdefault("max_evals", 12)
    kw.setdefault("show_progressbar", False)
    kw.setdefault("rstate", np.random.default_rng(0))
    return fmin(fn, SPACE, trials=trials, **kw)


def active_jobs(spark):
    return spark.sparkContext.statusTracker().getActiveJobsIds()


def wait_until_idle(spark, limit=10.0):
    """Wait for Spark to finish cancelling (polls Spark's tracker; test helper only)."""
    end = time.monotonic() + limit
    while active_jobs(spark) and time.monotonic() < end:
        time.sleep(0.05)
    return active_jobs(spark)


def test_best_point_and_trial_records(spark):
    trials = SparkTrials(parallelism=4, spark_session=spark)

    def noisy(p):
        print("evaluating", p["x"])
        return quadratic(p)

    best = run(trials, noisy, max_evals=16)
    assert len(trials) == 16 and trials.n_finished == 16
    assert best == trials.argmin and best["c"] in (0, 1)
    assert trials.best_params["c"] in ("a", "b")
    record = trials.records[0]
    assert record.host and record.duration is not None and record.duration >= 0
    assert "evaluating" in record.stdout
    assert all(r.attempts == 1 for r in trials.records)


def test_running_trials_and_every_result_reach_the_algorithm(spark):
    """Each suggestion sees every trial: the finished ones (all results that came in) and
    the running ones, which fill every other slot."""
    seen = []
    trials = SparkTrials(parallelism=3, spark_session=spark)

    def spy(space, history, rng):
        finished = int(np.isin(history.state, [TrialState.DONE, TrialState.ERROR]).sum())
        seen.append((time.time(), len(history), finished, int(history.running.sum())))
        return tpe.suggest(space, history, rng, n_startup_jobs=4)

    def slow(p):
        time.sleep(0.2 + 0.3 * abs(p["x"]) / 5)
        return quadratic(p)

    run(trials, slow, algo=spy, max_evals=14)
    assert [s[1] for s in seen] == list(range(14))
    assert seen[:3] == [(seen[0][0], 0, 0, 0), (seen[1][0], 1, 0, 1), (seen[2][0], 2, 0, 2)]
    ends = sorted(r.end_time for r in trials.records)
    for when, n, finished, running in seen[3:]:
        assert finished + running == n, "no trial is lost between executor and algorithm"
        assert 1 <= running <= 2, "the running trials are passed to the algorithm"
        long_done = sum(1 for end in ends if end < when - 1.0)
        assert finished >= long_done, "a result that came in long ago was not recorded"
    assert max(s[3] for s in seen) == 2


def test_exception_is_a_failed_trial_with_executor_traceback_not_retried(spark, tmp_path):
    calls = tmp_path / "calls"

    def flaky(p):
        with open(calls, "a") as f:
            f.write("x")
        if p["x"] < 0:
            raise ValueError(f"negative x {p['x']:.3f}")
        return p["x"]

    trials = SparkTrials(parallelism=4, spark_session=spark)
    run(trials, flaky, algo=rand.suggest, max_evals=20)
    failed = [r for r in trials.records if r.state == TrialState.ERROR]
    assert failed and len(trials) == 20
    assert "ValueError: negative x" in failed[0].error and "in flaky" in failed[0].error
    assert failed[0].result["status"] == STATUS_FAIL
    assert len(calls.read_text()) == 20, "Spark must not re-run a trial whose objective raised"
    assert trials.n_failed == len(failed)


@pytest.mark.parametrize(
    "value, words",
    [(math.nan, "nan"), (math.inf, "inf"), (None, "NoneType"), ("0.5", "str '0.5'"), ({"status": "ok"}, "'loss'")],
)
def test_garbage_results_fail_with_what_came_back(spark, value, words):
    def garbage(p):
        return value if p["x"] < 0 else p["x"] + 10

    trials = SparkTrials(parallelism=2, spark_session=spark)
    run(trials, garbage, algo=rand.suggest, max_evals=10)
    failed = [r for r in trials.records if r.state == TrialState.ERROR]
    assert failed and all(words in r.error for r in failed)
    assert trials.best_loss >= 10


def test_status_fail_counts_as_failed(spark):
    def fn(p):
        return {"status": STATUS_FAIL, "why": "bad"} if p["c"] == "a" else {"loss": 1.0, "status": STATUS_OK}

    trials = SparkTrials(parallelism=2, spark_session=spark)
    run(trials, fn, algo=rand.suggest, max_evals=10)
    n_fail = sum(1 for r in trials.records if r.result["status"] == STATUS_FAIL)
    assert n_fail > 0 and trials.n_failed == n_fail
    assert all(r.result.get("why") == "bad" for r in trials.records if r.result["status"] == STATUS_FAIL)


def test_dead_python_worker_fails_the_trial_and_is_retried(spark, tmp_path):
    calls = tmp_path / "calls"

    def dies_once_on_negative(p):
        with open(calls, "a") as f:
            f.write(f"{p['x']:.6f}\n")
        if p["x"] < 0:
            os._exit(1)
        return p["x"]

    trials = SparkTrials(parallelism=2, spark_session=spark, max_retries=1)
    run(trials, dies_once_on_negative, algo=rand.suggest, max_evals=8)
    crashed = [r for r in trials.records if r.state == TrialState.ERROR]
    assert crashed and len(trials) == 8
    assert all(r.attempts == 2 for r in crashed)
    assert "Spark job of this trial failed" in crashed[0].error
    lines = calls.read_text().splitlines()
    assert len(lines) == 8 + len(crashed), "each crashed trial ran exactly twice (max_retries=1)"


def test_segfault_is_a_failed_trial(spark):
    def segfault(p):
        if p["x"] < 0:
            import ctypes

            ctypes.string_at(0)
        return p["x"]

    trials = SparkTrials(parallelism=2, spark_session=spark)
    run(trials, segfault, algo=rand.suggest, max_evals=8)
    crashed = [r for r in trials.records if r.state == TrialState.ERROR]
    assert crashed and trials.n_finished == 8
    assert "crash" in crashed[0].error.lower() or "segmentation" in crashed[0].error.lower()


def test_trial_timeout_cancels_a_hanging_trial(spark):
    def hangs(p):
        if p["x"] < 0:
            time.sleep(600)
        return p["x"]

    trials = SparkTrials(parallelism=2, spark_session=spark, trial_timeout=1.0)
    start = time.monotonic()
    run(trials, hangs, algo=rand.suggest, max_evals=6)
    timed_out = [
        r for r in trials.records if r.result.get("error_type") == "TrialTimeout" or "trial_timeout" in (r.error or "")
    ]
    assert timed_out and trials.n_finished == 6
    assert time.monotonic() - start < 120, "hanging trials were cancelled, not waited for"
    assert wait_until_idle(spark) == []


def test_run_timeout_cancels_running_jobs_and_keeps_finished(spark):
    def slow(p):
        time.sleep(0.3 if p["x"] > 0 else 600)
        return p["x"]

    trials = SparkTrials(parallelism=3, spark_session=spark, timeout=3)
    start = time.monotonic()
    run(trials, slow, algo=rand.suggest, max_evals=100)
    assert time.monotonic() - start < 60, "returned at the timeout, not after the hanging trials"
    states = [r.state for r in trials.records]
    assert TrialState.CANCELLED in states and TrialState.DONE in states
    assert all(r.state != TrialState.RUNNING for r in trials.records)
    assert wait_until_idle(spark, 5) == []


def test_loss_threshold_and_early_stop_cancel_the_rest(spark):
    def slow(p):
        time.sleep(0.1 if p["x"] > 0 else 30)
        return p["x"]

    trials = SparkTrials(parallelism=3, spark_session=spark, loss_threshold=2.0)
    run(trials, slow, algo=rand.suggest, max_evals=200)
    assert trials.best_loss <= 2.0 and len(trials) < 200
    assert all(r.state != TrialState.RUNNING for r in trials.records)

    trials = SparkTrials(parallelism=3, spark_session=spark)
    run(trials, lambda p: 1.0, algo=rand.suggest, max_evals=200, early_stop_fn=early_stop.no_progress_loss(5))
    assert trials.n_finished < 20
    assert wait_until_idle(spark, 5) == []


def test_ctrl_c_cancels_jobs_and_reraises(spark):
    def hangs(p):
        time.sleep(600)

    trials = SparkTrials(parallelism=3, spark_session=spark)
    timer = threading.Timer(2.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run(trials, hangs, algo=rand.suggest, max_evals=10)
    assert time.monotonic() - start < 60, "returned on Ctrl-C, not after the hanging trials"
    assert [r.state for r in trials.records] == [TrialState.CANCELLED] * 3
    assert wait_until_idle(spark, 5) == []


def test_unpicklable_objective_is_reported_before_any_job(spark):
    lock = threading.Lock()

    def uses_lock(p):
        with lock:
            return p["x"]

    before = spark.sparkContext.statusTracker().getJobIdsForGroup(None)
    trials = SparkTrials(parallelism=2, spark_session=spark)
    with pytest.raises(ObjectiveNotSerializable, match=r"'lock'.*_thread.lock"):
        run(trials, uses_lock)
    assert len(trials) == 0
    assert spark.sparkContext.statusTracker().getJobIdsForGroup(None) == before


def test_module_missing_on_executors_names_it(spark, tmp_path, monkeypatch):
    (tmp_path / "driver_only_helpers.py").write_text("def score(x):\n    return x * 2\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import driver_only_helpers

    def fn(p):
        return driver_only_helpers.score(p["x"])

    trials = SparkTrials(parallelism=2, spark_session=spark)
    with pytest.raises(AllTrialsFailed, match="driver_only_helpers"):
        run(trials, fn, algo=rand.suggest, max_evals=2)
    error = trials.records[0].error
    assert "driver_only_helpers" in error and "PYSPARK_PYTHON" in error
    sys.modules.pop("driver_only_helpers", None)


def test_every_trial_failed_quotes_the_first_traceback(spark):
    def boom(p):
        raise RuntimeError("the first failure")

    with pytest.raises(AllTrialsFailed, match="RuntimeError: the first failure"):
        run(SparkTrials(parallelism=2, spark_session=spark), boom, max_evals=3)


def test_large_objective_travels_by_broadcast(spark):
    from parzen.executors.jobs import BROADCAST_THRESHOLD
    from parzen.executors.spark.classic import SparkExecutor

    data = np.random.default_rng(0).normal(size=BROADCAST_THRESHOLD // 8 * 3)

    def uses_data(p):
        return float(abs(data.mean() - p["x"]))

    executor = SparkExecutor(spark, uses_data, 2, None, 0)
    assert executor.broadcast is not None and len(executor.token) == 40
    executor.close()
    trials = SparkTrials(parallelism=2, spark_session=spark)
    run(trials, uses_data, algo=rand.suggest, max_evals=4)
    assert trials.n_failed == 0


def test_default_parallelism_is_the_task_slots(spark):
    assert SparkTrials(spark_session=spark).parallelism == 4


def test_parallelism_warnings(spark):
    with pytest.warns(UserWarning, match="more than the 4 task slots"):
        SparkTrials(parallelism=6, spark_session=spark)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trials = SparkTrials(parallelism=6, spark_session=spark)
    with pytest.warns(UserWarning, match="more than max_evals=3"):
        run(trials, max_evals=3)


@pytest.mark.parametrize("requested", [0, -1])
def test_non_positive_parallelism_falls_back_to_the_task_slots(spark, requested):
    with pytest.warns(UserWarning, match=f"parallelism={requested} is not positive; using the cluster's task slots"):
        trials = SparkTrials(parallelism=requested, spark_session=spark)
    assert trials.parallelism == 4


def test_count_methods_follow_hyperopt_states(spark):
    def objective(x):
        if x < 0.3:
            raise ValueError("low")
        return {"loss": x, "status": "ok" if x < 0.8 else "fail"}

    trials = SparkTrials(parallelism=2, spark_session=spark)
    fmin(
        objective,
        hp.uniform("x", 0, 1),
        algo=rand.suggest,
        max_evals=12,
        trials=trials,
        rstate=np.random.default_rng(3),
        show_progressbar=False,
        return_argmin=False,
    )
    states = [d["state"] for d in trials.trials]
    assert trials.count_successful_trials() == states.count(2) > 0  # status ok and status fail both count
    assert trials.count_failed_trials() == states.count(3) > 0
    assert trials.count_cancelled_trials() == 0
    assert trials.count_total_trials() == 12


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"parallelism": 2.5}, "parallelism must be an integer"),
        ({"parallelism": True}, "parallelism must be an integer"),
        ({"timeout": -1}, "timeout must be a positive number"),
        ({"trial_timeout": 0}, "trial_timeout must be a positive number"),
        ({"max_retries": -1}, "max_retries must be an integer >= 0"),
        ({"loss_threshold": "x"}, "loss_threshold must be a number"),
    ],
)
def test_bad_arguments(spark, kw, words):
    with pytest.raises(InvalidArgument, match=words):
        SparkTrials(spark_session=spark, **kw)


def test_partial_algorithm_and_continuation(spark):
    trials = SparkTrials(parallelism=2, spark_session=spark)
    algo = functools.partial(tpe.suggest, n_startup_jobs=3)
    run(trials, algo=algo, max_evals=5)
    run(trials, algo=algo, max_evals=9)
    assert trials.n_finished == 9 and trials.tids == list(range(9))
