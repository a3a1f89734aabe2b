"""The fmin loop in process: budget, stop rules, continuation, reproducibility, errors."""

import functools
import math

import numpy as np
import pytest

from parzen import STATUS_FAIL, STATUS_OK, Trials, early_stop, fmin, grid, hp, rand, space_eval
from parzen.exceptions import AllTrialsFailed, InvalidAlgorithm, InvalidArgument, InvalidParameterValue
from parzen.trial import TrialState

SPACE = {"x": hp.uniform("x", -5, 5), "c": hp.choice("c", ["a", "b"])}


def quadratic(p):
    return (p["x"] - 1) ** 2 + (0.5 if p["c"] == "a" else 0.0)


def run(**kw):
    kw.setdefault("algo", rand.suggest)
    kw.setdefault("max_evals", 20)
    kw.setdefault("show_progressbar", False)
    kw.setdefault("rstate", np.random.default_rng(0))
    return fmin(kw.pop("fn", quadratic), kw.pop("space", SPACE), **kw)


def test_returns_argmin_with_choice_index():
    trials = Trials()
    best = run(trials=trials)
    assert set(best) == {"x", "c"} and best["c"] in (0, 1) and isinstance(best["c"], int)
    assert best == trials.argmin
    assert space_eval(SPACE, best) == trials.best_params
    assert trials.best_params["c"] in ("a", "b")


def test_return_argmin_false_gives_the_point():
    trials = Trials()
    point = run(trials=trials, return_argmin=False)
    assert point == space_eval(SPACE, trials.argmin)


def test_max_evals_counts_all_finished_trials_and_continues():
    trials = Trials()
    run(trials=trials, max_evals=7)
    assert len(trials) == 7
    run(trials=trials, max_evals=12)
    assert len(trials) == 12 and trials.tids == list(range(12))
    run(trials=trials, max_evals=5)  # already past the budget: nothing new
    assert len(trials) == 12


def test_rstate_makes_runs_reproducible():
    a, b = Trials(), Trials()
    run(trials=a, rstate=np.random.default_rng(42))
    run(trials=b, rstate=np.random.default_rng(42))
    assert [t["misc"]["vals"] for t in a.trials] == [t["misc"]["vals"] for t in b.trials]


def test_env_seed_used_when_no_rstate(monkeypatch):
    monkeypatch.setenv("HYPEROPT_FMIN_SEED", "3")
    a, b = Trials(), Trials()
    run(trials=a, rstate=None)
    run(trials=b, rstate=None)
    assert a.vals == b.vals


def test_dict_results_keep_extra_keys_and_attachments():
    def fn(p):
        return {
            "loss": p["x"] ** 2,
            "status": STATUS_OK,
            "loss_variance": 0.1,
            "true_loss": 1.0,
            "model": "m1",
            "attachments": {"log": "hello"},
        }

    trials = Trials()
    run(fn=fn, trials=trials, max_evals=3)
    result = trials.results[0]
    assert result["loss_variance"] == 0.1 and result["true_loss"] == 1.0 and result["model"] == "m1"
    assert "attachments" not in result
    assert trials.trial_attachments(trials.trials[0])["log"] == "hello"


def test_status_fail_trials_are_failed_not_best():
    def fn(p):
        if p["x"] < 0:
            return {"status": STATUS_FAIL, "loss": -1000}
        return p["x"]

    trials = Trials()
    best = run(fn=fn, trials=trials, max_evals=30)
    assert best["x"] >= 0
    assert trials.n_failed == sum(1 for s in trials.statuses() if s == STATUS_FAIL) > 0


def test_all_failed_raises_with_first_failure():
    with pytest.raises(AllTrialsFailed, match="all 4 finished trials failed.*trial 0"):
        run(fn=lambda p: {"status": STATUS_FAIL, "error": "no good"}, max_evals=4)


def test_exception_is_reraised_by_default_and_trial_kept():
    trials = Trials()

    def fn(p):
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError, match="boom"):
        run(fn=fn, trials=trials, max_evals=3)
    assert len(trials) == 1 and trials.records[0].state == TrialState.ERROR
    assert "ZeroDivisionError: boom" in trials.records[0].error


def test_catch_eval_exceptions_keeps_going():
    calls = []

    def fn(p):
        calls.append(p)
        if len(calls) % 2:
            raise ValueError("odd")
        return p["x"] ** 2

    trials = Trials()
    run(fn=fn, trials=trials, max_evals=6, catch_eval_exceptions=True)
    assert len(trials) == 6
    assert [r.state for r in trials.records].count(TrialState.ERROR) == 3
    assert trials.records[0].result["status"] == STATUS_FAIL


@pytest.mark.parametrize(
    "value, words",
    [
        (None, "NoneType None"),
        ("1.0", "str '1.0'"),
        (math.nan, "nan"),
        (math.inf, "inf"),
        ({"status": "ok"}, "without a 'loss'"),
        ({"loss": 1, "status": "great"}, "valid statuses"),
        ({"loss": 0.5}, "a dict without 'status' (keys: ['loss']); add 'status': STATUS_OK"),  # hyperopt refused it
    ],
)
def test_garbage_results_are_failed_trials_with_a_message(value, words):
    trials = Trials()
    with pytest.raises(AllTrialsFailed, match="all 2 finished trials failed"):
        run(fn=lambda p: value, trials=trials, max_evals=2)
    assert words in trials.records[0].error
    assert trials.records[0].state == TrialState.ERROR


def test_loss_threshold_stops():
    trials = Trials()
    run(trials=trials, max_evals=500, loss_threshold=0.3)
    assert len(trials) < 500 and trials.best_loss <= 0.3


def test_timeout_stops_between_trials():
    import time

    trials = Trials()

    def slow(p):
        time.sleep(0.05)
        return 1.0

    run(fn=slow, trials=trials, max_evals=1000, timeout=0.3)
    assert 2 <= len(trials) < 20


def test_early_stop_no_progress():
    trials = Trials()
    run(fn=lambda p: 1.0, trials=trials, max_evals=100, early_stop_fn=early_stop.no_progress_loss(5))
    assert len(trials) == 5  # as hyperopt: the first trial counts as one without progress


def test_custom_early_stop_fn_gets_its_state_back():
    seen = []

    def stop_fn(trials, *args):
        seen.append(args)
        return len(trials) >= 3, [len(trials)]

    run(max_evals=50, early_stop_fn=stop_fn)
    assert seen == [(), (1,), (2,)]


def test_points_to_evaluate_run_first_and_count():
    trials = Trials()
    run(trials=trials, max_evals=5, points_to_evaluate=[{"x": 1.0, "c": 1}, {"x": 0.0, "c": 0}])
    assert trials.records[0].params == {"x": 1.0, "c": 1}
    assert trials.records[1].params == {"x": 0.0, "c": 0}
    assert trials.best_loss == 0.0 and len(trials) == 5
    run(trials=trials, max_evals=6, points_to_evaluate=[{"x": 1.0, "c": 1}])  # already there: not re-run
    assert len(trials) == 6


def test_points_to_evaluate_are_checked():
    with pytest.raises(InvalidParameterValue, match="'c'"):
        run(points_to_evaluate=[{"x": 1.0, "c": 3}])


def test_max_queue_len_batches_suggestions():
    trials = Trials()
    run(trials=trials, max_queue_len=4, max_evals=10)
    assert len(trials) == 10


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"max_evals": 0}, "max_evals must be a positive integer"),
        ({"max_evals": -3}, "max_evals must be a positive integer"),
        ({"max_evals": 2.5}, "max_evals must be a positive integer"),
        ({"timeout": -1}, "timeout must be a positive number"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"loss_threshold": "low"}, "loss_threshold must be a number"),
        ({"max_queue_len": 0}, "max_queue_len"),
        ({"rstate": "seed"}, "rstate must be a numpy Generator"),
        ({"early_stop_fn": 3}, "early_stop_fn must be callable"),
    ],
)
def test_bad_arguments(kw, words):
    with pytest.raises(InvalidArgument, match=words):
        run(**kw)


def test_fn_must_be_callable():
    with pytest.raises(InvalidArgument, match="fn must be a callable"):
        fmin(3, SPACE, algo=rand.suggest, max_evals=2)


def test_algo_not_callable():
    with pytest.raises(InvalidAlgorithm, match="algo must be a suggest function.*got str"):
        run(algo="tpe")


def test_hyperopt_algo_is_refused_with_the_parzen_name():
    hyperopt = pytest.importorskip("hyperopt")
    with pytest.raises(
        InvalidAlgorithm, match="hyperopt.tpe.suggest from the hyperopt package.*use parzen.tpe.suggest"
    ):
        run(algo=hyperopt.tpe.suggest)
    with pytest.raises(InvalidAlgorithm, match=r"use functools.partial\(parzen.anneal.suggest, avg_best_idx=3\)"):
        run(algo=functools.partial(hyperopt.anneal.suggest, avg_best_idx=3))


def test_custom_hyperopt_style_algo_is_refused_with_how_to_port_it():
    def my_suggest(new_ids, domain, trials, seed):
        return []

    with pytest.raises(InvalidAlgorithm, match=r"'my_suggest' has hyperopt's signature.*Port it to suggest\(space"):
        run(algo=my_suggest)


def test_algo_with_wrong_signature():
    with pytest.raises(InvalidAlgorithm, match=r"must accept \(space, history, rng\)"):
        run(algo=lambda space: None)


def test_partial_configured_algo():
    trials = Trials()
    run(algo=functools.partial(grid.suggest, points_per_dimension=3), trials=trials, max_evals=100)
    assert len(trials) == 6  # 3 x-values times 2 choices, then a clean stop


def test_annotated_space():
    def fn(x: hp.uniform("ax", -1, 1), y: hp.choice("ay", [1, 2])):
        return x**2 + y

    best = fmin(fn, "annotated", algo=rand.suggest, max_evals=10, show_progressbar=False)
    assert set(best) == {"ax", "ay"}


def test_keyboard_interrupt_cancels_and_reraises():
    trials = Trials()

    def fn(p):
        if len(trials) == 3:
            raise KeyboardInterrupt
        return 1.0

    with pytest.raises(KeyboardInterrupt):
        run(fn=fn, trials=trials, max_evals=10)
    assert [t.state for t in trials.records] == [TrialState.DONE] * 2 + [TrialState.CANCELLED]
    assert trials.n_finished == 2


def test_trials_fmin_method():
    trials = Trials()
    best = trials.fmin(quadratic, SPACE, algo=rand.suggest, max_evals=4, show_progressbar=False)
    assert best == trials.argmin and len(trials) == 4


def test_progress_bar_shows_best_and_failures(capsys):
    def fn(p):
        return {"status": STATUS_FAIL} if p["x"] < 0 else p["x"]

    run(fn=fn, max_evals=15, show_progressbar=True)
    err = capsys.readouterr().err
    assert "15/15" in err and "best loss:" in err and "failed:" in err


def test_custom_progress_callback_as_in_hyperopt():
    import contextlib

    seen = {"updates": 0}

    class Context:
        postfix = ""

        def update(self, n):
            seen["updates"] += n

    @contextlib.contextmanager
    def callback(initial, total):
        seen["initial"], seen["total"] = initial, total
        ctx = Context()
        yield ctx
        seen["postfix"] = ctx.postfix

    run(max_evals=7, show_progressbar=callback)
    assert seen["initial"] == 0 and seen["total"] == 7 and seen["updates"] == 7
    assert seen["postfix"].startswith("best loss: ")


def test_max_evals_none_still_checks_the_other_arguments():
    with pytest.raises(InvalidArgument, match="timeout must be a positive number"):
        run(max_evals=None, timeout=-1)
    with pytest.raises(InvalidArgument, match="max_queue_len"):
        run(max_evals=None, timeout=1, max_queue_len=0)


def test_edited_space_dict_is_seen_by_the_next_call():
    space = {"a": hp.uniform("a", 0, 1)}
    assert space_eval(space, {"a": 0.5}) == {"a": 0.5}
    space["b"] = hp.uniform("b", 0, 1)
    best = run(fn=lambda p: p["a"] + p["b"], space=space, max_evals=4)
    assert set(best) == {"a", "b"}


def test_space_eval_coerces_like_hyperopt():
    space = {"x": hp.uniform("x", 0, 2), "r": hp.randint("r", 5)}
    assert space_eval(space, {"x": 1, "r": 2.0}) == {"x": 1.0, "r": 2}
    assert isinstance(space_eval(space, {"x": 1, "r": 2.0})["x"], float)


def test_trials_delete_all():
    trials = Trials()
    run(trials=trials, max_evals=3)
    trials.delete_all()
    assert len(trials) == 0 and trials.best_loss is None
    run(trials=trials, max_evals=2)
    assert trials.tids == [0, 1]


def test_the_trials_class_instead_of_an_object_is_named():
    with pytest.raises(
        InvalidArgument, match=r"got the class Trials itself: write trials=Trials\(\) \(with parentheses\)"
    ):
        fmin(quadratic, SPACE, max_evals=2, trials=Trials, show_progressbar=False)
    hyperopt = pytest.importorskip("hyperopt")
    with pytest.raises(InvalidArgument, match=r"a hyperopt Trials\? use parzen.Trials, or convert it with"):
        fmin(quadratic, SPACE, max_evals=2, trials=hyperopt.Trials(), show_progressbar=False)


def test_a_run_nothing_would_end_says_so_at_the_start():
    stop_at = {"n": 0}

    def counting(p):
        stop_at["n"] += 1
        if stop_at["n"] >= 3:
            raise KeyboardInterrupt  # the user's Ctrl-C
        return quadratic(p)

    with pytest.warns(UserWarning, match="it runs until interrupted"), pytest.raises(KeyboardInterrupt):
        fmin(counting, SPACE, show_progressbar=False)


def test_the_reason_a_run_stopped_is_printed_under_the_bar(capsys):
    fmin(quadratic, SPACE, max_evals=50, loss_threshold=0.5, rstate=np.random.default_rng(0), show_progressbar=True)
    err = capsys.readouterr().err
    assert "fmin stopped: loss_threshold reached (best loss" in err
    assert "trials:" in err and " ok, 0 failed" in err
    fmin(quadratic, SPACE, max_evals=3, show_progressbar=True)
    assert "fmin stopped: max_evals=3 finished trials reached (3 trials: 3 ok, 0 failed)" in capsys.readouterr().err


def test_the_bar_says_a_run_resumed_and_counts_running_trials(tmp_path, capsys):
    store = tmp_path / "t.db"
    fmin(quadratic, SPACE, max_evals=3, trials_save_file=str(store), show_progressbar=False)
    fmin(quadratic, SPACE, max_evals=5, trials_save_file=str(store), show_progressbar=True)
    err = capsys.readouterr().err
    assert "resumed from 3 trials" in err and "running: 0" in err
