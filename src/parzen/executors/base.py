"""The one interface every executor implements, so `fmin` has a single loop (a plug-in point).

Executors shipped with parzen: `parzen.executors.serial.SerialExecutor` (in the driver
thread), `parzen.executors.threads.ThreadExecutor` (driver threads), and the Spark ones
in `parzen.executors.spark` (a single-task job per trial on classic Spark or Spark
Connect, or driver threads whose Spark jobs are tagged per trial). A new one plugs in
with ``fmin(..., executor=lambda fn: MyExecutor(fn))``; `parzen.testing.executors` is
the contract suite to run against it.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import Any

from parzen._remote.context import TrialContext
from parzen._remote.outcome import Outcome


class Executor(abc.ABC):
    """Runs trials and hands their outcomes back to the driver thread (developer API).

    The contract, which `parzen.testing.executors` checks:

    * Only the driver thread calls these methods; an executor may use threads of its own
      inside, but decisions (retries, timeouts, what `completed` yields) are taken when
      the driver calls.
    * ``submit(tid, args, context)`` starts trial `tid` on `args` (the point as the
      objective receives it) and returns without waiting; at most `capacity` trials may
      be submitted before one completes. A point that cannot be sent (unpicklable)
      completes as a failed trial, it does not raise.
    * ``completed(timeout)`` blocks until at least one trial has finished or `timeout`
      seconds pass (None: no limit; no polling loop with sleeps), then yields ``(tid,
      Outcome)`` for every trial finished by then. Each submitted tid is yielded exactly
      once, unless it was cancelled first; nothing finished is ever dropped. An outcome
      the caller does not consume stays for the next call.
    * ``cancel(tid)`` stops a running trial (its outcome is never yielded); True if it was
      running. ``cancel_all`` cancels every one. ``running`` is the set of tids submitted
      and not yet yielded or cancelled.
    * When the executor itself can no longer run trials (its Spark session stopped), the
      outcomes it still holds are yielded first, then `completed` raises
      `parzen.exceptions.ExecutorLost` naming the running trials.
    * ``close`` cancels what still runs and releases threads and connections; an
      executor is a context manager that closes on exit.
    * `wake` makes a waiting `completed` return early (a report from a trial needs the
      driver thread); `remote`, `driver_address` and `can_reach` tell the report channel
      (`parzen.pruning`) how trials reach the driver.
    """

    remote = False  # trials run in other processes (they report over the network, not by a call)

    @property
    @abc.abstractmethod
    def capacity(self) -> int:
        """How many more trials can be submitted now without waiting."""

    @abc.abstractmethod
    def submit(self, tid: int, args: Any, context: TrialContext | None = None) -> None:
        """Start evaluating the objective on `args` for trial `tid`.

        `context` is made current while the objective runs (``current_trial()``);
        on Spark it travels with the job, so it must be plain, picklable data.

        Args:
            tid: the trial's id.
            args: what the objective receives (the point of the space).
            context: the trial's context (its tid, the report channel, tracking), or None.
        """

    @abc.abstractmethod
    def completed(self, timeout: float | None = None) -> Iterator[tuple[int, Outcome]]:
        """Yield outcomes of finished trials; waits up to `timeout` for the first one.

        Args:
            timeout: seconds to wait for the first outcome; None waits until one arrives (or `wake`).

        Yields:
            ``(tid, outcome)`` of each trial that finished, each reported once.
        """

    @abc.abstractmethod
    def cancel(self, tid: int) -> bool:
        """Stop trial `tid` if it is still running; True if it was.

        Args:
            tid: the trial's id.
        """

    def cancel_all(self) -> list[int]:
        """Stop every running trial; returns their tids."""
        return [tid for tid in list(self.running) if self.cancel(tid)]

    @property
    @abc.abstractmethod
    def running(self) -> set[int]:
        """Tids submitted and not yet reported or cancelled."""

    def wake(self) -> None:
        """Make a `completed` call that is waiting return now (a report needs the driver)."""
        return None  # executors whose `completed` runs trials itself never wait

    def driver_address(self) -> str:
        """The address of this driver as the machines running trials reach it."""
        return "127.0.0.1"

    def can_reach(self, host: str, port: int) -> bool:
        """Whether trials can open a connection to `host`:`port` of this driver.

        Args:
            host: the driver's address, as the report server is bound.
            port: the report server's port.
        """
        return True

    def close(self) -> None:
        """Release threads and other resources (cancels whatever still runs)."""
        self.cancel_all()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
