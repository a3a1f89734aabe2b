"""A quadratic prior mean for the local model: the GP models what a quadratic leaves over.

Near a smooth optimum a loss is close to a quadratic, often a rotated and badly scaled
one (a long narrow valley). A stationary kernel with one length-scale per axis learns
that slowly; a least-squares quadratic over the trials near the trust region captures
it from about ``(k + 1)(k + 2) / 2`` of them (k numeric parameters), as the
model-based trust-region methods do (Powell's NEWUOA/BOBYQA; nevergrad's MetaModel fits
one over CMA-ES). The GP then models the residual (with its uncertainty), so the
acquisition still trades exploitation against exploration.

With fewer trials the quadratic is diagonal (``1 + 2k`` terms), then linear (``1 + k``);
a ridge penalty keeps an ill-posed fit tame. Coordinates are centred on the trust region
and scaled by its half-widths.
"""

from __future__ import annotations

import numpy as np

_RIDGE = 1e-4
_SPARE = 1.5  # trials per coefficient before a richer form is used


class QuadraticMean:
    """``m(z) = phi(t) @ beta`` with ``t = (z[:, cols] - centre) / half``; zero on the other columns."""

    def __init__(self, z: np.ndarray, y: np.ndarray, cols: np.ndarray, centre: np.ndarray, half: np.ndarray):
        self.cols, self.centre, self.half = cols, centre, np.maximum(half, 1e-12)
        k, n = len(cols), len(y)
        full = 1 + k + k * (k + 1) // 2
        self.form = "full" if n >= _SPARE * full else "diagonal" if n >= _SPARE * (1 + 2 * k) else "linear"
        self.pairs = np.triu_indices(k) if self.form == "full" else (np.arange(k), np.arange(k))
        if self.form == "linear":
            self.pairs = (np.empty(0, dtype=int), np.empty(0, dtype=int))
        phi = self._phi(self._t(z))
        penalty = _RIDGE * len(y) * np.eye(phi.shape[1])
        penalty[0, 0] = 0.0
        self.beta = np.linalg.solve(phi.T @ phi + penalty, phi.T @ y)

    def _t(self, z: np.ndarray) -> np.ndarray:
        return (np.atleast_2d(z)[:, self.cols] - self.centre) / self.half

    def _phi(self, t: np.ndarray) -> np.ndarray:
        i, j = self.pairs
        return np.hstack([np.ones((len(t), 1)), t, t[:, i] * t[:, j]])

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self._phi(self._t(z)) @ self.beta

    def grad(self, z: np.ndarray) -> np.ndarray:
        """d m / d z, (m, D): the numeric columns only."""
        z = np.atleast_2d(z)
        t = self._t(z)
        k = len(self.cols)
        i, j = self.pairs
        quad = self.beta[1 + k :]
        g = np.tile(self.beta[1 : 1 + k], (len(t), 1))
        # d(t_i t_j)/dt_i = t_j and d/dt_j = t_i (2 t_i on the diagonal: both terms land on i)
        np.add.at(g.T, i, (quad[:, None] * t[:, j].T))
        np.add.at(g.T, j, (quad[:, None] * t[:, i].T))
        out = np.zeros(z.shape)
        out[:, self.cols] = g / self.half
        return out
