"""What a running trial knows about itself: its context, made current per thread while the objective runs.

The context is ``{"tid": ...}`` plus what the driver's observers add (a report channel,
an MLflow run). While the objective runs, the trial's MLflow child run (made ahead of
need by the driver) is MLflow's active run, so ``mlflow.log_*`` calls reach it.
Standard library only: this runs on Spark executors, shipped by value (see `parzen._remote`).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

_CACHE_MODULE = "_parzen_executor_cache"


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
    """The context of the trial running in this thread, or None outside a trial.

    A thread the objective started itself (a data loader, a training loop in a thread)
    has no context of its own; when exactly one trial runs in this process (always so in
    a Spark Python worker) it is that trial's.
    """
    own = getattr(_current(), "context", None)
    if own is not None:
        return own
    running = _running()
    return next(iter(running.values())) if len(running) == 1 else None


def _running() -> dict[int, TrialContext]:
    """thread id -> context of every trial running in this process (a dict: atomic enough under the GIL)."""
    state = _shared_state()
    if not hasattr(state, "running"):
        state.running = {}
    return state.running


@contextlib.contextmanager
def in_trial(context: TrialContext | None) -> Iterator[None]:
    """Make `context` the current trial's for the objective's call (per thread).

    When the context carries an MLflow run (``context["mlflow"]``, see
    ``parzen.tracking``), that run is also MLflow's active run meanwhile.
    """
    slot = _current()
    previous = getattr(slot, "context", None)
    slot.context = context
    running, me = _running(), threading.get_ident()
    if context is not None:
        running[me] = context
    try:
        with _mlflow_run((context or {}).get("mlflow")):
            yield
    finally:
        slot.context = previous
        if previous is None:
            running.pop(me, None)
        else:
            running[me] = previous


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


def _shared_state() -> Any:
    """A module in ``sys.modules`` holding what every copy of this module shares in a process."""
    module = sys.modules.get(_CACHE_MODULE)
    if module is None:
        module = type(sys)(_CACHE_MODULE)
        module.objectives = {}  # type: ignore[attr-defined]
        sys.modules[_CACHE_MODULE] = module
    return module
