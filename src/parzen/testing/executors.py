"""The contract every executor keeps, as a suite you run against your own (developer API).

``submit`` / ``completed`` / ``cancel`` / ``cancel_all`` / ``close`` mean the same thing
everywhere, so `fmin` has one loop: each submitted trial is reported exactly once unless
it is cancelled; a cancelled trial is never reported; outcomes not consumed stay for the
next call; nothing finished is lost; the trial's context is current while it runs (the
full contract is `parzen.executors.base.Executor`'s docstring).

Run it with pytest by subclassing `ExecutorContract` and saying how to make yours::

    from parzen.testing.executors import ExecutorContract

    class TestMyExecutor(ExecutorContract):
        def build(self, objective, parallelism):
            return MyExecutor(objective, parallelism)

The objective the suite submits is `contract_objective` (from this module): an executor
that runs trials in other processes must be able to load it there (parzen installed
where trials run, or ``pyspark.cloudpickle.register_pickle_by_value(parzen.testing.executors)``).
Needs pytest.
"""

from __future__ import annotations

import time
from typing import Any

from parzen.executors.base import Executor

__all__ = ["ExecutorContract", "collect", "contract_objective"]


def contract_objective(x: float) -> dict[str, Any]:
    """x < 0 raises, x >= 100 sleeps x seconds, 42 returns its trial's context, else loss x.

    Args:
        x: what the suite submits as the trial's point.
    """
    if x < 0:
        raise ValueError(f"objective failure at {x}")
    if x == 42:
        from parzen._remote.context import current_trial

        return {"loss": 0.0, "status": "ok", "context": dict(current_trial() or {})}
    if x >= 100:
        time.sleep(x)
    return {"loss": float(x), "status": "ok"}


def collect(executor: Executor, limit: float = 120.0) -> dict[int, Any]:
    """Every outcome until nothing runs (or `limit` seconds pass).

    Args:
        executor: the executor under test.
        limit: seconds to wait at most.

    Returns:
        ``{tid: outcome}``; a trial reported twice fails an assertion.
    """
    outcomes: dict[int, Any] = {}
    end = time.monotonic() + limit
    while executor.running and time.monotonic() < end:
        for tid, outcome in executor.completed(timeout=1.0):
            assert tid not in outcomes, f"trial {tid} reported twice"
            outcomes[tid] = outcome
    return outcomes


class ExecutorContract:
    """The executor contract as pytest tests: subclass it and implement `build`."""

    def make(self, parallelism: int = 3) -> Executor:
        """A new executor running `contract_objective` with `parallelism` slots (override `build`).

        Args:
            parallelism: the executor's slots.
        """
        return self.build(contract_objective, parallelism)

    def build(self, objective: Any, parallelism: int) -> Executor:
        """Your executor for `objective`, holding `parallelism` trials at once.

        Args:
            objective: the function trials run (`contract_objective`).
            parallelism: how many trials it runs at once (its `capacity` when idle).
        """
        raise NotImplementedError("subclass ExecutorContract and implement build(objective, parallelism)")

    def test_each_trial_is_reported_once_with_its_loss(self) -> None:
        """Submitted trials fill the capacity and each is reported exactly once, with its loss."""
        with self.make(3) as executor:
            assert executor.capacity == 3 and not executor.running
            for tid in range(3):
                executor.submit(tid, tid + 0.5)
            assert executor.capacity == 0 and executor.running == {0, 1, 2}
            outcomes = collect(executor)
            assert sorted(outcomes) == [0, 1, 2]
            assert all(not o["errored"] and o["result"]["loss"] == tid + 0.5 for tid, o in outcomes.items())
            assert executor.capacity == 3 and not executor.running

    def test_an_exception_is_an_errored_outcome_with_its_traceback(self) -> None:
        """An objective that raises gives an errored outcome with the traceback; the other trial is not affected."""
        with self.make(2) as executor:
            executor.submit(7, -1.0)
            executor.submit(8, 1.0)
            outcomes = collect(executor)
        assert outcomes[7]["errored"] and "ValueError: objective failure at -1.0" in outcomes[7]["error"]
        assert outcomes[7]["result"]["status"] == "fail"
        assert not outcomes[8]["errored"]

    def test_outcomes_not_consumed_stay_for_the_next_call(self) -> None:
        """Outcomes a caller did not take from `completed` are still there on its next call."""
        with self.make(3) as executor:
            for tid in range(3):
                executor.submit(tid, float(tid))
            seen: list[int] = []
            end = time.monotonic() + 120
            while len(seen) < 3 and time.monotonic() < end:
                for tid, _ in executor.completed(timeout=1.0):
                    seen.append(tid)
                    break  # take one, leave the rest in the executor
            assert sorted(seen) == [0, 1, 2]

    def test_a_cancelled_trial_is_never_reported_and_the_others_are(self) -> None:
        """`cancel` is True once for a running trial, which is never reported; its slot frees."""
        with self.make(3) as executor:
            executor.submit(0, 300.0)  # would run for 5 minutes
            executor.submit(1, 1.0)
            executor.submit(2, 2.0)
            assert executor.cancel(0) is True
            assert executor.cancel(0) is False and executor.cancel(99) is False
            assert 0 not in executor.running
            outcomes = collect(executor)
            assert sorted(outcomes) == [1, 2]
            assert executor.capacity == 3

    def test_cancel_all_returns_what_was_running_and_close_is_prompt(self) -> None:
        """`cancel_all` returns the running tids, nothing is reported after it, and `close` does not wait."""
        executor = self.make(2)
        executor.submit(0, 300.0)
        executor.submit(1, 300.0)
        assert sorted(executor.cancel_all()) == [0, 1]
        assert not executor.running and list(executor.completed(timeout=0)) == []
        start = time.monotonic()
        executor.close()
        assert time.monotonic() - start < 60, "close waits for Spark to let go, not for the objectives"

    def test_capacity_follows_submissions_and_results(self) -> None:
        """`capacity` falls with each submission and comes back with each result; slots are reused."""
        with self.make(2) as executor:
            executor.submit(0, 0.0)
            assert executor.capacity == 1
            executor.submit(1, 1.0)
            assert executor.capacity == 0
            collect(executor)
            assert executor.capacity == 2
            executor.submit(2, 2.0)  # slots are reused
            assert sorted(collect(executor)) == [2]

    def test_the_trial_context_is_current_while_the_objective_runs(self) -> None:
        """The context given to `submit` is what the running objective sees (an empty one without it)."""
        with self.make(2) as executor:
            executor.submit(0, 42.0, {"tid": 0, "note": "hello"})
            executor.submit(1, 42.0, None)
            outcomes = collect(executor)
        assert outcomes[0]["result"]["context"] == {"tid": 0, "note": "hello"}
        assert outcomes[1]["result"]["context"] == {}
