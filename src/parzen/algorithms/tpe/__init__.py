"""Tree-structured Parzen Estimator (Bergstra et al. 2011, 2013), vectorised: ``tpe.suggest``.

For each suggestion the trials are split by loss into a small "below" set and the rest
("above"); a Parzen mixture is fitted to each, candidates are drawn from the below
mixture ``l`` and the one maximising ``l(x) / g(x)`` is returned. What parzen's TPE does
beyond hyperopt's (each choice measured; the evidence is in docs/benchmarks.md):
parameters active together are modelled jointly; a conditional branch is modelled from
the trials where it is active; failed and running trials count as bad outcomes (running
ones with a light weight), so parallel suggestions spread out; trials in flight widen
the below kernels and recombine good trials' coordinates; pruned trials rank by how far
they got; with probability ``gap_fill / d`` a suggestion fills the largest gap between
trials. ``suggest.many`` makes n points from one fit for slots that free together.

* `options`: `TPEOptions`, the options and their checks;
* `split`: the ranking and the below/above split;
* `fit`: one group's mixtures and picks; `_parzen`: the Parzen mixture itself (numpy
  arrays, truncated and quantised kernels); `_truncnorm`: truncated normal sampling.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from parzen.algorithms.tpe.fit import GroupFit, SpaceModel, space_model
from parzen.algorithms.tpe.options import DEFAULTS, TPEOptions
from parzen.algorithms.tpe.split import FINISHED, linear_forgetting_weights, n_below
from parzen.space import CompiledSpace, Param
from parzen.trial import History, TrialState

__all__ = ["DEFAULTS", "TPEOptions", "linear_forgetting_weights", "n_below", "suggest", "suggest_many"]

# hyperopt's module-level names of the defaults, for code that reads them (assigning them
# changes nothing: set options with functools.partial(tpe.suggest, gamma=...)).
_default_n_startup_jobs = DEFAULTS["n_startup_jobs"]
_default_n_EI_candidates = DEFAULTS["n_EI_candidates"]
_default_gamma = DEFAULTS["gamma"]
_default_prior_weight = DEFAULTS["prior_weight"]
_default_linear_forgetting = DEFAULTS["linear_forgetting"]


def suggest(space: CompiledSpace, history: History, rng: np.random.Generator, **options: Any) -> dict[str, Any]:
    """The next point to evaluate, given every finished and running trial in `history`.

    Use it as ``fmin(..., algo=tpe.suggest)``; set options with
    ``functools.partial(tpe.suggest, n_startup_jobs=20)``. hyperopt's knobs keep their
    names (``n_startup_jobs``, ``n_EI_candidates``, ``gamma``, ``prior_weight``,
    ``linear_forgetting``). Every option is checked once (`InvalidArgument` names the bad
    one and what is valid).

    Args:
        space: the compiled space (fmin passes it).
        history: every trial so far, running ones included (fmin passes it).
        rng: the run's random generator (fmin passes it).
        **options: the options below, by keyword.

    Keyword Args:
        n_startup_jobs (int): suggestions drawn from the prior before the model is used (10).
        startup (str): what `n_startup_jobs` counts: ``"finished"`` trials (default: trials in flight at
            the start are random draws, not refinements of one early result) or ``"all"`` (hyperopt).
        n_EI_candidates (int): candidates drawn from ``l`` and scored per suggestion (24).
        gamma (float): the share of the ranked trials that form the below set (0.1).
        split (str): ``"linear"`` (``gamma * n`` trials are below, optuna's) or ``"sqrt"`` (``gamma * sqrt(n)``,
            hyperopt's).
        max_below (int): at most this many trials are below (25).
        prior_weight (float): the prior counts as this many kernels in each mixture (2.0).
        linear_forgetting (int): the newest this many trials weigh fully; older ones weigh less (25).
        max_above (int): at most this many kernels in the above mixture; a weighted sample stands
            for older trials past it, so a suggestion's cost stays bounded (1000).
        multivariate (bool | str): model parameters active together jointly (True) or each alone
            (False); ``"auto"`` (default): each alone with several objectives and no constraints, else jointly.
        in_flight_independent (bool): with r trials in flight, a share ``r / (r + n_below)`` of the
            suggestions draw each parameter on its own, recombining good trials (True).
        magic_clip (bool): hyperopt's floor on kernel widths (True).
        liar (float): weight of a running trial in the above mixture, as a bad outcome (0.3; 1 is optuna's
            constant liar, 0 ignores running trials).
        branch_floor (float): each option of a choice that holds parameters keeps at least this share
            of its prior share of the trials, so a branch that looks worse early is still explored (0.75).
        below_shrink (float): multiplies the below kernels' widths: smaller is more local (0.3).
        in_flight_shrink (float): with r trials in flight the below kernels widen from `below_shrink`
            towards this by ``r / (r + n_below)`` (1.0).
        pruned_split (str): what `gamma` is a share of once a trial finished under a pruner:
            ``"finished"`` trials (default) or ``"all"`` ranked ones, pruned included (optuna's).
        gap_fill (float): with probability ``gap_fill / d`` (d parameters) a suggestion is the prior draw
            farthest from every trial, so narrow optima in gaps are found (0.1; 0: never).
        verbose (bool): accepted for hyperopt compatibility; parzen logs nothing per suggestion.

    Returns:
        The point: ``{label: value}`` for the active labels (a choice as its option's index).
    """
    return suggest_many(space, history, rng, 1, **options)[0]


def suggest_many(
    space: CompiledSpace, history: History, rng: np.random.Generator, n: int, **options: Any
) -> list[dict[str, Any]]:
    """`n` points to evaluate at once (slots that freed together): one model fit, `n` diverse picks.

    Each group's mixtures are fitted once (running trials in them as `suggest` has them)
    and each point gets its own `n_EI_candidates` draws from ``l``, all scored in one go;
    the branch floor counts earlier points of the batch, but the mixtures are not
    refitted for them: a batch of 1,000 costs about one fit and 1,000 scorings, not
    1,000 fits.

    Args:
        space: the compiled space.
        history: every trial so far, running ones included.
        rng: the run's random generator.
        n: how many points.
        **options: as for `suggest`.

    Returns:
        `n` points, each ``{label: value}`` for its active labels.
    """
    opts = TPEOptions.of(options)
    model = space_model(space)
    fits: dict[tuple[str, ...], GroupFit] = {}
    points = []
    # "finished": the model waits for n_startup_jobs results (as optuna's n_startup_trials does), so trials
    # in flight at the start are random draws, not refinements of the first one or two results.
    started = int(np.isin(history.state, FINISHED).sum()) if opts.startup == "finished" else len(history)
    independent = _independent_share(history, opts, n)
    # a fill covers a share of the space that falls geometrically with d, so its worth per evaluation falls too:
    # explore / d keeps one-dimensional gaps filled without spending high-dimensional budgets on far corners
    fill_share = opts.gap_fill / max(1, len(model.dims))
    for i in range(n):
        if started + (i if opts.startup == "all" else 0) < opts.n_startup_jobs:
            points.append(space.sample(rng))
        else:
            joint = _joint(opts, history) and not (independent > 0 and rng.random() < independent)
            fill = fill_share > 0 and rng.random() < fill_share
            points.append(_one_point(space, model, fits, history, rng, opts, n - i, joint, fill))
    return points


def _joint(opts: TPEOptions, history: History) -> bool:
    """Whether parameters active together are drawn jointly; ``multivariate="auto"`` decides by the run.

    With several objectives and no constraints each parameter is drawn on its own: joint
    kernels around the few best-ranked trials kept proposing points near them and left the
    rest of the front empty (sequential ZDT1/3, DTLZ2, WFG4 at random search's level). With
    constraints the joint kernels keep to the feasible region and do better. The rule was
    chosen by leave-one-family-out cross-validation over the multi-objective benchmark's
    families (benchmarks/multi_objective_cv.py; docs/benchmarks.md).
    """
    if opts.multivariate == "auto":
        return history.n_objectives == 1 or history.constraints is not None
    return bool(opts.multivariate)


def _independent_share(history: History, opts: TPEOptions, n: int) -> float:
    """The share of suggestions that draw each parameter on its own: r / (r + n_below), r trials in flight.

    Joint kernels propose points near one of the n_below good trials; once about as many
    trials are running as there are good ones, those neighbourhoods are already being
    evaluated, and drawing each parameter from a different good trial (univariate TPE)
    proposes new combinations instead. A sequential suggestion (r = 0) stays joint.
    """
    if not (_joint(opts, history) and opts.in_flight_independent):
        return 0.0
    in_flight = int((history.state == TrialState.RUNNING).sum()) + n - 1
    if in_flight == 0:
        return 0.0
    good = n_below(max(1, int((~np.isnan(history.loss)).sum())), opts.gamma, opts.split, opts.max_below)
    return in_flight / (in_flight + good)


def _one_point(
    space: CompiledSpace,
    model: SpaceModel,
    fits: dict[tuple[str, ...], GroupFit],
    history: History,
    rng: np.random.Generator,
    opts: TPEOptions,
    remaining: int,
    joint: bool,
    fill: bool = False,
) -> dict[str, Any]:
    """Walk the space, choosing each group the walk reaches from its (cached) fit.

    `remaining` (this point and those after it in the batch) bounds how many more
    points a group can be asked for, so it scores their candidates in one go. With
    `joint` a group's parameters are drawn together, else each on its own; with `fill`
    each group makes a gap-filling pick (``gap_fill``).
    """
    chosen: dict[str, Any] = {}

    def pick(param: Param) -> Any:
        if param.label not in chosen:
            labels = model.group_of[param.label] if joint else (param.label,)
            fit = fits.get(labels)
            if fit is None:
                fit = fits[labels] = GroupFit(model, labels, history, rng, opts, remaining - 1)
            chosen.update(fit.choose(rng, remaining, fill))
        return chosen[param.label]

    return space.walk(pick)


suggest.many = suggest_many  # type: ignore[attr-defined]  # the batch form Tuner.ask_many uses
suggest.multi_objective = True  # type: ignore[attr-defined]  # several objectives and constraints: split.py
