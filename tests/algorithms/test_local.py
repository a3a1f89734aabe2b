"""local.suggest: the contract, COBYLA replayed from the history (pure, restartable), and its search."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from parzen import STATUS_FAIL, STATUS_OK, Trials, Tuner, fmin, hp, rand
from parzen.algorithms import local
from parzen.exceptions import InvalidArgument
from parzen.space import compile_space
from parzen.testing.algorithms import AlgorithmContract


class TestLocal(AlgorithmContract):
    algorithm = staticmethod(local.suggest)


class TestLocalBatch(AlgorithmContract):
    algorithm = staticmethod(lambda space, history, rng: local.suggest_many(space, history, rng, 3)[-1])


class TestLocalAfterSobol(AlgorithmContract):
    algorithm = staticmethod(functools.partial(local.suggest, n_startup=4))


def numeric_space(d: int) -> dict:
    return {f"x{i}": hp.uniform(f"x{i}", -5, 5) for i in range(d)}


def ellipsoid(d: int, seed: int):
    """A rotated ellipsoid with condition number 1e4 and its minimum away from the centre."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(d, d)))
    scales = 10.0 ** (4 * np.arange(d) / (d - 1))
    optimum = rng.uniform(-3, 3, d)

    def loss(p: dict) -> float:
        z = rotation @ (np.array([p[f"x{i}"] for i in range(d)]) - optimum)
        return float(np.sum(scales * z**2))

    return loss


def best_of(algo, loss, space, evals: int, seed: int) -> float:
    trials = Trials()
    fmin(loss, space, algo=algo, max_evals=evals, trials=trials, rstate=np.random.default_rng(seed),
         show_progressbar=False)  # fmt: skip
    return min(trials.losses())


def test_local_search_beats_random_tenfold_on_an_ill_conditioned_valley():
    d = 8
    ours = [best_of(local.suggest, ellipsoid(d, s), numeric_space(d), 120, s) for s in range(5)]
    theirs = [best_of(rand.suggest, ellipsoid(d, s), numeric_space(d), 120, s) for s in range(5)]
    assert np.median(ours) * 10 < np.median(theirs)
    assert sum(o < t for o, t in zip(ours, theirs)) == 5


def test_the_first_point_is_the_centre_and_the_next_ones_cobylas_first_steps():
    space = {"a": hp.uniform("a", 0, 6), "b": hp.loguniform("b", 0, 2), "n": hp.randint("n", 0, 13)}
    tuner = Tuner(space, algo=local.suggest, trials=Trials(), rstate=np.random.default_rng(0))
    points = []
    for _ in range(4):
        suggestion = tuner.ask()
        points.append(suggestion.params)
        tuner.tell(suggestion.tid, sum(float(v) for v in suggestion.params.values()))
    assert points[0] == {"a": 3.0, "b": pytest.approx(np.e), "n": 6}
    # a first step of a sixth of each range along one axis at a time (COBYLA's initial simplex)
    assert points[1]["a"] == pytest.approx(4.0) and points[1]["n"] == 6
    assert points[2]["a"] == pytest.approx(3.0) and points[2]["b"] == pytest.approx(np.exp(1 + 2 / 6))


def run_history(space_def: dict, n: int, loss, algo=local.suggest):
    trials = Trials()
    fmin(loss, space_def, algo=algo, max_evals=n, trials=trials, rstate=np.random.default_rng(0),
         show_progressbar=False)  # fmt: skip
    return trials


def test_a_suggestion_is_a_pure_function_of_the_history():
    """The run's kept replay and a replay from scratch (a fresh space: a resumed run) agree at every step,
    with foreign and failed trials in the history."""
    space_def, loss = numeric_space(6), ellipsoid(6, 1)
    kept = compile_space(space_def)
    trials = Trials()
    trials.attach_space(kept)
    rng = np.random.default_rng(0)
    for step in range(45):
        point = local.suggest(kept, trials.history(), rng)
        assert point == local.suggest(compile_space(space_def), trials.history(), np.random.default_rng(9))
        if step % 11 == 10:  # a trial some other algorithm made
            point = kept.sample(rng)
        trial = trials.new(point)
        if step % 7 == 6:
            trials.finish(trial.tid, {"errored": True, "result": {"status": "fail"}, "error": "crash"})
        else:
            trials.finish(trial.tid, {"errored": False, "result": {"status": "ok", "loss": loss(point)}})


def test_foreign_trials_restart_the_search_from_the_best_of_them():
    """After trials it did not ask for (random search's, here), COBYLA starts again from the best one."""
    space_def, loss = numeric_space(4), ellipsoid(4, 2)
    trials = run_history(space_def, 10, loss, algo=rand.suggest)
    space = compile_space(space_def)
    trials.attach_space(space)
    history = trials.history()
    point = local.suggest(space, history, np.random.default_rng(0), n_startup=10)
    best = trials.best_trial["misc"]["vals"]
    best = {k: v[0] for k, v in best.items()}
    moved = [k for k in best if abs(point[k] - best[k]) > 1e-9]
    assert len(moved) == 1 and abs(point[moved[0]] - best[moved[0]]) == pytest.approx(10 / 6)


def test_failed_trials_and_a_running_one_never_stop_the_search():
    d = 5
    target = ellipsoid(d, 3)
    calls = {"n": 0}

    def objective(p: dict) -> dict:
        calls["n"] += 1
        if p["x0"] > 2:  # a region where the trial crashes
            return {"status": STATUS_FAIL}
        return {"status": STATUS_OK, "loss": target(p)}

    trials = run_history(numeric_space(d), 60, objective)
    assert len(trials) == 60 and min(trials.losses()) < target({f"x{i}": 0.0 for i in range(d)})
    space = compile_space(numeric_space(d))
    trials.attach_space(space)
    running = trials.new(local.suggest(space, trials.history(), np.random.default_rng(0)))
    more = local.suggest_many(space, trials.history(), np.random.default_rng(1), 4)
    assert len({tuple(sorted(p.items())) for p in more}) == 4 and running.tid == 60
    for p in more:
        assert all(-5 <= v <= 5 for v in p.values())


def test_an_integer_grid_is_not_tried_twice():
    """COBYLA's steps snapped to a grid often land on a point already tried: its loss is reused, not asked."""
    space = {f"n{i}": hp.randint(f"n{i}", 0, 8) for i in range(5)}
    trials = run_history(space, 80, lambda p: sum((v - 2) ** 2 for v in p.values()))
    points = [tuple(sorted(t["misc"]["vals"].items())) for t in trials.trials]
    assert len(set(map(str, points))) == len(points)
    assert min(trials.losses()) == 0


def test_options_are_checked_by_name():
    space = compile_space(numeric_space(2))
    history = Trials().history()
    for bad in ({"rho_begin": 0}, {"rho_end": 1.0}, {"n_startup": -1}, {"speed": 2}):
        with pytest.raises(InvalidArgument, match=next(iter(bad))):
            local.suggest(space, history, np.random.default_rng(0), **bad)


def test_after_a_gp_startup_cobyla_refines_the_gps_best_trial():
    """startup="gp" (auto's arm): the GP for `startup_per_dim` trials per parameter, then COBYLA's first step
    from the GP's best trial (its start is that trial, answered from the history, not tried again)."""
    d, per_dim = 4, 3
    space_def, loss = numeric_space(d), ellipsoid(d, 4)
    algo = functools.partial(local.suggest, startup="gp", startup_per_dim=per_dim)
    trials = run_history(space_def, d * per_dim + 1, loss, algo=algo)
    first_steps = trials.trials[: d * per_dim]
    best = min(first_steps, key=lambda t: t["result"]["loss"])["misc"]["vals"]
    step = trials.trials[-1]["misc"]["vals"]
    moved = [k for k in best if abs(step[k][0] - best[k][0]) > 1e-9]
    assert len(moved) == 1 and abs(step[moved[0]][0] - best[moved[0]][0]) == pytest.approx(10 / 6)
    assert min(run_history(space_def, 60, loss, algo=algo).losses()) < min(trials.losses())


def test_the_replayed_cobyla_of_older_scipy_makes_the_same_search(monkeypatch):
    """scipy < 1.16 cannot keep COBYLA paused (a module lock): there each step replays it; same points."""
    space_def, loss = numeric_space(5), ellipsoid(5, 5)
    paused = [t["misc"]["vals"] for t in run_history(space_def, 40, loss).trials]
    monkeypatch.setattr(local, "_COBYLA_LOCKED", True)
    replayed = [t["misc"]["vals"] for t in run_history(space_def, 40, loss).trials]
    assert replayed == paused
