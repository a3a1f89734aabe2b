"""The shared job-per-trial executor logic, with jobs run by an in-process thread pool
(the Spark subclasses are exercised on real Spark in tests/executors/spark)."""

import pickle
import threading
import time

import pytest

pytest.importorskip("pyspark")

from parzen._remote.run import run_payload
from parzen.executors.jobs import JobPerTrialExecutor  # noqa: E402


class ThreadJobs(JobPerTrialExecutor):
    """Runs each trial's payload in the pool thread itself; cancel only records the tag."""

    def __init__(self, fn, parallelism=4, trial_timeout=None, max_retries=0, corrupt=False):
        super().__init__(fn, parallelism, trial_timeout, max_retries)
        self.cancelled_tags = []
        self.corrupt = corrupt

    def _run_job_under_tag(self, tid, tag, payload):
        if self.corrupt:
            return b"not a pickle"
        return run_payload(payload, self.blob, 0)

    def _cancel_tag(self, tag):
        self.cancelled_tags.append(tag)


def wait_for_messages(executor, count, limit=10.0):
    end = time.monotonic() + limit
    while executor.messages.qsize() < count and time.monotonic() < end:
        time.sleep(0.01)


def test_outcomes_not_consumed_stay_for_the_next_call():
    executor = ThreadJobs(lambda x: x)
    for tid in range(4):
        executor.submit(tid, float(tid))
    wait_for_messages(executor, 8)  # "started" and "done" of each job
    first = next(executor.completed(timeout=5))
    rest = list(executor.completed(timeout=0))
    assert sorted([first[0]] + [tid for tid, _ in rest]) == [0, 1, 2, 3]
    assert not executor.running
    executor.close()


# Objectives are pickled and loaded again, so what they share with the test lives at
# module level (pickled by reference, loaded as the same objects in this process).
CALLS = []
GATE = threading.Event()


def gated(x):
    CALLS.append(x)
    if x == 0:
        GATE.wait(10)
    return x


def test_trial_cancelled_before_its_job_starts_never_runs():
    CALLS.clear()
    GATE.clear()
    gate = GATE
    executor = ThreadJobs(gated, parallelism=1)
    executor.parallelism = 2  # let a second trial queue behind the busy pool thread
    executor.submit(0, 0.0)
    executor.submit(1, 1.0)
    assert executor.cancel(1)
    gate.set()
    outcomes = []
    while executor.running:
        outcomes += list(executor.completed(timeout=5))
    executor.close()
    assert [tid for tid, _ in outcomes] == [0] and CALLS == [0.0]


def test_a_result_the_driver_cannot_read_fails_only_that_trial():
    executor = ThreadJobs(lambda x: x, corrupt=True)
    executor.submit(0, 1.0)
    ((tid, outcome),) = list(executor.completed(timeout=5))
    assert outcome["errored"] and "cannot be read on the driver" in outcome["error"]
    executor.close()


def test_trial_timeout_counts_from_the_start_of_the_job():
    CALLS.clear()
    GATE.clear()
    executor = ThreadJobs(gated, parallelism=1, trial_timeout=0.5)
    executor.parallelism = 2
    executor.submit(0, 0.0)  # holds the only pool thread until it times out
    executor.submit(1, 1.0)  # waits for the thread: its clock must not run meanwhile
    outcomes = {}
    while executor.running:
        for tid, outcome in executor.completed(timeout=5):
            outcomes[tid] = outcome
            GATE.set()
    executor.close()
    assert outcomes[0]["error_type"] == "TrialTimeout"
    assert not outcomes[1]["errored"] and outcomes[1]["result"]["loss"] == 1.0


def test_results_received_before_a_deadline_are_not_timed_out():
    executor = ThreadJobs(lambda x: x, trial_timeout=0.2)
    executor.submit(0, 1.0)
    wait_for_messages(executor, 2)  # "started" and "done" are both queued
    time.sleep(0.3)  # the deadline passes while the result waits to be read
    ((tid, outcome),) = list(executor.completed(timeout=0))
    assert not outcome["errored"]
    executor.close()


def test_unpicklable_point_fails_its_trial_without_a_job():
    executor = ThreadJobs(lambda x: 0.0)
    executor.submit(0, threading.Lock())
    ((tid, outcome),) = list(executor.completed(timeout=0))
    assert tid == 0 and outcome["error_type"] == "UnpicklableArgs"
    assert pickle.dumps(outcome)
    executor.close()


@pytest.mark.parametrize(
    "message",
    [
        "An error occurred while calling o40.collect: java.lang.IllegalStateException: SparkContext has been shutdown",
        "Job 3 cancelled because SparkContext was shut down",
        "Cannot call methods on a stopped SparkContext.",
        "py4j.protocol.Py4JNetworkError: Answer from Java side is empty",
    ],
)
def test_a_gone_session_is_recognised_in_each_spark_versions_words(message):
    """These end the run with ExecutorLost (resumable) instead of failing trial after trial."""
    from parzen.executors.spark.classic import _SESSION_GONE
    from parzen.executors.spark.session import session_gone_reason

    assert session_gone_reason(RuntimeError(message), _SESSION_GONE) is not None
    assert session_gone_reason(RuntimeError("ValueError: bad input"), _SESSION_GONE) is None


def test_sys_exit_in_a_thread_trial_is_that_trials_failure_not_a_crash():
    """Found by the second fault probe: reported as 'the Spark job of this trial failed: 3' and retried."""
    import sys

    from parzen.executors.threads import ThreadExecutor

    calls = []

    def exits(x):
        calls.append(x)
        sys.exit(3)

    with ThreadExecutor(exits, parallelism=1, max_retries=2) as executor:
        executor.submit(0, 1.0)
        done: list = []
        deadline = time.monotonic() + 30
        while not done and time.monotonic() < deadline:  # completed() may return after a start message
            done += executor.completed(timeout=1)
        time.sleep(0.2)  # a retry, if there were one, would have started by now
        done += executor.completed(timeout=0.1)
    (tid, outcome), *rest = done
    assert not rest and tid == 0 and len(calls) == 1, "not retried"
    assert outcome["errored"] and outcome["error_type"] == "SystemExit" and not outcome.get("crashed")
    assert "SystemExit: 3" in outcome["error"]


def test_the_shipped_zip_holds_the_whole_package():
    """What SparkTrials adds to executors (addPyFile) is parzen itself, every module of it."""
    import zipfile
    from pathlib import Path

    import parzen
    from parzen.executors.spark import shipping

    root = Path(parzen.__file__).resolve().parent
    assert shipping.package_root() == root
    names = set(zipfile.ZipFile(shipping.package_zip()).namelist())
    expected = {f"parzen/{p.relative_to(root)}" for p in root.rglob("*.py") if "__pycache__" not in p.parts}
    assert expected <= names and "parzen/__init__.py" in names and "parzen/_remote/context.py" in names
