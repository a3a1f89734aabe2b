"""Intermediate values from inside the objective: ``parzen.report(step, value)``.

    from parzen import report, TrialPruned

    def objective(params):
        model = make_model(params)
        for epoch in range(50):
            model.partial_fit(X, y)
            if report(epoch, validation_loss(model)):   # True: the pruner says stop
                raise TrialPruned()
        return validation_loss(model)

The objective keeps hyperopt's ``fn(params)`` signature: `report` finds the running
trial through the context the executor made current (see ``parzen._remote.context``).
Outside a trial (the objective called by hand) it does nothing and returns False.

This module runs on executors that may not have parzen installed: it imports only the
standard library and is shipped by value with the objective. In process, a report is a
function call into the driver; on Spark it is one short TCP exchange with the driver's
report server (token-authenticated, size-limited). A report whose answer is late or
lost lets the trial continue: reporting never fails or stalls a trial for long.
"""

from __future__ import annotations

import json
import math
import socket
import sys
from collections.abc import Sequence
from typing import Any

from parzen._remote.context import current_trial

MAX_MESSAGE_BYTES = 4096
MAX_STEP = 2**53 - 1  # the largest step JSON, a float and the history's int64 column all hold exactly
_warned: set[str] = set()


class TrialPruned(Exception):  # noqa: N818 - optuna's and Ray's name, kept for familiarity
    """Raise it from the objective to stop a trial the pruner asked to stop.

    The trial is recorded as pruned (not failed), with every value it reported.
    """

    parzen_pruned = True  # how executors recognise it, whichever copy of this class raised it


MAX_VALUES = 16  # the most losses one report carries (a few objectives; the message stays small)


def report(step: int, value: float | Sequence[float]) -> bool:
    """Record `value` at `step` for the running trial; True if the pruner says to stop.

    On True, stop with ``raise parzen.TrialPruned()``: the trial is then recorded as pruned.
    Returning a loss instead records an ordinary finished trial with a partial loss.
    With several objectives, report them all (``report(epoch, [error, latency])``, each
    minimised): ``MOASHAPruner`` decides on the vector, the other pruners on the objective
    chosen with their ``objective=`` argument. Every report of a run has the same length.

    Args:
        step: an int >= 0 that grows (an epoch, a boosting round, a number of samples).
        value: the loss the trial would return if it stopped now (lower is better), or a
            sequence of 1 to 16 such losses.

    Returns:
        True when the pruner says to stop; False to go on (also outside a trial, and when
        the driver does not answer in time).

    Raises:
        ValueError: `step` is not an int from 0 to 2**53 - 1, or `value` is not a real number
            or a sequence of 1 to 16 real numbers.
    """
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step <= MAX_STEP:
        raise ValueError(f"report: step must be an int from 0 to 2**53 - 1, got {step!r}")
    value = _reported_value(value)
    context = current_trial()
    channel = context.get("report") if context else None
    if context is None or channel is None:
        _warn_once("outside", "parzen.report() called outside a trial (or without a pruner): nothing is recorded")
        return False
    if not all(math.isfinite(v) for v in (value if isinstance(value, list) else [value])):
        _warn_once("nonfinite", f"parzen.report(): value {value!r} is not finite; it is not recorded")
        return False
    if callable(channel):  # in process: a direct call to the driver
        return bool(channel(context["tid"], step, value))
    return _ask_driver(channel, context["tid"], step, value)


def _reported_value(value: Any) -> float | list[float]:
    """A float, or a list of 2 to MAX_VALUES floats (a report of several objectives)."""
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or getattr(value, "ndim", 1) == 0:
        try:
            return float(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(
                f"report: value must be a real number (the loss so far) or a sequence of them, got {value!r:.80}"
            ) from exc
    if getattr(value, "ndim", 1) != 1 or not 1 <= len(value) <= MAX_VALUES:
        raise ValueError(
            f"report: several values must be a flat sequence of 1 to {MAX_VALUES} real numbers, got {value!r:.80}"
        )
    try:
        values = [float(v) for v in value]
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"report: every value must be a real number, got {value!r:.80}") from exc
    return values[0] if len(values) == 1 else values  # one value in a list is that value


def _ask_driver(channel: dict[str, Any], tid: int, step: int, value: float | list[float]) -> bool:
    """One report to the driver's report server; False when it cannot answer in time."""
    message = json.dumps({"token": channel["token"], "tid": tid, "step": step, "value": value}).encode() + b"\n"
    try:
        with socket.create_connection(
            (channel["host"], channel["port"]), timeout=channel.get("connect_timeout", 2.0)
        ) as s:
            s.settimeout(channel.get("answer_timeout", 5.0))
            s.sendall(message)
            answer = s.makefile("rb").readline(MAX_MESSAGE_BYTES)
        return bool(json.loads(answer or b"{}").get("prune", False))
    except (OSError, ValueError) as exc:
        _warn_once("unreachable", f"parzen.report(): the driver did not answer ({exc}); the trial goes on")
        return False


def _warn_once(key: str, message: str) -> None:
    if key not in _warned:
        _warned.add(key)
        print(f"[parzen] {message}", file=sys.stderr)
