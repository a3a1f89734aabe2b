"""Bayesian optimisation: a Gaussian process on the space's own coordinates, log expected improvement.

    from parzen.algorithms import gp
    fmin(objective, space, algo=gp.suggest, max_evals=100)
    fmin(..., algo=functools.partial(gp.suggest, transform="rank"))

numpy and scipy only (no torch). What it does, and why:

* **Coordinates.** Each parameter keeps TPE's coordinate (`parzen.algorithms.tpe._parzen.Dim`):
  log parameters on their log scale, every bounded one in ``[0, 1]``. Integer and quantised
  parameters are searched as continuous coordinates and snapped to their grid before
  their acquisition value is compared, then improved by a search over nearby grid values,
  so the point suggested is the point scored. A categorical parameter is a one-hot block
  in the kernel (another option is one unit away, no order implied) and is searched over
  its options (odds 0 never).
* **Model.** Matérn 5/2 with a length-scale per parameter, hyperparameters by maximum a
  posteriori: log-normal length-scale priors that widen with the dimension (Hvarfner et
  al. 2024), a learned noise with a floor (``noise_floor``). See ``_model.py``.
* **Outputs** are warped before fitting (``transform``, ``_transform.py``); failed and
  pruned trials take the worst warped value, so the model steers away from where the
  objective fails.
* **Acquisition.** log expected improvement (Ament et al. 2023), maximised from many
  starts with analytic gradients (L-BFGS-B): a pool of uniform points and of moves around
  the best trials at several scales (a local search in the spirit of TuRBO's trust
  regions), the best distinct ones refined. See ``_acquisition.py``.
* **A quadratic step.** Every ``quadratic_every``-th trial, the minimiser of a full
  quadratic fitted to the best trials is proposed instead, when the fit ranks them as
  their losses do (nevergrad's MetaModel lesson: it finds the floor of a smooth,
  ill-conditioned valley that a stationary GP resolves slowly). See ``_quadratic.py``.
* **Trials in flight.** Running trials and earlier points of the same batch stand in the
  model with a fantasy value (``in_flight``: the GP mean, "kriging believer", or the worst
  value, "constant liar"), so a batch spreads out. One fit serves a whole batch
  (``suggest.many``): each further point costs one acquisition maximisation and an
  O(n^2) update of the Cholesky factor.
* **Startup.** Until ``n_startup_jobs`` trials have finished, points follow a scrambled
  Sobol sequence mapped through the prior (``scipy.stats.qmc``).
* **Long runs.** Hyperparameters are fitted on at most ``fit_size`` trials (the best half
  and a random sample of the rest), starting from the previous fit of the run; the
  posterior conditions on at most ``max_history`` trials (the best half and the newest).
* **Conditional spaces** are handed to `parzen.algorithms.tpe` (``conditional="tpe"``):
  inactive parameters are never modelled as values. `parzen.auto` picks TPE there anyway.

The run keeps the last hyperparameters and the Sobol scramble in the compiled space's
``algorithm_state``, so a suggestion depends on the seed, the history and (through the
warm start of the fit) the earlier calls of the same run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from parzen.algorithms import tpe
from parzen.algorithms.gp._core import RunState, is_conditional, suggest_points
from parzen.algorithms.gp._options import GPOptions
from parzen.space import CompiledSpace
from parzen.trial import History

__all__ = ["GPOptions", "suggest", "suggest_many"]


def suggest(space: CompiledSpace, history: History, rng: np.random.Generator, **options: Any) -> dict[str, Any]:
    """The next point to evaluate, given every finished and running trial in `history`.

    Args:
        space: the compiled space (fmin passes it).
        history: every trial so far, running ones included (fmin passes it).
        rng: the run's random generator (fmin passes it).
        **options: the fields of `GPOptions`.
    """
    return suggest_many(space, history, rng, 1, **options)[0]


def suggest_many(
    space: CompiledSpace, history: History, rng: np.random.Generator, n: int, **options: Any
) -> list[dict[str, Any]]:
    """`n` points to evaluate at once: one model fit, each point a fantasy for the next.

    Args:
        space: the compiled space.
        history: every trial so far, running ones included.
        rng: the run's random generator.
        n: how many points.
        **options: the fields of `GPOptions`.
    """
    opts = GPOptions.of(options)
    if is_conditional(space):
        return tpe.suggest_many(space, history, rng, n)
    state = space.algorithm_state(RunState, lambda: RunState(space))
    return suggest_points(space, history, rng, n, opts, state)


suggest.many = suggest_many  # type: ignore[attr-defined]  # the batch form Tuner.ask_many uses
suggest.multi_objective = False  # type: ignore[attr-defined]  # one loss: fmin refuses it for several (use auto)
