"""Tree-structured Parzen Estimator (Bergstra et al. 2011, 2013), vectorised.

For each suggestion, the trials are split by loss into a small "below" set and the
rest ("above"); a Parzen mixture is fitted to each, candidates are drawn from the
below mixture ``l`` and the one maximising ``l(x) / g(x)`` is returned.

What differs from hyperopt's TPE, each chosen on the benchmark (``docs/benchmarks.md``):

* **Joint kernels.** Parameters that are active under the same choices form a group
  and are modelled by product kernels jointly (multivariate TPE, Falkner 2018 /
  optuna), not one dimension at a time.
* **Conditional spaces.** A group is modelled only from the trials where it is active,
  and its split is made among those trials, so the inside of a branch keeps improving
  even while that branch looks worse than another one. Each option of a choice that
  holds hyperparameters keeps a floor share of the trials (``branch_floor``), so a
  branch that looks worse early is still explored.
* **Failed trials** go to the "above" set, so a region where the objective fails is
  avoided (hyperopt ignores them and keeps sampling there). So do **running trials**,
  with weight ``liar`` (0.3; 1 is optuna's constant liar): suggestions made while
  others run are pushed away from them instead of piling onto one point, without
  forbidding the region they explore (a full-weight liar measured worse with 8 and
  24 trials in flight).
* **Quantised parameters** are scored by the probability mass of their quantum.

hyperopt's knobs keep their names: ``n_startup_jobs``, ``n_EI_candidates``, ``gamma``,
``prior_weight``, ``linear_forgetting``; set them with
``functools.partial(tpe.suggest, n_startup_jobs=10)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from parzen.algorithms._parzen import Dim, Mixture
from parzen.exceptions import InvalidArgument
from parzen.history import History, TrialState
from parzen.space import Categorical, CompiledSpace, Param, to_python


# The best configuration measured on the benchmark (docs/benchmarks.md), not habit:
# hyperopt's sqrt split (gamma=0.25) and 20 startup trials explore too long at 100
# evaluations; a linear 10% split (optuna's) exploits better on continuous problems,
# and the branch floor keeps the exploration that conditional spaces need.
@dataclass(frozen=True)
class TPEOptions:
    """TPE's options, checked once; ``functools.partial(tpe.suggest, **options)`` sets them."""

    n_startup_jobs: int = 10
    n_EI_candidates: int = 24
    gamma: float = 0.1
    split: str = "linear"  # "linear": gamma * n trials are "below"; "sqrt": gamma * sqrt(n) (hyperopt)
    max_below: int = 25
    prior_weight: float = 1.0
    linear_forgetting: int = 25
    max_above: int = 1000  # kernels of the "above" density; past it, a weighted sample stands for the old trials
    multivariate: bool = True
    bandwidth: str = "neighbour"
    magic_clip: bool = True
    liar: float = 0.3  # weight of a running trial in "above": 1 is optuna's constant liar, 0 ignores it
    branch_floor: float = 0.75
    verbose: bool = True  # accepted for hyperopt compatibility; parzen logs nothing per suggestion

    @classmethod
    def of(cls, options: dict[str, Any]) -> TPEOptions:
        """Options from keyword arguments, or `InvalidArgument` naming the bad one."""
        valid = {f.name for f in fields(cls)}
        unknown = set(options) - valid
        if unknown:
            raise InvalidArgument(
                f"tpe.suggest got unknown options {sorted(unknown)}; valid options are {sorted(valid)}"
            )
        opts = cls(**options)
        opts._check()
        return opts

    def _check(self) -> None:
        for name, valid, ok in _RULES:
            if not ok(getattr(self, name)):
                raise InvalidArgument(f"tpe.suggest: {name} must be {valid}, got {getattr(self, name)!r}")


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def _is_real(x: Any) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


_RULES: tuple[tuple[str, str, Any], ...] = (
    ("n_startup_jobs", "an integer >= 0", lambda v: _is_int(v) and v >= 0),
    ("n_EI_candidates", "an integer >= 1", lambda v: _is_int(v) and v >= 1),
    ("gamma", "in (0, 1]", lambda v: _is_real(v) and 0 < v <= 1),
    ("split", "'sqrt' or 'linear'", lambda v: v in ("sqrt", "linear")),
    ("max_below", "an integer >= 1", lambda v: _is_int(v) and v >= 1),
    ("prior_weight", "> 0", lambda v: _is_real(v) and v > 0),
    ("linear_forgetting", "an integer >= 0", lambda v: _is_int(v) and v >= 0),
    ("max_above", "an integer >= 2", lambda v: _is_int(v) and v >= 2),
    ("liar", "True, False or a weight in [0, 1]", lambda v: isinstance(v, (bool, int, float)) and 0 <= v <= 1),
    ("bandwidth", "'neighbour' or 'scott'", lambda v: v in ("neighbour", "scott")),
    ("branch_floor", "in [0, 1]", lambda v: _is_real(v) and 0 <= v <= 1),
)


DEFAULTS = {f.name: f.default for f in fields(TPEOptions)}  # hyperopt-style view of the defaults

# hyperopt's module-level names of the defaults, for code that reads them (assigning them
# changes nothing: set options with functools.partial(tpe.suggest, gamma=...)).
_default_n_startup_jobs = DEFAULTS["n_startup_jobs"]
_default_n_EI_candidates = DEFAULTS["n_EI_candidates"]
_default_gamma = DEFAULTS["gamma"]
_default_prior_weight = DEFAULTS["prior_weight"]
_default_linear_forgetting = DEFAULTS["linear_forgetting"]


class _SpaceModel:
    """What TPE precomputes once per space: dimensions and groups of parameters."""

    def __init__(self, space: CompiledSpace):
        self.dims = {label: Dim.of(param) for label, param in space.params.items()}
        groups: dict[frozenset, list[str]] = {}
        for label, condition in space.conditions.items():
            groups.setdefault(condition, []).append(label)
        self.group_of = {label: tuple(labels) for labels in groups.values() for label in labels}
        self.structural = {
            label for label, p in space.params.items() if isinstance(p, Categorical) and _holds_params(p, space)
        }


def _holds_params(choice: Categorical, space: CompiledSpace) -> bool:
    """True if some hyperparameter is active only under one of `choice`'s options."""
    return any(step[0] == choice.label for paths in space.conditions.values() for path in paths for step in path)


_FINISHED_BADLY = (TrialState.DONE, TrialState.ERROR, TrialState.PRUNED)


def _model(space: CompiledSpace) -> _SpaceModel:
    return space.algorithm_state(_SpaceModel, lambda: _SpaceModel(space))


def linear_forgetting_weights(n: int, lf: int) -> np.ndarray:
    """hyperopt's weights by age: the `lf` newest trials weigh 1, older ones ramp down."""
    if n <= lf or lf <= 0:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, num=n - lf), np.ones(lf)])


def n_below(n_ok: int, gamma: float, split: str, max_below: int) -> int:
    """How many of the best trials form the "below" set."""
    raw = gamma * math.sqrt(n_ok) if split == "sqrt" else gamma * n_ok
    return int(min(max(1, math.ceil(raw)), max_below, n_ok))


def suggest(space: CompiledSpace, history: History, rng: np.random.Generator, **options: Any) -> dict[str, Any]:
    """The next point to evaluate, given every finished and running trial in `history`."""
    opts = TPEOptions.of(options)
    if len(history) < opts.n_startup_jobs:
        return space.sample(rng)
    model = _model(space)
    chosen: dict[str, Any] = {}

    def pick(param: Param) -> Any:
        if param.label not in chosen:
            labels = model.group_of[param.label] if opts.multivariate else (param.label,)
            chosen.update(_suggest_group(model, labels, history, rng, opts))
        return chosen[param.label]

    return space.walk(pick)


def _suggest_group(
    model: _SpaceModel, labels: tuple[str, ...], history: History, rng: np.random.Generator, opts: TPEOptions
) -> dict[str, Any]:
    """Jointly choose the values of `labels` by maximising l(x)/g(x) over candidates."""
    dims = [model.dims[label] for label in labels]
    columns = np.stack([history.values(label) for label in labels], axis=1)
    active = ~np.isnan(columns).any(axis=1)
    loss = history.loss[active]
    state = history.state[active]
    ranked = ~np.isnan(loss) | ((state == TrialState.PRUNED) & (history.last_step[active] >= 0))
    if not ranked.any():
        return {d.param.label: to_python(d.param.sample(rng)) for d in dims}
    observations = np.stack([d.encode(columns[active, j]) for j, d in enumerate(dims)], axis=1)
    below, above = _split(loss, state, opts, history.last_step[active], history.last_value[active])
    below_mix = _mixture(dims, observations, below, opts)
    running = state[above] == TrialState.RUNNING
    above_mix = _mixture(dims, observations, above, opts, rng, np.where(running, float(opts.liar), 1.0))
    candidates = below_mix.sample(rng, opts.n_EI_candidates)
    values = [d.decode(candidates[:, j]) for j, d in enumerate(dims)]
    u, lo, hi = _score_inputs(dims, values)
    with np.errstate(invalid="ignore"):
        score = below_mix.log_pdf(u, lo, hi) - above_mix.log_pdf(u, lo, hi)
    best = int(np.argmax(np.where(np.isnan(score), -np.inf, score)))  # -inf - -inf is no winner
    point = {d.param.label: to_python(values[j][best]) for j, d in enumerate(dims)}
    if opts.branch_floor > 0:
        _apply_branch_floor(model, dims, observations, point, opts.branch_floor)
    return point


def _split(
    loss: np.ndarray, state: np.ndarray, opts: TPEOptions, last_step: np.ndarray, last_value: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Indices (in time order) of the below and above sets among the active trials.

    Finished trials are ranked by loss; pruned ones follow, the furthest first and then
    by their last reported value (as optuna ranks them), so with few finished trials the
    most promising pruned ones can be "below".
    """
    ok_idx = np.flatnonzero(~np.isnan(loss))
    ranked = ok_idx[np.argsort(loss[ok_idx], kind="stable")]
    pruned = np.flatnonzero((state == TrialState.PRUNED) & (last_step >= 0))
    ranked = np.concatenate([ranked, pruned[np.lexsort((last_value[pruned], -last_step[pruned]))]])
    k = n_below(len(ranked), opts.gamma, opts.split, opts.max_below)
    below = np.sort(ranked[:k])
    above = ranked[k:]
    bad = _FINISHED_BADLY + ((TrialState.RUNNING,) if opts.liar else ())
    # failed and unranked pruned trials (and, with the liar, running ones) count as bad outcomes
    rest = np.flatnonzero(np.isnan(loss) & np.isin(state, bad))
    return below, np.sort(np.concatenate([above, np.setdiff1d(rest, ranked, assume_unique=True)]))


def _mixture(
    dims: list[Dim],
    observations: np.ndarray,
    idx: np.ndarray,
    opts: TPEOptions,
    rng: np.random.Generator | None = None,
    scale: np.ndarray | None = None,
) -> Mixture:
    """The Parzen mixture of the trials `idx` (weights: age, times `scale` if given)."""
    weights = linear_forgetting_weights(len(idx), opts.linear_forgetting)
    if scale is not None:
        weights = weights * scale
    if rng is not None and len(idx) > opts.max_above:
        idx, weights = _thin(idx, weights, opts.max_above, opts.linear_forgetting, rng)
    return Mixture(dims, observations[idx], weights, opts.prior_weight, opts.bandwidth, opts.magic_clip)


def _thin(
    idx: np.ndarray, weights: np.ndarray, cap: int, keep_newest: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """At most `cap` kernels standing for a long history, so a suggestion's cost stays bounded.

    The newest trials are kept as they are; the older ones are represented by a sample
    drawn in proportion to their (linearly forgotten) weights, sharing those weights.
    """
    keep_newest = min(keep_newest, cap - 1)
    old_idx, old_w = idx[: len(idx) - keep_newest], weights[: len(idx) - keep_newest]
    chosen = np.sort(rng.choice(len(old_idx), size=cap - keep_newest, replace=False, p=old_w / old_w.sum()))
    thinned_w = np.full(len(chosen), old_w.sum() / len(chosen))
    return (
        np.concatenate([old_idx[chosen], idx[len(idx) - keep_newest :]]),
        np.concatenate([thinned_w, weights[len(idx) - keep_newest :]]),
    )


def _score_inputs(dims: list[Dim], values: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidates as scored: u of the final (rounded, clipped) values and quantum edges."""
    n = len(values[0])
    u = np.empty((n, len(dims)))
    lo = np.zeros((n, len(dims)))
    hi = np.zeros((n, len(dims)))
    for j, d in enumerate(dims):
        u[:, j] = d.encode(values[j])
        if d.quantized:
            lo[:, j], hi[:, j] = d.edges(np.asarray(values[j], dtype=float))
    return u, lo, hi


def _apply_branch_floor(
    model: _SpaceModel, dims: list[Dim], observations: np.ndarray, point: dict[str, Any], floor: float
) -> None:
    """Send the suggestion down the most neglected option of a structural choice.

    Option i is owed ``floor * n * p_i`` of the n trials where the choice is active
    (p_i is its prior probability: uniform for ``choice``, the given odds for
    ``pchoice``), so an option with probability 0 is never forced.
    """
    for j, d in enumerate(dims):
        if d.param.label not in model.structural:
            continue
        counts = np.bincount(observations[:, j].astype(int), minlength=len(d.probs))
        owed = floor * (len(observations) + 1) * d.probs - counts
        neglected = int(np.argmax(owed))
        if owed[neglected] > 0:
            point[d.param.label] = neglected
