"""Annealing, with hyperopt's behaviour: sample near one of the best trials, ever closer.

For each active parameter, a model trial is chosen among the best ones (its rank is
geometric with mean ``avg_best_idx``; the same model trial is reused for the other
parameters when it has them). A numeric value is drawn from the prior's shape narrowed
around the model trial's value to a fraction ``1 / (1 + T * shrink_coef)`` of its width,
T being how many trials have used the parameter; a categorical one keeps the model's
option with probability ``1 - shrink`` and otherwise falls back to the prior.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from parzen.space import Categorical, CompiledSpace, Numeric, Param, to_python
from parzen.trial import History


class _Annealer:
    """State of one suggestion: the model trials chosen so far (best first)."""

    def __init__(self, history: History, rng: np.random.Generator, avg_best_idx: float, shrink_coef: float):
        self.history = history
        self.rng = rng
        self.avg_best_idx = avg_best_idx
        self.shrink_coef = shrink_coef
        self.losses = np.where(np.isnan(history.loss), np.inf, history.loss)
        self.models: list[int] = []

    def pick(self, param: Param) -> Any:
        values = self.history.values(param.label)
        active = np.flatnonzero(~np.isnan(values))
        if len(active) == 0:
            return to_python(param.sample(self.rng))
        row = self._model_row(active)
        shrink = 1.0 / (1.0 + len(active) * self.shrink_coef)
        if isinstance(param, Categorical):
            return self._categorical(param, int(values[row]), shrink)
        assert isinstance(param, Numeric)
        return to_python(self._numeric(param, values[row], shrink))

    def _model_row(self, active: np.ndarray) -> int:
        """A model trial that has this parameter: an earlier model if any, else a new draw."""
        for row in self.models:
            if row in set(active.tolist()):
                return row
        rank = min(self.rng.geometric(1.0 / self.avg_best_idx) - 1, len(active) - 1)
        row = int(active[np.argsort(self.losses[active], kind="stable")[rank]])
        self.models.append(row)
        return row

    def _categorical(self, param: Categorical, index: int, shrink: float) -> int:
        p = shrink * param.probs
        p[index] += 1 - shrink
        return int(self.rng.choice(len(param.options), p=p / p.sum()))

    def _numeric(self, param: Numeric, value: float, shrink: float) -> Any:
        if param.kind == "randint":  # keep the model's value, or fall back to the prior
            if self.rng.uniform() < 1 - shrink:
                return int(value)
            return int(self.rng.integers(param.low, param.high))
        centre = np.log(max(value, 1e-16)) if param.log else value
        if not param.bounded:
            return param.from_internal(self.rng.normal(centre, param.sigma * shrink))
        half = 0.5 * (param.high - param.low) * shrink
        centre = np.clip(centre, param.low + half, param.high - half)
        return param.from_internal(self.rng.uniform(centre - half, centre + half))


def suggest(
    space: CompiledSpace,
    history: History,
    rng: np.random.Generator,
    avg_best_idx: float = 2.0,
    shrink_coef: float = 0.1,
) -> dict[str, Any]:
    """A point near one of the best trials; the prior when there are none.

    Use it as ``fmin(..., algo=anneal.suggest)``; set options with
    ``functools.partial(anneal.suggest, shrink_coef=0.2)``.

    Args:
        space: the compiled space (fmin passes it).
        history: every trial so far, running ones included (fmin passes it).
        rng: the run's random generator (fmin passes it).
        avg_best_idx: the mean rank of the model trial among the best ones (geometric):
            smaller follows the best trial more closely.
        shrink_coef: how fast the neighbourhood narrows: its width is ``1 / (1 + T * shrink_coef)``
            of the prior's after T trials used the parameter.

    Returns:
        The point: ``{label: value}`` for the active labels (a choice as its option's index).
    """
    return space.walk(_Annealer(history, rng, avg_best_idx, shrink_coef).pick)
