"""Compression paper (arXiv 2502.17009): compensation rules, the DCSGD step ceiling, transients, rates,
heavy-tailed floors and the sign-drift bound, each held two-sided to theory (``theory.compression``,
``theory.scaling``, ``theory.closed_forms``) with 4 Monte Carlo standard errors.

A recurring point: the discrete DCSGD chain *is* the SDE's Euler-Maruyama chain with ``dt = lr`` as far as
first and second moments go (``theory.compression``), so discrete-vs-SDE agreement at ``dt = lr`` proves
nothing about the SDE. The tests below hold the discrete method to the discrete recursion and the SDE,
integrated with ``dt = lr / m``, to *its own* exact moments (EM at that ``dt``), and check separately that
those converge to the continuous SDE's and differ from the discrete ones at ``O(lr)``.
"""
import math

import numpy as np
import pytest
import sympy as sp

import sde
from conftest import assert_mc_close
from methods import compressors as C, landscapes as L, noise as N, optimizers as O, simulate
from theory import closed_forms as CF, compression as TC, scaling as SC

H3 = np.array([1.0, 2.0, 4.0])
SIG4 = np.array([0.5, 1.0, 2.0, 1.5])
OM4 = np.array([1.0, 3.0, 0.0, 7.0])


# ------------------------------------------------------------------ compensation rules (C5)
def test_compensation_rules_are_exact_on_the_noise_term():
    """B' = (1+omega) B, N' = (1+omega) N and lr' = lr/(1+omega) each give DCSGD's noise term
    eta (1+omega) sigma^2/(N B) DSGD's eta sigma^2/(N B), with no time change; the lr route costs
    (1+omega) times the iterations. The gradient term omega g^2/N is not compensated by any route
    (batch leaves it, agents and lr divide it by 1+omega)."""
    for route in SC.COMPENSATION:
        v = SC.compensation(route)
        assert v.invariant and v.time_factor == 1, v
        full = SC.compensation(route, multiplicative=True)
        assert not full.invariant
        left = sp.simplify(full.ratios[1] - 1)  # relative excess of the diffusion over DSGD's
        expect = SC.B * SC.g**2 * SC.omega / SC.sigma**2
        if route != "batch":
            expect = expect / (1 + SC.omega)
        assert sp.simplify(left - expect) == 0, (route, left)
    assert SC.ITERATION_FACTOR["lr"] == 1 + SC.omega
    # the wrong rule (compress, change nothing) is rejected
    assert not SC.check_against(SC.dsgd(), SC.dcsgd(False), {}).invariant
    with pytest.raises(ValueError, match="route"):
        SC.compensation("momentum")


# ------------------------------------------------------------------ step ceiling (C25)
def test_second_moment_ceilings_symbolic():
    e, h, w, n = TC.eta, TC.h, TC.w, TC.N
    assert sp.simplify(TC.second_moment_ceiling("sde") - 2 * n / (w * h)) == 0
    assert sp.simplify(TC.second_moment_ceiling("discrete") - 2 * n / (h * (n + w))) == 0
    # the discrete ceiling is the SDE's minus O(eta): 2N/(h(N + omega)) < 2N/(omega h)
    assert TC.ceiling(1.0, 7.0, 1, kind="discrete") == pytest.approx(0.25)
    assert TC.ceiling(1.0, 7.0, 1) == pytest.approx(2 / 7)
    with pytest.raises(ValueError, match="kind"):
        TC.second_moment_ceiling("ito")


@pytest.mark.parametrize("lr", [0.2, 0.27, 0.32])
def test_dcsgd_step_ceiling_discrete_and_sde(lr):
    """No noise, f = x^2/2, one agent with Bernoulli p = 1/8 (omega = 7): E x_k^2 = a^k exactly with
    a = (1 - lr)^2 + 7 lr^2 (discrete), and E X^2 = b^n, b = (1 - dt)^2 + 7 lr dt, for the SDE's EM chain
    (dt = lr/16). Ceilings: discrete 0.25, SDE 2/7 = 0.286 (EM at dt = lr/16: 0.283). lr = 0.27 lies
    between them: the discrete second moment grows while the SDE's decays.

    The SDE side is measured over one iteration (16 EM steps) only: its multiplicative noise makes X^2
    log-normal-like, and over many steps the Monte Carlo mean of X^2 is dominated by rare paths (the
    relative variance grows like 1.13^n at lr = 0.27), so the long-run sign of the growth comes from the
    exact recursion, whose one-step factor the simulation confirms."""
    f, comp, K, m = L.DiagonalQuadratic([1.0]), C.Bernoulli(1 / 8), 10, 16
    opt = O.DCSGD(lr=lr, compressor=comp)
    rd = simulate(f, opt, None, x0=1.0, steps=K, paths=8192, seed=11, save_every=K, record_iterates=True)
    x2 = rd.observable("x2_0")[-1]
    a = TC.growth_factor(lr, 1.0, 7.0, 1, lr)
    sd = x2.std(ddof=1) / math.sqrt(x2.size)
    assert_mc_close(x2.mean(), a**K, sd, what="discrete E x_K^2")
    rs = sde.integrate(sde.model(opt, f, None), x0=1.0, t_end=lr, paths=8192, seed=12, refine=m,
                       record_iterates=True, save_every=1)
    X2 = rs.observable("x2_0")[-1]
    b = TC.growth_factor(lr, 1.0, 7.0, 1, lr / m)
    assert_mc_close(X2.mean(), b**m, X2.std(ddof=1) / math.sqrt(X2.size), what="SDE (EM) E X^2 after one iteration")
    assert (a > 1) == (lr > TC.ceiling(1.0, 7.0, 1, kind="discrete"))
    assert (b > 1) == (lr > 2 / (7 + 1 / m))
    assert (TC.growth_factor(lr, 1.0, 7.0, 1) > 1) == (lr > TC.ceiling(1.0, 7.0, 1))
    if lr == 0.27:  # between the ceilings: the measured discrete second moment grows beyond 4 s.e.
        assert x2.mean() - 4 * sd > 1.0 and b < 1


# ------------------------------------------------------------------ V5 transient (C37)
def test_dcsgd_transient_v5():
    """Bernoulli omega = (1, 3, 0, 7), sigma = (0.5, 1, 2, 1.5), H = diag(1, 2, 4), x0 = (2, -1.5, 1),
    lr = 0.01: E f at t = 1..6. The exact recursions reproduce the Monte Carlo table of the derivation
    (discrete 0.32276, 0.05015, 0.01765, 0.01347, 0.01278, 0.01249; SDE 0.32828, 0.05018, 0.01770,
    0.01342, 0.01286, 0.01242, each from 4000 paths, about 1-2% s.e.); the engine's discrete runs match the
    discrete recursion and the SDE (EM, dt = lr/4) its EM recursion. At t = 1 the SDE is 1.3% above the
    discrete method: the O(lr) gap, larger than the Monte Carlo error here."""
    t = np.arange(1.0, 7.0)
    x0 = [2.0, -1.5, 1.0]
    disc = TC.expected_loss(t, 0.01, H3, SIG4, OM4, 4, x0, dt_=0.01)
    cont = TC.expected_loss(t, 0.01, H3, SIG4, OM4, 4, x0)
    np.testing.assert_allclose(disc, [0.32276, 0.05015, 0.01765, 0.01347, 0.01278, 0.01249], rtol=0.03)
    np.testing.assert_allclose(cont, [0.32828, 0.05018, 0.01770, 0.01342, 0.01286, 0.01242], rtol=0.03)
    # long-time limits are the stationary closed forms (V1: 0.012673 discrete, 0.012523 SDE)
    assert TC.expected_loss([1e4], 0.01, H3, SIG4, OM4, 4, x0, dt_=0.01)[0] == pytest.approx(0.012673, abs=1e-6)
    assert TC.expected_loss([1e4], 0.01, H3, SIG4, OM4, 4, x0)[0] == pytest.approx(0.012523, abs=1e-6)
    opt = O.DCSGD(lr=0.01, agents=4, compressor=C.Bernoulli(tuple(1 / (1 + OM4))))
    f, nz = L.DiagonalQuadratic(H3), N.Gaussian(SIG4[:, None])
    save = np.arange(100, 700, 100)
    rd = simulate(f, opt, nz, x0=x0, steps=600, paths=4096, seed=21, save_at=save)
    assert_mc_close(rd.mean()[1:], disc, rd.stderr()[1:], what="discrete DCSGD transient")
    rs = sde.integrate(sde.model(opt, f, nz), x0=x0, t_end=6.0, paths=4096, seed=22, refine=4, save_at=save)
    em = TC.expected_loss(t, 0.01, H3, SIG4, OM4, 4, x0, dt_=0.0025)
    assert_mc_close(rs.mean()[1:], em, rs.stderr()[1:], what="DCSGD SDE transient (EM, dt = lr/4)")
    assert abs(em[0] - cont[0]) < 0.3 * abs(cont[0] - disc[0])  # EM at lr/4 is close to the SDE itself
    assert (cont[0] - disc[0]) / disc[0] > 0.01


# ------------------------------------------------------------------ rate (C2, C18)
def test_compression_slows_the_rate_to_2_mu_delta():
    """No noise, f = x^2/2 (mu = L = 1), one agent, Bernoulli p = 1/4 (omega = 3), lr = 0.05: the SDE's
    E f decays at 2 mu Delta = 2 (1 - lr omega/2) = 1.85 instead of 2 (DSGD); the discrete method at
    -log((1 - lr)^2 + omega lr^2)/lr = 1.886. The measured rate log(f0 / E f(T)) / T (delta-method s.e.)
    is held two-sided to each, and the compressed and uncompressed SDE rates are told apart."""
    lr, T, m = 0.05, 2.0, 8
    f = L.DiagonalQuadratic([1.0])

    def rate(run):
        y = run.observable("x2_0")[-1]
        mean, se = y.mean(), y.std(ddof=1) / math.sqrt(y.size)
        return -math.log(mean) / T, se / mean / T

    out = {}
    for om in (0.0, 3.0):
        opt = O.DCSGD(lr=lr, compressor=C.Bernoulli(1 / (1 + om)))
        rs = sde.integrate(sde.model(opt, f, None), x0=1.0, t_end=T, paths=8192, seed=31, refine=m,
                           record_iterates=True, save_every=int(T / lr))
        r, se = rate(rs)
        em = -math.log(TC.growth_factor(lr, 1.0, om, 1, lr / m)) / (lr / m)
        if om == 0:  # no noise, no compression: deterministic
            assert r == pytest.approx(em, rel=1e-12) and se == 0
            se = 1e-12
        else:
            assert_mc_close(r, em, se, what=f"SDE rate, omega = {om}")
        assert em == pytest.approx(2 * (1 - lr * om / 2), abs=0.02)  # EM's O(dt) bias: dt = lr/8
        out[om] = (r, se)
        rd = simulate(L.DiagonalQuadratic([1.0]), opt, None, x0=1.0, steps=int(T / lr), paths=8192, seed=32,
                      record_iterates=True, save_every=int(T / lr))
        rdisc, sed = rate(rd)
        expect = -math.log(TC.growth_factor(lr, 1.0, om, 1, lr)) / lr
        if om == 0:
            assert rdisc == pytest.approx(expect, rel=1e-12)
        else:
            assert_mc_close(rdisc, expect, sed, what="discrete rate")
            print(f"omega = {om}: SDE rate {r:.4f} +- {se:.4f} (EM {em:.4f}, 2 mu Delta {2 * (1 - lr * om / 2):.4f}); "
                  f"discrete {rdisc:.4f} +- {sed:.4f} (exact {expect:.4f})")
    (r0, s0), (r3, s3) = out[0.0], out[3.0]
    assert r0 - r3 > 4 * math.hypot(s0, s3)


def test_dcsgd_pl_and_nonconvex_bounds_are_tight_on_a_1d_quadratic():
    """On f = h x^2/2 with mu = L = h and d = 1 the DCSGD SDE's E f(t) *equals* the PL bound
    (f0 - f*) e^{-2 mu Delta t} + (1 - e^{-2 mu Delta t}) eta L (1 + omega) sigma^2 / (4 mu N Delta), and
    the uniform time average of E|f'|^2 equals the non-convex bound minus E f(T)/(Delta T): both bounds
    are sharp (derived here from the Ito loss drift; the constants are thereby checked two-sided)."""
    from scipy import integrate as SI

    h, lr, sigma, om, agents, x0 = 1.5, 0.05, 0.7, 3.0, 2, 1.2
    t = np.linspace(0, 5, 11)
    exact = TC.expected_loss(t, lr, [h], [sigma] * agents, om, agents, x0)
    bound = CF.dcsgd_pl_bound(t, h * x0**2 / 2, h, h, 1, sigma, om, agents, lr)
    np.testing.assert_allclose(exact, bound, rtol=1e-12)
    T = 5.0
    g2 = SI.quad(lambda s: 2 * h * TC.expected_loss([s], lr, [h], [sigma] * agents, om, agents, x0)[0], 0, T)[0] / T
    delta = 1 - lr * h * om / (2 * agents)
    fT = TC.expected_loss([T], lr, [h], [sigma] * agents, om, agents, x0)[0]
    nc = CF.dcsgd_nonconvex_bound(T, h * x0**2 / 2, h, 1, sigma, om, agents, lr)
    assert g2 == pytest.approx(nc - fT / (delta * T), rel=1e-9)
    # SGD (omega = 0, N = 1): the same tightness for the SGD PL bound of arXiv 2411.15958's SGD SDE
    e_sgd = TC.expected_loss(t, lr, [h], sigma, 0.0, 1, x0)
    np.testing.assert_allclose(e_sgd, CF.sgd_pl_bound(t, h * x0**2 / 2, h, h, 1, sigma, lr), rtol=1e-12)
    np.testing.assert_allclose(CF.sgd_pl_bound(t, 1.0, h, h, 1, sigma, lr),
                               CF.dcsgd_pl_bound(t, 1.0, h, h, 1, sigma, 0.0, 1, lr), rtol=1e-12)
    # and the SDE integrator reproduces the exact curve (EM at dt = lr/8 against its own recursion)
    opt = O.DCSGD(lr=lr, agents=agents, compressor=C.Bernoulli(1 / (1 + om)))
    rs = sde.integrate(sde.model(opt, L.DiagonalQuadratic([h]), N.Gaussian(sigma)), x0=x0, t_end=T, paths=4096,
                       seed=33, refine=8, save_at=np.rint(t / lr).astype(int))
    em = TC.expected_loss(t[1:], lr, [h], [sigma] * agents, om, agents, x0, dt_=lr / 8)
    assert_mc_close(rs.mean()[1:], em, rs.stderr()[1:], what="DCSGD SDE against its exact moments")
    np.testing.assert_allclose(em, exact[1:], rtol=0.02)


# ------------------------------------------------------------------ DSGD SDE with N agents (C11)
def test_dsgd_sde_with_agents():
    """DSGD with N = 4 heterogeneous agents on H = diag(1, 4), lr = 0.05: the discrete floor is
    lr mean(sigma^2)/N sum_j 1/(2 (2 - lr h_j)), the SDE's lr d mean(sigma^2)/(4N) (11% lower on the
    h = 4 coordinate); the SDE integrated at dt = lr/8 lands on its own EM value, the discrete run on
    the discrete one, and the two differ by more than their errors."""
    h, lr = np.array([1.0, 4.0]), 0.05
    opt, f, nz = O.DSGD(lr=lr, agents=4), L.DiagonalQuadratic(h), N.Gaussian(SIG4[:, None])
    rd = simulate(f, opt, nz, x0=0.0, steps=1200, paths=1024, seed=41, save_every=5)
    md, sd = rd.time_average(after=10.0)
    disc = TC.expected_loss([1e4], lr, h, SIG4, 0.0, 4, 0.0, dt_=lr)[0]
    assert_mc_close(md, disc, sd, what="DSGD discrete floor")
    rs = sde.integrate(sde.model(opt, f, nz), x0=0.0, t_end=60.0, paths=1024, seed=42, refine=8, save_every=5)
    ms, ss = rs.time_average(after=10.0)
    em = TC.expected_loss([1e4], lr, h, SIG4, 0.0, 4, 0.0, dt_=lr / 8)[0]
    assert_mc_close(ms, em, ss, what="DSGD SDE floor (EM, dt = lr/8)")
    cont = lr * 2 * np.mean(SIG4**2) / (4 * 4)
    assert TC.expected_loss([1e4], lr, h, SIG4, 0.0, 4, 0.0)[0] == pytest.approx(cont, rel=1e-12)
    assert md - ms > 4 * math.hypot(sd, ss)


# ------------------------------------------------------------------ heavy tails (C14, C30)
def test_dcsgd_student_t_floor():
    """Student-t noise, nu = 5, scale 0.5: DCSGD's floor uses the variance sigma^2 nu/(nu - 2) in place of
    sigma^2 (discrete-exact and SDE forms). Two agents, Bernoulli p = 1/2, H = diag(1, 2, 4), lr = 0.01.
    nu <= 2 has no floor and no SDE (ValueError)."""
    nu, s, lr = 5.0, 0.5, 0.01
    opt, f, nz = O.DCSGD(lr=lr, agents=2, compressor=C.Bernoulli(0.5)), L.DiagonalQuadratic(H3), N.StudentT(nu, s)
    r = simulate(f, opt, nz, x0=0.0, steps=3000, paths=1024, seed=51, save_every=10)
    m, se = r.time_average(after=6.0)
    expect = TC.dcsgd_student_t_floor(lr, H3, [s] * 2, nu, 1.0, 2)
    assert_mc_close(m, expect, se, what="DCSGD Student-t floor")
    gauss = CF.dcsgd_floor(lr, H3, [s] * 2, 1.0, 2, discrete=True)
    assert expect / gauss == pytest.approx(nu / (nu - 2))
    small = lr * 3 * 2 * s**2 * nu / (4 * 2 * (nu - 2))   # eta d (1 + omega) sigma^2 nu / (4 N (nu - 2))
    assert TC.dcsgd_student_t_floor(1e-6, H3, [s] * 2, nu, 1.0, 2) / 1e-6 == pytest.approx(small / lr, rel=1e-4)
    assert sde.model(opt, f, nz).noise is nz  # the SDE exists for nu > 2 ...
    for bad in (2.0, 1.0):
        with pytest.raises(ValueError, match="nu"):
            TC.dcsgd_student_t_floor(lr, H3, [s] * 2, bad, 1.0, 2)
        with pytest.raises(ValueError, match="covariance"):  # ... and is refused for nu <= 2
            sde.model(opt, f, N.StudentT(bad, s))


# ------------------------------------------------------------------ trace bound (C13)
def test_transmitted_covariance_trace_bound():
    """tr Sigma~ <= omega_bar ||g||^2 + mean_i (1 + omega_i) tr Sigma_i for any unbiased compressor: an
    equality for rand-k and Bernoulli (exact covariances), strict for QSGD (Monte Carlo, 4 s.e.)."""
    g = np.array([1.0, -2.0, 0.5, 3.0])
    S = 0.3 * np.ones(4)
    for comp, om in ((C.RandK(1), 3.0), (C.Bernoulli(0.25), 3.0)):
        M = np.outer(g, g) + np.diag(S)
        # E_Z Cov_xi C(g + Z) = cov formula applied to the second-moment matrix (it is quadratic in x)
        tr = np.trace(np.diag(S)) + om * np.trace(M) if isinstance(comp, C.Bernoulli) else \
            np.trace(np.diag(S)) + np.trace(comp.covariance(g)) + om * S.sum()
        assert tr == pytest.approx(TC.covariance_trace_bound(g, S.sum(), [om]), rel=1e-12)
        assert np.trace(comp.covariance(g)) == pytest.approx(om * g @ g, rel=1e-12)
    q = C.QSGD(2)
    om = q.omega(4)
    draws = q(g, rng=5, size=200_000)
    err2 = ((draws - g) ** 2).sum(1)
    np.testing.assert_allclose(draws.mean(0), g, atol=4 * draws.std(0).max() / math.sqrt(len(draws)))
    assert err2.mean() + 4 * err2.std(ddof=1) / math.sqrt(err2.size) < om * g @ g


# ------------------------------------------------------------------ sign drift (C19) and per-coordinate sigma_H (C28)
@pytest.mark.parametrize("nu", [math.inf, 1.0, 3.0])
def test_sign_drift_lower_bound(nu):
    """grad f . m >= l_nu mean_i sum_j min(|g_j|, g_j^2/sigma_ij), l = erf(1/sqrt2) = 0.6827 (Gaussian),
    1/2 (Cauchy); equality at |g| = sigma for one agent and one coordinate."""
    rng = np.random.default_rng(0)
    sig = np.array([0.5, 1.0, 2.0])
    for _ in range(300):
        g = rng.normal(0, 2, size=3) * rng.choice([0.01, 1, 10])
        assert TC.sign_drift(g, sig, nu) >= TC.sign_drift_lower_bound(g, sig, nu) * (1 - 1e-12)
    for s in (0.3, 2.0):
        assert TC.sign_drift([s], [s], nu) == pytest.approx(TC.sign_drift_lower_bound([s], [s], nu), rel=1e-12)
    if math.isinf(nu):
        assert TC.sign_drift_constant(nu) == pytest.approx(0.682689, abs=1e-6)
    elif nu == 1.0:
        assert TC.sign_drift_constant(nu) == pytest.approx(0.5, abs=1e-12)


def test_dsignsgd_floor_uses_per_coordinate_harmonic_means():
    """Two agents with per-coordinate scales sigma = [[0.25, 4], [0.5, 2]]: sigma_H,j = (1/3, 8/3), so the
    floor is lr sum_j sigma_H,j / (4 N c) = lr 3 / (8 c); one harmonic mean over the flattened table
    (0.593) would give less than half of it. The discrete method decides."""
    table = np.array([[0.25, 4.0], [0.5, 2.0]])
    np.testing.assert_allclose(CF.sigma_harmonic(table, 2), [1 / 3, 8 / 3])
    lr = 0.003
    expect = CF.dsignsgd_floor(lr, 2, table, 2)
    assert expect == pytest.approx(lr * 3 / (8 * math.sqrt(2 / math.pi)), rel=1e-12)
    flat = CF.dsignsgd_floor(lr, 2, table.ravel(), 4)  # the old flattened reading
    r = simulate(L.DiagonalQuadratic([1.0, 1.0]), O.DSignSGD(lr=lr, agents=2), N.Gaussian(table), x0=0.0,
                 steps=8000, paths=256, seed=61, save_every=20)
    m, se = r.time_average(after=6.0)
    assert_mc_close(m, expect, se, what="per-coordinate DSignSGD floor")
    assert abs(m - flat) > 10 * se
    with pytest.raises(ValueError, match="sigma"):
        CF.sign_stationary_variance(lr, 1.0, table, agents=3)


# ------------------------------------------------------------------ DSignSGD transient (C36), batch (C15), nu grid (C39)
def test_dsignsgd_transient_v4():
    """V4 setting (N = 4, sigma = (0.5, 1, 2, 1.5), H = diag(1, 2, 4), x0 = (2, -1.5, 1), lr = 0.01): discrete
    DSignSGD and its Erf SDE (EM, dt = lr/4) agree at t = 1..6 within Monte Carlo error, and both reproduce the
    derivation's table (discrete 1.19918, 0.22323, 0.04458, 0.01024, 0.00375, 0.00258 from 4000 paths) within 4
    of their combined standard errors (the table's taken as ours, relative, at 4000 paths)."""
    opt = O.DSignSGD(lr=0.01, agents=4)
    f, nz, x0 = L.DiagonalQuadratic(H3), N.Gaussian(SIG4[:, None]), [2.0, -1.5, 1.0]
    save = np.arange(100, 700, 100)
    rd = simulate(f, opt, nz, x0=x0, steps=600, paths=4000, seed=71, save_at=save)
    rs = sde.integrate(sde.model(opt, f, nz), x0=x0, t_end=6.0, paths=4000, seed=72, refine=4, save_at=save)
    se = np.hypot(rd.stderr(), rs.stderr())[1:]
    assert_mc_close(rs.mean()[1:], rd.mean()[1:], se, what="DSignSGD SDE vs discrete (V4)")
    table = np.array([1.19918, 0.22323, 0.04458, 0.01024, 0.00375, 0.00258])
    assert_mc_close(rd.mean()[1:], table, math.sqrt(2) * rd.stderr()[1:], what="V4 table")


def test_dsignsgd_sde_with_batch_and_heavy_tails():
    """The Erf SDE with batch B uses sigma/sqrt(B) (floor lr d sigma_H/(4 N c sqrt B)); the Student-t SDE gives
    the floor lr d sigma_H/(4 N c_nu) for nu = 1.5 and 2.5 (infinite variance for the first), as the discrete
    method does: the sign methods' floors stay finite for every nu."""
    f, lr = L.DiagonalQuadratic(H3), 0.003
    opt = O.DSignSGD(lr=lr, agents=2)
    r = sde.integrate(sde.model(opt, f, N.Gaussian(2.0, batch=4)), x0=0.0, t_end=21.0, paths=256, seed=81,
                      save_every=20)
    m, se = r.time_average(after=4.0)
    assert_mc_close(m, CF.dsignsgd_floor(lr, 3, [1.0] * 2, 2), se, what="Erf SDE with batch 4")
    for nu in (1.5, 2.5):
        nz = N.StudentT(nu, 1.0)
        expect = CF.dsignsgd_floor(lr, 3, [1.0] * 2, 2, nu=nu)
        rs = sde.integrate(sde.model(opt, f, nz), x0=0.0, t_end=21.0, paths=256, seed=82, save_every=20)
        rd = simulate(f, opt, nz, x0=0.0, steps=7000, paths=256, seed=83, save_every=20)
        for run, what in ((rs, "SDE"), (rd, "discrete")):
            m, se = run.time_average(after=4.0)
            assert run.diverged == 0
            assert_mc_close(m, expect, se, what=f"DSignSGD {what} floor, nu = {nu}")


# ------------------------------------------------------------------ decaying schedules (C21)
def test_dcsgd_with_decaying_schedule():
    """DCSGD with eta_k = 1/sqrt(k + 1) on f = h x^2/2 (h = 1, one agent, Bernoulli omega = 3, sigma = 0.5,
    lr = 0.05): the discrete method and the scheduled SDE (EM, dt = lr/4) each follow their exact
    second-moment recursions; the SDE's Ito identity int s Delta_s E|f'|^2 = f0 - E f(T) + c int s^2 holds
    exactly, so the bound E|f'(X_that)|^2 <= 2 (f0 + c int s^2) / int s (that ~ s / int s) holds, is within a
    factor 4 of the truth here, and shrinks as T grows (derived here)."""
    from methods import schedules as SCH

    h, lr, sig, om, K, m = 1.0, 0.05, 0.5, 3.0, 400, 4
    s = 1 / np.sqrt(np.arange(K) + 1.0)
    opt = O.DCSGD(lr=lr, compressor=C.Bernoulli(1 / (1 + om)), schedule=SCH.InvSqrt())
    f, nz = L.DiagonalQuadratic([h]), N.Gaussian(sig)
    save = np.array([0, 25, 100, 200, 400])
    rd = simulate(f, opt, nz, x0=1.0, steps=K, paths=8192, seed=91, save_at=save)
    exact_d = h / 2 * TC.scheduled_mean_square(lr, h, sig, om, 1, 1.0, s, refine=1)[save]
    assert_mc_close(rd.mean()[1:], exact_d[1:], rd.stderr()[1:], what="scheduled DCSGD, discrete")
    rs = sde.integrate(sde.model(opt, f, nz), x0=1.0, t_end=K * lr, paths=8192, seed=92, refine=m, save_at=save)
    exact_em = h / 2 * TC.scheduled_mean_square(lr, h, sig, om, 1, 1.0, s, refine=m)[save]
    assert_mc_close(rs.mean()[1:], exact_em[1:], rs.stderr()[1:], what="scheduled DCSGD SDE (EM, dt = lr/4)")
    exact_sde = h / 2 * TC.scheduled_mean_square(lr, h, sig, om, 1, 1.0, s)[save]
    assert np.max(np.abs(exact_em / exact_sde - 1)) < 0.02  # EM at lr/4 is close to the SDE itself
    lhs, rhs, avg, bound = TC.scheduled_gradient_identity(lr, h, sig, om, 1, 1.0, s)
    assert lhs == pytest.approx(rhs, rel=1e-9)
    assert avg <= bound < 4 * avg
    longer = TC.scheduled_gradient_identity(lr, h, sig, om, 1, 1.0, 1 / np.sqrt(np.arange(4 * K) + 1.0))
    assert longer[3] < bound and longer[2] < avg
