"""A prototype of TPE for several objectives and constraints, on parzen's TPE as it is.

TPE reads one thing from the losses: which finished trials are good (its split takes
the best ``n_below`` by loss). `_pareto.goodness_order` orders trials with several
losses and constraints best first, so this module gives TPE a `History` whose loss
column is each trial's position in that order (`ranked_history`) and calls
`tpe.suggest_many` unchanged: the mixtures, the candidates, the liar for running
trials, the in-flight widening and gap filling all work as for one objective. When the
core carries several losses, TPE's ``_split`` calls `goodness_order` directly and this
wrapper goes away.

Two variants need more than an order, and go through a subclass of TPE's group fit
(``_MOGroupFit``) in a copy of TPE's suggestion loop:

* ``weights="hypervolume"``: the below kernels weigh by their exclusive hypervolume
  contribution within the below set (MOTPE, Ozaki et al. 2020), not equally;
* ``constraint_model="ctpe"``: c-TPE (Watanabe & Hutter 2023). Each constraint gets
  its own pair of densities (trials that satisfied it against those that did not), the
  objectives' below set is the best by the objectives alone down to ``n_below``
  feasible trials, and a candidate's score adds, per model, the relative density ratio
  ``-log(q + (1 - q) g / l)`` (q: the model's below share). Candidates are drawn from
  every model's ``l``. The default, ``"order"``, is optuna's feasible-first split.

Losses are passed as an ``(n, k)`` array aligned with the history's rows, NaN rows for
trials without a result (running, failed); constraints likewise ``(n, c)``, feasible
when every value is <= 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from parzen.algorithms import _pareto, tpe
from parzen.exceptions import InvalidArgument
from parzen.history import History, TrialState
from parzen.space import CompiledSpace

WEIGHTS = ("uniform", "rank", "hypervolume")
CONSTRAINT_MODELS = ("order", "ctpe")
_EPS = 1e-12


@dataclass(frozen=True)
class MOOptions:
    """The multi-objective prototype's own options (TPE's options pass through to `tpe.suggest_many`)."""

    tie_break: str = "hypervolume"  # within the front the cut falls in: see _pareto.goodness_order
    weights: str = "uniform"  # below kernels: "uniform", "rank" (TPE's below_weights="rank"), "hypervolume"
    constraint_model: str = "order"  # "order": feasible first (optuna); "ctpe": a density pair per constraint

    def check(self) -> None:
        if self.tie_break not in _pareto.TIE_BREAKS:
            raise InvalidArgument(f"tie_break must be one of {_pareto.TIE_BREAKS}, got {self.tie_break!r}")
        if self.weights not in WEIGHTS:
            raise InvalidArgument(f"weights must be one of {WEIGHTS}, got {self.weights!r}")
        if self.constraint_model not in CONSTRAINT_MODELS:
            raise InvalidArgument(f"constraint_model must be one of {CONSTRAINT_MODELS}, got {self.constraint_model!r}")

    @property
    def hooked(self) -> bool:
        """True when the variant needs more than an order (the subclassed group fit)."""
        return self.weights == "hypervolume" or self.constraint_model == "ctpe"


def _aligned(history: History, losses: Any, constraints: Any) -> tuple[np.ndarray, np.ndarray | None]:
    """Losses (n, k) and constraints (n, c) as float arrays with one row per trial of `history`."""
    loss = np.asarray(losses, dtype=float)
    if loss.ndim != 2 or len(loss) != len(history):
        raise InvalidArgument(f"losses must have shape (len(history)={len(history)}, k), got {loss.shape}")
    if constraints is None:
        return loss, None
    cons = np.asarray(constraints, dtype=float)
    if cons.ndim != 2 or len(cons) != len(history):
        raise InvalidArgument(f"constraints must have shape (len(history)={len(history)}, c), got {cons.shape}")
    return loss, cons


def _ok_rows(history: History, loss: np.ndarray) -> np.ndarray:
    """Rows with a result to rank: finished (DONE) with every loss a number."""
    return np.flatnonzero((history.state == TrialState.DONE) & ~np.isnan(loss).any(axis=1))


def ranked_history(
    history: History,
    losses: Any,
    constraints: Any = None,
    n_below: int | None = None,
    tie_break: str = "hypervolume",
) -> History:
    """`history` with its loss column replaced by each ranked trial's position in the goodness order.

    Running, failed and cancelled trials keep NaN (TPE counts them as it always does);
    the states, parameters and intermediate values are those of `history`.
    """
    loss, cons = _aligned(history, losses, constraints)
    ok = _ok_rows(history, loss)
    position = np.full(len(history), np.nan)
    if len(ok):
        subset = None if cons is None else cons[ok]
        order = _pareto.goodness_order(loss[ok], subset, n_below, tie_break)  # type: ignore[arg-type]
        position[ok[order]] = np.arange(len(order), dtype=float)
    # the same column arrays (read-only views), not copies
    return History(history._columns, position, history.state, history.rows, history.last_step, history.last_value)


def suggest_many(
    space: CompiledSpace,
    history: History,
    rng: np.random.Generator,
    n: int,
    losses: Any,
    constraints: Any = None,
    *,
    tie_break: str = "hypervolume",
    weights: str = "uniform",
    constraint_model: str = "order",
    **options: Any,
) -> list[dict[str, Any]]:
    """`n` points for a run with several objectives (and constraints), from one TPE fit.

    `options` are `tpe.suggest` options (gamma, max_below, liar, ...).
    """
    mo = MOOptions(tie_break, weights, constraint_model)
    mo.check()
    opts = tpe.TPEOptions.of(dict(options, below_weights="rank") if weights == "rank" else options)
    loss, cons = _aligned(history, losses, constraints)
    n_ok = len(_ok_rows(history, loss))
    cut = tpe.n_below(n_ok, opts.gamma, opts.split, opts.max_below) if n_ok else 0
    if mo.constraint_model == "ctpe" and cons is not None:  # the objectives alone, tie-broken where c-TPE cuts
        ranked = ranked_history(history, loss, None, _ctpe_cut(history, loss, cons, cut), tie_break)
    else:
        ranked = ranked_history(history, loss, cons, cut, tie_break)
    if not mo.hooked or (mo.weights != "hypervolume" and cons is None):
        return tpe.suggest_many(space, ranked, rng, n, **_as_kwargs(opts))
    context = _Context(loss, cons, mo, cut)
    return _suggest_hooked(space, ranked, rng, n, opts, context)


def suggest(
    space: CompiledSpace, history: History, rng: np.random.Generator, losses: Any, constraints: Any = None, **kw: Any
) -> dict[str, Any]:
    """One point for a run with several objectives (see `suggest_many`)."""
    return suggest_many(space, history, rng, 1, losses, constraints, **kw)[0]


def _ctpe_cut(history: History, loss: np.ndarray, cons: np.ndarray, cut: int) -> int:
    """Where c-TPE's below set ends in the objectives' order: after `cut` feasible trials (fronts decide it)."""
    ok = _ok_rows(history, loss)
    if not len(ok):
        return 0
    order = _pareto.goodness_order(loss[ok], None, None, "none")
    feasible = (cons[ok[order]] <= 0).all(axis=1)
    if feasible.sum() < cut:
        return len(order)
    return int(np.searchsorted(np.cumsum(feasible), cut)) + 1


def _as_kwargs(opts: tpe.TPEOptions) -> dict[str, Any]:
    return {name: getattr(opts, name) for name in tpe.DEFAULTS}


# --- the variants that need a hook: weights by hypervolume, c-TPE ----------------------------------------------


@dataclass
class _Context:
    """What the subclassed group fit needs beyond the ranked history, aligned with the history's rows."""

    losses: np.ndarray
    constraints: np.ndarray | None
    mo: MOOptions
    cut: int  # TPE's n_below over every ranked trial


def _suggest_hooked(
    space: CompiledSpace, history: History, rng: np.random.Generator, n: int, opts: tpe.TPEOptions, ctx: _Context
) -> list[dict[str, Any]]:
    """`tpe.suggest_many`'s loop, with `_MOGroupFit` in place of TPE's group fit (same random draws)."""
    model = tpe._model(space)
    fits: dict[tuple[str, ...], tpe._GroupFit] = {}
    points = []
    started = int(np.isin(history.state, tpe._FINISHED).sum()) if opts.startup == "finished" else len(history)
    independent = tpe._independent_share(history, opts, n)
    fill_share = opts.gap_fill / max(1, len(model.dims))
    for i in range(n):
        if started + (i if opts.startup == "all" else 0) < opts.n_startup_jobs:
            points.append(space.sample(rng))
            continue
        joint = opts.multivariate and not (independent > 0 and rng.random() < independent)
        fill = fill_share > 0 and rng.random() < fill_share
        points.append(_one_point(space, model, fits, history, rng, opts, n - i, joint, fill, ctx))
    return points


def _one_point(
    space: CompiledSpace,
    model: Any,
    fits: dict[tuple[str, ...], tpe._GroupFit],
    history: History,
    rng: np.random.Generator,
    opts: tpe.TPEOptions,
    remaining: int,
    joint: bool,
    fill: bool,
    ctx: _Context,
) -> dict[str, Any]:
    """`tpe._one_point` with `_MOGroupFit`: walk the space, each group chosen from its (cached) fit."""
    chosen: dict[str, Any] = {}

    def pick(param: Any) -> Any:
        if param.label not in chosen:
            labels = model.group_of[param.label] if joint else (param.label,)
            fit = fits.get(labels)
            if fit is None:
                fit = fits[labels] = _MOGroupFit(model, labels, history, rng, opts, remaining - 1, ctx)
            chosen.update(fit.choose(rng, remaining, fill))
        return chosen[param.label]

    return space.walk(pick)


class _MOGroupFit(tpe._GroupFit):
    """TPE's group fit with the below kernels weighted by hypervolume, or c-TPE's constraint densities."""

    def __init__(
        self,
        model: Any,
        labels: tuple[str, ...],
        history: History,
        rng: np.random.Generator,
        opts: tpe.TPEOptions,
        batch_rest: int,
        ctx: _Context,
    ):
        super().__init__(model, labels, history, rng, opts, batch_rest)
        self.constraint_models: list[tuple[Any, Any, float]] = []
        self.objective_share = 1.0
        if self.empty:
            return
        if opts.kernel != "product" or opts.pruned_shrink is not None:
            raise InvalidArgument("the multi-objective prototype's hooks need kernel='product' and no pruned_shrink")
        columns = np.stack([history.values(label) for label in labels], axis=1)
        active = np.flatnonzero(~np.isnan(columns).any(axis=1))
        position, state = history.loss[active], history.state[active]
        best_first, above = tpe._split(position, state, opts, history.last_step[active], history.last_value[active])
        below = np.sort(best_first)
        if ctx.mo.constraint_model == "ctpe" and ctx.constraints is not None:
            ranked = np.flatnonzero(~np.isnan(position))
            ranked = ranked[np.argsort(position[ranked], kind="stable")]  # best first by the objectives alone
            below = _ctpe_below(ranked, ctx.constraints[active[ranked]] <= 0, len(best_first))
            above = np.setdiff1d(np.concatenate([best_first, above]), below)
        in_flight = len(self.pending) + batch_rest
        shrink = opts.below_shrink + (opts.in_flight_shrink - opts.below_shrink) * in_flight / (in_flight + len(below))
        weights = _hypervolume_weights(ctx.losses[active[below]]) if ctx.mo.weights == "hypervolume" else None
        self.below_mix = tpe._mixture(self.dims, self.observations, below, opts, weights=weights, shrink=shrink)
        liar = np.where(state[above] == TrialState.RUNNING, float(opts.liar), 1.0)
        self.above_mix = tpe._mixture(self.dims, self.observations, above, opts, rng, liar, shrink=opts.above_shrink)
        if ctx.mo.constraint_model == "ctpe" and ctx.constraints is not None:
            self.objective_share = len(below) / max(1, len(ranked))
            self._fit_constraints(ranked, active, ctx, rng)

    def _fit_constraints(self, ranked: np.ndarray, active: np.ndarray, ctx: _Context, rng: np.random.Generator) -> None:
        """One (l, g, q) per constraint: trials that satisfied it, those that did not, the satisfied share."""
        assert ctx.constraints is not None
        values = ctx.constraints[active[ranked]]
        for j in range(values.shape[1]):
            ok = values[:, j] <= 0
            if ok.all():
                continue  # nothing violates it yet: its ratio is the same everywhere
            good, bad = np.sort(ranked[ok]), np.sort(ranked[~ok])
            below_mix = tpe._mixture(self.dims, self.observations, good, self.opts, shrink=self.opts.below_shrink)
            above_mix = tpe._mixture(self.dims, self.observations, bad, self.opts, rng)
            self.constraint_models.append((below_mix, above_mix, float(ok.mean())))

    def _score_sets(self, rng: np.random.Generator, sets: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """c-TPE: candidates from every model's l, scored by the sum of relative density ratios."""
        if not self.constraint_models:
            return super()._score_sets(rng, sets)
        dims, c = self.dims, self.opts.n_EI_candidates
        models = [(self.below_mix, self.above_mix, self.objective_share), *self.constraint_models]
        draws = [below.sample(rng, sets * c).reshape(sets, c, len(dims)) for below, _, _ in models]
        candidates = np.concatenate(draws, axis=1).reshape(-1, len(dims))
        per_set = c * len(models)
        values = [d.decode(candidates[:, j]) for j, d in enumerate(dims)]
        u, lo, hi = tpe._score_inputs(dims, values)
        score = np.zeros(len(u))
        with np.errstate(invalid="ignore", divide="ignore"):
            for below, above, share in models:
                log_ratio = below.log_pdf(u, lo, hi) - above.log_pdf(u, lo, hi)
                score -= np.logaddexp(np.log(share + _EPS), np.log(1.0 - share + _EPS) - log_ratio)
        by_set = np.stack([np.asarray(v, dtype=object) for v in values], axis=1).reshape(sets, per_set, len(dims))
        return by_set.transpose(0, 2, 1), u.reshape(sets, per_set, len(dims)), score.reshape(sets, per_set)


def _ctpe_below(ranked: np.ndarray, feasible: np.ndarray, cut: int) -> np.ndarray:
    """c-TPE's below set (time order): down the objectives' order until `cut` feasible trials are in.

    Every ranked trial when fewer than `cut` are feasible (the objectives' ratio is then flat).
    """
    if feasible.sum() < cut:
        return np.sort(ranked)
    stop = int(np.searchsorted(np.cumsum(feasible), cut)) + 1
    return np.sort(ranked[:stop])


def _hypervolume_weights(losses: np.ndarray) -> np.ndarray | None:
    """Below-kernel weights proportional to each below trial's exclusive hypervolume contribution (MOTPE 2020).

    The reference lies just beyond the below set's worst point (as in the split's tie
    break); a trial that another below trial dominates keeps a tiny weight.
    """
    if len(losses) < 2 or np.isnan(losses).any():
        return None
    f = _pareto._finite_stand_in(losses)
    low, high = f.min(axis=0), f.max(axis=0)
    spread = high - low
    ref = high + np.where(spread > 0, _pareto.REFERENCE_MARGIN * spread, 1.0)
    contribution = _pareto.hypervolume_contributions(f, ref)
    if contribution.max() <= 0:
        return None
    return np.clip(contribution / contribution.max(), _EPS, 1.0)
