"""A mixture of algorithms, as hyperopt's ``mix.suggest``:

    algo = functools.partial(mix.suggest, p_suggest=[(0.1, rand.suggest), (0.9, tpe.suggest)])

Each suggestion comes from one algorithm drawn with the given probabilities.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from parzen.exceptions import InvalidArgument
from parzen.space import CompiledSpace
from parzen.trial import History


def suggest(
    space: CompiledSpace,
    history: History,
    rng: np.random.Generator,
    p_suggest: Sequence[tuple[float, Callable]] = (),
) -> dict[str, Any] | None:
    """The suggestion of an algorithm drawn from `p_suggest` ((probability, algo) pairs).

    Args:
        space: the compiled space (fmin passes it).
        history: every trial so far, running ones included (fmin passes it).
        rng: the run's random generator (fmin passes it).
        p_suggest: ``[(probability, algo), ...]``; the probabilities sum to 1.

    Returns:
        The drawn algorithm's point (None if it has no more points to suggest).

    Raises:
        InvalidArgument: `p_suggest` is empty, or its probabilities are negative or do not sum to 1.
    """
    if not p_suggest:
        raise InvalidArgument("mix.suggest needs p_suggest=[(probability, algo), ...]")
    probs = np.array([p for p, _ in p_suggest], dtype=float)
    total = probs.sum()
    if (probs < 0).any() or not math.isclose(total, 1.0, abs_tol=1e-6):
        raise InvalidArgument(
            f"mix.suggest: the probabilities of p_suggest must be >= 0 and sum to 1, got {probs.tolist()}"
        )
    algo = p_suggest[int(rng.choice(len(probs), p=probs / total))][1]
    return algo(space, history, rng)


suggest.multi_objective = True  # type: ignore[attr-defined]  # reads no loss: any number of objectives
