"""SDE model of clipped SGD (``optimizers.ClippedSGD``) under Gaussian or Student-t gradient noise.

The discrete method is ``x_{k+1} = x_k - lr eta_k clip_c(g_k)``, ``clip_c(v) = min(1, c/||v||) v``,
``g_k = grad f(x_k) + Z_k``. Its first-order SDE (the first-order SME construction of Li, Tai and
E, arXiv 1511.06251, applied to the clipped oracle; DERIVED here) is, with ``s = eta_t`` and time
``t = k lr``,

    dX = -s m_c(X) dt + s sqrt(lr v_c(X)) dW,
    m_c(x) = E clip_c(grad f(x) + Z),   v_c(x) = Var clip_c(grad f(x) + Z).

Restriction: ``ClippedSGD`` (norm clipping) in ``d = 1``, where ``clip_c(y) = max(-c, min(c, y))``
and the moments have closed forms; ``CoordinateClippedSGD`` (``methods.clipping``) in any ``d``,
where the same formulas hold coordinate by coordinate (independent noise coordinates, diagonal
diffusion). For ``d > 1`` norm clipping of a noisy vector couples the coordinates (the mean needs
a ``d``-dimensional integral, or a 1-D one for isotropic Gaussian noise) and is not built:
``sde.model`` raises ``ValueError`` naming the landscape.

Closed forms (DERIVED here). With ``Y = g + sigma T``, ``a = (-c - g)/sigma``, ``b = (c - g)/sigma``,
``F``/``f`` the CDF/density of ``T``, ``u = clip_c(Y) - h`` and the truncated moments
``I_n = int_a^b z^n f(z) dz``:

    E u   = -(c + h) F(a) + (c - h) (1 - F(b)) + r [F(b) - F(a)] + sigma I_1
    E u^2 = (c + h)^2 F(a) + (c - h)^2 (1 - F(b)) + r^2 [F(b) - F(a)] + 2 r sigma I_1 + sigma^2 I_2,
    m_c = h + E u,  v_c = E u^2 - (E u)^2,

about ``h = clip_c(g)``, ``r = g - h`` (centred where the clipped oracle concentrates, so that a
far-clipped oracle keeps the digits of its small variance).

* Gaussian ``T``: ``I_1 = phi(a) - phi(b)``, ``I_2 = [F(b) - F(a)] + a phi(a) - b phi(b)``.
* Student-t with any ``nu > 0`` (heavy tails included: the clipped oracle has every moment):
  ``I_1 = [(nu + a^2) f(a) - (nu + b^2) f(b)] / (nu - 1)`` (for ``nu -> 1`` evaluated as
  ``-C nu e^{-e l_a} expm1(-e (l_b - l_a)) / (2 e)``, ``e = (nu - 1)/2``, ``l = log1p(z^2/nu)``,
  ``C`` the t normalising constant; Cauchy gives ``(l_b - l_a)/(2 pi)``), and
  ``I_2 = [nu F - z (nu + z^2) f]_a^b / (nu - 2)``, which at ``nu = 2`` is
  ``[asinh(z/sqrt2) - z/sqrt(2 + z^2)]_a^b``; within ``1e-3`` of ``nu = 2`` it is the quadratic
  interpolation through ``nu = 2 - 1e-3, 2, 2 + 1e-3`` (error below 1e-8 relative).

``clip_moments`` (scalar, per coordinate) takes ``F`` for the t law from scipy.special's ``stdtr``
called from compiled code (``sde.special``). The drifts run branch-free versions of the same
formulas in a vectorised coordinate loop, agreeing with ``clip_moments`` at the rounding level:
``clip_moments_gauss`` for the Gaussian law (``sde.gauss_tails``: ``Phi`` with relative accuracy in
the tails, and the densities), and ``clip_moments_t_for(nu)`` for Student-t with ``nu`` compiled in
(``sde.t_tails``: per-nu tables of the tails with relative accuracy) wherever ``t_fast_path(nu)``:
``0 < nu <= 1000`` and ``nu`` not within ``1e-3`` of 2; other ``nu`` run ``clip_moments``.
Single agent, no compressor; the t noise needs ``batch = 1`` (an average of t draws is not t).
"""
from __future__ import annotations

import math

import numpy as np

from methods import compressors as C
from methods import noise as N
from methods._jit import inline_kernel, kernel
from methods.clipping import CoordinateClippedSGD
from methods.optimizers import ClippedSGD

from .base import SDEModel, euler_maruyama_diag
from .registry import register
from .gauss_tails import erf_erfc_exp, exp_neg_any
from .special import T_TABLE_MAX_NU, _stdtr, t_log_norm
from .t_tails import _EXPM1_SMALL, expm1_taylor, t_endpoint_for, t_log_norm_precise

KINDS = {"classic": 0}
# p layout: [lr, law (0 Gaussian, 1 Student-t), nu, log C_nu, clip, sigma (d)]
_HEAD = 5
_NU2_BAND = 1e-3
_SQRT2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_INV_SQRT2 = 1.0 / _SQRT2


@kernel
def _cdf(law, nu, z):
    if law == 0:
        return 0.5 * math.erfc(-z / _SQRT2)
    if nu == 1.0:
        return 0.5 + math.atan(z) / math.pi
    return _stdtr(nu, z)


@kernel
def _pdf(law, nu, logc, z):
    if law == 0:
        return _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    return math.exp(logc - 0.5 * (nu + 1.0) * math.log1p(z * z / nu))


@kernel
def _mass_between(law, nu, a, b):
    """``F(b) - F(a)`` without cancellation in either tail."""
    if a >= 0.0:
        return _cdf(law, nu, -a) - _cdf(law, nu, -b)
    if b <= 0.0:
        return _cdf(law, nu, b) - _cdf(law, nu, a)
    return 1.0 - _cdf(law, nu, a) - _cdf(law, nu, -b)


@kernel
def _t_i1(nu, logc, a, b):
    e = 0.5 * (nu - 1.0)
    la = math.log1p(a * a / nu)
    lb = math.log1p(b * b / nu)
    dl = lb - la
    h = -0.5 * dl if e == 0.0 else math.expm1(-e * dl) / (2.0 * e)
    return -math.exp(logc) * nu * math.exp(-e * la) * h


@kernel
def _t_i2_generic(nu, logc, a, b, mid):
    fa = _pdf(1, nu, logc, a)
    fb = _pdf(1, nu, logc, b)
    return (nu * mid - b * (nu + b * b) * fb + a * (nu + a * a) * fa) / (nu - 2.0)


@kernel
def _t2_antider(z):
    return math.asinh(z / _SQRT2) - z / math.sqrt(2.0 + z * z)


@kernel
def _t_logc(nu):
    return math.lgamma((nu + 1.0) / 2.0) - math.lgamma(nu / 2.0) - 0.5 * math.log(nu * math.pi)


@kernel
def _t_i2(nu, logc, a, b, mid):
    """``int_a^b z^2 f_nu``; ``mid = F_nu(b) - F_nu(a)``."""
    if abs(nu - 2.0) >= _NU2_BAND:
        return _t_i2_generic(nu, logc, a, b, mid)
    i0 = _t2_antider(b) - _t2_antider(a)
    num, nup = 2.0 - _NU2_BAND, 2.0 + _NU2_BAND
    im = _t_i2_generic(num, _t_logc(num), a, b, _mass_between(1, num, a, b))
    ip = _t_i2_generic(nup, _t_logc(nup), a, b, _mass_between(1, nup, a, b))
    r = (nu - 2.0) / _NU2_BAND
    return i0 + 0.5 * r * (ip - im) + 0.5 * r * r * (ip - 2.0 * i0 + im)


@inline_kernel
def _moments_about_clip(g, sigma, c, p_lo, p_hi, mid, i1, i2):
    """``(m_c, v_c)`` from ``F(a)``, ``1 - F(b)``, ``F(b) - F(a)`` and the truncated moments ``I_1``,
    ``I_2`` (module docstring): the moments of ``u = clip_c(Y) - h`` about ``h = clip_c(g)``, the value
    the clipped oracle concentrates on (about ``g`` itself a far-clipped oracle would lose most digits
    of its small variance)."""
    h = max(-c, min(c, g))
    r = g - h
    eu = -(c + h) * p_lo + (c - h) * p_hi + r * mid + sigma * i1
    eu2 = ((c + h) * (c + h) * p_lo + (c - h) * (c - h) * p_hi + r * r * mid + 2.0 * r * sigma * i1
           + sigma * sigma * i2)
    return h + eu, max(eu2 - eu * eu, 0.0)


@kernel
def clip_moments(law, nu, logc, g, sigma, c):
    """``(E clip_c(g + sigma T), Var clip_c(g + sigma T))`` for ``T`` standard Gaussian (``law = 0``)
    or Student-t with ``nu`` degrees of freedom (``law = 1``, ``logc = log C_nu``); ``sigma > 0``."""
    a = (-c - g) / sigma
    b = (c - g) / sigma
    p_lo = _cdf(law, nu, a)
    p_hi = _cdf(law, nu, -b)
    if a >= 0.0:  # F(b) - F(a) without cancellation in either tail
        mid = _cdf(law, nu, -a) - p_hi
    elif b <= 0.0:
        mid = _cdf(law, nu, b) - p_lo
    else:
        mid = 1.0 - p_lo - p_hi
    if law == 0:
        pa = _pdf(0, nu, logc, a)
        pb = _pdf(0, nu, logc, b)
        i1 = pa - pb
        i2 = mid + a * pa - b * pb
    else:
        i1 = _t_i1(nu, logc, a, b)
        i2 = _t_i2(nu, logc, a, b, mid)
    return _moments_about_clip(g, sigma, c, p_lo, p_hi, mid, i1, i2)


@inline_kernel
def _masses(a, b, qa, qb, ca, cb):
    """``(F(a), 1 - F(b), F(b) - F(a))`` of a symmetric law from the upper tails ``qa = P(T > |a|)``,
    ``qb`` and the central halves ``ca = P(0 < T < |a|)``, ``cb``, by selects: no cancellation in either
    tail, nor inside the interval (``a < 0 < b``: ``ca + cb``, accurate when ``c`` is small against sigma)."""
    p_lo = qa if a <= 0.0 else 1.0 - qa
    p_hi = qb if b >= 0.0 else 1.0 - qb
    mid = (qa - qb) if a >= 0.0 else ((qb - qa) if b <= 0.0 else ca + cb)
    return p_lo, p_hi, mid


@inline_kernel
def clip_moments_gauss(g, sigma, c):
    """``clip_moments`` for Gaussian noise, branch-free so that a loop of it vectorises: the tail
    masses ``Phi(-|a|)``, ``Phi(-|b|)`` from ``sde.gauss_tails.erf_erfc_exp`` (relative accuracy in
    the tails, no libm call), whose ``e^(-a^2/2)`` also gives the densities ``phi(a)``, ``phi(b)``;
    ``F(a)``, ``1 - F(b)`` and ``F(b) - F(a)`` chosen by selects (no cancellation in either tail, nor
    inside the interval: there ``(erf(|a|/sqrt2) + erf(|b|/sqrt2))/2``), then the same moments about
    ``h = clip_c(g)``. Agrees with ``clip_moments``
    (libm's ``erfc`` and ``exp``) to the tolerance ``tests/test_clipped_sde.py`` states."""
    a = (-c - g) / sigma
    b = (c - g) / sigma
    ra, qa, ea = erf_erfc_exp(abs(a) * _INV_SQRT2)  # erf, erfc(|a|/sqrt2) = 2 Phi(-|a|), e^(-a^2/2)
    rb, qb, eb = erf_erfc_exp(abs(b) * _INV_SQRT2)
    # Phi(-|z|) = erfc(|z|/sqrt2)/2 and the central half Phi(|z|) - 1/2 = erf(|z|/sqrt2)/2
    p_lo, p_hi, mid = _masses(a, b, 0.5 * qa, 0.5 * qb, 0.5 * ra, 0.5 * rb)
    pa = _INV_SQRT_2PI * ea
    pb = _INV_SQRT_2PI * eb
    i1 = pa - pb
    i2 = mid + a * pa - b * pb
    return _moments_about_clip(g, sigma, c, p_lo, p_hi, mid, i1, i2)


_T_MOMENTS: dict = {}


def t_fast_path(nu: float) -> bool:
    """Whether ``clip_moments_t_for(nu)`` is built: ``0 < nu <= T_TABLE_MAX_NU`` and ``nu`` at least
    ``_NU2_BAND`` from 2 (there ``I_2`` needs the interpolation in ``nu`` of the scalar ``clip_moments``)."""
    return 0.0 < nu <= T_TABLE_MAX_NU and abs(nu - 2.0) >= _NU2_BAND


def clip_moments_t_for(nu: float):
    """``clip_moments`` for Student-t noise with ``nu`` degrees of freedom compiled in, branch-free so
    that a loop of it vectorises (``t_fast_path(nu)`` must hold). With ``l(z) = log1p(z^2/nu)``
    (``sde.t_tails.t_endpoint_for``: one ``ln``, no overflow of ``z^2``) and
    ``E(z) = e^(-e l(z)) = (1 + z^2/nu)^(-(nu-1)/2)``, ``e = (nu - 1)/2``:

    * ``F(a)``, ``1 - F(b)``, ``F(b) - F(a)`` from ``sde.t_tails.t_endpoint_for(nu)`` (tails with relative
      accuracy; inside the interval the two central halves ``P(0 < T < |a|) + P(0 < T < |b|)``), selected
      by ``_masses`` as in ``clip_moments_gauss``;
    * ``I_1 = -C nu (E(b) - E(a)) / (2 e)``, the difference taken directly, or where
      ``|e (l_b - l_a)| < 0.35`` as ``E(l_0) expm1(-|e (l_b - l_a)|)`` about the end ``l_0`` with the
      larger ``E`` (``expm1_taylor``: no cancellation for ``nu`` near 1 or ends close together);
      Cauchy (``nu = 1``): ``C (l_b - l_a) / 2``;
    * ``I_2 = (nu [F(b) - F(a)] - C nu (b E(b) - a E(a))) / (nu - 2)``,

    then ``_moments_about_clip``. ``C = C_nu`` from ``sde.t_tails``' 30-digit constant. Agrees with
    ``clip_moments`` (scipy's ``stdtr``, libm) to the tolerance ``tests/test_clipped_sde.py`` states."""
    nu = float(nu)
    if not t_fast_path(nu):
        raise ValueError(f"nu must be in (0, {T_TABLE_MAX_NU}] and not within {_NU2_BAND} of 2, got {nu}")
    if nu in _T_MOMENTS:
        return _T_MOMENTS[nu]
    endpoint = t_endpoint_for(nu)
    cn = math.exp(t_log_norm_precise(nu))
    e = 0.5 * (nu - 1.0)
    cauchy = e == 0.0
    half_c = 0.5 * cn
    i1_scale = 0.0 if cauchy else -cn * nu / (2.0 * e)
    cnu = cn * nu
    inv_nu_2 = 1.0 / (nu - 2.0)
    e_pos = e > 0.0
    abs_e = abs(e)

    @inline_kernel
    def moments(g, sigma, c):
        a = (-c - g) / sigma
        b = (c - g) / sigma
        qa, ca, la, ea = endpoint(abs(a))
        qb, cb, lb, eb = endpoint(abs(b))
        p_lo, p_hi, mid = _masses(a, b, qa, qb, ca, cb)
        dl = lb - la
        if cauchy:
            i1 = half_c * dl
        else:
            # E(b) - E(a): directly, or where the exponents are close (|e dl| < 0.35) as E(l_0) expm1(-|e dl|)
            # about the end l_0 with the smaller exponent
            x1 = -abs_e * abs(dl)
            at_a = (dl >= 0.0) if e_pos else (dl <= 0.0)
            em1 = expm1_taylor(x1 if x1 > -_EXPM1_SMALL else 0.0)
            close = (ea * em1) if at_a else (-eb * em1)
            i1 = i1_scale * (close if x1 > -_EXPM1_SMALL else eb - ea)
        i2 = (nu * mid - cnu * (b * eb - a * ea)) * inv_nu_2
        return _moments_about_clip(g, sigma, c, p_lo, p_hi, mid, i1, i2)

    _T_MOMENTS[nu] = moments
    return moments


_DRIFTS: dict = {}


def _moments_for(law: int, nu: float):
    """The per-coordinate ``(m_c, v_c)`` kernel ``(g, sigma, c)``: ``clip_moments_gauss`` (Gaussian),
    ``clip_moments_t_for(nu)`` (Student-t with ``t_fast_path(nu)``), else ``clip_moments`` with ``nu``
    and ``log C_nu`` compiled in."""
    if law == 0:
        return clip_moments_gauss
    if t_fast_path(nu):
        return clip_moments_t_for(nu)
    logc = t_log_norm(nu)

    @inline_kernel
    def scalar(g, sigma, c):
        return clip_moments(1, nu, logc, g, sigma, c)

    return scalar


def _drift_for(grad, law: int, nu: float):
    """The drift ``-s m_c`` (and ``sqrt(v_c)`` left in ``work[d:2d]`` for the diffusion), the moments
    from ``_moments_for(law, nu)``: vectorised under Gaussian noise and Student-t noise on the fast path."""
    key = (grad, law, nu, law == 1 and t_fast_path(nu))
    if key not in _DRIFTS:
        moments = _moments_for(law, nu)

        @inline_kernel
        def drift(t, y, s, p, lp, work, out):
            d = out.shape[0]
            g = work[:d]
            sv = work[d:2 * d]
            grad(y, lp, g)
            sig = p[_HEAD:_HEAD + d]
            c = p[4]
            for j in range(d):
                m, v = moments(g[j], sig[j], c)
                out[j] = -s * m
                sv[j] = math.sqrt(v)

        _DRIFTS[key] = drift
    return _DRIFTS[key]


@inline_kernel
def _coef(t, y, s, p, lp, work, out):
    d = out.shape[0]
    scale = s * math.sqrt(p[0])
    for j in range(d):
        out[j] = scale * work[d + j]


def noise_law(noise) -> tuple[int, float]:
    """``(law, nu)`` of a noise model the clipped SDE accepts (the noise model's own ``sign_law``:
    independent Gaussian, Student-t or Cauchy coordinates), or a ``ValueError`` naming ``noise``."""
    law = noise.sign_law()
    if law is None:
        raise ValueError(f"noise {noise!r}: the clipped-SGD SDE models Gaussian or Student-t noise")
    return law


def build(landscape, optimizer, noise, kind: str) -> SDEModel:
    """The ``SDEModel`` of ClippedSGD (``d = 1``) or CoordinateClippedSGD (any ``d``), kind ``"classic"``
    (the family ``"clipped"``).

    ``dX = -s m_c(X) dt + s sqrt(lr v_c(X)) dW`` with ``m_c``, ``v_c`` the mean and variance of the
    clipped oracle, coordinate by coordinate (closed forms, vectorised: ``clip_moments_gauss`` for
    Gaussian noise, ``clip_moments_t_for(nu)`` for Student-t; ``clip_moments`` for ``nu`` off the fast
    path); diagonal Euler-Maruyama step, time per iteration ``lr``. DERIVED here
    (first-order SME of the clipped oracle, Li-Tai-E construction, arXiv 1511.06251).

    A ``ValueError`` names what has no model here: norm clipping with ``d > 1``, several agents
    or a compressor, noise that is neither Gaussian nor Student-t, and ``sigma = 0``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)} for ClippedSGD, got {kind!r}")
    coordinate = isinstance(optimizer, CoordinateClippedSGD)
    if landscape.d != 1 and not coordinate:
        raise ValueError(f"landscape: the norm-clipped SGD SDE is built for d = 1 only (norm clipping of a noisy "
                         f"vector couples the coordinates), got d = {landscape.d}; CoordinateClippedSGD factorises")
    if optimizer.agents != 1 or not isinstance(optimizer.compressor, C.Identity):
        raise ValueError("optimizer: the clipped-SGD SDE models a single agent without compression")
    law, nu = noise_law(noise)
    d = landscape.d
    sigma = noise.diagonal_std(d, 1)[0]
    if np.any(sigma <= 0):
        raise ValueError("noise: the clipped-SGD SDE needs sigma > 0 (sigma = 0 is clipped GD, an ODE)")
    p = np.concatenate([[optimizer.lr, float(law), nu if law else 0.0, t_log_norm(nu) if law else 0.0,
                         float(optimizer.clip)], sigma])
    grad = landscape.kernels.grad
    step = euler_maruyama_diag(_drift_for(grad, law, nu if law else 0.0), _coef)
    law_txt = "Gaussian" if law == 0 else f"Student-t nu = {nu:g}"
    formula = (f"dX = -s E[clip_c(grad f + Z)] dt + s sqrt(lr Var[clip_c(grad f + Z)]) dW  "
               f"(c = {optimizer.clip:g}, Z {law_txt}, " + ("coordinate-wise clip)" if coordinate else "d = 1)"))
    return SDEModel(method=type(optimizer).__name__, kind=kind, landscape=landscape, noise=noise, optimizer=optimizer, params=p,
                    step=step, key=("clipped", grad, law, nu if law else 0.0, law == 1 and t_fast_path(nu)), state_dim=d, noise_dim=d, work_size=4 * d,
                    time_per_step=optimizer.lr, provenance="derived",
                    source="derived here (first-order SME of the clipped oracle, Li-Tai-E construction)",
                    formula=formula)


# --------------------------------------------------------------------------------- Python side
def moments(g, sigma: float, clip: float, nu: float = math.inf):
    """``(m_c, v_c)`` arrays for gradients ``g`` (any shape): Gaussian for ``nu = inf``, else Student-t."""
    if not (sigma > 0 and math.isfinite(sigma)):
        raise ValueError(f"sigma must be finite and > 0, got {sigma}")
    if not (clip > 0 and math.isfinite(clip)):
        raise ValueError(f"clip must be finite and > 0, got {clip}")
    if not nu > 0:
        raise ValueError(f"nu must be > 0 (inf: Gaussian), got {nu}")
    law = 0 if math.isinf(nu) else 1
    logc = t_log_norm(nu) if law else 0.0
    g = np.asarray(g, dtype=float)
    m = np.empty(g.shape)
    v = np.empty(g.shape)
    for i, gi in np.ndenumerate(g):
        m[i], v[i] = clip_moments(law, nu if law else 0.0, logc, float(gi), float(sigma), float(clip))
    return m, v


def clip_slope(sigma: float, clip: float, nu: float = math.inf) -> float:
    """``d m_c / d g`` at ``g = 0``: ``P(|sigma T| < c)`` (the clipped oracle's mean is ``E clip_c(g + sigma T)``,
    whose derivative in ``g`` is ``P(-c < g + sigma T < c)``)."""
    from scipy import stats

    dist = stats.norm() if math.isinf(nu) else stats.t(nu)
    return float(dist.cdf(clip / sigma) - dist.cdf(-clip / sigma))


def model_error_scale(lam: float, lr: float, sigma: float, clip: float, nu: float = math.inf) -> float:
    """``kappa lr / 2`` with ``kappa = lam P(|sigma T| < c)``: the first-order relative gap between the
    stationary variances of the discrete chain and the SDE when the clipped oracle is linearised at the
    minimiser (exact for SGD on a quadratic of curvature ``kappa``, whose chain has ``1/(1 - kappa lr/2)``
    times the SDE's variance). The nonlinearity of ``m_c`` adds further O(lr) terms; tests use this as the
    stated size of the model error, not as a proven bound."""
    return lam * clip_slope(sigma, clip, nu) * lr / 2


def stationary_moments(lam: float, lr: float, sigma: float, clip: float, nu: float = math.inf, *, n: int = 4001):
    """Mean and variance of the SDE's stationary law on ``f = lam/2 x^2`` (constant schedule), from
    the 1-D Fokker-Planck density ``p(x) ∝ exp(-int_0^x 2 m_c / (lr v_c)) / v_c`` on a grid
    (trapezoid; the clipped drift tends to ``±c``, so the tails are exponential)."""
    from scipy.integrate import cumulative_trapezoid, trapezoid

    m0, v0 = moments(0.0, sigma, clip, nu)
    slope = lam * clip_slope(sigma, clip, nu)
    scale = math.sqrt(lr * float(v0) / (2 * slope))
    # far out the drift tends to -c sign(x) and the variance to 0: the tails are thinner than exp(-2 c |x| / (lr v0))
    half = 14 * scale + 40 * lr * float(v0) / (2 * clip)
    x = np.linspace(-half, half, n)
    m, v = moments(lam * x, sigma, clip, nu)
    v = np.maximum(v, 1e-300)
    expo = -cumulative_trapezoid(2 * m / (lr * v), x, initial=0.0) - np.log(v)
    dens = np.exp(expo - expo.max())
    Z = trapezoid(dens, x)
    mean = trapezoid(x * dens, x) / Z
    var = trapezoid((x - mean) ** 2 * dens, x) / Z
    return float(mean), float(var)


register("clipped", kinds=tuple(KINDS), build=build, matches=lambda opt: isinstance(opt, ClippedSGD))
