"""Closed forms of the specs checked against the compiled engine, with Monte Carlo tolerances.

Every tolerance is ``Z`` (=4) standard errors of the Monte Carlo estimate; where the closed
form is itself an approximation (DSignSGD floors, phase 3), the approximation's own size
is quoted from the spec and is below one standard error at the settings used.
"""
import math

import numpy as np
import pytest
from numba import njit
from scipy import special, stats

from methods import compressors as C, landscapes as L, noise as N, optimizers as O, simulate
from conftest import assert_mc_close


def test_gd_on_parabola_is_exact():
    f = L.DiagonalQuadratic([1.0, 3.0])
    r = simulate(f, O.SGD(lr=0.1), None, x0=[1.0, -2.0], steps=50, paths=2, seed=0, record_iterates=True)
    k = r.step
    expect = np.stack([(1 - 0.1) ** k * 1.0, (1 - 0.3) ** k * -2.0], axis=1)
    np.testing.assert_allclose(r.iterates[:, 0, :], expect, rtol=1e-12)
    np.testing.assert_allclose(r.t, k * 0.1)


def test_sgd_variance_on_quadratic_transient_and_stationary():
    """Spec adaptive 2.4: r = 1 - eta lambda, E x_k = r^k x0,
    Var x_k = eta^2 sigma^2 (1 - r^2k)/(1 - r^2) -> eta sigma^2 / (lambda (2 - eta lambda))."""
    lam, sig, eta, x0 = np.array([1.0, 4.0]), np.array([1.0, 0.5]), 0.05, 1.0
    r = simulate(L.DiagonalQuadratic(lam), O.SGD(lr=eta), N.Gaussian(sig), x0=x0, steps=400, paths=4096,
                 seed=11, save_every=20, record_iterates=True)
    k = r.step[:, None]
    rr = 1 - eta * lam
    mean = rr**k * x0
    var = eta**2 * sig**2 * (1 - rr ** (2 * k)) / (1 - rr**2)
    for j in range(2):
        x = r.observable(f"x_{j}")
        assert_mc_close(x.mean(1)[1:], mean[1:, j], x.std(1, ddof=1)[1:] / math.sqrt(r.paths), z=4.5, what="mean")
        x2 = r.observable(f"x2_{j}")
        assert_mc_close(x2.mean(1)[1:], (mean**2 + var)[1:, j], x2.std(1, ddof=1)[1:] / math.sqrt(r.paths), z=4.5,
                        what="second moment")
    # stationary: discrete formula holds; the first-order SDE's eta sigma^2 / (2 lambda) is rejected
    for j in range(2):
        m, se = r.time_average(f"x2_{j}", after=10.0)
        discrete = eta * sig[j] ** 2 / (lam[j] * (2 - eta * lam[j]))
        assert_mc_close(m, discrete, se, what="stationary variance")
        if j == 1:  # eta lambda = 0.2: the SDE value is 10% off, far outside the error bar
            assert abs(m - eta * sig[j] ** 2 / (2 * lam[j])) > 8 * se


@njit
def _lin_value(x):
    return 0.7 * x[0]


@njit
def _lin_grad(x, out):
    out[0] = 0.7


def test_signsgd_on_linear_function():
    """Spec adaptive 7.3: E x_k = x0 - k eta erf(a/(sqrt2 sigma)), Var x_k = k eta^2 (1 - erf^2)."""
    f = L.Custom(value=_lin_value, grad=_lin_grad, d=1, f_star=0.0)
    eta, a, sig, k = 0.01, 0.7, 1.0, 500
    r = simulate(f, O.SignSGD(lr=eta), N.Gaussian(sig), x0=0.0, steps=k, paths=8192, seed=3, save_every=100,
                 record_iterates=True)
    x = r.iterates[-1, :, 0]
    m = special.erf(a / (math.sqrt(2) * sig))
    n = x.size
    assert_mc_close(x.mean(), -k * eta * m, x.std() / math.sqrt(n), what="mean")
    var = k * eta**2 * (1 - m**2)
    # s.e. of a sample variance: var sqrt(2/(n-1) + kurt/n), kurt the excess kurtosis of x_k, a sum of
    # k independent +-eta steps (P(+) = q): kurt = (1 - 6 q (1-q)) / (k q (1-q)) (exact; not Gaussian)
    q = (1 + m) / 2
    kurt = (1 - 6 * q * (1 - q)) / (k * q * (1 - q))
    assert_mc_close(x.var(ddof=1), var, var * math.sqrt(2 / (n - 1) + kurt / n), what="variance")


@pytest.mark.parametrize("law", ["gauss", "t1", "t3"])
def test_expected_sign(law):
    """E sign(mu + sigma Z) = erf(mu/(sqrt2 sigma)) (Gaussian), 2 F_nu(mu/sigma) - 1 (Student-t)."""
    mu = np.array([-1.0, -0.2, 0.0, 0.3, 1.5])
    sigma = 0.8
    nz = {"gauss": N.Gaussian(sigma), "t1": N.StudentT(1.0, sigma), "t3": N.StudentT(3.0, sigma)}[law]
    n = 100_000
    s = np.sign(nz.sample(mu, rng=4, size=n))
    m = special.erf(mu / (math.sqrt(2) * sigma)) if law == "gauss" else 2 * stats.t.cdf(mu / sigma, int(law[1])) - 1
    se = np.sqrt((1 - m**2) / n) + 1e-12
    assert_mc_close(s.mean(0), m, se, z=4.5, what=f"E sign ({law})")


@njit
def _lin2_value(x):
    return 0.5 * x[0] - 2.0 * x[1]


@njit
def _lin2_grad(x, out):
    out[0] = 0.5
    out[1] = -2.0


def test_adam_bias_correction_through_the_engine():
    """With a constant exact gradient the bias-corrected moments are exact from step one:
    m_hat = g0, v_hat = g0^2, so every Adam step is lr g0/(|g0| + eps) (no early
    over- or under-shoot as without bias correction)."""
    f = L.Custom(value=_lin2_value, grad=_lin2_grad, d=2)
    lr, eps, K = 0.01, 1e-8, 200
    r = simulate(f, O.Adam(lr=lr, eps=eps), None, x0=0.0, steps=K, paths=1, seed=0, save_every=1,
                 record_iterates=True)
    g0 = np.array([0.5, -2.0])
    expect = -np.outer(r.step, lr * g0 / (np.abs(g0) + eps))
    np.testing.assert_allclose(r.iterates[:, 0, :], expect, rtol=1e-12, atol=1e-15)


def test_dcsgd_discrete_stationary_second_moment():
    """Spec compression 5.5 (discrete-exact): Bernoulli compressors, homogeneous omega,
    heterogeneous sigma_i: E x_j^2 = eta (1 + omega) mean(sigma^2) / (N (2 h_j - eta h_j^2 - eta omega h_j^2 / N))."""
    h = np.array([1.0, 2.0, 4.0])
    sig = np.array([0.5, 1.0, 2.0, 1.5])[:, None]
    N_, eta, p = 4, 0.02, 0.25
    omega = 1 / p - 1
    r = simulate(L.DiagonalQuadratic(h), O.DCSGD(lr=eta, agents=N_, compressor=C.Bernoulli(p)), N.Gaussian(sig),
                 x0=[2.0, -1.5, 1.0], steps=3000, paths=512, seed=5, save_every=10, record_iterates=True)
    expect = eta * (1 + omega) * np.mean(sig**2) / (N_ * (2 * h - eta * h**2 - eta * omega * h**2 / N_))
    for j in range(3):
        m, se = r.time_average(f"x2_{j}", after=10.0)
        assert_mc_close(m, expect[j], se, what=f"E x_{j}^2")
    m, se = r.time_average("loss", after=10.0)
    assert_mc_close(m, 0.5 * np.sum(h * expect), se, what="E f")


@pytest.mark.parametrize("law", ["gauss", "t1", "t3"])
def test_dsignsgd_floor(law):
    """Spec compression 5.5 (phase-3, derived): E f_inf ~ eta d sigma_H / (4 N c) with c = sqrt(2/pi)
    (Gaussian) or c_nu (Student-t), sigma_H the harmonic mean of the agents' scales.
    The linearisation's own bias, measured with this engine (1024 paths, t in [3, 16]):
    Gaussian +0.7/+0.1/-0.4% and Cauchy +0.3/+1.5/+1.6% (each +-0.7%) at eta = 0.01/0.003/0.001;
    spec 5.9 V2/V3 report 0.6% and 0.2% at eta = 0.003. All are below two of the ~1% standard
    errors this test has, so 4 standard errors remain the honest tolerance."""
    h = np.array([1.0, 2.0, 4.0])
    sig = np.array([0.5, 1.0, 2.0, 1.5])
    N_, eta = 4, 0.003
    nz = {"gauss": N.Gaussian(sig[:, None]), "t1": N.StudentT(1.0, sig[:, None]), "t3": N.StudentT(3.0, sig[:, None])}[law]
    if law == "gauss":
        c = math.sqrt(2 / math.pi)
    else:
        nu = float(law[1])
        c = 2 * math.gamma((nu + 1) / 2) / (math.sqrt(math.pi * nu) * math.gamma(nu / 2))
    sigma_h = 1 / np.mean(1 / sig)
    r = simulate(L.DiagonalQuadratic(h), O.DSignSGD(lr=eta, agents=N_), nz, x0=[0.2, -0.2, 0.1], steps=8000,
                 paths=256, seed=6, save_every=20)
    m, se = r.time_average("loss", after=4.0)
    assert_mc_close(m, eta * 3 * sigma_h / (4 * N_ * c), se, what=f"DSignSGD floor ({law})")
    assert r.diverged == 0


def test_dcsgd_heterogeneous_compressors_spec_v1():
    """Spec compression 5.9 V1: Bernoulli compressors with omega = (1, 3, 0, 7) per agent,
    sigma = (0.5, 1, 2, 1.5), H = diag(1, 2, 4), eta = 0.01: discrete-exact E f = 0.012673."""
    from theory import closed_forms as CF

    h = np.array([1.0, 2.0, 4.0])
    sig = np.array([0.5, 1.0, 2.0, 1.5])
    om = np.array([1.0, 3.0, 0.0, 7.0])
    opt = O.DCSGD(lr=0.01, agents=4, compressor=C.Bernoulli(tuple(1 / (1 + om))))
    expect = CF.loss_from_variances(h, CF.dcsgd_stationary_second_moment(0.01, h, sig, om, 4))
    assert expect == pytest.approx(0.012673, abs=1e-6)
    r = simulate(L.DiagonalQuadratic(h), opt, N.Gaussian(sig[:, None]), x0=[2.0, -1.5, 1.0], steps=3000, paths=512,
                 seed=8, save_every=10)
    m, se = r.time_average(after=8.0)
    assert_mc_close(m, expect, se, what="heterogeneous DCSGD floor")


def test_per_agent_compressor_parameters_are_used():
    G = np.array([[1.0, 2.0, 3.0, 4.0]] * 2)
    comp = C.RandK((1, 4))  # agent 0 keeps one coordinate (x4), agent 1 keeps all
    x, _ = O.DCSGD(lr=1.0, agents=2, compressor=comp).step(np.zeros(4), G, rng=0)
    kept0 = -2 * x - G[1]          # agent 0's contribution
    assert np.count_nonzero(kept0) == 1 and np.isclose(kept0[kept0 != 0][0] / G[0][kept0 != 0][0], 4.0)
    np.testing.assert_allclose(comp.omega(4), [3.0, 0.0])
    with pytest.raises(ValueError, match="per-agent"):
        O.DCSGD(lr=0.1, agents=3, compressor=C.RandK((1, 2)))
