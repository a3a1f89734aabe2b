"""Bad spaces fail when they are defined, naming the label and what would be valid."""

import math
import warnings

import numpy as np
import pytest

from parzen import hp
from parzen.exceptions import DuplicateLabel, InvalidSpace
from parzen.space import compile_space


@pytest.mark.parametrize(
    "build, words",
    [
        (lambda: hp.uniform("x", 1, 1), ["'x'", "low must be less than high"]),
        (lambda: hp.uniform("x", 2, 1), ["'x'", "low=2.0 >= high=1.0"]),
        (lambda: hp.quniform("x", 5, 0, 1), ["'x'", "low must be less than high"]),
        (lambda: hp.loguniform("lr", -1, -3), ["'lr'", "log space"]),
        (lambda: hp.qloguniform("lr", 3, 3, 1), ["'lr'", "low must be less than high"]),
        (lambda: hp.randint("r", 5, 5), ["'r'", "empty"]),
        (lambda: hp.randint("r", 0), ["'r'", "empty"]),
        (lambda: hp.randint("r", 1.5), ["'r'", "integer"]),
        (lambda: hp.randint("r", 1, 2, 3), ["'r'", "(upper) or (low, high)"]),
        (lambda: hp.uniformint("u", 3, 3), ["'u'", "low must be less than high"]),
    ],
)
def test_bounds_must_be_ordered(build, words):
    with pytest.raises(InvalidSpace) as info:
        build()
    for w in words:
        assert w in str(info.value)


@pytest.mark.parametrize("q", [0, -1, -0.5, math.nan, math.inf])
@pytest.mark.parametrize("kind", ["quniform", "qloguniform", "qnormal", "qlognormal"])
def test_q_must_be_positive_and_finite(kind, q):
    args = (0, 1) if "uniform" in kind else (0, 1)
    with pytest.raises(InvalidSpace, match=r"'a'.*q must be"):
        getattr(hp, kind)("a", *args, q)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, None, "1", True])
def test_loguniform_bounds_must_be_finite_numbers(bad):
    with pytest.raises(InvalidSpace, match=r"hp.loguniform\('lr'\).*finite number"):
        hp.loguniform("lr", bad, 0)
    with pytest.raises(InvalidSpace, match="high must be a finite number"):
        hp.loguniform("lr", -5, bad)


@pytest.mark.parametrize("sigma", [0, -1, math.inf])
@pytest.mark.parametrize("kind", ["normal", "lognormal"])
def test_sigma_must_be_positive(kind, sigma):
    with pytest.raises(InvalidSpace, match=r"'s'.*sigma must be"):
        getattr(hp, kind)("s", 0, sigma)


@pytest.mark.parametrize("label", [1, None, 2.5, ("a",), b"x"])
@pytest.mark.parametrize(
    "make", [lambda lb: hp.uniform(lb, 0, 1), lambda lb: hp.choice(lb, [1, 2]), lambda lb: hp.randint(lb, 3)]
)
def test_labels_must_be_strings(make, label):
    with pytest.raises(InvalidSpace, match="string label"):
        make(label)


def test_empty_label_is_refused():
    with pytest.raises(InvalidSpace, match="non-empty"):
        hp.normal("", 0, 1)


@pytest.mark.parametrize("options", [[], ()])
def test_empty_choice(options):
    with pytest.raises(InvalidSpace, match=r"hp.choice\('c'\) needs at least one option"):
        hp.choice("c", options)


@pytest.mark.parametrize("options", ["abc", {"a": 1}, 3])
def test_choice_needs_a_sequence(options):
    with pytest.raises(InvalidSpace, match="list or tuple"):
        hp.choice("c", options)


def test_empty_pchoice():
    with pytest.raises(InvalidSpace, match="at least one option"):
        hp.pchoice("p", [])


@pytest.mark.parametrize("pairs", [[(0.5, "a"), (0.4, "b")], [(0.7, "a"), (0.7, "b")], [(1.2, "a"), (-0.2, "b")]])
def test_pchoice_probabilities_must_sum_to_one(pairs):
    with pytest.raises(InvalidSpace, match=r"pchoice\('p'\)"):
        hp.pchoice("p", pairs)


def test_pchoice_items_must_be_pairs():
    with pytest.raises(InvalidSpace, match="item 1 must be a .probability, option. pair"):
        hp.pchoice("p", [(0.5, "a"), "b"])


def test_duplicate_labels_in_one_dict():
    space = {"a": hp.uniform("x", 0, 1), "b": hp.normal("x", 0, 1)}
    with pytest.raises(DuplicateLabel, match="label 'x' is used by two different hyperparameters"):
        compile_space(space)


def test_duplicate_labels_across_branches_fail_at_definition():
    with pytest.raises(DuplicateLabel, match="'lr'"):
        hp.choice(
            "model",
            [{"lr": hp.loguniform("lr", -5, 0)}, {"lr": hp.loguniform("lr", -3, 0)}],
        )


def test_choice_label_reused_inside_its_options():
    with pytest.raises(DuplicateLabel, match="'m'"):
        hp.choice("m", [hp.uniform("m", 0, 1), 2])


def test_duplicate_labels_inside_scope_call():
    from parzen.pyll import scope

    with pytest.raises(DuplicateLabel):
        scope.add(hp.uniform("x", 0, 1), hp.uniform("x", 0, 2))


def test_one_expression_used_twice_shares_its_value():
    x = hp.uniform("x", 0, 1)
    compiled = compile_space({"a": x, "b": [x, x + 1]})
    assert compiled.labels == ("x",)
    point = compiled.sample(np.random.default_rng(0))
    value = compiled.eval(point)
    assert value["a"] == value["b"][0] == value["b"][1] - 1


def test_valid_bounds_are_accepted_as_numpy_numbers():
    hp.uniform("a", np.float32(0), np.int64(3))
    hp.randint("b", np.int64(2), 7.0)
    hp.pchoice("c", [(np.float64(0.1), 1), (0.9, 2)])


def test_choice_over_a_numpy_array():
    from parzen.pyll import stochastic

    space = hp.choice("n", np.arange(1, 10))
    value = stochastic.sample(space, np.random.default_rng(0))
    assert value in range(1, 10) and isinstance(value, int)


def test_hyperopt_import_paths_and_exception_names():
    from parzen.pyll.base import scope

    from parzen.exceptions import BadSearchSpace, InvalidLoss, InvalidResultStatus

    assert scope.int(hp.quniform("q", 1, 3, 1)) is not None
    assert issubclass(BadSearchSpace, ValueError) and InvalidLoss is InvalidResultStatus


def test_a_forgotten_label_is_named_not_a_missing_argument():
    with pytest.raises(
        InvalidSpace,
        match=r"hp.uniform takes a label first, as in hp.uniform\('x', low, high\); "
        r"got hp.uniform\(-5, 5\), whose first argument -5 is not a label",
    ):
        hp.uniform(-5, 5)
    with pytest.raises(InvalidSpace, match=r"hp.choice takes a label first"):
        hp.choice(["a", "b"])
    with pytest.raises(InvalidSpace, match=r"hp.quniform\('n'\) needs low, high, q"):
        hp.quniform("n", 1, 10)


def test_log_bounds_that_read_as_raw_values_get_a_warning_naming_the_fix():
    with pytest.warns(UserWarning, match=r"write hp.loguniform\('lr', math.log\(1e-05\), math.log\(0.1\)\)"):
        hp.loguniform("lr", 1e-5, 1e-1)
    with pytest.warns(UserWarning, match=r"math.log\(1.0\), math.log\(1000.0\), q\)"):
        hp.qloguniform("n", 1, 1000, 1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hp.loguniform("ok", math.log(1e-5), math.log(1e-1))  # logs: no warning
        hp.loguniform("small", -3, 3)


def test_randint_bounds_beyond_int64_say_so():
    with pytest.raises(InvalidSpace, match=r"upper must be between -2\*\*63 and 2\*\*63 - 1"):
        hp.randint("x", 10**30)
    assert hp.randint("x", 2**62).high == 2**62
