"""auto.suggest: the algorithm contract, its decision on representative spaces, and that the decision is
logged once, stored with the run and shown in the report (in process; Spark: tests/executors/spark)."""

from __future__ import annotations

import functools
import json
import logging
import math

import numpy as np
import pytest

from parzen import Trials, Tuner, fmin, hp, tpe
from parzen.algorithms import auto, gp, local
from parzen.space import compile_space
from parzen.storage.store import TrialStore
from parzen.testing.algorithms import SPACES, AlgorithmContract
from parzen.view import from_store


class TestAuto(AlgorithmContract):
    algorithm = staticmethod(auto.suggest)


class TestAutoBatch(AlgorithmContract):
    algorithm = staticmethod(lambda space, history, rng: auto.suggest_many(space, history, rng, 3)[-1])


class TestAutoShortBudget(AlgorithmContract):
    algorithm = staticmethod(lambda space, history, rng: auto.suggest(space, history, rng, budget=20))


def history_of(space_def, n: int, running: int = 0, seed: int = 0):
    """A compiled space and `n` finished trials of random points (plus `running` still running)."""
    space = compile_space(space_def)
    trials = Trials()
    trials.attach_space(space)
    rng = np.random.default_rng(seed)
    for i in range(n + running):
        trial = trials.new(space.sample(rng))
        if i < n:
            trials.finish(trial.tid, {"errored": False, "result": {"status": "ok", "loss": float(rng.normal())}})
    return space, trials.history()


FLAT = {f"x{i}": hp.uniform(f"x{i}", -5, 5) for i in range(3)}
MOSTLY_CATEGORICAL = {f"c{i}": hp.choice(f"c{i}", ["a", "b", "c"]) for i in range(4)} | {"x": hp.uniform("x", 0, 1)}


# ---- the decision on representative spaces -----------------------------------------------------------------


def test_a_flat_continuous_space_goes_to_the_gp():
    space, history = history_of(FLAT, 15)
    decision = auto.describe(space, history)
    assert decision.method == "gp"
    assert decision.features.dim == 3 and decision.features.categorical_share == 0


@pytest.mark.parametrize("space_name", ["conditional", "shared_across_branches"])
def test_a_conditional_space_goes_to_tpe(space_name):
    space, history = history_of(SPACES[space_name], 15)
    decision = auto.describe(space, history)
    assert decision.method == "tpe" and "conditional" in decision.reason


def test_a_space_of_mostly_categorical_parameters_follows_the_learned_share():
    space, history = history_of(MOSTLY_CATEGORICAL, 15)
    decision = auto.describe(space, history)
    assert decision.features.categorical_share == 0.8
    assert decision.method == ("tpe" if auto.GP_MAX_CATEGORICAL_SHARE < 0.8 else "gp")


def test_a_space_beyond_the_learned_dimension_goes_to_tpe_with_trials_in_flight():
    wide = {f"x{i}": hp.uniform(f"x{i}", 0, 1) for i in range(auto.GP_MAX_DIM + 1)}
    space, history = history_of(wide, 5)
    decision = auto.decide(auto.features(space, history, extra=1))
    assert decision.method == "tpe" and "dimension" in decision.reason


NUMERIC = {f"x{i}": hp.uniform(f"x{i}", -5, 5) for i in range(auto.LOCAL_MIN_DIM - 1)} | {
    "n": hp.randint("n", 1, 50),
}


LOCAL_LIMIT = min(auto.LOCAL_MAX_BUDGET, auto.LOCAL_MAX_PER_DIM * auto.LOCAL_MIN_DIM)


def test_one_trial_at_a_time_on_enough_numeric_parameters_goes_to_local_search():
    space, history = history_of(NUMERIC, 5)
    decision = auto.describe(space, history, budget=LOCAL_LIMIT)
    assert decision.method == "local" and f"{auto.LOCAL_MIN_DIM} >= {auto.LOCAL_MIN_DIM}" in decision.reason


def test_local_search_is_left_below_its_dimension_with_a_categorical_in_flight_and_past_its_budget():
    narrow = dict(list(NUMERIC.items())[1:])
    space, history = history_of(narrow, 5)
    assert auto.describe(space, history).method == "gp"  # one parameter fewer
    space, history = history_of(NUMERIC | {"c": hp.choice("c", ["a", "b"])}, 5)
    decision = auto.describe(space, history)  # a categorical: local search would never move it
    assert decision.method == ("gp" if decision.features.dim <= auto.GP_MAX_DIM else "tpe")
    space, history = history_of(NUMERIC, 5, running=1)
    assert auto.describe(space, history).method == "gp"  # two at once
    space, history = history_of(NUMERIC, 5)
    assert auto.decide(auto.features(space, history, capacity=4)).method == "gp"  # the executor runs 4 at once
    beyond = auto.describe(space, history, budget=LOCAL_LIMIT + 1)
    assert beyond.method == ("gp" if LOCAL_LIMIT < auto.GP_MAX_BUDGET else "tpe")
    space, history = history_of(NUMERIC, LOCAL_LIMIT - 1)
    assert auto.describe(space, history).method == "local"  # budget unknown: local search up to the limit ...
    space, history = history_of(NUMERIC, LOCAL_LIMIT)
    assert auto.describe(space, history).method != "local"  # ... then the rest of the rule


def test_without_a_budget_the_gp_hands_over_to_tpe_during_the_run():
    space, history = history_of(FLAT, auto.GP_MAX_BUDGET - 1)
    assert auto.describe(space, history).method == "gp"
    space, history = history_of(FLAT, auto.GP_MAX_BUDGET)
    decision = auto.describe(space, history)
    assert decision.method == "tpe" and "budget unknown" in decision.reason


def test_past_the_speed_limit_tpe_whatever_the_budget():
    space, history = history_of(FLAT, auto.GP_MAX_HISTORY)
    decision = auto.describe(space, history, budget=auto.GP_MAX_BUDGET)
    assert decision.method == "tpe" and "speed" in decision.reason


def test_a_budget_beyond_the_learned_one_goes_to_tpe():
    space, history = history_of(FLAT, 10)
    assert auto.describe(space, history, budget=auto.GP_MAX_BUDGET).method == "gp"
    assert auto.describe(space, history, budget=auto.GP_MAX_BUDGET + 1).method == "tpe"


def test_trials_in_flight_and_the_batch_are_counted():
    space, history = history_of(FLAT, 10, running=5)
    assert auto.features(space, history, extra=2).in_flight == 7


def test_several_objectives_go_to_tpe():
    decision = auto.decide(auto.Features(3, 0.0, 0.0, False, 10, 0, None, 100, several_losses=True))
    assert decision.method == "tpe"


def test_auto_hands_the_call_to_the_chosen_method():
    """The same points as the method it names, for the same seed and history, one point or a batch."""
    cases = [(FLAT, 1), (FLAT, 4), (SPACES["conditional"], 1), (SPACES["conditional"], 4), (NUMERIC, 1)]
    methods = {
        "gp": gp.suggest_many,
        "tpe": tpe.suggest_many,
        "local": functools.partial(local.suggest_many, **auto.LOCAL_OPTIONS),
    }
    seen = set()
    for space_def, n in cases:
        space, history = history_of(space_def, 12)
        ours = auto.suggest_many(space, history, np.random.default_rng(3), n)
        named = auto.decide(auto.features(space, history, extra=n - 1)).method
        seen.add(named)
        expected = methods[named]
        space, history = history_of(space_def, 12)
        assert ours == expected(space, history, np.random.default_rng(3), n)
    assert seen == set(methods)


def test_a_batch_counts_as_trials_at_once():
    space, history = history_of(FLAT, 12)
    one = auto.decide(auto.features(space, history)).method
    many = auto.decide(auto.features(space, history, extra=7)).method
    assert one == "gp" and many == ("gp" if auto.GP_MAX_CONCURRENCY >= 8 else "tpe")
    edge = auto.decide(auto.features(space, history, extra=auto.GP_MAX_CONCURRENCY - 1))
    beyond = auto.decide(auto.features(space, history, extra=auto.GP_MAX_CONCURRENCY))
    assert edge.method == "gp" and beyond.method == "tpe" and "trials at once" in beyond.reason


# ---- visible: logged once, stored with the run, in the report --------------------------------------------------


def sphere(p: dict) -> float:
    return sum((v - 0.5) ** 2 for v in p.values())


def test_the_decision_is_logged_once_per_run(caplog):
    with caplog.at_level(logging.INFO, logger="parzen"):
        fmin(sphere, FLAT, algo=auto.suggest, max_evals=25, rstate=np.random.default_rng(0), show_progressbar=False)
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("auto:")]
    assert len(said) == 1 and said[0].startswith("auto: gp (")


def test_the_decision_is_stored_in_the_store_and_shown_in_the_report(tmp_path):
    path = tmp_path / "run.db"
    fmin(sphere, FLAT, algo=auto.suggest, max_evals=12, rstate=np.random.default_rng(0), trials_save_file=path)
    store = TrialStore(path, readonly=True)
    stored = json.loads(store.meta("algorithm"))
    assert [d["method"] for d in stored] == ["gp"] and stored[0]["budget"] == 12 and stored[0]["dim"] == 3
    view = from_store(path)
    assert view.settings["algorithm choice"].startswith("gp: flat space")
    from parzen.plotting._report import _summary

    assert 'id="algorithm-choice"' in _summary(view)


def test_a_resumed_run_keeps_the_earlier_decisions(tmp_path):
    path = tmp_path / "run.db"
    space = SPACES["conditional"]
    fmin(lambda p: 1.0, space, algo=auto.suggest, max_evals=5, rstate=np.random.default_rng(0), trials_save_file=path)
    fmin(lambda p: 1.0, space, algo=auto.suggest, max_evals=9, rstate=np.random.default_rng(1), trials_save_file=path)
    stored = json.loads(TrialStore(path, readonly=True).meta("algorithm"))
    assert [(d["method"], d["budget"]) for d in stored] == [("tpe", 5), ("tpe", 9)]
    assert stored[1]["n_trials"] == 5  # the second run started from the first one's trials


def test_ask_and_tell_with_a_budget_and_failed_trials():
    tuner = Tuner(FLAT, algo=lambda s, h, r: auto.suggest(s, h, r, budget=30), trials=Trials())
    for i in range(30):
        s = tuner.ask()
        tuner.tell(s.tid, math.nan if i % 7 == 3 else sphere(s.params))
    assert len(tuner.trials.records) == 30
