"""Log expected improvement and its maximisation over a mixed box.

``logEI(x) = log h(z) + log sigma`` with ``z = (best - mu) / sigma`` and
``h(z) = phi(z) + z Phi(z)``, computed as Ament et al. (2023, "Unexpected improvements to
expected improvement") do: where EI underflows to 0 in double precision (a few sigma
below the best), its logarithm and gradient stay finite and ordered, so the optimiser
still climbs towards the promising region instead of sitting on a flat zero.

Maximisation: a pool of random points of the box plus points near the best trials is
scored; the best few start L-BFGS-B on the numeric coordinates (analytic gradients,
all starts as one stacked problem, coordinates scaled by the length-scales so that
every direction is equally curved); categorical and integer/quantised coordinates are
then improved by a coordinate search on their grids, so the value finally compared is
always taken at a point the objective can receive.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize
from scipy.special import erfcx, log_ndtr, ndtr

from parzen.algorithms.gp._model import Posterior
from parzen.algorithms.gp._space import Encoding

_C1 = 0.5 * math.log(2 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2)
_TAIL = -1.0 / math.sqrt(np.finfo(float).eps)


def log_h(z: np.ndarray) -> np.ndarray:
    """``log(phi(z) + z Phi(z))``, accurate for every z (Ament et al. 2023, eq. 9)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    zu = z[upper]
    out[upper] = np.log(np.exp(-0.5 * zu * zu - _C1) + zu * ndtr(zu))
    mid = ~upper & (z > _TAIL)
    zm = z[mid]
    out[mid] = -0.5 * zm * zm - _C1 + _log1mexp(np.log(erfcx(-zm / math.sqrt(2)) * np.abs(zm)) + _C2)
    low = ~upper & ~mid
    zl = z[low]
    out[low] = -0.5 * zl * zl - _C1 - 2.0 * np.log(np.abs(zl))
    return out


def _log1mexp(x: np.ndarray) -> np.ndarray:
    """``log(1 - exp(x))`` for x < 0 (Mächler 2012)."""
    return np.where(x > -math.log(2.0), np.log(-np.expm1(x)), np.log1p(-np.exp(x)))


def log_ei(mean: np.ndarray, var: np.ndarray, best: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """logEI for minimisation and its derivatives with respect to the mean and the variance."""
    sigma = np.sqrt(var)
    z = (best - mean) / sigma
    lh = log_h(z)
    ratio = np.exp(log_ndtr(z) - lh)  # d log h / dz = Phi(z) / h(z)
    d_mean = -ratio / sigma
    d_sigma = (1.0 - ratio * z) / sigma
    return lh + np.log(sigma), d_mean, d_sigma / (2.0 * sigma)


class Acquisition:
    """logEI of one posterior against the best (transformed) value; evaluates on coordinates."""

    def __init__(self, enc: Encoding, posterior: Posterior, best: float):
        self.enc, self.posterior, self.best = enc, posterior, best
        self.numeric = enc.continuous
        # the feature column of each numeric dimension (numeric dimensions have exactly one)
        self.numeric_columns = np.array([int(np.flatnonzero(enc.columns == j)[0]) for j in self.numeric], dtype=int)

    def value(self, x: np.ndarray) -> np.ndarray:
        mean, var = self.posterior.predict(self.enc.features(x))
        return log_ei(mean, var, self.best)[0]

    def value_and_grad(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """logEI at rows of `x` and its gradient in the numeric coordinates."""
        mean, var, d_mean, d_var = self.posterior.predict(self.enc.features(x), grad=True)
        value, dm, dv = log_ei(mean, var, self.best)
        grad = dm[:, None] * d_mean[:, self.numeric_columns] + dv[:, None] * d_var[:, self.numeric_columns]
        return value, grad


def maximise(
    acq: Acquisition,
    rng: np.random.Generator,
    box: tuple[np.ndarray, np.ndarray],
    incumbents: np.ndarray,
    n_pool: int,
    n_starts: int,
    local_share: float,
    lengthscales: np.ndarray,
    max_iter: int = 200,
) -> tuple[np.ndarray, float]:
    """The best snapped point found and its logEI.

    A share `local_share` of the pool are Gaussian moves of the incumbents (the best
    trials), each at its own scale: a factor log-uniform in [0.01, 0.3] of the
    dimension's length-scale (capped at 1): where improvement is likely once the model
    has found a basin (TuRBO's lesson, without its bookkeeping). The rest is uniform.
    """
    enc = acq.enc
    low, high = box
    n_local = int(n_pool * local_share) if len(incumbents) else 0
    pool = [enc.random(rng, n_pool - n_local, low, high)]
    if n_local:
        centres = incumbents[rng.integers(0, len(incumbents), size=n_local)]
        factor = np.exp(rng.uniform(np.log(0.01), np.log(0.3), size=(n_local, 1)))
        scale = factor * np.clip(lengthscales, 1e-3, 1.0)[None, :]
        pool.append(_perturb(enc, centres, scale, rng, low, high))
    pool.append(incumbents)
    candidates = np.vstack(pool)
    scores = acq.value(candidates)
    order = np.argsort(-np.where(np.isfinite(scores), scores, -np.inf), kind="stable")
    starts = _distinct(candidates[order], n_starts)
    if len(acq.numeric):
        starts = _gradient_ascent(acq, starts, low, high, max_iter)
    starts = enc.snap(starts)
    values = acq.value(starts)
    best = int(np.argmax(values))
    x, value = starts[best], float(values[best])
    if (enc.categorical | enc.quantized).any():
        x, value = _coordinate_search(acq, x, value)
    return x, value


def _perturb(
    enc: Encoding,
    centres: np.ndarray,
    scale: np.ndarray,
    rng: np.random.Generator,
    low: np.ndarray,
    high: np.ndarray,
) -> np.ndarray:
    """Gaussian moves of numeric coordinates; each categorical switches option with probability 1/d."""
    x = centres + rng.normal(size=centres.shape) * scale
    x = np.clip(x, low, high)
    d = enc.n_dims
    for j in np.flatnonzero(enc.categorical):
        switch = rng.uniform(size=len(x)) < 1.0 / d
        x[switch, j] = rng.choice(enc.allowed[j], size=int(switch.sum()))
        x[~switch, j] = centres[~switch, j]
    return enc.snap(x)


def _distinct(sorted_points: np.ndarray, k: int) -> np.ndarray:
    """The first `k` rows that differ from every earlier chosen row."""
    chosen: list[np.ndarray] = []
    for row in sorted_points:
        if all(np.max(np.abs(row - c)) > 1e-9 for c in chosen):
            chosen.append(row)
            if len(chosen) == k:
                break
    return np.array(chosen)


def _gradient_ascent(
    acq: Acquisition, starts: np.ndarray, low: np.ndarray, high: np.ndarray, max_iter: int
) -> np.ndarray:
    """L-BFGS-B on the sum of logEI over the starts (independent problems, one optimiser call).

    Coordinates are divided by their length-scales (the kernel sees ``x / l``), which
    equalises the curvature across dimensions and speeds convergence.
    """
    numeric = acq.numeric
    scale = acq.posterior.hyper.lengthscales[numeric]
    fixed = starts.copy()
    m, k = len(starts), len(numeric)

    def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
        x = fixed.copy()
        x[:, numeric] = flat.reshape(m, k) * scale
        value, grad = acq.value_and_grad(x)
        ok = np.isfinite(value)
        value = np.where(ok, value, -1e6)
        grad = np.where(ok[:, None], grad, 0.0)
        return -float(value.sum()), -(grad * scale).ravel()

    lo = np.tile(low[numeric] / scale, m)
    hi = np.tile(high[numeric] / scale, m)
    x0 = np.clip((starts[:, numeric] / scale).ravel(), lo, hi)
    result = minimize(
        objective,
        x0,
        jac=True,
        method="L-BFGS-B",
        bounds=list(zip(lo, hi)),
        options={"maxiter": max_iter, "gtol": 1e-6},
    )
    out = fixed.copy()
    out[:, numeric] = np.clip(result.x, lo, hi).reshape(m, k) * scale
    # a start the optimiser made worse (it optimises the sum) keeps its own point
    before, after = acq.value(starts), acq.value(out)
    worse = ~(after >= before)
    out[worse] = starts[worse]
    return out


def _coordinate_search(acq: Acquisition, x: np.ndarray, value: float, rounds: int = 3) -> tuple[np.ndarray, float]:
    """Improve a snapped point one discrete coordinate at a time (every option, nearby grid values)."""
    enc = acq.enc
    discrete = np.flatnonzero(enc.categorical | enc.quantized)
    for _ in range(rounds):
        improved = False
        for j in discrete:
            rows = enc.neighbours(x, int(j))
            if not len(rows):
                continue
            values = acq.value(rows)
            i = int(np.argmax(values))
            if values[i] > value + 1e-12:
                x, value, improved = rows[i], float(values[i]), True
        if not improved:
            break
    return x, value
