"""The multi-objective TPE prototype: TPE on the goodness order, its hooks, and that it learns."""

from __future__ import annotations

import numpy as np
import pytest

from parzen import hp
from parzen.algorithms import _pareto, mo_tpe, tpe
from parzen.exceptions import InvalidArgument
from parzen.history import Columns, TrialState
from parzen.space import compile_space

D = 6


def zdt1(x: np.ndarray) -> list[float]:
    g = 1 + 9 * x[1:].sum() / (len(x) - 1)
    return [float(x[0]), float(g * (1 - np.sqrt(x[0] / g)))]


def box_space(d: int = D) -> dict:
    return {f"x{i}": hp.uniform(f"x{i}", 0, 1) for i in range(d)}


def run(algo: str, seed: int, evals: int, in_flight: int = 1, **options) -> tuple[Columns, np.ndarray]:
    """ZDT1 through an ask/tell loop keeping `in_flight` trials running; the history and losses in ask order."""
    space = compile_space(box_space())
    columns, rng = Columns(), np.random.default_rng(seed)
    losses = np.full((evals, 2), np.nan)
    running: list[int] = []
    while columns.n < evals or running:
        free = min(in_flight - len(running), evals - columns.n)
        if free > 0:
            if algo == "random":
                points = [space.sample(rng) for _ in range(free)]
            else:
                points = mo_tpe.suggest_many(space, columns.view(), rng, free, losses[: columns.n], **options)
            running += [columns.append(p, TrialState.RUNNING) for p in points]
        row = running.pop(0)
        x = np.array([columns.rows[row][f"x{i}"] for i in range(D)])
        losses[row] = zdt1(x)
        columns.update(row, 0.0, TrialState.DONE)
    return columns, losses


def hypervolume(algo: str, seed: int, evals: int) -> float:
    return _pareto.hypervolume(run(algo, seed, evals)[1], [11.0, 11.0])


def test_ranked_history_puts_each_result_at_its_place_in_the_goodness_order():
    space = compile_space(box_space(2))
    columns = Columns()
    rows = [columns.append(space.sample(np.random.default_rng(i)), TrialState.RUNNING) for i in range(5)]
    losses = np.array([[1, 1], [0, 2], [2, 0], [3, 3], [np.nan, np.nan]])
    for row in rows[:4]:
        columns.update(row, 0.0, TrialState.DONE)
    ranked = mo_tpe.ranked_history(columns.view(), losses)
    assert np.isnan(ranked.loss[4]) and ranked.state[4] == TrialState.RUNNING
    assert ranked.loss[3] == 3.0 and set(ranked.loss[:3].tolist()) == {0.0, 1.0, 2.0}
    np.testing.assert_array_equal(ranked.values("x0"), columns.view().values("x0"))


def test_one_objective_gives_tpe_the_same_points():
    """With one objective the ranked history orders as the loss does, so TPE suggests exactly the same."""
    space = compile_space(box_space(3))
    columns = Columns()
    rng = np.random.default_rng(0)
    loss = rng.random(30)
    for i in range(30):
        columns.update(columns.append(space.sample(rng), TrialState.RUNNING), float(loss[i]), TrialState.DONE)
    history = columns.view()
    plain = tpe.suggest_many(space, history, np.random.default_rng(5), 4)
    ranked = mo_tpe.suggest_many(space, history, np.random.default_rng(5), 4, loss[:, None])
    assert plain == ranked


def test_the_hooked_loop_is_tpes_loop():
    """c-TPE with every trial feasible changes nothing: the copied loop draws exactly what tpe.suggest_many does."""
    space = compile_space(box_space())
    columns = Columns()
    rng = np.random.default_rng(1)
    for i in range(40):
        row = columns.append(space.sample(rng), TrialState.RUNNING)
        if i < 34:  # six still running
            columns.update(row, 0.0, TrialState.DONE)
    history = columns.view()
    x = np.stack([history.values(f"x{i}") for i in range(D)], axis=1)
    done = history.state[:, None] == TrialState.DONE
    losses = np.where(done, np.array([zdt1(row) for row in x]), np.nan)
    feasible = np.where(done, -1.0, np.nan)
    stock = mo_tpe.suggest_many(space, history, np.random.default_rng(9), 5, losses, feasible)
    hooked = mo_tpe.suggest_many(space, history, np.random.default_rng(9), 5, losses, feasible, constraint_model="ctpe")
    assert stock == hooked
    weighted = mo_tpe.suggest_many(space, history, np.random.default_rng(9), 5, losses, feasible, weights="hypervolume")
    assert weighted != stock  # the hook does act


def test_beats_random_search_on_zdt1_hypervolume():
    ours = [hypervolume("parzen", seed, 80) for seed in range(6)]
    theirs = [hypervolume("random", seed, 80) for seed in range(6)]
    assert sum(a > b for a, b in zip(ours, theirs)) >= 5
    assert np.mean(ours) > np.mean(theirs)


def test_trials_in_flight_spread_along_the_front():
    """24 suggestions asked one after another while the earlier ones run cover the front (f1 = x0), not one region."""
    space = compile_space(box_space())
    columns, losses = run("parzen", seed=3, evals=60)
    rng = np.random.default_rng(4)
    picks = []
    for _ in range(24):
        (point,) = mo_tpe.suggest_many(
            space, columns.view(), rng, 1, np.vstack([losses, np.full((len(picks), 2), np.nan)])
        )
        columns.append(point, TrialState.RUNNING)
        picks.append(point["x0"])
    x0 = np.array(picks)
    assert len(np.unique(np.floor(x0 * 5))) >= 4  # at least 4 of the 5 fifths of the front
    assert x0.std() > 0.15


@pytest.mark.parametrize(
    "options",
    [
        {"weights": "hypervolume"},
        {"weights": "rank"},
        {"tie_break": "none"},
        {"tie_break": "contribution"},
        {"constraint_model": "ctpe"},
    ],
)
def test_variants_make_valid_points_with_constraints_and_running_trials(options):
    space = compile_space(box_space(3))
    columns = Columns()
    rng = np.random.default_rng(2)
    n = 30
    for i in range(n):
        row = columns.append(space.sample(rng), TrialState.RUNNING)
        if i < 26:
            columns.update(row, 0.0, TrialState.DONE)
    history = columns.view()
    x = np.stack([history.values(f"x{i}") for i in range(3)], axis=1)
    losses = np.where(
        history.state[:, None] == TrialState.DONE, np.column_stack([x[:, 0], 1 - x[:, 0] + x[:, 1]]), np.nan
    )
    constraints = (x[:, 2:3] - 0.5) * np.where(history.state[:, None] == TrialState.DONE, 1.0, np.nan)
    points = mo_tpe.suggest_many(space, history, rng, 6, losses, constraints, **options)
    assert len(points) == 6
    for p in points:
        assert set(p) == {"x0", "x1", "x2"} and all(0 <= v <= 1 for v in p.values())


def test_bad_arguments_are_refused():
    space = compile_space(box_space(2))
    history = Columns().view()
    with pytest.raises(InvalidArgument, match="tie_break"):
        mo_tpe.suggest_many(space, history, np.random.default_rng(0), 1, np.zeros((0, 2)), tie_break="crowding")
    with pytest.raises(InvalidArgument, match="weights"):
        mo_tpe.suggest_many(space, history, np.random.default_rng(0), 1, np.zeros((0, 2)), weights="ei")
    with pytest.raises(InvalidArgument, match="losses must have shape"):
        mo_tpe.suggest_many(space, history, np.random.default_rng(0), 1, np.zeros((3, 2)))
    with pytest.raises(InvalidArgument, match="unknown options"):
        mo_tpe.suggest_many(space, history, np.random.default_rng(0), 1, np.zeros((0, 2)), gammma=0.2)
