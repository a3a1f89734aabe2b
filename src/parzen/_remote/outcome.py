"""The `Outcome`: the one record that crosses from wherever a trial ran to the driver.

Also what a trial's result may be (`normalize_result`: hyperopt's rules, one place) and
the outcomes of a return, an exception, a failure and a pruned trial. Standard library
only: this runs on Spark executors, shipped by value (see `parzen._remote`).
"""

from __future__ import annotations

import math
import pickle
import sys
import time
import traceback
from typing import Any, Required, TypedDict

from parzen._remote.versions import missing_module_hint, package_versions

STATUS_OK = "ok"
"""A result's status when the objective succeeded: ``{"loss": x, "status": STATUS_OK}``."""


STATUS_FAIL = "fail"
"""A result's status when the objective reports failure itself; the trial is failed, not an error."""


STATUS_NEW = "new"
"""hyperopt's status of a result not yet computed (kept for scripts that compare with it)."""
STATUS_RUNNING = "running"
"""hyperopt's status of a result being computed (kept for scripts that compare with it)."""
STATUS_SUSPENDED = "suspended"
"""hyperopt's status of a suspended evaluation (kept for scripts that compare with it)."""
STATUS_STRINGS = (STATUS_NEW, STATUS_RUNNING, STATUS_SUSPENDED, STATUS_OK, STATUS_FAIL)
"""Every status a result may carry, as in hyperopt."""


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
    sent_as_repr: list[str]  # result keys pickle refused, sent cut or as their repr (the driver warns)


class ParzenError(Exception):
    """Base class of every error parzen raises on purpose (all of them are in `parzen.exceptions`)."""


class InvalidResult(ParzenError, ValueError):
    """An objective returned something that is not a loss or a result dict.

    parzen records such a trial as failed (with a message saying what came back)
    instead of raising; the name exists so ``except`` clauses written for hyperopt's
    `InvalidLoss` / `InvalidResultStatus` keep importing.
    """


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

    A number is a loss with status ok; a tuple or list of numbers is a vector of losses
    (several objectives, all minimised) with status ok. A dict keeps every key; its
    ``status`` must be one of hyperopt's status strings (a dict without one is refused,
    as hyperopt did: a forgotten status would otherwise pass for ok); a status-ok result
    needs a finite ``loss`` (a number, or a sequence of them); ``constraints``, when
    given, are finite numbers (a trial is feasible when every one is <= 0). A sequence of
    one number is that number.
    """
    if not isinstance(value, dict):
        if _is_sequence(value):
            return {"loss": _losses(value, "returned"), "status": STATUS_OK}
        loss = _as_loss(value)
        if loss is None:
            raise InvalidResult(
                f"the objective returned {_describe_value(value)}; return a float loss, a tuple of losses or a dict "
                "with 'loss' and 'status' (e.g. {'loss': 0.1, 'status': STATUS_OK})"
            )
        _check_finite(loss, "returned")
        return {"loss": loss, "status": STATUS_OK}
    result = dict(value)
    if "status" not in result:
        raise InvalidResult(
            f"the objective returned a dict without 'status' (keys: {sorted(map(str, result))}); add "
            "'status': STATUS_OK (or STATUS_FAIL), e.g. {'loss': 0.1, 'status': STATUS_OK}, or return the loss alone"
        )
    status = result["status"]
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
        result["loss"] = _losses(result["loss"], "returned 'loss' =")
    if "constraints" in result:
        result["constraints"] = _constraints(result["constraints"])
    return result


def _is_sequence(value):
    """A tuple, list or 1-D array (of losses): not a string, not a dict, not a scalar."""
    if isinstance(value, (tuple, list)):
        return True
    return getattr(value, "ndim", 0) == 1


def _losses(value, what):
    """One finite loss (a float), or several (a list of floats); else `InvalidResult`."""
    if not _is_sequence(value):
        loss = _as_loss(value)
        if loss is None:
            raise InvalidResult(
                f"the objective {what} {_describe_value(value)}; it must be a number or a sequence of them"
            )
        _check_finite(loss, what)
        return loss
    items = list(value)
    if not items:
        raise InvalidResult(f"the objective {what} an empty sequence; give one loss per objective")
    losses = []
    for i, item in enumerate(items):
        loss = _as_loss(item)
        if loss is None:
            raise InvalidResult(f"the objective {what} {_describe_value(value)}; loss {i} is not a number")
        _check_finite(loss, f"{what} a sequence whose loss {i} is")
        losses.append(loss)
    return losses[0] if len(losses) == 1 else losses


def _constraints(value):
    """The constraint values as a list of finite floats (one number is a list of one)."""
    items = list(value) if _is_sequence(value) else [value]
    out = []
    for i, item in enumerate(items):
        number = _as_loss(item)
        if number is None or not math.isfinite(number):
            raise InvalidResult(
                f"the objective returned 'constraints' = {_describe_value(value)}; constraint {i} must be a finite "
                "number (feasible when <= 0)"
            )
        out.append(number)
    return out


def _check_finite(loss, what):
    if not math.isfinite(loss):
        raise InvalidResult(
            f"the objective {what} {loss!r}; a loss must be finite (return STATUS_FAIL for a failed evaluation)"
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
        text += missing_module_hint(exc)
    return failure_outcome(type(exc).__name__, text, start)


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


def dumps_outcome(outcome: Outcome) -> bytes:
    """Pickle an outcome for the driver; nothing the objective returned makes this raise.

    A result value pickle cannot take (nesting deeper than the interpreter's recursion
    limit, a lock, a generator) is sent as a copy cut at `SEND_DEPTH` levels, with its
    repr below that or in its place; the keys are listed under ``sent_as_repr`` so the
    driver warns as it does for what the store cannot hold. Only if even that fails does
    the trial fail.
    """
    try:
        return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        first_error = exc
    result = outcome.get("result") or {}
    bad = [k for k, v in result.items() if not _picklable(v)]
    if bad:
        sendable = dict(outcome, result={k: (_cut(v, 0) if k in bad else v) for k, v in result.items()})
        sendable["sent_as_repr"] = [str(k) for k in bad]
        try:
            return pickle.dumps(sendable, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            first_error = exc
    message = (
        f"the objective's result cannot be sent back to the driver: {type(first_error).__name__}: {first_error}; "
        f"keys that cannot be pickled: {bad}"
    )
    safe = failure_outcome("UnpicklableResult", message, outcome.get("start_time") or time.time())
    for key in ("stdout", "stderr", "host", "pid"):
        if key in outcome:
            safe[key] = outcome[key]
    return pickle.dumps(safe, protocol=pickle.HIGHEST_PROTOCOL)


SEND_DEPTH = 200
"""Levels of nesting a result value keeps when it must be cut to cross to the driver.

Deeper than the store's own limit (100), so the driver's store sees the deep value
and keeps its repr with the same warning as in process."""


def _cut(value: Any, depth: int) -> Any:
    """`value` with containers kept to `SEND_DEPTH` levels and anything pickle refuses as its repr."""
    if isinstance(value, (dict, list, tuple)) and depth >= SEND_DEPTH:
        return _short_repr(value)
    if isinstance(value, dict):
        return {k: _cut(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_cut(v, depth + 1) for v in value]
    return value if _picklable(value) else _short_repr(value)


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # RecursionError, or a __repr__ that raises
        text = f"<{type(value).__name__}: repr failed ({type(exc).__name__})>"
    return text if len(text) <= 10_000 else text[:10_000] + "...(cut)"


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
        return True
    except Exception:
        return False


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
