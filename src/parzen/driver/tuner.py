"""Ask/tell: the core `fmin` is built on, usable from any executor of your own.

    tuner = Tuner(space, algo=tpe.suggest, trials=Trials(), rstate=np.random.default_rng(0))
    for _ in range(20):
        tid, args = tuner.ask()          # args: what the objective receives
        tuner.tell(tid, objective(args)) # a float, a result dict, or an exception

Trials that were asked and not yet told count as *running*: the algorithm sees them
(``history.state == RUNNING``) when it makes the next suggestion, so several asks in a
row do not pile onto one point.
"""

from __future__ import annotations

import functools
import inspect
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parzen._hyperopt.trials import Trials
from parzen._remote.outcome import Outcome, outcome_of_exception, outcome_of_return
from parzen.exceptions import InvalidAlgorithm, InvalidArgument, InvalidParameterValue, MissingParameter
from parzen.space import CompiledSpace
from parzen.trial import Trial, TrialState

_HYPEROPT_ALGO_PARAMS = ("new_ids", "domain", "trials", "seed")


@dataclass(frozen=True)
class Suggestion:
    """A trial to evaluate: unpacks as ``tid, args``; ``params`` is the flat form.

    Attributes:
        tid: the trial's id, for `Tuner.tell`.
        args: what the objective receives: the point of the space (choices as values).
        params: the flat point, ``{label: value}`` (a choice as its index).
    """

    tid: int
    args: Any
    params: dict[str, Any] = field(repr=False)

    def __iter__(self) -> Iterator[Any]:
        return iter((self.tid, self.args))


def handles_several_losses(algo: Any) -> bool:
    """Whether `algo` (or the function a ``functools.partial`` wraps) declares ``multi_objective = True``."""
    return bool(getattr(getattr(algo, "func", algo), "multi_objective", False))


def check_algorithm(algo: Any) -> Callable:
    """`algo` must be called as ``algo(space, history, rng)``; say what is wrong if not."""
    if algo is None:
        from parzen.algorithms import tpe

        return tpe.suggest
    if not callable(algo):
        raise InvalidAlgorithm(
            f"algo must be a suggest function such as parzen.tpe.suggest or parzen.rand.suggest, "
            f"got {type(algo).__name__} {algo!r}"
        )
    try:
        signature = inspect.signature(algo)
    except (TypeError, ValueError):
        return algo  # a builtin or C callable: trust it
    names = tuple(signature.parameters)
    if names[:4] == _HYPEROPT_ALGO_PARAMS or "domain" in names[:4]:
        raise InvalidAlgorithm(_hyperopt_algorithm_message(algo))
    try:
        signature.bind(None, None, None)
    except TypeError:
        raise InvalidAlgorithm(
            f"algo {algo!r} must accept (space, history, rng); its signature is {signature}. "
            "Configure options with functools.partial(tpe.suggest, n_startup_jobs=...)"
        ) from None
    return algo


def _hyperopt_algorithm_message(algo: Any) -> str:
    """Why a hyperopt-style algorithm is refused, and what to write instead.

    hyperopt's algorithms read its pyll graph (``domain.s_idxs_vals``, ``rec_eval``) and
    write trial documents; parzen has neither, so they cannot be run, only ported.
    """
    fn = algo.func if isinstance(algo, functools.partial) else algo
    module = getattr(fn, "__module__", "") or ""
    name = getattr(fn, "__name__", repr(fn))
    if module.split(".")[0] == "hyperopt":
        short = module.split(".")[-1]
        options = ", ".join(f"{k}={v!r}" for k, v in getattr(algo, "keywords", {}).items())
        fix = f"parzen.{short}.{name}" if not options else f"functools.partial(parzen.{short}.{name}, {options})"
        return (
            f"algo is {module}.{name} from the hyperopt package; parzen needs its own algorithm: use {fix} "
            f"(change `from hyperopt import {short}` to `from parzen import {short}`)"
        )
    return (
        f"algo {name!r} has hyperopt's signature (new_ids, domain, trials, seed); parzen cannot run it "
        "(hyperopt algorithms read its pyll graph and write trial documents). Port it to "
        "suggest(space, history, rng) -> {label: value}: sample with space.sample(rng), read past "
        "trials from history.values(label) / history.loss; see 'Custom algorithms' in "
        "docs/migrating-from-hyperopt.md"
    )


def batch_form(algo: Callable) -> Callable | None:
    """`algo`'s batch form ``many(space, history, rng, n) -> [points]``, if it offers one.

    A suggest function offers it as its ``many`` attribute (``tpe.suggest.many``); a
    ``functools.partial`` of one keeps its keyword options.
    """
    if isinstance(algo, functools.partial):
        many = getattr(algo.func, "many", None)
        return None if many is None or algo.args else functools.partial(many, **algo.keywords)
    return getattr(algo, "many", None)


def as_generator(rstate: Any) -> np.random.Generator:
    """The rng of a run: a Generator, a legacy RandomState, an int seed, or None."""
    if isinstance(rstate, np.random.Generator):
        return rstate
    if rstate is None:
        seed = os.environ.get("PARZEN_FMIN_SEED") or os.environ.get("HYPEROPT_FMIN_SEED")
        return np.random.default_rng(int(seed) if seed else None)
    if isinstance(rstate, np.random.RandomState):
        return np.random.default_rng(rstate.randint(2**31 - 1))
    if isinstance(rstate, (int, np.integer)) and not isinstance(rstate, bool):
        if rstate < 0:
            raise InvalidArgument(f"rstate must be a non-negative int seed (or a numpy Generator), got {rstate!r}")
        return np.random.default_rng(int(rstate))
    raise InvalidArgument(
        f"rstate must be a numpy Generator (np.random.default_rng(seed)), an int seed or None, got {rstate!r}"
    )


class Tuner:
    """Suggests trials with `algo` and records their results in `trials`.

    Args:
        space: the search space (compiled once here: a bad space fails now).
        algo: the algorithm (default ``tpe.suggest``), as for `fmin`.
        trials: where trials are kept; a new `Trials` if None. One loaded from a store
            continues from its history.
        rstate: a seed or a ``numpy.random.Generator``, for reproducible suggestions.
        points_to_evaluate: points (``{label: value}``) suggested first, before the algorithm;
            those the trials already hold are skipped.
    """

    def __init__(
        self,
        space: Any,
        algo: Callable | None = None,
        trials: Trials | None = None,
        rstate: Any = None,
        points_to_evaluate: Iterable[Mapping[str, Any]] | None = None,
    ):
        self.trials = trials if trials is not None else Trials()
        self.space: CompiledSpace = self.trials.attach_space(space)  # compiled once: algorithms may cache on it
        self.algo = check_algorithm(algo)
        self.algo_many = batch_form(self.algo)
        self.rng = as_generator(rstate)
        self.queued: deque[dict[str, Any]] = deque(self._new_points(points_to_evaluate or []))
        self._check_new_trials()
        self.exhausted = False
        self.check_objectives()

    def check_objectives(self) -> None:
        """An algorithm that reads one loss cannot tune several objectives or constraints: say so now.

        Called when the run starts and again before each suggestion, so a run whose first
        results bring several losses stops at its next suggestion, naming what to use.
        """
        trials = self.trials
        if not (trials.multi_objective or trials.n_constraints) or handles_several_losses(self.algo):
            return
        what = f"{trials.n_objectives} objectives" if trials.multi_objective else "constraints"
        fn = getattr(self.algo, "func", self.algo)
        name = f"{getattr(fn, '__module__', '').rsplit('.', 1)[-1]}.{getattr(fn, '__qualname__', fn)}"
        raise InvalidAlgorithm(
            f"algo {name} reads one loss and this run has {what}: "
            "use tpe.suggest (several objectives and constraints), rand.suggest or grid.suggest, or mark an "
            "algorithm that reads history.losses and history.constraints with `suggest.multi_objective = True`"
        )

    def _check_new_trials(self) -> None:
        """NEW trials (from generate_trials_to_calculate or insert_trial_docs) must fit the space."""
        if not self.trials.count(TrialState.NEW):
            return
        for trial in self.trials.records:
            if trial.state == TrialState.NEW:
                try:
                    self.space.check_point(trial.params)
                except (InvalidParameterValue, MissingParameter) as exc:
                    raise type(exc)(f"trial {trial.tid}, queued to be evaluated first: {exc}") from None

    def _new_points(self, points: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Checked `points_to_evaluate`, minus those these trials already hold."""
        if isinstance(points, (Mapping, str, bytes)) or not isinstance(points, Iterable):
            raise InvalidArgument(
                f"points_to_evaluate must be a list of {{label: value}} dicts, got {type(points).__name__}"
            )
        points = list(points)
        for i, point in enumerate(points):
            if not isinstance(point, Mapping):
                raise InvalidArgument(
                    f"points_to_evaluate[{i}] must be a {{label: value}} dict, got {type(point).__name__} {point!r}"
                )
        checked = [self.space.check_point(p) for p in points]
        if not checked:
            return []
        known = {_key(t.params) for t in self.trials.records}
        return [p for p in checked if _key(p) not in known]

    def ask(self) -> Suggestion | None:
        """The next trial to evaluate (now counted as running), or None if the algorithm is exhausted."""
        queued = self._start_new_trial()
        if queued is not None:
            return queued
        params = self.queued.popleft() if self.queued else self._suggest()
        if params is None:
            self.exhausted = True
            return None
        return self._new(params)

    def ask_many(self, n: int) -> list[Suggestion]:
        """Up to `n` trials at once (fewer only if the algorithm is exhausted).

        NEW trials (``generate_trials_to_calculate``) and queued points come first; the
        rest is one call of the algorithm's batch form (``suggest.many(space, history, rng,
        n)``: one model fit for the lot) when it has one, else `ask` repeated.

        Args:
            n: how many trials.
        """
        out: list[Suggestion] = []
        while len(out) < n and (started := self._start_new_trial()) is not None:
            out.append(started)
        while self.queued and len(out) < n:
            out.append(self._new(self.queued.popleft()))
        if len(out) < n and self.algo_many is not None and not self.exhausted:
            self.check_objectives()
            with np.errstate(divide="warn", over="warn", under="ignore", invalid="warn"):
                batch = self.algo_many(self.space, self.trials.history(), self.rng, n - len(out))
            out += [self._new(self._checked(params)) for params in batch]
        while len(out) < n and not self.exhausted:
            suggestion = self.ask()
            if suggestion is not None:
                out.append(suggestion)
        return out

    def _new(self, params: dict[str, Any]) -> Suggestion:
        trial = self.trials.new(params)
        return Suggestion(trial.tid, self.space.eval(params), params)

    def _start_new_trial(self) -> Suggestion | None:
        """The first NEW trial the trials hold, started (they run before any suggestion)."""
        if not self.trials.count(TrialState.NEW):
            return None
        trial = next(t for t in self.trials.records if t.state == TrialState.NEW)
        params = self.space.check_point(trial.params)
        self.trials.start(trial.tid)
        return Suggestion(trial.tid, self.space.eval(params), params)

    def _suggest(self) -> dict[str, Any] | None:
        self.check_objectives()
        # numpy's default error handling, whatever the objective set globally (np.seterr)
        with np.errstate(divide="warn", over="warn", under="ignore", invalid="warn"):
            params = self.algo(self.space, self.trials.history(), self.rng)
        return None if params is None else self._checked(params)

    def _checked(self, params: Any) -> dict[str, Any]:
        """An algorithm's point, checked: a dict of exactly the active labels, values in their domains."""
        if not isinstance(params, Mapping):
            raise InvalidAlgorithm(
                f"algo {self.algo!r} returned {params!r}; it must return a dict of label -> value or None"
            )
        checked = self.space.check_point(params)
        if len(checked) != len(params):
            extra = sorted(set(params) - set(checked))
            raise InvalidAlgorithm(
                f"algo {self.algo!r} suggested {extra}, inactive under its own choices {params}; "
                "an algorithm returns exactly the active labels (see CompiledSpace.walk)"
            )
        return checked

    def tell(self, tid: int, result: Any) -> Trial:
        """Record the objective's return value (float or dict) or the exception it raised.

        Args:
            tid: the trial's id, from `ask`.
            result: a loss, a result dict (``{"loss": ..., "status": ...}``), or the exception
                the objective raised (recorded as an errored trial, with its traceback).

        Returns:
            The trial's final record.
        """
        if isinstance(result, BaseException):
            outcome = outcome_of_exception(result)
        else:
            outcome = outcome_of_return(result, end=time.time())
        return self.trials.finish(tid, outcome)

    def record(self, tid: int, outcome: Outcome) -> Trial:
        """Record an executor's `Outcome` for running trial `tid`.

        Args:
            tid: the running trial's id.
            outcome: what the executor reported.
        """
        return self.trials.finish(tid, outcome)

    def cancel(self, tid: int, reason: str) -> Trial:
        """Give up on a running trial; it does not count as finished.

        Args:
            tid: the running trial's id.
            reason: why, kept as the trial's error text.
        """
        return self.trials.cancel(tid, reason)


def _key(params: Mapping[str, Any]) -> tuple:
    return tuple(sorted(params.items()))
