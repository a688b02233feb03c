"""Gradient-noise diagnostics recover known laws on synthetic samples (stated confidence levels).

Each check is two-sided at 4 standard errors (two-sided p ~ 6e-5 per comparison), the s.e. from
the estimator's exact or asymptotic law or from a Monte Carlo calibration over replicates."""
import numpy as np
import pytest

from conftest import assert_mc_close
from methods import diagnostics as D
from methods import noise as N


def test_hill_recovers_pareto_and_cauchy_tail_indices():
    """Exact Pareto(alpha): k / alpha_hat ~ Gamma(k, 1/alpha), so 1/alpha_hat has mean 1/alpha and
    s.e. 1/(alpha sqrt(k)) exactly. |Cauchy|: tail index 1, its second-order term O(x^-2) makes the
    bias O((k/N)^2), negligible at k/N = 0.005 against the asymptotic s.e. 1/sqrt(k)."""
    rng = np.random.default_rng(0)
    for alpha in (0.8, 1.5, 3.0):
        x = rng.pareto(alpha, 20_000) + 1.0
        est = D.hill(x, 2000)
        assert_mc_close(1.0 / est.value, 1.0 / alpha, 1.0 / (alpha * np.sqrt(2000)), what=f"Hill 1/alpha, Pareto {alpha}")
        assert est.stderr == pytest.approx(est.value / np.sqrt(2000))
    c = rng.standard_cauchy(100_000)
    est = D.hill(c, 500)
    assert_mc_close(est.value, 1.0, 1.0 / np.sqrt(500), what="Hill on |Cauchy|")
    with pytest.raises(ValueError, match="k"):
        D.hill(c[:10], 10)


@pytest.mark.parametrize("alpha", [2.0, 1.5, 1.0])
def test_block_estimator_recovers_stable_index(alpha):
    """i.i.d. symmetric alpha-stable vectors (the workbench's Chambers-Mallows-Stuck sampler; alpha = 2
    Gaussian, 1 Cauchy): the block sums satisfy ||Y|| = m^(1/alpha) ||Z|| in law, so 1/alpha_hat is
    unbiased for 1/alpha. 20 independent replicates of N = 10^4 (d = 3, m = 100): their mean of
    1/alpha_hat within 4 s.e. of 1/alpha, the s.e. from the replicates' spread (a Monte Carlo
    calibration)."""
    Z = N.AlphaStable(alpha=alpha).sample(np.zeros(3), size=20 * 10_000, rng=7)
    inv = np.array([1.0 / D.block_tail_index(Z[r * 10_000:(r + 1) * 10_000], 100) for r in range(20)])
    assert_mc_close(inv.mean(), 1.0 / alpha, inv.std(ddof=1) / np.sqrt(inv.size), what=f"block 1/alpha, alpha={alpha}")
    # and it separates the three laws: the replicates' spread is far below the gaps between 1/alpha values
    assert inv.std(ddof=1) < 0.05


def test_affine_variance_fit_recovers_sigma0_sigma1():
    """Z ~ N(0, (s0^2 + s1^2 ||g||^2) I_d) at random gradients: the OLS coefficients d s0^2 and d s1^2
    within 4 of their OLS standard errors."""
    rng = np.random.default_rng(1)
    d, n, s0, s1 = 6, 20_000, 0.7, 0.4
    g = rng.standard_normal((n, d)) * rng.uniform(0.0, 3.0, (n, 1))
    Z = rng.standard_normal((n, d)) * np.sqrt(s0**2 + s1**2 * (g**2).sum(axis=1))[:, None]
    fit = D.affine_variance(Z, g)
    assert_mc_close(fit.intercept.value, d * s0**2, fit.intercept.stderr, what="d sigma0^2")
    assert_mc_close(fit.slope.value, d * s1**2, fit.slope.stderr, what="d sigma1^2")
    model = D.to_noise(affine=fit)
    assert isinstance(model, N.AffineVariance) and model.sigma1 == pytest.approx(s1, rel=0.05)
    with pytest.raises(ValueError, match="grads"):
        D.affine_variance(Z, g[:10])


def test_student_t_fit_recovers_nu_and_scale():
    """Per-coordinate MLE on N = 10^4 draws of 2 t(4): 8 coordinates, their mean nu within 4 s.e. of 4
    (s.e. from the 8 coordinates' spread; the MLE's O(1/N) bias is far below it), scale likewise."""
    rng = np.random.default_rng(2)
    T = 2.0 * rng.standard_t(4.0, size=(10_000, 8))
    fit = D.student_t_fit(T)
    assert_mc_close(fit.nu.mean(), 4.0, fit.nu.std(ddof=1) / np.sqrt(8), what="Student-t nu")
    assert_mc_close(fit.scale.mean(), 2.0, fit.scale.std(ddof=1) / np.sqrt(8), what="Student-t scale")
    assert isinstance(D.to_noise(student=fit), N.StudentT)


def test_sde_validity_ratio_and_bootstrap():
    """tr Cov Z / ||g||^2 for Z ~ N(0, s^2 I_d): d s^2 / ||g||^2 within 4 s.e. (the trace of a sample
    covariance of N Gaussian rows has s.e. s^2 sqrt(2 d / N)); the percentile bootstrap interval of
    the Hill estimate on Pareto(1.5) covers 1.5 and has about the asymptotic width
    (2 * 1.96 * alpha / sqrt(k), within 30%)."""
    rng = np.random.default_rng(3)
    d, n, s = 5, 40_000, 0.5
    g = np.ones(d)
    Z = s * rng.standard_normal((n, d))
    assert_mc_close(D.sde_validity_ratio(Z, g), d * s**2 / d, s**2 * np.sqrt(2 * d / n) / d, what="validity ratio")
    x = rng.pareto(1.5, 20_000) + 1.0
    lo, hi = D.bootstrap(lambda v: D.hill(v, 1000), x, reps=200, seed=1)
    assert lo < 1.5 < hi
    width = 2 * 1.96 * 1.5 / np.sqrt(1000)
    assert 0.7 * width < hi - lo < 1.3 * width


@pytest.mark.parametrize("alpha", [1.2, 1.8])
def test_alpha_stable_fit_recovers_alpha_and_scale(alpha):
    """McCulloch's quantile estimator per coordinate, 16 coordinates of N = 10^4 SaS(alpha, scale 2):
    the mean alpha within 4 s.e. (from the 16 coordinates' spread) plus 0.02, an allowance for the
    estimator's quantile-table interpolation bias (measured under 0.01 here at alpha = 1.2, 1.5, 1.8);
    the scale within 4 s.e."""
    Z = N.AlphaStable(alpha=alpha, scale=2.0).sample(np.zeros(16), size=10_000, rng=3)
    fit = D.alpha_stable_fit(Z)
    se = fit.alpha.std(ddof=1) / 4
    assert abs(fit.alpha.mean() - alpha) <= 4 * se + 0.02
    assert_mc_close(fit.scale.mean(), 2.0, fit.scale.std(ddof=1) / 4, what="stable scale")
    model = D.to_noise(stable=fit)
    assert isinstance(model, N.AlphaStable) and abs(model.alpha - alpha) < 0.05
