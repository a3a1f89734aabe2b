"""Parameter importance finds the truth on objectives where the truth is known."""

import numpy as np
import pytest

from parzen import Trials, fmin, hp, rand
from parzen.plotting import param_importances, plot_param_importances


def synthetic(seed, n=80):
    """loss = 4 (x0 - 0.3)^2 + 0.4 x1: x0 explains ~90% of the variance, x1 ~10%, x2 nothing."""
    trials = Trials()
    space = {"x0": hp.uniform("x0", 0, 1), "x1": hp.uniform("x1", 0, 1), "x2": hp.uniform("x2", 0, 1)}
    fmin(
        lambda p: 4 * (p["x0"] - 0.3) ** 2 + 0.4 * p["x1"] + 0 * p["x2"],
        space,
        algo=rand.suggest,
        max_evals=n,
        trials=trials,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return trials


@pytest.mark.parametrize("seed", range(5))
def test_order_is_right_on_the_synthetic_objective(seed):
    shares = param_importances(synthetic(seed), seed=seed, normalize=False)
    assert list(shares) == ["x0", "x1", "x2"]
    assert shares["x0"] > 0.75 and 0.005 < shares["x1"] < 0.25 and shares["x2"] < 0.02
    assert sum(shares.values()) <= 1.0 + 1e-9  # main effects never explain more than all the variance


def test_normalised_importances_sum_to_one():
    assert sum(param_importances(synthetic(0)).values()) == pytest.approx(1.0)


def test_a_branch_effect_is_credited_to_its_choice_not_to_a_parameter_inside_it():
    """Branch 'b' is much worse; lr (only in branch 'a') matters within it; d barely; z not at all."""
    space = {
        "m": hp.choice("m", [{"k": "a", "lr": hp.loguniform("lr", -7, 0)}, {"k": "b", "d": hp.randint("d", 1, 10)}]),
        "z": hp.normal("z", 0, 1),
    }

    def fn(p):
        m = p["m"]
        return 1 + np.log(m["lr"]) ** 2 / 10 if m["k"] == "a" else 5 + 0.01 * m["d"]

    trials = Trials()
    fmin(
        fn,
        space,
        algo=rand.suggest,
        max_evals=80,
        trials=trials,
        rstate=np.random.default_rng(3),
        show_progressbar=False,
    )
    shares = param_importances(trials, normalize=False)
    assert list(shares)[:2] == ["m", "lr"] and shares["m"] > 0.4
    assert shares["z"] < 0.02 and shares["d"] < 0.02


def test_pchoice_and_unbounded_parameters_use_their_prior():
    space = {"c": hp.pchoice("c", [(0.9, 0.0), (0.1, 10.0)]), "n": hp.normal("n", 0, 1)}
    trials = Trials()
    fmin(
        lambda p: p["c"] + p["n"] ** 2,
        space,
        algo=rand.suggest,
        max_evals=60,
        trials=trials,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    shares = param_importances(trials, normalize=False)
    # Under the prior, c is 10 with probability 0.1: variance 9 vs Var(n^2) = 2, so c comes first.
    assert list(shares) == ["c", "n"] and shares["c"] > 0.6


def test_too_few_trials_say_so_instead_of_guessing():
    fig = plot_param_importances(synthetic(0, n=3))
    assert not fig.data and "at least 4 ok trials" in fig.layout.annotations[0].text
