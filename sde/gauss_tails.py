"""Gaussian tail probabilities with relative accuracy, branch-free (vectorisable) in numba kernels.

``erf_erfc_exp(x)`` returns ``(erf(x), erfc(x), e^(-x^2))`` for ``x >= 0``: W. J. Cody's three rational
forms (Math. Comp. 23, 1969; the coefficients of netlib specfun's CALERF), all computed and one
selected, with one division:

    ``x <= 0.46875``:      ``erf = x P_4(x^2) / Q_4(x^2)``, ``erfc = 1 - erf`` (no cancellation: erf <= 0.49),
    ``0.46875 < x <= 4``:  ``erfc = e^(-x^2) R_8(x) / S_8(x)``,
    ``x > 4``:             ``erfc = e^(-x^2) (1/sqrt(pi) - z P_5(z) / Q_5(z)) / x``, ``z = 1/x^2``
                           (the last written as one rational in ``y = x^2``: no division for ``z``).

``e^(-x^2)`` is ``exp_neg_any(y) (1 - ey)`` with ``y = fl(x^2)`` and ``ey = x^2 - y`` exact (one FMA),
so the rounding of ``x^2``, which would cost ``x^2`` ulps of relative error, does not enter.
``exp_neg_any(y)`` is ``e^(-y)`` for any ``y >= 0``: ``y = k ln2 + r`` (Cody-Waite, two FMAs), the
Taylor polynomial of ``e^(-r)`` to degree 15 on ``|r| <= 0.35`` (``sde.special.exp_taylor15``;
remainder below ``1e-20``), and
``2^-k`` as two exact powers of two from their bits (so results down to the subnormals come out;
``y >= 746`` gives 0).

Maximum relative error against mpmath (40 digits) on ``[0, 26.5]`` (where ``erfc`` is normal), for
``erf``, ``erfc`` and ``e^(-x^2)``: below ``ERFC_MAX_REL_ERROR = 2e-15`` (measured on 1351 points:
erfc 5.5e-16, ``exp_neg_any`` 4.3e-16;
``tests/test_sde.py::test_erf_erfc_exp_against_mpmath``; NaN gives NaN, ``+inf`` gives 0). scipy's
``erfc`` is itself off by up to 6e-14 there (the rounding of ``x^2`` in its exponential). The sign of ``x`` is the caller's:
``erfc(-x) = 2 - erfc(x)``. Used by the clipped-SGD SDE's Gaussian moments (``sde.clipped``), whose
tail masses and densities at the ends of the clip interval share the exponential.
"""
from __future__ import annotations

import math

import numpy as np

from methods._jit import inline_kernel
from methods.elementary import bits_f64, fma, int_of_integral

from .special import _erf_small_form, exp_taylor15
from .special import (_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7, _C8, _D0, _D1, _D2, _D3, _D4, _D5, _D6,  # noqa: F401
                      _D7)

# Cody's erfc for x > 4: erfc = e^(-x^2) (1/sqrt(pi) - z (P5 z^5 + P0 z^4 + ... + P3 z + P4) /
# (z^5 + Q0 z^4 + ... + Q3 z + Q4)) / x, z = 1/x^2 (CALERF's P, Q)
_P0, _P1, _P2, _P3, _P4, _P5 = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
                                1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_Q0, _Q1, _Q2, _Q3, _Q4 = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
                           6.05183413124413191e-2, 2.33520497626869185e-3)
_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_LOG2E = 1.0 / math.log(2.0)
_LN2_HI = 6.93147180369123816490e-01  # ln 2 split (32 significant bits): k * _LN2_HI exact for the k here (<= 1077)
_LN2_LO = 1.90821492927058770002e-10
ERFC_MAX_REL_ERROR = 2e-15  # stated in the module docstring, asserted by the tests
_EXP_ARG_MAX = 746.0  # e^(-746) is below half the smallest subnormal


@inline_kernel
def exp_neg_any(y):
    """``e^(-y)`` for ``y >= 0`` without a libm call (module docstring): relative error below ``1e-15``
    where the result is a normal number (tested against mpmath on ``[0, 745]``), subnormal results
    down to ``5e-324`` near ``y = 745``, and 0 for ``y >= 746``. Negative ``y`` down to ``-709.78``
    (results up to the largest double) work the same way (``sde.t_tails`` uses them for ``nu < 1``;
    tested on ``[-709, 0]``); below, ``inf``."""
    y = min(y, _EXP_ARG_MAX)
    k = np.floor(y * _LOG2E + 0.5)  # a float (math.floor gives an int64: a lane-by-lane conversion)
    r = fma(-k, _LN2_LO, fma(-k, _LN2_HI, y))  # y - k ln2, |r| <= 0.347
    e = exp_taylor15(-r)
    ki = int_of_integral(k)
    k1 = ki >> 1
    return e * bits_f64((1023 - k1) << 52) * bits_f64((1023 - (ki - k1)) << 52)


@inline_kernel
def erf_erfc_exp(x):
    """``(erf(x), erfc(x), e^(-x^2))`` for ``x >= 0`` (module docstring), each to a relative error below
    ``2e-15`` where it is a normal number, with one division (the selected form's ratio is ``erf``
    for ``x <= 0.46875``, ``erfc`` beyond; the other is one minus it, without cancellation); NaN in,
    NaN out; beyond ``x = 27.5`` (``+inf`` too) ``erfc`` and the exponential are 0."""
    nan = x != x
    x = min(x, 27.5)  # erfc(27.5) and e^(-27.5^2) underflow to 0
    y = x * x
    ey = fma(x, x, -y)  # x^2 = y + ey exactly
    y2 = y * y
    y4 = y2 * y2
    ns, ds = _erf_small_form(x, y, y2, y4)  # x <= 0.46875: erf = ns / ds
    nm = fma(_C8, y4, fma(fma(fma(_C0, x, _C1), y, fma(_C2, x, _C3)), y2, fma(fma(_C4, x, _C5), y, fma(_C6, x, _C7))))
    dm = y4 + fma(fma(fma(_D0, x, _D1), y, fma(_D2, x, _D3)), y2, fma(fma(_D4, x, _D5), y, fma(_D6, x, _D7)))
    # x > 4, z = 1/y: z P(z)/Q(z) = N(y) / (y D(y)), N = P5 + P0 y + P1 y^2 + P2 y^3 + P3 y^4 + P4 y^5,
    # D = 1 + Q0 y + ... + Q4 y^5 (numerator and denominator times y^5)
    nl = fma(fma(_P4, y, _P3), y4, fma(fma(_P2, y, _P1), y2, fma(_P0, y, _P5)))
    dl = fma(fma(_Q4, y, _Q3), y4, fma(fma(_Q2, y, _Q1), y2, fma(_Q0, y, 1.0)))
    e = exp_neg_any(y) * (1.0 - ey)  # e^(-x^2)
    small = x <= 0.46875
    mid = x <= 4.0
    num = ns if small else (e * nm if mid else e * fma(y * dl, _INV_SQRT_PI, -nl))
    den = ds if small else (dm if mid else x * (y * dl))
    t = num / den
    erf_x = t if small else 1.0 - t
    erfc_x = 1.0 - t if small else t
    if nan:
        return math.nan, math.nan, math.nan
    return erf_x, erfc_x, e
