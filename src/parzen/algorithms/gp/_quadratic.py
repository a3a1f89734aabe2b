"""Now and then, the minimiser of a quadratic fitted to the best trials (nevergrad's MetaModel lesson).

On smooth ill-conditioned valleys (an ellipsoid with a condition number of a million, a
bent cigar, a sharp ridge) a stationary GP needs many trials to resolve the narrow
direction, while a full quadratic fitted by least squares to the best ``p + m`` trials
(``p = (m+1)(m+2)/2`` coefficients for ``m`` numeric parameters) finds the valley's
floor at once. nevergrad's MetaModel proposes such a point every 13th evaluation and
wins those functions by orders of magnitude (benchmarks/results/portfolio.md).

The fit is checked before it is used: its predictions on the trials it was fitted to
must rank them as their losses do (Spearman's rho at least ``MIN_RANK_CORRELATION``),
so on a rugged or multimodal landscape the step is skipped and the GP suggests as
usual. The minimiser is searched inside the trials' own box (the fitted trials' range,
widened by half on each side) so a saddle or a flat direction does not send it to a
corner. Categorical parameters keep the best trial's options.
"""

from __future__ import annotations

import contextlib

import numpy as np
from scipy.optimize import minimize
from scipy.stats import spearmanr

MIN_RANK_CORRELATION = 0.9
WIDEN = 0.5  # the search box: the fitted trials' range widened by this share of it on each side


def n_coefficients(m: int) -> int:
    """Coefficients of a full quadratic in `m` variables: 1 + m + m(m+1)/2."""
    return (m + 1) * (m + 2) // 2


def trials_needed(m: int) -> int:
    """Trials with a loss before a quadratic in `m` variables is fitted: its coefficients plus `m`."""
    return n_coefficients(m) + m


def _features(z: np.ndarray) -> np.ndarray:
    """[1, z_i, z_i z_j (i <= j)] for each row of `z`."""
    n, m = z.shape
    rows, cols = np.triu_indices(m)
    return np.hstack([np.ones((n, 1)), z, z[:, rows] * z[:, cols]])


def quadratic_minimiser(
    x: np.ndarray, loss: np.ndarray, numeric: np.ndarray, box: tuple[np.ndarray, np.ndarray]
) -> np.ndarray | None:
    """Coordinates of the fitted quadratic's minimiser, or None when the fit cannot be trusted.

    Args:
        x: (n, d) coordinates of the trials with a finite loss.
        loss: (n,) their losses.
        numeric: indices of the numeric coordinates (the quadratic's variables).
        box: lower and upper coordinates the point must lie in.
    """
    m = len(numeric)
    k = trials_needed(m)
    if m == 0 or len(loss) < k:
        return None
    best = np.argsort(loss, kind="stable")[:k]
    xs, ys = x[best][:, numeric], loss[best]
    centre = xs.mean(axis=0)
    spread = xs.max(axis=0) - xs.min(axis=0)
    if np.any(spread <= 1e-12) or not ys.max() - ys.min() > 1e-300:
        return None
    z = (xs - centre) / spread
    y = (ys - ys.min()) / (ys.max() - ys.min())
    design = _features(z)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    rho = spearmanr(design @ coef, y)[0]
    if not np.isfinite(rho) or rho < MIN_RANK_CORRELATION:
        return None
    z_best = _minimise(coef, m, z[0], _search_box(xs, spread, centre, box, numeric))
    if z_best is None:
        return None
    out = x[best[0]].copy()
    out[numeric] = centre + z_best * spread
    return out


def _search_box(
    xs: np.ndarray, spread: np.ndarray, centre: np.ndarray, box: tuple[np.ndarray, np.ndarray], numeric: np.ndarray
) -> list[tuple[float, float]]:
    """Bounds in the scaled variables: the fitted trials' range widened, inside the space's box."""
    low = np.maximum(xs.min(axis=0) - WIDEN * spread, box[0][numeric])
    high = np.minimum(xs.max(axis=0) + WIDEN * spread, box[1][numeric])
    return list(zip((low - centre) / spread, (high - centre) / spread))


def _minimise(coef: np.ndarray, m: int, start: np.ndarray, bounds: list[tuple[float, float]]) -> np.ndarray | None:
    """The quadratic's minimum inside `bounds`, from the best trial and from its Newton point."""
    b = coef[1 : m + 1]
    h = np.zeros((m, m))
    h[np.triu_indices(m)] = coef[m + 1 :]
    hess = h + h.T  # the gradient of z' h z is (h + h') z

    def value_and_grad(z: np.ndarray) -> tuple[float, np.ndarray]:
        return float(coef[0] + b @ z + z @ h @ z), b + hess @ z

    starts = [start]
    with contextlib.suppress(np.linalg.LinAlgError):  # singular: the best trial alone
        starts.append(np.linalg.solve(hess, -b))
    low, high = np.array(bounds).T
    found = []
    for z0 in starts:
        if not np.all(np.isfinite(z0)):
            continue
        res = minimize(value_and_grad, np.clip(z0, low, high), jac=True, method="L-BFGS-B", bounds=bounds)
        if np.all(np.isfinite(res.x)):
            found.append((float(res.fun), res.x))
    return min(found, key=lambda f: f[0])[1] if found else None
