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
* **Trials in flight.** ``n_startup_jobs`` counts finished trials (``startup``), so
  the trials asked before the first results are random draws, not refinements of one
  or two results; and with r trials running (or r more points in a batch) the below
  kernels widen from ``below_shrink`` towards ``in_flight_shrink`` (1) by
  r / (r + n_below): parallel picks spread over the good region instead of all
  refining the same stale best; and the same share of suggestions draws each
  parameter on its own (``in_flight_independent``), combining coordinates of
  different good trials where joint kernels would crowd the neighbourhoods already
  in flight. A sequential suggestion is unchanged.
* **Pruned trials** rank after the finished ones, the furthest first and then by their
  last reported value (as optuna ranks them). That rank comes from a partial curve: a
  slow starter that would have ended best ranks as bad. Once a trial has finished,
  ``gamma`` is a share of the finished trials (``pruned_split="finished"``): optuna's
  split counts the pruned ones too, and under ASHA, which lets a few trials finish,
  that puts every finished trial in the below set, fast starters of middling loss
  included. On logreg_digits that held optuna's split at the regularisation bound's
  local optimum; splitting over the finished trials fixed it (12 seeds, p = 0.001),
  level on three other real workloads, worse on the noisy synthetic one
  (docs/benchmarks.md). ``pruned_shrink`` (off by
  default) widens the below kernels from ``below_shrink`` towards it by the share of
  the ranked trials that were pruned. Under ASHA it moved logreg_digits from a local
  optimum at the bound of the regularisation to optuna's level, but was level on three
  other workloads and leaned worse on a held-out fifth (docs/benchmarks.md), so it is
  not the default.
* **Quantised parameters** are scored by the probability mass of their quantum.
* **Local below kernels.** ``l``'s kernels are ``below_shrink`` (0.3) times the
  neighbour-gap bandwidth and the prior weighs ``prior_weight`` (2) kernels: chosen by
  cross-validation over BBOB's function groups (``docs/benchmarks.md``).
* **Gap filling** (``gap_fill``, 0.1). ``l / g`` ranks only what the trials have
  shown, and with a peaked ``l`` the candidates next to the good trials always win: a
  narrow optimum in a gap the startup missed, among trials that look bad, is never
  sampled (hyperopt's distractor). With probability ``gap_fill / d`` (d parameters) a
  suggestion is instead the prior draw farthest from every trial, running ones
  included (epsilon-greedy, De Ath et al. 2021, with best-candidate sampling), so
  every region is eventually sampled at the scale of the gaps between trials.
* **Batches.** ``suggest_many`` (``suggest.many``) makes n points from one fit, for
  slots that free together on a big cluster.

hyperopt's knobs keep their names: ``n_startup_jobs``, ``n_EI_candidates``, ``gamma``,
``prior_weight``, ``linear_forgetting``; set them with
``functools.partial(tpe.suggest, n_startup_jobs=10)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from parzen.algorithms.tpe._parzen import Dim, Mixture
from parzen.exceptions import InvalidArgument
from parzen.space import Categorical, CompiledSpace, Param, to_python
from parzen.trial import History, TrialState


# The best configuration measured on the benchmark (docs/benchmarks.md), not habit:
# hyperopt's sqrt split (gamma=0.25) and 20 startup trials explore too long at 100
# evaluations; a linear 10% split (optuna's) exploits better on continuous problems,
# and the branch floor keeps the exploration that conditional spaces need. The below
# kernels are 0.3 times the neighbour-gap bandwidth (candidates refine the good trials
# instead of scattering at the spacing of the sample: the largest single gain on COCO's
# BBOB, every function group and dimension), and the prior weighs 2 kernels, so the
# unexplored space keeps some candidates and is not condemned by a few wide bad kernels.
@dataclass(frozen=True)
class TPEOptions:
    """TPE's options, checked once; ``functools.partial(tpe.suggest, **options)`` sets them."""

    n_startup_jobs: int = 10
    startup: str = "finished"  # what n_startup_jobs counts: "finished" trials, or "all" (running and batch points too)
    n_EI_candidates: int = 24
    gamma: float = 0.1
    split: str = "linear"  # "linear": gamma * n trials are "below"; "sqrt": gamma * sqrt(n) (hyperopt)
    max_below: int = 25
    prior_weight: float = 2.0
    linear_forgetting: int = 25
    max_above: int = 1000  # kernels of the "above" density; past it, a weighted sample stands for the old trials
    multivariate: bool = True
    # with r trials in flight (or r more points in the batch), a share r / (r + n_below) of the suggestions
    # draw each parameter on its own (univariate TPE): they recombine the good trials' coordinates
    in_flight_independent: bool = True
    bandwidth: str = "neighbour"
    magic_clip: bool = True
    liar: float = 0.3  # weight of a running trial in "above": 1 is optuna's constant liar, 0 ignores it
    branch_floor: float = 0.75
    pending_radius: float = 0.0  # local penalty around running trials, in below-kernel bandwidths; 0: none
    below_weights: str = "uniform"  # "rank": the best of the below trials weigh most
    kernel: str = "product"  # "rotated": kernels along the principal axes of the below trials
    below_shrink: float = 0.3  # multiplies the below kernels' bandwidths (< 1: a more local l)
    # with r trials running (or r more points in the batch), the below kernels' multiplier moves from
    # below_shrink towards in_flight_shrink by r / (r + n_below): parallel picks cover the good region
    in_flight_shrink: float = 1.0
    # with a share p of the ranked trials pruned (ranked by a partial curve), the below kernels' multiplier
    # moves on towards pruned_shrink by p (a slow starter that would end best looks bad); None: no widening
    pruned_shrink: float | None = None
    # what gamma is a share of once a trial finished: "finished" trials (pruned ones, ranked by a partial
    # curve, join the above set), or "all" ranked trials, the pruned ones after the finished (optuna's
    # split: under ASHA nearly every finished trial is then "below", whatever its loss)
    pruned_split: str = "finished"
    above_shrink: float = 1.0  # multiplies the above kernels' bandwidths (< 1: a bad trial condemns less around it)
    # with probability gap_fill / d (d parameters) a suggestion is the prior draw, of n_EI_candidates,
    # farthest from every trial instead of the best l / g; 0: never
    gap_fill: float = 0.1
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
    ("startup", "'finished' or 'all'", lambda v: v in ("finished", "all")),
    ("n_EI_candidates", "an integer >= 1", lambda v: _is_int(v) and v >= 1),
    ("gamma", "in (0, 1]", lambda v: _is_real(v) and 0 < v <= 1),
    ("split", "'sqrt' or 'linear'", lambda v: v in ("sqrt", "linear")),
    ("max_below", "an integer >= 1", lambda v: _is_int(v) and v >= 1),
    ("prior_weight", "> 0", lambda v: _is_real(v) and v > 0),
    ("linear_forgetting", "an integer >= 0", lambda v: _is_int(v) and v >= 0),
    ("max_above", "an integer >= 2", lambda v: _is_int(v) and v >= 2),
    ("in_flight_independent", "True or False", lambda v: isinstance(v, bool)),
    ("liar", "True, False or a weight in [0, 1]", lambda v: isinstance(v, (bool, int, float)) and 0 <= v <= 1),
    ("bandwidth", "'neighbour' or 'scott'", lambda v: v in ("neighbour", "scott")),
    ("branch_floor", "in [0, 1]", lambda v: _is_real(v) and 0 <= v <= 1),
    ("pending_radius", ">= 0", lambda v: _is_real(v) and v >= 0),
    ("below_weights", "'uniform' or 'rank'", lambda v: v in ("uniform", "rank")),
    ("kernel", "'product' or 'rotated'", lambda v: v in ("product", "rotated")),
    ("below_shrink", "in (0, 1]", lambda v: _is_real(v) and 0 < v <= 1),
    ("above_shrink", "in (0, 1]", lambda v: _is_real(v) and 0 < v <= 1),
    ("in_flight_shrink", "in (0, 1]", lambda v: _is_real(v) and 0 < v <= 1),
    ("pruned_shrink", "None or in (0, 1]", lambda v: v is None or (_is_real(v) and 0 < v <= 1)),
    ("pruned_split", "'finished' or 'all'", lambda v: v in ("finished", "all")),
    ("gap_fill", "in [0, 1]", lambda v: _is_real(v) and 0 <= v <= 1),
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
_FINISHED = _FINISHED_BADLY  # the states that count towards n_startup_jobs (startup="finished")


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
    return suggest_many(space, history, rng, 1, **options)[0]


def suggest_many(
    space: CompiledSpace, history: History, rng: np.random.Generator, n: int, **options: Any
) -> list[dict[str, Any]]:
    """`n` points to evaluate at once (slots that freed together): one model fit, `n` diverse picks.

    Each group's mixtures are fitted once (running trials in them as `suggest` has them)
    and each point gets its own `n_EI_candidates` draws from ``l``, all scored in one go;
    the branch floor and the pending penalty (``pending_radius``) count earlier points of
    the batch, but the mixtures are not refitted for them: a batch of 1,000 costs about
    one fit and 1,000 scorings, not 1,000 fits.
    """
    opts = TPEOptions.of(options)
    model = _model(space)
    fits: dict[tuple[str, ...], _GroupFit] = {}
    points = []
    # "finished": the model waits for n_startup_jobs results (as optuna's n_startup_trials does), so trials
    # in flight at the start are random draws, not refinements of the first one or two results.
    started = int(np.isin(history.state, _FINISHED).sum()) if opts.startup == "finished" else len(history)
    independent = _independent_share(history, opts, n)
    # a fill covers a share of the space that falls geometrically with d, so its worth per evaluation falls too:
    # explore / d keeps one-dimensional gaps filled without spending high-dimensional budgets on far corners
    fill_share = opts.gap_fill / max(1, len(model.dims))
    for i in range(n):
        if started + (i if opts.startup == "all" else 0) < opts.n_startup_jobs:
            points.append(space.sample(rng))
        else:
            joint = opts.multivariate and not (independent > 0 and rng.random() < independent)
            fill = fill_share > 0 and rng.random() < fill_share
            points.append(_one_point(space, model, fits, history, rng, opts, n - i, joint, fill))
    return points


def _independent_share(history: History, opts: TPEOptions, n: int) -> float:
    """The share of suggestions that draw each parameter on its own: r / (r + n_below), r trials in flight.

    Joint kernels propose points near one of the n_below good trials; once about as many
    trials are running as there are good ones, those neighbourhoods are already being
    evaluated, and drawing each parameter from a different good trial (univariate TPE)
    proposes new combinations instead. A sequential suggestion (r = 0) stays joint.
    """
    if not (opts.multivariate and opts.in_flight_independent):
        return 0.0
    in_flight = int((history.state == TrialState.RUNNING).sum()) + n - 1
    if in_flight == 0:
        return 0.0
    good = n_below(max(1, int((~np.isnan(history.loss)).sum())), opts.gamma, opts.split, opts.max_below)
    return in_flight / (in_flight + good)


def _one_point(
    space: CompiledSpace,
    model: _SpaceModel,
    fits: dict[tuple[str, ...], _GroupFit],
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
                fit = fits[labels] = _GroupFit(model, labels, history, rng, opts, remaining - 1)
            chosen.update(fit.choose(rng, remaining, fill))
        return chosen[param.label]

    return space.walk(pick)


suggest.many = suggest_many  # type: ignore[attr-defined]  # the batch form Tuner.ask_many uses


class _GroupFit:
    """One group's below and above mixtures, fitted once, and the points pending in it.

    `choose` draws candidates from the below mixture ``l`` and returns the one maximising
    ``l(x) / g(x)``, times a local penalty around pending points (running trials and
    earlier picks of the same batch) when ``pending_radius`` is set; or, for a
    gap-filling pick, the prior draw farthest from every trial and earlier pick.
    """

    def __init__(
        self,
        model: _SpaceModel,
        labels: tuple[str, ...],
        history: History,
        rng: np.random.Generator,
        opts: TPEOptions,
        batch_rest: int = 0,
    ):
        self.model, self.opts = model, opts
        self.dims = [model.dims[label] for label in labels]
        self.structural = any(label in model.structural for label in labels)
        columns = np.stack([history.values(label) for label in labels], axis=1)
        active = ~np.isnan(columns).any(axis=1)
        loss = history.loss[active]
        # a group with no finished (or ranked pruned) trial draws from its prior
        last_step, last_value = history.last_step[active], history.last_value[active]
        state = history.state[active]
        self.empty = not (~np.isnan(loss) | ((state == TrialState.PRUNED) & (last_step >= 0))).any()
        self.observations = np.stack([d.encode(columns[active, j]) for j, d in enumerate(self.dims)], axis=1)
        self.pending = self.observations[state == TrialState.RUNNING]
        self.scored: tuple[np.ndarray, np.ndarray, np.ndarray] = (np.empty(0), np.empty(0), np.empty(0))
        self.next_set = 0
        self.picks: list[np.ndarray] = []  # this batch's points, which gap-filling picks keep away from
        if self.empty:
            return
        best_first, above = _split(loss, state, opts, last_step, last_value)
        below = np.sort(best_first)  # time order
        weights = _below_weights(below, best_first, opts)
        self.rotation = (
            _Rotation.of(self.dims, self.observations, loss, len(below)) if opts.kernel == "rotated" else None
        )
        model_dims, seen = self.dims, self.observations
        if self.rotation is not None:
            model_dims, seen = self.rotation.model_dims(self.dims), self.rotation.forward(self.observations)
        in_flight = len(self.pending) + batch_rest
        shrink = opts.below_shrink + (opts.in_flight_shrink - opts.below_shrink) * in_flight / (in_flight + len(below))
        if opts.pruned_shrink is not None:
            shrink += (opts.pruned_shrink - shrink) * _pruned_share(loss, state, last_step)
        self.below_mix = _mixture(model_dims, seen, below, opts, weights=weights, shrink=shrink)
        liar = np.where(state[above] == TrialState.RUNNING, float(opts.liar), 1.0)
        self.above_mix = _mixture(model_dims, seen, above, opts, rng, liar, shrink=opts.above_shrink)
        self.radius = _penalty_radius(self.below_mix, opts.pending_radius)

    def choose(self, rng: np.random.Generator, remaining: int = 1, fill: bool = False) -> dict[str, Any]:
        """Pick this group's values for one point (`fill`: a gap-filling pick), and count it as pending."""
        if self.empty:  # no finished trial where the group is active: a prior draw
            point = {d.param.label: to_python(d.param.sample(rng)) for d in self.dims}
        else:
            point = self._fill_candidate(rng) if fill else self._best_candidate(rng, remaining)
            if self.opts.branch_floor > 0:
                _apply_branch_floor(self.model, self.dims, self.observations, point, self.opts.branch_floor)
        row = np.array([d.encode(np.array([point[d.param.label]], dtype=float))[0] for d in self.dims])
        if self.opts.gap_fill > 0:
            self.picks.append(row)
        if self.structural:  # the branch floor counts this batch's picks too
            self.observations = np.vstack([self.observations, row])
        if self.opts.pending_radius > 0:
            self.pending = np.vstack([self.pending, row])
        return point

    def _best_candidate(self, rng: np.random.Generator, remaining: int) -> dict[str, Any]:
        """The best of this point's `n_EI_candidates`, scored with those of later points in one go."""
        if self.next_set == len(self.scored[2]):
            self.scored = self._score_sets(rng, min(remaining, 64))
            self.next_set = 0
        values, u, score = (part[self.next_set] for part in self.scored)
        self.next_set += 1
        if self.opts.pending_radius > 0 and len(self.pending):
            rotation = self.rotation
            pending = self.pending if rotation is None else rotation.forward(self.pending)
            score = score + _log_penalty(u, pending, self.radius, self.below_mix.dims)
        best = int(np.argmax(np.where(np.isnan(score), -np.inf, score)))  # -inf - -inf is no winner
        return {d.param.label: to_python(values[j][best]) for j, d in enumerate(self.dims)}

    def _fill_candidate(self, rng: np.random.Generator) -> dict[str, Any]:
        """A gap-filling pick: the prior draw, of n_EI_candidates, farthest from every trial.

        Model-free on purpose: scoring the draws by l / g (or by prior / g) steers them
        away from regions whose trials look bad, which is where a narrow optimum missed
        by the startup hides (hyperopt's distractor: 33/40 seeds either way, against
        40/40 for the farthest draw). Running trials and this batch's earlier picks
        count as seen, so parallel fills spread out.
        """
        dims, c = self.dims, self.opts.n_EI_candidates
        values = [np.asarray(d.param.sample(rng, size=c)) for d in dims]
        u = np.stack([d.encode(v) for d, v in zip(dims, values)], axis=1)
        seen = np.vstack([self.observations, *self.picks]) if self.picks else self.observations
        best = farthest(u, seen, np.array([d.categorical for d in dims]))
        return {d.param.label: to_python(values[j][best]) for j, d in enumerate(dims)}

    def _score_sets(self, rng: np.random.Generator, sets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`sets` sets of candidates drawn from l and scored by log l - log g, as (sets, C, ...) arrays."""
        dims, rotation, c = self.dims, self.rotation, self.opts.n_EI_candidates
        candidates = self.below_mix.sample(rng, sets * c)
        if rotation is not None:
            candidates = rotation.backward(candidates)
        values = [d.decode(candidates[:, j]) for j, d in enumerate(dims)]
        u, lo, hi = _score_inputs(dims, values)
        if rotation is not None:
            u = rotation.forward(u)
        with np.errstate(invalid="ignore"):
            score = self.below_mix.log_pdf(u, lo, hi) - self.above_mix.log_pdf(u, lo, hi)
        by_set = np.stack([np.asarray(v, dtype=object) for v in values], axis=1).reshape(sets, c, len(dims))
        return by_set.transpose(0, 2, 1), u.reshape(sets, c, len(dims)), score.reshape(sets, c)


class _Rotation:
    """Principal axes of the below trials on a group's continuous bounded dimensions (``kernel="rotated"``).

    Product kernels along the coordinate axes cannot follow a valley that runs
    diagonally (correlated or ill-conditioned parameters); the same kernels along the
    principal axes of the good trials can. Both densities use the same axes, so their
    ratio needs no Jacobian; candidates are mapped back and clipped into the box.
    """

    def __init__(self, cols: list[int], axes: np.ndarray):
        self.cols, self.axes = cols, axes

    @staticmethod
    def of(dims: list[Dim], observations: np.ndarray, loss: np.ndarray, n_below: int) -> _Rotation | None:
        """Axes of the best max(n_below, 2 d) trials (d rotated dimensions; fewer points cannot span them)."""
        cols = [j for j, d in enumerate(dims) if not d.categorical and not d.quantized and d.bounded]
        ok = np.flatnonzero(~np.isnan(loss))
        m = max(n_below, 2 * len(cols))
        if len(cols) < 2 or len(ok) < m:
            return None
        best = ok[np.argsort(loss[ok], kind="stable")[:m]]
        cov = np.cov(observations[best][:, cols], rowvar=False)
        return _Rotation(cols, np.linalg.eigh(cov)[1])

    def forward(self, u: np.ndarray) -> np.ndarray:
        y = np.array(u, dtype=float)
        y[:, self.cols] = (u[:, self.cols] - 0.5) @ self.axes
        return y

    def backward(self, y: np.ndarray) -> np.ndarray:
        u = np.array(y, dtype=float)
        u[:, self.cols] = np.clip(y[:, self.cols] @ self.axes.T + 0.5, 0.0, 1.0)
        return u

    def model_dims(self, dims: list[Dim]) -> list[Dim]:
        """The rotated axes as unbounded dimensions, with a broad prior centred on the box."""
        out = list(dims)
        for j in self.cols:
            out[j] = Dim(dims[j].param, False, False, False, 0.0, 1.0, 0.0, 0.5)
        return out


def farthest(u: np.ndarray, seen: np.ndarray, categorical: np.ndarray) -> int:
    """The row of `u` farthest from its nearest row of `seen` (best-candidate sampling, Mitchell 1991).

    Squared distance in u (a bounded dimension spans 1); another option of a
    categorical counts as 1.
    """
    if not len(seen):
        return 0
    diff = u[:, None, :] - seen[None, :, :]
    d2 = np.where(categorical, (diff != 0).astype(float), diff**2)
    return int(np.argmax(d2.sum(axis=2).min(axis=1)))


def _below_weights(below: np.ndarray, best_first: np.ndarray, opts: TPEOptions) -> np.ndarray | None:
    """Weights of the below kernels (in `below`'s order): equal, or by rank (the best weighs most)."""
    if opts.below_weights == "uniform" or len(below) < 2:
        return None
    rank = np.empty(len(below))
    rank[np.searchsorted(below, best_first)] = np.arange(len(below))  # below is sorted: find each one's slot
    return (len(below) - rank) / len(below)


def _penalty_radius(below_mix: Mixture, factor: float) -> np.ndarray:
    """Per dimension: how close to a pending point counts as the same point (in u).

    `factor` times the median bandwidth of the below kernels: the scale at which the
    model tells points apart, so a new point inside it would add little information.
    """
    radius = np.full(len(below_mix.dims), np.inf)
    if below_mix.numeric:
        sigma = below_mix.sigma[:-1] if below_mix.n_kernels > 1 else below_mix.sigma
        radius[below_mix.numeric] = factor * np.median(sigma, axis=0)
    return radius


def _log_penalty(u: np.ndarray, pending: np.ndarray, radius: np.ndarray, dims: list[Dim]) -> np.ndarray:
    """sum over pending p of log(1 - exp(-|u - p|^2 / 2)) in radius units; another option is far."""
    z2 = np.zeros((len(u), len(pending)))
    for j, d in enumerate(dims):
        if d.categorical:
            z2 += np.where(u[:, j, None] == pending[None, :, j], 0.0, np.inf)
        else:
            z2 += ((u[:, j, None] - pending[None, :, j]) / radius[j]) ** 2
    with np.errstate(divide="ignore"):
        return np.log(-np.expm1(-0.5 * z2)).sum(axis=1)


def _split(
    loss: np.ndarray, state: np.ndarray, opts: TPEOptions, last_step: np.ndarray, last_value: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the below (best first) and above (time order) sets among the active trials.

    Finished trials are ranked by loss; pruned ones follow, the furthest first and then
    by their last reported value (as optuna ranks them), so while none has finished the
    most promising pruned ones are "below". Once one has, ``pruned_split="finished"``
    sizes the below set by the finished trials alone: a pruner stops most trials, and
    counting them would put every finished trial in l, mediocre ones included.
    """
    ok_idx = np.flatnonzero(~np.isnan(loss))
    finished = ok_idx[np.argsort(loss[ok_idx], kind="stable")]
    pruned = np.flatnonzero((state == TrialState.PRUNED) & (last_step >= 0))
    ranked = np.concatenate([finished, pruned[np.lexsort((last_value[pruned], -last_step[pruned]))]])
    split_over = len(finished) if opts.pruned_split == "finished" and len(finished) else len(ranked)
    k = n_below(split_over, opts.gamma, opts.split, opts.max_below)
    below = ranked[:k]
    above = ranked[k:]
    bad = _FINISHED_BADLY + ((TrialState.RUNNING,) if opts.liar else ())
    # failed and unranked pruned trials (and, with the liar, running ones) count as bad outcomes
    rest = np.flatnonzero(np.isnan(loss) & np.isin(state, bad))
    return below, np.sort(np.concatenate([above, np.setdiff1d(rest, ranked, assume_unique=True)]))


def _pruned_share(loss: np.ndarray, state: np.ndarray, last_step: np.ndarray) -> float:
    """The share of the ranked trials (finished with a loss, or pruned after a report) that were pruned.

    Their rank comes from where their curve stood when they stopped, not from a final
    loss, so the more of them there are, the less the ranking says at the scale of
    narrow below kernels (a slow starter that would have ended best ranks as bad).
    """
    pruned = int(((state == TrialState.PRUNED) & (last_step >= 0)).sum())
    ranked = pruned + int((~np.isnan(loss)).sum())
    return pruned / ranked if ranked else 0.0


def _mixture(
    dims: list[Dim],
    observations: np.ndarray,
    idx: np.ndarray,
    opts: TPEOptions,
    rng: np.random.Generator | None = None,
    scale: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    shrink: float = 1.0,
) -> Mixture:
    """The Parzen mixture of the trials `idx` (weights: `weights`, else by age, times `scale` if given)."""
    if weights is None:
        weights = linear_forgetting_weights(len(idx), opts.linear_forgetting)
    if scale is not None:
        weights = weights * scale
    if rng is not None and len(idx) > opts.max_above:
        idx, weights = _thin(idx, weights, opts.max_above, opts.linear_forgetting, rng)
    return Mixture(dims, observations[idx], weights, opts.prior_weight, opts.bandwidth, opts.magic_clip, shrink)


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
