"""A Gaussian process with a Matérn 5/2 ARD kernel, fitted by maximum a posteriori, in numpy and scipy.

Inputs are kernel features (``_space.Encoding.features``): numeric coordinates and one-hot
blocks of categoricals. Each *parameter* has one length-scale, shared by the columns of
its one-hot block. Outputs are the transformed losses (standardised: mean 0, variance 1),
so the prior mean is 0 and the signal variance is near 1.

Hyperparameters ``theta = (log l_1..l_d, log s2, log(noise - floor))`` maximise the log
marginal likelihood plus log priors:

* length-scales: log-normal with median ``exp(sqrt(2) + log(d) / 2)`` and log-sd
  ``sqrt(3)`` (Hvarfner, Hellsten and Nardi 2024, BoTorch's default since 0.12): the prior
  grows with the dimension, so that a function of many parameters is assumed no rougher
  than one of a few, which is what lets plain BO work in 20 or more dimensions;
* signal variance ``s2``: log-normal around 1 (the outputs are standardised);
* noise variance: log-normal with median ``exp(-4)`` (BoTorch's default) above a floor, so
  a deterministic objective is fitted nearly exactly while a noisy one is smoothed.

The gradient of the objective is analytic (one Cholesky factor and the inverse per
evaluation), and L-BFGS-B starts from the previous fit of the same run when there is one.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.optimize import minimize

SQRT5 = math.sqrt(5.0)
_LOG_L_BOUNDS = (math.log(1e-3), math.log(1e4))
_LOG_S2_BOUNDS = (math.log(1e-3), math.log(1e2))
_LOG_NOISE_BOUNDS = (math.log(1e-10), math.log(2.0))
_JITTER = 1e-9


def matern52(r2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Matérn 5/2 correlation of squared scaled distances and its derivative with respect to r2.

    ``k = (1 + sqrt5 r + 5/3 r2) exp(-sqrt5 r)``, ``dk/dr2 = -5/6 (1 + sqrt5 r) exp(-sqrt5 r)``:
    the derivative is finite at r = 0, so gradients need no special case there.
    """
    r = np.sqrt(np.maximum(r2, 0.0))
    e = np.exp(-SQRT5 * r)
    return (1.0 + SQRT5 * r + (5.0 / 3.0) * r2) * e, (-5.0 / 6.0) * (1.0 + SQRT5 * r) * e


def sqdist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of `a` and `b`."""
    d2 = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.maximum(d2, 0.0)


@dataclass(frozen=True)
class Hyper:
    """Kernel hyperparameters: a length-scale per parameter, signal and noise variances."""

    lengthscales: np.ndarray
    signal: float
    noise: float

    def theta(self, floor: float) -> np.ndarray:
        return np.concatenate([np.log(self.lengthscales), [math.log(self.signal), math.log(self.noise - floor)]])

    @staticmethod
    def of(theta: np.ndarray, floor: float) -> Hyper:
        d = len(theta) - 2
        return Hyper(np.exp(theta[:d]), float(math.exp(theta[d])), float(floor + math.exp(theta[d + 1])))


@dataclass(frozen=True)
class Prior:
    """Log-normal priors on the hyperparameters (see the module docstring)."""

    log_l_mu: float
    log_l_sd: float = math.sqrt(3.0)
    log_s2_mu: float = 0.0
    log_s2_sd: float = 1.0
    log_noise_mu: float = -4.0
    log_noise_sd: float = 1.0
    floor: float = 1e-6
    kind: str = "hvarfner"  # or "optuna": optuna 4's GPSampler priors, for comparison

    @staticmethod
    def for_dims(d: int, floor: float, signal_sd: float = 1.0, noise_mu: float = -4.0, kind: str = "hvarfner") -> Prior:
        return Prior(
            math.sqrt(2.0) + 0.5 * math.log(max(d, 1)),
            log_s2_sd=signal_sd,
            log_noise_mu=noise_mu,
            floor=floor,
            kind=kind,
        )

    def initial(self, d: int) -> Hyper:
        """The prior's medians, where a run's first fit starts."""
        if self.kind == "optuna":
            return Hyper(np.ones(d), 1.0, self.floor + 1.0)
        return Hyper(np.full(d, math.exp(self.log_l_mu)), 1.0, self.floor + math.exp(self.log_noise_mu))

    def neg_log(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log prior density (up to a constant) of theta and its gradient."""
        d = len(theta) - 2
        grad = np.empty_like(theta)
        if self.kind == "optuna":
            return self._neg_log_optuna(theta)
        zl = (theta[:d] - self.log_l_mu) / self.log_l_sd
        value = 0.5 * float(zl @ zl)
        grad[:d] = zl / self.log_l_sd
        zs = (theta[d] - self.log_s2_mu) / self.log_s2_sd
        value += 0.5 * zs * zs
        grad[d] = zs / self.log_s2_sd
        # the prior is on log(noise), noise = floor + exp(t): chain rule through t
        noise = self.floor + math.exp(theta[d + 1])
        zn = (math.log(noise) - self.log_noise_mu) / self.log_noise_sd
        value += 0.5 * zn * zn
        grad[d + 1] = zn / self.log_noise_sd * math.exp(theta[d + 1]) / noise
        return value, grad

    def _neg_log_optuna(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """optuna's GPSampler: -(0.1/q + 0.1 q) on q = 1/l^2, Gamma(2, 1) on s2, Gamma(1.1, 30) on the noise."""
        d = len(theta) - 2
        grad = np.empty_like(theta)
        up, down = np.exp(2 * theta[:d]), np.exp(-2 * theta[:d])
        value = float(0.1 * (up + down).sum())
        grad[:d] = 0.2 * (up - down)
        s2 = math.exp(theta[d])
        value += -theta[d] + s2
        grad[d] = -1.0 + s2
        e = math.exp(theta[d + 1])
        noise = self.floor + e
        value += -0.1 * math.log(noise) + 30.0 * noise
        grad[d + 1] = (-0.1 / noise + 30.0) * e
        return value, grad


def _scaled(features: np.ndarray, lengthscales: np.ndarray, columns: np.ndarray) -> np.ndarray:
    return features / lengthscales[columns]


def neg_log_posterior(
    theta: np.ndarray, z: np.ndarray, y: np.ndarray, columns: np.ndarray, prior: Prior
) -> tuple[float, np.ndarray]:
    """Negative log marginal likelihood plus negative log prior, and its gradient in theta.

    d(-log ML)/dp = tr(W dK/dp) / 2 with ``W = K^-1 - alpha alpha^T``; for a length-scale,
    dK/dlog(l_j) = s2 k'(r2) * (-2) * (squared scaled distance along j's columns), summed
    without forming the (n, n, D) tensor of differences.
    """
    n, d = len(y), len(theta) - 2
    hyper = Hyper.of(theta, prior.floor)
    f = _scaled(z, hyper.lengthscales, columns)
    corr, dcorr = matern52(sqdist(f, f))
    k = hyper.signal * corr
    k[np.diag_indices(n)] += hyper.noise + _JITTER
    try:
        chol = linalg.cholesky(k, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return 1e25, np.zeros_like(theta)
    alpha = linalg.cho_solve((chol, True), y, check_finite=False)
    nll = 0.5 * float(y @ alpha) + float(np.log(np.diag(chol)).sum()) + 0.5 * n * math.log(2 * math.pi)
    k_inv = linalg.cho_solve((chol, True), np.eye(n), check_finite=False)
    w = k_inv - np.outer(alpha, alpha)
    grad = np.empty_like(theta)
    g = w * (hyper.signal * dcorr)
    rowsum = g.sum(axis=1)
    # sum_ab G_ab (f_ac - f_bc)^2 = 2 sum_a f_ac^2 rowsum_a - 2 f_c^T G f_c, per feature column c
    per_column = 2.0 * (f * f).T @ rowsum - 2.0 * np.einsum("ac,ac->c", f, g @ f)
    grad[:d] = -np.bincount(columns, weights=per_column, minlength=d)
    grad[d] = 0.5 * float(np.sum(w * (hyper.signal * corr)))
    grad[d + 1] = 0.5 * float(np.trace(w)) * (hyper.noise - prior.floor)
    p_value, p_grad = prior.neg_log(theta)
    return nll + p_value, grad + p_grad


def fit(z: np.ndarray, y: np.ndarray, columns: np.ndarray, prior: Prior, start: Hyper | None, max_iter: int) -> Hyper:
    """The MAP hyperparameters, by L-BFGS-B from `start` (else from the prior's medians)."""
    d = int(columns.max()) + 1 if len(columns) else 0
    if start is None or len(start.lengthscales) != d:
        start = prior.initial(d)
    theta0 = np.clip(start.theta(prior.floor), -20.0, 20.0)
    bounds = [_LOG_L_BOUNDS] * d + [_LOG_S2_BOUNDS, _LOG_NOISE_BOUNDS]
    theta0 = np.clip(theta0, [b[0] for b in bounds], [b[1] for b in bounds])
    result = minimize(
        neg_log_posterior,
        theta0,
        args=(z, y, columns, prior),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter, "gtol": 1e-4},
    )
    theta = result.x if np.all(np.isfinite(result.x)) and result.fun < 1e24 else theta0
    return Hyper.of(theta, prior.floor)


class Posterior:
    """The GP conditioned on (features, y) with fixed hyperparameters; grows by one point in O(n^2)."""

    def __init__(
        self,
        z: np.ndarray,
        y: np.ndarray,
        hyper: Hyper,
        columns: np.ndarray,
        mean: Callable[[np.ndarray], np.ndarray] | None = None,
        scale: float = 1.0,
    ):
        """`mean` (with a ``grad`` method), if given, is a prior mean; the GP models ``(y - mean) / scale``."""
        self.hyper, self.columns = hyper, columns
        self.mean_fn, self.scale = mean, scale
        self.inv_l = 1.0 / hyper.lengthscales[columns]  # per feature column
        self.f = z * self.inv_l
        self.y = self._residual(z, np.asarray(y, dtype=float))
        k = hyper.signal * matern52(sqdist(self.f, self.f))[0]
        k[np.diag_indices(len(y))] += hyper.noise + _JITTER
        self.chol = _robust_cholesky(k)
        self.alpha = linalg.cho_solve((self.chol, True), self.y, check_finite=False)

    def __len__(self) -> int:
        return len(self.y)

    def _residual(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        return y if self.mean_fn is None else (y - self.mean_fn(z)) / self.scale

    def add(self, z: np.ndarray, value: float) -> None:
        """Condition on one more observation (a fantasy for a point in flight): a bordered Cholesky factor."""
        value = float(self._residual(np.atleast_2d(z), np.array([value]))[0])
        f = (np.atleast_2d(z) * self.inv_l)[0]
        kx = self.hyper.signal * matern52(sqdist(f[None, :], self.f))[0][0]
        col = linalg.solve_triangular(self.chol, kx, lower=True, check_finite=False)
        corner = math.sqrt(max(self.hyper.signal + self.hyper.noise + _JITTER - float(col @ col), 1e-12))
        n = len(self.y)
        chol = np.zeros((n + 1, n + 1))
        chol[:n, :n] = self.chol
        chol[n, :n] = col
        chol[n, n] = corner
        self.chol, self.f, self.y = chol, np.vstack([self.f, f]), np.append(self.y, value)
        self.alpha = linalg.cho_solve((self.chol, True), self.y, check_finite=False)

    def predict(self, z: np.ndarray, grad: bool = False) -> tuple[np.ndarray, ...]:
        """Posterior mean and variance at rows of `z`; with `grad`, their gradients in the features too."""
        f = np.atleast_2d(z) * self.inv_l
        corr, dcorr = matern52(sqdist(f, self.f))
        kx = self.hyper.signal * corr  # (m, n)
        mean = kx @ self.alpha
        v = linalg.solve_triangular(self.chol, kx.T, lower=True, check_finite=False)  # (n, m)
        var = np.maximum(self.hyper.signal - np.einsum("nm,nm->m", v, v), 1e-12)
        if self.mean_fn is not None:
            mean = self.mean_fn(z) + self.scale * mean
            var = self.scale**2 * var
        if not grad:
            return mean, var
        beta = linalg.solve_triangular(self.chol, v, lower=True, trans="T", check_finite=False).T  # K^-1 kx, (m, n)
        dk = self.hyper.signal * dcorr  # dk/dr2, (m, n)
        # dr2/df_c = 2 (f_c - F_bc); back to the unscaled features through inv_l
        ma = dk * self.alpha[None, :]
        d_mean = 2.0 * (f * ma.sum(1)[:, None] - ma @ self.f) * self.inv_l
        mb = dk * beta
        d_var = -4.0 * (f * mb.sum(1)[:, None] - mb @ self.f) * self.inv_l
        if self.mean_fn is not None:
            d_mean = self.mean_fn.grad(z) + self.scale * d_mean  # type: ignore[attr-defined]
            d_var = self.scale**2 * d_var
        return mean, var, d_mean, d_var


def _robust_cholesky(k: np.ndarray) -> np.ndarray:
    """Cholesky factor, adding jitter to the diagonal until it succeeds (duplicated points)."""
    jitter = 0.0
    for _ in range(8):
        try:
            return linalg.cholesky(k + jitter * np.eye(len(k)), lower=True, check_finite=False)
        except linalg.LinAlgError:
            jitter = max(1e-8, 10 * jitter)
    return np.diag(np.sqrt(np.maximum(np.diag(k), 1e-12)))
