"""Parameter importance: a functional ANOVA of a random forest fitted to the trials.

Method (Hutter, Hoos & Leyton-Brown, "An Efficient Approach for Assessing
Hyperparameter Importance", ICML 2014): fit a random forest to (parameters -> loss) of
the ok trials; each tree is a piecewise-constant function whose leaves are boxes that
partition the space. Under a product measure over the parameters, the variance of a
tree's prediction splits into the variance of the one-parameter marginals (main
effects) plus interactions; a parameter's importance is the share of the variance its
main effect explains, averaged over trees (the spread over trees is reported too).

The measure is the search space's prior, which is what "averaged over the space"
means for a hyperopt space: uniform in log space for ``loguniform``, the option
probabilities for ``pchoice``, the normal for ``normal``. Every parameter is encoded
on its prior's CDF scale, so continuous parameters are uniform on [0, 1] and a box's
mass is a product of interval lengths.

A conditional parameter is inactive in some trials. It is never filled with a fake
zero or a sentinel: a sentinel would let the forest learn "which branch was taken"
from the parameter instead of from the choice that took it, crediting the branch's
effect to the wrong name. Instead an inactive value is a random draw from the prior
(seeded), which carries no information: the branch's effect goes to its choice, and the
parameter's own main effect is its effect averaged over the whole space (where it is
inactive it has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtr, ndtri

from parzen.view import ParamInfo, Row, RunView

MIN_TRIALS = 4  # fewer ok trials than this say nothing about importance
# The forest is fitted on at most this many ok trials (a uniform random sample beyond): the
# fit grows as n log n and the leaves as n, while the importances stop changing long before
# (benchmarks/importance_cap.py measures the error against the full fit on several problems).
MAX_FIT_TRIALS = 5000


@dataclass(frozen=True)
class Importance:
    """Share of the loss variance that `label`'s main effect explains (mean and std over trees).

    Attributes:
        label: the parameter.
        fraction: its main effect's share of the loss variance, averaged over the forest's trees.
        std: the standard deviation of that share over the trees.
    """

    label: str
    fraction: float
    std: float


class _Axis:
    """One parameter on its prior-CDF scale: how values are encoded and how mass is spread.

    The prior is resolved once: options with their odds, a bounded range of the sampling
    scale (log space for log kinds), a normal (mu, sigma), or, for trials without a space
    description, uniform over the values that were tried.
    """

    def __init__(self, param: ParamInfo, values: list):
        self.param = param
        self.atoms: np.ndarray | None = None
        self.probs = np.ones(1)
        self.normal: tuple[float, float] | None = None
        self.lo, self.hi, self.log = 0.0, 1.0, param.log
        if param.is_choice:
            n = len(param.choices)
            self.atoms = np.arange(n, dtype=float)
            self.probs = np.asarray(param.probs if param.probs else [1.0 / n] * n, dtype=float)
            self.probs = self.probs / self.probs.sum()
        elif param.kind == "randint" and param.low is not None and param.high is not None:
            self.lo, self.hi = param.low - 0.5, param.high - 0.5  # each integer an equal cell
        elif param.low is not None and param.high is not None and param.high > param.low:
            self.lo, self.hi = float(param.low), float(param.high)
        elif param.mu is not None and param.sigma:
            self.normal = (float(param.mu), float(param.sigma))
        else:
            tried = [float(v) for v in values if v is not None]
            self.lo, self.hi, self.log = (min(tried), max(tried), False) if tried else (0.0, 1.0, False)

    def encode(self, values: list, rng: np.random.Generator) -> np.ndarray:
        """Values (raw: a choice's index) -> coordinates; inactive -> a draw from the prior."""
        out = self.draw(rng, len(values))
        active = np.array([v is not None for v in values], dtype=bool)
        if active.any():
            out[active] = self._encode_active(np.asarray([v for v in values if v is not None], dtype=float))
        return out

    def _encode_active(self, x: np.ndarray) -> np.ndarray:
        if self.atoms is not None:
            return x
        internal = _log(x) if self.log else x
        if self.normal is not None:
            mu, sigma = self.normal
            return ndtr((internal - mu) / sigma)
        span = self.hi - self.lo
        return np.clip((internal - self.lo) / span, 0, 1) if span > 0 else np.full(len(x), 0.5)

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """`n` coordinates drawn from the prior."""
        if self.atoms is not None:
            return rng.choice(self.atoms, size=n, p=self.probs)
        return rng.uniform(0.0, 1.0, size=n)

    def cdf(self, x: np.ndarray) -> np.ndarray:
        """Mass of (-inf, x] under the prior (right-continuous)."""
        x = np.asarray(x, dtype=float)
        if self.atoms is not None:
            return (x[..., None] >= self.atoms).astype(float) @ self.probs
        return np.clip(x, 0.0, 1.0)

    def grid(self, n: int) -> np.ndarray:
        """Coordinates to draw a marginal at: each option, or `n` points across the range."""
        if self.atoms is not None:
            return self.atoms.copy()
        return (np.arange(n) + 0.5) / n

    def decode(self, u: np.ndarray) -> np.ndarray:
        """Coordinates of `grid` back to values the user recognises (options -> indices)."""
        if self.atoms is not None:
            return u
        if self.normal is not None:
            mu, sigma = self.normal
            internal = mu + sigma * ndtri(np.clip(u, 1e-6, 1 - 1e-6))
        else:
            internal = self.lo + u * (self.hi - self.lo)
        return np.exp(internal) if self.log else internal


def _log(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):  # a quantised log value may be 0: -inf, clipped to the low end
        return np.log(np.maximum(x, 0.0))


@dataclass
class _Tree:
    """The leaves of one fitted tree: boxes (lo, hi] per feature, their values and masses."""

    lo: np.ndarray  # (leaves, features)
    hi: np.ndarray
    value: np.ndarray  # (leaves,)
    mass: np.ndarray  # (leaves, features): each leaf's interval mass on each axis
    bounds: list[np.ndarray]  # per feature: -inf, the split points used on it, +inf
    cell_mass: list[np.ndarray]  # per feature: mass of each cell (bounds[i], bounds[i + 1]]


def _leaves(tree: Any, n_features: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[set[float]]]:
    """The leaf boxes of a fitted sklearn tree (sklearn sends x <= threshold left).

    Walked one depth level at a time with array operations (a tree of 10,000 trials has
    about 12,000 nodes but only about 30 levels), not one Python step per node.
    """
    t = tree.tree_
    left_of, right_of, feature_of, threshold_of = t.children_left, t.children_right, t.feature, t.threshold
    los, his, leaf_ids = [], [], []
    nodes = np.array([0])
    lo, hi = np.full((1, n_features), -np.inf), np.full((1, n_features), np.inf)
    while len(nodes):
        leaf = left_of[nodes] == -1
        los.append(lo[leaf])
        his.append(hi[leaf])
        leaf_ids.append(nodes[leaf])
        nodes, lo, hi = nodes[~leaf], lo[~leaf], hi[~leaf]
        rows, f, thr = np.arange(len(nodes)), feature_of[nodes], threshold_of[nodes]
        left_hi, right_lo = hi.copy(), lo.copy()
        left_hi[rows, f] = np.minimum(hi[rows, f], thr)
        right_lo[rows, f] = np.maximum(lo[rows, f], thr)
        nodes = np.concatenate([left_of[nodes], right_of[nodes]])
        lo, hi = np.concatenate([lo, right_lo]), np.concatenate([left_hi, hi])
    ids = np.concatenate(leaf_ids)
    split = left_of != -1
    thresholds = [set(threshold_of[split & (feature_of == f)].astype(float).tolist()) for f in range(n_features)]
    return np.concatenate(los), np.concatenate(his), t.value[ids].reshape(len(ids), -1)[:, 0], thresholds


class Forest:
    """A random forest of loss over parameters, with fANOVA marginals and importances."""

    def __init__(
        self,
        view: RunView,
        labels: list[str] | None = None,
        n_trees: int = 64,
        seed: int = 0,
        max_trials: int | None = MAX_FIT_TRIALS,
    ):
        rows = view.ok
        self.labels = [k for k in (labels or view.params) if any(k in r.raw for r in rows)]
        if len(rows) < MIN_TRIALS or not self.labels:
            raise ValueError(
                f"importance needs at least {MIN_TRIALS} ok trials with parameters; this run has {len(rows)}"
            )
        self.axes = {k: _Axis(view.params[k], [r.raw.get(k) for r in rows]) for k in self.labels}
        self.n_ok = len(rows)
        rng = np.random.default_rng(seed)
        if max_trials is not None and len(rows) > max_trials:  # a uniform sample: unbiased under the prior
            rows = [rows[i] for i in np.sort(rng.choice(len(rows), size=max_trials, replace=False))]
        self.n_fitted = len(rows)
        self._importances: list[Importance] | None = None
        X = self.encode(rows, rng)
        y = np.array([r.loss for r in rows])
        from sklearn.ensemble import RandomForestRegressor

        forest = RandomForestRegressor(n_estimators=n_trees, min_samples_leaf=1, random_state=seed, n_jobs=1)
        forest.fit(X, y)
        self.trees = [self._tree(est) for est in forest.estimators_]

    def encode(self, rows: list[Row], rng: np.random.Generator) -> np.ndarray:
        return np.column_stack([self.axes[k].encode([r.raw.get(k) for r in rows], rng) for k in self.labels])

    def _tree(self, estimator: Any) -> _Tree:
        lo, hi, value, thresholds = _leaves(estimator, len(self.labels))
        axes = [self.axes[k] for k in self.labels]
        mass = np.column_stack([axis.cdf(hi[:, j]) - axis.cdf(lo[:, j]) for j, axis in enumerate(axes)])
        bounds = [np.concatenate(([-np.inf], sorted(t), [np.inf])) for t in thresholds]
        cell_mass = [np.diff(axis.cdf(b)) for axis, b in zip(axes, bounds)]
        return _Tree(lo, hi, value, mass, bounds, cell_mass)

    @property
    def sampled(self) -> bool:
        """Whether the forest was fitted on a random sample of the ok trials (see `MAX_FIT_TRIALS`)."""
        return self.n_fitted < self.n_ok

    def importances(self) -> list[Importance]:
        """Every parameter's main-effect share of the variance, most important first (computed once)."""
        if self._importances is None:
            self._importances = self._compute_importances()
        return list(self._importances)

    def _compute_importances(self) -> list[Importance]:
        shares = np.array([_tree_shares(t) for t in self.trees])  # (trees, features)
        out = [Importance(k, float(shares[:, j].mean()), float(shares[:, j].std())) for j, k in enumerate(self.labels)]
        return sorted(out, key=lambda i: -i.fraction)

    def marginal(self, a: str, b: str, n: int = 40) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values of a, values of b, mean predicted loss on that grid averaged over everything else)."""
        ja, jb = self.labels.index(a), self.labels.index(b)
        ua, ub = self.axes[a].grid(n), self.axes[b].grid(n)
        z = np.mean([_pair_marginal(t, ja, ua, jb, ub) for t in self.trees], axis=0)
        return self.axes[a].decode(ua), self.axes[b].decode(ub), z


def _tree_shares(tree: _Tree) -> np.ndarray:
    """Main-effect variance of each feature divided by the tree's total variance."""
    weight = tree.mass.prod(axis=1)
    total_mass = weight.sum()
    if total_mass <= 0:
        return np.zeros(tree.mass.shape[1])
    mean = (weight * tree.value).sum() / total_mass
    variance = (weight * (tree.value - mean) ** 2).sum() / total_mass
    if variance <= 1e-300:
        return np.zeros(tree.mass.shape[1])
    return np.array([_main_effect(tree, j, mean) for j in range(tree.mass.shape[1])]) / variance


def _main_effect(tree: _Tree, j: int, mean: float) -> float:
    """Variance of the marginal prediction along feature j (piecewise constant between splits).

    The splits on j cut its axis into cells; a leaf covers a run of consecutive cells, so
    each cell's marginal (the leaves covering it, weighted by their mass on the other
    axes) is a difference array summed once: O(leaves + cells), not a cells x leaves matrix.
    """
    bounds = tree.bounds[j]
    n_cells = len(bounds) - 1
    others = np.delete(tree.mass, j, axis=1).prod(axis=1)
    first = np.searchsorted(bounds, tree.lo[:, j])  # a leaf's bounds on j are split points: exact indices
    stop = np.searchsorted(bounds, tree.hi[:, j])
    numerator = _run_sums(first, stop, others * tree.value, n_cells)
    denominator = _run_sums(first, stop, others, n_cells)
    axis_mass = tree.cell_mass[j]
    keep = (denominator > 1e-12 * max(float(denominator.max(initial=0.0)), 1e-300)) & (axis_mass > 0)
    marginal = numerator[keep] / denominator[keep]
    w = axis_mass[keep]
    return float((w * (marginal - mean) ** 2).sum() / w.sum()) if w.sum() > 0 else 0.0


def _run_sums(first: np.ndarray, stop: np.ndarray, weight: np.ndarray, n: int) -> np.ndarray:
    """For each cell c < n: the sum of `weight` over the runs [first, stop) that contain c."""
    delta = np.bincount(first, weights=weight, minlength=n + 1) - np.bincount(stop, weights=weight, minlength=n + 1)
    return np.cumsum(delta)[:n]


def _pair_marginal(tree: _Tree, ja: int, ua: np.ndarray, jb: int, ub: np.ndarray) -> np.ndarray:
    """Mean prediction at each (ua[i], ub[k]), other features averaged under the measure."""
    others = np.delete(tree.mass, [ja, jb], axis=1).prod(axis=1)
    cover_a = (tree.lo[:, ja][None, :] < ua[:, None]) & (ua[:, None] <= tree.hi[:, ja][None, :])
    cover_b = (tree.lo[:, jb][None, :] < ub[:, None]) & (ub[:, None] <= tree.hi[:, jb][None, :])
    numerator = (cover_a * (others * tree.value)) @ cover_b.T
    denominator = (cover_a * others) @ cover_b.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / np.maximum(denominator, 1e-300), np.nan).T
