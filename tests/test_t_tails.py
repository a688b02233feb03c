"""sde.t_tails: Student-t tails with relative accuracy (branch-free tables), and its helpers, against mpmath."""
import math

import mpmath
import numpy as np
import pytest
from numba import njit

from methods.elementary import float_of_int, int_of_integral
from sde import t_tails as TT
from sde.gauss_tails import exp_neg_any

NUS = [0.05, 1.0, 2.5, 7.3, 1000.0]


def _ref(nu, x):
    """``(Q, P, l, E)`` at 40 digits; ``P`` from the central incomplete beta below ``x = 1`` and as
    ``1/2 - Q`` beyond (mpmath's central form loses digits when ``x^2/(nu + x^2)`` is 1 to 40 digits)."""
    with mpmath.workdps(40):
        n, x = mpmath.mpf(nu), mpmath.mpf(x)
        half = mpmath.mpf(1) / 2
        q = mpmath.betainc(n / 2, half, 0, n / (n + x * x), regularized=True) / 2
        p = mpmath.betainc(half, n / 2, 0, x * x / (n + x * x), regularized=True) / 2 if x < 1 else half - q
        l = mpmath.log1p(x * x / n)
        return q, p, l, mpmath.exp(-(n - 1) / 2 * l)


def _evaluate(nu, xs):
    endpoint = TT.t_endpoint_for(nu)

    @njit(error_model="numpy")
    def run(xs, out):
        for i in range(xs.shape[0]):
            out[i, 0], out[i, 1], out[i, 2], out[i, 3] = endpoint(xs[i])

    out = np.empty((xs.size, 4))
    run(xs, out)
    return out


@pytest.mark.parametrize("nu", NUS)
def test_tails_against_mpmath(nu):
    """``Q`` to ``T_TAILS_MAX_REL_ERROR`` plus ``1e-15 |ln Q|`` (the table holds ``ln 2Q``, whose rounding
    is a few ulps of ``|ln Q|``: about 700 ulps of ``Q`` where ``Q`` nears the underflow), ``P`` to
    ``T_TAILS_MAX_REL_ERROR``, and ``l``, ``E`` to ``1e-14`` relative, from ``1e-300`` to ``1e30``,
    densely across the table and its end, and to ``1e300`` (where ``x^2/nu`` overflows: ``Q`` is still a
    normal number for ``nu <= 2``); no NaN anywhere."""
    xs = np.concatenate([np.geomspace(1e-300, 1e300, 160), np.linspace(0.0, 3.0 * math.sqrt(nu) + 20.0, 240)])
    out = _evaluate(nu, xs)
    assert np.all(np.isfinite(out))
    for x, (q, p, l, e) in zip(xs, out):
        rq, rp, rl, re = _ref(nu, x)
        if rq > 1e-300:
            assert abs(q - float(rq)) <= (TT.T_TAILS_MAX_REL_ERROR + 1e-15 * abs(float(mpmath.log(rq)))) * float(rq), (x, q)
        if rp > 1e-300:
            assert abs(p - float(rp)) <= TT.T_TAILS_MAX_REL_ERROR * float(rp), (x, p)
        assert abs(l - float(rl)) <= 1e-14 * float(rl) + 1e-300, (x, l)
        if re > 1e-300:
            assert abs(e - float(re)) <= 1e-14 * (1 + abs(float((nu - 1) / 2 * rl))) * float(re), (x, e)


@pytest.mark.parametrize("nu", [0.05, 3.0])
def test_tails_at_the_edges(nu):
    out = _evaluate(nu, np.array([0.0, math.inf, math.nan]))
    assert tuple(out[0, :2]) == (0.5, 0.0) and not np.signbit(out[0, 1]) and out[0, 2] == 0.0 and out[0, 3] == 1.0
    assert tuple(out[1, :2]) == (0.0, 0.5)
    assert np.all(np.isnan(out[2]))
    for bad in (0.0, -1.0, 1001.0, math.nan):
        with pytest.raises(ValueError, match="nu"):
            TT.t_endpoint_for(bad)


@njit(error_model="numpy")
def _exp_neg_all(y, out):
    for i in range(y.shape[0]):
        out[i] = exp_neg_any(y[i])


def test_helpers_against_mpmath():
    """``expm1_taylor`` on its range ``[-0.35, 0.35]`` to 1e-15 relative (the Goldberg ``log1p`` of the
    endpoint is checked through ``l`` above), and ``exp_neg_any`` at negative arguments (``E`` of the t
    tails for ``nu < 1``)."""
    @njit(error_model="numpy")
    def run(x, out):
        for i in range(x.shape[0]):
            out[i] = TT.expm1_taylor(x[i])

    x = np.concatenate([-np.geomspace(1e-300, 0.35, 400), np.geomspace(1e-300, 0.35, 100), np.linspace(-0.35, 0.35, 101)])
    y = -np.linspace(0.0, 709.0, 301)
    ey = np.empty(y.size)
    _exp_neg_all(y, ey)
    em = np.empty(x.size)
    run(x, em)
    with mpmath.workdps(40):
        for yi, e in zip(y, ey):
            r = mpmath.exp(-mpmath.mpf(yi))
            assert abs(e - float(r)) <= 1e-15 * float(r), yi
        for xi, e in zip(x, em):
            r = mpmath.expm1(mpmath.mpf(xi))
            assert abs(e - float(r)) <= 1e-15 * abs(float(r)) + 1e-320, xi


def test_integer_conversions_exact():
    @njit
    def run(k, i, out_i, out_f):
        for j in range(k.shape[0]):
            out_i[j] = int_of_integral(k[j])
            out_f[j] = float_of_int(i[j])

    rng = np.random.default_rng(4)
    ints = np.concatenate([rng.integers(-2**51 + 1, 2**51, 1000), [0, 1, -1, 2**51 - 1, -2**51 + 1]]).astype(np.int64)
    out_i = np.empty_like(ints)
    out_f = np.empty(ints.size)
    run(ints.astype(float), ints, out_i, out_f)
    np.testing.assert_array_equal(out_i, ints)
    np.testing.assert_array_equal(out_f, ints.astype(float))
