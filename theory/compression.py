"""Compression quantities of arXiv 2502.17009 (Compagnoni, Islamov, Proske, Lucchi) on quadratics,
derived here from the discrete second-moment recursion and from the SDE by Ito's formula.

The paper's own theorem statements and numbering were not recovered; every formula below is
**derived** (its structure is the paper's: compression multiplies the noise by ``1 + omega`` and
adds a gradient-proportional term ``omega_bar (grad f)^2`` that slows convergence and bounds the step).

Setting: ``f = sum_j h_j x_j^2 / 2``, ``N`` agents, agent ``i`` sends ``C_i(grad f + Z_i)`` with a
Bernoulli compressor of parameter ``omega_i`` and Gaussian (or finite-variance) noise ``Z_i`` of
variance ``sigma_i^2`` per coordinate. Write ``s2 = mean(sigma^2)``, ``ws2 = mean(omega sigma^2)``,
``w = mean(omega)``. Per coordinate the second moment ``v = E x_j^2`` obeys

* discrete DCSGD:  ``v' = [(1 - eta h)^2 + eta^2 w h^2 / N] v + eta^2 (s2 + ws2) / N``;
* its SDE (Euler-Maruyama step ``dt``): ``v' = [(1 - h dt)^2 + eta dt w h^2 / N] v + eta dt (s2 + ws2) / N``;
* the SDE itself (``dt -> 0``): ``dv/dt = (-2h + eta w h^2 / N) v + eta (s2 + ws2) / N``.

The discrete chain *is* the EM recursion with ``dt = eta``: agreement of the first two moments of
DCSGD and its EM-integrated SDE at ``dt = eta`` holds by construction and is no evidence for the
SDE; the SDE's own predictions (``dt -> 0``) differ from the discrete ones at ``O(eta)``, which is what
the tests of this module measure.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy as sp

eta, h, w, N, dt = sp.symbols("eta h omega N dt", positive=True)


def _agent_means(sigma, omega, agents):
    if not isinstance(agents, (int, np.integer)) or agents < 1:
        raise ValueError(f"agents must be a positive integer, got {agents!r}")
    sg = np.broadcast_to(np.asarray(sigma, dtype=float), (agents,))
    om = np.broadcast_to(np.asarray(omega, dtype=float), (agents,))
    if np.any(om < 0):
        raise ValueError("omega must be >= 0")
    return float(np.mean(sg**2)), float(np.mean(om * sg**2)), float(om.mean())


@lru_cache(maxsize=None)
def second_moment_ceiling(kind: str = "sde"):
    """Largest ``eta`` for which ``E x^2`` of DCSGD stays bounded on ``h x^2 / 2`` (sympy, derived here).

    ``kind="sde"``: the SDE's growth rate ``-2h + eta omega h^2 / N < 0``  <=>  ``eta < 2N / (omega h)``
    (the compression paper's requirement ``eta < 2N / (omega_bar h_max)``);
    ``kind="discrete"``: ``(1 - eta h)^2 + eta^2 omega h^2 / N < 1``  <=>  ``eta < 2N / (h (N + omega))``.
    """
    if kind == "sde":
        excess = -2 * h + eta * w * h**2 / N          # growth rate of E X^2 without noise
    elif kind == "discrete":
        excess = (1 - eta * h) ** 2 + eta**2 * w * h**2 / N - 1
    else:
        raise ValueError(f"kind must be 'sde' or 'discrete', got {kind!r}")
    # the excess is negative on (0, root) and positive beyond: the boundary is its positive root
    root = [r for r in sp.solve(excess, eta) if r != 0][0]
    assert sp.simplify(excess.subs(eta, root / 2)) .subs({h: 1, w: 1, N: 1}) < 0
    return sp.simplify(root)


def ceiling(h_max, omega, agents, *, kind="sde"):
    """``second_moment_ceiling(kind)`` evaluated (``omega`` the agents' mean ``omega_bar``)."""
    if omega <= 0 and kind == "sde":
        return math.inf
    return float(second_moment_ceiling(kind).subs({h: h_max, w: omega, N: agents}))


def growth_factor(eta_, h_, omega, agents, dt_=None):
    """One-step factor ``a`` of ``v' = a v + b`` (no noise): EM with step ``dt`` (``dt = eta``: the
    discrete method), or, with ``dt=None``, ``exp(rate)`` per unit time of the exact SDE."""
    h_ = np.asarray(h_, float)
    if dt_ is None:
        return np.exp(-2 * h_ + eta_ * omega * h_**2 / agents)
    return (1 - h_ * dt_) ** 2 + eta_ * dt_ * omega * h_**2 / agents


def mean_square(t, eta_, h_, sigma, omega, agents, x0, *, dt_=None):
    """Exact ``E x_j^2`` at SDE times ``t`` (array, shape ``(len(t), d)``), from ``x_0 = x0``.

    ``dt_=None``: the DCSGD SDE (Bernoulli compressors); ``dt_ = eta``: discrete DCSGD;
    other ``dt_``: the SDE's Euler-Maruyama chain (``t`` must be multiples of ``dt_``)."""
    s2, ws2, om = _agent_means(sigma, omega, agents)
    h_ = np.atleast_1d(np.asarray(h_, float))
    x0 = np.broadcast_to(np.asarray(x0, float), h_.shape)
    t = np.atleast_1d(np.asarray(t, float))[:, None]
    if dt_ is None:
        rate = -2 * h_ + eta_ * om * h_**2 / agents
        src = eta_ * (s2 + ws2) / agents
        with np.errstate(divide="ignore", invalid="ignore"):
            vinf = -src / rate
        return vinf + (x0**2 - vinf) * np.exp(rate * t)
    n = np.rint(t / dt_)
    if np.any(np.abs(n * dt_ - t) > 1e-9 * np.maximum(1.0, t)):
        raise ValueError("t must be multiples of dt_")
    a = growth_factor(eta_, h_, om, agents, dt_)
    b = eta_ * dt_ * (s2 + ws2) / agents
    with np.errstate(divide="ignore", invalid="ignore"):
        vinf = b / (1 - a)
    return vinf + (x0**2 - vinf) * a**n


def expected_loss(t, eta_, h_, sigma, omega, agents, x0, *, dt_=None):
    """``E f(x_t) = sum_j h_j E x_j^2 / 2`` from ``mean_square``."""
    h_ = np.atleast_1d(np.asarray(h_, float))
    return (0.5 * h_ * mean_square(t, eta_, h_, sigma, omega, agents, x0, dt_=dt_)).sum(axis=1)


def student_t_variance(sigma, nu):
    """Variance ``sigma^2 nu / (nu - 2)`` of ``sigma T_nu``; ``nu <= 2`` has none (ValueError)."""
    if not nu > 2:
        raise ValueError(f"nu must be > 2 for a finite variance (DCSGD has no SDE and no floor otherwise), got {nu!r}")
    return np.asarray(sigma, float) ** 2 * nu / (nu - 2)


def dcsgd_student_t_floor(eta_, h_, sigma, nu, omega, agents, *, discrete=True):
    """DCSGD's stationary ``E f`` under Student-t noise of scale ``sigma`` (``nu > 2``): the Gaussian
    formula with ``sigma^2`` replaced by the variance ``sigma^2 nu / (nu - 2)`` (derived here); at small
    ``eta``, homogeneous agents: ``eta d (1 + omega) sigma^2 nu / (4 N (nu - 2))``."""
    from .closed_forms import dcsgd_floor

    sd = np.sqrt(student_t_variance(sigma, nu))
    return dcsgd_floor(eta_, h_, sd, omega, agents, discrete=discrete)


def covariance_trace_bound(grad, noise_traces, omegas):
    """Trace bound on the transmitted covariance for any unbiased compressors (derived here):
    ``tr Sigma~ <= omega_bar ||grad f||^2 + mean_i (1 + omega_i) tr Sigma_i``."""
    om = np.asarray(omegas, float)
    tr = np.broadcast_to(np.asarray(noise_traces, float), om.shape)
    return float(om.mean() * np.sum(np.asarray(grad, float) ** 2) + np.mean((1 + om) * tr))


def sign_drift(grad, sigma, nu=math.inf):
    """``grad f . m`` with ``m = mean_i E sign(grad f + sigma_i Z)`` (``sigma`` per agent, or per agent and
    coordinate, shape ``(N, d)``)."""
    from scipy import special, stats

    g = np.asarray(grad, float)
    s = np.asarray(sigma, float)
    s = s[:, None] if s.ndim == 1 else np.atleast_2d(s)
    y = g[None, :] / s
    m = special.erf(y / math.sqrt(2)) if math.isinf(nu) else 2 * stats.t.cdf(y, nu) - 1
    return float(np.sum(g * m.mean(axis=0)))


def sign_drift_constant(nu=math.inf):
    """``l_nu = E sign(1 + T)``: ``erf(1/sqrt 2) = 0.6827`` (Gaussian), ``1/2`` (Cauchy)."""
    from scipy import special, stats

    return float(special.erf(1 / math.sqrt(2)) if math.isinf(nu) else 2 * stats.t.cdf(1.0, nu) - 1)


def sign_drift_lower_bound(grad, sigma, nu=math.inf):
    """``grad f . m >= l_nu mean_i sum_j min(|g_j|, g_j^2 / sigma_ij)`` (derived here: ``E sign`` is odd,
    increasing and concave on ``[0, inf)`` for any symmetric unimodal noise, so ``m(y) >= l y`` for
    ``y <= 1`` and ``m(y) >= l`` for ``y >= 1``; equality where ``|g_j| = sigma_ij``)."""
    g = np.abs(np.asarray(grad, float))
    s = np.asarray(sigma, float)
    s = s[:, None] if s.ndim == 1 else np.atleast_2d(s)
    return float(sign_drift_constant(nu) * np.mean(np.sum(np.minimum(g[None, :], g[None, :] ** 2 / s), axis=1)))


def scheduled_mean_square(eta_, h_, sigma, omega, agents, x0, s, *, refine=None):
    """``E x^2`` of DCSGD on ``h x^2 / 2`` (one coordinate) with schedule factors ``s[k]`` held over iteration
    ``k``, at iterations ``0..len(s)``: the discrete method (``refine=1``), the SDE's EM chain with ``refine``
    substeps per iteration, or (``refine=None``) the SDE itself, solved exactly on each iteration:
    ``dv/dt = (-2 s h + s^2 eta omega h^2 / N) v + s^2 eta (s2 + ws2) / N`` (derived here)."""
    s2, ws2, om = _agent_means(sigma, omega, agents)
    s = np.asarray(s, float)
    v = np.empty(s.size + 1)
    v[0] = float(x0) ** 2
    for k, sk in enumerate(s):
        c = sk * sk * eta_ * (s2 + ws2) / agents
        if refine is None:
            r = -2 * sk * h_ + sk * sk * eta_ * om * h_**2 / agents
            e = math.exp(r * eta_)
            v[k + 1] = e * v[k] + (c * (e - 1) / r if r != 0 else c * eta_)
        else:
            dt_ = eta_ / refine
            a = (1 - sk * h_ * dt_) ** 2 + sk * sk * eta_ * dt_ * om * h_**2 / agents
            x = v[k]
            for _ in range(refine):
                x = a * x + c * dt_
            v[k + 1] = x
    return v


def scheduled_gradient_identity(eta_, h_, sigma, omega, agents, x0, s):
    """For the DCSGD SDE on ``h x^2 / 2`` (``L = mu = h``, ``d = 1``) with schedule ``s``: returns
    ``(lhs, rhs, average, bound)``. ``lhs = int s Delta_s E|f'|^2 dt`` and ``rhs = f0 - E f(T) +
    eta h (s2 + ws2)/(2N) int s^2 dt`` (Ito's formula, an identity; ``Delta_s = 1 - s eta omega h/(2N)``);
    ``average = int s E|f'|^2 / int s`` (the gradient at a time drawn with density ``s / int s``) and
    ``bound = 2 (f0 + eta h (s2 + ws2)/(2N) int s^2) / int s``, valid while ``s eta h omega/(2N) <= 1/2``."""
    s2, ws2, om = _agent_means(sigma, omega, agents)
    s = np.asarray(s, float)
    v = scheduled_mean_square(eta_, h_, sigma, omega, agents, x0, s)
    lhs = avg_num = 0.0
    for k, sk in enumerate(s):  # exact integral of v over iteration k
        c = sk * sk * eta_ * (s2 + ws2) / agents
        r = -2 * sk * h_ + sk * sk * eta_ * om * h_**2 / agents
        iv = -c * eta_ / r + (v[k] + c / r) * (math.exp(r * eta_) - 1) / r
        delta = 1 - sk * eta_ * om * h_ / (2 * agents)
        lhs += sk * delta * h_**2 * iv
        avg_num += sk * h_**2 * iv
    int_s, int_s2 = eta_ * s.sum(), eta_ * (s**2).sum()
    const = eta_ * h_ * (s2 + ws2) / (2 * agents)
    f0, fT = h_ * v[0] / 2, h_ * v[-1] / 2
    if np.any(s * eta_ * h_ * om / (2 * agents) > 0.5):
        raise ValueError("s: the bound needs s eta h omega / (2N) <= 1/2 at every step")
    return lhs, f0 - fT + const * int_s2, avg_num / int_s, 2 * (f0 + const * int_s2) / int_s
