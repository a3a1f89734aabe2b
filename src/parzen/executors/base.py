"""The one interface every executor implements, so `fmin` has a single loop."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from typing import Any

from parzen.executors._task import Outcome, TrialContext


class Executor(abc.ABC):
    """Runs trials and hands their outcomes back to the driver thread.

    Only the driver thread calls these methods. ``completed(timeout)`` blocks until at
    least one trial finishes (or `timeout` seconds pass) and yields ``(tid, outcome)``
    pairs for every trial finished by then (see `Outcome`).
    """

    @property
    @abc.abstractmethod
    def capacity(self) -> int:
        """How many more trials can be submitted now without waiting."""

    @abc.abstractmethod
    def submit(self, tid: int, args: Any, context: TrialContext | None = None) -> None:
        """Start evaluating the objective on `args` for trial `tid`.

        `context` is made current while the objective runs (``_task.current_trial()``);
        on Spark it travels with the job, so it must be plain, picklable data.
        """

    @abc.abstractmethod
    def completed(self, timeout: float | None = None) -> Iterator[tuple[int, Outcome]]:
        """Yield outcomes of finished trials; waits up to `timeout` for the first one."""

    @abc.abstractmethod
    def cancel(self, tid: int) -> bool:
        """Stop trial `tid` if it is still running; True if it was."""

    def cancel_all(self) -> list[int]:
        """Stop every running trial; returns their tids."""
        return [tid for tid in list(self.running) if self.cancel(tid)]

    @property
    @abc.abstractmethod
    def running(self) -> set[int]:
        """Tids submitted and not yet reported or cancelled."""

    def close(self) -> None:
        """Release threads and other resources (cancels whatever still runs)."""
        self.cancel_all()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
