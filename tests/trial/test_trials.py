"""Trials views: hyperopt's documents and helpers, plus best_params and to_dataframe."""

import numpy as np
import pytest

from parzen import JOB_STATE_DONE, STATUS_FAIL, STATUS_OK, Trials, fmin, hp, rand
from parzen.exceptions import AllTrialsFailed, InvalidArgument

SPACE = {"m": hp.choice("m", [{"k": "lin", "a": hp.uniform("a", 0, 1)}, {"k": "tree", "d": hp.randint("d", 1, 5)}])}


def fn(p):
    if p["m"]["k"] == "tree" and p["m"]["d"] == 4:
        return {"status": STATUS_FAIL}
    return p["m"].get("a", 0.5)


@pytest.fixture
def trials():
    t = Trials()
    fmin(fn, SPACE, algo=rand.suggest, trials=t, max_evals=40, rstate=np.random.default_rng(2), show_progressbar=False)
    return t


def test_documents_have_hyperopt_keys(trials):
    doc = trials.trials[0]
    assert set(doc) == {
        "state",
        "tid",
        "spec",
        "result",
        "misc",
        "exp_key",
        "owner",
        "version",
        "book_time",
        "refresh_time",
    }
    assert set(doc["misc"]) >= {"tid", "cmd", "workdir", "idxs", "vals"}
    assert doc["state"] == JOB_STATE_DONE
    assert set(doc["misc"]["vals"]) == {"m", "a", "d"}


def test_vals_idxs_only_for_active_labels(trials):
    for doc in trials.trials:
        vals, idxs = doc["misc"]["vals"], doc["misc"]["idxs"]
        active = {k for k, v in vals.items() if v}
        assert active == ({"m", "a"} if vals["m"] == [0] else {"m", "d"})
        assert all(idxs[k] == [doc["tid"]] for k in active)
    assert len(trials.vals["m"]) == 40
    assert len(trials.vals["a"]) + len(trials.vals["d"]) == 40
    assert trials.idxs["a"] == [d["tid"] for d in trials.trials if d["misc"]["vals"]["a"]]


def test_losses_statuses_results(trials):
    assert len(trials.losses()) == len(trials.statuses()) == len(trials.results) == len(trials) == 40
    for loss, status in zip(trials.losses(), trials.statuses()):
        assert (loss is None) == (status == STATUS_FAIL)
    assert trials.tids == list(range(40))


def test_best_trial_argmin_best_params(trials):
    ok = [(d["result"]["loss"], d["tid"]) for d in trials.trials if d["result"]["status"] == STATUS_OK]
    assert trials.best_trial["tid"] == min(ok)[1]
    assert trials.argmin == {k: v[0] for k, v in trials.best_trial["misc"]["vals"].items() if v}
    best = trials.best_params
    assert best["m"]["k"] in ("lin", "tree")


def test_to_dataframe(trials):
    df = trials.to_dataframe()
    assert len(df) == 40
    assert {"tid", "state", "status", "loss", "params_m", "params_a", "params_d"} <= set(df.columns)
    assert df["params_a"].isna().sum() + df["params_d"].isna().sum() == 40
    assert (df["status"] == "fail").sum() == trials.n_failed


def test_choice_values_in_dataframe_are_real_values():
    t = Trials()
    fmin(
        lambda p: 1.0,
        {"c": hp.choice("c", ["gini", "entropy"])},
        algo=rand.suggest,
        trials=t,
        max_evals=5,
        show_progressbar=False,
    )
    assert set(t.to_dataframe()["params_c"]) <= {"gini", "entropy"}


def test_empty_trials():
    t = Trials()
    assert len(t) == 0 and t.trials == [] and t.losses() == [] and t.best_loss is None
    with pytest.raises(AllTrialsFailed, match="no finished trials"):
        _ = t.argmin
    with pytest.raises(InvalidArgument, match="best_params needs the search space"):
        _ = t.best_params


def test_iteration_and_indexing(trials):
    assert [d["tid"] for d in trials][:3] == [0, 1, 2]
    assert trials[5]["tid"] == 5
    assert "40 trials" in repr(trials)


def test_documents_update_after_new_trials(trials):
    before = trials.trials
    fmin(fn, SPACE, algo=rand.suggest, trials=trials, max_evals=45, show_progressbar=False)
    assert len(before) == 40 and len(trials.trials) == 45
