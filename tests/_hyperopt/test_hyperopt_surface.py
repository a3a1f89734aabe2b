"""hyperopt's public surface beyond hp/fmin: module paths, scope's functions, trial documents,
result semantics. Each test runs the same code under hyperopt and under parzen where it can."""

import functools
import textwrap

import numpy as np
import pytest

hyperopt = pytest.importorskip("hyperopt")

import parzen  # noqa: E402
from parzen.exceptions import AllTrialsFailed, InvalidAnnotatedParameter, NotProvided  # noqa: E402

# Every import form scripts, notebooks and libraries use, in one hyperopt script.
IMPORT_FORMS = textwrap.dedent(
    """
    import numpy as np
    import hyperopt
    import hyperopt.tpe
    import hyperopt.rand
    import hyperopt.anneal
    import hyperopt.mix
    import hyperopt.pyll.stochastic
    from hyperopt import base, hp, fmin, tpe, rand, Trials, STATUS_OK, space_eval, trials_from_docs
    from hyperopt.tpe import suggest
    from hyperopt.base import Trials as BaseTrials, STATUS_OK as BASE_OK, JOB_STATE_DONE
    from hyperopt.fmin import fmin as fmin2, space_eval as space_eval2, generate_trials_to_calculate, partial
    from hyperopt.exceptions import AllTrialsFailed, DuplicateLabel, InvalidTrial, InvalidAnnotatedParameter
    from hyperopt.early_stop import no_progress_loss
    from hyperopt.pyll import scope
    from hyperopt.pyll.base import scope as scope2

    space = {
        "x": hp.uniform("x", -5, 5),
        "wave": scope.sin(hp.uniform("t", -20, 20)),
        "model": hp.choice("model", [{"kind": "a"}, {"kind": "b", "depth": scope.int(hp.quniform("depth", 1, 5, 1))}]),
    }

    def objective(p):
        return {"loss": (p["x"] - 1) ** 2 + p["wave"], "status": BASE_OK, "kind": p["model"]["kind"]}

    algos = [hyperopt.tpe.suggest, hyperopt.rand.suggest, hyperopt.anneal.suggest, suggest,
             partial(hyperopt.mix.suggest, p_suggest=[(0.5, rand.suggest), (0.5, tpe.suggest)])]
    results = []
    for algo in algos:
        trials = generate_trials_to_calculate([{"x": 1.0, "t": 0.0, "model": 1, "depth": 3.0}])
        best = fmin2(objective, space, algo=algo, max_evals=12, trials=trials, rstate=np.random.default_rng(1),
                     show_progressbar=False, early_stop_fn=no_progress_loss(50))
        results.append((best, trials))
    first_point = results[0][1].trials[0]["misc"]["vals"]["x"]
    done = [t for t in results[0][1].trials if t["state"] == JOB_STATE_DONE]
    copy = trials_from_docs(results[0][1].trials)
    point = space_eval2(space, results[0][0])
    sample = hyperopt.pyll.stochastic.sample(space, rng=np.random.default_rng(0))
    is_base_trials = isinstance(results[0][1], base.Trials) and BaseTrials is base.Trials
    """
)


def run_as(lib: str) -> dict:
    namespace: dict = {}
    exec(compile(IMPORT_FORMS.replace("hyperopt", lib), f"<{lib} import forms>", "exec"), namespace)
    return namespace


def test_every_import_form_runs_after_the_rename():
    h, p = run_as("hyperopt"), run_as("parzen")
    # max_evals=12 with one generated point: parzen counts the point in max_evals (every finished
    # trial counts); hyperopt evaluated it on top (a documented difference)
    for ns, total in ((h, 13), (p, 12)):
        assert len(ns["results"]) == 5 and all(len(t) == total for _, t in ns["results"])
        assert ns["first_point"] == [1.0]  # generate_trials_to_calculate: evaluated first
        assert len(ns["done"]) == total and len(ns["copy"]) == total and ns["is_base_trials"]
        assert set(ns["point"]) == {"x", "wave", "model"} and set(ns["sample"]) == {"x", "wave", "model"}
    assert p["scope"] is p["scope2"] and p["suggest"] is parzen.tpe.suggest


def test_module_paths_are_the_same_module_objects():
    import parzen.anneal
    import parzen.base
    import parzen.mix
    import parzen.rand
    import parzen.tpe

    assert parzen.tpe is parzen.algorithms.tpe and parzen.rand is parzen.algorithms.rand
    assert parzen.anneal is parzen.algorithms.anneal and parzen.mix is parzen.algorithms.mix
    assert parzen.fmin is parzen.fmin  # still the function as an attribute, as in hyperopt
    assert callable(parzen.fmin) and parzen.base.Trials is parzen.Trials


@pytest.mark.parametrize(("module", "words"), [("atpe", "Use parzen.tpe.suggest"), ("mongoexp", "use SparkTrials")])
def test_modules_not_provided_say_what_to_use(module, words):
    with pytest.raises(NotProvided, match=words):
        __import__(f"parzen.{module}")


# ---- scope: every function hyperopt's pyll registers, with hyperopt's result --------------------

# Registered into hyperopt's scope by its TPE and pyll_utils: its algorithm's own graph nodes.
HYPEROPT_INTERNAL_SCOPE = {
    "GMM1", "GMM1_lpdf", "LGMM1", "LGMM1_lpdf", "adaptive_parzen_normal", "adaptive_parzen_normal_orig",
    "ap_split_trials", "broadcast_best", "categorical_lpdf", "hyperopt_param", "idxs_map", "idxs_take",
    "linear_forgetting_weights", "lognormal_cdf", "lognormal_lpdf", "normal_cdf", "qlognormal_lpdf",
    "randint_via_categorical_lpdf", "tpe_cat_pseudocounts", "uniq", "vchoice_merge", "vchoice_split",
}  # fmt: skip


def test_scope_has_every_function_hyperopt_registers():
    import hyperopt.pyll.base as hbase
    import hyperopt.pyll_utils  # noqa: F401 - registers its functions
    import hyperopt.tpe  # noqa: F401

    missing = sorted(set(hbase.scope._impls) - HYPEROPT_INTERNAL_SCOPE - set(dir(parzen.pyll.scope)))
    assert missing == []


CALLS = [
    ("sin", (0.5,)), ("cos", (0.5,)), ("tan", (0.5,)), ("exp", (1.5,)), ("log", (2.0,)), ("sqrt", (2.0,)),
    ("pow", (2.0, 3)), ("minimum", (1.0, 2.0)), ("maximum", (1.0, 2.0)), ("sum", ([1, 2, 3],)),
    ("eq", (1, 1)), ("lt", (1, 2)), ("le", (2, 2)), ("gt", (1, 2)), ("ge", (3, 2)), ("neg", (2,)),
    ("add", (1, 2)), ("sub", (1, 2)), ("mul", (2, 3)), ("truediv", (1, 4)), ("floordiv", (7, 2)),
    ("getitem", ([5, 6, 7], 1)), ("str_join", ("-", ["a", "b"])), ("asarray", ([1, 2],)),
    ("array_union", ([1, 2], [2, 3])), ("repeat", (2, "x")), ("switch", (1, "a", "b")), ("identity", (4,)),
    ("pos_args", (1, 2)), ("bincount", ([0, 1, 1],)), ("call", (max, (3, 9))), ("call_method", ("a,b", "split", ",")),
    ("int", (3.7,)), ("float", (3,)), ("len", ([1, 2],)), ("min", (3, 1)), ("max", (3, 1)), ("range", (3,)),
    ("list", ((1, 2),)), ("dict", ()), ("getattr", (1j, "imag")),
]  # fmt: skip


@pytest.mark.parametrize(("name", "args"), CALLS, ids=[c[0] for c in CALLS])
def test_scope_function_means_what_it_meant_in_hyperopt(name, args):
    from hyperopt.pyll import rec_eval
    from hyperopt.pyll import scope as hscope

    ours = parzen.space_eval(getattr(parzen.pyll.scope, name)(*args), {})
    theirs = rec_eval(getattr(hscope, name)(*args))
    assert np.array_equal(np.asarray(list(ours) if name == "range" else ours, dtype=object),
                          np.asarray(list(theirs) if name == "range" else theirs, dtype=object))  # fmt: skip


def test_scope_over_hyperparameters_and_as_apply():
    space = {
        "wave": parzen.pyll.scope.sin(parzen.hp.uniform("t", -20, 20)),
        "arm": parzen.pyll.as_apply([-1.0, 0.0])[parzen.hp.choice("x", [0, 1])],
        "fn": parzen.pyll.scope.partial("add", 3),
        "noise": parzen.pyll.scope.normal(0, 1, rng=np.random.default_rng(0)),
    }
    point = parzen.space_eval(space, {"t": 1.0, "x": 0})
    assert point["wave"] == pytest.approx(np.sin(1.0)) and point["arm"] == -1.0 and point["fn"](4) == 7
    assert np.isfinite(point["noise"])


# ---- results when nothing succeeded, annotated spaces ------------------------------------------


def _fmin(lib, fn, **kw):
    return lib.fmin(fn, lib.hp.uniform("x", 0, 1), algo=lib.rand.suggest, max_evals=3, show_progressbar=False,
                    rstate=np.random.default_rng(0), **kw)  # fmt: skip


@pytest.mark.parametrize("lib", [hyperopt, parzen])
def test_return_argmin_false_when_every_objective_returned_fail_raises(lib):
    with pytest.raises(Exception) as info:
        _fmin(lib, lambda p: {"status": "fail"}, return_argmin=False)
    assert type(info.value).__name__ == "AllTrialsFailed"


@pytest.mark.parametrize("lib", [hyperopt, parzen])
def test_return_argmin_false_when_every_objective_raised_is_none(lib):
    def boom(p):
        raise ValueError("boom")

    assert _fmin(lib, boom, return_argmin=False, catch_eval_exceptions=True) is None


def test_return_argmin_true_when_every_objective_raised_quotes_the_failure():
    def boom(p):
        raise ValueError("boom")

    with pytest.raises(AllTrialsFailed, match="ValueError: boom"):
        _fmin(parzen, boom, catch_eval_exceptions=True)


def test_annotated_space_with_a_plain_annotation_raises_the_hyperopt_exception():
    def objective(x: parzen.hp.uniform("x", -10, 10), y: float):
        return x * y

    with pytest.raises(InvalidAnnotatedParameter, match=r"not: \['y'\]"):
        parzen.fmin(objective, space="annotated", algo=parzen.rand.suggest, max_evals=3)
    assert issubclass(InvalidAnnotatedParameter, ValueError) and parzen.exceptions.InvalidTrial


def test_domain_holds_the_objective_and_its_space():
    domain = parzen.Domain(lambda p: (p["x"] - 1) ** 2, {"x": parzen.hp.uniform("x", -5, 5)}, loss_target=0)
    assert domain.evaluate({"x": 3.0}) == {"loss": 4.0, "status": "ok"}
    assert set(domain.params) == {"x"} and domain.new_result() == {"status": "new"}
    trials = parzen.Trials()
    parzen.fmin(domain.fn, domain.expr, algo=parzen.rand.suggest, max_evals=5, trials=trials, show_progressbar=False)
    assert trials.average_best_error(domain) == trials.best_loss


def test_tpe_defaults_readable_under_hyperopt_names():
    algo = functools.partial(parzen.tpe.suggest, gamma=parzen.tpe._default_gamma,
                             n_EI_candidates=parzen.tpe._default_n_EI_candidates)  # fmt: skip
    assert parzen.fmin(lambda x: x, parzen.hp.uniform("x", 0, 1), algo=algo, max_evals=12, show_progressbar=False)


def test_the_porting_example_of_the_migration_guide_runs():
    """The custom algorithm in docs/migrating-from-hyperopt.md, executed as written."""
    from pathlib import Path

    guide = (Path(__file__).parents[2] / "docs" / "migrating-from-hyperopt.md").read_text()
    code = guide.split("### Custom algorithms", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    namespace = {"np": np}
    exec(code, namespace)
    hp = parzen.hp
    space = hp.choice(
        "m", [{"x": hp.uniform("x", -5, 5)}, {"n": hp.randint("n", 0, 10), "q": hp.quniform("q", 0, 1, 0.1)}]
    )
    trials = parzen.Trials()
    loss = lambda p: (p["x"] - 1) ** 2 if "x" in p else p["n"] + p["q"]  # noqa: E731
    parzen.fmin(loss, space, algo=namespace["suggest"], max_evals=30, trials=trials, rstate=np.random.default_rng(0),
                show_progressbar=False)  # fmt: skip
    assert len(trials) == 30 and trials.best_loss < 1.0
