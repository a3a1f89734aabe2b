"""gp.suggest: the algorithm contract, the model's mathematics, and that it optimises.

Timing is never asserted here (benchmarks/portfolio.py measures it).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from scipy.optimize import approx_fprime
from scipy.stats import norm

from parzen import Trials, Tuner, hp, rand, tpe
from parzen.algorithms import gp
from parzen.algorithms.gp._acquisition import log_ei, log_h
from parzen.algorithms.gp._model import Posterior, Prior, fit, neg_log_posterior
from parzen.exceptions import InvalidArgument
from parzen.space import compile_space
from parzen.testing import algorithms as contract
from parzen.testing.algorithms import AlgorithmContract
from parzen.trial import TrialState

SPACES = contract.SPACES


class TestGP(AlgorithmContract):
    algorithm = staticmethod(gp.suggest)


class TestGPEarlyModel(AlgorithmContract):
    algorithm = staticmethod(functools.partial(gp.suggest, n_startup_jobs=3))


class TestGPLiarRank(AlgorithmContract):
    algorithm = staticmethod(functools.partial(gp.suggest, n_startup_jobs=3, in_flight="liar", transform="rank"))


class TestGPBatch(AlgorithmContract):
    algorithm = staticmethod(lambda space, history, rng: gp.suggest_many(space, history, rng, 3, n_startup_jobs=3)[-1])


class TestGPTrustRegion(AlgorithmContract):
    algorithm = staticmethod(functools.partial(gp.suggest, n_startup_jobs=3, trust_region=True))


def test_the_model_phase_keeps_the_contract_on_every_numeric_kind_and_categoricals():
    """Past the startup, many suggestions on the mixed spaces: integers, quanta, options of odds 0, bounds."""
    for name in ("every_numeric_kind", "categorical"):
        contract.drive(functools.partial(gp.suggest, n_startup_jobs=2), SPACES[name], seed=3, n=40)


def test_a_conditional_space_is_handed_to_tpe():
    """Documented behaviour: inactive parameters are never modelled as values; TPE models the branches."""
    space = compile_space(SPACES["conditional"])
    trials = Trials()
    trials.attach_space(space)
    for i in range(15):
        trial = trials.new(space.sample(np.random.default_rng(i)))
        trials.finish(trial.tid, {"errored": False, "result": {"status": "ok", "loss": float(i % 7)}})
    ours = gp.suggest_many(space, trials.history(), np.random.default_rng(1), 4)
    theirs = tpe.suggest_many(space, trials.history(), np.random.default_rng(1), 4)
    assert ours == theirs


# ---- options ----------------------------------------------------------------------------------------


def test_unknown_and_bad_options_are_refused_with_their_name():
    space = compile_space({"x": hp.uniform("x", 0, 1)})
    trials = Trials()
    trials.attach_space(space)
    with pytest.raises(InvalidArgument, match="n_strtup"):
        gp.suggest(space, trials.history(), np.random.default_rng(0), n_strtup=3)
    with pytest.raises(InvalidArgument, match="transform"):
        gp.suggest(space, trials.history(), np.random.default_rng(0), transform="cube")
    with pytest.raises(InvalidArgument, match="n_startup_jobs"):
        gp.suggest(space, trials.history(), np.random.default_rng(0), n_startup_jobs=1)


# ---- the mathematics ----------------------------------------------------------------------------------


def test_log_h_matches_the_direct_formula_and_stays_finite_in_the_tail():
    z = np.array([-30.0, -10.0, -3.0, -1.0001, -0.9999, 0.0, 2.0, 20.0])
    direct = np.log(norm.pdf(z) + z * norm.cdf(z))
    assert np.allclose(log_h(z), direct, rtol=1e-9, atol=1e-12)
    tail = log_h(np.array([-1e3, -1e6, -1e9]))
    assert np.all(np.isfinite(tail)) and np.all(np.diff(tail) < 0)


def test_log_ei_derivatives_match_finite_differences():
    mean, var, best = np.array([0.1, 2.0, 5.0]), np.array([0.5, 0.01, 0.001]), 0.0
    value, d_mean, d_var = log_ei(mean, var, best)
    assert np.allclose(d_mean, (log_ei(mean + 1e-7, var, best)[0] - value) / 1e-7, rtol=1e-4)
    assert np.allclose(d_var, (log_ei(mean, var + 1e-10, best)[0] - value) / 1e-10, rtol=1e-3)


def _toy_data(seed: int = 0):
    rng = np.random.default_rng(seed)
    n = 25
    z = np.zeros((n, 5))
    z[:, :3] = rng.uniform(size=(n, 3))
    z[np.arange(n), 3 + rng.integers(0, 2, n)] = 1 / math.sqrt(2)  # one categorical of two options
    columns = np.array([0, 1, 2, 3, 3])
    y = np.sin(4 * z[:, 0]) + z[:, 1] ** 2 + 0.3 * (z[:, 3] > 0)
    return z, (y - y.mean()) / y.std(), columns


@pytest.mark.parametrize("kind", ["hvarfner", "optuna"])
def test_marginal_likelihood_gradient_matches_finite_differences(kind):
    z, y, columns = _toy_data()
    prior = Prior.for_dims(4, 1e-6, kind=kind)
    theta = np.array([0.1, -0.5, 0.3, 0.2, 0.1, -3.0])
    grad = neg_log_posterior(theta, z, y, columns, prior)[1]
    numeric = approx_fprime(theta, lambda t: neg_log_posterior(t, z, y, columns, prior)[0], 1e-6)
    assert np.allclose(grad, numeric, rtol=1e-4, atol=1e-4)


def test_posterior_gradients_and_the_bordered_update_are_exact():
    z, y, columns = _toy_data()
    hyper = fit(z, y, columns, Prior.for_dims(4, 1e-6), None, 100)
    post = Posterior(z, y, hyper, columns)
    x = np.array([[0.3, 0.6, 0.2, 1 / math.sqrt(2), 0.0]])
    mean, var, d_mean, d_var = post.predict(x, grad=True)
    for c in range(3):
        step = np.zeros_like(x)
        step[0, c] = 1e-6
        m2, v2 = post.predict(x + step)
        assert math.isclose(d_mean[0, c], (m2 - mean)[0] / 1e-6, rel_tol=1e-3, abs_tol=1e-5)
        assert math.isclose(d_var[0, c], (v2 - var)[0] / 1e-6, rel_tol=1e-3, abs_tol=1e-5)
    grown = Posterior(np.vstack([z, x]), np.append(y, 0.25), hyper, columns)
    post.add(x, 0.25)
    assert np.allclose(post.chol, grown.chol) and np.allclose(post.alpha, grown.alpha)


def test_the_fit_finds_the_relevant_parameter():
    """y depends on the first coordinate only: its length-scale is the shortest."""
    rng = np.random.default_rng(1)
    z = rng.uniform(size=(30, 3))
    y = np.sin(6 * z[:, 0])
    hyper = fit(z, (y - y.mean()) / y.std(), np.arange(3), Prior.for_dims(3, 1e-6), None, 200)
    assert np.argmin(hyper.lengthscales) == 0
    assert hyper.lengthscales[0] * 5 < min(hyper.lengthscales[1:])


# ---- it optimises -----------------------------------------------------------------------------------


def sphere(args: dict) -> float:
    return sum((args[f"x{i}"] - 0.3 * i) ** 2 for i in range(5))


def branin(args: dict) -> float:
    x1, x2 = args["x0"], args["x1"]
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10 - 0.397887


PROBLEMS = {
    "sphere5": ({f"x{i}": hp.uniform(f"x{i}", -5, 5) for i in range(5)}, sphere),
    "branin": ({"x0": hp.uniform("x0", -5, 10), "x1": hp.uniform("x1", 0, 15)}, branin),
}


def best_after(algo, problem: str, seed: int, evals: int = 30) -> float:
    space, objective = PROBLEMS[problem]
    tuner = Tuner(space, algo=algo, trials=Trials(), rstate=np.random.default_rng(seed))
    best = math.inf
    for _ in range(evals):
        s = tuner.ask()
        loss = objective(s.params)
        tuner.tell(s.tid, loss)
        best = min(best, loss)
    return best


@pytest.mark.parametrize("problem", sorted(PROBLEMS))
def test_gp_beats_random_by_a_margin_over_seeds(problem):
    """30 evaluations, 8 seeds: gp ahead in every seed and 10x closer to the optimum in geometric mean."""
    ours = np.array([best_after(gp.suggest, problem, seed) for seed in range(8)])
    theirs = np.array([best_after(rand.suggest, problem, seed) for seed in range(8)])
    assert (ours < theirs).sum() >= 7
    assert np.mean(np.log10(ours + 1e-12)) < np.mean(np.log10(theirs + 1e-12)) - 1.0


def _history_with(points: list[dict], losses: list[float | None], space) -> Trials:
    trials = Trials()
    trials.attach_space(space)
    for point, loss in zip(points, losses):
        trial = trials.new(point)
        if loss is None:
            continue  # left running
        if math.isnan(loss):
            trials.finish(trial.tid, {"errored": True, "result": {"status": "fail"}, "error": "crash"})
        else:
            trials.finish(trial.tid, {"errored": False, "result": {"status": "ok", "loss": loss}})
    return trials


def test_a_batch_spreads_out_and_keeps_away_from_running_trials():
    space = compile_space(PROBLEMS["sphere5"][0])
    rng = np.random.default_rng(0)
    points = [space.sample(rng) for _ in range(20)]
    losses: list[float | None] = [sphere(p) for p in points[:16]] + [None] * 4  # the last 4 still running
    trials = _history_with(points, losses, space)
    batch = gp.suggest_many(space, trials.history(), np.random.default_rng(1), 8)
    x = np.array([[p[f"x{i}"] for i in range(5)] for p in batch])
    running = np.array([[p[f"x{i}"] for i in range(5)] for p in points[16:]])
    pairwise = np.linalg.norm(x[:, None] - x[None, :], axis=2)[np.triu_indices(8, 1)]
    assert pairwise.min() > 0.05  # 8 distinct points, not one point 8 times (the box spans 10 per axis)
    assert np.linalg.norm(x[:, None] - running[None, :], axis=2).min() > 0.05


def test_failed_trials_count_against_their_region():
    """The objective crashes for x0 > 0; after a startup, suggestions keep to x0 < 0."""
    space = compile_space({"x0": hp.uniform("x0", -1, 1), "x1": hp.uniform("x1", -1, 1)})
    tuner = Tuner(space, algo=gp.suggest, trials=Trials(), rstate=np.random.default_rng(3))
    crashes_after_startup = 0
    for i in range(40):
        s = tuner.ask()
        failed = s.params["x0"] > 0
        tuner.tell(s.tid, RuntimeError("crash") if failed else (s.params["x0"] + 0.5) ** 2 + s.params["x1"] ** 2)
        crashes_after_startup += failed and i >= 10
    assert crashes_after_startup <= 3
    states = tuner.trials.history().state
    assert (states == TrialState.ERROR).sum() >= 1  # the startup did find the crashing half


# ---- the quadratic step ---------------------------------------------------------------------------------


def _rotated_ellipsoid(x: np.ndarray, optimum: np.ndarray, condition: float = 1e6) -> np.ndarray:
    """A rotated ellipsoid of the given condition number: a GP's hard case, a quadratic's easy one."""
    d = x.shape[1]
    q, _ = np.linalg.qr(np.random.default_rng(7).normal(size=(d, d)))
    scales = condition ** (np.arange(d) / (d - 1))
    z = (x - optimum) @ q
    return (scales * z**2).sum(axis=1)


def test_the_quadratic_minimiser_finds_an_ill_conditioned_valleys_floor():
    from parzen.algorithms.gp._quadratic import quadratic_minimiser, trials_needed

    rng = np.random.default_rng(0)
    optimum = np.array([0.3, 0.6, 0.45, 0.5])
    x = optimum + rng.uniform(-0.2, 0.2, size=(trials_needed(4), 4))
    loss = _rotated_ellipsoid(x, optimum)
    found = quadratic_minimiser(x, loss, np.arange(4), (np.zeros(4), np.ones(4)))
    assert found is not None
    assert np.abs(found - optimum).max() < 1e-6
    assert _rotated_ellipsoid(found[None, :], optimum)[0] < 1e-6 * loss.min()


def test_the_quadratic_step_is_skipped_where_a_quadratic_cannot_rank_the_trials():
    from parzen.algorithms.gp._quadratic import quadratic_minimiser, trials_needed

    rng = np.random.default_rng(1)
    x = rng.uniform(size=(3 * trials_needed(3), 3))
    rugged = np.sin(40 * x).sum(axis=1) + rng.normal(size=len(x))  # many optima: no quadratic ranks them
    assert quadratic_minimiser(x, rugged, np.arange(3), (np.zeros(3), np.ones(3))) is None
    assert quadratic_minimiser(x[:5], rugged[:5], np.arange(3), (np.zeros(3), np.ones(3))) is None  # too few


def test_quadratic_every_proposes_the_fit_on_its_turn_only_and_keeps_categoricals():
    """On its turn the suggestion is the valley's floor (the GP alone is far from it); off turn, the GP's."""
    space = compile_space({"a": hp.choice("a", ["p", "q"]), **{f"x{i}": hp.uniform(f"x{i}", 0, 1) for i in range(3)}})
    optimum = np.array([0.2, 0.7, 0.4])
    rng = np.random.default_rng(2)
    points = [
        {"a": int(rng.integers(2)), **{f"x{i}": float(v) for i, v in enumerate(optimum + rng.uniform(-0.3, 0.3, 3))}}
        for _ in range(30)
    ]
    losses = [float(_rotated_ellipsoid(np.array([[p[f"x{i}"] for i in range(3)]]), optimum)[0]) for p in points]
    trials = _history_with(points, losses, space)
    on_turn = gp.suggest(space, trials.history(), np.random.default_rng(3), quadratic_every=5)  # 30 % 5 == 0
    off_turn = gp.suggest(space, trials.history(), np.random.default_rng(3), quadratic_every=7)
    plain = gp.suggest(space, trials.history(), np.random.default_rng(3), quadratic_every=0)
    x_on = np.array([on_turn[f"x{i}"] for i in range(3)])
    assert np.abs(x_on - optimum).max() < 1e-3
    assert on_turn["a"] == points[int(np.argmin(losses))]["a"]  # categoricals: the best trial's option
    assert off_turn == plain
    with pytest.raises(InvalidArgument, match="quadratic_every"):
        gp.suggest(space, trials.history(), np.random.default_rng(0), quadratic_every=-1)


class TestGPQuadratic(AlgorithmContract):
    algorithm = staticmethod(functools.partial(gp.suggest, n_startup_jobs=3, quadratic_every=2))
