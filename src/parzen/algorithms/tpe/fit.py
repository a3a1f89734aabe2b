"""One group's fit: its below and above Parzen mixtures, and the picks it makes from them.

Parameters active under the same choices form a group, modelled jointly (multivariate
TPE). A group is fitted once per suggestion (once per batch), from the trials where it is
active; candidates drawn from the below mixture ``l`` are scored by ``log l - log g`` and
the best is taken, or, for a gap-filling pick, the prior draw farthest from every trial.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from parzen.algorithms.tpe._parzen import Dim, Mixture
from parzen.algorithms.tpe.options import TPEOptions
from parzen.algorithms.tpe.split import linear_forgetting_weights, split
from parzen.space import Categorical, CompiledSpace, to_python
from parzen.trial import History, TrialState


class SpaceModel:
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


def space_model(space: CompiledSpace) -> SpaceModel:
    return space.algorithm_state(SpaceModel, lambda: SpaceModel(space))


class GroupFit:
    """One group's below and above mixtures, fitted once, and the points pending in it.

    `choose` draws candidates from the below mixture ``l`` and returns the one maximising
    ``l(x) / g(x)``; or, for a gap-filling pick, the prior draw farthest from every
    trial and earlier pick.
    """

    def __init__(
        self,
        model: SpaceModel,
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
        losses = None if history.losses is None else history.losses[active]
        constraints = None if history.constraints is None else history.constraints[active]
        best_first, above = split(loss, state, opts, last_step, last_value, losses, constraints)
        below = np.sort(best_first)  # time order
        in_flight = len(self.pending) + batch_rest
        shrink = opts.below_shrink + (opts.in_flight_shrink - opts.below_shrink) * in_flight / (in_flight + len(below))
        self.below_mix = _mixture(self.dims, self.observations, below, opts, shrink=shrink)
        liar = np.where(state[above] == TrialState.RUNNING, float(opts.liar), 1.0)
        self.above_mix = _mixture(self.dims, self.observations, above, opts, rng, liar)

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
        return point

    def _best_candidate(self, rng: np.random.Generator, remaining: int) -> dict[str, Any]:
        """The best of this point's `n_EI_candidates`, scored with those of later points in one go."""
        if self.next_set == len(self.scored[2]):
            self.scored = self._score_sets(rng, min(remaining, 64))
            self.next_set = 0
        values, score = self.scored[0][self.next_set], self.scored[2][self.next_set]
        self.next_set += 1
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
        dims, c = self.dims, self.opts.n_EI_candidates
        candidates = self.below_mix.sample(rng, sets * c)
        values = [d.decode(candidates[:, j]) for j, d in enumerate(dims)]
        u, lo, hi = _score_inputs(dims, values)
        with np.errstate(invalid="ignore"):
            score = self.below_mix.log_pdf(u, lo, hi) - self.above_mix.log_pdf(u, lo, hi)
        by_set = np.stack([np.asarray(v, dtype=object) for v in values], axis=1).reshape(sets, c, len(dims))
        return by_set.transpose(0, 2, 1), u.reshape(sets, c, len(dims)), score.reshape(sets, c)


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


def _mixture(
    dims: list[Dim],
    observations: np.ndarray,
    idx: np.ndarray,
    opts: TPEOptions,
    rng: np.random.Generator | None = None,
    scale: np.ndarray | None = None,
    shrink: float = 1.0,
) -> Mixture:
    """The Parzen mixture of the trials `idx`, weighted by age (times `scale` if given)."""
    weights = linear_forgetting_weights(len(idx), opts.linear_forgetting)
    if scale is not None:
        weights = weights * scale
    if rng is not None and len(idx) > opts.max_above:
        idx, weights = _thin(idx, weights, opts.max_above, opts.linear_forgetting, rng)
    return Mixture(dims, observations[idx], weights, opts.prior_weight, opts.magic_clip, shrink)


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
    model: SpaceModel, dims: list[Dim], observations: np.ndarray, point: dict[str, Any], floor: float
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
