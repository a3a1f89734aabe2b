"""Parzen mixtures over a group of hyperparameters, as numpy arrays over kernels.

Each parameter is a *dimension* in a normalised coordinate ``u``: for a bounded
numeric parameter ``u = (x - low) / (high - low)`` where ``x`` is its sampling scale
(``log(value)`` for log kinds), so every bounded dimension lives in ``[0, 1]``; an
unbounded one is centred on its prior (``u = 0.5`` at ``mu``, ``1/6`` per sigma). A
categorical dimension holds the option index.

A `Mixture` is a weighted sum of product kernels, one per observation plus the prior:
truncated Gaussians on numeric dimensions (the probability mass of the quantum for
quantised ones, not a density), a categorical distribution leaning on the observed
option on categorical ones. Sampling and log-density of a whole batch of candidates are
a handful of array operations, with no Python loop over kernels or candidates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from parzen.algorithms.tpe._truncnorm import LOG_SQRT_2PI, log_gauss_mass_fast, sample_truncnorm
from parzen.space import Categorical, Numeric, Param

_UNBOUNDED_SPAN = 6.0  # prior sigmas per unit of u for normal/lognormal


@dataclass(frozen=True)
class Dim:
    """How one parameter is modelled: its normalised coordinate and prior."""

    param: Param
    categorical: bool
    quantized: bool = False
    bounded: bool = True
    origin: float = 0.0
    scale: float = 1.0
    prior_mu: float = 0.5
    prior_sigma: float = 1.0
    prior_probs: np.ndarray | None = None

    @staticmethod
    def of(param: Param) -> Dim:
        if isinstance(param, Categorical):
            return Dim(param, categorical=True, prior_probs=np.asarray(param.probs))
        assert isinstance(param, Numeric)
        quantized = param.q is not None or param.kind == "randint"
        if param.kind == "randint":
            low, high = param.low - 0.5, param.high - 0.5
            return Dim(param, False, True, True, low, high - low)
        if param.bounded:
            return Dim(param, False, quantized, True, param.low, param.high - param.low)
        span = _UNBOUNDED_SPAN * param.sigma
        origin = param.mu - span / 2
        return Dim(param, False, quantized, False, origin, span, 0.5, 1.0 / _UNBOUNDED_SPAN)

    # ---- conversions between user values and u -----------------------------------

    @property
    def probs(self) -> np.ndarray:
        """The prior odds of a categorical dimension's options."""
        assert self.prior_probs is not None, f"{self.param!r} is not categorical"
        return self.prior_probs

    @property
    def numeric(self) -> Numeric:
        """The parameter of a numeric dimension."""
        assert isinstance(self.param, Numeric), f"{self.param!r} is not numeric"
        return self.param

    def _internal(self, values: np.ndarray) -> np.ndarray:
        param = self.numeric
        if not param.log:
            return values
        floor = param.q / 4 if param.q is not None else np.finfo(float).tiny
        return np.log(np.maximum(values, floor))

    def encode(self, values: np.ndarray) -> np.ndarray:
        """User values (option indices for categorical) -> u (clipped into bounds)."""
        values = np.asarray(values, dtype=float)
        if self.categorical:
            return values
        u = (self._internal(values) - self.origin) / self.scale
        return np.clip(u, 0.0, 1.0) if self.bounded else u

    def decode(self, u: np.ndarray) -> np.ndarray:
        """u -> user values (quantised / exponentiated / integer as the kind says)."""
        if self.categorical:
            return u.astype(int)
        param = self.numeric
        internal = self.origin + u * self.scale
        if param.kind == "randint":
            return np.clip(np.round(internal), param.low, param.high - 1).astype(int)
        return param.from_internal(internal)

    def edges(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The u-interval of each quantised value: where the continuous draw rounds to it."""
        param = self.numeric
        half = 0.5 if param.kind == "randint" else param.q / 2
        lo, hi = values - half, values + half
        if param.log:
            with np.errstate(divide="ignore"):
                lo = np.log(np.maximum(lo, 0.0))
            hi = np.log(hi)
        lo, hi = (lo - self.origin) / self.scale, (hi - self.origin) / self.scale
        if self.bounded:
            lo, hi = np.clip(lo, 0.0, 1.0), np.clip(hi, 0.0, 1.0)
        return lo, hi


def neighbour_bandwidth(
    mus: np.ndarray, low: np.ndarray, high: np.ndarray, cap: np.ndarray, n_kernels: int, magic_clip: bool
) -> np.ndarray:
    """hyperopt's adaptive Parzen bandwidth, for every column of `mus` at once.

    Each centre gets the larger gap to a neighbouring centre; the smallest and largest
    use their inner gap (the bounds are not neighbours). No bandwidth exceeds `cap` (the
    prior's sigma: the whole range of a bounded dimension), and with `magic_clip` none
    falls below cap / min(100, 1 + n_kernels).
    """
    n = len(mus)
    order = np.argsort(mus, axis=0)
    padded = np.vstack([low, np.take_along_axis(mus, order, axis=0), high])
    sigmas = np.maximum(padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1])
    if n >= 2:
        sigmas[0] = padded[2] - padded[1]
        sigmas[-1] = padded[-2] - padded[-3]
    floor = cap / min(100.0, 1.0 + n_kernels) if magic_clip else 1e-12 * cap
    out = np.empty_like(sigmas)
    np.put_along_axis(out, order, np.clip(sigmas, floor, cap), axis=0)
    return out


def _log_mass_inside(mu: np.ndarray, sigma: np.ndarray, bounded: np.ndarray) -> np.ndarray:
    """log of each kernel's mass inside [0, 1] on bounded dims (0 on unbounded ones).

    Centres lie inside [0, 1], so the difference of CDFs is well conditioned; kernels
    more than 8 sigma from both bounds have mass 1 to double precision and are skipped.
    """
    log_z = np.zeros_like(mu)
    near_edge = bounded & ((mu < 8.0 * sigma) | (1.0 - mu < 8.0 * sigma))
    m, s = mu[near_edge], sigma[near_edge]
    log_z[near_edge] = np.log(ndtr((1.0 - m) / s) - ndtr(-m / s))
    return log_z


def _logsumexp_rows(x: np.ndarray) -> np.ndarray:
    """log(sum(exp(x), axis=1)) without scipy's general-case overhead; `x` is overwritten.

    In place because it is the costliest step of a suggestion (candidates x kernels) and
    the caller's array is scratch: no temporaries of that size are allocated.
    """
    peak = x.max(axis=1)
    peak[~np.isfinite(peak)] = 0.0
    x -= peak[:, None]
    np.exp(x, out=x)
    with np.errstate(divide="ignore"):
        return peak + np.log(x.sum(axis=1))


class Mixture:
    """Weighted product kernels over a group's dimensions; the last kernel is the prior."""

    def __init__(
        self,
        dims: list[Dim],
        observations: np.ndarray,
        weights: np.ndarray,
        prior_weight: float,
        magic_clip: bool = True,
        shrink: float = 1.0,
    ):
        n = len(observations)
        self.shrink = shrink
        self.dims = dims
        w = np.append(np.asarray(weights, dtype=float), prior_weight if n else 1.0)
        self.log_w = np.log(w / w.sum())
        self.numeric = [j for j, d in enumerate(dims) if not d.categorical]
        self.categorical = [j for j, d in enumerate(dims) if d.categorical]
        self.continuous = [k for k, j in enumerate(self.numeric) if not dims[j].quantized]
        self.quantized = [k for k, j in enumerate(self.numeric) if dims[j].quantized]
        self._build_numeric(observations, magic_clip)
        self._build_categorical(observations, prior_weight)

    def _build_numeric(self, observations: np.ndarray, magic_clip: bool) -> None:
        n = len(observations)
        dims = [self.dims[j] for j in self.numeric]
        mus = observations[:, self.numeric]
        self.bounded = bounded = np.array([d.bounded for d in dims], dtype=bool)
        low = np.where(bounded, 0.0, np.minimum(0.0, mus.min(axis=0, initial=0.0)))
        high = np.where(bounded, 1.0, np.maximum(1.0, mus.max(axis=0, initial=1.0)))
        cap = np.array([d.prior_sigma for d in dims])
        sigmas = neighbour_bandwidth(mus, low, high, cap, n + 1, magic_clip)
        # < 1: kernels narrower than the rule (a more local l), on bounded dimensions only:
        # on an unbounded one the rule's width is what keeps the search exploring beyond the
        # trials seen (a space of normal, lognormal and quantised parameters found its
        # optimum in 11 of 30 seeds with those shrunk too, 30 of 30 without)
        sigmas = np.where(bounded, sigmas * self.shrink, sigmas)
        self.mu = np.vstack([mus, [d.prior_mu for d in dims]])
        self.sigma = np.vstack([sigmas, [d.prior_sigma for d in dims]])
        self.log_z = _log_mass_inside(self.mu, self.sigma, bounded)

    def _build_categorical(self, observations: np.ndarray, prior_weight: float) -> None:
        n = len(observations)
        self.cat_obs = np.full((n + 1, len(self.categorical)), -1, dtype=int)
        if n:
            self.cat_obs[:n] = observations[:, self.categorical].astype(int)
        # kernel i puts (a * prior + onehot(obs_i)) / (1 + a) on the options
        self.cat_a = prior_weight / (n + 1) if n else 1.0

    @property
    def n_kernels(self) -> int:
        return len(self.log_w)

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """`size` draws, as a (size, n_dims) array in u / option-index coordinates."""
        kernel = rng.choice(self.n_kernels, size=size, p=np.exp(self.log_w))
        out = np.empty((size, len(self.dims)))
        if self.numeric:
            mu, sigma = self.mu[kernel], self.sigma[kernel]
            draws = sample_truncnorm(mu, sigma, 0.0, 1.0, rng)
            unbounded = ~self.bounded
            if unbounded.any():
                draws[:, unbounded] = rng.normal(mu[:, unbounded], sigma[:, unbounded])
            out[:, self.numeric] = draws
        for c, j in enumerate(self.categorical):
            out[:, j] = self._sample_categorical(kernel, c, self.dims[j].probs, rng)
        return out

    def _sample_categorical(
        self, kernel: np.ndarray, c: int, prior: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        observed = self.cat_obs[kernel, c]
        keep = (observed >= 0) & (rng.uniform(size=len(kernel)) < 1.0 / (1.0 + self.cat_a))
        fresh = rng.choice(len(prior), size=len(kernel), p=prior)
        return np.where(keep, observed, fresh)

    def log_pdf(self, u: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        """Log density (mass for quantised dims) of each candidate row.

        `u` is (C, n_dims) in u / option-index coordinates; `lo`/`hi` are (C, n_dims)
        quantum edges, read only on quantised dimensions.
        """
        total = np.broadcast_to(self.log_w, (len(u), self.n_kernels)).copy()
        if self.continuous:
            total += self._continuous_log_pdf(u[:, [self.numeric[k] for k in self.continuous]])
        for k in self.quantized:
            j = self.numeric[k]
            mu, sigma = self.mu[:, k], self.sigma[:, k]
            a = (lo[:, j, None] - mu) / sigma
            b = (hi[:, j, None] - mu) / sigma
            total += log_gauss_mass_fast(a, b) - self.log_z[:, k]  # the prior kernel never underflows
        for c, j in enumerate(self.categorical):
            total += self._categorical_log_pmf(u[:, j].astype(int), c, self.dims[j].probs)
        return _logsumexp_rows(total)

    def _continuous_log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Sum over continuous dims of truncated-normal log densities, via two matmuls."""
        cols = self.continuous
        mu, sigma = self.mu[:, cols], self.sigma[:, cols]
        inv = 1.0 / sigma**2
        quad = (x**2) @ inv.T - 2.0 * x @ (mu * inv).T + np.sum(mu**2 * inv, axis=1)
        norm = np.sum(np.log(sigma) + self.log_z[:, cols], axis=1) + len(cols) * LOG_SQRT_2PI
        return -0.5 * np.maximum(quad, 0.0) - norm

    def _categorical_log_pmf(self, options: np.ndarray, c: int, prior: np.ndarray) -> np.ndarray:
        observed = self.cat_obs[:, c]
        prior_p = prior[options][:, None]
        match = options[:, None] == observed[None, :]
        p = (self.cat_a * prior_p + match) / (1.0 + self.cat_a)
        p = np.where(observed[None, :] < 0, prior_p, p)
        with np.errstate(divide="ignore"):
            return np.log(p)
