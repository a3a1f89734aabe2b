"""The contract every executor keeps, run against each one: in process, driver threads,
classic Spark (local mode), Spark Connect (a real Connect server), and driver threads
whose trials run Spark jobs under their own job group / tag (classic and Connect).

``submit`` / ``completed`` / ``cancel`` / ``cancel_all`` / ``close`` mean the same thing
everywhere, so `fmin` has one loop: each submitted trial is reported exactly once
unless it is cancelled; a cancelled trial is never reported; outcomes not consumed
stay for the next call; nothing finished is lost. A new executor gets these tests by
being added to EXECUTORS.
"""

from __future__ import annotations

import sys
import time

import pytest

from parzen.executors.base import Executor
from parzen.executors.serial import SerialExecutor
from parzen.executors.threads import ThreadExecutor

pyspark = pytest.importorskip("pyspark")
pyspark.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # objectives defined here reach executors


def objective(x):
    """x < 0 raises, x >= 100 sleeps x seconds, 42 returns its trial's context, else its own loss."""
    if x < 0:
        raise ValueError(f"objective failure at {x}")
    if x == 42:
        from parzen._remote.context import current_trial

        return {"loss": 0.0, "status": "ok", "context": dict(current_trial() or {})}
    if x >= 100:
        time.sleep(x)
    return {"loss": float(x), "status": "ok"}


def make_serial(request, parallelism):
    return SerialExecutor(objective, capacity=parallelism, catch_exceptions=True)


def make_threads(request, parallelism):
    return ThreadExecutor(objective, parallelism)


def make_spark(request, parallelism):
    from parzen.executors.spark.classic import SparkExecutor

    return SparkExecutor(request.getfixturevalue("spark"), objective, parallelism, None, 0)


def make_connect(request, parallelism):
    from parzen.executors.spark.connect import SparkConnectExecutor

    return SparkConnectExecutor(request.getfixturevalue("connect_spark"), objective, parallelism, None, 0)


def make_spark_threads(request, parallelism):
    from parzen.executors.spark.driver_threads import SparkThreadExecutor

    return SparkThreadExecutor(request.getfixturevalue("spark"), objective, parallelism)


def make_connect_threads(request, parallelism):
    from parzen.executors.spark.driver_threads import SparkThreadExecutor

    return SparkThreadExecutor(request.getfixturevalue("connect_spark"), objective, parallelism)


EXECUTORS = {
    "serial": make_serial,
    "threads": make_threads,
    "spark": pytest.param(make_spark, marks=pytest.mark.spark),
    "connect": pytest.param(make_connect, marks=[pytest.mark.spark, pytest.mark.slow]),
    "spark-driver-threads": pytest.param(make_spark_threads, marks=pytest.mark.spark),
    "connect-driver-threads": pytest.param(make_connect_threads, marks=[pytest.mark.spark, pytest.mark.slow]),
}


@pytest.fixture(params=list(EXECUTORS.values()), ids=list(EXECUTORS))
def make(request):
    return lambda parallelism=3: request.param(request, parallelism)


def collect(executor: Executor, limit: float = 120.0) -> dict:
    """Every outcome until nothing runs (or `limit` seconds pass)."""
    outcomes: dict = {}
    end = time.monotonic() + limit
    while executor.running and time.monotonic() < end:
        for tid, outcome in executor.completed(timeout=1.0):
            assert tid not in outcomes, f"trial {tid} reported twice"
            outcomes[tid] = outcome
    return outcomes


def test_each_trial_is_reported_once_with_its_loss(make):
    with make(3) as executor:
        assert executor.capacity == 3 and not executor.running
        for tid in range(3):
            executor.submit(tid, tid + 0.5)
        assert executor.capacity == 0 and executor.running == {0, 1, 2}
        outcomes = collect(executor)
        assert sorted(outcomes) == [0, 1, 2]
        assert all(not o["errored"] and o["result"]["loss"] == tid + 0.5 for tid, o in outcomes.items())
        assert executor.capacity == 3 and not executor.running


def test_an_exception_is_an_errored_outcome_with_its_traceback(make):
    with make(2) as executor:
        executor.submit(7, -1.0)
        executor.submit(8, 1.0)
        outcomes = collect(executor)
    assert outcomes[7]["errored"] and "ValueError: objective failure at -1.0" in outcomes[7]["error"]
    assert outcomes[7]["result"]["status"] == "fail"
    assert not outcomes[8]["errored"]


def test_outcomes_not_consumed_stay_for_the_next_call(make):
    with make(3) as executor:
        for tid in range(3):
            executor.submit(tid, float(tid))
        seen = []
        end = time.monotonic() + 120
        while len(seen) < 3 and time.monotonic() < end:
            for tid, _ in executor.completed(timeout=1.0):
                seen.append(tid)
                break  # take one, leave the rest in the executor
        assert sorted(seen) == [0, 1, 2]


def test_a_cancelled_trial_is_never_reported_and_the_others_are(make):
    with make(3) as executor:
        executor.submit(0, 300.0)  # would run for 5 minutes
        executor.submit(1, 1.0)
        executor.submit(2, 2.0)
        assert executor.cancel(0) is True
        assert executor.cancel(0) is False and executor.cancel(99) is False
        assert 0 not in executor.running
        outcomes = collect(executor)
        assert sorted(outcomes) == [1, 2]
        assert executor.capacity == 3


def test_cancel_all_returns_what_was_running_and_close_is_prompt(make):
    executor = make(2)
    executor.submit(0, 300.0)
    executor.submit(1, 300.0)
    assert sorted(executor.cancel_all()) == [0, 1]
    assert not executor.running and list(executor.completed(timeout=0)) == []
    start = time.monotonic()
    executor.close()
    assert time.monotonic() - start < 60, "close waits for Spark to let go, not for the objectives"


def test_capacity_follows_submissions_and_results(make):
    with make(2) as executor:
        executor.submit(0, 0.0)
        assert executor.capacity == 1
        executor.submit(1, 1.0)
        assert executor.capacity == 0
        collect(executor)
        assert executor.capacity == 2
        executor.submit(2, 2.0)  # slots are reused
        assert sorted(collect(executor)) == [2]


def test_the_trial_context_is_current_while_the_objective_runs(make):
    with make(2) as executor:
        executor.submit(0, 42.0, {"tid": 0, "note": "hello"})
        executor.submit(1, 42.0, None)
        outcomes = collect(executor)
    assert outcomes[0]["result"]["context"] == {"tid": 0, "note": "hello"}
    assert outcomes[1]["result"]["context"] == {}
