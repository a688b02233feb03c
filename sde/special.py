"""Mean of the sign of a noisy coordinate, usable inside numba kernels.

For ``g = mu + sigma Z`` with ``Z`` symmetric, ``E sign(g) = 1 - 2 P(g < 0) = 2 F(mu / sigma) - 1``
(arXiv 2411.15958, Cor 3.3; arXiv 2502.17009):

* Gaussian: ``erf(y / sqrt 2)``, ``y = mu / sigma``;
* Student-t with ``nu > 0`` degrees of freedom: ``2 F_nu(y) - 1`` with ``F_nu`` the t CDF
  (scipy.special's ``stdtr``, called from compiled code; Cauchy ``nu = 1`` gives
  ``(2/pi) arctan y``).

``slope(nu)`` is ``c_nu = d/dy E sign`` at 0: ``2 Gamma((nu+1)/2) / (sqrt(pi nu) Gamma(nu/2))``,
``sqrt(2/pi)`` for the Gaussian (``nu = inf``).
"""
from __future__ import annotations

import ctypes
import math

from numba.extending import get_cython_function_address
from scipy import stats

from methods._jit import kernel


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


@kernel
def sign_mean_gauss(y):
    """``E sign(y + Z)``, ``Z ~ N(0, 1)``."""
    return math.erf(y / math.sqrt(2.0))


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
