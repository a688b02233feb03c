"""The inlined generator (methods.rng): ziggurat geometry, and the laws of every draw.

Goodness of fit is tested with KS / chi-square at fixed seeds; a correct sampler fails one of
these tests with probability 0.001 per test (threshold p < 1e-3), a wrong one (a missing tail,
a wrong layer, a biased integer) fails them with certainty at these sample sizes.
"""
import math

import numpy as np
import pytest
from scipy import integrate, stats

from methods import rng as R
from methods._jit import kernel

P_MIN = 1e-3


def test_ziggurat_layers_have_equal_area_and_close_at_the_top():
    x, f = R.ZIG_X, R.ZIG_F
    pdf = lambda t: math.exp(-0.5 * t * t)  # noqa: E731
    tail = integrate.quad(pdf, R.ZIG_R, np.inf)[0]
    v = R.ZIG_R * pdf(R.ZIG_R) + tail
    areas = [x[i] * (f[i + 1] - f[i]) for i in range(1, R.LAYERS)]
    np.testing.assert_allclose(areas, v, rtol=1e-9)
    assert x[0] * f[1] == pytest.approx(v, rel=1e-12)  # base strip [0, x0] x [0, f(r)]: strip plus tail
    assert x[R.LAYERS] == 0.0 and f[R.LAYERS] == 1.0
    # Marsaglia and Tsang's published r for 256 layers (computed here from the density)
    assert R.ZIG_R == pytest.approx(3.6541528853610088, rel=1e-12)


@kernel
def _normals(s, n):
    out = np.empty(n)
    R.fill_normal(s, out)
    return out


@kernel
def _scalar_draws(s, which, a, n):
    out = np.empty(n)
    for j in range(n):
        if which == 0:
            out[j] = R.normal(s)
        elif which == 1:
            out[j] = R.uniform(s)
        elif which == 2:
            out[j] = R.exponential(s)
        elif which == 3:
            out[j] = R.gamma(s, a)
        else:
            out[j] = R.integers(s, int(a))
    return out


def test_normal_law_moments_and_tail():
    n = 2_000_000
    z = _normals(R.states(11, 1)[0], n)
    assert stats.kstest(z, "norm").pvalue > P_MIN
    # moments: z-scores from the exact standard errors of N(0, 1)
    assert abs(z.mean()) / math.sqrt(1 / n) < 4
    assert abs(z.var() - 1) / math.sqrt(2 / n) < 4
    # the tail beyond r (layer 0's rejection sampler) has the right mass
    far = np.abs(z) > R.ZIG_R
    expected = 2 * stats.norm.sf(R.ZIG_R)
    assert abs(far.mean() - expected) / math.sqrt(expected / n) < 4
    assert stats.kstest(np.abs(z[far]) - R.ZIG_R,
                        lambda t: 1 - stats.norm.sf(R.ZIG_R + t) / stats.norm.sf(R.ZIG_R)).pvalue > P_MIN
    # symmetric: the sign is a fair coin
    assert abs((z > 0).mean() - 0.5) / math.sqrt(0.25 / n) < 4


def test_scalar_normal_matches_fill():
    a = _normals(R.states(3, 1)[0], 1000)
    b = _scalar_draws(R.states(3, 1)[0], 0, 0.0, 1000)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("which, a, law", [
    (1, 0.0, stats.uniform()),
    (2, 0.0, stats.expon()),
    (3, 0.3, stats.gamma(0.3)),
    (3, 1.0, stats.gamma(1.0)),
    (3, 4.5, stats.gamma(4.5)),
])
def test_continuous_laws(which, a, law):
    x = _scalar_draws(R.states(5 + which, 1)[0], which, a, 300_000)
    assert stats.kstest(x, law.cdf).pvalue > P_MIN


@kernel
def _student_fill(s, T, n):
    out = np.empty(n)
    R.fill_student_t(s, T, out)
    return out


@kernel
def _student_scalars(s, T, n):
    out = np.empty(n)
    for j in range(n):
        out[j] = R.student_t(s, T)
    return out


@pytest.mark.parametrize("nu", [0.3, 1.0, 3.0, 30.0])
def test_student_ziggurat_layers_have_equal_area_and_close_at_the_top(nu):
    """The t(nu) tables: every layer's area equals the base strip plus the tail (the tail integrated
    here by quadrature, not by the stdtr the tables were built with), the top layer closes at f = 1."""
    T = R.student_t_table(nu)
    fast, f = T[R.T_FAST:R.T_F], T[R.T_F:]
    x = np.append(fast[0::2] / R._U52, 0.0)
    np.testing.assert_array_equal(x[1:R.LAYERS], fast[1:-1:2])
    r = T[1]
    pdf = lambda t: (1 + t * t / nu) ** (-(nu + 1) / 2)  # noqa: E731
    # int_r^inf f = int_0^(1/r) u^(nu-1) [f(1/u) u^-(nu+1)] du: an algebraic weight times a smooth factor
    tail = integrate.quad(lambda u: pdf(1 / u) * u ** -(nu + 1) if u > 0 else nu ** ((nu + 1) / 2), 0, 1 / r,
                          weight="alg", wvar=(nu - 1, 0), epsabs=0, epsrel=1e-12)[0]
    v = r * pdf(r) + tail
    areas = [x[i] * (f[i + 1] - f[i]) for i in range(1, R.LAYERS)]
    np.testing.assert_allclose(areas, v, rtol=1e-9)
    assert x[0] * f[1] == pytest.approx(v, rel=1e-9)
    assert x[R.LAYERS] == 0.0 and f[R.LAYERS] == 1.0 and T[0] == nu
    np.testing.assert_allclose(f, [pdf(t) for t in x], rtol=1e-13)


@pytest.mark.parametrize("nu", [0.3, 0.7, 1.0, 2.5, 3.0, 30.0, 1000.0])
def test_student_t_law_and_tail(nu):
    """t(nu) draws: KS against scipy's t(nu); the draws beyond the ziggurat's r (the Pareto rejection
    sampler) have the right mass (two-sided, 4 s.e.) and the right conditional law (KS)."""
    n = 2_000_000
    T = R.student_t_table(nu)
    z = _student_fill(R.states(17, 1)[0], T, n)
    law = stats.t(nu)
    assert stats.kstest(z, law.cdf).pvalue > P_MIN
    r = T[1]
    far = np.abs(z) > r
    expected = 2 * law.sf(r)
    assert abs(far.mean() - expected) / math.sqrt(expected / n) < 4
    assert stats.kstest(np.abs(z[far]), lambda t: 1 - law.sf(t) / law.sf(r)).pvalue > P_MIN
    assert abs((z > 0).mean() - 0.5) / math.sqrt(0.25 / n) < 4


@kernel
def _student_tails(s, nu, r, n):
    out = np.empty(n)
    st = (s[0], s[1], s[2], s[3])
    for j in range(n):
        x, st = R._student_slow_t(st, 0, 0.0, nu, r, 0.0, 0.0)
        out[j] = x
    return out


@pytest.mark.parametrize("nu, r", [(0.5, 1.0), (1.0, 0.5), (3.0, 0.5), (3.0, 2.0), (30.0, 1.0), (30.0, 6.0)])
def test_student_tail_sampler_is_exact_beyond_any_r(nu, r):
    """The Lomax rejection of the tail is exact for every r > 0, not only the table's (where it
    accepts 94-100% of proposals and a missing rejection would go unseen): KS against the law of
    t(nu) beyond r at small r, where most proposals are rejected."""
    x = _student_tails(R.states(23, 1)[0], nu, r, 200_000)
    law = stats.t(nu)
    assert x.min() >= r
    assert stats.kstest(x, lambda t: 1 - law.sf(t) / law.sf(r)).pvalue > P_MIN


@kernel
def _density_at(a, nu):
    out = np.empty(a.shape[0])
    for j in range(a.shape[0]):
        out[j] = R._student_density_at(a[j], nu)
    return out


def test_student_density_against_30_digits():
    """The wedges' density against mpmath at 30 digits: the integer-nu products (nu <= 64, up to 32
    roundings plus the divisions) within 1e-14; the exp/log1p form (nu = 65 and non-integer nu),
    whose exp amplifies its argument's rounding by |log f|, within 2e-13; on the wedges' range
    ``0 <= a <= r``."""
    import mpmath

    mpmath.mp.dps = 30
    for nu in [float(n) for n in range(1, R.T_INT_POWER + 2)] + [0.5, 2.5, 30.5]:
        a = np.concatenate([[0.0], np.geomspace(1e-8, R.student_t_table(nu)[1], 120)])  # the wedges' range, |z| < r
        want = np.array([float((1 + mpmath.mpf(t) ** 2 / mpmath.mpf(nu)) ** (-(mpmath.mpf(nu) + 1) / 2)) for t in a])
        rtol = 1e-14 if nu <= R.T_INT_POWER and nu == int(nu) else 2e-13
        np.testing.assert_allclose(_density_at(a, nu), want, rtol=rtol, atol=0, err_msg=f"nu = {nu}")


@pytest.mark.parametrize("nu", [2.0, 3.0])
def test_student_t_wedges_at_twenty_million_draws(nu):
    """KS at 2e7 draws (critical distance 4.4e-4): accepting every wedge point instead of testing the
    density would move the law by about 1.2e-3 at nu = 3 (an even nu takes the square-root branch)."""
    z = _student_fill(R.states(29, 1)[0], R.student_t_table(nu), 20_000_000)
    assert stats.kstest(z, stats.t(nu).cdf).pvalue > P_MIN


def test_scalar_student_t_matches_fill_and_bad_nu_is_named():
    T = R.student_t_table(3.0)
    np.testing.assert_array_equal(_student_fill(R.states(3, 1)[0], T, 1000), _student_scalars(R.states(3, 1)[0], T, 1000))
    assert R.student_t_table(3) is T  # cached per nu
    for bad in (0.0, -1.0, 0.01, np.inf, np.nan):  # 0.01: below NU_MIN, where the table's r would overflow
        with pytest.raises(ValueError, match="nu"):
            R.student_t_table(bad)
    from methods import noise as N
    with pytest.raises(ValueError, match="nu"):
        N.StudentT(nu=0.01)
    assert R.student_t_table(R.NU_MIN)[1] ** 2 / R.NU_MIN < np.inf  # the tail's r^2/nu stays finite


@pytest.mark.parametrize("n", [1, 2, 7, 1000, 3_000_000_000])
def test_integers_are_uniform_and_in_range(n):
    k = _scalar_draws(R.states(n % 97, 1)[0], 5, float(n), 200_000).astype(np.int64)
    assert k.min() >= 0 and k.max() < n
    if n == 1:
        assert not k.any()
    elif n <= 1000:
        counts = np.bincount(k, minlength=n)
        assert stats.chisquare(counts).pvalue > P_MIN
    else:  # too many cells for chi-square: uniform on [0, 1) after scaling
        assert stats.kstest((k + 0.5) / n, "uniform").pvalue > P_MIN


def test_streams_are_independent_and_reproducible():
    s = R.states(0, 2)
    a, b = _normals(s[0].copy(), 100_000), _normals(s[1].copy(), 100_000)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / math.sqrt(100_000)
    np.testing.assert_array_equal(a, _normals(R.states(0, 2)[0], 100_000))


def test_from_user_accepts_seeds_generators_and_states_and_rejects_the_rest():
    np.testing.assert_array_equal(R.from_user(5), R.from_user(5))
    assert R.from_user(np.random.default_rng(0)).dtype == np.uint64
    s = R.new_state(np.random.SeedSequence(1))
    assert R.from_user(s) is s
    for bad in (-1, 1.5, "x", True):
        with pytest.raises(ValueError, match="rng"):
            R.from_user(bad)
