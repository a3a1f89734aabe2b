"""An automatic choice between TPE, a Gaussian process and local search, per run and per suggestion (issue 26).

    from parzen import auto
    fmin(objective, space, algo=auto.suggest, max_evals=100)

No single optimiser is best at 50-200 evaluations: a Gaussian process (`parzen.algorithms.gp`)
leads on flat, mostly numeric spaces, one trial at a time or with trials in flight; on numeric
spaces of ten parameters and more, run one trial at a time, the GP's best trial refined by local
search (`parzen.algorithms.local`, COBYLA) does better still; TPE leads on conditional spaces,
on many categorical parameters, and once the history is long. `auto` reads what it knows before each
suggestion, decides, and hands the call to the chosen method:

* the space: its dimension, the share of categorical parameters, whether some parameter is
  active under some choices only (conditional: TPE, since the GP would have to model
  inactive parameters as values, which it never does);
* the run: the budget (``max_evals``, which `fmin` tells it through `begin_run`; in ask/tell
  pass ``budget=`` with ``functools.partial``), the trials in flight (RUNNING in the history,
  plus the other points of the same batch) and the history's size;
* several objectives or constraints: TPE (the GP reads one loss).

The thresholds are not set by hand: ``benchmarks/portfolio_cv.py`` chooses them among a small
family of rules by leave-one-problem-family-out cross-validation on the portfolio benchmark's
results (``benchmarks/results/portfolio_*.json``); the constants below are its output. Past
``GP_MAX_HISTORY`` trials the GP hands over to TPE for speed (``benchmarks/auto_speed.py``:
the driver must fill its free slots quickly): that is the switch during a run.

The decision is logged once per run and again whenever it changes (logger ``parzen``,
INFO), kept in the space's ``algorithm_state`` (which lives as long as the run) and, under
`fmin`, stored in the store's ``meta`` table under ``algorithm`` (the report shows it).
`describe` gives the same decision without suggesting anything.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from parzen.algorithms import local, tpe
from parzen.algorithms.gp import suggest_many as gp_suggest_many
from parzen.algorithms.gp._core import is_conditional
from parzen.space import Categorical, CompiledSpace, Numeric
from parzen.trial import History

__all__ = [
    "Decision",
    "Features",
    "begin_run",
    "decide",
    "decisions",
    "describe",
    "features",
    "suggest",
    "suggest_many",
]

logger = logging.getLogger("parzen")

# ---- the rule's thresholds -------------------------------------------------------------------------------
# Learned by benchmarks/portfolio_cv.py (leave-one-problem-family-out cross-validation) from
# benchmarks/results/portfolio_bbob*.json, portfolio_sklearn*.json and portfolio_mixed.json; the run and its
# held-out ranks are in benchmarks/results/portfolio_cv.json and portfolio.md. Ties go to the smallest
# thresholds, so these are also the edges of what was measured (budget 200, 24 at once; dimension 10 for the GP:
# at 20, local search took every sequential cell and no GP ran with trials in flight).
GP_MAX_CATEGORICAL_SHARE = 0.25  # the GP while at most this share of the parameters are categorical
GP_MAX_DIM = 10  # ... and the space has at most this many parameters
GP_MAX_BUDGET = 200  # ... and the budget is at most this (unknown budget: while the history is below it)
GP_MAX_CONCURRENCY = 24  # ... and at most this many trials at once (in flight plus the ones asked; batches count)
# Speed, not quality (benchmarks/auto_speed.py): past this many trials in the history, TPE, so a
# suggestion stays under 50 ms at 100 trials and 300 ms at 500 on a 2-core machine.
GP_MAX_HISTORY = 300
# Local search (parzen.algorithms.local): the GP for LOCAL_GP_PER_DIM trials per parameter, then COBYLA from its
# best trial. One trial at a time, numeric parameters only (COBYLA never moves a categorical one), from this
# dimension up, while the budget is at most LOCAL_MAX_BUDGET and LOCAL_MAX_PER_DIM trials per parameter (unknown
# budget: while the history is below both; then the rest of the rule goes on from its trials). Ties in the
# cross-validation go to the largest dimension: local search only where it was measured to help. COBYLA from
# the centre of the space (local's default) wins BBOB at d >= 10 but loses to the GP on real tuning problems
# (scikit-learn's MLP and gradient boosting, 9 and 11 parameters); started from the GP's best it keeps most of
# the first and none of the second (benchmarks/results/portfolio.md).
LOCAL_MIN_DIM = 10
LOCAL_MAX_BUDGET = 200
LOCAL_MAX_PER_DIM = 20
LOCAL_GP_PER_DIM = 5
LOCAL_OPTIONS: dict[str, Any] = {"startup": "gp", "startup_per_dim": LOCAL_GP_PER_DIM}


@dataclass(frozen=True)
class Features:
    """What the decision reads: the space's shape and the run's state at one suggestion.

    Attributes:
        dim: the number of parameters (every branch's).
        categorical_share: the share of them that are categorical.
        integer_share: the share that are integer or quantised.
        conditional: whether some parameter is active under some choices only.
        n_trials: trials in the history, running ones included.
        in_flight: trials running, plus the other points of the same batch.
        capacity: trials the executor runs at once, when fmin told it.
        budget: the run's ``max_evals``, when known.
        several_losses: several objectives or constraints.
    """

    dim: int
    categorical_share: float
    integer_share: float
    conditional: bool
    n_trials: int
    in_flight: int
    capacity: int | None
    budget: int | None
    several_losses: bool


@dataclass(frozen=True)
class Decision:
    """A method and why: the features it was decided on.

    Attributes:
        method: ``"local"``, ``"gp"`` or ``"tpe"``.
        reason: the first rule that applied, in words.
        features: what the rule read.
    """

    method: str  # "local", "gp" or "tpe"
    reason: str
    features: Features

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: what the store keeps and the report shows."""
        return {"method": self.method, "reason": self.reason, **asdict(self.features)}


@dataclass
class _RunState:
    """Per run (the compiled space's ``algorithm_state``): what fmin told, what was decided."""

    budget: int | None = None
    capacity: int | None = None
    current: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)


def _state(space: CompiledSpace) -> _RunState:
    return space.algorithm_state(_RunState, _RunState)


def features(
    space: CompiledSpace, history: History, budget: int | None = None, extra: int = 0, capacity: int | None = None
) -> Features:
    """The decision's inputs.

    Args:
        space: the compiled space.
        history: the trials so far.
        budget: the run's ``max_evals`` when known.
        extra: points of the same batch beyond the first (in flight as well).
        capacity: trials the executor runs at once, when known.
    """
    params = list(space.params.values())
    n = max(len(params), 1)
    categorical = sum(isinstance(p, Categorical) for p in params)
    integer = sum(isinstance(p, Numeric) and (p.q is not None or p.kind == "randint") for p in params)
    return Features(
        dim=len(params),
        categorical_share=round(categorical / n, 4),
        integer_share=round(integer / n, 4),
        conditional=is_conditional(space),
        n_trials=len(history),
        in_flight=int(np.count_nonzero(history.running)) + extra,
        capacity=capacity,
        budget=budget,
        several_losses=history.ranked,
    )


def decide(f: Features) -> Decision:
    """The learned rule (the module's constants): the first reason that applies.

    Args:
        f: the features of this suggestion.
    """
    if f.several_losses:
        return Decision("tpe", "several objectives or constraints: the GP reads one loss", f)
    if f.conditional:
        return Decision("tpe", "conditional space: the GP never models inactive parameters", f)
    concurrency = max(f.in_flight + 1, f.capacity or 1)
    local_limit = min(LOCAL_MAX_BUDGET, LOCAL_MAX_PER_DIM * f.dim)
    local_budget = f.budget <= local_limit if f.budget is not None else f.n_trials < local_limit
    if concurrency == 1 and f.categorical_share == 0 and f.dim >= LOCAL_MIN_DIM and local_budget:
        budget = f"budget {f.budget}" if f.budget is not None else f"budget unknown, history {f.n_trials}"
        return Decision(
            "local",
            f"one trial at a time, {f.dim} >= {LOCAL_MIN_DIM} numeric parameters, {budget} <= {local_limit}: "
            f"the GP for {LOCAL_GP_PER_DIM} trials per parameter, then COBYLA from its best",
            f,
        )
    if f.categorical_share > GP_MAX_CATEGORICAL_SHARE:
        return Decision("tpe", f"categorical share {f.categorical_share:.2f} > {GP_MAX_CATEGORICAL_SHARE}", f)
    if f.dim > GP_MAX_DIM:
        return Decision("tpe", f"dimension {f.dim} > {GP_MAX_DIM}", f)
    if concurrency > GP_MAX_CONCURRENCY:
        return Decision("tpe", f"{concurrency} trials at once > {GP_MAX_CONCURRENCY}", f)
    if f.budget is not None and f.budget > GP_MAX_BUDGET:
        return Decision("tpe", f"budget {f.budget} > {GP_MAX_BUDGET}", f)
    if f.budget is None and f.n_trials >= GP_MAX_BUDGET:
        return Decision("tpe", f"budget unknown and history of {f.n_trials} trials >= {GP_MAX_BUDGET}", f)
    if f.n_trials >= GP_MAX_HISTORY:
        return Decision("tpe", f"history of {f.n_trials} trials >= {GP_MAX_HISTORY}: TPE for speed", f)
    return Decision(
        "gp",
        f"flat space of dimension {f.dim} <= {GP_MAX_DIM}, categorical share {f.categorical_share:.2f} "
        f"<= {GP_MAX_CATEGORICAL_SHARE}, history {f.n_trials} < {GP_MAX_HISTORY}",
        f,
    )


def describe(space: CompiledSpace, history: History, budget: int | None = None) -> Decision:
    """What `suggest` would choose now, without suggesting.

    Args:
        space: the compiled space.
        history: the trials so far.
        budget: the run's ``max_evals``; by default what fmin told (`begin_run`).
    """
    state = _state(space)
    return decide(features(space, history, budget if budget is not None else state.budget, 0, state.capacity))


def begin_run(space: CompiledSpace, max_evals: int | None, in_flight: int | None) -> None:
    """fmin tells the run's budget and capacity (``parzen.driver.algorithm_record``); ask/tell may too.

    Args:
        space: the run's compiled space (the state lives with it).
        max_evals: the budget, or None.
        in_flight: trials the executor runs at once, or None.
    """
    state = _state(space)
    state.budget, state.capacity = max_evals, in_flight


def decisions(space: CompiledSpace) -> list[dict[str, Any]]:
    """Every decision of this run that differed from the one before (the first included).

    Args:
        space: the run's compiled space.
    """
    return list(_state(space).history)


def _note(space: CompiledSpace, decision: Decision) -> None:
    """Log and keep a decision once, and again only when the method changes."""
    state = _state(space)
    if decision.method == state.current:
        return
    state.current = decision.method
    state.history.append(decision.as_dict())
    logger.info("auto: %s (%s)", decision.method, decision.reason)


def suggest(
    space: CompiledSpace, history: History, rng: np.random.Generator, budget: int | None = None
) -> dict[str, Any]:
    """The next point, from the method the rule chooses now (see the module docstring).

    Args:
        space: the compiled space (fmin passes it).
        history: every trial so far, running ones included (fmin passes it).
        rng: the run's random generator (fmin passes it).
        budget: the run's ``max_evals`` when known; fmin tells it, so only ask/tell needs this.

    Returns:
        The point: ``{label: value}`` for the active labels.
    """
    return suggest_many(space, history, rng, 1, budget=budget)[0]


def suggest_many(
    space: CompiledSpace, history: History, rng: np.random.Generator, n: int, budget: int | None = None
) -> list[dict[str, Any]]:
    """`n` points at once from the chosen method's batch form (one decision for the batch).

    Args:
        space: the compiled space.
        history: every trial so far, running ones included.
        rng: the run's random generator.
        n: how many points.
        budget: the run's ``max_evals`` when known (fmin tells it).
    """
    state = _state(space)
    known = budget if budget is not None else state.budget
    decision = decide(features(space, history, known, n - 1, state.capacity))
    _note(space, decision)
    if decision.method == "local":
        return local.suggest_many(space, history, rng, n, **LOCAL_OPTIONS)
    if decision.method == "gp":
        return gp_suggest_many(space, history, rng, n)
    return tpe.suggest_many(space, history, rng, n)


suggest.many = suggest_many  # type: ignore[attr-defined]  # the batch form Tuner.ask_many uses
suggest.multi_objective = True  # type: ignore[attr-defined]  # several objectives go to TPE (decide)
suggest.begin_run = begin_run  # type: ignore[attr-defined]  # fmin tells the budget (driver/algorithm_record.py)
suggest.decisions = decisions  # type: ignore[attr-defined]  # fmin stores them in the store's meta
