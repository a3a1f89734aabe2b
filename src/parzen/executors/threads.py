"""Trials in threads of the driver process, up to `parallelism` at a time.

For objectives that cannot leave the driver: trials that are themselves Spark programs
(they need the `SparkSession`), or that share a GPU context or a large in-memory
dataset with the driver. The outcome contract, retries and ``trial_timeout`` are those
of the Spark executors. The objective is not pickled: it may hold the SparkSession,
a model on the GPU or anything else that only lives in this process.

A Python thread cannot be killed: a cancelled trial's result is ignored, and its
thread keeps running until the objective returns. `parzen.executors.spark.driver_threads`
adds what makes cancellation real for Spark programs.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from parzen._remote.context import TrialContext
from parzen._remote.outcome import dumps_outcome
from parzen._remote.run import run_objective
from parzen.executors.jobs import Job, JobPerTrialExecutor


class ThreadExecutor(JobPerTrialExecutor):
    """Each trial runs in a daemon thread of the driver (at most `parallelism` at once).

    Daemon threads, not a pool: a cancelled objective that never returns must not keep
    the interpreter from exiting (a pool's threads are joined at exit).
    """

    close_wait = 0.0

    def __init__(self, fn: Any, parallelism: int, trial_timeout: float | None = None, max_retries: int = 0):
        self.fn = fn
        super().__init__(fn, parallelism, trial_timeout, max_retries)

    def _pickled_objective(self, fn: Any) -> bytes:
        return repr(id(fn)).encode()  # not shipped anywhere: only names the objective

    def _start(self, job: Job) -> None:
        name = f"parzen-{self.run_id}-trial-{job.tid}"
        threading.Thread(target=self._run_job, args=(job.tid, job.tag, job.payload), name=name, daemon=True).start()

    def _payload(self, tid: int, args: Any, context: TrialContext | None) -> dict[str, Any]:
        return {"tid": tid, "args": args, "context": context}

    def _run_job_under_tag(self, tid: int, tag: str, payload: dict[str, Any]) -> bytes:
        outcome = run_objective(self.fn, payload["args"], context=payload["context"])
        outcome["host"] = socket.gethostname()
        outcome["pid"] = os.getpid()
        return dumps_outcome(outcome)

    def _cancel_tag(self, tag: str) -> None:
        """Nothing can stop a thread: its outcome is dropped when it arrives."""


# END
