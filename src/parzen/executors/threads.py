"""Trials in threads of the driver process, up to `parallelism` at a time.

For objectives that cannot leave the driver: trials that are themselves Spark programs
(they need the `SparkSession`), or that share a GPU context or a large in-memory
dataset with the driver. The outcome contract, retries and ``trial_timeout`` are those
of the Spark executors. The objective is not pickled: it may hold the SparkSession,
a model on the GPU or anything else that only lives in this process.

A Python thread cannot be killed: a cancelled trial's result is ignored, and its
thread keeps running until the objective returns. `SparkThreadExecutor` adds what makes
cancellation real for Spark programs: each trial's Spark jobs run under the trial's own
job group (classic) or tag (Connect) and are cancelled with it.
"""

from __future__ import annotations

import os
import socket
import threading
from typing import Any

from parzen.executors import _task
from parzen.executors._jobs import Job, JobPerTrialExecutor
from parzen.executors._task import TrialContext


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
        outcome = _task.run_objective(self.fn, payload["args"], context=payload["context"])
        outcome["host"] = socket.gethostname()
        outcome["pid"] = os.getpid()
        return _task.dumps_outcome(outcome)

    def _cancel_tag(self, tag: str) -> None:
        """Nothing can stop a thread: its outcome is dropped when it arrives."""


class SparkThreadExecutor(ThreadExecutor):
    """Trials that are Spark programs: driver threads, each trial's Spark jobs under its own tag.

    The tag is set in the trial's own thread before the objective runs: pyspark's
    pinned-thread mode makes a classic job group thread-local, and so is a Spark
    Connect tag. Cancelling a trial (timeout, Ctrl-C, ``loss_threshold``) cancels its
    Spark jobs at once; the objective then fails out of its Spark call and its thread
    ends. Spark ML's ``CrossValidator(parallelism=k)`` runs its fits the same way.
    """

    def __init__(
        self, session: Any, fn: Any, parallelism: int, trial_timeout: float | None = None, max_retries: int = 0
    ):
        from parzen.spark import is_connect_session

        super().__init__(fn, parallelism, trial_timeout, max_retries)
        self.session = session
        self.connect = is_connect_session(session)
        self.sc = None if self.connect else session.sparkContext

    def _run_job_under_tag(self, tid: int, tag: str, payload: dict[str, Any]) -> bytes:
        if self.connect:
            self.session.addTag(tag)
            try:
                return super()._run_job_under_tag(tid, tag, payload)
            finally:
                self.session.removeTag(tag)
        self.sc.setJobGroup(tag, f"parzen trial {tid}", interruptOnCancel=True)  # type: ignore[union-attr]
        try:
            return super()._run_job_under_tag(tid, tag, payload)
        finally:
            self.sc.setLocalProperty("spark.jobGroup.id", None)  # type: ignore[union-attr]

    def _cancel_tag(self, tag: str) -> None:
        if self.connect:
            self.session.interruptTag(tag)
        elif self.sc is not None and self.sc._jsc is not None:
            self.sc.cancelJobGroup(tag)
