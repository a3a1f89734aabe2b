"""Trials on a classic (py4j) SparkContext: a single-task job per trial, one job group each.

A trial is cancelled alone with ``cancelJobGroup`` (``interruptOnCancel``). A large
objective (a captured dataset) goes out once as a broadcast variable instead of with
every job. The code that runs on executors is ``parzen._remote``, shipped by
value, so executors need pyspark but not parzen; the objective may still refer to
parzen (``parzen.STATUS_OK``): the driver's copy is shipped once per session. A
resource profile (``cpus_per_trial``, ``gpus_per_trial``) goes on each trial's RDD
with ``withResources``.
"""

from __future__ import annotations

import hashlib
import socket
from typing import Any

from parzen._remote import bootstrap, ship_by_value
from parzen._remote.run import run_payload
from parzen.executors.jobs import BROADCAST_THRESHOLD, JobPerTrialExecutor
from parzen.executors.spark import shipping
from parzen.executors.spark.session import STARTUP_GRACE_SECONDS, session_gone_reason

# What a classic driver says when its SparkContext (or the JVM behind it) is gone
# (the wording differs between Spark versions and between the job's and the caller's side).
_SESSION_GONE = (
    "SparkContext was shut down",
    "SparkContext has been shutdown",  # pyspark 3.5: a job submitted while the context stops
    "stopped SparkContext",
    "Answer from Java side is empty",
    "Error while sending or receiving",
    "Connection refused",
    "py4j.protocol.Py4JNetworkError",
)
_CODE_MARK = "_parzen_task_code"  # attribute of a SparkContext: (hash, broadcast) of the trial-running code


def task_code(sc: Any) -> tuple[str, Any]:
    """``run_payload`` pickled by value into a broadcast variable, once per SparkContext: (its hash, it).

    Jobs then carry only `parzen._remote.bootstrap`'s small closure (see that module).
    """
    from pyspark import cloudpickle

    code = cloudpickle.dumps(run_payload)
    key = hashlib.sha1(code).hexdigest()
    known = getattr(sc, _CODE_MARK, None)
    if known is None or known[0] != key:
        known = (key, sc.broadcast(code))
        setattr(sc, _CODE_MARK, known)
    return known


class SparkExecutor(JobPerTrialExecutor):
    """Trials as single-task jobs on a classic SparkContext, one job group each."""

    startup_grace = STARTUP_GRACE_SECONDS
    remote = True

    def __init__(
        self,
        session: Any,
        fn: Any,
        parallelism: int,
        trial_timeout: float | None,
        max_retries: int,
        profile: Any = None,
        cpus: int | None = None,
    ):
        ship_by_value()
        super().__init__(fn, parallelism, trial_timeout, max_retries)
        self.sc = session.sparkContext
        self._ship_if_referenced(self.blob)
        self.profile = profile  # a pyspark ResourceProfile on each trial's job (stage-level scheduling)
        self.requested_resources = None if cpus is None else {"cpus": cpus}
        self.broadcast = self.sc.broadcast(self.blob) if len(self.blob) > BROADCAST_THRESHOLD else None
        key, code = task_code(self.sc)
        self.task = bootstrap.spark_task(code, key, self.broadcast if self.broadcast is not None else self.blob)

    def _ship_package(self) -> None:
        shipping.ship_to_classic(self.sc)

    def _run_job_under_tag(self, tid: int, tag: str, payload: dict[str, Any]) -> bytes:
        self.sc.setJobGroup(tag, f"parzen trial {tid}", interruptOnCancel=True)
        rdd = self.sc.parallelize([payload], 1)
        if self.profile is not None:
            rdd = rdd.withResources(self.profile)
        return rdd.mapPartitions(self.task).collect()[0]

    def _cancel_tag(self, tag: str) -> None:
        if self.sc._jsc is not None:  # a stopped context has nothing left to cancel
            self.sc.cancelJobGroup(tag)

    def driver_address(self) -> str:
        """``spark.driver.host``: where executors already reach this driver."""
        host = self.sc.getConf().get("spark.driver.host") or socket.gethostname()
        try:
            return socket.gethostbyname(host)
        except OSError:
            return str(host)

    def _executor_lost(self, exc: BaseException) -> str | None:
        if self.sc._jsc is None:
            return "the SparkContext was stopped (spark.stop() or the cluster went away)"
        return session_gone_reason(exc, _SESSION_GONE)

    def close(self) -> None:
        super().close()
        if self.broadcast is not None and self.sc._jsc is not None:
            self.broadcast.destroy(blocking=False)
