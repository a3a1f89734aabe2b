"""What every job-per-trial executor shares: slots, a result queue, deadlines, retries.

The classic Spark, Spark Connect and driver-thread executors differ only in how one
trial's job is run under a tag (in a pool thread) and how a tag is cancelled. Pool
threads only run jobs and post messages; every decision (retry, timeout, what to
hand to `fmin`) is taken by the driver thread when it reads them, so no state is
shared between threads but the message queue and the set of cancelled tags.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import hashlib
import logging
import pickle
import queue
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from parzen._remote.context import TrialContext
from parzen._remote.outcome import Outcome, failure_outcome
from parzen._remote.versions import package_versions
from parzen.exceptions import ExecutorLost
from parzen.executors import pickling
from parzen.executors.base import Executor
from parzen.executors.spark import shipping

logger = logging.getLogger("parzen")

BROADCAST_THRESHOLD = 1 << 20  # objectives larger than 1 MiB travel once (broadcast / artifact)
_REASON_CHARS = 4000


@dataclass
class Job:
    """A trial being run: its payload, current tag, attempts and deadline."""

    tid: int
    payload: dict[str, Any]
    tag: str = ""
    attempts: int = 0
    deadline: float | None = None


def spark_failure_reason(exc: BaseException) -> str:
    """The useful part of a failed Spark job's exception: Spark's reason, no JVM frames."""
    text = str(exc).split("Driver stacktrace:")[0]
    noise = re.compile(r"^\s*(at |\.\.\. \d+ more|Caused by: java\.io\.EOFException)")
    lines = [ln for ln in text.splitlines() if ln.strip() and not noise.match(ln)]
    text = "\n".join(lines)
    match = re.search(r"Job aborted due to stage failure.*", text, re.S)
    if match:
        text = match.group(0)
    if "Python worker exited unexpectedly" in text:
        text = "the Python worker running it died (os._exit, a segfault, or killed for memory). " + text
    return text[:_REASON_CHARS]


def python_error_line(reason: str) -> str | None:
    """The last ``SomeError: message`` line of a Python traceback inside Spark's reason.

    Spark Connect ends its messages with a line such as `` SQLSTATE: 38000``, which says
    nothing; the Python worker's own error line is what a user needs to see.
    """
    lines = re.findall(r"^\s*((?:[A-Za-z_][\w.]*)?(?:Error|Exception|Exit|Interrupt)\b:?.*)$", reason, re.M)
    return lines[-1].strip() if lines else None


def executor_module_hint(module: str) -> str:
    """What to do when the executors' Python cannot import `module`."""
    return (
        f"\nmodule {module!r} cannot be imported by the Python that runs trials on the executors; this is "
        "the cluster's environment, not the objective: install it there (cluster libraries, or the "
        "environment that spark.pyspark.python / PYSPARK_PYTHON points at)."
    )


@functools.cache
def _driver_versions() -> dict[str, str]:
    """The driver's package versions, read once per process (reading package metadata is slow)."""
    return package_versions()


class JobPerTrialExecutor(Executor):
    """Trials as jobs started from a pool of `parallelism` threads, one tag per attempt.

    Subclasses say how to run one trial's job under a tag (`_run_job_under_tag`,
    called in a pool thread), how to cancel a tag (`_cancel_tag`, driver thread), and
    whether an exception from a job means the executor itself is gone (`_executor_lost`).
    `startup_grace` is how long after a job starts the driver still waits beyond
    `trial_timeout` (for executors that time the objective themselves, remotely).
    """

    startup_grace = 0.0
    close_wait = 10.0  # seconds `close` waits for cancelled jobs to let go

    def __init__(self, fn: Any, parallelism: int, trial_timeout: float | None, max_retries: int):
        self.parallelism = parallelism
        self.trial_timeout = trial_timeout
        self.max_retries = max_retries
        self.run_id = uuid.uuid4().hex[:8]
        self.blob = self._pickled_objective(fn)
        self.token = hashlib.sha1(self.blob).hexdigest()
        self.pool = ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix=f"parzen-{self.run_id}")
        self.messages: queue.Queue[tuple[Any, ...]] = queue.Queue()  # ("started"/"done", ...) from pool threads
        self.jobs: dict[int, Job] = {}
        self.ready: deque[tuple[int, Outcome]] = deque()  # outcomes read but not yet handed to fmin
        self.cancelled: set[str] = set()  # tags cancelled by the driver (read by pool threads)
        self.unreported: set[str] = set()  # tags whose pool thread has not reported back
        self.lost: ExecutorLost | None = None
        self.lock = threading.Lock()
        self.versions = _driver_versions()  # a failed trial names what differs on its executor
        self.package_shipped = False
        self.requested_resources: dict[str, Any] | None = None  # what each trial asked for (cpus), if anything

    # ---- Executor interface -------------------------------------------------------

    @property
    def capacity(self) -> int:
        return 0 if self.lost is not None else self.parallelism - len(self.jobs)

    @property
    def running(self) -> set[int]:
        return set(self.jobs)

    def submit(self, tid: int, args: Any, context: TrialContext | None = None) -> None:
        if self.lost is not None:
            raise self.lost
        try:
            payload = self._payload(tid, args, context)
        except Exception as exc:
            message = f"the point for trial {tid} cannot be pickled: {type(exc).__name__}: {exc}"
            self.ready.append((tid, failure_outcome("UnpicklableArgs", message, None)))
            return
        job = self.jobs[tid] = Job(tid, payload)
        self._launch(job)

    def completed(self, timeout: float | None = None) -> Iterator[tuple[int, Outcome]]:
        """Outcomes of finished trials; raises `ExecutorLost` once those are handed over."""
        if not self.ready and self.jobs:
            with contextlib.suppress(queue.Empty):
                self._read(self.messages.get(timeout=self._wait(timeout)))
        while True:
            try:
                self._read(self.messages.get_nowait())
            except queue.Empty:
                break
        self._expire()
        while self.ready:  # what the caller does not consume stays for the next call
            yield self.ready.popleft()
        if self.lost is not None:
            raise self.lost

    def wake(self) -> None:
        self.messages.put(("wake", None, ""))

    def cancel(self, tid: int) -> bool:
        job = self.jobs.pop(tid, None)
        if job is None:
            return False
        with self.lock:
            self.cancelled.add(job.tag)
        if self.lost is None:
            self._cancel_tag(job.tag)
        return True

    def close(self) -> None:
        """Cancel what runs and wait (bounded) until every job has let go."""
        self.cancel_all()
        deadline = time.monotonic() + self.close_wait
        while self.unreported and self.lost is None and time.monotonic() < deadline:
            for tag in list(self.unreported):  # a job submitted just after its cancel is caught here
                self._cancel_tag(tag)
            with contextlib.suppress(queue.Empty):
                self._read(self.messages.get(timeout=0.5))
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _pickled_objective(self, fn: Any) -> bytes:
        """The objective as executors load it (`ObjectiveNotSerializable` names what fails)."""
        return pickling.dumps_objective(fn)

    def _ship_package(self) -> None:
        """Make the driver's parzen importable where trials run (remote executors override)."""

    def _ship_if_referenced(self, pickled: bytes) -> None:
        """Ship parzen before the first job whose objective or point would import it."""
        if not self.package_shipped and shipping.refers_to_parzen(pickled):
            self._ship_package()
            self.package_shipped = True

    def _payload(self, tid: int, args: Any, context: TrialContext | None) -> dict[str, Any]:
        """What one job needs: the point pickled, which objective, its timeout and context."""
        point = pickling.dumps(args)
        self._ship_if_referenced(point)
        return {
            "tid": tid,
            "token": self.token,
            "args": point,
            "timeout": self.trial_timeout,
            "context": context,
            "versions": self.versions,
            "resources": self.requested_resources,
        }

    # ---- pool threads -------------------------------------------------------------------

    def _run_job(self, tid: int, tag: str, payload: dict[str, Any]) -> None:
        """Pool thread: run one job under its own tag; post what happened."""
        try:
            with self.lock:
                if tag in self.cancelled:
                    self.messages.put(("done", tid, tag, None, None))
                    return
            self.messages.put(("started", tid, tag, time.monotonic()))
            self.messages.put(("done", tid, tag, self._run_job_under_tag(tid, tag, payload), None))
        except BaseException as exc:  # the job failed or was cancelled: the driver decides
            self.messages.put(("done", tid, tag, None, exc))

    @abc.abstractmethod
    def _run_job_under_tag(self, tid: int, tag: str, payload: dict[str, Any]) -> bytes:
        """Run `payload` as one job tagged `tag`; return the pickled outcome."""

    @abc.abstractmethod
    def _cancel_tag(self, tag: str) -> None:
        """Cancel (interrupting its task) the job tagged `tag`."""

    def _executor_lost(self, exc: BaseException) -> str | None:
        """Why `exc` means the executor itself is gone (session stopped...), else None."""
        return None

    # ---- driver thread ------------------------------------------------------------------

    def _launch(self, job: Job) -> None:
        job.attempts += 1
        job.tag = f"parzen-{self.run_id}-trial-{job.tid}-attempt-{job.attempts}"
        job.deadline = None  # the trial_timeout clock starts when the job does
        self.unreported.add(job.tag)
        try:
            self._start(job)
        except RuntimeError as exc:  # the pool was shut down: the interpreter is exiting
            self._lose(f"cannot start trial {job.tid}: {exc}")

    def _start(self, job: Job) -> None:
        """Run the job in a pool thread (one per slot: Spark reuses their JVM threads)."""
        self.pool.submit(self._run_job, job.tid, job.tag, job.payload)

    def _wait(self, timeout: float | None) -> float | None:
        """How long to block: until `timeout` or the earliest trial deadline."""
        deadlines = [j.deadline for j in self.jobs.values() if j.deadline is not None]
        if not deadlines:
            return timeout
        until_deadline = max(0.0, min(deadlines) - time.monotonic())
        return until_deadline if timeout is None else min(timeout, until_deadline)

    def _read(self, message: tuple[Any, ...]) -> None:
        kind, tid, tag = message[:3]
        if kind == "wake":
            return
        job = self.jobs.get(tid)
        current = job is not None and job.tag == tag
        if kind == "started":
            if current and self.trial_timeout is not None:
                job.deadline = message[3] + self.trial_timeout + self.startup_grace  # type: ignore[union-attr]
            return
        self.unreported.discard(tag)
        if current:  # else: cancelled, or superseded by a retry
            self._finish(job, *message[3:])  # type: ignore[arg-type]

    def _finish(self, job: Job, data: bytes | None, exc: BaseException | None) -> None:
        """A job ended: queue its outcome, or relaunch it if its worker died and retries remain."""
        if exc is not None and self.lost is None:
            reason = self._executor_lost(exc)
            if reason is not None:
                self._lose(reason)
        if self.lost is not None:
            return  # the trial is not charged: fmin records it as interrupted
        outcome = self._outcome(data, exc)
        if outcome.get("crashed") and job.attempts <= self.max_retries:
            error = outcome.get("error") or ""
            logger.warning("trial %d: %s; retry %d of %d", job.tid, error[:200], job.attempts, self.max_retries)
            self._launch(job)
            return
        del self.jobs[job.tid]
        self.ready.append((job.tid, outcome | {"attempts": job.attempts}))

    def _lose(self, reason: str) -> None:
        """The executor is gone: stop taking trials; `completed` raises once drained."""
        running = sorted(self.jobs)
        logger.error("the executor is gone (%s); %d trials in flight are interrupted", reason, len(running))
        self.lost = ExecutorLost(reason, running)

    @staticmethod
    def _outcome(data: bytes | None, exc: BaseException | None) -> Outcome:
        if exc is not None:
            reason = spark_failure_reason(exc)
            summary = python_error_line(reason)
            message = f"the Spark job of this trial failed: {reason}"
            missing = re.search(r"No module named '([\w.]+)'", reason)
            if missing:
                message += executor_module_hint(missing.group(1))
                summary = f"{summary} (on the executors: see the hint in the error)"
            return failure_outcome("SparkJobFailed", message, None, summary) | {"crashed": True}
        try:
            return pickle.loads(data or b"")
        except Exception as err:  # e.g. a result holding a class the driver cannot import
            message = f"the trial's result cannot be read on the driver: {type(err).__name__}: {err}"
            return failure_outcome("UnreadableResult", message, None)

    def _expire(self) -> None:
        """Cancel the trials that ran longer than `trial_timeout` (they count as failed)."""
        now = time.monotonic()
        for job in [j for j in self.jobs.values() if j.deadline is not None and j.deadline <= now]:
            self.cancel(job.tid)
            message = f"cancelled: the trial ran longer than trial_timeout={self.trial_timeout} s"
            if self.startup_grace:
                message += f" (it did not stop by itself within {self.startup_grace:g} s more: stuck in native code?)"
            self.ready.append((job.tid, failure_outcome("TrialTimeout", message, None) | {"attempts": job.attempts}))
