"""Several objectives, all minimised: Pareto ranks, hypervolume, constraints, and one goodness order.

TPE needs only one thing from the losses: which finished trials are good. With one
objective that is the sort by loss. With several, and with constraints, this module
turns them into the same thing, a best-first order of the finished trials
(`goodness_order`), so TPE's split (the best ``n_below`` form ``l``) works unchanged:

* **feasible first** (Deb's constrained dominance): a trial is feasible when every
  constraint value is <= 0 (optuna's convention); feasible trials come before
  infeasible ones, which follow by their total violation (the sum of positive parts);
* **non-dominated fronts**: among feasible trials, front 0 is the Pareto set, front 1
  the Pareto set of the rest, ... (`non_dominated_ranks`);
* **the front that the cut falls in** is ordered by greedy hypervolume subset
  selection (the point adding most hypervolume to those already chosen; Ozaki et al.
  2020/2022, optuna's MOTPE split), so the below set spreads along the front instead
  of bunching where trials happen to be dense.

With one objective and no constraints the order is ``argsort(loss, kind="stable")``,
exactly what TPE's split did before, so a single-objective run is unchanged bit for bit.

Everything here is a pure function of numpy arrays: points are ``(n, k)`` arrays of n
loss vectors with k objectives. NaN is refused everywhere (a NaN loss has no place in
an order); infinities are refused where a volume is computed (`hypervolume`,
`hypervolume_contributions`, `greedy_hypervolume_order`) and accepted by the orderings,
where "worse than anything finite" is well defined.

Hypervolume is exact: a sort for k = 2, a sweep over the third objective for k = 3,
and slicing (HSO: one slab per distinct value of the last objective, each a (k-1)-D
hypervolume) for k >= 4, which is exponential in k but quick for the size of a Pareto
set at k = 4-5.
"""

from __future__ import annotations

import heapq
from bisect import bisect_right
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from parzen.exceptions import InvalidArgument

TieBreak = Literal["hypervolume", "contribution", "none"]
TIE_BREAKS = ("hypervolume", "contribution", "none")
_SMALL = 256  # up to this many points, all-pairs dominance tests beat a loop
# how far beyond the cut front's worst point (as a share of its spread) the tie-break's reference point lies
REFERENCE_MARGIN = 0.1


# --- checking inputs -----------------------------------------------------------------------------------------


def _points(points: ArrayLike, name: str = "points", finite: bool = False) -> np.ndarray:
    """`points` as a float (n, k) array, k >= 1; NaN (and, with `finite`, infinities) refused by row."""
    a = np.asarray(points, dtype=float)
    if a.ndim != 2 or a.shape[1] < 1:
        raise InvalidArgument(f"{name} must be a 2-D array of shape (n, k) with k >= 1, got shape {a.shape}")
    bad = np.isnan(a) if not finite else ~np.isfinite(a)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        what = "NaN" if not finite else "NaN or an infinity"
        raise InvalidArgument(f"{name} holds {what} in row {row}: {a[row].tolist()}")
    return a


def _reference(reference: ArrayLike, k: int) -> np.ndarray:
    """The reference point as a finite float vector of length k."""
    ref = np.asarray(reference, dtype=float)
    if ref.shape != (k,):
        raise InvalidArgument(f"reference must have one value per objective ({k}), got shape {ref.shape}")
    if not np.isfinite(ref).all():
        raise InvalidArgument(f"reference must be finite, got {ref.tolist()}")
    return ref


# --- non-dominated sorting -----------------------------------------------------------------------------------


def dominates(a: ArrayLike, b: ArrayLike) -> bool:
    """True if loss vector `a` is no worse than `b` in every objective and better in one (all minimised)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool((x <= y).all() and (x < y).any())


def non_dominated_ranks(points: ArrayLike) -> np.ndarray:
    """The front index of each point: 0 for the Pareto set, 1 for the Pareto set of the rest, and so on.

    Equal points share a front. O(n log n) for k = 2 (a sort and a binary search per
    point); for k >= 3 each point is placed by a binary search over the fronts built so
    far, each probe a vectorised dominance test (about 0.1-0.5 s for 10,000 points).
    """
    p = _points(points)
    if not len(p):
        return np.zeros(0, dtype=np.int64)
    unique, inverse = np.unique(p, axis=0, return_inverse=True)  # rows sorted lexicographically
    k = p.shape[1]
    if k == 1:
        ranks = np.arange(len(unique), dtype=np.int64)
    elif k == 2:
        ranks = _ranks_2d(unique)
    else:
        ranks = _ranks_nd(unique)
    return ranks[inverse.reshape(-1)]


def _ranks_2d(unique: np.ndarray) -> np.ndarray:
    """Fronts of distinct, lexicographically sorted 2-D points.

    Every point before p has f1 <= p.f1 and differs from p, so it dominates p exactly
    when its f2 <= p.f2. The smallest f2 of each front so far is non-decreasing from
    front to front, so p's front is found by bisection, and p becomes its new minimum.
    """
    lowest: list[float] = []  # lowest f2 of each front so far
    ranks = np.empty(len(unique), dtype=np.int64)
    for i, f2 in enumerate(unique[:, 1].tolist()):
        r = bisect_right(lowest, f2)
        if r == len(lowest):
            lowest.append(f2)
        else:
            lowest[r] = f2
        ranks[i] = r
    return ranks


class _Front:
    """The points of one front so far (objectives 2..k), in a buffer that doubles as it fills."""

    def __init__(self, width: int):
        self.buf = np.empty((8, width))
        self.n = 0

    def add(self, row: np.ndarray) -> None:
        if self.n == len(self.buf):
            self.buf = np.concatenate([self.buf, np.empty_like(self.buf)])
        self.buf[self.n] = row
        self.n += 1

    def dominates(self, row: np.ndarray) -> bool:
        """Does a point of this front dominate `row` (given that every such point precedes it lexicographically)?"""
        return bool((self.buf[: self.n] <= row).all(axis=1).any())


def _ranks_nd(unique: np.ndarray) -> np.ndarray:
    """Fronts of distinct, lexicographically sorted points, k >= 3.

    A dominator of p precedes p in lexicographic order, so fronts are built in one pass.
    If front r dominates p so does front r - 1 (p's dominator in front r is itself
    dominated by a point of front r - 1, which precedes it), so p's front is the first
    that does not dominate it, found by bisection. Since every earlier point has
    f1 <= p.f1, only objectives 2..k are compared.
    """
    rest = unique[:, 1:]
    fronts: list[_Front] = []
    ranks = np.empty(len(unique), dtype=np.int64)
    for i, row in enumerate(rest):
        lo, hi = 0, len(fronts)
        while lo < hi:
            mid = (lo + hi) // 2
            if fronts[mid].dominates(row):
                lo = mid + 1
            else:
                hi = mid
        if lo == len(fronts):
            fronts.append(_Front(rest.shape[1]))
        fronts[lo].add(row)
        ranks[i] = lo
    return ranks


def pareto_mask(points: ArrayLike) -> np.ndarray:
    """True for the points no other point dominates (front 0); equal points are all kept."""
    p = _points(points)
    if not len(p):
        return np.zeros(0, dtype=bool)
    unique, inverse = np.unique(p, axis=0, return_inverse=True)
    return _pareto_unique(unique)[inverse.reshape(-1)]


def _pareto_unique(unique: np.ndarray) -> np.ndarray:
    """Front 0 of distinct, lexicographically sorted points."""
    n, k = unique.shape
    if k == 1:
        mask = np.zeros(n, dtype=bool)
        mask[0] = True
        return mask
    if k == 2:  # on the front when f2 is a new strict minimum
        f2 = unique[:, 1]
        mask = np.ones(n, dtype=bool)
        mask[1:] = f2[1:] < np.minimum.accumulate(f2)[:-1]
        return mask
    if n <= _SMALL:  # all pairs at once: cheaper than a loop for the sets hypervolume code filters
        rest = unique[:, 1:]
        # j dominates i when j precedes i (so f1_j <= f1_i and the rows differ) and is <= on objectives 2..k
        le = (rest[:, None, :] <= rest[None, :, :]).all(axis=2) & np.tri(n, k=-1, dtype=bool).T
        return np.logical_not(le.any(axis=0))
    front = _Front(k - 1)
    mask = np.zeros(n, dtype=bool)
    for i, row in enumerate(unique[:, 1:]):
        if not front.dominates(row):
            front.add(row)
            mask[i] = True
    return mask


# --- hypervolume ---------------------------------------------------------------------------------------------


def hypervolume(points: ArrayLike, reference: ArrayLike) -> float:
    """The volume dominated by `points` and bounded by `reference` (all objectives minimised).

    Points that are not better than the reference in every objective add nothing. An
    empty set has volume 0. Exact for any number of objectives (2-D and 3-D by sweeps).

    Args:
        points: an (n, k) array-like of loss vectors (finite), e.g. ``[t.losses for t in trials.best_trials]``.
        reference: k numbers, each worse than every loss that should count (fix it per problem
            so that runs compare).

    Returns:
        The hypervolume (0.0 when no point beats the reference).

    Raises:
        ValueError: `points` is not 2-D with finite values, or `reference` has not k finite values.
    """
    p = _points(points, finite=True)
    ref = _reference(reference, p.shape[1])
    return _hypervolume(p, ref)


def _hypervolume(p: np.ndarray, ref: np.ndarray) -> float:
    """`hypervolume` on checked arrays."""
    p = p[(p < ref).all(axis=1)]
    if not len(p):
        return 0.0
    unique = np.unique(p, axis=0)
    front = unique[_pareto_unique(unique)]
    return _hv_front(front, ref)


def _hv_clipped(p: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of points all strictly better than `ref`, dominated ones and duplicates allowed.

    For the small sets of the greedy selection and the contributions: at k = 2 and 3 the
    sweeps need no filtering first (a dominated point adds nothing to a staircase), so
    the sort and the Pareto filter of `_hypervolume` are skipped.
    """
    k = p.shape[1]
    if len(p) == 1:
        return float(np.prod(ref - p[0]))
    if k == 1:
        return float(ref[0] - p[:, 0].min())
    if k == 2:
        return _staircase_area(p[:, 0], p[:, 1], ref)
    if k == 3 and len(p) <= _SMALL:
        return _hv_3d(p, ref)
    return _hypervolume(p, ref)


def _hv_front(front: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of mutually non-dominated points, each strictly better than `ref` everywhere."""
    k = front.shape[1]
    if len(front) == 1:
        return float(np.prod(ref - front[0]))
    if k == 1:
        return float(ref[0] - front[:, 0].min())
    if k == 2:
        return _hv_2d(front, ref)
    if k == 3:
        return _hv_3d(front, ref)
    return _hv_slices(front, ref)


def _hv_2d(front: np.ndarray, ref: np.ndarray) -> float:
    """Staircase area: along increasing f1 a 2-D front has decreasing f2."""
    order = np.argsort(front[:, 0], kind="stable")
    f1, f2 = front[order, 0], front[order, 1]
    widths = np.append(f1[1:], ref[0]) - f1
    return float(widths @ (ref[1] - f2))


def _staircase_area(f1: np.ndarray, f2: np.ndarray, ref: np.ndarray) -> float:
    """2-D hypervolume of any points (dominated ones allowed) already strictly inside `ref`."""
    order = np.lexsort((f2, f1))
    f1, f2 = f1[order], f2[order]
    low = np.minimum.accumulate(f2)
    widths = np.append(f1[1:], ref[0]) - f1
    return float(widths @ (ref[1] - low))


def _hv_3d(front: np.ndarray, ref: np.ndarray) -> float:
    """Sweep along f3: between consecutive f3 values the section is the 2-D hypervolume of the points below.

    Correct for dominated points too (they add nothing to a staircase). Up to 1,024
    points every section is computed at once: row i of an (n, n) matrix holds the f2 of
    the i + 1 points lowest in f3 (the reference elsewhere), in order of f1, and its
    running minimum is that section's staircase.
    """
    n = len(front)
    if n > 1024:
        return _hv_3d_loop(front, ref)
    q = front[np.argsort(front[:, 0], kind="stable")]
    by_f3 = np.argsort(q[:, 2], kind="stable")
    position = np.empty(n, dtype=np.int64)
    position[by_f3] = np.arange(n)
    z = q[by_f3, 2]
    heights = np.append(z[1:], ref[2]) - z
    member = position[None, :] <= np.arange(n)[:, None]
    low = np.minimum.accumulate(np.where(member, q[None, :, 1], ref[1]), axis=1)
    widths = np.append(q[1:, 0], ref[0]) - q[:, 0]
    return float(heights @ ((ref[1] - low) @ widths))


def _hv_3d_loop(front: np.ndarray, ref: np.ndarray) -> float:
    """`_hv_3d` one section at a time (memory linear in the number of points)."""
    order = np.argsort(front[:, 2], kind="stable")
    p = front[order]
    heights = np.append(p[1:, 2], ref[2]) - p[:, 2]
    total = 0.0
    for i in np.flatnonzero(heights > 0):
        total += heights[i] * _staircase_area(p[: i + 1, 0], p[: i + 1, 1], ref[:2])
    return float(total)


def _hv_slices(front: np.ndarray, ref: np.ndarray) -> float:
    """HSO for k >= 4: slabs along the last objective, each the (k-1)-D hypervolume of the points below it."""
    order = np.argsort(front[:, -1], kind="stable")
    p = front[order]
    heights = np.append(p[1:, -1], ref[-1]) - p[:, -1]
    total = 0.0
    for i in np.flatnonzero(heights > 0):
        below = np.unique(p[: i + 1, :-1], axis=0)
        total += heights[i] * _hv_front(below[_pareto_unique(below)], ref[:-1])
    return float(total)


def hypervolume_contributions(points: ArrayLike, reference: ArrayLike) -> np.ndarray:
    """Each point's exclusive contribution: the hypervolume lost if it alone were removed.

    Dominated points, points outside the reference and each of two equal points
    contribute 0 (the other still covers the volume). A front point's exclusive region
    is its box less the boxes of the others clipped to it, so each costs one hypervolume
    of n - 1 points (dominated ones count: removing a point can expose them).
    """
    p = _points(points, finite=True)
    ref = _reference(reference, p.shape[1])
    out = np.zeros(len(p))
    inside = np.flatnonzero((p < ref).all(axis=1))
    if not len(inside):
        return out
    q = p[inside]
    candidates = np.flatnonzero(pareto_mask(q))
    box = np.prod(ref - q, axis=1)
    for i in candidates:
        others = np.delete(q, i, axis=0)
        covered = _hv_clipped(np.maximum(others, q[i]), ref) if len(others) else 0.0
        out[inside[i]] = max(box[i] - covered, 0.0)
    return out


def greedy_hypervolume_order(points: ArrayLike, reference: ArrayLike, limit: int | None = None) -> np.ndarray:
    """Indices of `points` in the order greedy hypervolume subset selection picks them.

    Each pick adds the most hypervolume to the points already picked (optuna's HSSP
    tie-break; a (1 - 1/e)-approximation of the best subset of every size). Gains only
    shrink as the chosen set grows (hypervolume is submodular), so stale gains are upper
    bounds and only the top of the queue is recomputed (lazy greedy). Ties go to the
    lower index; points that add nothing follow in index order. Every prefix of the
    order is the greedy subset of its size, so one order serves any ``n_below``. With
    `limit`, only that many are picked greedily and the rest follow in index order (a
    split needs only the picks before its cut).
    """
    p = _points(points, finite=True)
    ref = _reference(reference, p.shape[1])
    n = len(p)
    box = np.where((p < ref).all(axis=1), np.prod(np.maximum(ref - p, 0.0), axis=1), 0.0)
    heap = [(-box[i], i, 0) for i in range(n)]
    heapq.heapify(heap)
    chosen: list[int] = []
    picks = n if limit is None else min(max(limit, 0), n)
    while heap and len(chosen) < picks:
        neg_gain, i, fresh_at = heapq.heappop(heap)
        if fresh_at == len(chosen) or neg_gain == 0.0:
            chosen.append(i)
            continue
        covered = _hv_clipped(np.maximum(p[chosen], p[i]), ref)
        heapq.heappush(heap, (-(max(box[i] - covered, 0.0)), i, len(chosen)))
    rest = np.setdiff1d(np.arange(n), chosen)  # sorted: index order
    return np.concatenate([np.asarray(chosen, dtype=np.int64), rest]).astype(np.int64)


# --- constraints ---------------------------------------------------------------------------------------------


def violation(constraints: ArrayLike) -> np.ndarray:
    """Total violation of each row: the sum of its positive constraint values (0: feasible)."""
    c = _points(constraints, "constraints")
    return np.maximum(c, 0.0).sum(axis=1)


def constrained_dominates(a: ArrayLike, a_violation: float, b: ArrayLike, b_violation: float) -> bool:
    """Deb's constrained dominance: feasible beats infeasible, less violation beats more, else Pareto dominance."""
    if a_violation > 0 or b_violation > 0:
        return bool(a_violation < b_violation)
    return dominates(a, b)


def constrained_ranks(losses: ArrayLike, constraints: ArrayLike | None = None) -> np.ndarray:
    """Front indices under Deb's constrained dominance.

    Feasible points get their non-dominated rank; infeasible ones follow, one front per
    distinct total violation (smaller first).
    """
    loss = _points(losses, "losses")
    if constraints is None:
        return non_dominated_ranks(loss)
    viol = _violation_for(loss, constraints)
    ranks = np.empty(len(loss), dtype=np.int64)
    ok = viol == 0
    ranks[ok] = non_dominated_ranks(loss[ok])
    start = int(ranks[ok].max()) + 1 if ok.any() else 0
    ranks[~ok] = start + np.unique(viol[~ok], return_inverse=True)[1].reshape(-1)
    return ranks


def _violation_for(loss: np.ndarray, constraints: ArrayLike) -> np.ndarray:
    c = _points(constraints, "constraints")
    if len(c) != len(loss):
        raise InvalidArgument(f"constraints has {len(c)} rows but losses has {len(loss)}")
    return np.maximum(c, 0.0).sum(axis=1)


# --- the order TPE splits ------------------------------------------------------------------------------------


def goodness_order(
    losses: ArrayLike,
    constraints: ArrayLike | None = None,
    n_below: int | None = None,
    tie_break: TieBreak = "hypervolume",
) -> np.ndarray:
    """Indices of the rows of `losses` (n, k), best first; TPE's below set is the first ``n_below``.

    Feasible rows come first (every constraint <= 0), by non-dominated front; infeasible
    rows follow by total violation (ties by index). Within the front that the cut at
    `n_below` falls in, `tie_break` decides: ``"hypervolume"`` (greedy hypervolume
    subset selection, optuna's MOTPE split), ``"contribution"`` (largest exclusive
    hypervolume contribution first) or ``"none"`` (by index, i.e. oldest first). Other
    fronts keep index order; with ``n_below=None`` every front is tie-broken (a full
    order, at the cost of a greedy selection per front).

    With one objective and no constraints this is ``argsort(losses[:, 0], kind="stable")``.
    """
    loss = _points(losses, "losses")
    if tie_break not in TIE_BREAKS:
        raise InvalidArgument(f"tie_break must be one of {TIE_BREAKS}, got {tie_break!r}")
    if n_below is not None and n_below < 0:
        raise InvalidArgument(f"n_below must be >= 0, got {n_below}")
    if constraints is None:
        return _front_order(loss, n_below, tie_break)
    viol = _violation_for(loss, constraints)
    ok = np.flatnonzero(viol == 0)
    bad = np.flatnonzero(viol > 0)
    first = ok[_front_order(loss[ok], n_below, tie_break)]
    return np.concatenate([first, bad[np.argsort(viol[bad], kind="stable")]])


def _front_order(loss: np.ndarray, n_below: int | None, tie_break: TieBreak) -> np.ndarray:
    """Best-first order of feasible rows: fronts in turn, the cut front (or every front) tie-broken."""
    if loss.shape[1] == 1:
        return np.argsort(loss[:, 0], kind="stable")
    ranks = non_dominated_ranks(loss)
    order = np.argsort(ranks, kind="stable")
    if tie_break == "none" or not len(order):
        return order
    bounds = np.flatnonzero(np.diff(ranks[order])) + 1
    starts, ends = np.concatenate([[0], bounds]), np.concatenate([bounds, [len(order)]])
    for start, end in zip(starts, ends):
        if n_below is None or start < n_below < end:
            members = order[start:end]
            limit = None if n_below is None else n_below - start
            order[start:end] = members[_tie_break(loss[members], tie_break, limit)]
    return order


def _tie_break(front: np.ndarray, tie_break: TieBreak, limit: int | None = None) -> np.ndarray:
    """Order within one front, by hypervolume against a reference just beyond the front's own worst point.

    The reference is the front's nadir plus `REFERENCE_MARGIN` of its spread in each
    objective, so the order does not change when an objective is shifted or rescaled
    (optuna's 1.1 x worst depends on where zero is). Infinite values are moved just
    beyond the finite ones.
    """
    f = _finite_stand_in(front)
    low, high = f.min(axis=0), f.max(axis=0)
    spread = high - low
    ref = high + np.where(spread > 0, REFERENCE_MARGIN * spread, 1.0)
    if tie_break == "hypervolume":
        return greedy_hypervolume_order(f, ref, limit)
    contribution = hypervolume_contributions(f, ref)
    return np.argsort(-contribution, kind="stable")


def _finite_stand_in(front: np.ndarray) -> np.ndarray:
    """`front` with +inf (-inf) replaced by a value beyond the largest (smallest) finite one of its objective."""
    if np.isfinite(front).all():
        return front
    f = front.copy()
    for j in range(f.shape[1]):
        col = f[:, j]
        finite = col[np.isfinite(col)]
        low, high = (finite.min(), finite.max()) if len(finite) else (0.0, 0.0)
        pad = (high - low) + 1.0
        col[col == np.inf] = high + pad
        col[col == -np.inf] = low - pad
    return f
