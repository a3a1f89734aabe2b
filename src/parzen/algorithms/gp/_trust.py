"""A trust region around the best trial, sized by replaying the run (TuRBO, Eriksson et al. 2019).

The acquisition is maximised inside a box centred on the best trial, its sides ``L``
times the length-scales over their geometric mean (a relevant parameter gets a narrow
side). ``L`` starts at 0.8 of the unit box; after ``succ_tol`` improvements in a row it
doubles (up to 1.6), after ``fail_tol = max(4, d)`` non-improvements in a row it halves,
and below ``0.5^7`` it starts over at 0.8. ``L`` is a function of the history alone,
replayed in trial order, so the suggestion stays a pure function of the history.
"""

from __future__ import annotations

import math

import numpy as np

L_INIT, L_MIN, L_MAX = 0.8, 0.5**7, 1.6
SUCC_TOL = 3


def trust_length(loss: np.ndarray, finished: np.ndarray, n_startup: int, n_dims: int) -> float:
    """``L`` after replaying the finished trials (`loss` NaN: failed) in order, from the end of the startup."""
    fail_tol = max(4, n_dims)
    length, succ, fail = L_INIT, 0, 0
    best = math.inf
    seen = 0
    for value, done in zip(loss, finished):
        if not done:
            continue
        seen += 1
        improved = bool(np.isfinite(value)) and value < best - 1e-3 * abs(best)
        if np.isfinite(value):
            best = min(best, float(value))
        if seen <= n_startup:
            continue
        succ, fail = (succ + 1, 0) if improved else (0, fail + 1)
        if succ >= SUCC_TOL:
            length, succ = min(2.0 * length, L_MAX), 0
        elif fail >= fail_tol:
            length, fail = length / 2.0, 0
            if length < L_MIN:
                length = L_INIT
    return length


def trust_box(
    centre: np.ndarray, lengthscales: np.ndarray, length: float, box: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The trust region's bounds, inside `box`: side ``length * l_j / geomean(l)`` in each coordinate."""
    scale = np.clip(lengthscales, 1e-3, 1e2)
    weights = scale / math.exp(float(np.mean(np.log(scale))))
    half = 0.5 * length * weights
    low, high = box
    return np.maximum(low, centre - half), np.minimum(high, centre + half)
