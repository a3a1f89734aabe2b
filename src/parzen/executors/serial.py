"""Evaluate trials one after another in the driver process (hyperopt's `Trials`)."""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from parzen._remote.context import TrialContext
from parzen._remote.outcome import Outcome
from parzen._remote.run import run_objective
from parzen.executors.base import Executor


class SerialExecutor(Executor):
    """Runs the objective in the calling thread, `capacity` trials queued at a time.

    With ``catch_exceptions=False`` (hyperopt's default for in-process runs) an
    exception from the objective is recorded on its trial and then re-raised by `fmin`.
    What the objective does to the process that would move the driver (``os.chdir``)
    is undone after each call, so relative store paths keep their meaning.
    """

    def __init__(self, fn: Callable, capacity: int = 1, catch_exceptions: bool = False):
        self.fn = fn
        self.slots = max(1, int(capacity))
        self.catch_exceptions = catch_exceptions
        self.queue: deque[tuple[int, Any, TrialContext | None]] = deque()

    @property
    def capacity(self) -> int:
        return self.slots - len(self.queue)

    @property
    def running(self) -> set[int]:
        return {tid for tid, _, _ in self.queue}

    def submit(self, tid: int, args: Any, context: TrialContext | None = None) -> None:
        self.queue.append((tid, args, context))

    def completed(self, timeout: float | None = None) -> Iterator[tuple[int, Outcome]]:
        """Run the queued trials one by one; with ``timeout=0`` run none (nothing is finished)."""
        if timeout == 0:
            return
        while self.queue:
            tid, args, context = self.queue[0]
            outcome = self._run(args, context)
            self.queue.popleft()
            yield tid, outcome

    def _run(self, args: Any, context: TrialContext | None) -> Outcome:
        """One objective call; a working directory it changes is restored for the driver."""
        cwd = os.getcwd()
        try:
            return run_objective(self.fn, args, reraise=not self.catch_exceptions, context=context)
        finally:
            if os.getcwd() != cwd:
                os.chdir(cwd)

    def cancel(self, tid: int) -> bool:
        before = len(self.queue)
        self.queue = deque(item for item in self.queue if item[0] != tid)
        return len(self.queue) < before
