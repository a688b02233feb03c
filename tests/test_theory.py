"""Theory: every derivation runs in sympy inside the test; simulations are held to the results."""
import math

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from methods import compressors as C, landscapes as L, noise as N, optimizers as O, simulate
from theory import closed_forms as CF, modified as M, scaling as SC, stability as ST
from theory.landscape import from_sympy, l0l1_constant
from conftest import assert_mc_close


# ------------------------------------------------------------------ modified equations
def test_corrected_coefficient_is_plus_half():
    res = M.match_loss_drift(*M.sgd_increment_moments())
    assert res.alpha == sp.Rational(1, 2)
    assert sp.simplify(res.loss_drift_sde - res.loss_drift_discrete) == 0
    assert "alpha = 1/2" in str(res) and "f''" in str(res)


def test_dcsgd_corrected_coefficient_is_plus_half():
    assert M.match_loss_drift(*M.dcsgd_increment_moments(), rule="DCSGD").alpha == sp.Rational(1, 2)


def test_second_order_sme_has_the_wrong_loss_drift_sign():
    li = M.match_one_step_weak()
    assert li.alpha == -sp.Rational(1, 2)
    # the O(eta) curvature terms of the two loss drifts are opposite
    sde_term = sp.expand(li.loss_drift_sde).coeff(M.eta, 1)
    disc_term = sp.expand(li.loss_drift_discrete).coeff(M.eta, 1)
    assert sp.simplify(sde_term + disc_term) == 0 and sde_term != 0


def test_sign_correction_is_not_the_candidate_in_general():
    exact, gap = M.sign_loss_drift_correction()
    assert gap != 0  # the spec's candidate (eta/2) f'' m is UNSURE: it differs unless m is proportional to f'
    m = sp.erf(M.d(1) / (sp.sqrt(2) * M.sigma))
    assert sp.simplify(exact - M.eta / 2 * M.d(2) * m**2 / M.d(1)) == 0


# ------------------------------------------------------------------ stability
def test_quadratic_regions():
    lam = ST.lam
    assert ST.gd_quadratic_region().subs(lam, 4) == sp.Interval.open(0, sp.Rational(1, 2))
    assert ST.model_quadratic_region("corrected").subs(lam, 4) == sp.Interval.open(0, sp.Rational(1, 2))
    for kind in ("classic", "second_order"):
        assert ST.model_quadratic_region(kind) == sp.Interval.open(0, sp.oo)


def test_quartic_regions():
    assert ST.gd_quartic_region() == sp.Interval.open(0, 2)
    for kind in ("classic", "second_order"):
        assert ST.model_quartic_region(kind)[0] == sp.Interval.open(0, sp.oo)
    region, drift = ST.corrected_quartic_region()
    assert region == sp.Interval.open(0, sp.Rational(2, 3))
    assert sp.expand(drift - (-ST.x**6 + sp.Rational(3, 2) * ST.eta * ST.x**8)) == 0


def test_dcsgd_ceiling_limits():
    e = ST.dcsgd_step_ceiling()
    zero = {s: 0 for s in e.free_symbols if s.name in ("L1", "omega", "s0", "s1", "s0w", "s1w")}
    L0, eps = [s for s in e.free_symbols if s.name == "L0"][0], [s for s in e.free_symbols if s.name == "epsilon"][0]
    assert sp.simplify(e.subs(zero) - 2 * eps / L0) == 0  # GD's 2/L0 (times epsilon) is recovered
    # the classic-SDE ceiling has no constraint there: its denominator vanishes (spec l0l1 Table 2)
    classic = ST.dcsgd_step_ceiling(corrected=False)
    assert sp.simplify(sp.fraction(sp.together(classic))[1].subs(zero)) == 0


# ------------------------------------------------------------------ scaling rules
@pytest.mark.parametrize("model,rule,ok,factor", [
    (SC.dsgd(), "linear", True, 1),
    (SC.dsgd(), "square_root_sign", False, None),
    (SC.dsgd(), "agents_linear", True, 1),
    (SC.dsignsgd_phase3(), "square_root_sign", True, SC.kappa),
    (SC.dsignsgd_phase3(), "linear", False, None),
    (SC.dsignsgd_phase3(), "agents_linear", True, 1),
    (SC.malladi_rmsprop(), "malladi_square_root", True, 1),
    (SC.malladi_rmsprop(), "linear", False, None),
    (SC.malladi_adam(), "malladi_square_root", True, 1),
    (SC.malladi_adam(), "square_root_sign", False, None),
], ids=lambda v: getattr(v, "name", str(v)))
def test_scaling_rules(model, rule, ok, factor):
    v = SC.check(model, SC.RULES[rule])
    assert v.invariant == ok, str(v)
    if ok:
        assert sp.simplify(v.time_factor - factor) == 0


# ------------------------------------------------------------------ closed forms vs the spec's numbers
def test_closed_forms_reproduce_spec_values():
    assert CF.sgd_stationary_variance(0.01, 1.0, 1.0) == pytest.approx(0.005025, abs=1e-6)         # adaptive 7.2
    assert CF.rmspropw_stationary_variance(0.01, 1.0, 1.0, 1.0) == pytest.approx(0.0025)            # adaptive 4.4
    assert CF.adamw_stationary_variance(0.01, 1.0, 1.0, 1.0, 1.0) == pytest.approx(0.00125)         # adaptive 4.5
    assert CF.adamw_stationary_variance(0.01, 1.0, 1.0, 10.0, 1.0) == pytest.approx(0.0022727, abs=1e-7)
    assert CF.dsignsgd_floor(0.003, 3, [0.5, 1, 2, 1.5], 4) == pytest.approx(0.00067679, rel=1e-4)  # compression V2
    assert CF.dsignsgd_floor(0.003, 3, [0.5, 1, 2, 1.5], 4, nu=1) == pytest.approx(0.00084823, rel=1e-4)
    assert CF.crossover_sigma(0.0) == pytest.approx(math.sqrt(math.pi / 2))
    d_exact = CF.dcsgd_stationary_second_moment(0.01, [1, 2, 4], [0.5, 1, 2, 1.5], 1.0, 4)
    assert np.all(d_exact > CF.dcsgd_stationary_second_moment(0.01, [1, 2, 4], [0.5, 1, 2, 1.5], 1.0, 4, discrete=False))


def test_general_quadratic_stationary_covariance():
    f = L.Quadratic.random(3, condition=5.0, seed=3)
    Sig = np.diag([0.3, 0.6, 0.9]) ** 2
    eta = 0.05
    C = CF.sgd_stationary_covariance(f.H, Sig, eta)
    Cs = CF.sgd_stationary_covariance(f.H, Sig, eta, discrete=False)
    np.testing.assert_allclose(f.H @ Cs + Cs @ f.H, eta * Sig, atol=1e-14)  # SDE Lyapunov equation
    A = np.eye(3) - eta * f.H
    np.testing.assert_allclose(A @ C @ A.T + eta**2 * Sig, C, atol=1e-14)     # discrete recursion
    r = simulate(f, O.SGD(lr=eta), N.Gaussian([0.3, 0.6, 0.9]), x0=0.0, steps=4000, paths=512, seed=7,
                 save_every=10, record_iterates=True)
    sel = r.t >= 20.0
    X = r.iterates[sel]                                    # (n_save, paths, d)
    per_path = np.einsum("spi,spj->pij", X, X) / X.shape[0]  # time-averaged x x^T per path
    m = per_path.mean(0)
    se = per_path.std(0, ddof=1) / math.sqrt(per_path.shape[0])
    assert_mc_close(m, C, se, z=4.5, what="stationary covariance")


# ------------------------------------------------------------------ sympy landscapes
def test_from_sympy_matches_builtin_quartic():
    x1, x2 = sp.symbols("x1 x2")
    f = from_sympy(x1**4 / 4 + x2**4 / 4, [x1, x2], L0=3, L1=3)
    q = L.Quartic(2)
    x = np.array([0.7, -1.3])
    assert f.f(x) == pytest.approx(q.f(x))
    np.testing.assert_allclose(f.hessian(x), q.hessian(x))
    a = simulate(f, O.SGD(lr=0.01), N.Gaussian(0.1), x0=1.0, steps=50, paths=64, seed=0)
    b = simulate(q, O.SGD(lr=0.01), N.Gaussian(0.1), x0=1.0, steps=50, paths=64, seed=0)
    np.testing.assert_allclose(a.loss, b.loss, rtol=1e-12)


def test_l0l1_constants():
    t = sp.Symbol("t")
    g = from_sympy(t**4, [t])
    exact = l0l1_constant(g, 3.0, exact=True)   # sup 12 t^2 - 12 |t|^3 = 16/9 at |t| = 2/3
    assert exact == pytest.approx(16 / 9)
    assert l0l1_constant(g, 3.0, radius=2.0, n=4000) <= exact + 1e-9
    x1, x2 = sp.symbols("x1 x2")
    c = from_sympy(sp.cosh(x1) + sp.cosh(x2), [x1, x2])
    assert l0l1_constant(c, 1.0, n=2000) <= 1.0  # SumCosh declares (1, 1)
    with pytest.raises(ValueError, match="expr has symbols"):
        from_sympy(x1 + x2, [x1])


# ------------------------------------------------------------------ property tests
FAST = settings(max_examples=4, deadline=None, derandomize=True)


@FAST
@given(d=st.integers(1, 3), lam=st.floats(0.5, 4.0), sigma=st.floats(0.2, 2.0), eta=st.floats(0.005, 0.05))
def test_sgd_stationary_matches_closed_form(d, lam, sigma, eta):
    h = np.linspace(lam, 2 * lam, d)
    r = simulate(L.DiagonalQuadratic(h), O.SGD(lr=eta), N.Gaussian(sigma), x0=0.0, steps=int(40 / (eta * h.min())),
                 paths=256, seed=1, save_every=10)
    m, se = r.time_average(after=r.t[-1] / 4)
    expect = CF.loss_from_variances(h, CF.sgd_stationary_variance(eta, h, sigma))
    assert_mc_close(m, expect, se, what="SGD stationary E f")


@FAST
@given(agents=st.integers(1, 4), p=st.floats(0.25, 1.0), sigma=st.floats(0.3, 1.5), eta=st.floats(0.005, 0.03))
def test_dcsgd_stationary_matches_closed_form(agents, p, sigma, eta):
    h = np.array([1.0, 2.0])
    omega = 1 / p - 1
    r = simulate(L.DiagonalQuadratic(h), O.DCSGD(lr=eta, agents=agents, compressor=C.Bernoulli(p)), N.Gaussian(sigma),
                 x0=0.0, steps=int(40 / eta), paths=256, seed=2, save_every=10)
    m, se = r.time_average(after=r.t[-1] / 4)
    expect = CF.loss_from_variances(h, CF.dcsgd_stationary_second_moment(eta, h, [sigma] * agents, omega, agents))
    assert_mc_close(m, expect, se, what="DCSGD stationary E f")


@FAST
@given(mu=st.floats(0.5, 2.0), kappa=st.floats(1.0, 4.0), sigma=st.floats(0.1, 1.0), eta=st.floats(0.005, 0.05),
       x0=st.floats(0.5, 2.0))
def test_sgd_expected_loss_stays_under_pl_bound(mu, kappa, sigma, eta, x0):
    """Quadratic with curvatures in [mu, kappa mu] is mu-PL and L-smooth (L = kappa mu)."""
    h = np.array([mu, kappa * mu])
    f = L.DiagonalQuadratic(h)
    r = simulate(f, O.SGD(lr=eta), N.Gaussian(sigma), x0=x0, steps=int(6 / eta), paths=512, seed=3)
    bound = CF.sgd_pl_bound(r.t, f.f(np.full(2, x0)), mu, h.max(), 2, sigma, eta)
    assert np.all(r.mean() <= bound + 4 * r.stderr() + 1e-12)


@FAST
@given(agents=st.integers(1, 4), p=st.floats(0.3, 1.0), sigma=st.floats(0.1, 1.0), eta=st.floats(0.005, 0.03))
def test_dcsgd_expected_loss_stays_under_pl_bound(agents, p, sigma, eta):
    h = np.array([1.0, 3.0])
    f = L.DiagonalQuadratic(h)
    omega = 1 / p - 1
    r = simulate(f, O.DCSGD(lr=eta, agents=agents, compressor=C.Bernoulli(p)), N.Gaussian(sigma), x0=1.0,
                 steps=int(6 / eta), paths=512, seed=4)
    bound = CF.dcsgd_pl_bound(r.t, f.f(np.ones(2)), 1.0, 3.0, 2, sigma, omega, agents, eta)
    assert np.all(r.mean() <= bound + 4 * r.stderr() + 1e-12)


@FAST
@given(nu=st.sampled_from([1.0, 1.5, 2.0, 3.0, 5.0]), agents=st.integers(1, 4), sigma=st.floats(1.0, 2.0),
       lam=st.floats(0.5, 2.0))
def test_dsignsgd_stationary_matches_phase3_closed_form(nu, agents, sigma, lam):
    """Phase-3 stationary variance of DSignSGD under Student-t noise, any nu. The range keeps
    eta lam / sigma <= 0.006, where the linearisation's own bias (measured <= 1.6%, see
    test_engine_closed_forms) stays under two of this test's ~1% standard errors."""
    eta = 0.003
    r = simulate(L.DiagonalQuadratic([lam]), O.DSignSGD(lr=eta, agents=agents), N.StudentT(nu, sigma), x0=0.0,
                 steps=int(12 / (eta * lam)), paths=256, seed=5, save_every=20, record_iterates=True)
    m, se = r.time_average("x2_0", after=r.t[-1] / 4)
    assert_mc_close(m, CF.sign_stationary_variance(eta, lam, [sigma] * agents, agents=agents, nu=nu), se,
                    what="DSignSGD stationary variance")


def test_nonconvex_and_l0l1_bounds_hold_in_simulation():
    """SGD on a quadratic: the time-averaged E||grad f||^2 respects the L-smooth non-convex bound,
    and the (L0,L1) bound (L1 = 0 here) with a constant step under the Theorem-4.2 ceiling."""
    h = np.array([1.0, 3.0])
    f = L.DiagonalQuadratic(h)
    eta, sigma, T = 0.02, 0.5, 10.0
    r = simulate(f, O.SGD(lr=eta), N.Gaussian(sigma), x0=1.0, steps=int(T / eta), paths=512, seed=6, save_every=1)
    g2 = (r.grad_norm[:-1] ** 2).mean(0)   # uniform time average along each path
    m, se = g2.mean(), g2.std(ddof=1) / math.sqrt(g2.size)
    assert m <= CF.dcsgd_nonconvex_bound(T, f.f(np.ones(2)), 3.0, 2, sigma, 0.0, 1, eta) + 4 * se
    assert m <= CF.l0l1_dcsgd_gradient_bound(f.f(np.ones(2)), 3.0, 0.0, 2, 1, eta, T, T, sigma0=sigma) + 4 * se


SLOW = settings(max_examples=40, deadline=None)


@pytest.mark.slow
@SLOW
@given(d=st.integers(1, 4), lam=st.floats(0.5, 4.0), sigma=st.floats(0.2, 2.0), eta=st.floats(0.005, 0.05))
def test_sgd_stationary_matches_closed_form_long(d, lam, sigma, eta):
    test_sgd_stationary_matches_closed_form.hypothesis.inner_test(d, lam, sigma, eta)
