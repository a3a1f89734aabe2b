"""`ParzenSampler`: parzen's TPE as an optuna sampler.

    import optuna
    from parzen.integration.optuna import ParzenSampler

    study = optuna.create_study(sampler=ParzenSampler(seed=0))
    study.optimize(objective, n_trials=100)

optuna defines the space while the objective runs. The parameters every finished
trial has (optuna's intersection search space) are suggested jointly by parzen's TPE
(``parzen.tpe.suggest``, options as keyword arguments: ``ParzenSampler(n_startup_jobs=5)``);
any other parameter (one inside an ``if``) by TPE over the trials that have it. Running
trials count as running (so ``n_jobs > 1`` does not pile onto one point), failed and
pruned ones as bad outcomes, as in ``fmin``. Single-objective studies only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial
from optuna.trial import TrialState as OptunaState

from parzen import hp
from parzen.algorithms import tpe
from parzen.exceptions import InvalidArgument
from parzen.space import CompiledSpace, Param, compile_space
from parzen.trial import History, TrialState
from parzen.trial.history import Columns

__all__ = ["ParzenSampler"]

_STATES = {
    OptunaState.COMPLETE: TrialState.DONE,
    OptunaState.FAIL: TrialState.ERROR,
    OptunaState.PRUNED: TrialState.PRUNED,
    OptunaState.RUNNING: TrialState.RUNNING,
}


class _Dimension:
    """One optuna distribution as a parzen hyperparameter, and values both ways.

    Stepped and integer distributions become a count of steps from `low`, so parzen's
    grid (multiples of q) is optuna's grid (low + k * step).
    """

    def __init__(self, name: str, dist: BaseDistribution):
        self.dist = dist
        self.param: Param = _param(name, dist)

    def encode(self, value: Any) -> float:
        dist = self.dist
        if isinstance(dist, CategoricalDistribution):
            return float(dist.to_internal_repr(value))
        if isinstance(dist, (FloatDistribution, IntDistribution)) and dist.step is not None and not dist.log:
            return round((value - dist.low) / dist.step)
        return float(value)

    def decode(self, value: Any) -> Any:
        dist = self.dist
        if isinstance(dist, CategoricalDistribution):
            return dist.choices[int(value)]
        if isinstance(dist, (FloatDistribution, IntDistribution)) and dist.step is not None and not dist.log:
            value = dist.low + int(round(value)) * dist.step
        if isinstance(dist, IntDistribution):
            return int(min(max(round(value), dist.low), dist.high))
        assert isinstance(dist, FloatDistribution)  # the distributions _param accepts
        return float(min(max(value, dist.low), dist.high))


def _param(name: str, dist: BaseDistribution) -> Param:
    """The parzen hyperparameter with the distribution's range and scale."""
    if isinstance(dist, CategoricalDistribution):
        return hp.choice(name, list(range(len(dist.choices))))
    if isinstance(dist, (FloatDistribution, IntDistribution)):
        if dist.log:
            kind = hp.qloguniform if isinstance(dist, IntDistribution) else None
            low, high = math.log(dist.low), math.log(dist.high)
            return kind(name, low, high, 1) if kind else hp.loguniform(name, low, high)
        if dist.step is not None:
            return hp.randint(name, 0, int(round((dist.high - dist.low) / dist.step)) + 1)
        return hp.uniform(name, dist.low, dist.high)
    raise InvalidArgument(f"ParzenSampler: parameter {name!r} has a distribution it does not know: {dist!r}")


class ParzenSampler(optuna.samplers.BaseSampler):
    """An optuna sampler whose suggestions come from parzen's TPE (``parzen.tpe.suggest``).

    Args:
        seed: the seed of the suggestions (None: a fresh one).
        **tpe_options: `tpe.suggest`'s options (``n_startup_jobs=5``...), checked now.

    Raises:
        InvalidArgument: an unknown option or a value out of its domain.
    """

    def __init__(self, seed: int | None = None, **tpe_options: Any):
        tpe.TPEOptions.of(tpe_options)  # InvalidArgument naming a bad option, now rather than at trial 11
        self._options = tpe_options
        self._seed = seed
        self._rng = np.random.default_rng(seed)
        self._intersection = IntersectionSearchSpace()
        self._spaces: dict[tuple, tuple[CompiledSpace, dict[str, _Dimension]]] = {}

    def reseed_rng(self) -> None:
        self._rng = np.random.default_rng()

    def infer_relative_search_space(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, BaseDistribution]:
        if study._is_multi_objective():
            raise InvalidArgument("ParzenSampler supports single-objective studies; this study has several directions")
        space = self._intersection.calculate(study)
        return {name: dist for name, dist in space.items() if not dist.single()}

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        if not search_space:
            return {}
        return self._suggest(study, trial, search_space)

    def sample_independent(
        self, study: optuna.Study, trial: FrozenTrial, param_name: str, param_distribution: BaseDistribution
    ) -> Any:
        return self._suggest(study, trial, {param_name: param_distribution})[param_name]

    def _suggest(
        self, study: optuna.Study, trial: FrozenTrial, search_space: Mapping[str, BaseDistribution]
    ) -> dict[str, Any]:
        """TPE over `search_space`, from every other trial of the study that has its parameters."""
        compiled, dims = self._space(search_space)
        history = _history(study, trial, dims)
        point = tpe.suggest(compiled, history, self._rng, **self._options)
        return {name: dim.decode(point[name]) for name, dim in dims.items()}

    def _space(self, search_space: Mapping[str, BaseDistribution]) -> tuple[CompiledSpace, dict[str, _Dimension]]:
        """The compiled space of a search space, built once (TPE keeps per-space state on it)."""
        key = tuple(sorted((name, repr(dist)) for name, dist in search_space.items()))
        if key not in self._spaces:
            dims = {name: _Dimension(name, dist) for name, dist in sorted(search_space.items())}
            self._spaces[key] = (compile_space({name: d.param for name, d in dims.items()}), dims)
        return self._spaces[key]


def _history(study: optuna.Study, current: FrozenTrial, dims: Mapping[str, _Dimension]) -> History:
    """parzen's columns over the study's trials: losses to minimise, running and failed ones kept."""
    sign = -1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1.0
    columns = Columns()
    for past in study.get_trials(deepcopy=False):
        state = _STATES.get(past.state)
        if state is None or past.number == current.number:
            continue
        params = {name: dim.encode(past.params[name]) for name, dim in dims.items() if name in past.params}
        if state != TrialState.RUNNING and len(params) < len(dims):
            continue  # finished without these parameters: says nothing about them
        row = columns.append(params, state)
        value = past.value if state == TrialState.DONE else None
        loss = None if value is None or not math.isfinite(value) else sign * value
        columns.set_loss(row, loss, state if loss is not None or state != TrialState.DONE else TrialState.ERROR)
    return columns.view()
