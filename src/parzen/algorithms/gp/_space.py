"""The space as the Gaussian process sees it: one coordinate per parameter, a box, and the grids.

Each parameter keeps TPE's coordinate (`parzen.algorithms.tpe._parzen.Dim`): ``u`` in
``[0, 1]`` for a bounded numeric parameter, on the log scale for log kinds; an unbounded
one (normal, lognormal) is centred on its prior at ``u = 0.5``, one sigma per ``1/6``, and
searched over ``[0, 1]`` (its prior's +-3 sigma) widened to the trials seen. A categorical
parameter holds its option index; the kernel sees it as a one-hot block, so two
different options are one distance apart, whatever their order.

Integer and quantised parameters are searched as continuous coordinates and then
snapped to their grid: every acquisition value the optimiser finally compares is taken
at a point the objective can receive (see ``_acquisition.py``), so the model and the
suggestion agree.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import ndtri
from scipy.stats import qmc

from parzen.algorithms.tpe._parzen import Dim
from parzen.space import CompiledSpace, to_python
from parzen.trial import History

_MAX_NEIGHBOUR_STEPS = 2  # grid steps tried either side of a rounded value in the discrete search


@dataclass(frozen=True)
class Encoding:
    """The coordinates of one flat (unconditional) space, computed once per run."""

    labels: tuple[str, ...]
    dims: tuple[Dim, ...]
    categorical: np.ndarray  # (d,) bool
    quantized: np.ndarray  # (d,) bool: integer or quantised numeric
    bounded: np.ndarray  # (d,) bool
    n_options: np.ndarray  # (d,) options of a categorical (0 for numeric)
    allowed: tuple[np.ndarray, ...]  # per dimension: options of prior probability > 0 (empty for numeric)
    columns: np.ndarray  # (D,) the parameter each kernel feature belongs to
    one_hot: np.ndarray  # (D,) the option a one-hot feature stands for (-1: a numeric feature)

    @staticmethod
    def of(space: CompiledSpace) -> Encoding:
        labels = tuple(space.params)
        dims = tuple(Dim.of(space.params[label]) for label in labels)
        categorical = np.array([d.categorical for d in dims], dtype=bool)
        n_options = np.array([len(d.probs) if d.categorical else 0 for d in dims], dtype=int)
        allowed = tuple(np.flatnonzero(d.probs > 0) if d.categorical else np.empty(0, dtype=int) for d in dims)
        columns, one_hot = [], []
        for j, d in enumerate(dims):
            if d.categorical:
                columns += [j] * int(n_options[j])
                one_hot += list(range(int(n_options[j])))
            else:
                columns.append(j)
                one_hot.append(-1)
        return Encoding(
            labels,
            dims,
            categorical,
            np.array([not d.categorical and d.quantized for d in dims], dtype=bool),
            np.array([d.bounded or d.categorical for d in dims], dtype=bool),
            n_options,
            allowed,
            np.array(columns, dtype=int),
            np.array(one_hot, dtype=int),
        )

    @property
    def n_dims(self) -> int:
        return len(self.dims)

    @property
    def continuous(self) -> np.ndarray:
        """Indices of the numeric dimensions (quantised ones included: searched relaxed, then snapped)."""
        return np.flatnonzero(~self.categorical)

    # ---- trials -> coordinates ---------------------------------------------------------------

    def encode_history(self, history: History) -> np.ndarray:
        """(n, d) coordinates of every trial (NaN rows cannot occur: the space is unconditional)."""
        cols = [d.encode(history.values(label)) for label, d in zip(self.labels, self.dims)]
        return np.stack(cols, axis=1) if cols else np.empty((len(history), 0))

    def features(self, x: np.ndarray) -> np.ndarray:
        """Kernel features: numeric coordinates as they are, categoricals as one-hot blocks / sqrt(2).

        Two different options then lie at squared distance 1, like the two ends of a
        numeric dimension, and no order is implied among options.
        """
        x = np.atleast_2d(x)
        out = x[:, self.columns].astype(float, copy=True)
        cat = self.one_hot >= 0
        if cat.any():
            out[:, cat] = (out[:, cat] == self.one_hot[cat]) / math.sqrt(2.0)
        return out

    # ---- the search box --------------------------------------------------------------------------

    def box(self, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper u of each dimension (categoricals: unused); unbounded ones widen to the trials."""
        low, high = np.zeros(self.n_dims), np.ones(self.n_dims)
        open_ = ~self.bounded
        if open_.any() and len(observed):
            low[open_] = np.minimum(0.0, observed[:, open_].min(axis=0))
            high[open_] = np.maximum(1.0, observed[:, open_].max(axis=0))
        return low, high

    def random(self, rng: np.random.Generator, n: int, low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """`n` uniform points of the box (allowed options uniformly for categoricals)."""
        x = low + rng.uniform(size=(n, self.n_dims)) * (high - low)
        for j in np.flatnonzero(self.categorical):
            x[:, j] = rng.choice(self.allowed[j], size=n)
        return self.snap(x)

    # ---- startup: a scrambled Sobol sequence through the prior --------------------------------------

    def sobol(self, seed: int, start: int, n: int) -> np.ndarray:
        """Points `start` .. `start + n - 1` of a scrambled Sobol sequence mapped through each prior.

        Numeric bounded dimensions are uniform in u (the prior is uniform there); unbounded
        ones take the normal prior's inverse CDF; categoricals split [0, 1) by the options'
        prior odds (an option of odds 0 gets no share).
        """
        engine = qmc.Sobol(max(1, self.n_dims), scramble=True, seed=seed)
        with warnings.catch_warnings():  # a prefix of any length is what a run needs, balanced or not
            warnings.simplefilter("ignore", UserWarning)
            if start:
                engine.fast_forward(start)
            s = engine.random(n)[:, : self.n_dims]
        x = np.empty_like(s)
        for j, d in enumerate(self.dims):
            if d.categorical:
                edges = np.cumsum(d.probs) / d.probs.sum()
                x[:, j] = np.minimum(np.searchsorted(edges, s[:, j], side="right"), len(edges) - 1)
                x[:, j] = np.where(d.probs[x[:, j].astype(int)] > 0, x[:, j], self.allowed[j][-1])
            elif d.bounded:
                x[:, j] = s[:, j]
            else:
                x[:, j] = d.prior_mu + d.prior_sigma * ndtri(np.clip(s[:, j], 1e-9, 1 - 1e-9))
        return self.snap(x)

    # ---- grids -------------------------------------------------------------------------------------

    def snap(self, x: np.ndarray) -> np.ndarray:
        """Each row moved to the nearest point the objective can receive (quantised values, integers)."""
        x = np.array(x, dtype=float)
        for j in np.flatnonzero(self.quantized):
            d = self.dims[j]
            x[:, j] = d.encode(np.asarray(d.decode(x[:, j]), dtype=float))
        return x

    def neighbours(self, x: np.ndarray, j: int) -> np.ndarray:
        """Rows differing from the snapped row `x` in dimension `j` only: other options, or nearby grid values."""
        d = self.dims[j]
        if d.categorical:
            options = self.allowed[j][self.allowed[j] != x[j]]
            out = np.repeat(x[None, :], len(options), axis=0)
            out[:, j] = options
            return out
        value = float(np.asarray(d.decode(np.array([x[j]])), dtype=float)[0])
        step = 1.0 if d.numeric.kind == "randint" else float(d.numeric.q)
        values = value + step * np.array([k for k in range(-_MAX_NEIGHBOUR_STEPS, _MAX_NEIGHBOUR_STEPS + 1) if k])
        if d.bounded:
            lo, hi = _value_range(d)
            values = values[(values >= lo - 1e-9 * max(1.0, abs(lo))) & (values <= hi + 1e-9 * max(1.0, abs(hi)))]
        if d.numeric.log:
            values = values[values > 0]
        u = d.encode(values)
        u = u[np.abs(u - x[j]) > 1e-12]
        out = np.repeat(x[None, :], len(u), axis=0)
        out[:, j] = u
        return self.snap(out) if len(out) else out

    # ---- coordinates -> a point ------------------------------------------------------------------

    def point(self, x: np.ndarray) -> dict[str, Any]:
        """The flat point of coordinates `x` (option indices, rounded and exponentiated values)."""
        out: dict[str, Any] = {}
        for j, (label, d) in enumerate(zip(self.labels, self.dims)):
            value = d.decode(np.array([x[j]]))[0]
            if d.categorical:
                value = int(value)
            elif d.bounded:
                lo, hi = _value_range(d)
                value = min(max(value, lo), hi) if d.numeric.kind != "randint" else value
            out[label] = to_python(value)
        return out


def _value_range(d: Dim) -> tuple[float, float]:
    """The smallest and largest value of a bounded numeric dimension, as the kind rounds them."""
    param = d.numeric
    if param.kind == "randint":
        return float(param.low), float(param.high - 1)
    return param.value_bounds()
