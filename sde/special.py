"""Mean of the sign of a noisy coordinate, usable inside numba kernels.

For ``g = mu + sigma Z`` with ``Z`` symmetric, ``E sign(g) = 1 - 2 P(g < 0) = 2 F(mu / sigma) - 1``
(arXiv 2411.15958, Cor 3.3; arXiv 2502.17009):

* Gaussian: ``erf(y / sqrt 2)``, ``y = mu / sigma``, with ``erf`` the branch-free form below;
* Student-t with ``nu > 0`` degrees of freedom: ``2 F_nu(y) - 1`` with ``F_nu`` the t CDF
  (scipy.special's ``stdtr``, called from compiled code; Cauchy ``nu = 1`` gives
  ``(2/pi) arctan y``).

``erf(x)`` is W. J. Cody's rational approximations (Math. Comp. 23, 1969; the coefficients of
netlib's ``specfun`` CALERF) written without branches, so that LLVM vectorises a loop of them
(math.erf is a libm call per element): with ``a = min(|x|, 6)``, ``y = a^2``,

    ``a <= 0.46875``:  ``erf = a P_4(y) / Q_4(y)``,
    ``a >  0.46875``:  ``erf = 1 - e^(-y) R_8(a) / S_8(a)``  (Cody's ``0.46875 < a <= 4`` form, used up to 6),

both computed and one selected (``erf_small``: the first form alone, for callers that know
every argument is small), then the sign of ``x`` copied on (``erf(6) = 1`` in double
precision: ``erfc(6) = 2.2e-17``). ``e^(-y)`` is ``(T_15(-y/64))^64``, ``T_15`` the Taylor polynomial
of ``exp`` to degree 15 (remainder below ``6e-18`` relative on ``[0, 9/16]``), raised by six
squarings. Polynomials are evaluated with fused multiply-adds by Estrin's scheme (short
dependency chains: a loop of erf is bound by latency). Maximum relative error against
``scipy.special.erf`` over the whole real line: below ``2e-14`` (measured ``1.2e-14``, just
above ``|x| = 0.46875`` where the cancellation in ``1 - erfc`` is largest and the 64-fold
squaring of ``exp``'s rounding shows; ``tests/test_sde.py::test_erf_against_scipy`` asserts the bound on a
dense grid of ``[-10, 10]``, on ``+-[1e-307, 10]`` geometrically and at ``0``, ``+-inf``).
Subnormal results (``|x| < 2e-308``) carry subnormal rounding, as scipy's do. NaN gives NaN.

``slope(nu)`` is ``c_nu = d/dy E sign`` at 0: ``2 Gamma((nu+1)/2) / (sqrt(pi nu) Gamma(nu/2))``,
``sqrt(2/pi)`` for the Gaussian (``nu = inf``).
"""
from __future__ import annotations

import ctypes
import math

import numpy as np
from numba.extending import get_cython_function_address
from scipy import stats

from methods._jit import inline_kernel, kernel
from methods.elementary import bits_f64, f64_bits, float_of_int, fma, int_of_integral


def _load_stdtr():
    """The double-precision ``stdtr`` of scipy.special.cython_special, picked by checking
    each fused variant against scipy.stats (the variant index is not a stable name)."""
    proto = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double, ctypes.c_double)
    for name in ("__pyx_fuse_0stdtr", "__pyx_fuse_1stdtr", "stdtr"):
        try:
            fn = proto(get_cython_function_address("scipy.special.cython_special", name))
        except ValueError:
            continue
        if abs(fn(2.5, 0.7) - stats.t.cdf(0.7, 2.5)) < 1e-14:
            return fn
    raise ImportError("scipy.special.cython_special offers no double stdtr; Student-t sign drifts unavailable")


_stdtr = _load_stdtr()
_INV_SQRT2 = 1.0 / math.sqrt(2.0)


# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23 (1969);
# the coefficients as in netlib specfun's CALERF (erf on |x| <= 0.46875: A/B; erfc beyond: C/D)
_A0, _A1, _A2, _A3, _A4 = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
                           3.20937758913846947e03, 1.85777706184603153e-1)
_B0, _B1, _B2, _B3 = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
                      2.84423683343917062e03)
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8 = (
    5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02,
    8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03,
    2.15311535474403846e-8)
_D0, _D1, _D2, _D3, _D4, _D5, _D6, _D7 = (
    1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03,
    3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03)
_E = [1.0 / math.factorial(k) for k in range(16)]
(_E0, _E1, _E2, _E3, _E4, _E5, _E6, _E7, _E8, _E9, _E10, _E11, _E12, _E13, _E14, _E15) = _E
ERF_MAX_REL_ERROR = 2e-14  # the bound stated in the module docstring and asserted by the tests


@inline_kernel
def exp_taylor15(w):
    """``T_15(w) = sum_{n <= 15} w^n / n!``, the Taylor polynomial of ``e^w``, by Estrin's scheme."""
    w2 = w * w
    w4 = w2 * w2
    w8 = w4 * w4
    r0 = fma(fma(_E3, w, _E2), w2, fma(_E1, w, _E0))
    r1 = fma(fma(_E7, w, _E6), w2, fma(_E5, w, _E4))
    r2 = fma(fma(_E11, w, _E10), w2, fma(_E9, w, _E8))
    r3 = fma(fma(_E15, w, _E14), w2, fma(_E13, w, _E12))
    return fma(fma(r3, w4, r2), w8, fma(r1, w4, r0))


@inline_kernel
def exp_neg(y):
    """``e^(-y)`` for ``0 <= y <= 36`` without a libm call: ``T_15(-y/64)^64`` (module docstring),
    the polynomial by Estrin's scheme (depth 4 instead of Horner's 15: the loops around it are
    bound by latency, not by the number of operations); relative error below ``2e-14`` (64 times
    the squared-away rounding)."""
    e = exp_taylor15(y * (-1.0 / 64.0))
    e = e * e
    e = e * e
    e = e * e
    e = e * e
    e = e * e
    return e * e


ERF_SMALL = 0.46875  # Cody's split: erf(x) = x P(x^2) / Q(x^2) for |x| <= ERF_SMALL
ERF_SMALL_KEY = int(np.float64(ERF_SMALL).view(np.int64))  # its bits: |x| <= ERF_SMALL iff bits(|x|) <= this


@inline_kernel
def _erf_small_form(a, y, y2, y4):
    """Cody's small-argument form ``(a P(y), Q(y))`` of ``erf(a) = a P(y) / Q(y)``, ``y = a^2``,
    ``P = A4 y^4 + A0 y^3 + A1 y^2 + A2 y + A3``, ``Q = y^4 + B0 y^3 + ...`` (Estrin's scheme)."""
    ns = a * fma(_A4, y4, fma(fma(_A0, y, _A1), y2, fma(_A2, y, _A3)))
    ds = y4 + fma(fma(_B0, y, _B1), y2, fma(_B2, y, _B3))
    return ns, ds


@inline_kernel
def erf_small(x):
    """``erf(x)`` for ``|x| <= ERF_SMALL`` only: Cody's small-argument form alone, the form ``erf``
    selects there, so the same bits (a caller that knows every argument of a loop is small, e.g.
    from ``ERF_SMALL_KEY``, skips the other form and the exponential)."""
    a = abs(x)
    y = a * a
    y2 = y * y
    ns, ds = _erf_small_form(a, y, y2, y2 * y2)
    return math.copysign(ns / ds, x)


@inline_kernel
def erf(x):
    """The error function, branch-free (vectorisable): Cody's two rational forms, both computed
    (Estrin's scheme), one selected (module docstring); relative error below ``2e-14`` on the
    whole real line."""
    a = min(abs(x), 6.0)
    y = a * a
    y2 = y * y
    y4 = y2 * y2
    ns, ds = _erf_small_form(a, y, y2, y4)  # a <= 0.46875
    # beyond: 1 - e^(-y) R(a) / S(a), R = C8 a^8 + C0 a^7 + ... + C7, S = a^8 + D0 a^7 + ... + D7
    nl = fma(_C8, y4, fma(fma(fma(_C0, a, _C1), y, fma(_C2, a, _C3)), y2, fma(fma(_C4, a, _C5), y, fma(_C6, a, _C7))))
    dl = y4 + fma(fma(fma(_D0, a, _D1), y, fma(_D2, a, _D3)), y2, fma(fma(_D4, a, _D5), y, fma(_D6, a, _D7)))
    e = exp_neg(y)
    small = a <= ERF_SMALL
    num = ns if small else fma(-e, nl, dl)
    den = ds if small else dl
    return math.copysign(num / den, x)


# Cephes atan.c (S. L. Moshier): atan(x) = x + x z P(z)/Q(z), z = x^2, on |x| <= 0.66 after the
# reductions x > tan(3 pi/8): pi/2 + atan(-1/x), x > 0.66: pi/4 + atan((x - 1)/(x + 1))
_AP0, _AP1, _AP2, _AP3, _AP4 = (-8.750608600031904122785e-1, -1.615753718733365076637e1, -7.500855792314704667340e1,
                                -1.228866684490136173410e2, -6.485021904942025371773e1)
_AQ0, _AQ1, _AQ2, _AQ3, _AQ4 = (2.485846490142306297962e1, 1.650270098316988542046e2, 4.328810604912902668951e2,
                                4.853903996359136964868e2, 1.945506571482613964425e2)
_T3P8 = 2.41421356237309504880  # tan(3 pi / 8)
_MOREBITS = 6.123233995736765886130e-17  # pi/2 - fl(pi/2)
ATAN_MAX_REL_ERROR = 1e-15  # stated in atan's docstring, asserted by the tests


@inline_kernel
def atan(x):
    """``arctan x``, branch-free (vectorisable): Cephes' reductions chosen by selects, one division
    for the reduced argument, its rational form ``P_4/Q_5`` by Estrin's scheme. Relative error
    below ``1e-15`` against ``numpy.arctan`` on the whole real line (tested; ``+-inf`` gives
    ``+-pi/2``)."""
    a = abs(x)
    big = a > _T3P8
    mid = a > 0.66
    num = -1.0 if big else (a - 1.0 if mid else a)
    den = a if big else (a + 1.0 if mid else 1.0)
    base = 0.5 * math.pi if big else (0.25 * math.pi if mid else 0.0)
    extra = _MOREBITS if big else (0.5 * _MOREBITS if mid else 0.0)
    r = num / den
    z = r * r
    z2 = z * z
    z4 = z2 * z2
    pz = fma(_AP0, z4, fma(fma(_AP1, z, _AP2), z2, fma(_AP3, z, _AP4)))
    qz = z4 * (z + _AQ0) + fma(fma(_AQ1, z, _AQ2), z2, fma(_AQ3, z, _AQ4))
    w = fma(r, z * pz / qz, r)
    return math.copysign(base + (w + extra), x)


@kernel
def sign_mean_cauchy(y):
    """``E sign(y + C) = (2/pi) arctan y``, ``C`` standard Cauchy (the branch-free ``atan``)."""
    return (2.0 / math.pi) * atan(y)


T_INT_MAX_NU = 30  # integer nu up to this use the closed forms below (else scipy's stdtr)
T_INT_MAX_REL_ERROR = 1e-14  # stated in sign_mean_t_int_for's docstring, asserted by the tests

_T_INT: dict = {}


def sign_mean_t_int_for(nu: int):
    """A branch-free kernel ``m(y) = 2 F_nu(y) - 1`` for an integer ``1 <= nu <= 30``: Abramowitz and
    Stegun 26.7.3 (odd ``nu``) and 26.7.4 (even), with ``theta = arctan(y / sqrt nu)``,
    ``s = sin theta = y / sqrt(nu + y^2)``, ``c^2 = cos^2 theta = nu / (nu + y^2)``:

        even nu:  ``s [1 + (1/2) c^2 + (1 3)/(2 4) c^4 + ... + (1 3 ... (nu-3))/(2 4 ... (nu-2)) c^(nu-2)]``
        odd nu:   ``(2/pi) [theta + s c (1 + (2/3) c^2 + ... + (2 4 ... (nu-3))/(3 5 ... (nu-2)) c^(nu-3))]``

    (``nu`` a compile-time constant: the sum is unrolled, a loop of ``m`` vectorises; ``atan`` is
    the branch-free one). Relative error below ``1e-14`` against scipy's ``stdtr`` (tested for
    ``nu`` in 1..30 on ``[-1e3, 1e3]``)."""
    nu = int(nu)
    if not 1 <= nu <= T_INT_MAX_NU:
        raise ValueError(f"nu must be an integer in [1, {T_INT_MAX_NU}], got {nu}")
    if nu in _T_INT:
        return _T_INT[nu]
    fnu = float(nu)
    rnu = math.sqrt(fnu)
    odd = nu % 2 == 1
    terms = (nu - 1) // 2 if odd else nu // 2

    @inline_kernel
    def m(y):
        q = fnu + y * y
        c2 = fnu / q
        acc = 1.0
        term = 1.0
        for k in range(1, terms):
            if odd:
                term = term * c2 * ((2.0 * k) / (2.0 * k + 1.0))
            else:
                term = term * c2 * ((2.0 * k - 1.0) / (2.0 * k))
            acc += term
        if odd:
            return (2.0 / math.pi) * (atan(y / rnu) + (y * rnu / q) * acc) if terms > 0 else (2.0 / math.pi) * atan(y / rnu)
        return (y / math.sqrt(q)) * acc

    _T_INT[nu] = m
    return m


# ------------------------------------------------------------------ any other Student-t: a per-nu table
T_TABLE_MAX_NU = 1000.0  # above this, scipy's stdtr (the table would grow as sqrt(nu))
T_TABLE_MAX_ABS_ERROR = 1e-13  # stated in sign_mean_t_table_for's docstring, asserted by the tests
_T_TABLE_H = 1.0 / 64.0  # the body's grid step, in units of y / min(1, sqrt(nu))
_T_TABLE: dict = {}
_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: LN2_HI has 32 trailing zero bits
_LN2_LO = 1.90821492927058770002e-10


@inline_kernel
def _log_normal(x):
    """``ln x`` for a positive normal float64, branch-free (vectorisable): ``x = 2^e m`` from the bits,
    ``m`` in ``[sqrt(1/2), sqrt 2)``, ``ln m = 2 atanh(s)``, ``s = (m - 1)/(m + 1)``, the series to
    ``s^21`` (remainder below ``3e-17`` relative), ``e ln 2`` with ``ln 2`` split in two. Relative
    error a few ulp; ``0`` gives about ``-709`` (its use below only needs a large negative value)."""
    b = f64_bits(x)
    e = (b >> 52) - 1023
    m = bits_f64((b & 0x000FFFFFFFFFFFFF) | 0x3FF0000000000000)
    big = m > 1.4142135623730951
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    s = (m - 1.0) / (m + 1.0)
    z = s * s
    z2 = z * z
    z4 = z2 * z2
    z8 = z4 * z4
    q0 = fma(fma(1.0 / 7.0, z, 1.0 / 5.0), z2, fma(1.0 / 3.0, z, 1.0))
    q1 = fma(fma(1.0 / 15.0, z, 1.0 / 13.0), z2, fma(1.0 / 11.0, z, 1.0 / 9.0))
    q2 = fma(fma(1.0 / 21.0, z, 1.0 / 19.0), z, 1.0 / 17.0)
    lm = 2.0 * s * fma(q2, z8, fma(q1, z4, q0))
    fe = float_of_int(e)
    return fe * _LN2_HI + (lm + fe * _LN2_LO)


def table_nu(nu) -> float:
    """``nu`` as a float, or a ``ValueError`` naming ``nu`` unless ``0 < nu <= T_TABLE_MAX_NU`` (the
    per-nu tables of this module and of ``sde.t_tails``)."""
    nu = float(nu)
    if not (0.0 < nu <= T_TABLE_MAX_NU):
        raise ValueError(f"nu must be in (0, {T_TABLE_MAX_NU}], got {nu}")
    return nu


def t_log_norm(nu: float) -> float:
    """``log C_nu``, ``C_nu = Gamma((nu+1)/2) / (sqrt(nu pi) Gamma(nu/2))``, the Student-t density's constant."""
    return math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2) - 0.5 * math.log(nu * math.pi)


def _t_table(nu: float):
    """The per-interval quintic Hermite coefficients of ``m(s) = 2 F_nu(scale s) - 1`` on
    ``s = k h .. (k + 1) h``, ``k < K`` (values from scipy's ``betainc``, derivatives from the density),
    and the tail series (see ``sign_mean_t_table_for``)."""
    from scipy import special as sp

    a = nu / 2.0
    scale = min(1.0, math.sqrt(nu))
    h = _T_TABLE_H
    K = int(math.ceil(max(16.0, 3.0 * math.sqrt(nu) / scale) / h))
    s = np.arange(K + 1) * h
    y = scale * s
    f = sp.betainc(0.5, a, y * y / (nu + y * y))
    pdf = np.exp(t_log_norm(nu) - (nu + 1) / 2 * np.log1p(y * y / nu))
    d1 = h * 2.0 * scale * pdf  # dm/dt, t = (s - s_k) / h
    d2 = h * h * 2.0 * scale * scale * (-(nu + 1) * y / (nu + y * y)) * pdf
    coef = quintic_hermite_coefficients(f, d1, d2)
    # tail: 1 - m = I_w(a, 1/2) = w^a sqrt(1 - w) sum_k r_k w^k / (a B(a, 1/2)), r_k = prod_{i<k} (a+1/2+i)/(a+1+i)
    r = incomplete_beta_tail_ratios(a, nu / (nu + (scale * K * h) ** 2))
    inv_ab = 1.0 / (a * math.exp(math.lgamma(a) + math.lgamma(0.5) - math.lgamma(a + 0.5)))
    return coef, K, scale, r, inv_ab


def quintic_hermite_coefficients(f, d1, d2):
    """The flattened ``(c0, ..., c5)`` per interval of the quintic Hermite interpolants
    ``p(t) = sum_i c_i t^i`` on ``t in [0, 1]`` that match ``f``, ``d1 = df/dt`` and ``d2 = d^2f/dt^2`` at
    both ends of each interval between consecutive nodes."""
    c0, c1, c2 = f[:-1], d1[:-1], d2[:-1] / 2.0
    A = f[1:] - (c0 + c1 + c2)
    B = d1[1:] - (c1 + 2.0 * c2)
    C = d2[1:] - 2.0 * c2
    c3 = 10.0 * A - 4.0 * B + C / 2.0
    c4 = -15.0 * A + 7.0 * B - C
    c5 = 6.0 * A - 3.0 * B + C / 2.0
    return np.ascontiguousarray(np.stack([c0, c1, c2, c3, c4, c5], axis=1).ravel())


def incomplete_beta_tail_ratios(a: float, w1: float) -> np.ndarray:
    """``r_k = prod_{i<k} (a + 1/2 + i) / (a + 1 + i)``, the coefficients of ``I_w(a, 1/2) = w^a sqrt(1 - w)
    sum_k r_k w^k / (a B(a, 1/2))``, until ``r_k w1^k`` is below ``1e-18`` (``w <= w1``)."""
    r = [1.0]
    while r[-1] * w1 ** len(r) > 1e-18:
        i = len(r) - 1
        r.append(r[-1] * (a + 0.5 + i) / (a + 1.0 + i))
    return np.array(r)


def table_geometry(K: int, scale: float, h: float):
    """``(1/scale, 1/h, S1, s_in)`` of a table of ``K`` intervals of step ``h`` in ``s = |x| / scale``:
    its end ``S1 = K h`` and a point ``s_in`` inside its last interval (where ``s`` lies beyond it)."""
    S1 = K * h
    return 1.0 / scale, 1.0 / h, S1, S1 - 0.5 * h


@inline_kernel
def quintic_table_at(coef, u):
    """The quintic of interval ``k = floor(u)`` of ``coef`` (``quintic_hermite_coefficients``) at
    ``t = u - k``, by Estrin's scheme; ``0 <= u < K`` (the caller keeps ``u`` inside). ``k`` as an
    integer by ``int_of_integral``: no float-int conversion (lane by lane without AVX-512)."""
    kf = np.floor(u)
    t = u - kf
    o = 6 * int_of_integral(kf)
    t2 = t * t
    return fma(fma(coef[o + 5], t, coef[o + 4]), t2 * t2, fma(fma(coef[o + 3], t, coef[o + 2]), t2,
                                                              fma(coef[o + 1], t, coef[o])))


def sign_mean_t_table_for(nu: float):
    """A branch-free kernel ``m(y) = 2 F_nu(y) - 1`` for any ``0 < nu <= T_TABLE_MAX_NU`` (non-integer
    ``nu``, or integers above ``T_INT_MAX_NU``), tabulated once per ``nu``. With ``scale = min(1, sqrt nu)``
    and ``s = |y| / scale``:

    * ``s < S1 = K h`` (``h = 1/64``, ``S1 = max(16, 3 sqrt(nu) / scale)`` rounded up to the grid): the
      quintic Hermite interpolant of ``m`` on the interval of ``s``, from ``m`` (scipy's ``betainc``:
      ``m(y) = I_{y^2/(nu+y^2)}(1/2, nu/2)``), ``m'`` and ``m''`` (the density) at its ends;
    * beyond: ``1 - m = I_w(nu/2, 1/2) = w^(nu/2) sqrt(1 - w) sum_k r_k w^k / ((nu/2) B(nu/2, 1/2))``,
      ``w = nu / (nu + y^2) <= 0.1``, ``r_k = prod_{i<k} (nu/2 + 1/2 + i) / (nu/2 + 1 + i)`` (the
      hypergeometric series of the incomplete beta function, summed until a term is below ``1e-18``),
      ``w^(nu/2) = e^(-(nu/2) ln w)`` by the branch-free ``ln`` and ``exp_neg`` (0 past ``e^(-36)``).

    Both are computed and one selected, then the sign of ``y`` copied on (NaN gives NaN), so a loop of
    ``m`` vectorises. Maximum absolute error against scipy's ``betainc`` form: below ``1e-13``
    (``T_TABLE_MAX_ABS_ERROR``; tests for several ``nu`` on dense grids of ``[-1e6, 1e6]``). ``nu`` is
    compiled in: one kernel per distinct ``nu``."""
    nu = table_nu(nu)
    if nu in _T_TABLE:
        return _T_TABLE[nu]
    coef, K, scale, r, inv_ab = _t_table(nu)
    inv_scale, inv_h, S1, s_in = table_geometry(K, scale, _T_TABLE_H)
    half = nu / 2.0
    nr = r.shape[0]

    @inline_kernel
    def m(y):
        a = abs(y)
        s = a * inv_scale
        sc = s if s < S1 else s_in
        body = quintic_table_at(coef, sc * inv_h)
        w = nu / fma(a, a, nu)
        wl = w if w > 1e-300 else 1e-300
        zz = -half * _log_normal(wl)
        pw = exp_neg(zz if zz < 36.0 else 36.0)
        pw = pw if zz < 36.0 else 0.0
        ser = r[nr - 1]
        for i in range(nr - 2, -1, -1):
            ser = fma(ser, w, r[i])
        tail = 1.0 - pw * math.sqrt(1.0 - w) * ser * inv_ab
        res = body if s < S1 else tail
        res = math.copysign(res, y)
        return y if y != y else res

    _T_TABLE[nu] = m
    return m


@kernel
def sign_mean_gauss(y):
    """``E sign(y + Z) = erf(y / sqrt 2)``, ``Z ~ N(0, 1)`` (the branch-free ``erf``)."""
    return erf(y * _INV_SQRT2)


@kernel
def sign_mean_t(nu, y):
    """``E sign(y + T)``, ``T ~ t_nu``."""
    if nu == 1.0:
        return (2.0 / math.pi) * math.atan(y)
    return 2.0 * _stdtr(nu, y) - 1.0


def slope(nu: float) -> float:
    """``c_nu``, the slope of the mean sign at 0 (``nu = inf``: Gaussian, ``sqrt(2/pi)``)."""
    if math.isinf(nu):
        return math.sqrt(2 / math.pi)
    return 2 * math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(math.pi * nu)
