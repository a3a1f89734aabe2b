"""Bringing history from hyperopt: its Trials (or their pickle), its trial documents, known points.

Real hyperopt runs produce the histories; parzen's fmin and TPE continue from them.
"""

import functools
import pickle

import numpy as np
import pytest

hyperopt = pytest.importorskip("hyperopt")

import parzen  # noqa: E402
from parzen import Trials, TrialState  # noqa: E402
from parzen.exceptions import InvalidArgument, InvalidParameterValue, InvalidTrial  # noqa: E402


def space_of(lib):
    """The same conditional space written with either library's hp."""
    hp = lib.hp
    return {
        "model": hp.choice(
            "model",
            [{"kind": "a", "x": hp.uniform("xa", -5, 5)}, {"kind": "b", "x": hp.uniform("xb", -5, 5)}],
        ),
        "lr": hp.loguniform("lr", np.log(1e-3), 0),
    }


def objective(p):
    """Branch b near x = 2 is best; x > 4 returns STATUS_FAIL; x < -4 raises; trial notes are attached."""
    x = p["model"]["x"]
    if x < -4:
        raise ValueError(f"x={x} too small")
    if x > 4:
        return {"status": "fail", "why": "x too large"}
    loss = (x - 2) ** 2 + (0 if p["model"]["kind"] == "b" else 5) + p["lr"]
    return {"loss": loss, "status": "ok", "attachments": {"note": f"x={x:.3f}"}}


@pytest.fixture(scope="module")
def hyperopt_run():
    trials = hyperopt.Trials()
    hyperopt.fmin(objective, space_of(hyperopt), algo=hyperopt.tpe.suggest, max_evals=40, trials=trials,
                  catch_eval_exceptions=True, rstate=np.random.default_rng(7), show_progressbar=False)  # fmt: skip
    return trials


def test_from_hyperopt_keeps_tids_states_losses_and_results(hyperopt_run):
    docs = hyperopt_run._dynamic_trials  # all of them: hyperopt's .trials hides the errored ones
    converted = parzen.from_hyperopt(hyperopt_run, space=space_of(parzen))
    assert converted.tids == [d["tid"] for d in docs] and len(converted) == 40
    errored = [d["tid"] for d in docs if d["state"] == hyperopt.JOB_STATE_ERROR]
    failed = [d["tid"] for d in docs if d["state"] == 2 and d["result"]["status"] == "fail"]
    assert errored and failed, "the run fails some trials both ways"
    for tid in errored:
        record = converted.record(tid)
        assert record.state == TrialState.ERROR and "too small" in record.error
    for tid in failed:
        record = converted.record(tid)
        assert record.state == TrialState.DONE and record.result["status"] == "fail" and record.loss is None
        assert record.result["why"] == "x too large"
    for doc in docs:
        if doc["result"].get("status") == "ok":
            assert converted.record(doc["tid"]).loss == doc["result"]["loss"]
    assert converted.n_failed == len(errored) + len(failed)
    best = hyperopt_run.best_trial["tid"]
    assert converted.trial_attachments(converted.record(best))["note"].startswith("x=")


def test_from_hyperopt_maps_choices_to_the_same_points(hyperopt_run):
    converted = parzen.from_hyperopt(hyperopt_run, space=space_of(parzen))
    assert converted.argmin == {k: v for k, v in hyperopt_run.argmin.items()}
    assert converted.best_params == hyperopt.space_eval(space_of(hyperopt), hyperopt_run.argmin)


def test_parzen_tpe_continues_from_the_hyperopt_history(hyperopt_run):
    converted = parzen.from_hyperopt(hyperopt_run, space=space_of(parzen))
    calls = []

    def counted(p):
        calls.append(p)
        return objective(p)

    parzen.fmin(counted, space_of(parzen), algo=parzen.tpe.suggest, max_evals=60, trials=converted,
                catch_eval_exceptions=True, rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    assert len(calls) == 20 and converted.tids == list(range(60))  # the 40 old trials are not re-run
    # the same 20 trials without the history are TPE's random startup: the history shows in
    # what TPE does with it (x near 2 in branch b; fewer trials where the objective fails)
    fresh = Trials()
    parzen.fmin(objective, space_of(parzen), algo=parzen.tpe.suggest, max_evals=20, trials=fresh,
                catch_eval_exceptions=True, rstate=np.random.default_rng(0), show_progressbar=False)  # fmt: skip
    continued = converted.records[40:]
    assert _median_distance_to_2(continued) < 0.5 < 1.0 < _median_distance_to_2(fresh.records)
    assert sum(r.loss is None for r in continued) < sum(r.loss is None for r in fresh.records)


def _median_distance_to_2(records):
    return float(np.median([abs(r.params["xb"] - 2) for r in records if "xb" in r.params]))


def test_from_hyperopt_reads_a_pickle_file(hyperopt_run, tmp_path):
    path = tmp_path / "trials.pkl"
    path.write_bytes(pickle.dumps(hyperopt_run))
    with pytest.warns(UserWarning, match=r"from_hyperopt unpickles .*trials.pkl: loading a pickle runs code"):
        from_file = parzen.from_hyperopt(path, space=space_of(parzen))
    assert [r.params for r in from_file.records] == [r.params for r in parzen.from_hyperopt(hyperopt_run).records]


def test_from_hyperopt_refuses_a_space_the_history_does_not_fit(hyperopt_run):
    narrow = space_of(parzen) | {"lr": parzen.hp.uniform("lr", 0.5, 1.0)}
    with pytest.raises(InvalidTrial, match=r"trial \d+ of the hyperopt history does not fit.*'lr'"):
        parzen.from_hyperopt(hyperopt_run, space=narrow)


@pytest.mark.parametrize("wrong", [Trials(), 42, "no such file.pkl"])
def test_from_hyperopt_refuses_what_is_not_a_hyperopt_history(wrong):
    with pytest.raises((InvalidArgument, FileNotFoundError)):
        parzen.from_hyperopt(wrong)


# ---- trial documents ---------------------------------------------------------------------------


def test_trials_from_docs_keeps_results_and_tpe_learns_from_them(hyperopt_run):
    trials = parzen.trials_from_docs(hyperopt_run.trials)  # the ok and status-fail ones
    assert len(trials) == len(hyperopt_run.trials)
    assert trials.losses() == hyperopt_run.losses()
    history = trials.history()
    assert np.count_nonzero(~np.isnan(history.loss)) == sum(r["status"] == "ok" for r in hyperopt_run.results)


def test_a_running_document_becomes_interrupted(hyperopt_run):
    doc = dict(hyperopt_run.trials[0], state=hyperopt.JOB_STATE_RUNNING)
    trial = parzen.trials_from_docs([doc]).record(doc["tid"])
    assert trial.state == TrialState.INTERRUPTED and "runs again" in trial.error


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.pop("result"), r"lacks \['result'\]"),
        (lambda d: d["misc"].pop("vals"), r"lacks \['misc.vals'\]"),
        (lambda d: d.update(tid="a", misc=d["misc"] | {"tid": "a"}), "tid 'a'; parzen trial ids are integers"),
        (lambda d: d.update(state=9), "state 9; valid states are 0-4"),
    ],
)
def test_a_bad_document_is_refused_naming_what_is_wrong(hyperopt_run, change, words):
    doc = pickle.loads(pickle.dumps(hyperopt_run.trials[0]))
    change(doc)
    with pytest.raises(InvalidTrial, match=words):
        parzen.trials_from_docs([doc])


def test_insert_trial_docs_is_visible_at_once_and_refuses_a_tid_twice(hyperopt_run):
    trials = Trials()
    assert trials.insert_trial_docs(hyperopt_run.trials[:3]) == [0, 1, 2] and len(trials) == 3
    new_tid = trials.new_trial_ids(1)[0]
    misc = {"tid": new_tid, "cmd": None, "idxs": {"lr": [new_tid]}, "vals": {"lr": [0.5]}}
    doc = trials.new_trial_docs([new_tid], [None], [{"status": "new"}], [misc])
    trials.insert_trial_doc(doc[0])
    assert trials.record(new_tid).state == TrialState.NEW
    with pytest.raises(parzen.exceptions.StoreError, match="already exist"):
        trials.insert_trial_docs(hyperopt_run.trials[:1])


def test_generated_points_run_first_and_are_checked_against_the_space():
    trials = parzen.generate_trials_to_calculate([{"x": 0.25}, {"x": 0.75}])
    parzen.fmin(lambda x: x, parzen.hp.uniform("x", 0, 1), algo=parzen.rand.suggest, max_evals=5, trials=trials,
                show_progressbar=False)  # fmt: skip
    assert [r.params["x"] for r in trials.records[:2]] == [0.25, 0.75] and len(trials) == 5
    outside = parzen.generate_trials_to_calculate([{"x": -100}])
    with pytest.raises(InvalidParameterValue, match=r"trial 0, queued to be evaluated first.*'x'.*got -100"):
        parzen.fmin(lambda x: x, parzen.hp.uniform("x", -5, 5), algo=parzen.rand.suggest, max_evals=5,
                    trials=outside, show_progressbar=False)  # fmt: skip


# ---- known points ------------------------------------------------------------------------------


def test_from_points_records_known_results_without_running_them():
    space = {"x": parzen.hp.uniform("x", -5, 5), "kind": parzen.hp.choice("kind", ["a", "b"])}
    known = [
        ({"x": 1.0, "kind": 0}, 0.5),
        ({"x": 2.0, "kind": 1}, {"loss": 0.1, "status": "ok", "note": "from a notebook"}),
        ({"x": 3.0, "kind": 1}, {"status": "fail"}),
    ]
    trials = Trials.from_points(known, space)
    assert len(trials) == 3 and trials.best_loss == 0.1 and trials.best_params == {"x": 2.0, "kind": "b"}
    assert trials.record(2).result["status"] == "fail" and trials.record(1).result["note"] == "from a notebook"
    calls = []
    algo = functools.partial(parzen.tpe.suggest, n_startup_jobs=2)
    parzen.fmin(lambda p: calls.append(p) or (p["x"] - 2) ** 2, space, algo=algo, max_evals=8, trials=trials,
                show_progressbar=False)  # fmt: skip
    assert len(calls) == 5 and len(trials) == 8  # known points count in max_evals and are not run


@pytest.mark.parametrize(
    ("points", "words"),
    [
        ([({"x": 9.0}, 1.0)], r"point 0 .*'x'.*\[-5, 5\]"),
        ([({"x": 1.0}, "abc")], "point 0 .*returned str 'abc'"),
        ([({"x": 1.0}, float("nan"))], "point 0 .*must be finite"),
        ([({"x": 1.0},)], r"point 0 must be a \(params dict, loss or result dict\) pair"),
        ([({"x": 1.0}, {"status": "new"})], "point 0: a known result has status 'ok' or 'fail'"),
    ],
)
def test_from_points_refuses_bad_points_naming_them(points, words):
    with pytest.raises(InvalidArgument, match=words):
        Trials.from_points(points, {"x": parzen.hp.uniform("x", -5, 5)})
