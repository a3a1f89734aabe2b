"""Trials on Spark Connect (Databricks serverless and shared clusters, ``spark.remote``).

Spark Connect has no SparkContext: a trial is the one-row query
``spark.range(0, 1, 1, 1).mapInArrow(task)`` run from a pool thread that tags it, so
``spark.interruptTag`` cancels that trial alone. A large objective is uploaded once as a
session artifact (the Connect counterpart of a broadcast) instead of with every query.
"""

from __future__ import annotations

import logging
import socket
import tempfile
from pathlib import Path
from typing import Any

from parzen._remote import ship_by_value
from parzen._remote.run import arrow_task, reach_task
from parzen.executors.jobs import BROADCAST_THRESHOLD, JobPerTrialExecutor
from parzen.executors.spark import shipping
from parzen.executors.spark.session import STARTUP_GRACE_SECONDS, session_gone_reason

logger = logging.getLogger("parzen")

_SESSION_GONE = (
    "StatusCode.UNAVAILABLE",
    "INVALID_HANDLE.SESSION_CLOSED",
    "SESSION_CLOSED",
    "NO_ACTIVE_SESSION",
    "Connection refused",
    "has been closed",
)

_REACH_MARK = "_parzen_reachable"  # attribute of a Connect session: {(host, port): reachable}


class SparkConnectExecutor(JobPerTrialExecutor):
    """Trials as tagged single-task queries on a Spark Connect session."""

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
        self.spark = session
        self._ship_if_referenced(self.blob)
        self.profile = profile  # a pyspark ResourceProfile for mapInArrow(profile=) (Spark 4.0+)
        self.requested_resources = None if cpus is None else {"cpus": cpus}
        self.source: Any = self.blob
        if len(self.blob) > BROADCAST_THRESHOLD:
            self.source = {"artifact": self._upload(self.blob)}

    def _ship_package(self) -> None:
        shipping.ship_to_connect(self.spark)

    def _upload(self, blob: bytes) -> str:
        name = f"parzen-objective-{self.token}.pkl"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_bytes(blob)
            self.spark.addArtifacts(str(path), file=True)
        return name

    def _run_job_under_tag(self, tid: int, tag: str, payload: dict[str, Any]) -> bytes:
        self.spark.addTag(tag)
        try:
            task = arrow_task(self.source, payload)
            options = {} if self.profile is None else {"profile": self.profile}
            frame = self.spark.range(0, 1, 1, 1).mapInArrow(task, "outcome binary", **options)
            return frame.collect()[0][0]
        finally:
            self.spark.removeTag(tag)

    def _cancel_tag(self, tag: str) -> None:
        self.spark.interruptTag(tag)

    def driver_address(self) -> str:
        """This machine's address on the route to the Connect server (where executors run)."""
        host = _connect_host(self.spark)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect((host, 443))  # no packet is sent: this only picks the outgoing interface
                return str(s.getsockname()[0])
        except OSError:
            return socket.gethostbyname(socket.gethostname())

    def can_reach(self, host: str, port: int) -> bool:
        """Whether executors can connect to `host`:`port`: one tiny query, once per session and address.

        The query's task tries to connect back (3 s at most); the answer is kept on the
        session, so later runs in the same session do not pay for the probe again.
        """
        known: dict[tuple[str, int], bool] = getattr(self.spark, _REACH_MARK, None) or {}
        if (host, port) not in known:
            known[(host, port)] = self._probe(host, port)
            setattr(self.spark, _REACH_MARK, known)
        return known[(host, port)]

    def _probe(self, host: str, port: int) -> bool:
        try:
            frame = self.spark.range(0, 1, 1, 1).mapInArrow(reach_task(host, port, 3.0), "ok boolean")
            return bool(frame.collect()[0][0])
        except Exception as exc:
            logger.warning("could not check whether executors reach the driver (%s)", exc)
            return False

    def _executor_lost(self, exc: BaseException) -> str | None:
        if getattr(getattr(self.spark, "client", None), "is_closed", False):
            return "the Spark Connect session was stopped (spark.stop() or the server went away)"
        return session_gone_reason(exc, _SESSION_GONE)


def _connect_host(session: Any) -> str:
    """The host name of the Connect server this session talks to."""
    builder = getattr(getattr(session, "client", None), "_builder", None)
    host = getattr(builder, "host", None)
    return str(host) if host else "127.0.0.1"
