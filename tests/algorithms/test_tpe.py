"""TPE behaviour: it learns, respects every distribution, handles conditional spaces,
and keeps suggestions made while others run apart."""

import functools

import numpy as np
import pytest
from parzen.pyll import scope

from parzen import Trials, Tuner, anneal, fmin, hp, rand, tpe
from parzen.exceptions import InvalidArgument


def tpe_trials(fn, space, evals, seed=0, **kw):
    """The Trials of one fmin run with the default TPE."""
    trials = Trials()
    fmin(
        fn,
        space,
        algo=kw.pop("algo", tpe.suggest),
        trials=trials,
        max_evals=evals,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
        **kw,
    )
    return trials


def best_losses(algo, fn, space, seeds=8, evals=60):
    out = []
    for seed in range(seeds):
        trials = Trials()
        fmin(
            fn,
            space,
            algo=algo,
            trials=trials,
            max_evals=evals,
            rstate=np.random.default_rng(seed),
            show_progressbar=False,
        )
        out.append(trials.best_loss)
    return np.array(out)


SPHERE = {f"x{i}": hp.uniform(f"x{i}", -5, 5) for i in range(4)}


def sphere(p):
    return sum((v - 1.3) ** 2 for v in p.values())


def test_tpe_beats_random_search():
    t = best_losses(tpe.suggest, sphere, SPHERE)
    r = best_losses(rand.suggest, sphere, SPHERE)
    assert np.median(t) < 0.5 * np.median(r)


def test_anneal_beats_random_search():
    a = best_losses(anneal.suggest, sphere, SPHERE)
    r = best_losses(rand.suggest, sphere, SPHERE)
    assert np.median(a) < np.median(r)


def test_startup_trials_are_prior_draws():
    space = {"x": hp.uniform("x", 0, 1), "c": hp.choice("c", [1, 2, 3])}
    a = Tuner(space, algo=functools.partial(tpe.suggest, n_startup_jobs=5), rstate=np.random.default_rng(4))
    b = Tuner(space, algo=rand.suggest, rstate=np.random.default_rng(4))
    assert [a.ask().params for _ in range(5)] == [b.ask().params for _ in range(5)]


ALL_KINDS = {
    "u": hp.uniform("u", -1, 1),
    "q": hp.quniform("q", 0, 20, 5),
    "lu": hp.loguniform("lu", np.log(1e-4), np.log(1)),
    "qlu": hp.qloguniform("qlu", np.log(1), np.log(1000), 10),
    "n": hp.normal("n", 5, 2),
    "qn": hp.qnormal("qn", 0, 10, 3),
    "ln": hp.lognormal("ln", 0, 1),
    "qln": hp.qlognormal("qln", 1, 1, 2),
    "ri": hp.randint("ri", 3, 9),
    "ui": hp.uniformint("ui", 1, 4),
    "si": scope.int(hp.quniform("si", 2, 8, 1)),
    "c": hp.choice("c", ["a", "b", "c"]),
    "pc": hp.pchoice("pc", [(0.7, 0), (0.3, 1)]),
}


def all_kinds_loss(p):
    return (
        p["u"] ** 2
        + abs(p["q"] - 10)
        + abs(np.log(p["lu"]) + 4)
        + abs(p["qlu"] - 100) / 100
        + abs(p["n"] - 4)
        + abs(p["qn"]) / 10
        + abs(np.log(p["ln"] + 1e-9))
        + abs(p["qln"] - 4) / 4
        + abs(p["ri"] - 5)
        + p["ui"]
        + abs(p["si"] - 6)
        + (p["c"] != "b")
        + p["pc"]
    )


def test_every_distribution_stays_in_its_domain_and_improves():
    trials = tpe_trials(all_kinds_loss, ALL_KINDS, 120, seed=0)
    for r in trials.records:
        p = r.params
        assert -1 <= p["u"] <= 1 and p["q"] % 5 == 0 and 1e-4 <= p["lu"] <= 1
        assert p["qlu"] % 10 == 0 and p["qn"] % 3 == 0 and p["qln"] % 2 == 0 and p["ln"] > 0
        assert isinstance(p["ri"], int) and 3 <= p["ri"] < 9 and p["c"] in (0, 1, 2) and p["pc"] in (0, 1)
        assert p["ui"] in (1.0, 2.0, 3.0, 4.0)
    first, last = trials.losses()[:20], trials.losses()[-30:]
    assert np.median(last) < np.median(first)


def test_categorical_that_matters_is_learned():
    space = {"c": hp.choice("c", ["a", "b", "c"]), "x": hp.uniform("x", 0, 1)}
    trials = tpe_trials(lambda p: (p["c"] != "b") + (p["x"] - 0.5) ** 2, space, 60, seed=0)
    assert np.mean([r.params["c"] == 1 for r in trials.records[-20:]]) > 0.5


COND = hp.choice(
    "model",
    [
        {"kind": "linear", "alpha": hp.loguniform("alpha", np.log(1e-4), np.log(10))},
        {"kind": "tree", "depth": scope.int(hp.quniform("depth", 1, 12, 1)), "leaf": hp.uniform("leaf", 0, 1)},
    ],
)


def cond_loss(p):
    if p["kind"] == "linear":
        return 0.5 + abs(np.log10(p["alpha"]) + 2) / 10
    return abs(p["depth"] - 7) / 10 + (p["leaf"] - 0.2) ** 2


def test_conditional_space_finds_the_better_branch_and_its_optimum():
    losses = best_losses(tpe.suggest, cond_loss, COND, seeds=6, evals=80)
    assert np.median(losses) < 0.05


def test_conditional_parameters_only_suggested_when_active():
    trials = tpe_trials(cond_loss, COND, 60, seed=1)
    for r in trials.records:
        assert set(r.params) in ({"model", "alpha"}, {"model", "depth", "leaf"})


def spread_of_pending(liar: bool, seed: int) -> float:
    """Std of 8 suggestions asked while the previous ones are still running."""
    space = {"x": hp.uniform("x", 0, 1)}
    algo = functools.partial(tpe.suggest, liar=liar, n_startup_jobs=10)
    tuner = Tuner(space, algo=algo, rstate=np.random.default_rng(seed))
    for _ in range(30):
        s = tuner.ask()
        tuner.tell(s.tid, (s.args["x"] - 0.5) ** 2)
    return float(np.std([tuner.ask().args["x"] for _ in range(8)]))


def test_running_trials_push_new_suggestions_apart():
    with_liar = np.median([spread_of_pending(True, s) for s in range(10)])
    without = np.median([spread_of_pending(False, s) for s in range(10)])
    assert with_liar > 1.3 * without


def spread_before_startup_results(startup: str, seed: int) -> float:
    """Std of 12 suggestions asked while 12 trials run and only 3 have finished (n_startup_jobs=10)."""
    space = {"x": hp.uniform("x", 0, 1)}
    algo = functools.partial(tpe.suggest, startup=startup, in_flight_shrink=0.3, gap_fill=0.0)  # startup alone
    tuner = Tuner(space, algo=algo, rstate=np.random.default_rng(seed))
    first = [tuner.ask() for _ in range(12)]
    for s in first[:3]:
        tuner.tell(s.tid, (s.args["x"] - 0.5) ** 2)
    return float(np.std([tuner.ask().args["x"] for _ in range(12)]))


def test_startup_waits_for_finished_trials():
    """Trials in flight do not count as startup results: with 3 of 10 finished, suggestions stay prior draws."""
    finished = np.median([spread_before_startup_results("finished", s) for s in range(10)])
    counted_running = np.median([spread_before_startup_results("all", s) for s in range(10)])
    assert finished > 0.26  # a uniform draw on [0, 1] has std 0.289
    assert finished > 1.3 * counted_running


def spread_while_running(in_flight_shrink: float, seed: int) -> float:
    """Median distance to the optimum of 12 suggestions asked one by one while the earlier ones run."""
    space = {f"x{i}": hp.uniform(f"x{i}", 0, 1) for i in range(3)}
    algo = functools.partial(tpe.suggest, in_flight_shrink=in_flight_shrink, in_flight_independent=False)  # alone
    tuner = Tuner(space, algo=algo, rstate=np.random.default_rng(seed))
    for _ in range(40):
        s = tuner.ask()
        tuner.tell(s.tid, sum((v - 0.3) ** 2 for v in s.args.values()))
    pts = [tuner.ask().args for _ in range(12)]
    return float(np.median([np.sqrt(sum((v - 0.3) ** 2 for v in p.values())) for p in pts]))


def test_trials_in_flight_widen_the_below_kernels():
    """With trials running, suggestions cover more of the good region than the sequential (local) kernels."""
    widened = np.median([spread_while_running(1.0, s) for s in range(8)])
    local = np.median([spread_while_running(0.3, s) for s in range(8)])
    assert widened > 1.2 * local


def share_in_crash_region(seed: int) -> float:
    def fn(p):
        if p["x"] > 0.5:
            raise ValueError("crash region")
        return (p["x"] - 0.2) ** 2

    trials = Trials()
    fmin(
        fn,
        {"x": hp.uniform("x", 0, 1)},
        algo=tpe.suggest,
        trials=trials,
        max_evals=60,
        catch_eval_exceptions=True,
        rstate=np.random.default_rng(seed),
        show_progressbar=False,
    )
    return float(np.mean([r.params["x"] > 0.5 for r in trials.records[20:]]))


def test_failed_trials_are_avoided():
    """Failures count as bad outcomes (hyperopt ignores them and keeps sampling the crash region)."""
    assert np.mean([share_in_crash_region(s) for s in range(4)]) < 0.2  # random search: 0.5


@pytest.mark.parametrize(
    "options, words",
    [
        ({"gamma": 0}, "gamma must be in"),
        ({"n_EI_candidates": 0}, "n_EI_candidates must be an integer"),
        ({"prior_weight": -1}, "prior_weight must be > 0"),
        ({"split": "cubic"}, "split must be"),
        ({"startup": "running"}, "startup must be"),
        ({"in_flight_shrink": 0}, "in_flight_shrink must be in"),
        ({"kernel": "rotated"}, "unknown options \\['kernel'\\]"),  # an ablation that did not earn its place
        ({"below_shrink": 0}, "below_shrink must be in"),
        ({"gap_fill": 1.5}, "gap_fill must be in"),
        ({"n_ei_candidates": 5}, "unknown options \\['n_ei_candidates'\\]"),
    ],
)
def test_bad_options(options, words):
    tuner = Tuner({"x": hp.uniform("x", 0, 1)}, algo=functools.partial(tpe.suggest, n_startup_jobs=0, **options))
    with pytest.raises(InvalidArgument, match=words):
        tuner.ask()


def test_history_with_many_trials_is_fast_enough_to_run():
    """Vectorised: 2000 trials of history in a 10-D space; a suggestion still works."""
    space = {f"x{i}": hp.uniform(f"x{i}", 0, 1) for i in range(10)}
    tuner = Tuner(space, algo=rand.suggest, rstate=np.random.default_rng(0))
    for _ in range(2000):
        s = tuner.ask()
        tuner.tell(s.tid, sum(s.args.values()))
    point = tpe.suggest(tuner.space, tuner.trials.history(), np.random.default_rng(1))
    assert set(point) == set(space)


def test_mix_draws_algorithms_with_their_probabilities():
    from parzen import mix

    calls = []

    def tagged(name):
        def algo(space, history, rng):
            calls.append(name)
            return rand.suggest(space, history, rng)

        return algo

    algo = functools.partial(mix.suggest, p_suggest=[(0.2, tagged("rand")), (0.8, tagged("tpe"))])
    fmin(
        lambda p: p["x"],
        {"x": hp.uniform("x", 0, 1)},
        algo=algo,
        max_evals=400,
        show_progressbar=False,
        rstate=np.random.default_rng(0),
    )
    assert abs(calls.count("rand") / 400 - 0.2) < 0.05
    with pytest.raises(InvalidArgument, match="sum to 1"):
        fmin(
            lambda p: p["x"],
            {"x": hp.uniform("x", 0, 1)},
            max_evals=2,
            show_progressbar=False,
            algo=functools.partial(mix.suggest, p_suggest=[(0.5, rand.suggest)]),
        )


def test_unbounded_parameters_stay_near_their_prior():
    """Bandwidths are capped at the prior's sigma: no drift on a flat objective."""
    rng = np.random.default_rng(0)
    trials = tpe_trials(lambda p: float(rng.normal()), {"v": hp.normal("v", 0, 1)}, 200, seed=1)
    values = np.array([r.params["v"] for r in trials.records])
    assert np.mean(np.abs(values) > 4) < 0.02 and np.abs(values).max() < 8


def test_huge_quantised_values_do_not_win_by_nan():
    trials = tpe_trials(lambda p: abs(p["qn"] - 3), {"qn": hp.qlognormal("qn", 1, 1, 1)}, 60, seed=0)
    values = np.array([r.params["qn"] for r in trials.records])
    assert np.isfinite(values).all() and values.max() < 1e3


def test_pchoice_odds_bound_the_branch_floor():
    space = hp.pchoice(
        "m",
        [
            (0.0, {"never": hp.uniform("never", 0, 1)}),
            (0.05, {"rare": hp.uniform("rare", 0, 1)}),
            (0.95, {"often": hp.uniform("often", 0, 1)}),
        ],
    )
    trials = tpe_trials(lambda p: sum(p.values()), space, 80, seed=0)
    chosen = [r.params["m"] for r in trials.records]
    assert chosen.count(0) == 0 and chosen.count(1) < 15


def test_anneal_on_a_very_wide_randint():
    trials = Trials()
    fmin(
        lambda p: abs(p["seed"] - 1234),
        {"seed": hp.randint("seed", 200_000)},
        algo=anneal.suggest,
        trials=trials,
        max_evals=30,
        rstate=np.random.default_rng(0),
        show_progressbar=False,
    )
    assert all(0 <= r.params["seed"] < 200_000 for r in trials.records)


def test_long_histories_are_thinned_to_a_bounded_number_of_kernels():
    from parzen.algorithms.tpe.fit import _thin
    from parzen.algorithms.tpe.split import linear_forgetting_weights

    idx = np.arange(5000)
    weights = linear_forgetting_weights(5000, 25)
    kept, kept_w = _thin(idx, weights, 1000, 25, np.random.default_rng(0))
    assert len(kept) == 1000 and len(set(kept.tolist())) == 1000
    assert np.isclose(kept_w.sum(), weights.sum())
    assert kept[-25:].tolist() == list(range(4975, 5000))  # the newest trials are all kept
    old = kept[:-25]
    assert np.median(old) > 2500  # recent (heavier) trials are sampled more often


def test_tpe_with_a_small_kernel_cap_still_learns():
    algo = functools.partial(tpe.suggest, max_above=30)
    t = best_losses(algo, sphere, SPHERE, seeds=4, evals=80)
    r = best_losses(rand.suggest, sphere, SPHERE, seeds=4, evals=80)
    assert np.median(t) < np.median(r)


def _tuner_with_history(space, loss, n, seed=0):
    tuner = Tuner(space, algo=rand.suggest, rstate=np.random.default_rng(seed))
    for _ in range(n):
        s = tuner.ask()
        tuner.tell(s.tid, loss(s.args))
    return tuner


def test_suggest_many_is_one_fit_for_several_distinct_valid_points():
    tuner = _tuner_with_history(ALL_KINDS, all_kinds_loss, 40)
    history = tuner.trials.history()
    batch = tpe.suggest_many(tuner.space, history, np.random.default_rng(3), 12)
    again = tpe.suggest_many(tuner.space, history, np.random.default_rng(3), 12)
    assert batch == again and len({tuple(sorted(p.items())) for p in batch}) == 12
    for point in batch:
        assert tuner.space.check_point(point) == point
    # a batch of one is the sequential suggestion
    assert tpe.suggest_many(tuner.space, history, np.random.default_rng(5), 1) == [
        tpe.suggest(tuner.space, history, np.random.default_rng(5))
    ]


def test_suggest_many_on_a_conditional_space_keeps_each_point_consistent():
    tuner = _tuner_with_history(COND, cond_loss, 30)
    for point in tpe.suggest_many(tuner.space, tuner.trials.history(), np.random.default_rng(0), 20):
        assert set(point) in ({"model", "alpha"}, {"model", "depth", "leaf"})


@pytest.mark.parametrize("options", [{"below_shrink": 1.0}, {"multivariate": False}, {"split": "sqrt", "gamma": 0.25}])
def test_model_options_still_learn(options):
    t = best_losses(functools.partial(tpe.suggest, **options), sphere, SPHERE)
    r = best_losses(rand.suggest, sphere, SPHERE)
    assert np.median(t) < 0.5 * np.median(r)


def test_below_shrink_keeps_candidates_close_to_the_good_trials():
    """below_shrink < 1: suggestions refine the good trials instead of scattering at the sample's spacing."""
    space = {f"x{i}": hp.uniform(f"x{i}", 0, 1) for i in range(4)}
    tuner = _tuner_with_history(space, lambda p: sum((v - 0.3) ** 2 for v in p.values()), 60)
    history = tuner.trials.history()

    def spread(shrink):
        options = {"below_shrink": shrink, "in_flight_shrink": shrink, "in_flight_independent": False}
        pts = tpe.suggest_many(tuner.space, history, np.random.default_rng(2), 40, **options)
        return np.median([np.sqrt(sum((v - 0.3) ** 2 for v in p.values())) for p in pts])

    assert spread(0.3) < spread(1.0)


def _two_good_corners(n: int = 60) -> Tuner:
    """A 2-D history whose good trials sit near (0.2, 0.2) and (0.8, 0.8): the off-diagonal corners are new."""
    space = {"x": hp.uniform("x", 0, 1), "y": hp.uniform("y", 0, 1)}

    def loss(p):
        return min((p["x"] - 0.2) ** 2 + (p["y"] - 0.2) ** 2, (p["x"] - 0.8) ** 2 + (p["y"] - 0.8) ** 2)

    return _tuner_with_history(space, loss, n)


def _share_off_diagonal(points) -> float:
    return float(np.mean([abs(p["x"] - p["y"]) > 0.45 for p in points]))


def test_many_trials_in_flight_recombine_the_good_trials_coordinates():
    """With as many points in flight as good trials, some suggestions draw each parameter on its own:
    they combine x of one good trial with y of another, which joint kernels never propose."""
    tuner = _two_good_corners()
    history = tuner.trials.history()
    batch = {
        flag: tpe.suggest_many(tuner.space, history, np.random.default_rng(4), 48, in_flight_independent=flag)
        for flag in (True, False)
    }
    assert _share_off_diagonal(batch[False]) < 0.05
    assert _share_off_diagonal(batch[True]) > 0.1


def test_a_sequential_suggestion_is_the_joint_one():
    """Nothing in flight: the in-flight recombination changes nothing, not even the random stream."""
    tuner = _two_good_corners()
    history = tuner.trials.history()
    for seed in range(5):
        on = tpe.suggest(tuner.space, history, np.random.default_rng(seed), in_flight_independent=True)
        off = tpe.suggest(tuner.space, history, np.random.default_rng(seed), in_flight_independent=False)
        assert on == off


def _right_half_history() -> Tuner:
    """A 1-D history: [0.5, 1] sampled densely (the best near 0.9), [0, 0.5) by three bad trials only."""
    xs = np.concatenate([[0.05, 0.25, 0.45], np.linspace(0.5, 1.0, 20)])
    tuner = Tuner({"x": hp.uniform("x", 0, 1)}, rstate=0, points_to_evaluate=[{"x": float(x)} for x in xs])
    for x in xs:
        tuner.tell(tuner.ask().tid, 1.0 if x < 0.5 else (x - 0.9) ** 2)
    return tuner


def test_gap_fill_samples_the_sparse_region():
    """gap_fill: a gap-filling pick is the prior draw farthest from every trial, even where the few trials
    look bad; the picks of one batch keep away from each other too. Off, suggestions refine the good trials."""
    tuner = _right_half_history()
    history = tuner.trials.history()
    on = tpe.suggest_many(tuner.space, history, np.random.default_rng(1), 4, gap_fill=1.0)
    off = [tpe.suggest(tuner.space, history, np.random.default_rng(seed), gap_fill=0.0)["x"] for seed in range(10)]
    xs = np.sort([p["x"] for p in on])
    assert xs.max() < 0.5 and np.diff(xs).min() > 0.02
    assert np.median(off) > 0.75


def _distractor(x: float) -> float:
    """hyperopt's distractor: a broad plateau towards x = 15 (loss -1), a narrow spike at x = -10 (loss -2)."""
    return -1.0 / (1.0 + np.exp(-x)) - 2.0 * np.exp(-((x + 10) ** 2))


def _finds_the_spike(seed: int, **options) -> bool:
    trials = Trials()
    algo = functools.partial(tpe.suggest, **options)
    space = hp.uniform("x", -15, 15)
    fmin(_distractor, space, algo=algo, max_evals=100, trials=trials, rstate=np.random.default_rng(seed))
    return min(trials.losses()) < -1.96


def test_the_default_finds_the_distractors_spike_where_pure_l_over_g_misses_it():
    """hyperopt's TPE finds the spike in every seed; without gap filling parzen missed 4 of these 16."""
    assert all(_finds_the_spike(seed) for seed in range(16))
    assert sum(_finds_the_spike(seed, gap_fill=0.0) for seed in range(16)) <= 13
