"""Grid search: every combination of the discrete dimensions, and
``points_per_dimension`` points on each continuous one, then a clean stop.

Set the density with ``functools.partial(grid.suggest, points_per_dimension=7)``.
Conditional spaces are walked as trees: a parameter inside a choice's option is
combined only with that option. Points already in the history (from
``points_to_evaluate``, an earlier ``fmin`` call or a resumed store) are skipped, and
when every point has been suggested `suggest` returns None, which ends ``fmin``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from scipy.special import ndtri

from parzen._validation import integer_at_least
from parzen.space import Categorical, CompiledSpace, Numeric, Param
from parzen.trial import History


def values_for(param: Param, points_per_dimension: int) -> Sequence[Any]:
    """The grid values of one parameter (all of them for a discrete one).

    Args:
        param: a parameter of a compiled space (``space.params[label]``).
        points_per_dimension: how many values a continuous parameter gets: evenly spaced
            in its (log) range, or at quantiles of a normal prior.

    Returns:
        The values in order (a choice's as option indices; options with odds 0 left out).
    """
    if isinstance(param, Categorical):  # options the prior gives no chance (pchoice odds 0) are not points
        return [i for i, p in enumerate(param.probs) if p > 0]
    assert isinstance(param, Numeric)
    if param.kind == "randint":
        return range(int(param.low), int(param.high))
    if param.q is not None and param.bounded:
        lo, hi = param.from_internal(np.array([param.low, param.high])) / param.q
        return _Multiples(range(int(np.round(lo)), int(np.round(hi)) + 1), param.q)
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

    Args:
        space: the compiled space.
        points_per_dimension: values per continuous parameter (see `values_for`).

    Yields:
        Each point once, as ``{label: value}`` for its active labels.
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


class _Multiples(Sequence):
    """k * q for k in a range, computed on access (a quantised dimension can be huge)."""

    def __init__(self, ks: range, q: float):
        self.ks, self.q = ks, q

    def __len__(self) -> int:
        return len(self.ks)

    def __getitem__(self, i):
        return float(self.ks[i] * self.q)


class _Enumeration:
    """Where one run is in its grid: the next point to try and the points already used.

    Histories only grow during a run, so the rows seen so far and the cursor carry
    over from one suggestion to the next: each suggestion costs the new rows only.
    """

    def __init__(self, space: CompiledSpace, points_per_dimension: int):
        self.iterator = enumerate_grid(space, points_per_dimension)
        self.used: set[tuple] = set()
        self.rows_seen = 0
        self.pending: dict[str, Any] | None = None

    def next_unused(self, rows: list[dict]) -> dict[str, Any] | None:
        for row in rows[self.rows_seen :]:
            self.used.add(_key(row))
        self.rows_seen = len(rows)
        while True:
            point = self.pending if self.pending is not None else next(self.iterator, None)
            self.pending = None
            if point is None:
                return None
            if _key(point) not in self.used:
                self.pending = point  # suggested, but only used once it shows up in the history
                return dict(point)


def _key(params: dict[str, Any]) -> tuple:
    return tuple(sorted(params.items()))


def suggest(
    space: CompiledSpace, history: History, rng: np.random.Generator, points_per_dimension: int = 5
) -> dict[str, Any] | None:
    """The first grid point not yet in `history`, or None when the grid is exhausted.

    Use it as ``fmin(..., algo=grid.suggest)``; None ends the run once every point was tried.

    Args:
        space: the compiled space (fmin passes it).
        history: every trial so far (fmin passes it); points already in it are skipped.
        rng: not used: the grid's order is fixed.
        points_per_dimension: values per continuous parameter (see `values_for`).

    Returns:
        The next point, or None when every grid point is in `history`.
    """
    integer_at_least("grid.suggest: points_per_dimension", points_per_dimension, 1)
    per_space: dict[int, _Enumeration] = space.algorithm_state(_Enumeration, dict)
    enumeration = per_space.get(points_per_dimension)
    if enumeration is None or enumeration.rows_seen > len(history):  # a different history
        enumeration = per_space[points_per_dimension] = _Enumeration(space, points_per_dimension)
    return enumeration.next_unused(history.rows)


def grid_size(space: CompiledSpace, points_per_dimension: int = 5) -> int:
    """How many points the grid of `space` has (walks the whole grid).

    Args:
        space: the compiled space.
        points_per_dimension: values per continuous parameter (see `values_for`).
    """
    return sum(1 for _ in enumerate_grid(space, points_per_dimension))


suggest.multi_objective = True  # type: ignore[attr-defined]  # reads no loss: any number of objectives
