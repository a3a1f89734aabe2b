"""Sampling semantics, nesting, conditional spaces and space_eval (hyperopt's meaning)."""

import pickle

import cloudpickle
import numpy as np
import pytest
from parzen.pyll import scope, stochastic

from parzen import hp, space_eval
from parzen.exceptions import InvalidParameterValue, InvalidSpace, MissingParameter
from parzen.space import compile_space

N = 4000


def draws(space_node, n=N, seed=0):
    compiled = compile_space(space_node)
    rng = np.random.default_rng(seed)
    return np.array([compiled.eval(compiled.sample(rng)) for _ in range(n)])


def test_uniform_range_and_mean():
    x = draws(hp.uniform("x", -2, 4))
    assert x.min() >= -2 and x.max() <= 4
    assert abs(x.mean() - 1) < 0.15


def test_quniform_is_rounded_multiple_of_q_as_float():
    space = hp.quniform("x", 10, 100, 10)
    x = draws(space)
    assert set(np.unique(x)) <= {float(v) for v in range(10, 101, 10)}
    assert isinstance(stochastic.sample(space, np.random.default_rng(1)), float)


def test_loguniform_bounds_are_in_log_space():
    x = draws(hp.loguniform("x", np.log(1e-3), np.log(1e3)))
    assert x.min() >= 1e-3 and x.max() <= 1e3
    assert abs(np.median(np.log10(x))) < 0.2  # log-uniform: median at the geometric middle


def test_qloguniform():
    x = draws(hp.qloguniform("x", 0, np.log(1000), 5))
    assert np.all(np.mod(x, 5) == 0) and x.max() <= 1000


def test_normal_and_lognormal_moments():
    x = draws(hp.normal("x", 3, 2))
    assert abs(x.mean() - 3) < 0.15 and abs(x.std() - 2) < 0.15
    y = draws(hp.lognormal("y", 0, 0.5))
    assert y.min() > 0 and abs(np.log(y).std() - 0.5) < 0.05


def test_qnormal_and_qlognormal_are_quantised():
    x = draws(hp.qnormal("x", 0, 10, 2.5), n=500)
    assert np.allclose(x / 2.5, np.round(x / 2.5))
    y = draws(hp.qlognormal("y", 2, 1, 3), n=500)
    assert np.allclose(y / 3, np.round(y / 3)) and y.min() >= 0


def test_randint_one_and_two_bounds():
    a = draws(hp.randint("a", 5))
    assert set(np.unique(a)) == {0, 1, 2, 3, 4}
    b = draws(hp.randint("b", -2, 3))
    assert set(np.unique(b)) == {-2, -1, 0, 1, 2}
    assert isinstance(stochastic.sample(hp.randint("c", 3), np.random.default_rng(0)), int)


def test_uniformint_is_an_int_in_closed_range():
    v = [stochastic.sample(hp.uniformint("u", 2, 6), np.random.default_rng(s)) for s in range(300)]
    assert all(isinstance(i, int) for i in v)
    assert set(v) == {2, 3, 4, 5, 6}


def test_choice_and_pchoice_frequencies():
    c = draws(hp.choice("c", ["a", "b", "c"]))
    assert set(c) == {"a", "b", "c"}
    p = draws(hp.pchoice("p", [(0.1, "rare"), (0.9, "common")]))
    assert abs(np.mean(p == "rare") - 0.1) < 0.02


def test_scope_int_and_float_and_arithmetic():
    space = {
        "n": scope.int(hp.quniform("n", 10, 100, 10)),
        "f": scope.float(hp.randint("f", 3)),
        "twice": hp.uniform("u", 1, 2) * 2 + 1,
        "neg": -hp.uniform("w", 1, 2),
    }
    v = stochastic.sample(space, rng=np.random.default_rng(0))
    assert isinstance(v["n"], int) and isinstance(v["f"], float)
    assert 3 <= v["twice"] <= 5 and -2 <= v["neg"] <= -1


def test_scope_define_custom_function():
    @scope.define
    def make_layers(n, width):
        return [width] * n

    assert make_layers(2, 3) == [3, 3]  # stays a plain function
    space = scope.make_layers(hp.randint("n", 1, 4), 64)
    v = stochastic.sample(space, rng=np.random.default_rng(0))
    assert v in ([64], [64, 64], [64, 64, 64])
    with pytest.raises(AttributeError, match="no function 'nope'"):
        scope.nope(1)


def test_nested_structures_with_constants():
    space = {
        "a": [1, hp.uniform("x", 0, 1), ("const", hp.choice("c", [None, {"deep": hp.randint("d", 2)}]))],
        "b": "text",
    }
    v = stochastic.sample(space, np.random.default_rng(3))
    assert v["b"] == "text" and v["a"][0] == 1 and isinstance(v["a"][2], tuple)
    assert v["a"][2][0] == "const"


def test_conditional_space_only_active_labels():
    space = hp.choice(
        "model",
        [
            {"type": "svm", "C": hp.loguniform("C", -3, 3)},
            {"type": "rf", "depth": hp.randint("depth", 1, 10), "crit": hp.choice("crit", ["gini", "entropy"])},
        ],
    )
    compiled = compile_space(space)
    assert compiled.labels == ("model", "C", "depth", "crit")
    assert compiled.conditions["C"] == frozenset({(("model", 0),)})
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(50):
        point = compiled.sample(rng)
        expected = {"model", "C"} if point["model"] == 0 else {"model", "depth", "crit"}
        assert set(point) == expected
        seen.add(point["model"])
    assert seen == {0, 1}


def test_space_eval_maps_indices_and_ignores_inactive():
    space = {"m": hp.choice("m", [{"k": "a", "x": hp.uniform("x", 0, 1)}, {"k": "b"}]), "c": hp.choice("c", [5, 6])}
    assert space_eval(space, {"m": 1, "c": 0, "x": 0.3}) == {"m": {"k": "b"}, "c": 5}
    assert space_eval(space, {"m": 0, "c": 1, "x": 0.3}) == {"m": {"k": "a", "x": 0.3}, "c": 6}


def test_space_eval_missing_active_label():
    space = {"m": hp.choice("m", [{"x": hp.uniform("x", 0, 1)}, 2])}
    with pytest.raises(MissingParameter, match="no value for active hyperparameter 'x'"):
        space_eval(space, {"m": 0})


def test_space_eval_bad_choice_index():
    with pytest.raises(InvalidParameterValue, match=r"'c'.*integer in \[0, 2\)"):
        space_eval(hp.choice("c", [1, 2]), {"c": 2})


def test_check_point_rejects_unknown_labels_and_bad_values():
    compiled = compile_space({"x": hp.uniform("x", 0, 1), "r": hp.randint("r", 3)})
    with pytest.raises(InvalidParameterValue, match="not in the space: \\['y'\\]"):
        compiled.check_point({"x": 0.1, "r": 1, "y": 2})
    with pytest.raises(InvalidParameterValue, match=r"'r' \(randint\).*\[0, 3\)"):
        compiled.check_point({"x": 0.1, "r": 7})
    with pytest.raises(InvalidParameterValue, match="finite number"):
        compiled.check_point({"x": float("nan"), "r": 1})
    assert compiled.check_point({"x": 1, "r": 2.0}) == {"x": 1.0, "r": 2}


def test_stochastic_sample_accepts_legacy_random_state():
    v = stochastic.sample(hp.uniform("x", 0, 1), rng=np.random.RandomState(0))
    assert 0 <= v <= 1


def test_sampling_is_reproducible():
    space = {"a": hp.normal("a", 0, 1), "b": hp.choice("b", [hp.randint("r", 9), 0])}
    assert stochastic.sample(space, np.random.default_rng(7)) == stochastic.sample(space, np.random.default_rng(7))


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
def test_spaces_pickle(dumps):
    space = {"a": scope.int(hp.quniform("a", 1, 5, 1)), "c": hp.pchoice("c", [(0.5, 1), (0.5, hp.uniform("u", 0, 1))])}
    again = pickle.loads(dumps(space))
    point = {"a": 3.0, "c": 1, "u": 0.25}
    assert space_eval(again, point) == space_eval(space, point) == {"a": 3, "c": 0.25}


def test_nodes_are_frozen():
    x = hp.uniform("x", 0, 1)
    with pytest.raises(AttributeError, match="immutable"):
        x.low = 5


def test_a_space_nested_beyond_the_recursion_limit_is_named():
    space: dict = {"x": hp.uniform("x", 0, 1)}
    for _ in range(3000):
        space = {"inner": space}
    with pytest.raises(InvalidSpace, match="the space nests deeper than Python can walk"):
        compile_space(space)
