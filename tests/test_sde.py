"""SDE models and the Euler-Maruyama integrator against closed forms (issue: SDE models)."""
import math

import numpy as np
import pytest
from numba import njit

import sde
from methods import compressors as C, landscapes as L, noise as N, optimizers as O, simulate
from sde.convergence import em_order, gbm
from sde.special import sign_mean_gauss, sign_mean_t, slope
from conftest import assert_mc_close, elementwise_against
from scipy import special, stats


def test_em_orders_on_gbm():
    """Strong order 1/2 on a diffusion-dominated GBM, weak order 1 on a drift-dominated one,
    both within +-0.15 (the fits' 95% intervals are printed on failure)."""
    strong, _ = em_order(gbm(mu=1.0, sigma=1.0), levels=(16, 32, 64, 128, 256), paths=20_000, seed=0)
    assert abs(strong.order - 0.5) <= 0.15, strong
    _, weak = em_order(gbm(mu=2.0, sigma=0.5), levels=(16, 32, 64, 128, 256), paths=20_000, seed=0)
    assert abs(weak.order - 1.0) <= 0.15, weak
    # the coupled weak-error estimate agrees with EM's exact mean error e^mu - (1 + mu h)^n
    n = np.array([16, 32, 64, 128, 256])
    assert_mc_close(weak.error, np.exp(2.0) - (1 + 2.0 / n) ** n, weak.stderr, what="EM weak error")


def test_erf_against_scipy():
    """The branch-free erf of sde.special (Cody's rational forms, its own exp) against Cephes' erf
    (scipy) on the whole real line, to the bound its docstring states (2e-14 relative): a dense grid
    of [-10, 10] (the switch at 0.46875 and the clamp at 6 inside it), a geometric grid of
    +-[1e-307, 10], and 0, -0, +-inf, NaN."""
    from sde.special import ERF_MAX_REL_ERROR, erf

    g = np.geomspace(1e-307, 10.0, 100_001)
    x = np.concatenate([np.linspace(-10, 10, 1_000_001), g, -g, [0.46875, -0.46875, 6.0, 0.0, -0.0, np.inf, -np.inf]])
    _, rel = elementwise_against(erf, x, special.erf(x))
    assert ERF_MAX_REL_ERROR == 2e-14 and rel.max() < ERF_MAX_REL_ERROR, (rel.max(), x[rel.argmax()])


def test_erf_small_is_erf_bit_for_bit():
    """``erf_small`` (Cody's small-argument form alone, the sign SDE's fast path) gives erf's bits
    wherever it is used, |x| <= 0.46875: a dense grid, a geometric one down to subnormals, the
    boundary, +-0; and the sign step's test, the masked bit pattern of ``x`` at most
    ``ERF_SMALL_KEY``, holds exactly for those ``x`` (negative ones, +-inf and NaN included)."""
    from sde.special import ERF_SMALL, ERF_SMALL_KEY, erf, erf_small

    g = np.geomspace(1e-320, ERF_SMALL, 20_001)
    x = np.concatenate([np.linspace(-ERF_SMALL, ERF_SMALL, 200_001), g, -g, [0.0, -0.0]])
    fast, _ = elementwise_against(erf_small, x, special.erf(x))
    full, _ = elementwise_against(erf, x, special.erf(x))
    assert np.array_equal(fast.view(np.int64), full.view(np.int64))
    edge = np.nextafter(ERF_SMALL, 1.0)
    probe = np.array([0.0, -0.0, ERF_SMALL, -ERF_SMALL, edge, -edge, 0.5, -3.0, np.inf, -np.inf, np.nan, -np.nan])
    small = (probe.view(np.int64) & 0x7FFFFFFFFFFFFFFF) <= ERF_SMALL_KEY
    assert np.array_equal(small, np.abs(probe) <= ERF_SMALL)


_CALLERS: dict = {}


def _one_step_caller(step):
    """A compiled ``one(y, z, p, lp, work, dt, s)`` calling ``step`` once at ``t = 0``, one per step
    kernel (compiled once for the parametrisations below, not once per case)."""
    if step not in _CALLERS:
        @njit(error_model="numpy")
        def one(y, z, p, lp, work, dt, s):
            step(0.0, y, dt, z, s, p, lp, work)

        _CALLERS[step] = one
    return _CALLERS[step]


def _erf_both():
    """A compiled ``both(u, full, fast)``: ``erf`` and ``erf_small`` of sde.special elementwise."""
    if "erf" not in _CALLERS:
        from sde.special import erf, erf_small

        @njit(error_model="numpy")
        def both(u, full, fast):
            for j in range(u.shape[0]):
                full[j] = erf(u[j])
                fast[j] = erf_small(u[j])

        _CALLERS["erf"] = both
    return _CALLERS["erf"]


@pytest.mark.parametrize("agents", [1, 3])
@pytest.mark.parametrize("where", ["all-small", "at-edge", "one-large", "one-large-negative", "just-above-negative",
                                   "all-large", "nan"])
def test_sign_sde_step_small_argument_path(where, agents):
    """The Gaussian (D)SignSGD SDE's step (classic) takes erf's small-argument form alone when every
    agent's |grad_j / (sqrt2 sigma_ij)| <= 0.46875 and the full erf otherwise (one agent: inside the
    step; several: ``means``): either way the step is the formula
    ``y + ((-s m) dt + sqrt(dt) s sqrt(eta/N) sqrt(max(1 - m2, 0)) z)`` with ``m, m2`` the agents'
    means of ``erf(u_ij)`` and ``erf(u_ij)^2`` (summed in agent order), bit for bit (the erf of
    sde.special, elementwise). The states put every argument inside, the last agent's last one
    exactly at 0.46875, at the next float beyond it (negative) or at +-0.5 (the two forms give
    different bits there, so a path taken wrongly shows; ``dt s = 1`` so that an ulp of ``m`` moves
    ``y``), or every argument beyond; NaN propagates."""
    from sde.special import ERF_SMALL

    d, lr, dt, s = 24, 0.01, 1.0, 1.0
    rng = np.random.default_rng(1)
    lam, sig = rng.uniform(1.0, 4.0, d), rng.uniform(0.5, 2.0, (agents, d))
    lam[-1] = 1.0
    f = L.DiagonalQuadratic(lam)
    opt = O.SignSGD(lr=lr) if agents == 1 else O.DSignSGD(lr=lr, agents=agents)
    m = sde.model(opt, f, N.Gaussian(sig if agents > 1 else sig[0]))
    p = m.params.copy()
    inv = p[6 + agents * d:6 + 2 * agents * d].reshape(agents, d)  # a view: edits go into p
    inv[-1, -1] = 1.0  # the last agent's last argument is y[-1] itself, exactly
    inv[:-1, -1] = 0.5  # the other agents' stay within the small range when the last one is at the edge
    u_last = rng.uniform(-0.46, 0.46, d)
    if where == "all-large":
        u_last = rng.uniform(0.5, 3.0, d) * rng.choice([-1, 1], d)
    u_last[-1] = {"at-edge": ERF_SMALL, "one-large": 0.5, "one-large-negative": -0.5,
                  "just-above-negative": -np.nextafter(ERF_SMALL, 1.0), "nan": np.nan}.get(where, u_last[-1])
    y = u_last / (lam * inv[-1])
    y[-1] = u_last[-1]
    if where != "all-large":  # the other agents' arguments (larger sigma) inside the small range too
        inv[:-1, :-1] = np.minimum(inv[:-1, :-1], 0.46 / np.abs(lam[:-1] * y[:-1]))
    z = rng.normal(size=d)
    out = y.copy()
    _one_step_caller(m.step)(out, z, p, np.ascontiguousarray(f.params()), np.zeros(m.work_size), dt, s)
    u = (lam * (y - 0.0)) * inv  # (agents, d): the products the step forms
    full, small = np.empty_like(u), np.empty_like(u)
    _erf_both()(u.ravel(), full.reshape(-1), small.reshape(-1))
    if agents == 1:
        mean, mean2 = full[0], full[0] * full[0]
    else:
        mean, mean2 = np.zeros(d), np.zeros(d)
        for i in range(agents):
            mean = mean + full[i]
            mean2 = mean2 + full[i] * full[i]
        mean, mean2 = mean / agents, mean2 / agents
    scale = s * math.sqrt(p[0] / p[1])
    want = y + ((-s * mean) * dt + math.sqrt(dt) * (scale * np.sqrt(np.maximum(1.0 - mean2, 0.0))) * z)
    assert np.array_equal(out, want, equal_nan=True), np.abs(out - want).max()
    # the states are what they claim: inside (the fast path's bits are erf's), or one beyond where
    # the small form alone would give other bits
    inside = np.all(np.abs(u) <= ERF_SMALL)
    assert inside == (where in ("all-small", "at-edge"))
    if where in ("one-large", "one-large-negative", "just-above-negative"):
        assert small[-1, -1] != full[-1, -1]


def test_erf_erfc_exp_against_mpmath():
    """The branch-free erf and erfc of sde.gauss_tails (Cody's three forms, one division) and e^(-x^2),
    against mpmath at 40 digits, to the stated 2e-15 relative wherever the value is a normal number:
    a grid of [0, 26.5] through both switch points (0.46875, 4) and a geometric one from 1e-300;
    exp_neg_any on [0, 745] (1e-15) and into the subnormals; NaN gives NaN and +inf gives 0."""
    import mpmath

    from sde.gauss_tails import ERFC_MAX_REL_ERROR, erf_erfc_exp, exp_neg_any

    x = np.unique(np.concatenate([np.linspace(0.0, 26.5, 2001), np.geomspace(1e-300, 1.0, 200),
                                  [0.46875, np.nextafter(0.46875, 1), 4.0, np.nextafter(4.0, 5)]]))
    r, q, e = np.empty_like(x), np.empty_like(x), np.empty_like(x)

    @njit(error_model="numpy")
    def many(x, r, q, e):
        for i in range(x.shape[0]):
            r[i], q[i], e[i] = erf_erfc_exp(x[i])

    many(x, r, q, e)
    with mpmath.workdps(40):
        ref_r = np.array([float(mpmath.erf(mpmath.mpf(v))) for v in x])
        ref_q = np.array([float(mpmath.erfc(mpmath.mpf(v))) for v in x])
        ref_e = np.array([float(mpmath.exp(-mpmath.mpf(v) ** 2)) for v in x])
    for got, ref in ((r, ref_r), (q, ref_q), (e, ref_e)):
        ok = ref > np.finfo(float).tiny
        rel = np.abs(got[ok] - ref[ok]) / ref[ok]
        assert ERFC_MAX_REL_ERROR == 2e-15 and rel.max() < ERFC_MAX_REL_ERROR, (rel.max(), x[ok][rel.argmax()])
    special_in = np.array([np.nan, np.inf])
    rs, qs, es = np.empty(2), np.empty(2), np.empty(2)
    many(special_in, rs, qs, es)
    assert np.isnan(rs[0]) and np.isnan(qs[0]) and np.isnan(es[0]) and rs[1] == 1.0 and qs[1] == 0.0 and es[1] == 0.0
    y = np.linspace(0.0, 745.0, 1491)
    out = np.empty_like(y)

    @njit(error_model="numpy")
    def exps(y, out):
        for i in range(y.shape[0]):
            out[i] = exp_neg_any(y[i])

    exps(y, out)
    with mpmath.workdps(40):
        ref = np.array([float(mpmath.exp(-mpmath.mpf(v))) for v in y])
    ok = ref > np.finfo(float).tiny
    assert (np.abs(out[ok] - ref[ok]) / ref[ok]).max() < 1e-15  # the bound exp_neg_any's docstring states
    edge = np.array([744.0, 745.0, 746.0, 800.0])  # subnormal results, then 0 from the clamp
    exps(edge, out[:4])
    assert 0.0 < out[0] < np.finfo(float).tiny and out[1] == 5e-324 and out[2] == 0.0 and out[3] == 0.0


def test_atan_against_numpy():
    """The branch-free arctan of sde.special (Cephes' reductions by selects; Cauchy's mean sign)
    against numpy's on the whole real line, to its stated 1e-15 relative: a dense grid of
    [-10, 10] (both reduction points inside), +-[1e-307, 1e300] geometrically, 0, -0, +-inf."""
    from sde.special import ATAN_MAX_REL_ERROR, atan, sign_mean_cauchy

    g = np.geomspace(1e-307, 1e300, 100_001)
    x = np.concatenate([np.linspace(-10, 10, 1_000_001), g, -g, [0.66, 2.414213562373095, 0.0, -0.0, np.inf, -np.inf]])
    _, rel = elementwise_against(atan, x, np.arctan(x))
    assert ATAN_MAX_REL_ERROR == 1e-15 and rel.max() < ATAN_MAX_REL_ERROR, (rel.max(), x[rel.argmax()])
    assert sign_mean_cauchy(1.0) == pytest.approx(0.5, rel=1e-15)


_FAST_NUS = (1, 2, 3, 4, 7, 16, 30)


@pytest.mark.parametrize("nus", [pytest.param(_FAST_NUS, id="fast-nus"),
                                 pytest.param(None, id="all-nus", marks=pytest.mark.slow)])
def test_integer_t_sign_means_against_scipy(nus):
    """The closed forms of E sign(y + T), T ~ t_nu, for integer nu in 1..30 (A&S 26.7.3/26.7.4,
    unrolled, branch-free) against scipy to their stated 1e-14 relative: sign(y) I_{y^2/(nu+y^2)}(1/2,
    nu/2) (no cancellation near 0) for |y| <= 1, 1 - 2 stdtr(nu, -|y|) beyond; y on [-1e3, 1e3]
    and +-[1e-150, 1e3] geometrically. Every nu is the slow case (each nu compiles its own form); the
    quick one takes both ends, the small nu where the unrolled sums are shortest and a spread beyond."""
    from sde.special import T_INT_MAX_NU, T_INT_MAX_REL_ERROR, sign_mean_t_int_for

    g = np.geomspace(1e-150, 1e3, 2001)
    y = np.concatenate([np.linspace(-1000, 1000, 20_001), np.linspace(-10, 10, 20_001), g, -g, [0.0]])
    for nu in (range(1, T_INT_MAX_NU + 1) if nus is None else nus):
        fn = sign_mean_t_int_for(nu)

        @njit
        def many(x, out):
            for i in range(x.shape[0]):
                out[i] = fn(x[i])

        out = np.empty_like(y)
        many(y, out)
        ref = np.where(np.abs(y) <= 1, np.sign(y) * special.betainc(0.5, nu / 2, y * y / (nu + y * y)),
                       np.sign(y) * (1 - 2 * special.stdtr(nu, -np.abs(y))))
        rel = np.abs(out - ref) / np.maximum(np.abs(ref), 1e-300)
        assert rel.max() < T_INT_MAX_REL_ERROR, (nu, rel.max(), y[rel.argmax()])


@pytest.mark.parametrize("nus", [pytest.param((0.3, 2.5, 45.5), id="fast-nus"),
                                 pytest.param((0.5, 1.5, 3.7, 7.5, 31.0, 200.0, 1000.0), id="more-nus",
                                              marks=pytest.mark.slow)])
def test_tabulated_t_sign_means_against_scipy(nus):
    """The per-nu table of E sign(y + T), T ~ t_nu (any nu up to 1000: quintic Hermite pieces, then
    the incomplete beta's tail series) against scipy to its stated absolute error 1e-13, and 1e-12
    relative for |y| >= 1e-150: sign(y) I_{y^2/(nu+y^2)}(1/2, nu/2) for y^2 <= nu, sign(y) (1 -
    I_{nu/(nu+y^2)}(nu/2, 1/2)) beyond (each without cancellation); y on [-50, 50] densely and on
    [-120, 120] (the table's pieces and its end, at y = 95 for nu = 1000), +-[1e-150, 1e6]
    geometrically (the tail); +-inf give +-1, NaN NaN."""
    from sde.special import T_TABLE_MAX_ABS_ERROR, sign_mean_t_table_for

    g = np.geomspace(1e-150, 1e6, 4001)
    y = np.concatenate([np.linspace(-50, 50, 100_001), np.linspace(-120, 120, 48_001), g, -g, [0.0]])
    for nu in nus:
        fn = sign_mean_t_table_for(nu)
        with np.errstate(all="ignore"):
            ref = np.sign(y) * np.where(y * y <= nu, special.betainc(0.5, nu / 2, y * y / (nu + y * y)),
                                        1.0 - special.betainc(nu / 2, 0.5, nu / (nu + y * y)))
        out, rel = elementwise_against(fn, y, ref)
        err = np.abs(out - ref)
        assert err.max() < T_TABLE_MAX_ABS_ERROR, (nu, err.max(), y[err.argmax()])
        assert rel[ref != 0].max() < 1e-12, (nu, rel[ref != 0].max())
        ends, _ = elementwise_against(fn, np.array([np.inf, -np.inf]), np.array([1.0, -1.0]))
        assert ends[0] == 1.0 and ends[1] == -1.0
        nan, _ = elementwise_against(fn, np.array([np.nan]), np.array([np.nan]))
        assert np.isnan(nan[0])
    with pytest.raises(ValueError, match="nu"):
        sign_mean_t_table_for(0.0)


def test_sign_mean_functions():
    """The compiled mean signs against forms that do not share their code: Cephes' erf (scipy) for
    the branch-free erf (to its stated 2e-14); for the t law (compiled: scipy's stdtr) the
    Abramowitz-Stegun closed forms 26.7.3/26.7.4 for integer nu and quadrature of the t density
    otherwise."""
    from scipy import integrate
    from theory.adaptive import student_t_sign_mean

    y = np.linspace(-4, 4, 17)
    np.testing.assert_allclose([sign_mean_gauss(v) for v in y], special.erf(y / math.sqrt(2)), rtol=2e-14)
    for nu in (1, 2, 3, 30):
        np.testing.assert_allclose([sign_mean_t(float(nu), v) for v in y], student_t_sign_mean(nu, y), rtol=1e-12,
                                   atol=1e-14)
    for nu in (0.5, 3.7):
        k = math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(nu * math.pi)
        quad = [2 * integrate.quad(lambda x: k * (1 + x * x / nu) ** (-(nu + 1) / 2), 0, v)[0] for v in y]
        np.testing.assert_allclose([sign_mean_t(nu, v) for v in y], quad, rtol=1e-9, atol=1e-12)
    assert slope(1.0) == pytest.approx(2 / math.pi) and slope(math.inf) == pytest.approx(math.sqrt(2 / math.pi))
    assert slope(3.0) == pytest.approx(0.735105, abs=1e-6)


@pytest.mark.parametrize("law", ["gauss", "t1", "t5"])
def test_signsgd_stationary_variance(law):
    """Spec adaptive 4.3 / 7.5 (phase 3): Var X_inf = (eta/2) sigma / (c lambda), c = sqrt(2/pi)
    (Gaussian) or c_nu. EM with dt = eta / 4; the linearisation bias is below 1% here (spec 7.5)."""
    eta, lam, sig = 0.01, 1.0, 1.0
    nz = {"gauss": N.Gaussian(sig), "t1": N.StudentT(1.0, sig), "t5": N.StudentT(5.0, sig)}[law]
    c = slope(math.inf if law == "gauss" else float(law[1]))
    m = sde.model(O.SignSGD(lr=eta), L.DiagonalQuadratic([lam]), nz)
    r = sde.integrate(m, x0=0.0, t_end=40.0, paths=1024, seed=2, refine=4, record_iterates=True, save_every=10)
    v, se = r.time_average("x2_0", after=5.0)
    assert_mc_close(v, eta * sig / (2 * c * lam), se, what=f"SignSGD SDE stationary variance ({law})")


def test_dcsgd_sde_floor():
    """Spec compression 5.5 (SDE form, derived): Bernoulli compressors, heterogeneous agents,
    E f_inf = eta (1 + omega) mean(sigma^2) / (2N) sum_j 1 / (2 - eta omega h_j / N)."""
    h = np.array([1.0, 2.0, 4.0])
    sig = np.array([0.5, 1.0, 2.0, 1.5])[:, None]
    eta, N_, p = 0.02, 4, 0.25
    omega = 1 / p - 1
    m = sde.model(O.DCSGD(lr=eta, agents=N_, compressor=C.Bernoulli(p)), L.DiagonalQuadratic(h), N.Gaussian(sig))
    r = sde.integrate(m, x0=[2.0, -1.5, 1.0], t_end=40.0, paths=1024, seed=3, refine=8, save_every=10)
    val, se = r.time_average(after=8.0)
    sde_floor = eta * (1 + omega) * np.mean(sig**2) / (2 * N_) * np.sum(1 / (2 - eta * omega * h / N_))
    assert_mc_close(val, sde_floor, se, what="DCSGD SDE floor")


def test_dcsgd_randk_full_diffusion_matches_discrete():
    """Rand-k's non-diagonal compressor covariance: with dt = eta the EM chain has the discrete
    method's first two moments, so stationary E f must agree with the discrete run."""
    f = L.DiagonalQuadratic([1.0, 2.0, 3.0])
    opt = O.DCSGD(lr=0.02, agents=2, compressor=C.RandK(1))
    nz = N.Gaussian(0.7)
    rs = sde.integrate(sde.model(opt, f, nz), x0=0.5, t_end=30.0, paths=1024, seed=4, save_every=10)
    rd = simulate(f, opt, nz, x0=0.5, steps=1500, paths=1024, seed=5, save_every=10)
    a, sa = rs.time_average(after=6.0)
    b, sb = rd.time_average(after=6.0)
    assert_mc_close(a, b, math.hypot(sa, sb), what="rand-k SDE vs discrete")


@pytest.mark.parametrize("law", ["gauss", "t1"])
def test_dsignsgd_sde_floor(law):
    """Spec compression 5.5: E f_inf ~ eta d sigma_H / (4 N c) for DSignSGD's SDE (phase 3)."""
    h = np.array([1.0, 2.0, 4.0])
    sig = np.array([0.5, 1.0, 2.0, 1.5])
    eta, N_ = 0.003, 4
    nz = N.Gaussian(sig[:, None]) if law == "gauss" else N.StudentT(1.0, sig[:, None])
    c = slope(math.inf if law == "gauss" else 1.0)
    m = sde.model(O.DSignSGD(lr=eta, agents=N_), L.DiagonalQuadratic(h), nz)
    r = sde.integrate(m, x0=[0.2, -0.2, 0.1], t_end=24.0, paths=256, seed=6, save_every=20)
    val, se = r.time_average(after=4.0)
    assert_mc_close(val, eta * 3 / np.mean(1 / sig) / (4 * N_ * c), se, what=f"DSignSGD SDE floor ({law})")


def test_adam_transient_spec_7_8():
    """Spec adaptive 7.8: AdamW (rho1 = 10, rho2 = 1, theta = 0.5, eta = 0.01) on lambda = (1, 4),
    sigma = (0.5, 2): the SDE (EM with the updated M) tracks the discrete E f within Monte Carlo
    error once past the first O(eta) transient, and reaches the stationary 0.0047619 (spec 7.7 form)."""
    f = L.DiagonalQuadratic([1.0, 4.0])
    nz = N.Gaussian([0.5, 2.0])
    opt = O.AdamW.from_rho(lr=0.01, rho1=10.0, rho2=1.0, weight_decay=0.5)
    save = np.array([100, 200, 600])
    rd = simulate(f, opt, nz, x0=1.0, steps=600, paths=8192, seed=0, save_at=save)
    rs = sde.integrate(sde.model(opt, f, nz), x0=1.0, t_end=6.0, paths=8192, seed=1, save_at=save)
    assert_mc_close(rs.mean()[1:], rd.mean()[1:], np.hypot(rs.stderr(), rd.stderr())[1:], what="Adam SDE vs discrete")
    lam, sg, rho1, theta = np.array([1.0, 4.0]), np.array([0.5, 2.0]), 10.0, 0.5
    stationary = 0.01 / 4 * rho1 / (rho1 + theta) * np.sum(lam * sg / (lam + theta * sg))
    assert stationary == pytest.approx(0.0047619, abs=1e-7)
    assert_mc_close(rs.mean()[-1], stationary, rs.stderr()[-1], what="AdamW SDE stationary")


def test_adam_bias_table_is_bit_identical():
    """The per-run table of the Adam SDE's bias factors (``SDEModel.params_for``) holds exactly what
    the step computes without it (two exp per step): the runs agree bit for bit, refined or not."""
    import dataclasses

    f, nz = L.DiagonalQuadratic([1.0, 3.0]), N.Gaussian(0.5)
    for opt, kind, refine in ((O.AdamW(lr=0.01, weight_decay=0.1), "classic", 1), (O.Adam(lr=0.05), "malladi", 3)):
        m = sde.model(opt, f, nz, kind=kind)
        assert m.params_for is not None
        bare = dataclasses.replace(m, params_for=None)
        kw = dict(x0=1.0, t_end=40 * m.time_per_step, paths=64, seed=1, refine=refine, record_iterates=True)
        a, b = sde.integrate(m, **kw), sde.integrate(bare, **kw)
        np.testing.assert_array_equal(a.iterates, b.iterates)
        np.testing.assert_array_equal(a.loss, b.loss)


def test_rmspropw_sde_stationary():
    """Spec adaptive 4.4: E f_inf = (eta/4) lambda sigma / (lambda + theta sigma)."""
    o = O.RMSpropW.from_rho(lr=0.01, rho=1.0, weight_decay=1.0)
    r = sde.integrate(sde.model(o, L.DiagonalQuadratic([1.0]), N.Gaussian(1.0)), x0=0.1, t_end=40.0, paths=2048,
                      seed=2, refine=2)
    val, se = r.time_average(after=10.0)
    assert_mc_close(val, 0.01 / 4 / 2, se, what="RMSpropW SDE stationary")


def test_malladi_rmsprop_stationary():
    """Spec adaptive 3.4 / 7.10: Var X_inf = sigma0^2 / (2 lambda (sigma0 + eps0)) in Malladi's
    scaling; the spec's check uses sigma0 = 0.5, i.e. noise sd 0.5/eta per coordinate."""
    eta, c2, sigma0 = 0.02, 1.0, 0.5
    for eps0, expect in ((0.0, 0.25), (0.5, 0.125)):
        o = O.RMSprop(lr=eta, alpha=1 - c2 * eta**2, eps=eps0 / eta, v0=(sigma0 / eta) ** 2)
        m = sde.model(o, L.DiagonalQuadratic([1.0]), N.Gaussian(sigma0 / eta), kind="malladi")
        assert m.time_per_step == pytest.approx(eta**2)
        r = sde.integrate(m, x0=0.0, t_end=2000 * eta**2 * 10, paths=1024, seed=3, record_iterates=True, save_every=20)
        v, se = r.time_average("x2_0", after=2.0)
        assert_mc_close(v, expect, se, what=f"Malladi RMSprop stationary, eps0={eps0}")


# ----------------------------------------------------------- (L0,L1) stability facts, spec l0l1 4.3
def _gd_flow(kind, f, eta, x0, t_end, refine=200):
    m = sde.model(O.SGD(lr=eta), f, None, kind=kind)
    return sde.integrate(m, x0=x0, t_end=t_end, paths=1, seed=0, refine=refine, save_every=1)


def test_parabola_stability():
    """f = x^2/2 (lambda = 1): GD converges iff eta < 2. Classic and second-order flows converge
    for every eta; the corrected flow f(X_t) = f(X_0) exp(-2 lambda (1 - lambda eta/2) t)
    converges iff eta < 2, like GD."""
    f = L.DiagonalQuadratic([1.0])
    for eta in (0.5, 1.5, 2.5, 4.0):
        gd = simulate(f, O.SGD(lr=eta), None, x0=1.0, steps=20, paths=1, seed=0)
        gd_converges = gd.loss[-1, 0] < gd.loss[0, 0]
        assert gd_converges == (eta < 2)
        for kind in ("classic", "second_order"):
            assert _gd_flow(kind, f, eta, 1.0, 20 * eta).loss[-1, 0] < 1e-6
        corr = _gd_flow("corrected", f, eta, 1.0, 20 * eta)
        assert (corr.loss[-1, 0] < corr.loss[0, 0]) == (eta < 2)
        # EM with dt = eta/200 of dX = -(1 - eta/2) X dt is exactly X_n = (1 - dt (1 - eta/2))^n X_0
        dt = eta / 200
        exact = 0.5 * (1 - dt * (1 - eta / 2)) ** (2 * 200 * corr.step)
        np.testing.assert_allclose(corr.loss[:, 0], exact, rtol=1e-9)


def test_quartic_stability():
    """f = x^4/4: classic and second-order flows converge from anywhere for any eta; the
    corrected flow's loss drift -X^6 + (3 eta/2) X^8 is repulsive once eta X^2 > 2/3."""
    f = L.Quartic(1)
    for eta in (0.1, 1.0):
        for kind in ("classic", "second_order"):
            r = _gd_flow(kind, f, eta, 3.0, 50 * eta, refine=2000)
            assert r.loss[-1, 0] < r.loss[0, 0] and r.diverged == 0
    eta = 0.1
    inside = _gd_flow("corrected", f, eta, 2.0, 5.0, refine=1000)   # eta x0^2 = 0.4 < 2/3
    assert inside.loss[-1, 0] < inside.loss[0, 0]
    outside = _gd_flow("corrected", f, eta, 3.0, 5.0, refine=1000)  # eta x0^2 = 0.9 > 2/3
    assert outside.diverged == 1 or outside.loss[-1, 0] > outside.loss[0, 0]


@pytest.mark.parametrize("build", [
    lambda: sde.model(O.DSignSGD(lr=0.01, agents=3), L.Quartic(3), N.StudentT(1.0, 0.5)),
    lambda: sde.model(O.SignSGD(lr=0.01), L.DiagonalQuadratic([1.0, 2.0, 3.0]), N.Gaussian(0.5)),
    lambda: sde.model(O.SignSGD(lr=0.01), L.DiagonalQuadratic([1.0, 2.0, 3.0]), N.StudentT(3.0, 0.5)),
    lambda: sde.model(O.AdamW(lr=0.01, weight_decay=0.1), L.DiagonalQuadratic([1.0, 2.0, 3.0]), N.Gaussian(0.5)),
    lambda: sde.model(O.RMSprop(lr=0.01, alpha=0.9), L.Quartic(3), N.Gaussian(0.5)),
], ids=["dsign-cauchy", "sign-gauss", "sign-t3", "adamw", "rmsprop"])
def test_integrate_is_thread_count_independent(build):
    m = build()
    a = sde.integrate(m, x0=0.5, t_end=200 * m.time_per_step, paths=200, seed=7, threads=1)
    b = sde.integrate(m, x0=0.5, t_end=200 * m.time_per_step, paths=200, seed=7, threads=2)
    np.testing.assert_array_equal(a.loss, b.loss)
    np.testing.assert_allclose(a.t, np.arange(0, 201, 2) * m.time_per_step)


@pytest.mark.parametrize("f", [L.DiagonalQuadratic([1.0, 2.0, 4.0], center=[0.3, 0.0, -1.0]), L.SumCosh(3)],
                         ids=["diagquad", "sumcosh"])
def test_separable_gradient_fusion_changes_no_bit(f):
    """The classic additive SGD SDE folds a separable landscape's gradient into its update loop
    (``coord_grad``): the numbers are those of the separate gradient pass."""
    unfused = type(f.__class__.__name__ + "Unfused", (f.__class__,),
                   {"kernels": f.kernels._replace(coord_grad=None)})
    g = unfused(**{k: getattr(f, k) for k in f.__dataclass_fields__ if k != "kernels"})
    opt, nz = O.SGD(lr=0.05), N.Gaussian([0.5, 1.0, 2.0])
    for kind in ("classic", "corrected"):
        a = sde.integrate(sde.model(opt, f, nz, kind=kind), x0=0.5, t_end=1.0, paths=130, seed=3,
                          record_iterates=True)
        b = sde.integrate(sde.model(opt, g, nz, kind=kind), x0=0.5, t_end=1.0, paths=130, seed=3,
                          record_iterates=True)
        np.testing.assert_array_equal(a.iterates, b.iterates)
        np.testing.assert_array_equal(a.loss, b.loss)


def test_same_time_grid_as_discrete():
    f, opt, nz = L.DiagonalQuadratic([1.0, 2.0]), O.SGD(lr=0.05), N.Gaussian(0.3)
    rd = simulate(f, opt, nz, x0=1.0, steps=100, paths=10, seed=0, save_every=7)
    rs = sde.integrate(sde.model(opt, f, nz), x0=1.0, t_end=5.0, paths=10, seed=0, save_every=7)
    np.testing.assert_array_equal(rd.t, rs.t)
    np.testing.assert_array_equal(rd.step, rs.step)


BAD = [
    (lambda: sde.model(O.SGD(lr=0.1), L.Quartic(2), N.StudentT(2.0)), "infinite covariance"),
    (lambda: sde.model(O.SGD(lr=0.1), L.Quartic(2), N.AlphaStable(1.5)), "infinite covariance"),
    (lambda: sde.model(O.SGD(lr=0.1), L.Quartic(2), None, kind="phase3"), "kind"),
    (lambda: sde.model(O.SignSGD(lr=0.1), L.Quartic(2), N.Gaussian(1.0), kind="second_order"), "kind"),
    (lambda: sde.model(O.NormalizedSGD(lr=0.1), L.Quartic(2), None), "optimizer"),
    (lambda: sde.model(O.DCSGD(lr=0.1, compressor=C.QSGD(2)), L.Quartic(2), None), "compressor"),
    (lambda: sde.model(O.Adam(lr=0.1, weight_decay=0.1), L.Quartic(2), N.Gaussian(1.0)), "coupled"),
    (lambda: sde.integrate(sde.model(O.SGD(lr=0.1), L.Quartic(2), None), x0=1.0, t_end=1.05), "t_end"),
    (lambda: sde.integrate(sde.model(O.SGD(lr=0.1), L.Quartic(2), None), x0=1.0, t_end=-1.0), "t_end"),
    (lambda: sde.integrate(sde.model(O.SGD(lr=0.1), L.Quartic(2), None), x0=1.0, t_end=1.0, refine=0), "refine"),
    (lambda: sde.integrate(sde.model(O.SGD(lr=0.1), L.Quartic(2), None), x0=1.0, t_end=1.0, dt=-0.01), "dt"),
    (lambda: sde.integrate(sde.model(O.SGD(lr=0.1), L.Quartic(2), None), x0=1.0, t_end=1.0, dt=0.03), "dt"),
    (lambda: sde.integrate(sde.model(O.SGD(lr=0.1), L.Quartic(2), None), x0=[1.0, 2.0, 3.0], t_end=1.0), "x0"),
    (lambda: sde.integrate("sgd", x0=1.0, t_end=1.0), "model"),
]


@pytest.mark.parametrize("call,match", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_weak_error_discrete_vs_sde_is_order_one():
    """SGD on f = lambda x^2/2 (lambda = 2, sigma = 1, x0 = 1, T = 1) against the first-order
    SME's exact moments (spec adaptive 2.4). SGD's own moments are exact here too (a linear
    recursion), so the true weak errors are known: they reproduce spec 7.1, shrink like eta
    (exact log-log slope 0.89 over eta = 0.05..0.00625: order 1, still pre-asymptotic), and the
    Monte Carlo study must find them within its standard errors, with a CI on the order that
    covers the exact slope."""
    from sde.convergence import weak_error_vs_eta

    lam, sig, x0 = 2.0, 1.0, 1.0
    etas = np.array([0.05, 0.025, 0.0125, 0.00625])

    def sme1(eta, T):
        mean = math.exp(-lam * T) * x0
        var = eta * sig**2 / (2 * lam) * (1 - math.exp(-2 * lam * T))
        return lam / 2 * (mean**2 + var)

    def sgd_exact(eta, T):
        k = round(T / eta)
        a = 1 - eta * lam
        var = eta**2 * sig**2 * (1 - a ** (2 * k)) / (1 - a * a)
        return lam / 2 * ((a**k * x0) ** 2 + var)

    exact = np.array([abs(sgd_exact(e, 1.0) - sme1(e, 1.0)) for e in etas])
    np.testing.assert_allclose(exact[:3], [2.842e-3, 1.631e-3, 8.663e-4], rtol=2e-3)  # spec 7.1
    exact_slope = np.polyfit(np.log(etas), np.log(exact), 1)[0]
    assert abs(exact_slope - 1.0) <= 0.15

    fit = weak_error_vs_eta(lambda eta: O.SGD(lr=eta), L.DiagonalQuadratic([lam]), N.Gaussian(sig), x0=x0, T=1.0,
                            etas=etas, sde_exact=sme1, paths=200_000, seed=1)
    assert_mc_close(fit.error, exact, fit.stderr, what="Monte Carlo weak errors against the exact ones")
    lo, hi = fit.interval
    assert lo <= exact_slope <= hi, (fit, exact_slope)


def test_dcsgd_sde_heterogeneous_compressors_spec_v1():
    """Spec compression 5.9 V1, SDE side: E f_inf = 0.012523 (refined EM, dt = eta/8)."""
    from theory import closed_forms as CF

    h = np.array([1.0, 2.0, 4.0])
    sig = np.array([0.5, 1.0, 2.0, 1.5])
    om = np.array([1.0, 3.0, 0.0, 7.0])
    opt = O.DCSGD(lr=0.01, agents=4, compressor=C.Bernoulli(tuple(1 / (1 + om))))
    expect = CF.loss_from_variances(h, CF.dcsgd_stationary_second_moment(0.01, h, sig, om, 4, discrete=False))
    assert expect == pytest.approx(0.012523, abs=1e-6)
    m = sde.model(opt, L.DiagonalQuadratic(h), N.Gaussian(sig[:, None]))
    r = sde.integrate(m, x0=[2.0, -1.5, 1.0], t_end=30.0, paths=512, seed=9, refine=8, save_every=10)
    val, se = r.time_average(after=8.0)
    assert_mc_close(val, expect, se, what="heterogeneous DCSGD SDE floor")


def test_alpha_stable_driven_euler():
    """kind='levy': with dt = lr the scheme is the discrete SGD chain in law, whose stationary law on
    lambda x^2/2 is SaS(alpha) with scale lr c (1 / (1 - |1 - lr lambda|^alpha))^(1/alpha) (derived:
    x = sum_k (1 - lr lambda)^k lr c S_k). Checked by a KS test on the final iterates, and the
    refined scheme against the continuous OU-Levy law, scale c lr^(1-1/alpha) (alpha lambda)^(-1/alpha)."""
    alpha, c, lr, lam = 1.5, 0.5, 0.05, 1.0
    f = L.DiagonalQuadratic([lam])
    opt, nz = O.SGD(lr=lr), N.AlphaStable(alpha, c)
    m = sde.model(opt, f, nz, kind="levy")
    assert m.driving_alpha == alpha
    r = sde.integrate(m, x0=0.0, t_end=20.0, paths=4000, seed=3, record_iterates=True, save_every=100)
    scale = lr * c * (1 / (1 - abs(1 - lr * lam) ** alpha)) ** (1 / alpha)
    assert stats.kstest(r.iterates[-1, :, 0], stats.levy_stable(alpha, 0.0, scale=scale).cdf).pvalue > 1e-3
    rf = sde.integrate(m, x0=0.0, t_end=20.0, paths=4000, seed=4, refine=8, record_iterates=True, save_every=100)
    scale_c = c * lr ** (1 - 1 / alpha) * (alpha * lam) ** (-1 / alpha)
    assert stats.kstest(rf.iterates[-1, :, 0], stats.levy_stable(alpha, 0.0, scale=scale_c).cdf).pvalue > 1e-3
    with pytest.raises(ValueError, match="AlphaStable"):
        sde.model(opt, f, N.Gaussian(1.0), kind="levy")
