"""A space compiled once per run: the flat view algorithms use, and `space_eval`.

Algorithms never see the tree: they work on the *flat* form ``{label: value}`` holding
only the active labels (a choice's value is its index, as in hyperopt), and
`CompiledSpace` gives them the list of parameters, the condition under which each is
active, and how to walk the active ones.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from parzen.exceptions import InvalidParameterValue, InvalidSpace, MissingParameter
from parzen.space.identity import describe_object
from parzen.space.nodes import Call, Categorical, Numeric, Param, _collect_params, _subspaces, to_python

__all__ = ["CompiledSpace", "compile_space", "sample", "space_eval"]


class CompiledSpace:
    """A space checked once, with the flat view algorithms need.

    ``params`` lists every hyperparameter (all branches) in depth-first order;
    ``conditions[label]`` is the set of choice paths ``((choice_label, index), ...)``
    under which the label is active (the empty path means: always active).
    """

    def __init__(self, root: Any):
        found: dict[str, Param] = {}
        paths: dict[str, set] = {}
        _collect_params(root, (), found, paths)
        self.root = root
        self.params: dict[str, Param] = found
        self.conditions: dict[str, frozenset] = {k: frozenset(v) for k, v in paths.items()}
        self.labels: tuple[str, ...] = tuple(found)
        self._algorithm_state: dict[Any, Any] = {}

    def algorithm_state(self, key: Any, factory: Callable[[], Any]) -> Any:
        """State an algorithm keeps for this space (e.g. TPE's dimensions, grid's cursor).

        A space is compiled once per `fmin` call, so this state lives exactly as long
        as the run: two `fmin` calls never share it, and it goes away with the run.
        """
        state = self._algorithm_state.get(key)
        if state is None:
            state = self._algorithm_state[key] = factory()
        return state

    def walk(self, pick: Callable[[Param], Any]) -> dict[str, Any]:
        """Choose a flat point by asking ``pick(param)`` for each *active* parameter.

        Parameters are visited depth-first and a choice is decided before anything
        inside its options, so only the chosen branch is visited. A parameter object
        used in several places is picked once. numpy scalars `pick` returns become plain
        Python numbers (points are JSON-able and compare simply).
        """
        point: dict[str, Any] = {}
        self._walk(self.root, pick, point)
        return point

    def _walk(self, obj: Any, pick: Callable, point: dict) -> None:
        if isinstance(obj, Param) and obj.label not in point:
            point[obj.label] = to_python(pick(obj))
        if isinstance(obj, Categorical):
            self._walk(obj.options[point[obj.label]], pick, point)
            return
        for sub in _subspaces(obj):
            self._walk(sub, pick, point)

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One flat point drawn from the prior."""
        return self.walk(lambda p: p.sample(rng))

    def check_point(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """Validate a user-given flat point; returns it restricted to its active labels."""
        unknown = set(point) - set(self.params)
        if unknown:
            raise InvalidParameterValue(
                f"point has labels that are not in the space: {sorted(unknown)}; valid labels are {sorted(self.params)}"
            )
        return self.walk(lambda p: p.check_value(_lookup(p, point)))

    def describe(self) -> Any:
        """A JSON-able description of the whole tree (for detecting a changed space).

        Functions and objects in it are described by stable identities (`parzen.space.identity`),
        so the same script describes its space the same way in every process.
        """
        return _describe(self.root, describe_object)

    def describe_format1(self) -> Any:
        """The description store format 1 recorded (objects by ``repr``), to recognise old stores."""
        return _describe(self.root, lambda obj: {"const": repr(obj)})

    def eval(self, point: Mapping[str, Any]) -> Any:
        """The value the objective receives for flat `point` (see `space_eval`)."""
        return _evaluate(self.root, point, {})


def _lookup(param: Param, point: Mapping[str, Any]) -> Any:
    try:
        return point[param.label]
    except KeyError:
        raise MissingParameter(
            f"the point has no value for active hyperparameter {param.label!r}; it holds {sorted(point)}"
        ) from None


def _evaluate(obj: Any, point: Mapping[str, Any], memo: dict) -> Any:
    if isinstance(obj, Categorical):
        index = obj.check_value(_lookup(obj, point))
        return _evaluate(obj.options[index], point, memo)
    if isinstance(obj, Numeric):
        return obj.check_value(_lookup(obj, point))
    if isinstance(obj, Call):
        key = id(obj)
        if key not in memo:
            args = [_evaluate(a, point, memo) for a in obj.args]
            kwargs = {k: _evaluate(v, point, memo) for k, v in obj.kwargs}
            memo[key] = obj.fn(*args, **kwargs)
        return memo[key]
    if isinstance(obj, dict):
        return {k: _evaluate(v, point, memo) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_evaluate(v, point, memo) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_evaluate(v, point, memo) for v in obj)
    return obj


def _describe(obj: Any, constant: Callable[[Any], Any]) -> Any:
    if isinstance(obj, Categorical):
        return {"hp": obj.describe(), "options": [_describe(o, constant) for o in obj.options]}
    if isinstance(obj, Numeric):
        return {"hp": obj.describe()}
    if isinstance(obj, Call):
        fn = f"{getattr(obj.fn, '__module__', '')}.{getattr(obj.fn, '__qualname__', obj.name)}"
        return {"call": fn, "args": [_describe(a, constant) for a in obj.children()]}
    if isinstance(obj, dict):
        return {"dict": {str(k): _describe(v, constant) for k, v in obj.items()}}
    if isinstance(obj, (list, tuple)):
        return {type(obj).__name__: [_describe(v, constant) for v in obj]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    return constant(obj)


def compile_space(space: Any) -> CompiledSpace:
    """Check `space` and build its flat view.

    Not cached: a notebook user who edits the dict between two calls gets the edited
    space (compiling takes well under a millisecond for typical spaces).
    """
    if isinstance(space, CompiledSpace):
        return space
    try:
        return CompiledSpace(space)
    except RecursionError:
        raise InvalidSpace(
            f"the space nests deeper than Python can walk (its recursion limit is {sys.getrecursionlimit()}); "
            "a search space is a tree of dicts, lists and hp.* nodes a few levels deep: check how it was built"
        ) from None


def space_eval(space: Any, hp_assignment: Mapping[str, Any]) -> Any:
    """The point of `space` for a flat assignment, as in hyperopt.

    ``hp_assignment`` maps labels to values, a choice's value being its index (this is
    what ``fmin`` and ``trials.argmin`` return). Labels of inactive branches are ignored.

    Args:
        space: the search space.
        hp_assignment: a flat point, ``{label: value}`` (a choice as its index).

    Returns:
        The point of the space: its dicts and lists with each hyperparameter's value (a choice as its option).

    Raises:
        MissingParameter: an active label has no value in `hp_assignment`.
        InvalidParameterValue: a value is outside its hyperparameter's domain (a bad choice index).
    """
    if not isinstance(hp_assignment, Mapping):
        raise InvalidParameterValue(f"space_eval needs a mapping of label -> value, got {type(hp_assignment).__name__}")
    return compile_space(space).eval(hp_assignment)


def sample(space: Any, rng: np.random.Generator | None = None) -> Any:
    """A random point of `space`, evaluated (``hyperopt.pyll.stochastic.sample``).

    Args:
        space: the search space.
        rng: a ``numpy.random.Generator`` (a legacy ``RandomState`` is accepted); None: a fresh one.
    """
    if rng is None:
        rng = np.random.default_rng()
    elif isinstance(rng, np.random.RandomState):
        rng = np.random.default_rng(rng.randint(2**31 - 1))
    compiled = compile_space(space)
    return compiled.eval(compiled.sample(rng))
