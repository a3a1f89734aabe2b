"""Random search: every suggestion is an independent draw from the prior."""

from __future__ import annotations

from typing import Any

import numpy as np

from parzen.space import CompiledSpace
from parzen.trial import History


def suggest(space: CompiledSpace, history: History, rng: np.random.Generator) -> dict[str, Any]:
    """A point drawn from the prior of `space` (history is not used).

    Use it as ``fmin(..., algo=rand.suggest)``: random search, hyperopt's ``rand.suggest``.

    Args:
        space: the compiled space (fmin passes it).
        history: not used: random search ignores the trials.
        rng: the run's random generator (fmin passes it).

    Returns:
        The point: ``{label: value}`` for the active labels (a choice as its option's index).
    """
    return space.sample(rng)


suggest.multi_objective = True  # type: ignore[attr-defined]  # reads no loss: any number of objectives
