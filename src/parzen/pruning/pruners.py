"""Pruners: stop hopeless trials early from the values they report while they run.

    fmin(objective, space, max_evals=200, pruner=parzen.ASHAPruner(min_resource=1, reduction_factor=3))

The objective reports with ``parzen.report(step, value)`` (lower is better) and stops
when it returns True. A pruner answers on the driver thread, from what the trials
reported so far; its state is derived from those reports and rebuilt from the trials
at the start of every `fmin` call, so a resumed run prunes as the first one would.

* `MedianPruner` -- stop a trial whose best value so far is worse than the median of
  the finished trials at the same step (optuna's MedianPruner).
* `ASHAPruner` -- asynchronous successive halving (Li et al. 2020; optuna's
  SuccessiveHalvingPruner): at rungs ``min_resource * reduction_factor**k`` a trial
  goes on only if it is in the best ``1/reduction_factor`` of the trials that reached
  that rung. No synchronisation barrier, so it suits many trials in flight.
* `HyperbandPruner` -- several ASHA brackets with different early-stopping rates;
  each trial is assigned to one bracket (Li et al. 2018; optuna's HyperbandPruner).

Semantics follow optuna's pruners of the same names, so results carry over.
"""

from __future__ import annotations

import abc
import hashlib
import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from parzen._validation import integer_at_least
from parzen.exceptions import InvalidArgument
from parzen.trial import Trial, TrialState

__all__ = ["ASHAPruner", "HyperbandPruner", "MedianPruner", "NopPruner", "Pruner", "SuccessiveHalvingPruner"]


class Pruner(abc.ABC):
    """Decides, at each report, whether a running trial should stop (a plug-in point).

    The contract: every method is called on the driver thread, which owns the trials.
    `reset` is called once when `fmin` starts, with the trials it continues from (a
    resumed run rebuilds the pruner's state from them); `should_prune(trial, step, value)`
    is called for each new report of a running trial (its record already holds the
    report) and must return quickly, without side effects on the trial; `finished` is
    called once per trial when it leaves the running state, in any final state. A pruner
    never raises for a report: a value it cannot use means "go on". The objective stops
    when told (``raise parzen.TrialPruned()``); the trial is then recorded as pruned.
    """

    def reset(self, trials: Iterable[Trial]) -> None:
        """Forget any state and rebuild it from `trials` (called when `fmin` starts).

        Args:
            trials: every trial the run continues from, in id order, with their reports.
        """
        for trial in trials:
            for step, value in sorted(trial.intermediate.items()):
                self.observe(trial, step, value)
            if trial.state.finished:
                self.finished(trial)

    def observe(self, trial: Trial, step: int, value: float) -> None:
        """A report that is already decided (replayed on reset); default: nothing to keep.

        Args:
            trial: the trial that reported.
            step: the step it reported at.
            value: the value it reported (lower is better).
        """
        return None

    @abc.abstractmethod
    def should_prune(self, trial: Trial, step: int, value: float) -> bool:
        """`trial` (running, its report at `step` already in ``trial.intermediate``) reported `value`.

        Args:
            trial: the running trial, as recorded with this report.
            step: the step of the report.
            value: the reported value (lower is better).

        Returns:
            True to stop the trial (``parzen.report`` returns True to the objective).
        """

    def finished(self, trial: Trial) -> None:
        """`trial` left the running state (any final state).

        Args:
            trial: the trial's final record.
        """
        return None


class NopPruner(Pruner):
    """Never prunes (reports are still recorded): the default when reports come without a pruner."""

    def reset(self, trials: Iterable[Trial]) -> None:
        """Nothing to rebuild: this pruner keeps no state (a resumed run of 100,000 trials starts at once).

        Args:
            trials: ignored.
        """

    def should_prune(self, trial: Trial, step: int, value: float) -> bool:
        return False


def _check_int(owner: str, name: str, value: Any, minimum: int) -> int:
    return integer_at_least(f"{owner}: {name}", value, minimum)


class MedianPruner(Pruner):
    """Prune when the trial's best value so far is worse than the median of finished trials at this step.

    Args:
        n_startup_trials: finished trials needed before anything is pruned.
        n_warmup_steps: steps of each trial that are never pruned.
        interval_steps: only steps on this grid (counted from the warm-up on) are checked.
        n_min_trials: finished trials that must have reported a step before it is judged.
    """

    def __init__(
        self, n_startup_trials: int = 5, n_warmup_steps: int = 0, interval_steps: int = 1, n_min_trials: int = 1
    ):
        self.n_startup_trials = _check_int("MedianPruner", "n_startup_trials", n_startup_trials, 0)
        self.n_warmup_steps = _check_int("MedianPruner", "n_warmup_steps", n_warmup_steps, 0)
        self.interval_steps = _check_int("MedianPruner", "interval_steps", interval_steps, 1)
        self.n_min_trials = _check_int("MedianPruner", "n_min_trials", n_min_trials, 1)
        self._done_values: dict[int, list[float]] = defaultdict(list)
        self._n_done = 0

    def reset(self, trials: Iterable[Trial]) -> None:
        self._done_values = defaultdict(list)
        self._n_done = 0
        super().reset(trials)

    def finished(self, trial: Trial) -> None:
        if trial.state == TrialState.DONE:
            self._n_done += 1
            for step, value in trial.intermediate.items():
                self._done_values[step].append(value)

    def should_prune(self, trial: Trial, step: int, value: float) -> bool:
        if self._n_done < self.n_startup_trials or step < self.n_warmup_steps:
            return False
        if (step - self.n_warmup_steps) % self.interval_steps:
            return False
        others = self._done_values.get(step, [])
        if len(others) < self.n_min_trials:
            return False
        best_so_far = min(trial.intermediate.values())
        return best_so_far > float(np.median(others))


class SuccessiveHalvingPruner(Pruner):
    """Asynchronous successive halving (ASHA), optuna's SuccessiveHalvingPruner; ``ASHAPruner`` is this class.

    Rungs are at steps ``min_resource * eta**(s + k)``; a trial that reaches a rung goes
    on only while it is among the best ``1/eta`` of the trials that reached it. There is
    no barrier (a trial never waits for others), so it suits many trials in flight.

    Args:
        min_resource: the step of the first rung, or ``"auto"``: 1/100 of the steps of the
            first finished trial.
        reduction_factor: eta: a trial is promoted past a rung when it is among the best
            1/eta of the trials that reached it (the first eta - 1 trials at a rung go on
            only if best so far).
        min_early_stopping_rate: s: the first rung is at ``min_resource * eta**s``.
        bootstrap_count: a rung prunes nobody until this many trials have reached it...
            and prunes those (optuna's semantics); needs an integer `min_resource`.
    """

    def __init__(
        self,
        min_resource: int | str = "auto",
        reduction_factor: int = 4,
        min_early_stopping_rate: int = 0,
        bootstrap_count: int = 0,
    ):
        owner = type(self).__name__
        if min_resource != "auto":
            min_resource = _check_int(owner, "min_resource", min_resource, 1)
        self.min_resource: int | str = min_resource
        self.reduction_factor = _check_int(owner, "reduction_factor", reduction_factor, 2)
        self.min_early_stopping_rate = _check_int(owner, "min_early_stopping_rate", min_early_stopping_rate, 0)
        self.bootstrap_count = _check_int(owner, "bootstrap_count", bootstrap_count, 0)
        if bootstrap_count and min_resource == "auto":
            raise InvalidArgument(f"{owner}: bootstrap_count needs an integer min_resource, not 'auto'")
        self._rung_values: dict[int, list[float]] = defaultdict(list)  # rung -> values of the trials that reached it
        self._rung_of: dict[int, int] = {}  # tid -> rungs passed
        self._auto_resource: int | None = None

    def reset(self, trials: Iterable[Trial]) -> None:
        self._rung_values = defaultdict(list)
        self._rung_of = {}
        self._auto_resource = None
        super().reset(trials)

    def _resource(self) -> int | None:
        return self._auto_resource if self.min_resource == "auto" else int(self.min_resource)

    def finished(self, trial: Trial) -> None:
        auto = self.min_resource == "auto" and self._auto_resource is None
        if auto and trial.state == TrialState.DONE and trial.intermediate:
            self._auto_resource = max(1, max(trial.intermediate) // 100)

    def observe(self, trial: Trial, step: int, value: float) -> None:
        self.should_prune(trial, step, value)

    def should_prune(self, trial: Trial, step: int, value: float) -> bool:
        resource = self._resource()
        if resource is None:
            return False
        rung = self._rung_of.get(trial.tid, 0)
        while step >= resource * self.reduction_factor ** (self.min_early_stopping_rate + rung):
            competing = self._rung_values[rung]
            competing.append(value)
            self._rung_of[trial.tid] = rung + 1
            if len(competing) <= self.bootstrap_count or not _promotable(value, competing, self.reduction_factor):
                return True
            rung += 1
        return False


ASHAPruner = SuccessiveHalvingPruner


def _promotable(value: float, competing: list[float], reduction_factor: int) -> bool:
    """In the best 1/eta of `competing` (which holds `value`); the first few: only if best."""
    index = max(0, len(competing) // reduction_factor - 1)
    return value <= sorted(competing)[index]


class HyperbandPruner(Pruner):
    """Hyperband: ASHA brackets with early-stopping rates 0..n-1; each trial runs in one bracket.

    Brackets get trials in proportion to their budgets, as in optuna.

    Args:
        min_resource: the step of the first rung of the most aggressive bracket.
        max_resource: the steps a full trial reports, or ``"auto"``: from the first finished trial.
        reduction_factor: eta, as in `SuccessiveHalvingPruner`; also sets the number of brackets.
    """

    def __init__(self, min_resource: int = 1, max_resource: int | str = "auto", reduction_factor: int = 3):
        self.min_resource = _check_int("HyperbandPruner", "min_resource", min_resource, 1)
        if max_resource != "auto":
            max_resource = _check_int("HyperbandPruner", "max_resource", max_resource, self.min_resource)
        self.max_resource: int | str = max_resource
        self.reduction_factor = _check_int("HyperbandPruner", "reduction_factor", reduction_factor, 2)
        self._brackets: list[SuccessiveHalvingPruner] = []

    def reset(self, trials: Iterable[Trial]) -> None:
        trials = list(trials)
        self._brackets = []
        if self.max_resource == "auto":
            done = [t for t in trials if t.state == TrialState.DONE and t.intermediate]
            if done:
                self._build(max(done[0].intermediate) + 1)
        else:
            self._build(int(self.max_resource))
        super().reset(trials)

    def _build(self, max_resource: int) -> None:
        ratio = max(1.0, max_resource / self.min_resource)
        n_brackets = int(math.floor(math.log(ratio, self.reduction_factor) + 1e-9)) + 1
        self._brackets = [
            SuccessiveHalvingPruner(self.min_resource, self.reduction_factor, min_early_stopping_rate=s)
            for s in range(n_brackets)
        ]
        budgets = [
            math.ceil(n_brackets * self.reduction_factor ** (n_brackets - 1 - s) / (n_brackets - s))
            for s in range(n_brackets)
        ]
        self._cumulative = np.cumsum(budgets)

    def bracket_of(self, tid: int) -> int:
        """The bracket of trial `tid`: a stable hash, weighted by the brackets' budgets.

        Args:
            tid: the trial id.

        Returns:
            The bracket's index (0 prunes earliest).
        """
        digest = int(hashlib.sha1(str(tid).encode()).hexdigest(), 16) % int(self._cumulative[-1])
        return int(np.searchsorted(self._cumulative, digest, side="right"))

    def finished(self, trial: Trial) -> None:
        if not self._brackets and self.max_resource == "auto" and trial.state == TrialState.DONE and trial.intermediate:
            self._build(max(trial.intermediate) + 1)
        if self._brackets:
            self._brackets[self.bracket_of(trial.tid)].finished(trial)

    def observe(self, trial: Trial, step: int, value: float) -> None:
        if self._brackets:
            self._brackets[self.bracket_of(trial.tid)].observe(trial, step, value)

    def should_prune(self, trial: Trial, step: int, value: float) -> bool:
        if not self._brackets:
            return False
        return self._brackets[self.bracket_of(trial.tid)].should_prune(trial, step, value)
