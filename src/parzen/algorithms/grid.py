"""Grid search: every combination of the discrete dimensions, and
``points_per_dimension`` points on each continuous one, then a clean stop.

Set the density with ``functools.partial(grid.suggest, points_per_dimension=7)``.
Conditional spaces are walked as trees: a parameter inside a choice's option is
combined only with that option. Points already in the history (from
``points_to_evaluate``, an earlier ``fmin`` call or a resumed store) are skipped, and
when every point has been suggested `suggest` returns None, which ends ``fmin``.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from scipy.special import ndtri

from parzen.exceptions import InvalidArgument
from parzen.space import Categorical, CompiledSpace, Param
from parzen.trials import History

_ENUMERATIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def values_for(param: Param, points_per_dimension: int) -> Sequence:
    """The grid values of one parameter (all of them for a discrete one)."""
    if isinstance(param, Categorical):
        return range(len(param.options))
    if param.kind == "randint":
        return range(int(param.low), int(param.high))
    if param.q is not None and param.bounded:
        lo, hi = param.from_internal(np.array([param.low, param.high])) / param.q
        return [float(k * param.q) for k in range(int(np.round(lo)), int(np.round(hi)) + 1)]
    n = points_per_dimension
    if param.bounded:
        internal = np.linspace(param.low, param.high, n) if n > 1 else np.array([(param.low + param.high) / 2])
    else:
        internal = param.mu + param.sigma * ndtri((np.arange(n) + 0.5) / n)
    values = param.from_internal(internal)
    return [float(v) for v in dict.fromkeys(values.tolist())]


def enumerate_grid(space: CompiledSpace, points_per_dimension: int) -> Iterator[dict[str, Any]]:
    """Every grid point, depth-first, the last-visited parameter varying fastest.

    Works like an odometer over the parameters in the order a walk visits them: which
    parameters are visited depends on the choices made before them, so after each
    point the last digit that can still advance is advanced and the rest restart at 0.
    """
    values: dict[str, Sequence] = {}
    prefix: list[int] = []
    while True:
        walk = _OdometerWalk(prefix, values, points_per_dimension)
        yield space.walk(walk.pick)
        digits = (prefix + [0] * len(walk.sizes))[: len(walk.sizes)]
        k = len(walk.sizes) - 1
        while k >= 0 and digits[k] + 1 >= walk.sizes[k]:
            k -= 1
        if k < 0:
            return
        prefix = digits[:k] + [digits[k] + 1]


class _OdometerWalk:
    """One walk of the grid: picks the value each digit of `prefix` points at (0 past it)."""

    def __init__(self, prefix: list[int], values: dict[str, Sequence], points_per_dimension: int):
        self.prefix = prefix
        self.values = values
        self.points_per_dimension = points_per_dimension
        self.sizes: list[int] = []

    def pick(self, param: Param) -> Any:
        if param.label not in self.values:
            self.values[param.label] = values_for(param, self.points_per_dimension)
        values = self.values[param.label]
        position = len(self.sizes)
        self.sizes.append(len(values))
        return values[self.prefix[position] if position < len(self.prefix) else 0]


class _Enumeration:
    """The grid points produced so far for one space, extended on demand."""

    def __init__(self, space: CompiledSpace, points_per_dimension: int):
        self.iterator = enumerate_grid(space, points_per_dimension)
        self.points: list[dict[str, Any]] = []
        self.keys: list[tuple] = []
        self.done = False

    def point(self, index: int) -> dict[str, Any] | None:
        while index >= len(self.points) and not self.done:
            nxt = next(self.iterator, None)
            if nxt is None:
                self.done = True
            else:
                self.points.append(nxt)
                self.keys.append(_key(nxt))
        return self.points[index] if index < len(self.points) else None


def _key(params: dict[str, Any]) -> tuple:
    return tuple(sorted(params.items()))


def suggest(
    space: CompiledSpace, history: History, rng: np.random.Generator, points_per_dimension: int = 5
) -> dict[str, Any] | None:
    """The first grid point not yet in `history`, or None when the grid is exhausted."""
    if not isinstance(points_per_dimension, (int, np.integer)) or points_per_dimension < 1:
        raise InvalidArgument(
            f"grid.suggest: points_per_dimension must be an integer >= 1, got {points_per_dimension!r}"
        )
    per_space = _ENUMERATIONS.setdefault(space, {})
    enumeration = per_space.setdefault(points_per_dimension, _Enumeration(space, points_per_dimension))
    used = {_key(row) for row in history.rows}
    index = 0
    while (point := enumeration.point(index)) is not None:
        if enumeration.keys[index] not in used:
            return dict(point)
        index += 1
    return None


def grid_size(space: CompiledSpace, points_per_dimension: int = 5) -> int:
    """How many points the grid of `space` has (walks the whole grid)."""
    return sum(1 for _ in enumerate_grid(space, points_per_dimension))
