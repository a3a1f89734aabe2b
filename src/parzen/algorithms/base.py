'''What an algorithm is: a small pure function of (space, history, rng) (a plug-in point).

The contract, which `parzen.testing.algorithms.AlgorithmContract` checks:

* ``suggest(space, history, rng) -> {label: value} | None``. `space` is the run's
  `parzen.space.CompiledSpace` (compiled once per run: precomputed state may be kept with
  ``space.algorithm_state(key, factory)``); `history` is a `parzen.trial.History`: one
  column per label (NaN where inactive), ``loss`` (NaN unless the trial finished ok) and
  ``state`` (`TrialState` codes): running and failed trials are visible; `rng` is the
  run's numpy Generator, the only source of randomness (same seed, same points).
* The point holds exactly the labels active under its own choices (``space.walk`` builds
  such points top-down), each value in its parameter's domain; a choice is the index of
  its option. None means the algorithm has nothing more to suggest (grid search done).
* An algorithm reads, never writes: no records, no store, no executor; options are
  keyword arguments set with ``functools.partial``.
* Optionally, a batch form as the attribute ``suggest.many(space, history, rng, n) ->
  [points]``: n points from one model fit, for slots that free together on a cluster.

A worked example: a local search around the best trial so far, with random restarts.

    import functools
    import numpy as np
    from parzen import fmin, hp
    from parzen.algorithms import rand

    def local(space, history, rng, radius=0.1, restart=0.2):
        """Perturb the best trial's uniform parameters by `radius` of their range; sometimes restart."""
        if np.isnan(history.loss).all() or rng.random() < restart:
            return rand.suggest(space, history, rng)
        best = int(np.nanargmin(history.loss))

        def pick(param):  # called for each active parameter, top down
            value = history.values(param.label)[best]
            if getattr(param, "kind", None) != "uniform" or param.q is not None or np.isnan(value):
                return param.sample(rng)  # a choice, another kind, or inactive in the best trial
            step = radius * (param.high - param.low) * rng.standard_normal()
            return float(np.clip(value + step, param.low, param.high))

        return space.walk(pick)

    best = fmin(lambda p: (p["x"] - 0.3) ** 2, {"x": hp.uniform("x", 0, 1)},
                algo=functools.partial(local, radius=0.05), max_evals=50)

and its test, with the contract suite (pytest):

    from parzen.testing.algorithms import AlgorithmContract

    class TestLocalSearch(AlgorithmContract):
        algorithm = staticmethod(local)
'''

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from parzen.space import CompiledSpace
from parzen.trial import History


@runtime_checkable
class Algorithm(Protocol):
    """The type of a suggest function (see the module docstring for the contract)."""

    def __call__(self, space: CompiledSpace, history: History, rng: np.random.Generator) -> dict[str, Any] | None:
        """The next point to evaluate, or None when there is nothing more to suggest."""
        ...


class BatchAlgorithm(Algorithm, Protocol):
    """A suggest function with a batch form, ``suggest.many`` (n points from one fit)."""

    many: Any  # (space, history, rng, n) -> list of points
