"""Closed forms for the (L0,L1) paper (arXiv 2506.00181) that the simulations are held to.

Parabola ``f = lambda x^2 / 2`` (one coordinate), DCSGD with ``N`` agents, Bernoulli (or no)
compression of mean ``omega`` and Gaussian noise of variance ``sigma^2`` per agent; step
``eta s_k`` with schedule factor ``s_k`` (derived here):

* discrete second moment ``q_k = E x_k^2``:
  ``q_{k+1} = [(1 - h lambda)^2 + h^2 omega lambda^2 / N] q_k + h^2 (1 + omega) sigma^2 / N``, ``h = eta s_k``;
* SDE models ``dX = -r X dt + s sqrt(eta/N) sqrt(omega lambda^2 X^2 + (1 + omega) sigma^2) dW`` with
  ``r = s lambda - c eta s^2 lambda^2`` (``c = 0`` classic, ``-1/2`` second order, ``+1/2``
  corrected, arXiv 2506.00181 Sec. 4.2 and, with a schedule and compression, Sec. 4.4 (b)):
  ``dq/dt = (-2 r + eta s^2 omega lambda^2 / N) q + eta s^2 (1 + omega) sigma^2 / N``, solved exactly
  over each iteration (``s`` held, duration ``eta``).

Stationary values (constant ``s``): the discrete one is
``eta s (1 + omega) sigma^2 / (N lambda (2 - eta s lambda (1 + omega / N)))`` and the corrected
SDE's is the same expression, exactly (``2 r = s lambda (2 - eta s lambda)``); with ``N = 1``,
``omega = 0``: ``eta sigma^2 / (lambda (2 - eta lambda))``. The classic SDE gives
``eta s (1 + omega) sigma^2 / (N lambda (2 - eta s lambda omega / N))``.

Theorem 4.3 (DSignSGD, Student-t noise) step ceiling ``eta eta_t < ell_nu / K`` with
``K = L1 d sigma_H1 / (2 N) + sqrt(d) (L0 + L1) M_nu`` for the corrected SDE and without the
second term for the classic one (Table 2; recovered). ``ell_nu`` and ``M_nu`` are defined in the
paper's appendix, not recovered: ``candidate_ell`` (``2 Xi_nu(1)``, the lower constant of
``y 2 Xi_nu(y) >= 2 Xi_nu(1) min(y^2, |y|)``) and ``candidate_M`` (the slope of the mean sign at
0, ``2 Xi_nu'(0)``) are candidates (unsure), and ``sigma_H1`` is taken as the harmonic mean of the
agents' scales (unsure).
"""
from __future__ import annotations

import math

import numpy as np

KINDS = {"classic": 0.0, "second_order": -0.5, "corrected": 0.5}


def _kind(kind):
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")
    return KINDS[kind]


def _check_pos(name, v, allow_zero=False):
    v = float(v)
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {v}")
    return v


def parabola_stationary_second_moment(kind, eta, lam, sigma, *, omega=0.0, agents=1, s=1.0):
    """Stationary ``E x^2`` on ``lambda x^2/2`` for ``kind`` = "discrete" or an SDE kind
    (classic, second_order, corrected), step ``eta s``; ``inf`` where the recursion is unstable."""
    eta, lam, sigma = _check_pos("eta", eta), _check_pos("lam", lam), _check_pos("sigma", sigma, True)
    omega, s = _check_pos("omega", omega, True), _check_pos("s", s)
    N = _check_pos("agents", agents)
    b = (1 + omega) * sigma**2 / N
    if kind == "discrete":
        h = eta * s
        den = 1 - (1 - h * lam) ** 2 - h**2 * omega * lam**2 / N
        return h**2 * b / den if den > 0 else math.inf
    c = _kind(kind)
    r = s * lam - c * eta * s**2 * lam**2
    den = 2 * r - eta * s**2 * omega * lam**2 / N
    return eta * s**2 * b / den if den > 0 else math.inf


def parabola_second_moment_path(kind, eta, lam, sigma, x0, factors, *, omega=0.0, agents=1):
    """``E x_k^2`` for ``k = 0 .. len(factors)`` (``factors[k]`` the schedule factor over iteration
    ``k``): the discrete recursion or the SDE's moment ODE solved exactly over each iteration."""
    eta, lam, sigma = _check_pos("eta", eta), _check_pos("lam", lam), _check_pos("sigma", sigma, True)
    omega, N = _check_pos("omega", omega, True), _check_pos("agents", agents)
    f = np.asarray(factors, dtype=float)
    q = np.empty(f.size + 1)
    q[0] = float(x0) ** 2
    b = (1 + omega) * sigma**2 / N
    if kind == "discrete":
        for k, s in enumerate(f):
            h = eta * s
            q[k + 1] = ((1 - h * lam) ** 2 + h**2 * omega * lam**2 / N) * q[k] + h**2 * b
        return q
    c = _kind(kind)
    for k, s in enumerate(f):
        r = s * lam - c * eta * s**2 * lam**2
        alpha = -2 * r + eta * s**2 * omega * lam**2 / N  # dq/dt = alpha q + beta
        beta = eta * s**2 * b
        e = math.exp(alpha * eta)
        q[k + 1] = q[k] * e + (beta * math.expm1(alpha * eta) / alpha if alpha != 0 else beta * eta)
    return q


def parabola_weak_error(kind, eta, lam, sigma, x0, T):
    """Exact ``E f(x_{T/eta}) - E f(X_T)`` (signed) between SGD and the SDE ``kind`` on the parabola,
    constant step: both sides from ``parabola_second_moment_path`` (no Monte Carlo)."""
    n = int(round(T / eta))
    if n < 1 or abs(n * eta - T) > 1e-9 * T:
        raise ValueError(f"T = {T} must be a whole number of steps of eta = {eta}")
    ones = np.ones(n)
    qd = parabola_second_moment_path("discrete", eta, lam, sigma, x0, ones)[-1]
    qs = parabola_second_moment_path(kind, eta, lam, sigma, x0, ones)[-1]
    return lam / 2 * (qd - qs)


def local_orders(etas, errors):
    """``log2``-type local orders ``log(e_i / e_{i+1}) / log(eta_i / eta_{i+1})`` of a ladder."""
    e, r = np.asarray(etas, float), np.abs(np.asarray(errors, float))
    return np.log(r[:-1] / r[1:]) / np.log(e[:-1] / e[1:])


# ------------------------------------------------------------------ Theorem 4.3 (DSignSGD)
def _xi2(nu, y):
    """``2 Xi_nu(y) = E sign(y + T_nu)`` (Gaussian for ``nu = inf``)."""
    from scipy import special, stats

    if math.isinf(nu):
        return special.erf(np.asarray(y, float) / math.sqrt(2))
    return 2 * stats.t.cdf(np.asarray(y, float), nu) - 1


def _check_nu(nu):
    nu = float(nu)
    if not nu > 0:  # inf (Gaussian) allowed
        raise ValueError(f"nu must be > 0 (inf for Gaussian), got {nu}")
    return nu


def candidate_ell(nu):
    """Candidate ``ell_nu = 2 Xi_nu(1)``: ``1/2`` for Cauchy, ``erf(1/sqrt 2)`` for Gaussian (unsure)."""
    nu = _check_nu(nu)
    return float(_xi2(nu, 1.0))


def candidate_M(nu):
    """Candidate ``M_nu = 2 Xi_nu'(0) = 2 Gamma((nu+1)/2) / (sqrt(pi nu) Gamma(nu/2))``: ``2/pi`` for
    Cauchy, ``sqrt(2/pi)`` for Gaussian (unsure)."""
    nu = _check_nu(nu)
    if math.isinf(nu):
        return math.sqrt(2 / math.pi)
    return 2 * math.exp(math.lgamma((nu + 1) / 2) - math.lgamma(nu / 2)) / math.sqrt(math.pi * nu)


def sigma_h1(sigmas):
    """Agent-aggregated scale ``sigma_H1``: the harmonic mean of the agents' scales (unsure)."""
    s = np.asarray(sigmas, float).ravel()
    if s.size == 0 or np.any(~np.isfinite(s)) or np.any(s <= 0):
        raise ValueError("sigmas must be positive and finite")
    return float(1.0 / np.mean(1.0 / s))


def dsignsgd_step_ceiling(*, L0, L1, d, agents, sigma, nu, corrected=True, ell=None, M=None):
    """Theorem 4.3's ceiling ``ell_nu / K`` on ``eta eta_t`` (Table 2 rows for DSignSGD).

    ``K = L1 d sigma_H1 / (2 N) + sqrt(d) (L0 + L1) M_nu`` (corrected SDE) or
    ``L1 d sigma_H1 / (2 N)`` (classic SDE: ``inf`` when that vanishes). ``sigma``: one scale or
    one per agent (``sigma_h1``); ``ell``, ``M`` default to ``candidate_ell(nu)``, ``candidate_M(nu)``.
    """
    L0, L1 = _check_pos("L0", L0), _check_pos("L1", L1, True)
    d, N = _check_pos("d", d), _check_pos("agents", agents)
    sh = sigma_h1(sigma) if np.any(np.asarray(sigma, float) != 0) else 0.0
    ell = candidate_ell(nu) if ell is None else _check_pos("ell", ell)
    M = candidate_M(nu) if M is None else _check_pos("M", M)
    K = L1 * d * sh / (2 * N) + (math.sqrt(d) * (L0 + L1) * M if corrected else 0.0)
    return ell / K if K > 0 else math.inf
