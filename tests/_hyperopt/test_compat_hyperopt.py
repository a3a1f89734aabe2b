"""The same public-API script under hyperopt and under parzen: what users see must match."""

import textwrap

import numpy as np
import pytest

hyperopt = pytest.importorskip("hyperopt")
hyperopt_early_stop = pytest.importorskip("hyperopt.early_stop")

import parzen  # noqa: E402

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from hyperopt import hp, fmin, rand, Trials, STATUS_OK, STATUS_FAIL, space_eval
    from hyperopt.pyll import scope

    param_space = {
        "criterion": hp.choice("criterion", ["gini", "entropy"]),
        "n_estimators": scope.int(hp.quniform("n_estimators", 10, 100, 10)),
        "max_depth": scope.int(hp.quniform("max_depth", 2, 8, 1)),
        "max_features": hp.choice("max_features", ["sqrt", 10, 15]),
        "lr": hp.loguniform("lr", np.log(1e-3), 0),
        "seed": hp.randint("seed", 3),
        "width": hp.uniformint("width", 1, 4),
    }

    def objective(params):
        if params["seed"] == 0:
            return {"status": STATUS_FAIL}
        loss = params["lr"] + params["max_depth"] / 10 + (params["criterion"] == "gini")
        return {"loss": loss, "status": STATUS_OK, "depth": params["max_depth"]}

    trials = Trials()
    best = fmin(objective, space=param_space, algo=rand.suggest, trials=trials, max_evals=30,
                rstate=np.random.default_rng(0), show_progressbar=False)
    point = space_eval(param_space, best)
    """
)


def run_script(lib: str) -> dict:
    code = SCRIPT.replace("hyperopt", lib)
    namespace: dict = {}
    exec(compile(code, f"<{lib} script>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def both():
    return run_script("hyperopt"), run_script("parzen")


def kind(value):
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    return type(value).__name__


def test_script_runs_after_changing_only_imports(both):
    h, p = both
    assert len(h["trials"]) == len(p["trials"]) == 30


def test_argmin_has_same_form(both):
    h, p = both
    assert set(h["best"]) == set(p["best"])
    assert {k: kind(v) for k, v in h["best"].items()} == {k: kind(v) for k, v in p["best"].items()}
    assert p["best"]["criterion"] in (0, 1)  # a choice is reported by its index


def test_space_eval_same_point(both):
    h, p = both
    flat = {
        "criterion": 1,
        "n_estimators": 40.0,
        "max_depth": 3.0,
        "max_features": 2,
        "lr": 0.01,
        "seed": 2,
        "width": 3.0,
    }
    assert hyperopt.space_eval(h["param_space"], flat) == parzen.space_eval(p["param_space"], flat)
    assert {k: kind(v) for k, v in h["point"].items()} == {k: kind(v) for k, v in p["point"].items()}


def test_trial_document_keys(both):
    h, p = both
    hd, pd = h["trials"].best_trial, p["trials"].best_trial
    assert set(hd) == set(pd)
    assert set(hd["misc"]) <= set(pd["misc"])
    assert set(hd["misc"]["vals"]) == set(pd["misc"]["vals"])
    assert set(hd["result"]) == set(pd["result"]) == {"loss", "status", "depth"}


def test_failure_semantics(both):
    for ns in both:
        trials = ns["trials"]
        failed = [d for d in trials.trials if d["result"]["status"] == "fail"]
        assert failed, "the script fails some trials on purpose"
        assert all(d["state"] == 2 for d in failed)  # JOB_STATE_DONE, status fail
        losses = trials.losses()
        assert all(losses[d["tid"]] is None for d in failed)
        assert trials.best_trial["result"]["status"] == "ok"


@pytest.mark.parametrize("lib", [hyperopt, parzen])
def test_all_failed_raises_all_trials_failed(lib):
    with pytest.raises(Exception) as info:
        lib.fmin(
            lambda p: {"status": "fail"},
            lib.hp.uniform("x", 0, 1),
            algo=lib.rand.suggest,
            max_evals=3,
            show_progressbar=False,
            rstate=np.random.default_rng(0),
        )
    assert type(info.value).__name__ == "AllTrialsFailed"


@pytest.mark.parametrize("lib", [hyperopt, parzen])
def test_objective_exception_propagates_by_default(lib):
    def boom(p):
        raise ArithmeticError("boom")

    with pytest.raises(ArithmeticError, match="boom"):
        lib.fmin(
            boom,
            lib.hp.uniform("x", 0, 1),
            algo=lib.rand.suggest,
            max_evals=3,
            show_progressbar=False,
            rstate=np.random.default_rng(0),
        )


def test_no_progress_loss_stops_at_the_same_count():
    counts = []
    for lib in (hyperopt, parzen):
        trials = lib.Trials()
        lib.fmin(
            lambda p: 1.0,
            lib.hp.uniform("x", 0, 1),
            algo=lib.rand.suggest,
            max_evals=50,
            trials=trials,
            early_stop_fn=lib.early_stop.no_progress_loss(7),
            show_progressbar=False,
            rstate=np.random.default_rng(0),
        )
        counts.append(len(trials))
    assert counts[0] == counts[1]


def test_points_to_evaluate_go_first():
    firsts = []

    def record_first_and_stop(trials, *state):
        firsts.append(trials.trials[0]["misc"]["vals"]["x"][0])
        return True, []

    for lib in (hyperopt, parzen):
        # hyperopt honours points_to_evaluate only when it creates the trials itself
        lib.fmin(
            lambda p: p["x"],
            {"x": lib.hp.uniform("x", 0, 1)},
            algo=lib.rand.suggest,
            max_evals=3,
            points_to_evaluate=[{"x": 0.5}],
            show_progressbar=False,
            rstate=np.random.default_rng(0),
            early_stop_fn=record_first_and_stop,
        )
    assert firsts == [0.5, 0.5]


def test_public_names_present():
    names = [
        "hp",
        "fmin",
        "tpe",
        "rand",
        "anneal",
        "Trials",
        "SparkTrials",
        "STATUS_OK",
        "STATUS_FAIL",
        "STATUS_NEW",
        "STATUS_RUNNING",
        "STATUS_SUSPENDED",
        "STATUS_STRINGS",
        "JOB_STATE_NEW",
        "JOB_STATE_RUNNING",
        "JOB_STATE_DONE",
        "JOB_STATE_ERROR",
        "JOB_STATE_CANCEL",
        "JOB_STATES",
        "space_eval",
        "early_stop",
        "partial",
        "exceptions",
    ]
    missing = [n for n in names if not hasattr(parzen, n)]
    assert missing == []
    for n in [
        "choice",
        "pchoice",
        "randint",
        "uniform",
        "quniform",
        "loguniform",
        "qloguniform",
        "normal",
        "qnormal",
        "lognormal",
        "qlognormal",
        "uniformint",
    ]:
        assert callable(getattr(parzen.hp, n))
