"""Pareto ranks, hypervolume, contributions, constraints and the goodness order TPE splits.

References are computed independently: fronts by peeling with an all-pairs dominance
matrix, hypervolume by inclusion-exclusion over every subset of boxes (exact for small
sets) and by Monte Carlo for a larger one, contributions and greedy selection by
recomputing hypervolumes from scratch.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from parzen.exceptions import InvalidArgument
from parzen.trial import pareto as P

# --- independent references ------------------------------------------------------------------------------------


def peel_ranks(points: np.ndarray) -> np.ndarray:
    """Fronts by repeatedly removing the points nothing left dominates (all-pairs matrix)."""
    p = np.asarray(points, dtype=float)
    dominates = (p[:, None, :] <= p[None, :, :]).all(axis=2) & (p[:, None, :] < p[None, :, :]).any(axis=2)
    ranks = np.full(len(p), -1)
    left = np.ones(len(p), dtype=bool)
    front = 0
    while left.any():
        idx = np.flatnonzero(left)
        current = idx[~dominates[np.ix_(idx, idx)].any(axis=0)]
        ranks[current] = front
        left[current] = False
        front += 1
    return ranks


def inclusion_exclusion(points: np.ndarray, ref: np.ndarray) -> float:
    """Exact hypervolume: the signed sum of the volumes of the intersections of every subset of boxes."""
    p = np.asarray(points, dtype=float)
    total = 0.0
    for size in range(1, len(p) + 1):
        for subset in itertools.combinations(range(len(p)), size):
            corner = p[list(subset)].max(axis=0)
            total += (-1) ** (size + 1) * float(np.prod(np.clip(ref - corner, 0, None)))
    return total


def greedy_from_scratch(points: np.ndarray, ref: np.ndarray) -> list[int]:
    """Greedy hypervolume selection recomputing every gain at every step (ties to the lower index)."""
    chosen: list[int] = []
    left = list(range(len(points)))
    while left:
        base = P.hypervolume(points[chosen], ref) if chosen else 0.0
        gains = [P.hypervolume(points[[*chosen, i]], ref) - base for i in left]
        best = left[int(np.argmax(np.round(gains, 12)))]
        chosen.append(best)
        left.remove(best)
    return chosen


# --- non-dominated sorting -------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_ranks_match_peeling_with_ties_and_duplicates(k):
    rng = np.random.default_rng(k)
    for _ in range(30):
        points = rng.integers(0, 4, size=(int(rng.integers(1, 40)), k)).astype(float)  # many ties, duplicates
        np.testing.assert_array_equal(P.non_dominated_ranks(points), peel_ranks(points))
        np.testing.assert_array_equal(P.pareto_mask(points), peel_ranks(points) == 0)


@pytest.mark.parametrize("k", [2, 3])
def test_ranks_of_thousands_of_points(k):
    points = np.random.default_rng(7).random((2000, k)).round(2)
    np.testing.assert_array_equal(P.non_dominated_ranks(points), peel_ranks(points))


def test_ranks_scale_to_ten_thousand_points():
    """n = 10,000 at k = 2 and 3: a sample of points each dominated by its previous front and by nothing in its own."""
    rng = np.random.default_rng(3)
    for k in (2, 3):
        points = rng.random((10_000, k))
        ranks = P.non_dominated_ranks(points)
        np.testing.assert_array_equal(ranks == 0, P.pareto_mask(points))
        for i in rng.choice(10_000, size=100, replace=False):
            by = (points <= points[i]).all(axis=1) & (points < points[i]).any(axis=1)
            assert not (by & (ranks >= ranks[i])).any()
            assert ranks[i] == 0 or (by & (ranks == ranks[i] - 1)).any()


def test_hand_made_fronts():
    points = [[1, 5], [2, 3], [3, 4], [4, 1], [5, 5], [2, 3]]
    np.testing.assert_array_equal(P.non_dominated_ranks(points), [0, 0, 1, 0, 2, 0])
    np.testing.assert_array_equal(P.pareto_mask(points), [True, True, False, True, False, True])
    assert P.dominates([1, 2], [1, 3]) and not P.dominates([1, 3], [1, 3]) and not P.dominates([0, 4], [1, 3])


def test_single_objective_ranks_are_dense_value_ranks():
    np.testing.assert_array_equal(P.non_dominated_ranks([[3.0], [1.0], [3.0], [2.0]]), [2, 0, 2, 1])


def test_infinities_are_ordered_and_nan_is_refused():
    points = [[np.inf, 0.0], [1.0, 1.0], [0.0, np.inf], [2.0, 2.0], [-np.inf, 5.0]]
    np.testing.assert_array_equal(P.non_dominated_ranks(points), peel_ranks(np.asarray(points)))
    with pytest.raises(InvalidArgument, match="NaN in row 1"):
        P.non_dominated_ranks([[1.0, 2.0], [np.nan, 1.0]])
    with pytest.raises(InvalidArgument, match="NaN"):
        P.pareto_mask([[np.nan]])
    with pytest.raises(InvalidArgument, match=r"shape \(n, k\)"):
        P.non_dominated_ranks([1.0, 2.0])


def test_empty_input():
    assert P.non_dominated_ranks(np.zeros((0, 2))).shape == (0,)
    assert P.pareto_mask(np.zeros((0, 3))).shape == (0,)
    assert P.hypervolume(np.zeros((0, 2)), [1, 1]) == 0.0
    assert P.goodness_order(np.zeros((0, 2))).shape == (0,)


# --- hypervolume -----------------------------------------------------------------------------------------------


def test_hand_computed_hypervolumes():
    assert P.hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == pytest.approx(6.0)
    assert P.hypervolume([[0, 0, 0]], [1, 2, 3]) == pytest.approx(6.0)
    # two boxes of 4 and 2 overlapping in a unit cube
    assert P.hypervolume([[0, 0, 1], [1, 1, 0]], [2, 2, 2]) == pytest.approx(5.0)
    # a 4-D corner and a point dominated by it
    assert P.hypervolume([[0, 0, 0, 0], [0.5, 0.5, 0.5, 0.5]], [1, 1, 1, 1]) == pytest.approx(1.0)
    assert P.hypervolume([[2.0]], [5.0]) == pytest.approx(3.0)


def test_points_outside_the_reference_add_nothing():
    assert P.hypervolume([[1, 5], [5, 1], [4, 4]], [4, 4]) == 0.0
    assert P.hypervolume([[1, 4], [2, 2]], [4, 4]) == pytest.approx(4.0)


@pytest.mark.parametrize("k", [2, 3, 4, 5])
def test_hypervolume_matches_inclusion_exclusion(k):
    rng = np.random.default_rng(10 + k)
    for _ in range(12):
        points = rng.random((int(rng.integers(1, 9)), k)).round(1)  # ties and duplicates
        ref = np.full(k, 1.05)
        assert P.hypervolume(points, ref) == pytest.approx(inclusion_exclusion(points, ref), abs=1e-12)


def test_hypervolume_of_a_larger_4d_set_matches_monte_carlo():
    rng = np.random.default_rng(4)
    points = rng.random((40, 4))
    points /= np.linalg.norm(points, axis=1, keepdims=True)  # a concave front
    ref = np.full(4, 1.1)
    u = rng.uniform(0, 1.1, size=(400_000, 4))
    covered = np.zeros(len(u), dtype=bool)
    for q in points:
        covered |= (u >= q).all(axis=1)
    share = covered.mean()
    estimate, sigma = share * 1.1**4, np.sqrt(share * (1 - share) / len(u)) * 1.1**4
    assert abs(P.hypervolume(points, ref) - estimate) < 4 * sigma


def test_3d_sweeps_agree_with_slicing():
    """The all-at-once 3-D sweep, the section-by-section one and HSO slicing, with ties and dominated points."""
    points = np.random.default_rng(5).random((300, 3)).round(2)
    unique = np.unique(points, axis=0)
    front = unique[P._pareto_unique(unique)]
    ref = np.full(3, 1.2)
    expected = P._hv_slices(front, ref)
    assert P._hv_3d(front, ref) == pytest.approx(expected, rel=1e-12)
    assert P._hv_3d(points, ref) == pytest.approx(expected, rel=1e-12)
    assert P._hv_3d_loop(points, ref) == pytest.approx(expected, rel=1e-12)


def test_hypervolume_ignores_order_duplicates_and_dominated_points():
    rng = np.random.default_rng(6)
    points = rng.random((25, 3))
    ref = np.ones(3) * 1.5
    base = P.hypervolume(points, ref)
    assert P.hypervolume(points[rng.permutation(25)], ref) == pytest.approx(base)
    assert P.hypervolume(np.vstack([points, points[:5], points[:5] + 0.01]), ref) == pytest.approx(base)


def test_hypervolume_refuses_nan_infinity_and_bad_reference():
    with pytest.raises(InvalidArgument, match="NaN or an infinity in row 0"):
        P.hypervolume([[np.inf, 1.0]], [2, 2])
    with pytest.raises(InvalidArgument, match="NaN or an infinity"):
        P.hypervolume([[1.0, np.nan]], [2, 2])
    with pytest.raises(InvalidArgument, match="reference must be finite"):
        P.hypervolume([[1.0, 1.0]], [2, np.inf])
    with pytest.raises(InvalidArgument, match="one value per objective"):
        P.hypervolume([[1.0, 1.0]], [2, 2, 2])
    with pytest.raises(InvalidArgument, match="NaN or an infinity"):
        P.hypervolume_contributions([[-np.inf, 1.0]], [2, 2])


# --- contributions and greedy selection -------------------------------------------------------------------------


def test_hand_computed_contributions():
    np.testing.assert_allclose(P.hypervolume_contributions([[1, 3], [2, 2], [3, 1], [3, 3]], [4, 4]), [1, 1, 1, 0])
    # two equal points: removing either leaves the volume whole
    np.testing.assert_allclose(P.hypervolume_contributions([[1, 1], [1, 1], [0, 3]], [4, 4]), [0, 0, 1])


@pytest.mark.parametrize("k", [2, 3, 4])
def test_contributions_match_removal(k):
    rng = np.random.default_rng(20 + k)
    for _ in range(8):
        points = rng.random((int(rng.integers(1, 14)), k)).round(1)
        ref = np.full(k, 1.0)  # some points on or beyond it
        whole = P.hypervolume(points, ref)
        expected = [whole - P.hypervolume(np.delete(points, i, axis=0), ref) for i in range(len(points))]
        np.testing.assert_allclose(P.hypervolume_contributions(points, ref), expected, atol=1e-12)


@pytest.mark.parametrize("k", [2, 3])
def test_lazy_greedy_matches_greedy_from_scratch(k):
    rng = np.random.default_rng(30 + k)
    for _ in range(6):
        points = rng.random((12, k))
        points /= points.sum(axis=1, keepdims=True)  # one front
        ref = np.full(k, 1.1)
        order = P.greedy_hypervolume_order(points, ref)
        assert order.tolist() == greedy_from_scratch(points, ref)
        assert P.greedy_hypervolume_order(points, ref, limit=4).tolist()[:4] == order.tolist()[:4]


def test_greedy_prefers_spread_over_crowding():
    """Three points bunched in a corner and two at the extremes: the extremes and one of the bunch go first."""
    points = np.array([[0.0, 1.0], [0.49, 0.51], [0.5, 0.5], [0.51, 0.49], [1.0, 0.0]])
    order = P.greedy_hypervolume_order(points, [1.1, 1.1])
    assert order[0] == 2
    assert set(order[1:3].tolist()) == {0, 4}


# --- constraints -----------------------------------------------------------------------------------------------


def test_violation_and_constrained_dominance():
    np.testing.assert_allclose(P.violation([[-1, 0], [0.5, -2], [1, 2]]), [0, 0.5, 3])
    assert P.constrained_dominates([5, 5], 0.0, [0, 0], 0.1)  # feasible beats infeasible
    assert P.constrained_dominates([5, 5], 0.1, [0, 0], 0.2)  # less violation beats more
    assert not P.constrained_dominates([0, 0], 0.2, [5, 5], 0.2)
    assert P.constrained_dominates([0, 0], 0.0, [1, 0], 0.0)
    with pytest.raises(InvalidArgument, match="constraints holds NaN"):
        P.violation([[np.nan]])


def test_constrained_ranks_put_feasible_fronts_first():
    losses = [[1, 1], [0, 0], [2, 0], [0, 2], [3, 3]]
    constraints = [[-1], [0.5], [0.0], [0.2], [0.5]]
    np.testing.assert_array_equal(P.constrained_ranks(losses, constraints), [0, 2, 0, 1, 2])
    np.testing.assert_array_equal(P.constrained_ranks(losses), P.non_dominated_ranks(losses))
    with pytest.raises(InvalidArgument, match="constraints has 2 rows but losses has 5"):
        P.constrained_ranks(losses, [[0], [0]])


# --- the goodness order ----------------------------------------------------------------------------------------


def test_single_objective_order_is_the_stable_sort_bit_for_bit():
    rng = np.random.default_rng(40)
    loss = rng.integers(0, 20, size=300).astype(float)
    loss[::17] = np.inf
    order = P.goodness_order(loss[:, None], n_below=25)
    np.testing.assert_array_equal(order, np.argsort(loss, kind="stable"))
    np.testing.assert_array_equal(P.goodness_order(loss[:, None]), np.argsort(loss, kind="stable"))


def test_constraints_put_feasible_trials_first_then_least_violation():
    loss = np.array([[5.0], [1.0], [3.0], [0.0], [4.0]])
    constraints = np.array([[0.0, -1.0], [2.0, 0.0], [-1.0, -1.0], [0.5, 0.5], [0.3, -5.0]])
    # feasible 2 (loss 3), 0 (loss 5); infeasible by violation: 4 (0.3), 3 (1.0), 1 (2.0)
    np.testing.assert_array_equal(P.goodness_order(loss, constraints), [2, 0, 4, 3, 1])


def test_fronts_come_in_order_and_the_cut_front_is_split_by_hypervolume():
    front0 = np.array([[0.0, 1.0], [0.49, 0.51], [0.5, 0.5], [0.51, 0.49], [1.0, 0.0]])
    front1 = front0 + 0.2
    losses = np.vstack([front1, front0])  # the better front is the younger one
    order = P.goodness_order(losses, n_below=3)
    assert set(order[:5].tolist()) == set(range(5, 10)) and set(order[5:].tolist()) == set(range(5))
    assert order[0] == 7 and set(order[1:3].tolist()) == {5, 9}  # spread, not the crowded middle
    # "none" keeps each front in index (age) order
    np.testing.assert_array_equal(P.goodness_order(losses, n_below=3, tie_break="none"), [5, 6, 7, 8, 9, 0, 1, 2, 3, 4])
    contribution = P.goodness_order(losses, n_below=3, tie_break="contribution")
    assert set(contribution[:2].tolist()) == {5, 9}  # the extremes contribute most; the crowded middle little


def test_order_does_not_change_when_an_objective_is_shifted_or_rescaled():
    rng = np.random.default_rng(41)
    losses = rng.random((80, 3))
    base = P.goodness_order(losses, n_below=12)
    moved = losses * np.array([1000.0, 0.001, 1.0]) + np.array([-50.0, 3.0, 1e6])
    np.testing.assert_array_equal(P.goodness_order(moved, n_below=12), base)


def test_goodness_order_with_constraints_and_several_objectives():
    losses = np.array([[0, 0], [1, 0], [0, 1], [2, 2], [1, 1]], dtype=float)
    constraints = np.array([[1.0], [0.0], [-1.0], [0.0], [0.5]])
    order = P.goodness_order(losses, constraints, n_below=2)
    assert set(order[:2].tolist()) == {1, 2} and order[2] == 3 and order[3:].tolist() == [4, 0]


def test_goodness_order_handles_infinite_losses_and_refuses_bad_arguments():
    losses = np.array([[np.inf, 0.0], [0.0, np.inf], [0.5, 0.5], [1.0, 1.0]])
    order = P.goodness_order(losses, n_below=2)
    assert sorted(order.tolist()) == [0, 1, 2, 3] and order[-1] == 3
    with pytest.raises(InvalidArgument, match="tie_break"):
        P.goodness_order(losses, tie_break="crowding")  # type: ignore[arg-type]
    with pytest.raises(InvalidArgument, match="n_below"):
        P.goodness_order(losses, n_below=-1)
    with pytest.raises(InvalidArgument, match="NaN"):
        P.goodness_order([[np.nan, 1.0]])
