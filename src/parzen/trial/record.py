"""`Trial`: the frozen record of one evaluation, and how an executor's `Outcome` becomes one.

Records never change in place: `parzen.Trials` replaces a trial's record when its state
changes, so an observer, a reader or a thread holding a record holds a consistent
snapshot without copying it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from typing import Any

from parzen._remote.outcome import Outcome
from parzen.trial.state import STATUS_FAIL, STATUS_OK, STATUS_RUNNING, TrialState


@dataclass(frozen=True)
class Trial:
    """One evaluation of the objective (a frozen record).

    Args:
        tid: the trial's id, unique within an experiment (0, 1, 2...).
        params: its flat parameters: active labels only, a choice as the index of its option.
        state: where it is in its life (`TrialState`).
        result: what the objective returned (``{"loss": ..., "status": ...}`` and its own keys).
        book_time: when the trial was created (driver clock, seconds since the epoch).
        refresh_time: when its record last changed.
        start_time: when the objective started (the clock of the machine it ran on).
        end_time: when the objective ended.
        error: traceback or reason of a failed, cancelled or interrupted trial.
        host: host name of the machine it ran on.
        worker: ``"host:pid"`` of the Python worker that ran it.
        stdout: the tail of what it printed.
        stderr: the tail of what it printed to stderr.
        attempts: runs of the trial (more than 1 when its worker died and it was retried).
        attachments: what the objective attached (``result["attachments"]``); a stored trial's are read
            from the store when asked for. The one mutable field: hyperopt's ``trial_attachments`` writes it.
        intermediate: step -> value reported with ``parzen.report`` (a tuple when it reported several).
    """

    tid: int
    params: Mapping[str, Any]
    state: TrialState = TrialState.RUNNING
    result: Mapping[str, Any] = field(default_factory=lambda: {"status": STATUS_RUNNING})
    book_time: float = field(default_factory=time.time)
    refresh_time: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    error: str | None = None
    host: str | None = None
    worker: str | None = None
    stdout: str = ""
    stderr: str = ""
    attempts: int = 1
    attachments: MutableMapping[str, Any] = field(default_factory=dict)
    intermediate: Mapping[int, float | tuple[float, ...]] = field(default_factory=dict)

    @property
    def loss(self) -> float | None:
        """The loss of an ok trial with one objective, else None (see `losses` for several)."""
        if self.state == TrialState.DONE and self.result.get("status") == STATUS_OK:
            loss = self.result.get("loss")
            return loss if not isinstance(loss, (list, tuple)) else None
        return None

    @property
    def losses(self) -> tuple[float, ...] | None:
        """The losses of an ok trial, one per objective (a tuple of one with a single objective), else None."""
        if self.state != TrialState.DONE or self.result.get("status") != STATUS_OK or "loss" not in self.result:
            return None
        loss = self.result["loss"]
        return tuple(loss) if isinstance(loss, (list, tuple)) else (loss,)

    @property
    def constraints(self) -> tuple[float, ...]:
        """The constraint values the objective returned (feasible when every one is <= 0); empty if none."""
        return tuple(self.result.get("constraints") or ())

    @property
    def feasible(self) -> bool:
        """Whether every constraint holds (True without constraints)."""
        return all(c <= 0 for c in self.constraints)

    @property
    def duration(self) -> float | None:
        """Seconds the objective ran, when known."""
        if self.start_time is None or self.end_time is None:
            return None
        return self.end_time - self.start_time

    def finished_with(self, outcome: Outcome) -> Trial:
        """This running trial's record once `outcome` (from an executor) arrived.

        Args:
            outcome: what the executor reported (result, error, times, host, output tails).
        """
        result = dict(outcome.get("result") or {})
        attached = result.pop("attachments", None) or {}
        host, pid = outcome.get("host"), outcome.get("pid")
        return replace(
            self,
            attachments={**self.attachments, **attached} if attached else self.attachments,
            state=_finished_state(outcome),
            result=result,
            error=outcome.get("error"),
            start_time=outcome.get("start_time"),
            end_time=outcome.get("end_time"),
            host=host,
            worker=f"{host}:{pid}" if pid is not None else None,
            stdout=outcome.get("stdout", ""),
            stderr=outcome.get("stderr", ""),
            attempts=outcome.get("attempts", self.attempts),
            refresh_time=time.time(),
        )

    def refused(self, reason: str) -> Trial:
        """This trial's record when its result does not fit the run (another number of objectives): failed.

        Args:
            reason: what does not fit, kept as the record's error text.
        """
        result = {"status": STATUS_FAIL, "error": reason, "error_type": "InvalidResult"}
        return replace(self, state=TrialState.ERROR, error=reason, result=result)

    def stopped(self, reason: str, state: TrialState) -> Trial:
        """This running trial's record once it was cancelled or interrupted for `reason`.

        Args:
            reason: why, kept as the record's error text.
            state: CANCELLED or INTERRUPTED.
        """
        return replace(
            self, state=state, error=reason, result={"status": STATUS_FAIL, "error": reason}, refresh_time=time.time()
        )

    def started(self) -> Trial:
        """This NEW trial's record once it starts running."""
        return replace(self, state=TrialState.RUNNING, result={"status": STATUS_RUNNING}, refresh_time=time.time())

    def reported(self, step: int, value: float | tuple[float, ...]) -> Trial:
        """This running trial's record with `value` reported at `step`.

        Args:
            step: the step of the report.
            value: the reported value, or a tuple of them (several objectives).
        """
        return replace(self, intermediate={**self.intermediate, step: value})


def _finished_state(outcome: Outcome) -> TrialState:
    if outcome.get("errored"):
        return TrialState.ERROR
    return TrialState.PRUNED if outcome.get("pruned") else TrialState.DONE
