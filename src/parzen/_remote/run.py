"""Running one trial: call the objective (timed, its output captured) and report an `Outcome`.

The in-process executors call `run_objective` / `run_captured`; a Spark job calls
`run_payload` (classic, through `parzen._remote.bootstrap`) or the `arrow_task` query
function (Connect), so a trial means the same thing on every backend. Standard library
only: this runs on Spark executors, shipped by value (see `parzen._remote`).
"""

from __future__ import annotations

import io
import os
import pickle
import socket
import sys
import time
import traceback
from typing import Any

from parzen._remote.context import TrialContext, _shared_state, in_trial
from parzen._remote.outcome import (
    Outcome,
    dumps_outcome,
    failure_outcome,
    outcome_of_exception,
    outcome_of_return,
    pruned_outcome,
    with_version_note,
)
from parzen._remote.resources import granted_resources, using_resources

OUTPUT_TAIL_CHARS = 20_000


class _Tail(io.TextIOBase):
    """A write-only text stream keeping only the last `limit` characters."""

    def __init__(self, limit=OUTPUT_TAIL_CHARS):
        self.limit = limit
        self.parts = []
        self.size = 0

    def writable(self):
        return True

    def write(self, text):
        self.parts.append(text)
        self.size += len(text)
        if self.size > 4 * self.limit:
            self._compact()
        return len(text)

    def _compact(self):
        text = "".join(self.parts)[-self.limit :]
        self.parts, self.size = [text], len(text)

    def getvalue(self):
        self._compact()
        return self.parts[0] if self.parts else ""


def run_objective(fn: Any, args: Any, reraise: bool = False, context: TrialContext | None = None) -> Outcome:
    """Call ``fn(args)`` (inside the trial's `context`) and turn whatever happens into an outcome.

    With `reraise`, an exception from the objective is attached to the outcome as
    ``exception`` so an in-process caller can raise it after recording the trial.
    """
    start = time.time()
    try:
        with in_trial(context):
            value = fn(args)
    except (Exception, SystemExit) as exc:  # the objective's own failure (sys.exit included), never retried
        if _is_pruned(exc):
            return pruned_outcome(start)
        outcome = outcome_of_exception(exc, start, traceback.format_exc())
        if reraise:
            outcome["exception"] = exc
        return outcome
    return outcome_of_return(value, start, time.time())


def _is_pruned(exc: BaseException) -> bool:
    """parzen's TrialPruned (any copy of the class: it may arrive by value) or optuna's."""
    return bool(getattr(exc, "parzen_pruned", False)) or type(exc).__name__ == "TrialPruned"


class TrialTimeout(BaseException):
    """Raised inside the objective when it has run longer than ``trial_timeout``.

    A BaseException, so an objective's own ``except Exception`` does not swallow it.
    """


def _raise_timeout(signum: int, frame: Any) -> None:
    raise TrialTimeout()


def _alarm_possible() -> bool:
    """A SIGALRM timer can interrupt the objective: main thread, and no handler of the user's."""
    import signal
    import threading

    return (
        hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
    )


def run_with_timeout(fn: Any, args: Any, timeout: float | None, context: TrialContext | None = None) -> Outcome:
    """`run_objective`, stopped after `timeout` seconds of the objective's own run.

    The clock starts when the objective starts, so Spark's scheduling, the Python
    worker's start and the objective's download are not charged to it. Python code and
    interruptible waits are stopped on time; code stuck in C is cancelled by the driver.
    """
    if timeout is None or not _alarm_possible():
        return run_objective(fn, args, context=context)
    import signal

    start = time.time()
    signal.signal(signal.SIGALRM, _raise_timeout)
    try:
        signal.setitimer(signal.ITIMER_REAL, timeout)
        return run_objective(fn, args, context=context)
    except TrialTimeout:
        message = f"cancelled: the trial ran longer than trial_timeout={timeout} s"
        return failure_outcome("TrialTimeout", message, start)
    finally:
        signal.signal(signal.SIGALRM, signal.SIG_IGN)  # a late alarm can no longer raise here
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)


def run_captured(fn: Any, args: Any, timeout: float | None = None, context: TrialContext | None = None) -> Outcome:
    """`run_with_timeout` with the trial's stdout/stderr tails captured and host recorded."""
    out, err = _Tail(), _Tail()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        outcome = run_with_timeout(fn, args, timeout, context)
    finally:
        sys.stdout, sys.stderr = saved
    outcome["stdout"] = out.getvalue()
    outcome["stderr"] = err.getvalue()
    outcome["host"] = socket.gethostname()
    outcome["pid"] = os.getpid()
    return outcome


def _cache() -> dict[str, Any]:
    """A per-Python-worker dict of loaded objectives that survives across tasks (workers are reused)."""
    return _shared_state().objectives


def _read_source(source: Any) -> bytes:
    """The pickled objective: bytes, a broadcast variable, or a Spark Connect artifact."""
    if hasattr(source, "value"):  # a broadcast variable (classic Spark)
        return source.value
    if isinstance(source, dict):  # {"artifact": name}, uploaded with spark.addArtifacts
        from pyspark import SparkFiles

        with open(SparkFiles.get(source["artifact"]), "rb") as f:
            return f.read()
    return source


def load_objective(token: str, source: Any) -> Any:
    """Unpickle (once per worker) the objective identified by `token`."""
    objectives = _cache()
    loaded = objectives.get(token)
    if loaded is None:
        loaded = pickle.loads(_read_source(source))
        objectives.clear()  # keep one experiment's objective per worker
        objectives[token] = loaded
    return loaded


_LOADING_ERRORS = ("ImportError", "ModuleNotFoundError", "UnpicklingError")  # where differing versions may be why


def run_payload(payload: dict[str, Any], blob: Any, attempt_number: int) -> bytes:
    """Run one trial described by `payload` on an executor; returns pickled outcome bytes."""
    start = time.time()
    if attempt_number > 0:
        # Spark re-ran a task whose Python worker died: parzen decides on retries.
        message = (
            f"the Python worker running this trial died (Spark task attempt {attempt_number - 1} "
            "failed; see the executor log for Spark's reason)"
        )
        return dumps_outcome(failure_outcome("WorkerCrashed", message, start) | {"crashed": True})
    try:
        fn = load_objective(payload["token"], blob)
        args = pickle.loads(payload["args"])
    except Exception as exc:  # the objective or its point could not be unpickled here: versions may be why
        outcome = outcome_of_exception(exc, start, traceback.format_exc())
        return dumps_outcome(with_version_note(outcome, payload.get("versions")))
    with using_resources(granted_resources(payload.get("resources"))):
        outcome = run_captured(fn, args, payload.get("timeout"), payload.get("context"))
    if outcome.get("error_type") in _LOADING_ERRORS:  # the objective unpickled something itself, or imported
        outcome = with_version_note(outcome, payload.get("versions"))
    return dumps_outcome(outcome)


def reach_task(host: str, port: int, timeout: float) -> Any:
    """A ``mapInArrow`` function answering whether the executor can connect to `host`:`port`."""

    def probe(batches: Any) -> Any:
        import pyarrow as pa

        for _ in batches:
            pass
        try:
            with socket.create_connection((host, port), timeout=timeout):
                ok = True
        except OSError:
            ok = False
        yield pa.RecordBatch.from_pydict({"ok": [ok]}, schema=pa.schema([("ok", pa.bool_())]))

    return probe


def arrow_task(source: Any, payload: dict[str, Any]) -> Any:
    """The ``mapInArrow`` function of one trial on Spark Connect (payload in the closure)."""

    def run_batches(batches: Any) -> Any:
        import pyarrow as pa
        from pyspark import TaskContext

        for _ in batches:  # consume all input so Spark reuses this Python worker
            pass
        context = TaskContext.get()
        attempt = context.attemptNumber() if context is not None else 0
        outcome = run_payload(payload, source, attempt)
        yield pa.RecordBatch.from_pydict({"outcome": [outcome]}, schema=pa.schema([("outcome", pa.binary())]))

    return run_batches
