"""Student-t tail probabilities with relative accuracy, branch-free (vectorisable) in numba kernels.

``t_endpoint_for(nu)`` builds, once per ``nu`` (``0 < nu <= T_TABLE_MAX_NU``), a kernel ``endpoint(x)``
whose first two values, for ``x >= 0`` and ``T`` Student-t with ``nu`` degrees of freedom, are

    ``Q(x) = P(T > x)``  (the upper tail),   ``P(x) = P(0 < T < x) = 1/2 - Q(x)``  (the central half),

each to a small *relative* error (``Q`` deep in the tail, ``P`` near 0, where ``1/2 - Q`` would cancel);
the other two are what the clipped-SGD SDE's moments need at the same point (``sde.clipped``).
With ``scale = min(1, sqrt nu)``, ``s = x / scale``, ``h = 1/128`` and ``S1 = K h`` the end of the table
(``S1 = max(16, 3 sqrt(nu) / scale)`` rounded up to the grid, as in ``sde.special.sign_mean_t_table_for``):

* ``s < S1``: with ``L(s) = log(2 Q)`` (``<= 0``, ``L(0) = 0``), ``G(s) = L(s) / s`` is interpolated by
  the quintic Hermite polynomial of its interval, from ``G``, ``G'`` and ``G''`` at the nodes (from
  ``L``, ``L' = -f/Q``, ``L'' = -f'/Q - (f/Q)^2`` and at 0 the third derivative ``-2 f''(0) - 2 (f/Q)^3``; ``f`` the t
  density). The node values come from scipy's ``betainc``, chosen so that none loses digits:
  ``log1p(-I_v(1/2, nu/2))`` (``v = x^2/(nu + x^2)``) where the central mass is below 1/2, else
  ``log(I_w(nu/2, 1/2))`` (``w = 1 - v``), and the series below, in log space, beyond ``x = sqrt nu``.
  Then ``L = s G`` (relative accuracy near 0, where an interpolant of ``L`` itself would err by
  ``t^3`` of its interval against a value of order ``t``), ``Q = e^L / 2`` (``exp_neg_any``) and
  ``P = -expm1(L) / 2`` (the Taylor series for ``|L| < 0.35``: no cancellation for small ``x``);
* beyond: the hypergeometric series of the incomplete beta function,
  ``2 Q = I_w(nu/2, 1/2) = w^(nu/2) sqrt(1 - w) sum_k r_k w^k / ((nu/2) B(nu/2, 1/2))``, ``w <= 0.1``,
  ``r_k = prod_{i<k} (nu/2 + 1/2 + i) / (nu/2 + 1 + i)``, with ``w^(nu/2) sqrt(1 - w) = E sqrt(w (1 - w))``,
  ``E = (1 + x^2/nu)^(-(nu-1)/2) = e^(-(nu-1) l / 2)``, ``l = log1p(x^2/nu)`` (Goldberg's form
  ``ln(fl(1 + u)) u / (fl(1 + u) - 1)``, one ``ln``; ``2 ln x - ln nu`` where ``x^2/nu`` exceeds 1e300), ``sqrt(w (1 - w)) = (sqrt(nu)/x) / (1 +
  nu/x^2)``; ``P = 1/2 - Q`` there. Range: every finite ``x`` for ``nu >= 1``; for ``nu < 1``, where ``E``
  grows like ``x^(1 - nu)``, up to where ``E`` overflows (beyond ``x = 1e300`` only for ``nu < 0.03``).

Both are computed and one selected, so a loop of ``endpoint`` vectorises (no float-integer conversion
either: ``methods.elementary.int_of_integral``). NaN gives NaN, ``+inf`` gives ``(0, 1/2)``.
Relative error against mpmath (``tests/test_t_tails.py``: ``nu`` = 0.05, 1, 2.5, 7.3, 1000, ``x`` from
``1e-300`` to ``1e300``): ``P`` below ``T_TAILS_MAX_REL_ERROR = 1e-13``, ``Q`` below that plus
``1e-15 |ln Q|`` (the table holds ``ln 2Q``, whose own rounding is a few ulps of ``|ln Q|``). Measured
(``nu`` 0.05 to 1000): ``P`` 4e-16 to 2.4e-14, ``Q`` 1.4e-15 to 2.8e-13 (the largest at ``nu = 1000``,
``Q`` near ``e^-540``).

``expm1_taylor`` is the branch-free helper used here and by the clipped-SGD SDE's Student-t moments.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from methods._jit import inline_kernel
from methods.elementary import fma

from .gauss_tails import exp_neg_any
from .special import (_log_normal, incomplete_beta_tail_ratios, quintic_hermite_coefficients, quintic_table_at,
                      table_geometry, table_nu)

T_TAILS_MAX_REL_ERROR = 1e-13  # stated in the module docstring, asserted by the tests
_EXPM1_SMALL = 0.35
_H = 1.0 / 128.0  # the table step in s = x / min(1, sqrt nu) (1/64 leaves 6e-15 of interpolation error in P)
_X = [1.0 / math.factorial(k + 1) for k in range(15)]  # (e^x - 1)/x = sum_k x^k / (k+1)!
(_X0, _X1, _X2, _X3, _X4, _X5, _X6, _X7, _X8, _X9, _X10, _X11, _X12, _X13, _X14) = _X


@inline_kernel
def expm1_taylor(x):
    """``e^x - 1`` for ``|x| <= 0.35`` by its Taylor series ``x sum_{k <= 14} x^k / (k+1)!`` (remainder
    below ``1e-17`` relative; Estrin's scheme)."""
    x2 = x * x
    x4 = x2 * x2
    x8 = x4 * x4
    r0 = fma(fma(_X3, x, _X2), x2, fma(_X1, x, _X0))
    r1 = fma(fma(_X7, x, _X6), x2, fma(_X5, x, _X4))
    r2 = fma(fma(_X11, x, _X10), x2, fma(_X9, x, _X8))
    r3 = fma(_X14, x2, fma(_X13, x, _X12))
    return x * fma(fma(r3, x4, r2), x8, fma(r1, x4, r0))


@functools.lru_cache(maxsize=None)
def _log_norm_precise(nu: float) -> tuple[float, float]:
    """``log C_nu`` and ``log((nu/2) B(nu/2, 1/2))`` at 30 digits (mpmath; ``lgamma`` differences in
    double precision lose ``log10(nu)`` digits when ``nu`` is large)."""
    import mpmath

    with mpmath.workdps(30):
        a = mpmath.mpf(nu) / 2
        log_b = mpmath.loggamma(a) + mpmath.loggamma(mpmath.mpf(1) / 2) - mpmath.loggamma(a + mpmath.mpf(1) / 2)
        return float(-mpmath.log(mpmath.sqrt(2 * a)) - log_b), float(mpmath.log(a) + log_b)


def t_log_norm_precise(nu: float) -> float:
    """``log C_nu`` (the Student-t density's constant) to double precision for any ``nu`` (30-digit
    ``loggamma``; ``sde.special.t_log_norm`` loses ``log10(nu)`` digits)."""
    return _log_norm_precise(nu)[0]


def _log_series_tail(nu: float, x: np.ndarray):
    """``log I_w(nu/2, 1/2) = (nu/2) ln w + (1/2) log1p(-w) + log sum_k r_k w^k - log((nu/2) B(nu/2, 1/2))``,
    ``w = nu / (nu + x^2) <= 1/2`` (the series of the module docstring, summed to a term below 1e-18;
    in log space, so that nodes whose tail underflows keep a finite value)."""
    a = nu / 2.0
    w = 1.0 / (1.0 + (x / math.sqrt(nu)) ** 2)
    term = np.ones_like(w)
    total = np.ones_like(w)
    k = 0
    while np.max(term) > 1e-18:
        term = term * w * (a + 0.5 + k) / (a + 1.0 + k)
        total = total + term
        k += 1
    log_ab = _log_norm_precise(nu)[1]  # cached: one mpmath evaluation per nu
    return a * np.log(w) + 0.5 * np.log1p(-w) + np.log(total) - log_ab


def _log_2q_nodes(nu: float, x: np.ndarray):
    """``log(2 Q(x))`` at the nodes, from the central mass where it is below 1/2 (``log1p(-m)``, no loss
    near 0), from the tail's incomplete beta up to ``x = sqrt nu`` and from its series in log space
    beyond (no loss, and no underflow, in the tail)."""
    from scipy import special as sp

    central = sp.betainc(0.5, nu / 2.0, x * x / (nu + x * x))  # P(|T| < x)
    tail = sp.betainc(nu / 2.0, 0.5, nu / (nu + x * x))  # P(|T| > x) = 2 Q
    far = x >= math.sqrt(nu)
    with np.errstate(divide="ignore"):
        inner = np.where(central < 0.5, np.log1p(-central), np.log(tail))
    return np.where(far, _log_series_tail(nu, np.where(far, x, 2.0 * math.sqrt(nu))), inner)


def _tail_table(nu: float):
    """Quintic Hermite coefficients of ``G(s) = L(s) / s``, ``L(s) = log(2 Q(scale s))``, on ``[k h, (k+1) h]``, ``k < K``, and
    the tail series (module docstring)."""
    a = nu / 2.0
    scale = min(1.0, math.sqrt(nu))
    h = _H
    K = int(math.ceil(max(16.0, 3.0 * math.sqrt(nu) / scale) / h))
    x = scale * np.arange(K + 1) * h
    L = _log_2q_nodes(nu, x)
    log_c, log_ab = _log_norm_precise(nu)
    f0 = math.exp(log_c)
    ratio = 2.0 * np.exp(log_c - (nu + 1) / 2 * np.log1p(x * x / nu) - L)  # f / Q
    L1 = scale * (-ratio)  # dL/ds
    L2 = scale ** 2 * ((nu + 1) * x / (nu + x * x) * ratio - ratio * ratio)  # L'' = -f'/Q - (f/Q)^2
    r0 = 2.0 * f0
    L3_0 = scale ** 3 * (2.0 * (nu + 1) / nu * f0 - 2.0 * r0 ** 3)  # L3(0) = -2 f2(0) - 2 (f/Q)^3 at 0
    sn = np.arange(K + 1) * h
    with np.errstate(divide="ignore", invalid="ignore"):
        G = np.where(sn > 0, L / sn, L1[0])  # G = L / s, so that L = s G keeps its relative accuracy near 0
        G1 = np.where(sn > 0, (L1 - G) / sn, L2[0] / 2.0)
        G2 = np.where(sn > 0, (L2 - 2.0 * G1) / sn, L3_0 / 3.0)
    coef = quintic_hermite_coefficients(G, h * G1, h * h * G2)  # derivatives in t = (s - s_k) / h
    r = incomplete_beta_tail_ratios(a, nu / (nu + (scale * K * h) ** 2))
    half_inv_ab = 0.5 * math.exp(-log_ab)
    return coef, K, scale, r, half_inv_ab


_ENDS: dict = {}


def t_endpoint_for(nu: float):
    """The kernel ``endpoint(x) -> (Q(x), P(x), l(x), E(x))`` for ``x >= 0``: the tails of the module
    docstring, ``l(x) = log1p(x^2/nu)`` (Goldberg's form with one ``ln``; ``2 ln x - ln nu`` where
    ``x^2/nu`` exceeds 1e300) and ``E(x) = e^(-(nu-1) l/2) = (1 + x^2/nu)^(-(nu-1)/2)`` (``C_nu E(x) (1 + x^2/nu)^(-1)`` is
    the density). The tail series reuses ``E``: ``w^(nu/2) sqrt(1 - w) = E sqrt(w (1 - w))``,
    ``w = 1/(1 + x^2/nu)``. Built and compiled once per ``nu``; ``0 < nu <= T_TABLE_MAX_NU`` (else a
    ``ValueError`` naming ``nu``)."""
    nu = table_nu(nu)
    if nu in _ENDS:
        return _ENDS[nu]
    coef, K, scale, r, half_inv_ab = _tail_table(nu)
    inv_scale, inv_h, S1, s_in = table_geometry(K, scale, _H)
    e = 0.5 * (nu - 1.0)
    inv_sqrt_nu = 1.0 / math.sqrt(nu)
    sqrt_nu = math.sqrt(nu)
    ln_nu = math.log(nu)
    nr = r.shape[0]

    @inline_kernel
    def endpoint(x):
        xp = x * inv_sqrt_nu
        u = xp * xp
        v = 1.0 / max(u, 1.0)  # nu/x^2 where the tail is selected (u >= 9 there); 0 where u overflows
        # l = log1p(u) by Goldberg's form (one ln), or 2 ln x - ln nu where 1 + u overflows (u > 1e300)
        huge = u > 1e300
        w1 = 1.0 + u
        wm = w1 - 1.0
        ln1 = _log_normal(x if huge else w1)
        l = 2.0 * ln1 - ln_nu if huge else (u if wm == 0.0 else ln1 * (u / (wm if wm != 0.0 else 1.0)))
        E = exp_neg_any(e * l)
        s = x * inv_scale
        body_here = s < S1
        sc = s if body_here else s_in
        G = quintic_table_at(coef, sc * inv_h)  # sc < S1: the index is below K
        L = min(sc * G, 0.0)  # log(2 Q)
        ex = exp_neg_any(-L)
        q_body = 0.5 * ex
        p_body = 0.0 - 0.5 * (expm1_taylor(L) if L > -_EXPM1_SMALL else ex - 1.0)  # +0 at x = 0
        # beyond the table x/sqrt(nu) >= 3, so v = nu/x^2, w = v/(1 + v), sqrt(w (1 - w)) = (sqrt(nu)/x)/(1 + v)
        # (sqrt(nu)/x rather than sqrt(v): v underflows to 0 where x^2 overflows, sqrt(nu)/x does not)
        inv1v = 1.0 / (1.0 + v)
        w = v * inv1v
        ser = r[nr - 1]
        for i in range(nr - 2, -1, -1):
            ser = fma(ser, w, r[i])
        q_tail = E * ((sqrt_nu / (x if x > 0.0 else 1.0)) * inv1v) * ser * half_inv_ab  # no 1/0 in the body
        q_tail = q_tail if x < math.inf else 0.0
        q = q_body if body_here else q_tail
        p = p_body if body_here else 0.5 - q_tail
        if x != x:
            return math.nan, math.nan, math.nan, math.nan
        return q, p, l, E

    _ENDS[nu] = endpoint
    return endpoint

