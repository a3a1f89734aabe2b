"""Output transforms: losses -> the standardised values the Gaussian process models.

A GP with a stationary kernel models heavy-tailed losses badly: one huge loss
stretches the scale, and every other trial looks equally good. The transforms:

* ``"standardize"``: ``(y - mean) / sd`` only (optuna's GPSampler);
* ``"power"``: HEBO's warping: Box-Cox when every loss is positive (Yeo-Johnson if that
  leaves the values still skewed), Yeo-Johnson otherwise, its exponent by maximum
  likelihood, then standardised;
* ``"rank"``: the normal scores of the ranks, ``Phi^-1((rank - 1/2) / n)``: the copula
  transform, immune to any monotone distortion but blind to how much better the best is;
* ``"log"``: ``log(y - min + s)`` with ``s`` a small share of the spread, then
  standardised: the best trials, bunched near the minimum, are pulled apart.

Failed trials are given the worst transformed value (they count against their region).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import stats
from scipy.special import ndtri

TRANSFORMS = ("power", "rank", "standardize", "log")


def transform(loss: np.ndarray, kind: str) -> np.ndarray:
    """Transformed and standardised losses (finite values only)."""
    y = np.asarray(loss, dtype=float)
    if len(y) < 2 or np.ptp(y) <= 0:
        return np.zeros_like(y)
    if kind == "rank":
        return ndtri((stats.rankdata(y) - 0.5) / len(y))
    if kind == "log":
        spread = float(np.ptp(y))
        y = np.log(y - y.min() + 1e-3 * spread)
    elif kind == "power":
        y = _power(y)
    return _standardise(y)


def _standardise(y: np.ndarray) -> np.ndarray:
    sd = float(np.std(y))
    return (y - float(np.mean(y))) / sd if sd > 0 else np.zeros_like(y)


def _power(y: np.ndarray) -> np.ndarray:
    """HEBO's choice between Box-Cox and Yeo-Johnson (``hebo.models.util.power_transform`` in spirit)."""
    y = y / np.std(y)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if y.min() > 0:
            out = _standardise(stats.boxcox(y)[0])
            if np.all(np.isfinite(out)) and np.std(out) >= 0.5:
                return out
        out = stats.yeojohnson(_standardise(y))[0]
    return out if np.all(np.isfinite(out)) else y
