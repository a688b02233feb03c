import numpy as np
import pytest
from scipy import stats

from methods import noise as N
from conftest import assert_mc_close

G = np.array([0.3, -1.0, 2.0])


def test_gaussian_moments_and_batch():
    n = 200_000
    z = N.Gaussian(sigma=[0.5, 1.0, 2.0], batch=4).sample(G, rng=1, size=n) - G
    sd = np.array([0.25, 0.5, 1.0])
    assert_mc_close(z.mean(0), 0, sd / np.sqrt(n), what="mean")
    assert_mc_close(z.var(0), sd**2, sd**2 * np.sqrt(2 / n), what="variance")


def test_per_agent_scales_broadcast():
    nz = N.Gaussian(sigma=[[0.5], [2.0]])
    z0 = nz.sample(G, agent=0, agents=2, rng=0, size=50_000) - G
    z1 = nz.sample(G, agent=1, agents=2, rng=0, size=50_000) - G
    np.testing.assert_allclose(z1, 4 * z0)  # same stream, 4x the scale
    with pytest.raises(ValueError, match="sigma"):
        N.Gaussian(sigma=[1.0, 2.0]).pack(3, 1)


def test_full_covariance():
    C = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
    n = 200_000
    z = N.GaussianCov(C).sample(G, rng=2, size=n) - G
    emp = np.cov(z.T)
    se = np.sqrt((C**2 + np.outer(np.diag(C), np.diag(C))) / n)  # se of a sample covariance entry
    assert_mc_close(emp, C, se, what="covariance")


@pytest.mark.parametrize("nu", [1.0, 1.5, 3.0])
def test_student_t_law(nu):
    z = N.StudentT(nu=nu, sigma=2.0).sample(np.zeros(4), rng=3, size=20_000).ravel()
    assert stats.kstest(z / 2.0, stats.t(nu).cdf).pvalue > 1e-3


def test_student_t_batch_is_an_average_of_draws():
    # Cauchy: the mean of B draws is again Cauchy with the same scale
    z = N.StudentT(nu=1.0, sigma=1.0, batch=8).sample(np.zeros(4), rng=4, size=10_000).ravel()
    assert stats.kstest(z, stats.cauchy.cdf).pvalue > 1e-3
    assert not N.StudentT(nu=2.0).finite_variance and N.StudentT(nu=2.5).finite_variance


def test_affine_variance():
    nz = N.AffineVariance(sigma0=0.5, sigma1=[1.0, 2.0], batch=2)
    n = 200_000
    for agent, s1 in enumerate([1.0, 2.0]):
        z = nz.sample(G, agent=agent, agents=2, rng=5, size=n) - G
        var = (0.25 + s1**2 * (G @ G)) / 2
        assert_mc_close(z.var(), var, var * np.sqrt(2 / z.size), what="affine variance")


@pytest.mark.parametrize("alpha", [1.0, 1.5])
def test_alpha_stable_law(alpha):
    z = N.AlphaStable(alpha=alpha, scale=1.5).sample(np.zeros(2), rng=6, size=3000).ravel()
    dist = stats.cauchy(scale=1.5) if alpha == 1.0 else stats.levy_stable(alpha, 0.0, scale=1.5)
    assert stats.kstest(z, dist.cdf).pvalue > 1e-3


def test_alpha_stable_two_is_gaussian_and_batch_scaling():
    n = 200_000
    z = N.AlphaStable(alpha=2.0, scale=1.0, batch=4).sample(np.zeros(1), rng=7, size=n).ravel()
    var = 2.0 / 4  # variance 2 c^2, scale c B^(1/2 - 1)
    assert_mc_close(z.var(), var, var * np.sqrt(2 / n), what="alpha=2 variance")


@pytest.mark.parametrize("bad,match", [
    (lambda: N.StudentT(nu=0.0), "nu"),
    (lambda: N.StudentT(nu=-1.0), "nu"),
    (lambda: N.Gaussian(sigma=-1.0), "sigma"),
    (lambda: N.Gaussian(batch=0), "batch"),
    (lambda: N.AlphaStable(alpha=2.5), "alpha"),
    (lambda: N.GaussianCov(np.ones((2, 3))), "cov"),
    (lambda: N.AffineVariance(sigma1=-1.0), "sigma1"),
])
def test_bad_parameters_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()
