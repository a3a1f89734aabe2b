"""Trials that are Spark programs: driver threads, each trial's Spark jobs under its own job group or tag.

``SparkTrials(run_trials_on="driver")``: the objective uses the `SparkSession` (a Spark ML
pipeline, a distributed scoring step), so it runs in a thread of the driver, and what
makes cancelling it real is that its Spark jobs run under the trial's own job group
(classic) or tag (Connect).
"""

from __future__ import annotations

from typing import Any

from parzen.executors.spark.session import is_connect_session
from parzen.executors.threads import ThreadExecutor


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
