"""The clipped-SGD SDE: its drift and diffusion against quadrature and Monte Carlo, its stationary law
against the discrete ClippedSGD on a 1-D quadratic (Student-t noise with infinite variance)."""
import math

import numpy as np
import pytest
from scipy import integrate, stats

import sde
from methods import landscapes as L, noise as N, optimizers as O, simulate
from sde import clipped as SC


def _quad_moments(g, s, c, nu):
    """Reference by adaptive quadrature of the density (scipy.stats for the tail masses)."""
    dist = stats.norm() if math.isinf(nu) else stats.t(nu)
    if math.isinf(nu):
        pdf = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
    else:
        lc = math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)
        pdf = lambda z: math.exp(lc - 0.5 * (nu + 1) * math.log1p(z * z / nu))  # noqa: E731
    a, b = (-c - g) / s, (c - g) / s
    h = min(c, max(-c, g))
    q = lambda fn: integrate.quad(fn, a, b, epsabs=0, epsrel=1e-13, limit=200)[0]  # noqa: E731
    eu = (-c - h) * dist.cdf(a) + (c - h) * dist.sf(b) + q(lambda z: (g - h + s * z) * pdf(z))
    eu2 = (c + h) ** 2 * dist.cdf(a) + (c - h) ** 2 * dist.sf(b) + q(lambda z: (g - h + s * z) ** 2 * pdf(z))
    return h + eu, eu2 - eu * eu


@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
@pytest.mark.parametrize("nu", [0.5, 1.0, 1.0 + 1e-9, 1.5, 2.0 - 1e-4, 2.0, 2.0 + 2e-3, 3.0, 30.0, math.inf])
def test_closed_forms_against_quadrature(nu):
    """Relative 1e-9 (the drift's scale is max(|m|, c/1000)); 1e-6 for the variance of an oracle clipped
    tens of sigma away (cancellation near nu = 2, measured 1.4e-7)."""
    for g in [-3.0, -0.4, 0.0, 0.7, 2.5, 40.0]:
        for s, c in [(1.0, 1.0), (0.3, 2.0), (2.0, 0.1), (1.0, 50.0)]:
            m, v = SC.moments(g, s, c, nu)
            mr, vr = _quad_moments(g, s, c, nu)
            assert abs(m - mr) <= 1e-9 * max(abs(mr), 1e-3 * c), (g, s, c)
            far = abs(g) - c > 10 * s
            assert abs(v - vr) <= (1e-6 if far else 1e-9) * vr, (g, s, c, v, vr)


def test_large_clip_level_recovers_sgd():
    m, v = SC.moments([0.3, -1.2], 0.7, 1e4, math.inf)
    np.testing.assert_allclose(m, [0.3, -1.2], rtol=1e-12)
    np.testing.assert_allclose(v, 0.49, rtol=1e-12)
    m, v = SC.moments(0.3, 0.7, 1e4, 5.0)  # t_5: variance sigma^2 nu/(nu - 2), tail beyond 1e4 ~ 1e-12
    assert m == pytest.approx(0.3, rel=1e-12) and v == pytest.approx(0.49 * 5 / 3, rel=1e-9)


@pytest.mark.parametrize("nz", [N.StudentT(1.0, 1.0), N.StudentT(1.5, 0.8), N.StudentT(3.0, 1.0), N.Gaussian(1.3)],
                         ids=["cauchy", "t1.5", "t3", "gauss"])
def test_drift_and_diffusion_against_monte_carlo(nz):
    """E clip_c(g + Z) and Var clip_c(g + Z) against 200000 draws of the engine's own noise sampler,
    two-sided within 4 s.e. (the variance's s.e. from the sample fourth moment)."""
    nu = getattr(nz, "nu", math.inf)
    sigma = float(np.asarray(nz.sigma))
    c, n = 1.0, 200_000
    for i, g in enumerate([0.3, 2.0]):
        y = np.clip(nz.sample(np.array([g]), rng=100 + i, size=n)[:, 0], -c, c)
        m, v = SC.moments(g, sigma, c, nu)
        assert abs(y.mean() - m) <= 4 * y.std(ddof=1) / math.sqrt(n), (g, y.mean(), m)
        dev2 = (y - y.mean()) ** 2
        assert abs(dev2.mean() - v) <= 4 * dev2.std(ddof=1) / math.sqrt(n), (g, dev2.mean(), v)


def test_stationary_law_on_a_quadratic_under_infinite_variance_noise():
    """f = x^2/2, Student-t nu = 1.5 (no variance: SGD's SDE does not exist), c = 1, lr = 0.05.
    The SDE's stationary variance V (1-D Fokker-Planck density, quadrature) against
    * the discrete ClippedSGD: within 4 s.e. plus the stated first-order model error
      kappa lr/2 V (kappa = P(|Z| < c), the linearised chain's exact gap);
    * sde.integrate with refine = 4: within 4 s.e. plus the same term at dt = lr/4.
    The stationary mean is 0 on both sides by symmetry (a sanity check, not evidence)."""
    f, nz, lr = L.DiagonalQuadratic([1.0]), N.StudentT(1.5, 1.0), 0.05
    opt = O.ClippedSGD(lr=lr, clip=1.0)
    mean, V = SC.stationary_moments(1.0, lr, 1.0, 1.0, 1.5)
    assert abs(mean) < 1e-12
    eps = SC.model_error_scale(1.0, lr, 1.0, 1.0, 1.5)
    steps, after = 800, 10.0
    disc = simulate(f, opt, nz, x0=0.0, steps=steps, paths=2048, seed=21, record_iterates=True)
    got, se = disc.time_average("x2_0", after=after)
    assert abs(got - V) <= 4 * se + eps * V, (got, V, se, eps * V)
    m = sde.model(opt, f, nz)
    assert m.provenance == "derived" and sde.kinds(opt) == ["classic"]
    run = sde.integrate(m, x0=0.0, t_end=steps * lr, paths=1024, seed=22, refine=4, record_iterates=True)
    got_s, se_s = run.time_average("x2_0", after=after)
    assert abs(got_s - V) <= 4 * se_s + eps / 4 * V, (got_s, V, se_s)
    xm, xse = run.time_average("x_0", after=after)
    assert abs(xm) <= 4 * xse


def test_bad_input():
    opt = O.ClippedSGD(lr=0.01, clip=1.0)
    with pytest.raises(ValueError, match="landscape"):
        sde.model(opt, L.DiagonalQuadratic([1.0, 2.0]), N.Gaussian(1.0))
    with pytest.raises(ValueError, match="optimizer"):
        sde.model(O.ClippedSGD(lr=0.01, agents=2), L.DiagonalQuadratic([1.0]), N.Gaussian(1.0))
    with pytest.raises(ValueError, match="noise"):
        sde.model(opt, L.DiagonalQuadratic([1.0]), N.StudentT(1.5, 1.0, batch=4))
    with pytest.raises(ValueError, match="noise"):
        sde.model(opt, L.DiagonalQuadratic([1.0]), N.AlphaStable(1.5, 1.0))
    with pytest.raises(ValueError, match="noise"):
        sde.model(opt, L.DiagonalQuadratic([1.0]), N.Gaussian(0.0))
    with pytest.raises(ValueError, match="kind"):
        sde.model(opt, L.DiagonalQuadratic([1.0]), N.Gaussian(1.0), kind="corrected")
    with pytest.raises(ValueError, match="nu"):
        SC.moments(0.0, 1.0, 1.0, nu=0.0)


def test_coordinate_clipping_step_and_factorised_sde():
    """CoordinateClippedSGD clips each coordinate; on a diagonal quadratic with independent Student-t
    coordinates its SDE factorises, so each coordinate's stationary variance is the 1-D Fokker-Planck
    value: discrete Monte Carlo within 4 s.e. plus the stated first-order model error."""
    x, g = np.array([1.0, -2.0, 0.5]), np.array([3.0, -0.2, -4.0])
    np.testing.assert_array_equal(O.CoordinateClippedSGD(lr=0.1, clip=1.0).step(x, g)[0], x - 0.1 * np.clip(g, -1, 1))
    assert isinstance(O.make("coordinate_clipped_sgd", lr=0.1), O.ClippedSGD)
    lam, sig, lr = np.array([1.0, 3.0]), np.array([1.0, 0.5]), 0.05
    f, nz, opt = L.DiagonalQuadratic(lam), N.StudentT(1.5, sig), O.CoordinateClippedSGD(lr=lr, clip=1.0)
    m = sde.model(opt, f, nz)
    assert m.state_dim == 2 and "coordinate" in m.formula
    r = sde.integrate(m, x0=1.0, t_end=5.0, paths=128, seed=3, record_iterates=True)  # runs in d = 2 (smoke)
    assert r.diverged == 0 and r.iterates.shape[2] == 2 and np.all(r.mean("x2_1")[-20:] < 0.2)
    run = simulate(f, opt, nz, x0=0.0, steps=800, paths=2048, seed=31, record_iterates=True)
    for j in range(2):
        _, V = SC.stationary_moments(lam[j], lr, sig[j], 1.0, 1.5)
        eps = SC.model_error_scale(lam[j], lr, sig[j], 1.0, 1.5)
        got, se = run.time_average(f"x2_{j}", after=10.0)
        assert abs(got - V) <= 4 * se + eps * V, (j, got, V, se, eps * V)


def test_clipped_sde_bit_identical_for_any_thread_count():
    m = sde.model(O.ClippedSGD(lr=0.05, clip=1.0), L.DiagonalQuadratic([1.0]), N.StudentT(1.5, 1.0))
    a, b = (sde.integrate(m, x0=1.0, t_end=2.0, paths=200, seed=7, threads=t) for t in (1, 2))
    np.testing.assert_array_equal(a.loss, b.loss)


def _check_vectorised_moments(both, ref, *, outer, inner):
    """``both(g, sigma, c, out)`` fills ``out[:, :2]`` with the scalar ``clip_moments`` and ``out[:, 2:]``
    with a vectorised version; ``ref(g, sigma, c)`` gives the exact mean and variance and their
    rounding scales. Over sigma 0.01-100 and c 0.01-10, at ``outer`` gradients within 40 (sigma or c)
    of 0 and ``inner`` across the clip interval, the vectorised error must be within 16 ulps of the
    rounding scale (with an underflow floor) or within 10 times the scalar version's error."""
    ulp = np.finfo(float).eps
    for sig in (0.01, 1.0, 100.0):
        for c in (0.01, 1.0, 10.0):
            g = np.concatenate([np.linspace(-40, 40, outer) * max(sig, c), np.linspace(-2 * c, 2 * c, inner)])
            out = np.empty((g.size, 4))
            both(g, sig, c, out)
            assert np.all(np.isfinite(out)), (sig, c)
            r = np.array([ref(x, sig, c) for x in g])
            for k in (0, 1):
                scale = r[:, 2 + k] + np.finfo(float).tiny * (c + sig) ** (k + 1)  # underflow floor
                err_scalar = np.abs(out[:, k] - r[:, k])
                err_new = np.abs(out[:, 2 + k] - r[:, k])
                assert np.all((err_new <= 16 * ulp * scale) | (err_new <= 10 * err_scalar)), (sig, c, k)


def test_vectorised_gaussian_moments_as_accurate_as_libm():
    """``clip_moments_gauss`` (branch-free, sde.gauss_tails' erf and erfc: what the Gaussian clipped
    SDE's drift runs) against mpmath at 400 digits (enough for ``F(b) - F(a)`` far in a tail), point
    by point: its error is within 16 ulps of the formula's rounding scale ``T`` (the sum of the
    centred formula's terms in absolute value, about ``h = clip_c(g)`` as the code computes it) or
    within 10 times the error of ``clip_moments`` with libm's erfc and exp, whose evaluation
    cancels alike where the formula is ill-conditioned (``c`` far below ``sigma``: there both lose
    up to about 1e3 ulps of ``T`` in the variance). Noise sigma 0.01-100, clip c 0.01-10, gradients
    across the clip interval and 40 (sigma or c) beyond it on either side."""
    import mpmath
    from numba import njit

    def ref(g, sig, c):
        with mpmath.workdps(400):
            g, sig, c = mpmath.mpf(g), mpmath.mpf(sig), mpmath.mpf(c)
            a, b = (-c - g) / sig, (c - g) / sig
            plo, phi, mid = mpmath.ncdf(a), mpmath.ncdf(-b), mpmath.ncdf(b) - mpmath.ncdf(a)
            pa, pb = mpmath.npdf(a), mpmath.npdf(b)
            i1, i2 = pa - pb, mid + a * pa - b * pb
            h = max(-c, min(c, g))
            r = g - h
            eu = -(c + h) * plo + (c - h) * phi + r * mid + sig * i1
            eu2 = (c + h) ** 2 * plo + (c - h) ** 2 * phi + r * r * mid + 2 * r * sig * i1 + sig * sig * i2
            tm = abs(h) + (c + abs(h)) * plo + abs(c - h) * phi + abs(r) * mid + sig * (pa + pb)
            tv = ((c + h) ** 2 * plo + (c - h) ** 2 * phi + r * r * mid + 2 * abs(r) * sig * (pa + pb)
                  + sig * sig * (mid + abs(a) * pa + abs(b) * pb) + eu * eu)
            return float(h + eu), float(eu2 - eu * eu), float(tm), float(tv)

    @njit(error_model="numpy")
    def both(g, sig, c, out):
        for i in range(g.shape[0]):
            out[i, 0], out[i, 1] = SC.clip_moments(0, 0.0, 0.0, g[i], sig, c)
            out[i, 2], out[i, 3] = SC.clip_moments_gauss(g[i], sig, c)

    _check_vectorised_moments(both, ref, outer=41, inner=11)


@pytest.mark.parametrize("nu", [0.5, 1.0, 2.0011, 3.0])
def test_vectorised_student_moments_as_accurate_as_stdtr(nu):
    """``clip_moments_t_for(nu)`` (branch-free, sde.t_tails' tables: what the Student-t clipped SDE's
    drift runs) against mpmath at 60 digits, point by point, with the criterion of the Gaussian test
    above: within 16 ulps of the formula's rounding scale (the centred formula's terms in absolute
    value: ``I_1``'s two ends ``C nu E(z) / (2 |e|)``, ``I_2``'s ``nu [F(b) - F(a)]`` and
    ``C nu |z| E(z)`` over ``|nu - 2|``) or within 10 times the error of ``clip_moments`` (scipy's
    stdtr, libm). Sigma 0.01-100, c 0.01-10, gradients across the clip interval and 40 (sigma or c)
    beyond it on either side; ``nu = 2.0011`` is just outside the band around 2 that keeps the scalar path."""
    import mpmath
    from numba import njit

    from sde.special import t_log_norm

    def ref(g, sig, c):
        with mpmath.workdps(60):
            n, g, sig, c = mpmath.mpf(nu), mpmath.mpf(g), mpmath.mpf(sig), mpmath.mpf(c)
            a, b = (-c - g) / sig, (c - g) / sig

            def upper(z):  # P(T > z)
                q = mpmath.betainc(n / 2, mpmath.mpf(1) / 2, 0, n / (n + z * z), regularized=True) / 2
                return q if z >= 0 else 1 - q

            plo, phi = upper(-a), upper(b)
            mid = 1 - plo - phi
            cn = mpmath.exp(mpmath.loggamma((n + 1) / 2) - mpmath.loggamma(n / 2)) / mpmath.sqrt(n * mpmath.pi)
            ee = lambda z: (1 + z * z / n) ** (-(n - 1) / 2)  # noqa: E731
            if nu == 1.0:
                i1 = (mpmath.log1p(b * b) - mpmath.log1p(a * a)) / (2 * mpmath.pi)
                s1 = (mpmath.log1p(b * b) + mpmath.log1p(a * a)) / (2 * mpmath.pi)
            else:
                i1 = -cn * n * (ee(b) - ee(a)) / (n - 1)
                s1 = cn * n * (ee(b) + ee(a)) / abs(n - 1)
            i2 = (n * mid - cn * n * (b * ee(b) - a * ee(a))) / (n - 2)
            s2 = (n * mid + cn * n * (abs(b) * ee(b) + abs(a) * ee(a))) / abs(n - 2)
            h = max(-c, min(c, g))
            r = g - h
            eu = -(c + h) * plo + (c - h) * phi + r * mid + sig * i1
            eu2 = (c + h) ** 2 * plo + (c - h) ** 2 * phi + r * r * mid + 2 * r * sig * i1 + sig * sig * i2
            tm = abs(h) + (c + abs(h)) * plo + abs(c - h) * phi + abs(r) * mid + sig * s1
            tv = ((c + h) ** 2 * plo + (c - h) ** 2 * phi + r * r * mid + 2 * abs(r) * sig * s1 + sig * sig * s2
                  + eu * eu)
            return float(h + eu), float(eu2 - eu * eu), float(tm), float(tv)

    fast = SC.clip_moments_t_for(nu)
    lc = t_log_norm(nu)

    @njit(error_model="numpy")
    def both(g, sig, c, out):
        for i in range(g.shape[0]):
            out[i, 0], out[i, 1] = SC.clip_moments(1, nu, lc, g[i], sig, c)
            out[i, 2], out[i, 3] = fast(g[i], sig, c)

    _check_vectorised_moments(both, ref, outer=21, inner=7)


def test_student_fast_path_selection_and_agreement():
    """Which ``nu`` take the vectorised moments (not within 1e-3 of 2, where ``I_2`` needs the scalar
    interpolation in ``nu``; not above the tables' ``nu = 1000``), and the SDE's iterates with the fast
    moments against the same SDE run on scipy's stdtr: the same to rounding (relative 1e-13 on the
    loss over 300 steps; measured 3.3e-15)."""
    assert [SC.t_fast_path(nu) for nu in (0.3, 1.0, 1.9995, 2.0, 2.0005, 2.0011, 3.0, 1000.0, 1001.0)] == [
        True, True, False, False, False, True, True, True, False]
    with pytest.raises(ValueError, match="nu"):
        SC.clip_moments_t_for(2.0)
    q = L.DiagonalQuadratic(np.linspace(1.0, 3.0, 6))

    def run():
        m = sde.model(O.CoordinateClippedSGD(lr=0.02, clip=0.5), q, N.StudentT(3.0, 0.5))
        return np.asarray(sde.integrate(m, x0=1.0, t_end=6.0, paths=64, seed=3, save_at=np.arange(10, 301, 10)).loss)

    fast = run()
    import unittest.mock as um

    with um.patch.object(SC, "t_fast_path", lambda nu: False):
        slow = run()
    assert np.all(np.isfinite(fast))
    np.testing.assert_allclose(fast, slow, rtol=1e-13, atol=0)
    assert not np.array_equal(fast, slow)  # the two paths did run different code
