"""Run each trial as a single-task Spark job, up to `parallelism` at a time.

One pool thread per slot starts the job of one trial under that trial's own job group,
so a trial can be cancelled alone (``cancelJobGroup`` with ``interruptOnCancel``). The
objective is pickled once per `fmin`; when large (a captured dataset) it goes out once
as a broadcast variable instead of with every job. Results come back through a queue
that the driver thread blocks on: no polling, no fixed sleeps.

The code that runs on executors is ``parzen.executors._task``, shipped by value, so
executors need pyspark but not parzen.
"""

from __future__ import annotations

import abc
import contextlib
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

from parzen.executors import _pickling, _task
from parzen.executors.base import Executor

logger = logging.getLogger("parzen")

BROADCAST_THRESHOLD = 1 << 20  # objectives larger than 1 MiB travel by broadcast
_REASON_CHARS = 4000


def ship_task_module() -> None:
    """Make pyspark pickle ``_task`` by value, so executors need no parzen install."""
    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(_task)


@dataclass
class _Job:
    """A trial on Spark: its payload, current job group, attempts and deadline."""

    tid: int
    payload: dict
    group: str = ""
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


class JobPerTrialExecutor(Executor):
    """What the classic and Connect executors share: slots, queue, deadlines, retries.

    Subclasses say how to run one trial's job under a tag (`_run_single_task_job`,
    called in a pool thread) and how to cancel a tag (`_cancel_tag`, driver thread).
    Pool threads only run jobs and post messages to `messages`; every decision is
    taken by the driver thread when it reads them.
    """

    def __init__(self, fn: Any, parallelism: int, trial_timeout: float | None, max_retries: int):
        ship_task_module()
        self.parallelism = parallelism
        self.trial_timeout = trial_timeout
        self.max_retries = max_retries
        self.run_id = uuid.uuid4().hex[:8]
        self.blob = _pickling.dumps_objective(fn)
        self.token = hashlib.sha1(self.blob).hexdigest()
        self.pool = ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix=f"parzen-{self.run_id}")
        self.messages: queue.Queue = queue.Queue()  # ("started", ...) and ("done", ...) from pool threads
        self.jobs: dict[int, _Job] = {}
        self.ready: deque[tuple[int, dict]] = deque()  # outcomes read but not yet handed to fmin
        self.cancelled: set[str] = set()  # tags cancelled by the driver (read by pool threads)
        self.unreported: set[str] = set()  # tags whose pool thread has not reported back
        self.lock = threading.Lock()

    # ---- Executor interface -------------------------------------------------------

    @property
    def capacity(self) -> int:
        return self.parallelism - len(self.jobs)

    @property
    def running(self) -> set[int]:
        return set(self.jobs)

    def submit(self, tid: int, args: Any) -> None:
        try:
            payload = {"tid": tid, "token": self.token, "args": _pickling.dumps(args)}
        except Exception as exc:
            message = f"the point for trial {tid} cannot be pickled for Spark: {type(exc).__name__}: {exc}"
            self.ready.append((tid, _task.failure_outcome("UnpicklableArgs", message, None)))
            return
        job = self.jobs[tid] = _Job(tid, payload)
        self._launch(job)

    def completed(self, timeout: float | None = None) -> Iterator[tuple[int, dict]]:
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

    def cancel(self, tid: int) -> bool:
        job = self.jobs.pop(tid, None)
        if job is None:
            return False
        with self.lock:
            self.cancelled.add(job.group)
        self._cancel_tag(job.group)
        return True

    def close(self) -> None:
        """Cancel what runs and wait (bounded) until Spark has let go of every job."""
        self.cancel_all()
        deadline = time.monotonic() + 10.0
        while self.unreported and time.monotonic() < deadline:
            for tag in list(self.unreported):  # a job submitted just after its cancel is caught here
                self._cancel_tag(tag)
            with contextlib.suppress(queue.Empty):
                self._read(self.messages.get(timeout=0.5))
        self.pool.shutdown(wait=False, cancel_futures=True)

    # ---- pool threads -------------------------------------------------------------------

    def _run_job(self, tid: int, group: str, payload: dict) -> None:
        """Pool thread: run one single-task job under its own tag; post what happened."""
        try:
            with self.lock:
                if group in self.cancelled:
                    self.messages.put(("done", tid, group, None, None))
                    return
            if self.trial_timeout is not None:
                self.messages.put(("started", tid, group, time.monotonic()))
            self.messages.put(("done", tid, group, self._run_single_task_job(tid, group, payload), None))
        except BaseException as exc:  # the job failed or was cancelled: the driver decides
            self.messages.put(("done", tid, group, None, exc))

    @abc.abstractmethod
    def _run_single_task_job(self, tid: int, tag: str, payload: dict) -> bytes:
        """Run `payload` as one single-task job tagged `tag`; return the pickled outcome."""

    @abc.abstractmethod
    def _cancel_tag(self, tag: str) -> None:
        """Cancel (interrupting its task) the job tagged `tag`."""

    # ---- driver thread ------------------------------------------------------------------

    def _launch(self, job: _Job) -> None:
        job.attempts += 1
        job.group = f"parzen-{self.run_id}-trial-{job.tid}-attempt-{job.attempts}"
        job.deadline = None  # the trial_timeout clock starts when the job does
        self.unreported.add(job.group)
        self.pool.submit(self._run_job, job.tid, job.group, job.payload)

    def _wait(self, timeout: float | None) -> float | None:
        """How long to block: until `timeout` or the earliest trial deadline."""
        deadlines = [j.deadline for j in self.jobs.values() if j.deadline is not None]
        if not deadlines:
            return timeout
        until_deadline = max(0.0, min(deadlines) - time.monotonic())
        return until_deadline if timeout is None else min(timeout, until_deadline)

    def _read(self, message: tuple) -> None:
        kind, tid, group = message[:3]
        job = self.jobs.get(tid)
        current = job is not None and job.group == group
        if kind == "started":
            if current:
                job.deadline = message[3] + self.trial_timeout
            return
        self.unreported.discard(group)
        if current:  # else: cancelled, or superseded by a retry
            self._finish(job, *message[3:])

    def _finish(self, job: _Job, data: bytes | None, exc: BaseException | None) -> None:
        """A job ended: queue its outcome, or relaunch it if its worker died and retries remain."""
        outcome = self._outcome(data, exc)
        if outcome.get("crashed") and job.attempts <= self.max_retries:
            logger.warning(
                "trial %d: %s; retry %d of %d", job.tid, outcome["error"][:200], job.attempts, self.max_retries
            )
            self._launch(job)
            return
        del self.jobs[job.tid]
        self.ready.append((job.tid, outcome | {"attempts": job.attempts}))

    @staticmethod
    def _outcome(data: bytes | None, exc: BaseException | None) -> dict:
        if exc is not None:
            message = f"the Spark job of this trial failed: {spark_failure_reason(exc)}"
            return _task.failure_outcome("SparkJobFailed", message, None) | {"crashed": True}
        try:
            return pickle.loads(data)
        except Exception as err:  # e.g. a result holding a class the driver cannot import
            message = f"the trial's result cannot be read on the driver: {type(err).__name__}: {err}"
            return _task.failure_outcome("UnreadableResult", message, None)

    def _expire(self) -> None:
        """Cancel the trials that ran longer than `trial_timeout` (they count as failed)."""
        now = time.monotonic()
        for job in [j for j in self.jobs.values() if j.deadline is not None and j.deadline <= now]:
            self.cancel(job.tid)
            message = f"cancelled: the trial ran longer than trial_timeout={self.trial_timeout} s"
            self.ready.append(
                (job.tid, _task.failure_outcome("TrialTimeout", message, None) | {"attempts": job.attempts})
            )


class SparkExecutor(JobPerTrialExecutor):
    """Trials as single-task jobs on a classic (py4j) SparkContext, one job group each."""

    def __init__(self, session: Any, fn: Any, parallelism: int, trial_timeout: float | None, max_retries: int):
        super().__init__(fn, parallelism, trial_timeout, max_retries)
        self.sc = session.sparkContext
        self.broadcast = self.sc.broadcast(self.blob) if len(self.blob) > BROADCAST_THRESHOLD else None
        self.task = _task.spark_task(self.broadcast if self.broadcast is not None else self.blob)

    def _run_single_task_job(self, tid: int, tag: str, payload: dict) -> bytes:
        self.sc.setJobGroup(tag, f"parzen trial {tid}", interruptOnCancel=True)
        return self.sc.parallelize([payload], 1).mapPartitions(self.task).collect()[0]

    def _cancel_tag(self, tag: str) -> None:
        self.sc.cancelJobGroup(tag)

    def close(self) -> None:
        super().close()
        if self.broadcast is not None:
            self.broadcast.destroy(blocking=False)
