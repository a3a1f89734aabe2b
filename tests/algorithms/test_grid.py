"""Grid search: every discrete combination, n points per continuous dimension, clean stop."""

import functools

import numpy as np
import pytest

from parzen import Trials, fmin, grid, hp
from parzen.exceptions import InvalidArgument
from parzen.space import compile_space


def run(space, max_evals=10_000, **options):
    trials = Trials()
    algo = functools.partial(grid.suggest, **options)
    fmin(lambda p: 0.0, space, algo=algo, trials=trials, max_evals=max_evals, show_progressbar=False)
    return trials


def test_every_discrete_combination_once():
    space = {"a": hp.choice("a", ["x", "y", "z"]), "b": hp.randint("b", 2), "q": hp.quniform("q", 10, 30, 10)}
    trials = run(space)
    combos = {tuple(sorted(t.params.items())) for t in trials.records}
    assert len(trials) == len(combos) == 3 * 2 * 3


def test_points_per_continuous_dimension():
    space = {"u": hp.uniform("u", 0, 1), "lg": hp.loguniform("lg", np.log(1e-3), np.log(1e3))}
    trials = run(space, points_per_dimension=4)
    assert len(trials) == 16
    us = sorted({t.params["u"] for t in trials.records})
    assert np.allclose(us, [0, 1 / 3, 2 / 3, 1])
    lgs = sorted({t.params["lg"] for t in trials.records})
    assert np.allclose(np.log10(lgs), [-3, -1, 1, 3])


def test_unbounded_dimensions_use_quantiles():
    trials = run({"n": hp.normal("n", 0, 1)}, points_per_dimension=3)
    values = sorted(t.params["n"] for t in trials.records)
    assert values[1] == 0 and values[0] == -values[2] and len(values) == 3


def test_conditional_space_combines_only_active_parameters():
    space = hp.choice(
        "m", [{"C": hp.uniform("C", 0, 1)}, {"d": hp.randint("d", 3), "e": hp.choice("e", [0, 1])}, "none"]
    )
    trials = run(space, points_per_dimension=2)
    assert len(trials) == 2 + 3 * 2 + 1
    assert all(set(t.params) in ({"m", "C"}, {"m", "d", "e"}, {"m"}) for t in trials.records)


def test_stops_at_max_evals_and_continues_where_it_left_off():
    space = {"a": hp.randint("a", 10)}
    trials = Trials()
    fmin(lambda p: 0, space, algo=grid.suggest, trials=trials, max_evals=4, show_progressbar=False)
    fmin(lambda p: 0, space, algo=grid.suggest, trials=trials, max_evals=100, show_progressbar=False)
    assert sorted(t.params["a"] for t in trials.records) == list(range(10))


def test_grid_size_helper():
    assert grid.grid_size(compile_space({"a": hp.choice("a", [1, 2]), "u": hp.uniform("u", 0, 1)}), 7) == 14


def test_bad_option():
    with pytest.raises(InvalidArgument, match="points_per_dimension must be an integer >= 1"):
        run({"u": hp.uniform("u", 0, 1)}, points_per_dimension=0)


def test_huge_quantised_dimension_is_enumerated_lazily():
    trials = run({"q": hp.quniform("q", 0, 1e9, 1)}, max_evals=5)
    assert [t.params["q"] for t in trials.records] == [0.0, 1.0, 2.0, 3.0, 4.0]
