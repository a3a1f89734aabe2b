"""Parzen mixtures checked against scipy.stats, and the Gaussian-mass helper in the tails."""

import numpy as np
import pytest
from scipy import stats

from parzen import hp
from parzen.algorithms.tpe._parzen import Dim, Mixture, neighbour_bandwidth
from parzen.algorithms.tpe._truncnorm import log_gauss_mass, sample_truncnorm

trapezoid = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2.0 has only the old name


def scipy_truncnorm_mixture_pdf(x, mus, sigmas, weights):
    a, b = (0 - mus) / sigmas, (1 - mus) / sigmas
    comps = np.array([stats.truncnorm.pdf(x, a[i], b[i], loc=mus[i], scale=sigmas[i]) for i in range(len(mus))])
    return weights @ comps


def test_bounded_continuous_density_matches_scipy_truncnorm():
    dim = Dim.of(hp.uniform("x", -2.0, 6.0))
    obs = dim.encode(np.array([-1.0, 0.5, 2.0, 5.5]))[:, None]
    mix = Mixture([dim], obs, np.array([1.0, 2.0, 1.0, 0.5]), prior_weight=1.0)
    x = np.linspace(0.01, 0.99, 25)
    got = np.exp(mix.log_pdf(x[:, None], np.zeros((25, 1)), np.zeros((25, 1))))
    want = scipy_truncnorm_mixture_pdf(x, mix.mu[:, 0], mix.sigma[:, 0], np.exp(mix.log_w))
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert np.isclose(np.exp(mix.log_w).sum(), 1.0)
    assert np.isclose(np.exp(mix.log_w)[-1], 1.0 / 5.5)  # the prior's share


def test_density_integrates_to_one():
    dim = Dim.of(hp.loguniform("lr", -7, 0))
    obs = dim.encode(np.exp(np.array([-6.0, -5.9, -1.0])))[:, None]
    mix = Mixture([dim], obs, np.ones(3), prior_weight=1.0)
    x = np.linspace(0, 1, 20001)[:, None]
    pdf = np.exp(mix.log_pdf(x, x * 0, x * 0))
    assert abs(trapezoid(pdf, x[:, 0]) - 1.0) < 1e-4


def test_quantised_mass_matches_scipy_cdf_differences():
    param = hp.quniform("n", 0, 10, 2)
    dim = Dim.of(param)
    obs = dim.encode(np.array([2.0, 4.0, 4.0, 8.0]))[:, None]
    mix = Mixture([dim], obs, np.ones(4), prior_weight=1.0)
    values = np.array([0.0, 2.0, 4.0, 6.0, 8.0, 10.0])
    lo, hi = dim.edges(values)
    got = np.exp(mix.log_pdf(dim.encode(values)[:, None], lo[:, None], hi[:, None]))
    mus, sigmas, w = mix.mu[:, 0], mix.sigma[:, 0], np.exp(mix.log_w)
    a, b = -mus / sigmas, (1 - mus) / sigmas
    want = [
        w @ (stats.truncnorm.cdf(h, a, b, mus, sigmas) - stats.truncnorm.cdf(lw, a, b, mus, sigmas))
        for lw, h in zip(lo, hi)
    ]
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert np.isclose(got.sum(), 1.0)  # the quanta cover [low, high]: a probability mass function


def test_randint_is_an_ordinal_mass_function():
    dim = Dim.of(hp.randint("r", 3, 9))
    obs = dim.encode(np.array([4, 4, 7]))[:, None]
    mix = Mixture([dim], obs, np.ones(3), prior_weight=1.0)
    values = np.arange(3, 9)
    lo, hi = dim.edges(values.astype(float))
    pmf = np.exp(mix.log_pdf(dim.encode(values)[:, None], lo[:, None], hi[:, None]))
    assert np.isclose(pmf.sum(), 1.0) and np.argmax(pmf) == 1  # 4 is the mode
    drawn = dim.decode(mix.sample(np.random.default_rng(0), 2000)[:, 0])
    assert set(np.unique(drawn)) <= set(values.tolist())


def test_unbounded_normal_matches_scipy_norm():
    dim = Dim.of(hp.normal("z", 3.0, 2.0))
    obs = dim.encode(np.array([1.0, 3.5, 9.0]))[:, None]
    mix = Mixture([dim], obs, np.ones(3), prior_weight=1.0)
    u = np.linspace(-1, 2, 31)
    got = np.exp(mix.log_pdf(u[:, None], u[:, None] * 0, u[:, None] * 0))
    want = np.exp(mix.log_w) @ np.array([stats.norm.pdf(u, m, s) for m, s in zip(mix.mu[:, 0], mix.sigma[:, 0])])
    np.testing.assert_allclose(got, want, rtol=1e-9)
    assert np.isclose(mix.mu[-1, 0], 0.5) and np.isclose(mix.sigma[-1, 0], 1 / 6)  # the prior N(3, 2) in u


def test_categorical_pmf_with_prior():
    param = hp.pchoice("c", [(0.5, "a"), (0.3, "b"), (0.2, "c")])
    dim = Dim.of(param)
    obs = np.array([[0.0], [2.0], [2.0]])
    mix = Mixture([dim], obs, np.ones(3), prior_weight=1.0)
    options = np.array([0, 1, 2])
    pmf = np.exp(mix.log_pdf(options[:, None].astype(float), np.zeros((3, 1)), np.zeros((3, 1))))
    a = 1.0 / 4
    prior = np.array([0.5, 0.3, 0.2])
    kernels = [(a * prior + np.eye(3)[k]) / (1 + a) for k in (0, 2, 2)] + [prior]
    np.testing.assert_allclose(pmf, np.mean(kernels, axis=0), rtol=1e-12)
    drawn = mix.sample(np.random.default_rng(1), 20000)[:, 0]
    np.testing.assert_allclose(np.bincount(drawn.astype(int), minlength=3) / 20000, pmf, atol=0.015)


def test_joint_kernels_are_products_of_dimensions():
    dims = [Dim.of(hp.uniform("x", 0, 1)), Dim.of(hp.choice("c", [0, 1])), Dim.of(hp.quniform("q", 0, 4, 1))]
    obs = np.array([[0.2, 1.0, 0.25], [0.8, 0.0, 0.75]])
    obs[:, 2] = dims[2].encode(np.array([1.0, 3.0]))
    mix = Mixture(dims, obs, np.ones(2), prior_weight=1.0)
    cand = np.array([[0.3, 1.0, dims[2].encode(np.array([1.0]))[0]]])
    lo, hi = np.zeros((1, 3)), np.zeros((1, 3))
    lo[0, 2], hi[0, 2] = (v[0] for v in dims[2].edges(np.array([1.0])))
    total = 0.0
    w = np.exp(mix.log_w)
    for i in range(3):
        m, s = mix.mu[i], mix.sigma[i]
        px = stats.truncnorm.pdf(0.3, -m[0] / s[0], (1 - m[0]) / s[0], m[0], s[0])
        a, b = -m[1] / s[1], (1 - m[1]) / s[1]
        pq = stats.truncnorm.cdf(hi[0, 2], a, b, m[1], s[1]) - stats.truncnorm.cdf(lo[0, 2], a, b, m[1], s[1])
        cat_a = 1 / 3
        pc = 0.5 if mix.cat_obs[i, 0] < 0 else (cat_a * 0.5 + (mix.cat_obs[i, 0] == 1)) / (1 + cat_a)
        total += w[i] * px * pq * pc
    assert np.isclose(np.exp(mix.log_pdf(cand, lo, hi))[0], total, rtol=1e-9)


def test_samples_follow_the_mixture():
    dim = Dim.of(hp.uniform("x", 0, 1))
    obs = np.array([[0.1], [0.15], [0.9]])
    mix = Mixture([dim], obs, np.ones(3), prior_weight=1.0)
    draws = mix.sample(np.random.default_rng(3), 20000)[:, 0]
    grid = np.linspace(0, 1, 2001)
    pdf = np.exp(mix.log_pdf(grid[:, None], grid[:, None] * 0, grid[:, None] * 0))
    cdf = np.cumsum(pdf) / pdf.sum()
    ks = stats.kstest(draws, lambda x: np.interp(x, grid, cdf))
    assert ks.pvalue > 0.01


@pytest.mark.parametrize(
    "a, b", [(-40.0, -39.0), (-3.0, -2.0), (-1.0, 2.0), (2.0, 3.0), (39.0, 40.0), (5.0, 5.0 + 1e-9)]
)
def test_log_gauss_mass_in_the_tails(a, b):
    got = log_gauss_mass(np.array([a]), np.array([b]))[0]
    if b <= 0:
        want = stats.norm.logcdf(b) + np.log1p(-np.exp(stats.norm.logcdf(a) - stats.norm.logcdf(b)))
    else:
        want = stats.norm.logsf(a) + np.log1p(-np.exp(stats.norm.logsf(b) - stats.norm.logsf(a)))
    assert np.isfinite(got) and np.isclose(got, want, rtol=1e-6)


def test_truncnorm_samples_stay_in_bounds_and_match_scipy():
    rng = np.random.default_rng(0)
    mu, sigma = np.full(20000, 0.95), np.full(20000, 0.3)
    x = sample_truncnorm(mu, sigma, 0.0, 1.0, rng)
    assert x.min() >= 0 and x.max() <= 1
    ref = stats.truncnorm(-0.95 / 0.3, 0.05 / 0.3, loc=0.95, scale=0.3)
    assert stats.kstest(x, ref.cdf).pvalue > 0.01


def test_neighbour_bandwidth_is_the_larger_gap_clipped():
    mus = np.array([[0.1], [0.2], [0.5], [0.9]])
    one = np.array([1.0])
    sig = neighbour_bandwidth(mus, np.array([0.0]), one, one, n_kernels=5, magic_clip=True)[:, 0]
    # ends use their inner gap; the middle ones the larger of their two gaps; floor 1/6
    np.testing.assert_allclose(sig, [1 / 6, 0.3, 0.4, 0.4])


def test_shrink_narrows_bounded_kernels_only():
    """`below_shrink` makes l local where the neighbour-gap rule over-smooths (bounded
    dimensions); unbounded ones keep the rule's width (shrinking those cost a mixed space
    of normal, lognormal and quantised parameters 19 of 30 seeds)."""
    space_dims = [
        Dim.of(hp.uniform("u", 0, 10)),
        Dim.of(hp.loguniform("lu", -3, 3)),
        Dim.of(hp.quniform("q", 0, 10, 2)),
        Dim.of(hp.normal("n", 0, 3)),
        Dim.of(hp.qnormal("qn", 0, 10, 2)),
    ]
    rng = np.random.default_rng(0)
    raw = [rng.uniform(0, 10, 6), rng.uniform(-3, 3, 6), 2.0 * rng.integers(0, 6, 6), rng.normal(0, 3, 6),
           2.0 * np.round(rng.normal(0, 10, 6) / 2)]  # fmt: skip
    obs = np.stack([d.encode(np.exp(v) if d.param.label == "lu" else v) for d, v in zip(space_dims, raw)], axis=1)
    wide = Mixture(space_dims, obs, np.ones(6), prior_weight=1.0)
    narrow = Mixture(space_dims, obs, np.ones(6), prior_weight=1.0, shrink=0.3)
    ratio = narrow.sigma[:-1] / wide.sigma[:-1]  # the prior kernel (last row) is never shrunk
    assert np.allclose(ratio[:, :3], 0.3) and np.allclose(ratio[:, 3:], 1.0)
    assert np.allclose(narrow.sigma[-1], wide.sigma[-1])
