"""The contract every algorithm keeps, as a suite you run against your own (developer API).

An algorithm is a function ``suggest(space, history, rng) -> {label: value} | None``
(see `parzen.algorithms.base.Algorithm`). Whatever it does inside, its suggestions must
hold, on every kind of space (every numeric kind, categorical with zero-odds options,
conditional, a parameter shared across branches):

* only the labels active under the choices it made, every one of them;
* every value inside its hyperparameter's domain (bounds, integers, quanta, options);
* the same points for the same seed and the same history;
* sensible behaviour with running and failed trials in the history.

Run it with pytest by subclassing `AlgorithmContract`::

    from parzen.testing.algorithms import AlgorithmContract

    class TestMyAlgorithm(AlgorithmContract):
        algorithm = staticmethod(my_suggest)

The checks are also plain functions (`drive`, `check_suggestion`) for other test
runners. Needs pytest.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pytest

from parzen import hp
from parzen._hyperopt.pyll import scope
from parzen._hyperopt.trials import Trials
from parzen.space import Categorical, CompiledSpace, Numeric, compile_space
from parzen.trial import TrialState

__all__ = ["SPACES", "AlgorithmContract", "check_suggestion", "drive"]

SPACES = {
    "every_numeric_kind": {
        "uniform": hp.uniform("uniform", -2, 3),
        "quniform": hp.quniform("quniform", 0.5, 10, 0.75),
        "loguniform": hp.loguniform("loguniform", math.log(1e-4), math.log(1.0)),
        "qloguniform": hp.qloguniform("qloguniform", math.log(1), math.log(1000), 5),
        "normal": hp.normal("normal", 3, 2),
        "qnormal": hp.qnormal("qnormal", 0, 10, 2),
        "lognormal": hp.lognormal("lognormal", 0, 1),
        "qlognormal": hp.qlognormal("qlognormal", 2, 1, 3),
        "randint": hp.randint("randint", 7),
        "randint_range": hp.randint("randint_range", -3, 4),
        "uniformint": hp.uniformint("uniformint", 2, 9),
        "scoped": scope.int(hp.quniform("scoped", 10, 100, 10)),
    },
    "categorical": {
        "choice": hp.choice("choice", ["a", "b", "c", "d"]),
        "pchoice": hp.pchoice("pchoice", [(0.1, "rare"), (0.6, "common"), (0.3, "middle")]),
        "never": hp.pchoice("never", [(0.0, "zero odds"), (1.0, "always")]),
        "x": hp.uniform("x", 0, 1),
    },
    "conditional": hp.choice(
        "model",
        [
            {"kind": "svm", "C": hp.loguniform("C", -3, 3), "kernel": hp.choice("kernel", ["rbf", "linear"])},
            {
                "kind": "forest",
                "depth": hp.quniform("depth", 1, 10, 1),
                "split": hp.choice(
                    "split",
                    [
                        {"criterion": "gini"},
                        {"criterion": "entropy", "min_gain": hp.uniform("min_gain", 0, 0.5)},
                    ],
                ),
            },
            {"kind": "none"},
        ],
    ),
    "shared_across_branches": (
        lambda lr: {"opt": hp.choice("opt", [{"sgd": lr, "momentum": hp.uniform("momentum", 0, 1)}, {"adam": lr}])}
    )(hp.loguniform("lr", -7, 0)),
}
"""The spaces the contract drives an algorithm on: every numeric kind, choices (one with a zero-odds option),
a conditional space three levels deep, and one hyperparameter shared by two branches."""


# ---- what a valid suggestion is, written independently of parzen's own checks --------


def active_labels(space: CompiledSpace, point: dict) -> set[str]:
    """The labels a point must hold, following its own choices from the root."""
    found: set[str] = set()

    def visit(obj):
        if isinstance(obj, Categorical):
            found.add(obj.label)
            assert obj.label in point, f"active choice {obj.label!r} missing from {point}"
            visit(obj.options[point[obj.label]])
            return
        if isinstance(obj, Numeric):
            found.add(obj.label)
            return
        children = obj.children() if hasattr(obj, "children") else ()
        if isinstance(obj, dict):
            children = obj.values()
        elif isinstance(obj, (list, tuple)):
            children = obj
        for child in children:
            visit(child)

    visit(space.root)
    return found


def quantised_bounds(param: Numeric) -> tuple[float, float]:
    low, high = (math.exp(param.low), math.exp(param.high)) if param.log else (param.low, param.high)
    if param.q is None:
        return low, high
    return round(low / param.q) * param.q, round(high / param.q) * param.q


def assert_in_domain(param: Any, value: Any) -> None:
    label = param.label
    if isinstance(param, Categorical):
        assert isinstance(value, int) and 0 <= value < len(param.options), (label, value)
        assert param.probs[value] > 0, f"{label}: option {value} has prior probability 0"
        return
    assert isinstance(value, (int, float)) and not isinstance(value, bool), (label, value)
    assert math.isfinite(value), (label, value)
    if param.kind == "randint":
        assert isinstance(value, int) and param.low <= value < param.high, (label, value)
        return
    if param.q is not None:
        steps = value / param.q
        assert abs(steps - round(steps)) < 1e-6, f"{label}: {value} is not a multiple of q={param.q}"
    if param.log:
        assert value >= 0, (label, value)
    if param.bounded:
        low, high = quantised_bounds(param)
        tolerance = 1e-9 * max(1.0, abs(low), abs(high))
        assert low - tolerance <= value <= high + tolerance, f"{label}: {value} outside [{low}, {high}]"


def check_suggestion(space: CompiledSpace, point: Any) -> None:
    """The contract for one suggestion (None means: exhausted).

    A suggestion is a dict holding exactly the labels its own choices make active, each
    value inside its hyperparameter's domain (a choice as a valid index).

    Args:
        space: the compiled space.
        point: what the algorithm returned.

    Raises:
        AssertionError: the suggestion breaks the contract (the message says how).
    """
    if point is None:
        return
    assert isinstance(point, dict), f"a suggestion is a dict, got {type(point).__name__}"
    expected = active_labels(space, point)
    assert set(point) == expected, f"labels {sorted(point)}, active labels {sorted(expected)}"
    for label, value in point.items():
        assert_in_domain(space.params[label], value)


# ---- a history with running, failed and finished trials --------------------------------------


def loss_of(point: dict) -> float:
    """A deterministic loss of a point (any function will do; it must not depend on dict order)."""
    return zlib.crc32(repr(sorted(point.items())).encode()) / 2**32


def drive(algo: Callable[..., Any], space_def: Any, seed: int, n: int = 30) -> list[dict[str, Any] | None]:
    """Ask `n` suggestions; every 4th trial stays running, every 5th fails, the rest finish.

    Args:
        algo: the algorithm, ``algo(space, history, rng)``.
        space_def: the search space (one of `SPACES`, or your own).
        seed: the seed of the run's generator.
        n: how many suggestions.

    Returns:
        The suggestions in order (stopping after the first None).
    """
    space = compile_space(space_def)
    trials = Trials()
    trials.attach_space(space)
    rng = np.random.default_rng(seed)
    points = []
    for i in range(n):
        point = algo(space, trials.history(), rng)
        check_suggestion(space, point)
        points.append(point)
        if point is None:
            break
        trial = trials.new(point)
        if i % 4 == 3:
            continue  # left running: the next suggestions see it as running
        if i % 5 == 4:
            trials.finish(trial.tid, {"errored": True, "result": {"status": "fail"}, "error": "boom"})
        else:
            trials.finish(trial.tid, {"errored": False, "result": {"status": "ok", "loss": loss_of(point)}})
    history = trials.history()
    assert (history.state == TrialState.RUNNING).any() or points[-1] is None or n < 4
    return points


class AlgorithmContract:
    """The algorithm contract as pytest tests: subclass it and set `algorithm`.

    Attributes:
        algorithm: the ``suggest(space, history, rng)`` function under test (wrap it in
            ``staticmethod``; use ``functools.partial`` to set options).
        reaches_every_branch: False for algorithms that do not sample every option of a
            choice within 60 suggestions by design (grid search with few points).
    """

    algorithm: ClassVar[Callable[..., Any]]
    reaches_every_branch: ClassVar[bool] = True

    @pytest.mark.parametrize("space_name", sorted(SPACES))
    def test_suggestions_keep_the_contract(self, space_name: str) -> None:
        """Every suggestion on every space of `SPACES` is valid (`check_suggestion`), the first one too.

        Args:
            space_name: a key of `SPACES` (parametrized).
        """
        points = drive(type(self).algorithm, SPACES[space_name], seed=11)
        assert points[0] is not None, "the first suggestion of a fresh run cannot be 'exhausted'"

    @pytest.mark.parametrize("space_name", sorted(SPACES))
    def test_same_seed_same_points(self, space_name: str) -> None:
        """Two runs with one seed suggest the same points: runs are reproducible.

        Args:
            space_name: a key of `SPACES` (parametrized).
        """
        first = drive(type(self).algorithm, SPACES[space_name], seed=5, n=16)
        second = drive(type(self).algorithm, SPACES[space_name], seed=5, n=16)
        assert first == second

    def test_every_option_and_branch_is_reached(self) -> None:
        """Every branch of a conditional choice is suggested within 60 trials (skipped unless promised)."""
        if not self.reaches_every_branch:
            pytest.skip("this algorithm does not promise to reach every branch within 60 suggestions")
        points = drive(type(self).algorithm, SPACES["conditional"], seed=2, n=60)
        assert {p["model"] for p in points if p} == {0, 1, 2}

    def test_a_history_of_only_running_and_failed_trials(self) -> None:
        """A history with no finished trial (only running and failed ones) still gets a valid suggestion."""
        space = compile_space(SPACES["every_numeric_kind"])
        trials = Trials()
        trials.attach_space(space)
        rng = np.random.default_rng(0)
        for i in range(12):
            trial = trials.new(space.sample(rng))
            if i % 2:
                trials.finish(trial.tid, {"errored": True, "result": {"status": "fail"}, "error": "crash"})
        check_suggestion(space, type(self).algorithm(space, trials.history(), rng))
