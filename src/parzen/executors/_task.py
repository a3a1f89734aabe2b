"""Running one trial: call the objective, check what it returned, report an `Outcome`.

This module runs on Spark executors, whose Python may not have parzen installed: it
imports nothing of parzen, only the standard library, and is shipped to executors by
value (cloudpickle) rather than imported there. The in-process executors use the same
functions, so a trial means the same thing on every backend.

An `Outcome` is the one record that crosses from wherever a trial ran to the driver
(`Trials.finish`); see its fields below.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import pickle
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from typing import Any, Required, TypedDict

STATUS_OK = "ok"
STATUS_FAIL = "fail"
STATUS_STRINGS = ("new", "running", "suspended", "ok", "fail")
OUTPUT_TAIL_CHARS = 20_000
_CACHE_MODULE = "_parzen_executor_cache"


class Outcome(TypedDict, total=False):
    """What happened to one run of a trial, as the driver records it.

    ``errored`` and ``result`` are always present; the rest depend on where it ran.
    """

    errored: Required[bool]  # the objective raised, returned garbage, timed out, or its worker died
    result: Required[dict[str, Any]]  # status, loss, the objective's extra keys, attachments
    error: str | None  # traceback or message of an errored trial (or a status-fail result's "error")
    error_type: str  # exception class name, or InvalidResult / WorkerCrashed / TrialTimeout / ...
    start_time: float | None  # when the objective started (the clock of the machine it ran on)
    end_time: float | None
    host: str  # host name of the machine the trial ran on
    pid: int  # process id of the Python worker that ran it
    stdout: str  # the last OUTPUT_TAIL_CHARS characters the trial printed
    stderr: str
    attempts: int  # runs of the trial (> 1 when a crashed trial was retried)
    crashed: bool  # its worker or job died, not the objective: the trial may be retried
    pruned: bool  # the objective stopped early (raised TrialPruned) after reporting values
    exception: BaseException  # in-process only: re-raised by fmin after recording


# What a running trial knows about itself: {"tid": ...} plus what the driver's observers
# and features add (a report channel, a tracking run). Plain data on Spark (it travels in
# the job's payload); in process it may also hold callables.
TrialContext = dict[str, Any]


def _current() -> threading.local:
    """The per-thread slot of the running trial's context, one per process.

    It lives in a module registered in ``sys.modules`` rather than in this module's
    globals: on executors this module arrives by value, possibly in several copies
    (with the task, with the objective), and all of them must see the same slot.
    """
    state = _shared_state()
    if not hasattr(state, "current"):
        state.current = threading.local()
    return state.current


def current_trial() -> TrialContext | None:
    """The context of the trial running in this thread, or None outside a trial."""
    return getattr(_current(), "context", None)


@contextlib.contextmanager
def in_trial(context: TrialContext | None) -> Iterator[None]:
    """Make `context` the current trial's for the objective's call (per thread).

    When the context carries an MLflow run (``context["mlflow"]``, see
    ``parzen.tracking``), that run is also MLflow's active run meanwhile.
    """
    slot = _current()
    previous = getattr(slot, "context", None)
    slot.context = context
    try:
        with _mlflow_run((context or {}).get("mlflow")):
            yield
    finally:
        slot.context = previous


def _say_once(key: str, message: str) -> None:
    """Write `message` to stderr (the trial's, when captured) once per process."""
    said = _shared_state().__dict__.setdefault("said", set())
    if key not in said:
        said.add(key)
        print(message, file=sys.stderr)


@contextlib.contextmanager
def _mlflow_run(info: dict[str, Any] | None) -> Iterator[None]:
    """The trial's child run is MLflow's active run while the objective runs (this thread only).

    No network call is made here: the run already exists (the driver made it ahead of
    need) and is put on MLflow's run stack as it is; ``mlflow.log_*`` in the objective
    then write to it. Without mlflow, or without a ready run, the objective runs as is
    and its stderr says why its mlflow calls do not reach the trial's run.
    """
    if not info:
        yield
        return
    try:
        import mlflow
    except ImportError:
        _say_once(
            "mlflow-missing",
            f"parzen: mlflow is not installed for the Python running this trial ({sys.executable}); the trial "
            "runs, but mlflow calls in the objective cannot reach its MLflow run (install mlflow on the executors)",
        )
        yield
        return
    if not info.get("run_id"):
        if not info.get("say", True):
            yield
            return
        print(
            f"parzen: no MLflow run was ready for trial {info.get('tid')} (tracking server slow or down); its run "
            "is made afterwards, and mlflow calls in the objective go where MLflow puts them without parzen",
            file=sys.stderr,
        )
        yield
        return
    try:
        leave = _enter_run(mlflow, info)
    except Exception as exc:  # never fail a trial for tracking
        print(f"parzen: could not make MLflow run {info['run_id']} active: {exc!r}", file=sys.stderr)
        yield
        return
    try:
        yield
    finally:
        leave()


def _enter_run(mlflow: Any, info: dict[str, Any]) -> Any:
    """Push the trial's run on MLflow's (per-thread) run stack; returns what undoes it."""
    uri = info.get("tracking_uri")
    if uri and mlflow.get_tracking_uri() != uri:
        mlflow.set_tracking_uri(uri)  # executors: the driver's server
    stack = _mlflow_stack()
    run = _local_run(info) if stack is not None else None
    if stack is None or run is None:  # an MLflow without the stack parzen knows: the public way (a round trip)
        mlflow.start_run(run_id=info["run_id"], nested=True)
        return lambda: _end_if_active(mlflow, info["run_id"])
    stack.append(run)

    def leave() -> None:
        if run in stack:
            del stack[stack.index(run) :]  # with runs the objective left open above it

    return leave


def _end_if_active(mlflow: Any, run_id: str) -> None:
    active = mlflow.active_run()
    if active is not None and active.info.run_id == run_id:
        mlflow.end_run()


def _mlflow_stack() -> list[Any] | None:
    """MLflow's stack of active runs for this thread (a private detail of mlflow.tracking.fluent)."""
    try:
        from mlflow.tracking import fluent
    except ImportError:
        return None
    stack: Any = getattr(fluent, "_active_run_stack", None)
    if hasattr(stack, "get"):  # mlflow >= 2.10: a ThreadLocalVariable
        stack = stack.get()
    return stack if isinstance(stack, list) else None


def _local_run(info: dict[str, Any]) -> Any:
    """An `ActiveRun` for an existing run, built from what the driver sent (no server call)."""
    try:
        from mlflow.entities import Run, RunData, RunInfo
        from mlflow.tracking.fluent import ActiveRun
    except ImportError:
        return None
    fields: dict[str, Any] = {
        "experiment_id": str(info.get("experiment_id") or "0"),
        "user_id": "",
        "status": "RUNNING",
        "start_time": int(time.time() * 1000),
        "end_time": None,
        "lifecycle_stage": "active",
        "artifact_uri": info.get("artifact_uri"),
    }
    for ids in ({"run_id": info["run_id"]}, {"run_uuid": info["run_id"], "run_id": info["run_id"]}):
        try:
            return ActiveRun(Run(RunInfo(**ids, **fields), RunData()))
        except TypeError:  # mlflow 2.x also wants run_uuid
            continue
    return None


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
    if getattr(getattr(value, "dtype", None), "kind", None) == "b":  # numpy bools, refused like bool
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
    top = name.split(".")[0]
    if top != name and _installed_version(top):  # the package is here, one of its modules is not: another version
        return (
            f"\n{top} {_installed_version(top)} is installed here but has no module {name!r}: the objective "
            f"or its data was pickled by another version of {top} (see the versions below)."
        )
    return (
        f"\nmodule {name!r} cannot be imported by the Python running this trial ({sys.executable}). "
        "Install it where trials run (cluster libraries), or point PYSPARK_PYTHON at an "
        "interpreter that has it."
    )


def failure_outcome(kind: str, message: str, start: float | None, summary: str | None = None) -> Outcome:
    """The outcome of a trial that failed with `message` (`kind`: what failed).

    `summary` is the one line shown in logs and tables (default: the message's last line).
    """
    if summary is None:
        summary = message.strip().splitlines()[-1] if message.strip() else kind
    return {
        "errored": True,
        "result": {"status": STATUS_FAIL, "error": summary, "error_type": kind},
        "error": message,
        "error_type": kind,
        "start_time": start,
        "end_time": time.time(),
    }


def outcome_of_return(value: Any, start: float | None = None, end: float | None = None) -> Outcome:
    """The outcome of an objective that returned `value` (garbage makes a failed trial)."""
    try:
        result = normalize_result(value)
    except InvalidResult as exc:
        return failure_outcome("InvalidResult", str(exc), start) | {"end_time": end}
    return {"errored": False, "result": result, "error": result.get("error"), "start_time": start, "end_time": end}


def outcome_of_exception(exc: BaseException, start: float | None = None, text: str | None = None) -> Outcome:
    """The outcome of an objective that raised `exc` (`text`: its formatted traceback)."""
    if text is None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    if isinstance(exc, ImportError):
        text += _missing_module_hint(exc)
    return failure_outcome(type(exc).__name__, text, start)


def run_objective(fn: Any, args: Any, reraise: bool = False, context: TrialContext | None = None) -> Outcome:
    """Call ``fn(args)`` (inside the trial's `context`) and turn whatever happens into an outcome.

    With `reraise`, an exception from the objective is attached to the outcome as
    ``exception`` so an in-process caller can raise it after recording the trial.
    """
    start = time.time()
    try:
        with in_trial(context):
            value = fn(args)
    except Exception as exc:  # the objective's own failure, reported, never retried
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


def pruned_outcome(start: float | None) -> Outcome:
    """The outcome of an objective that stopped early because the pruner said so."""
    return {
        "errored": False,
        "pruned": True,
        "result": {"status": STATUS_FAIL, "pruned": True},
        "error": None,
        "start_time": start,
        "end_time": time.time(),
    }


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


def dumps_outcome(outcome: Outcome) -> bytes:
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


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
        return True
    except Exception:
        return False


def _shared_state() -> Any:
    """A module in ``sys.modules`` holding what every copy of this module shares in a process."""
    module = sys.modules.get(_CACHE_MODULE)
    if module is None:
        module = type(sys)(_CACHE_MODULE)
        module.objectives = {}  # type: ignore[attr-defined]
        sys.modules[_CACHE_MODULE] = module
    return module


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
    except Exception as exc:
        outcome = outcome_of_exception(exc, start, traceback.format_exc())
    else:
        with using_resources(granted_resources(payload.get("resources"))):
            outcome = run_captured(fn, args, payload.get("timeout"), payload.get("context"))
    return dumps_outcome(with_version_note(outcome, payload.get("versions")))


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


# ---- resources a trial was given (stage-level scheduling) ---------------------------------


def trial_resources() -> dict[str, Any]:
    """What the running trial may use: ``{"cpus": 2, "gpu": ["1"]}``.

    On Spark, ``cpus`` is what the trial asked for (``cpus_per_trial``, else
    ``spark.task.cpus``), to pass to ``n_jobs``; every custom resource Spark assigned to
    the task (``gpu``, ...) maps to its addresses, which are also in
    ``pyspark.TaskContext.get().resources()``. ``CUDA_VISIBLE_DEVICES`` is set to the
    GPU addresses while the objective runs. Outside a Spark task (``Trials``, driver
    threads) it is ``{"cpus": os.cpu_count()}``.
    """
    granted = getattr(_current(), "resources", None)
    return dict(granted) if granted is not None else {"cpus": os.cpu_count() or 1}


def granted_resources(requested: dict[str, Any] | None) -> dict[str, Any] | None:
    """What Spark gave this task: CPUs (as asked, else the task's) and resource addresses."""
    try:
        from pyspark import TaskContext
    except ImportError:
        return None
    context = TaskContext.get()
    if context is None:
        return None
    cpus = (requested or {}).get("cpus") or (context.cpus() if hasattr(context, "cpus") else 1)
    granted: dict[str, Any] = {"cpus": int(cpus)}
    for name, info in (context.resources() or {}).items():
        granted[name] = list(info.addresses)
    return granted


@contextlib.contextmanager
def using_resources(granted: dict[str, Any] | None) -> Iterator[None]:
    """Make `granted` what `trial_resources()` returns, and expose its GPUs via CUDA_VISIBLE_DEVICES."""
    slot = _current()
    previous, saved_cuda = getattr(slot, "resources", None), os.environ.get("CUDA_VISIBLE_DEVICES")
    slot.resources = granted
    if granted is not None and "gpu" in granted:
        os.environ["CUDA_VISIBLE_DEVICES"] = ",".join(granted["gpu"])
    try:
        yield
    finally:
        slot.resources = previous
        if saved_cuda is None:
            os.environ.pop("CUDA_VISIBLE_DEVICES", None)
        else:
            os.environ["CUDA_VISIBLE_DEVICES"] = saved_cuda


# ---- versions: a trial that fails where driver and executor differ says so ---------------

VERSIONED_PACKAGES = ("pyspark", "numpy", "cloudpickle", "pandas", "pyarrow", "scipy", "scikit-learn")


def _installed_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except Exception:
        return None


def package_versions() -> dict[str, str]:
    """Python's version and those of the packages that decide whether pickles load."""
    from importlib import metadata

    versions = {"python": ".".join(map(str, sys.version_info[:3]))}
    for name in VERSIONED_PACKAGES:
        with contextlib.suppress(Exception):
            versions[name] = metadata.version(name)
    return versions


def with_version_note(outcome: Outcome, driver: dict[str, str] | None) -> Outcome:
    """Append to a failed trial's error which versions differ between the driver and here.

    Packages missing here are left out: a missing module has its own hint.
    """
    if not outcome.get("errored") or not driver:
        return outcome
    here = package_versions()
    differ = [
        f"{name} {driver[name]} on the driver, {here[name]} here"
        for name in driver
        if here.get(name, driver[name]) != driver[name]
    ]
    if differ:
        note = (
            f"\nversions differ between the driver and this executor ({sys.executable}): "
            + "; ".join(differ)
            + ". Objects pickled by one version may not load in another: align them (cluster libraries)."
        )
        outcome["error"] = (outcome.get("error") or "") + note
    return outcome
