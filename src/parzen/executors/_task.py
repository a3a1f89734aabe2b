"""Running one trial: call the objective, check what it returned, report an outcome.

This module runs on Spark executors, whose Python may not have parzen installed: it
imports nothing of parzen, only the standard library, and is shipped to executors by
value (cloudpickle) rather than imported there. The in-process executor uses the same
functions, so a trial means the same thing on every backend.

An *outcome* is a plain dict::

    errored     True if the objective raised, returned garbage, or its worker died
    result      the result dict (``status``, ``loss``, extra keys, ``attachments``)
    error       traceback or message when errored / status fail
    error_type  exception class name (or "InvalidResult", "WorkerCrashed", ...)
    start_time, end_time, host, stdout, stderr (tails)
"""

import io
import math
import os
import pickle
import socket
import sys
import time
import traceback

STATUS_OK = "ok"
STATUS_FAIL = "fail"
STATUS_STRINGS = ("new", "running", "suspended", "ok", "fail")
OUTPUT_TAIL_CHARS = 20_000
_CACHE_MODULE = "_parzen_executor_cache"


class InvalidResult(Exception):
    """Raised internally when an objective's return value is not a loss or result dict."""


def _describe_value(value):
    text = repr(value)
    if len(text) > 200:
        text = text[:200] + "..."
    return f"{type(value).__name__} {text}"


def _as_loss(value):
    """float(value) for real numbers (numpy scalars included), else None."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, bytes)):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def normalize_result(value):
    """The result dict for what an objective returned, or raise `InvalidResult`.

    A number is a loss with status ok. A dict keeps every key; its ``status`` must be
    one of hyperopt's status strings (ok when missing and a loss is given), and a
    status-ok result needs a finite ``loss``.
    """
    if not isinstance(value, dict):
        loss = _as_loss(value)
        if loss is None:
            raise InvalidResult(
                f"the objective returned {_describe_value(value)}; return a float loss or a dict "
                "with 'loss' and 'status' (e.g. {'loss': 0.1, 'status': STATUS_OK})"
            )
        _check_finite(loss, "returned")
        return {"loss": loss, "status": STATUS_OK}
    result = dict(value)
    status = result.setdefault("status", STATUS_OK if "loss" in result else None)
    if status not in STATUS_STRINGS:
        raise InvalidResult(
            f"the objective returned a dict with status {status!r}; valid statuses are "
            f"{list(STATUS_STRINGS)} (use STATUS_OK or STATUS_FAIL)"
        )
    if status == STATUS_OK:
        if "loss" not in result:
            raise InvalidResult(
                f"the objective returned status 'ok' without a 'loss' (keys: {sorted(map(str, result))})"
            )
        loss = _as_loss(result["loss"])
        if loss is None:
            raise InvalidResult(
                f"the objective returned 'loss' = {_describe_value(result['loss'])}; it must be a number"
            )
        _check_finite(loss, "returned 'loss' =")
        result["loss"] = loss
    return result


def _check_finite(loss, what):
    if not math.isfinite(loss):
        raise InvalidResult(
            f"the objective {what} {loss!r}; a loss must be finite (return STATUS_FAIL for a failed evaluation)"
        )


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


def _missing_module_hint(exc):
    name = getattr(exc, "name", None) or str(exc)
    return (
        f"\nmodule {name!r} cannot be imported by the Python running this trial ({sys.executable}). "
        "Install it where trials run (cluster libraries), or point PYSPARK_PYTHON at an "
        "interpreter that has it."
    )


def failure_outcome(kind, message, start):
    return {
        "errored": True,
        "result": {"status": STATUS_FAIL, "error": message.strip().splitlines()[-1] if message.strip() else kind},
        "error": message,
        "error_type": kind,
        "start_time": start,
        "end_time": time.time(),
    }


def run_objective(fn, args, reraise=False):
    """Call ``fn(args)`` and turn whatever happens into an outcome dict.

    With `reraise`, an exception from the objective is attached to the outcome as
    ``exception`` so an in-process caller can raise it after recording the trial.
    """
    start = time.time()
    try:
        value = fn(args)
    except Exception as exc:  # the objective's own failure, reported, never retried
        text = traceback.format_exc()
        if isinstance(exc, ImportError):
            text += _missing_module_hint(exc)
        outcome = failure_outcome(type(exc).__name__, text, start)
        if reraise:
            outcome["exception"] = exc
        return outcome
    end = time.time()
    try:
        result = normalize_result(value)
    except InvalidResult as exc:
        return failure_outcome("InvalidResult", str(exc), start) | {"end_time": end}
    return {"errored": False, "result": result, "error": result.get("error"), "start_time": start, "end_time": end}


def run_captured(fn, args):
    """`run_objective` with the trial's stdout/stderr tails captured and host recorded."""
    out, err = _Tail(), _Tail()
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        outcome = run_objective(fn, args)
    finally:
        sys.stdout, sys.stderr = saved
    outcome["stdout"] = out.getvalue()
    outcome["stderr"] = err.getvalue()
    outcome["host"] = socket.gethostname()
    outcome["pid"] = os.getpid()
    return outcome


def dumps_outcome(outcome):
    """Pickle an outcome; a result that cannot be pickled becomes a failed trial."""
    try:
        return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        bad = [k for k, v in (outcome.get("result") or {}).items() if not _picklable(v)]
        message = (
            f"the objective's result cannot be sent back to the driver: {type(exc).__name__}: {exc}; "
            f"keys that cannot be pickled: {bad}"
        )
        safe = failure_outcome("UnpicklableResult", message, outcome.get("start_time") or time.time())
        for key in ("stdout", "stderr", "host", "pid"):
            if key in outcome:
                safe[key] = outcome[key]
        return pickle.dumps(safe, protocol=pickle.HIGHEST_PROTOCOL)


def _picklable(value):
    try:
        pickle.dumps(value)
        return True
    except Exception:
        return False


def _cache():
    """A per-Python-worker dict that survives across tasks (workers are reused)."""
    module = sys.modules.get(_CACHE_MODULE)
    if module is None:
        module = type(sys)(_CACHE_MODULE)
        module.objectives = {}
        sys.modules[_CACHE_MODULE] = module
    return module.objectives


def _read_source(source):
    """The pickled objective: bytes, a broadcast variable, or a Spark Connect artifact."""
    if hasattr(source, "value"):  # a broadcast variable (classic Spark)
        return source.value
    if isinstance(source, dict):  # {"artifact": name}, uploaded with spark.addArtifacts
        from pyspark import SparkFiles

        with open(SparkFiles.get(source["artifact"]), "rb") as f:
            return f.read()
    return source


def load_objective(token, source):
    """Unpickle (once per worker) the objective identified by `token`."""
    objectives = _cache()
    loaded = objectives.get(token)
    if loaded is None:
        loaded = pickle.loads(_read_source(source))
        objectives.clear()  # keep one experiment's objective per worker
        objectives[token] = loaded
    return loaded


def run_payload(payload, blob, attempt_number):
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
    except Exception as exc:
        text = traceback.format_exc()
        if isinstance(exc, ImportError):
            text += _missing_module_hint(exc)
        return dumps_outcome(failure_outcome(type(exc).__name__, text, start))
    return dumps_outcome(run_captured(fn, args))


def spark_task(blob):
    """The function each single-task Spark job maps over its one-element partition."""

    def run_partition(iterator):
        from pyspark import TaskContext

        payloads = list(iterator)  # consume all input so Spark reuses this Python worker
        context = TaskContext.get()
        attempt = context.attemptNumber() if context is not None else 0
        for payload in payloads:
            yield run_payload(payload, blob, attempt)

    return run_partition


def arrow_task(source, payload):
    """The ``mapInArrow`` function of one trial on Spark Connect (payload in the closure)."""

    def run_batches(batches):
        import pyarrow as pa
        from pyspark import TaskContext

        for _ in batches:  # consume all input so Spark reuses this Python worker
            pass
        context = TaskContext.get()
        attempt = context.attemptNumber() if context is not None else 0
        outcome = run_payload(payload, source, attempt)
        yield pa.RecordBatch.from_pydict({"outcome": [outcome]}, schema=pa.schema([("outcome", pa.binary())]))

    return run_batches
