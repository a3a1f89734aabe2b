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
import warnings
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from parzen._validation import integer_at_least
from parzen.exceptions import InvalidArgument
from parzen.trial import Trial, TrialState
from parzen.trial.pareto import non_dominated_ranks

Reported = float | tuple[float, ...]  # what one report carries: a loss, or one per objective

__all__ = [
    "ASHAPruner",
    "HyperbandPruner",
    "MOASHAPruner",
    "MOSuccessiveHalvingPruner",
    "MedianPruner",
    "NopPruner",
    "OneValuePruner",
    "Pruner",
    "SuccessiveHalvingPruner",
]


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

    def observe(self, trial: Trial, step: int, value: Reported) -> None:
        """A report that is already decided (replayed on reset); default: nothing to keep.

        Args:
            trial: the trial that reported.
            step: the step it reported at.
            value: the value it reported (lower is better).
        """
        return None

    @abc.abstractmethod
    def should_prune(self, trial: Trial, step: int, value: Reported) -> bool:
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


class OneValuePruner(Pruner):
    """A pruner that judges one number per report: the report itself, or one objective of it.

    Reports of several values (``parzen.report(step, [error, latency])``) are judged by
    their `objective`-th entry; without `objective`, by the first, said once.
    """

    objective: int | None = None

    def judged(self, value: float | tuple[float, ...]) -> float:
        """The number this pruner decides on: `value`, or its `objective`-th entry (NaN: out of range).

        Args:
            value: a report's value, or its values (several objectives).
        """
        if not isinstance(value, tuple):
            return value
        index = 0 if self.objective is None else self.objective
        if self.objective is None or index >= len(value):
            self._say_once(len(value))
        return value[index] if index < len(value) else math.nan

    def _say_once(self, width: int) -> None:
        if getattr(self, "_said", False):
            return
        self._said = True
        name = type(self).__name__
        if self.objective is None:
            message = f"{name} judges the first of the {width} values each report carries; pass objective=<index>"
            message += " to judge another, or use MOASHAPruner to judge them all"
        else:
            message = f"{name}(objective={self.objective}): reports carry {width} values; it prunes nothing"
        warnings.warn(message, UserWarning, stacklevel=4)


def _objective_index(owner: str, objective: Any) -> int | None:
    return None if objective is None else _check_int(owner, "objective", objective, 0)


class NopPruner(Pruner):
    """Never prunes (reports are still recorded): the default when reports come without a pruner."""

    def reset(self, trials: Iterable[Trial]) -> None:
        """Nothing to rebuild: this pruner keeps no state (a resumed run of 100,000 trials starts at once).

        Args:
            trials: ignored.
        """

    def should_prune(self, trial: Trial, step: int, value: Reported) -> bool:
        return False


def _check_int(owner: str, name: str, value: Any, minimum: int) -> int:
    return integer_at_least(f"{owner}: {name}", value, minimum)


class MedianPruner(OneValuePruner):
    """Prune when the trial's best value so far is worse than the median of finished trials at this step.

    Args:
        n_startup_trials: finished trials needed before anything is pruned.
        n_warmup_steps: steps of each trial that are never pruned.
        interval_steps: only steps on this grid (counted from the warm-up on) are checked.
        n_min_trials: finished trials that must have reported a step before it is judged.
        objective: with reports of several values, the index of the one to judge (default 0).
    """

    def __init__(
        self,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        n_min_trials: int = 1,
        objective: int | None = None,
    ):
        self.objective = _objective_index("MedianPruner", objective)
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
                self._done_values[step].append(self.judged(value))

    def should_prune(self, trial: Trial, step: int, value: Reported) -> bool:
        if self._n_done < self.n_startup_trials or step < self.n_warmup_steps:
            return False
        if (step - self.n_warmup_steps) % self.interval_steps:
            return False
        others = self._done_values.get(step, [])
        if len(others) < self.n_min_trials:
            return False
        best_so_far = min(self.judged(v) for v in trial.intermediate.values())
        return best_so_far > float(np.median(others))  # NaN (no such objective) compares False: go on


class SuccessiveHalvingPruner(OneValuePruner):
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
        objective: with reports of several values, the index of the one to judge (default 0).
    """

    def __init__(
        self,
        min_resource: int | str = "auto",
        reduction_factor: int = 4,
        min_early_stopping_rate: int = 0,
        bootstrap_count: int = 0,
        objective: int | None = None,
    ):
        owner = type(self).__name__
        self.objective = _objective_index(owner, objective)
        if min_resource != "auto":
            min_resource = _check_int(owner, "min_resource", min_resource, 1)
        self.min_resource: int | str = min_resource
        self.reduction_factor = _check_int(owner, "reduction_factor", reduction_factor, 2)
        self.min_early_stopping_rate = _check_int(owner, "min_early_stopping_rate", min_early_stopping_rate, 0)
        self.bootstrap_count = _check_int(owner, "bootstrap_count", bootstrap_count, 0)
        if bootstrap_count and min_resource == "auto":
            raise InvalidArgument(f"{owner}: bootstrap_count needs an integer min_resource, not 'auto'")
        self._rung_values: dict[int, list[Any]] = defaultdict(list)  # rung -> values of the trials that reached it
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

    def observe(self, trial: Trial, step: int, value: Reported) -> None:
        self.should_prune(trial, step, value)

    def should_prune(self, trial: Trial, step: int, value: Reported) -> bool:
        resource = self._resource()
        if resource is None:
            return False
        value = self.rung_value(value)
        if isinstance(value, float) and math.isnan(value):
            return False  # not a value this pruner can judge (an objective the reports lack): go on
        rung = self._rung_of.get(trial.tid, 0)
        while step >= resource * self.reduction_factor ** (self.min_early_stopping_rate + rung):
            competing = self._rung_values[rung]
            competing.append(value)
            self._rung_of[trial.tid] = rung + 1
            if len(competing) <= self.bootstrap_count or not self.promotable(value, competing):
                return True
            rung += 1
        return False

    def rung_value(self, value: float | tuple[float, ...]) -> Any:
        """What a trial brings to a rung: the judged number (`MOASHAPruner`: every value).

        Args:
            value: the report's value or values.
        """
        return self.judged(value)

    def promotable(self, value: Any, competing: list[Any]) -> bool:
        """Whether `value` goes on past a rung that `competing` (holding it) reached.

        In the best 1/eta of `competing`; while fewer than 2 * eta reached it, only if best
        (ties go on).

        Args:
            value: the trial's rung value.
            competing: the rung values of every trial that reached this rung, `value` included.
        """
        index = max(0, len(competing) // self.reduction_factor - 1)
        return bool(value <= sorted(competing)[index])


ASHAPruner = SuccessiveHalvingPruner


class MOSuccessiveHalvingPruner(SuccessiveHalvingPruner):
    """Successive halving on several objectives (MO-ASHA, Schmucker et al. 2021); ``MOASHAPruner``.

    The objective reports every loss (``parzen.report(epoch, [error, latency_ms])``, all
    minimised). Rungs are those of `SuccessiveHalvingPruner`; at a rung a trial goes on
    while fewer than 1/eta of the trials that reached it lie on better non-dominated fronts
    than it: a trial no other trial at the rung dominates always goes on, so every end of
    the trade-off survives. With one value per report it decides exactly as ASHA does.

    Args:
        min_resource: the step of the first rung, or ``"auto"``: 1/100 of the steps of the
            first finished trial.
        reduction_factor: eta: at most about 1/eta of a rung's trials go on past it.
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
        super().__init__(min_resource, reduction_factor, min_early_stopping_rate, bootstrap_count)

    def rung_value(self, value: float | tuple[float, ...]) -> tuple[float, ...]:
        return value if isinstance(value, tuple) else (value,)

    def promotable(self, value: Any, competing: list[Any]) -> bool:
        index = max(0, len(competing) // self.reduction_factor - 1)
        if len(value) == 1:
            return super().promotable(value[0], [c[0] for c in competing])
        ranks = non_dominated_ranks(np.asarray(competing, dtype=float))
        better = int(np.count_nonzero(ranks < ranks[competing.index(value)]))
        return better <= index


MOASHAPruner = MOSuccessiveHalvingPruner


class HyperbandPruner(Pruner):
    """Hyperband: ASHA brackets with early-stopping rates 0..n-1; each trial runs in one bracket.

    Brackets get trials in proportion to their budgets, as in optuna.

    Args:
        min_resource: the step of the first rung of the most aggressive bracket.
        max_resource: the steps a full trial reports, or ``"auto"``: from the first finished trial.
        reduction_factor: eta, as in `SuccessiveHalvingPruner`; also sets the number of brackets.
        objective: with reports of several values, the index of the one to judge (default 0).
    """

    def __init__(
        self,
        min_resource: int = 1,
        max_resource: int | str = "auto",
        reduction_factor: int = 3,
        objective: int | None = None,
    ):
        self.objective = _objective_index("HyperbandPruner", objective)
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
            SuccessiveHalvingPruner(
                self.min_resource, self.reduction_factor, min_early_stopping_rate=s, objective=self.objective
            )
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

    def observe(self, trial: Trial, step: int, value: Reported) -> None:
        if self._brackets:
            self._brackets[self.bracket_of(trial.tid)].observe(trial, step, value)

    def should_prune(self, trial: Trial, step: int, value: Reported) -> bool:
        if not self._brackets:
            return False
        return self._brackets[self.bracket_of(trial.tid)].should_prune(trial, step, value)
