"""The report stays near-linear in the number of trials (issue 24, item 5), checked by what it
computes and draws, not by wall time: the fANOVA main effects by run sums equal the cells x leaves
matrix they replace, the forest is fitted once on at most `MAX_FIT_TRIALS` and computes its
importances once per report, and a large run's figures draw a bounded number of points and say
what they sampled. `benchmarks/report_scale.py` measures the time and memory."""

import json

import numpy as np
import pytest

from parzen import Trials, fmin, hp, rand
from parzen.plotting import _figures, _importance
from parzen.plotting._importance import MAX_FIT_TRIALS, Forest, _Tree
from parzen.plotting._report import payload, sections
from parzen.plotting._sampling import MAX_BARS, MAX_CURVES, MAX_POINTS
from parzen.view import from_trials


def brute_force_main_effect(tree: _Tree, j: int, mean: float) -> float:
    """The previous implementation: a (cells x leaves) coverage matrix (quadratic in the trials)."""
    left, right = tree.bounds[j][:-1], tree.bounds[j][1:]
    others = np.delete(tree.mass, j, axis=1).prod(axis=1)
    covers = (tree.lo[:, j][None, :] <= left[:, None]) & (right[:, None] <= tree.hi[:, j][None, :])
    denominator = covers @ others
    axis_mass = tree.cell_mass[j]
    keep = (denominator > 0) & (axis_mass > 0)
    marginal = (covers[keep] @ (others * tree.value)) / denominator[keep]
    w = axis_mass[keep]
    return float((w * (marginal - mean) ** 2).sum() / w.sum()) if w.sum() > 0 else 0.0


SPACE = {
    "lr": hp.loguniform("lr", np.log(1e-5), 0),
    "depth": hp.quniform("depth", 1, 12, 1),
    "act": hp.pchoice("act", [(0.2, "relu"), (0.8, "tanh")]),
    "opt": hp.choice("opt", [{"kind": "adam", "beta": hp.uniform("beta", 0.8, 0.999)}, {"kind": "sgd"}]),
    "shift": hp.normal("shift", 0, 1),
}


def objective(p):
    loss = (np.log10(p["lr"]) + 3) ** 2 + 0.05 * p["depth"] + 0.3 * abs(p["shift"]) * (p["act"] == "relu")
    return loss + (0.5 if p["opt"]["kind"] == "sgd" else 0.0)


def tuned(n, seed=0):
    trials = Trials()
    fmin(objective, SPACE, algo=rand.suggest, max_evals=n, trials=trials, rstate=np.random.default_rng(seed),
         show_progressbar=False)  # fmt: skip
    return trials


@pytest.mark.parametrize("seed", range(3))
def test_run_sums_give_the_same_main_effects_as_the_matrix(seed):
    forest = Forest(from_trials(tuned(300, seed)), seed=seed, n_trees=8)
    checked = 0
    for tree in forest.trees:
        weight = tree.mass.prod(axis=1)
        mean = (weight * tree.value).sum() / weight.sum()
        for j in range(tree.mass.shape[1]):
            fast, slow = _importance._main_effect(tree, j, mean), brute_force_main_effect(tree, j, mean)
            assert fast == pytest.approx(slow, rel=1e-9, abs=1e-12)
            checked += slow > 0
    assert checked > 8  # the comparison saw real effects, not zeros


def test_leaf_boxes_partition_the_space():
    """The level-by-level walk finds every leaf once: the boxes' prior masses sum to 1."""
    forest = Forest(from_trials(tuned(200)), n_trees=4)
    for tree in forest.trees:
        assert tree.mass.prod(axis=1).sum() == pytest.approx(1.0)
        assert np.all(tree.lo < tree.hi)


@pytest.fixture(scope="module")
def large():
    """A run larger than every cap: 12,000 trials, some of them reporting intermediate values."""
    view = from_trials(tuned(12_000, seed=1))
    for row in view.rows[:: 12_000 // (MAX_CURVES + 200)]:  # as a pruned run's rows read: step -> value
        row.intermediate = {step: 1.0 / (step + 1 + row.tid) for step in range(3)}
    return view


@pytest.mark.slow
def test_a_large_run_is_fitted_once_on_a_sample_and_says_so(large):
    forest = _figures.forest_of(large)
    assert forest.n_ok == 12_000 and forest.n_fitted == MAX_FIT_TRIALS and forest.sampled
    calls = []
    compute = forest._compute_importances
    forest._compute_importances = lambda: calls.append(1) or compute()
    parts = {s.id: s for s in sections(large)}
    assert len(calls) == 1  # importance and contour share one computation
    for key in ("importance", "contour"):
        assert (
            f"fitted on a random {MAX_FIT_TRIALS:,} of the 12,000 ok trials"
            in parts[key].figure["layout"]["title"]["text"]
        )
    importance = {i.label: i.fraction for i in forest.importances()}
    assert max(importance, key=importance.get) == "lr"


@pytest.mark.slow
def test_a_large_run_draws_a_bounded_number_of_points_and_says_so(large):
    parts = {s.id: s.figure for s in sections(large) if s.figure is not None}

    for key in ("history", "slice", "parallel", "contour"):
        title = parts[key]["layout"]["title"]["text"]
        assert f"showing {MAX_POINTS:,} of 12,000 ok trials" in title, (key, title)
    history = parts["history"]["data"]
    losses = [t for t in history if t["name"] == "trial loss"]
    assert all(len(t["x"]) == MAX_POINTS for t in losses)
    best = [t for t in history if t["name"] == "best so far"]
    assert all(len(t["x"]) < 200 for t in best)  # the exact step line, by its change points
    ys = best[0]["y"]
    assert ys == sorted(ys, reverse=True) and ys[-1] == pytest.approx(min(r.loss for r in large.ok))
    assert sum(len(t["x"]) for t in parts["slice"]["data"]) <= MAX_POINTS * len(large.params)
    assert len(parts["parallel"]["data"][0]["dimensions"][0]["values"]) == MAX_POINTS
    timeline = parts["timeline"]
    assert sum(len(t["x"]) for t in timeline["data"]) == MAX_BARS
    assert f"showing the last {MAX_BARS:,} of 12,000 trials" in timeline["layout"]["title"]["text"]
    curves = parts["intermediate"]
    assert len(curves["data"]) <= 7  # one trace per outcome, not one per trial
    drawn = sum(sum(1 for x in t["x"] if x is None) for t in curves["data"])
    assert drawn == MAX_CURVES and f"showing {MAX_CURVES:,} of" in curves["layout"]["title"]["text"]


@pytest.mark.slow
def test_a_large_report_stays_small(large):
    """The page of 12,000 trials is a few megabytes, not tens (the sections as the dashboard sends them)."""
    size = len(json.dumps(payload(large)))
    assert size < 8 * 2**20, size / 2**20
