"""Stationary laws and convergence bounds on quadratics, derived by sympy on first use.

Each public function evaluates a formula that sympy derives here (from the discrete
second-moment recursion, or from the stationary Lyapunov equation ``A C + C A^T = Q`` of a
linear SDE); ``derivation(name)`` returns the symbolic result. Source and status:

===============================  ====================================================  ===================================
function                         source                                                status
===============================  ====================================================  ===================================
sgd_stationary_variance          SGD's SME on a quadratic (arXiv 1511.06251)           recovered
sgd_stationary_covariance        arXiv 2411.15958 Lemma 3.8, general H                 recovered (SDE), derived (discrete)
dcsgd_stationary_second_moment   arXiv 2502.17009 (DCSGD SDE; derived here)            derived, checked by simulation
sign_stationary_variance         arXiv 2411.15958 Lemma 3.7; arXiv 2502.17009          derived (phase 3)
rmspropw_stationary_variance     arXiv 2411.15958 (RMSpropW SDE)                       derived here, checked numerically
adamw_stationary_variance        arXiv 2411.15958 (Lemma C.57 is the theta << rho1     derived here (Lyapunov equation),
                                 limit of this form)                                   checked numerically
dsignsgd_floor / dcsgd_floor     arXiv 2502.17009 (floors; derived here)               derived
crossover_sigma                  arXiv 2502.17009 (noise resilience; derived here)     derived
sgd_pl_bound, dcsgd_pl_bound     arXiv 2411.15958; arXiv 2502.17009                    derived here
dsignsgd_pl_bound                arXiv 2502.17009 (phase 3; derived here)              derived
dcsgd_nonconvex_bound            arXiv 2502.17009 (L-smooth; derived here)             derived
l0l1_dcsgd_gradient_bound        arXiv 2506.00181 Theorem 4.2 (its structure)          derived here
===============================  ====================================================  ===================================
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy as sp

eta, lam, sig, omega, N, theta, rho1, c = sp.symbols("eta lambda sigma omega N theta rho1 c", positive=True)
s2, ws2 = sp.symbols("s2 ws2", positive=True)  # mean(sigma_i^2), mean(omega_i sigma_i^2) over agents
v = sp.Symbol("v")


def lyapunov(A: sp.Matrix, Q: sp.Matrix) -> sp.Matrix:
    """Stationary covariance of ``dY = -A Y dt + Q^(1/2) dW``: solves ``A C + C A^T = Q``."""
    n = A.shape[0]
    C = sp.Matrix(n, n, lambda i, j: sp.Symbol(f"C{min(i, j)}{max(i, j)}"))
    sol = sp.solve(list(A * C + C * A.T - Q), list(C.free_symbols), dict=True)[0]
    return C.subs(sol).applyfunc(sp.simplify)


@lru_cache(maxsize=None)
def derivation(name: str) -> sp.Expr:
    """The symbolic stationary variance (per coordinate, ``f = lambda x^2/2``) behind each function."""
    if name == "sgd_discrete":
        # v = (1 - eta lam)^2 v + eta^2 sigma^2
        return sp.solve(sp.Eq(v, (1 - eta * lam) ** 2 * v + eta**2 * sig**2), v)[0]
    if name == "sgd_sde":
        return lyapunov(sp.Matrix([[lam]]), sp.Matrix([[eta * sig**2]]))[0]
    if name == "dcsgd_discrete":
        # Bernoulli compressors omega_i per agent: per-step noise variance
        # (eta^2 / N) (mean(omega) lam^2 v + mean(sigma^2) + mean(omega sigma^2))
        return sp.solve(sp.Eq(v, (1 - eta * lam) ** 2 * v + eta**2 / N * (omega * lam**2 * v + s2 + ws2)), v)[0]
    if name == "dcsgd_sde":
        # dX = -lam X dt + sqrt(eta/N) sqrt(s2 + ws2 + mean(omega) lam^2 X^2) dW: second-moment ODE
        return sp.solve(sp.Eq(0, -2 * lam * v + eta / N * (s2 + ws2 + omega * lam**2 * v)), v)[0]
    if name == "sign_phase3":
        # dX = -c lam X / sigma dt + sqrt(eta / N) dW
        return lyapunov(sp.Matrix([[c * lam / sig]]), sp.Matrix([[eta / N]]))[0]
    if name == "rmspropw":
        # dX = -(lam / sigma + theta) X dt + sqrt(eta) dW   (P ~ sigma, eps neglected)
        return lyapunov(sp.Matrix([[lam / sig + theta]]), sp.Matrix([[eta]]))[0]
    if name == "adamw":
        # linearised (X, M): dX = -(M / sigma + theta X) dt, dM = rho1 (lam X - M) dt + sqrt(eta) rho1 sigma dW
        A = sp.Matrix([[theta, 1 / sig], [-rho1 * lam, rho1]])
        Q = sp.Matrix([[0, 0], [0, eta * rho1**2 * sig**2]])
        return lyapunov(A, Q)[0, 0]
    raise ValueError(f"unknown derivation {name!r}")


@lru_cache(maxsize=None)
def _fn(name):
    e = derivation(name)
    syms = sorted(e.free_symbols, key=lambda s: s.name)
    return syms, sp.lambdify(syms, e, "numpy")


def _eval(name, **values):
    syms, fn = _fn(name)
    return fn(*[values[s.name] for s in syms])


def sgd_stationary_variance(eta, lam, sigma, *, discrete=True):
    """``eta sigma^2 / (lam (2 - eta lam))`` (discrete SGD) or ``eta sigma^2 / (2 lam)`` (SDE)."""
    return _eval("sgd_discrete" if discrete else "sgd_sde", eta=eta, **{"lambda": lam}, sigma=sigma)


def dcsgd_stationary_second_moment(eta, h, sigma, omega, agents, *, discrete=True):
    """``E x_j^2`` of DCSGD on ``sum h_j x_j^2 / 2`` with Bernoulli compressors and Gaussian noise
    (arXiv 2502.17009, derived here): ``sigma`` and ``omega`` are scalars or one per agent; the formula uses
    ``mean(sigma^2)``, ``mean(omega sigma^2)`` and ``mean(omega)``."""
    sg = np.broadcast_to(np.asarray(sigma, dtype=float), (agents,))
    om = np.broadcast_to(np.asarray(omega, dtype=float), (agents,))
    return _eval("dcsgd_discrete" if discrete else "dcsgd_sde", eta=eta, **{"lambda": np.asarray(h, float)},
                 s2=float(np.mean(sg**2)), ws2=float(np.mean(om * sg**2)), omega=float(om.mean()), N=agents)


def sigma_harmonic(sigma, agents=None):
    """Harmonic mean over agents: a scalar for a scalar or a per-agent list (shape ``(N,)``), one per
    coordinate ``sigma_H,j = (mean_i 1/sigma_ij)^-1`` for a table of shape ``(N, d)`` (arXiv
    2502.17009's stationary law with per-coordinate scales; derived)."""
    s = np.asarray(sigma, dtype=float)
    if np.any(s <= 0):
        raise ValueError("sigma must be > 0 for every agent and coordinate")
    if s.ndim == 2:
        if agents is not None and s.shape[0] != agents:
            raise ValueError(f"sigma: a table must have one row per agent ({agents}), got shape {s.shape}")
        return 1.0 / np.mean(1.0 / s, axis=0)
    if s.ndim > 2:
        raise ValueError(f"sigma must be a scalar, one per agent, or an (agents, d) table; got shape {s.shape}")
    return 1.0 / float(np.mean(1.0 / s))


def sign_stationary_variance(eta, lam, sigma, *, agents=1, nu=math.inf):
    """Phase-3 stationary variance of (D)SignSGD: ``eta sigma_H / (2 N c_nu lam)``.

    ``sigma``: a scalar or one per agent (harmonic mean over agents), or an ``(agents, d)`` table, in
    which case each coordinate ``j`` has its own ``sigma_H,j`` and the result has one entry per
    coordinate (``lam`` broadcast against ``d``)."""
    from sde.special import slope

    sh = sigma_harmonic(sigma, agents)
    return _eval("sign_phase3", eta=eta, **{"lambda": np.asarray(lam, float)}, sigma=sh, N=agents, c=slope(nu))


def rmspropw_stationary_variance(eta, lam, sigma, theta):
    """``(eta/2) (lam/sigma + theta)^-1``."""
    return _eval("rmspropw", eta=eta, **{"lambda": lam}, sigma=sigma, theta=theta)


def adamw_stationary_variance(eta, lam, sigma, rho1, theta):
    """``(eta/2) rho1/(rho1 + theta) (lam/sigma + theta)^-1`` (reduces to Adam's ``eta sigma/(2 lam)``
    at ``theta = 0``)."""
    return _eval("adamw", eta=eta, **{"lambda": lam}, sigma=sigma, rho1=rho1, theta=theta)


def loss_from_variances(h, var):
    """``E f = sum_j h_j var_j / 2`` for ``f = sum h_j x_j^2 / 2`` centred at the mean 0."""
    return float(np.sum(0.5 * np.asarray(h, float) * np.asarray(var, float)))


def dsignsgd_floor(eta, d, sigma, agents, nu=math.inf):
    """``E f_inf ~ eta d sigma_H / (4 N c_nu)`` (phase 3, independent of the curvatures); with an
    ``(agents, d)`` table of scales, ``sum_j eta sigma_H,j / (4 N c_nu)``."""
    var = np.asarray(sign_stationary_variance(eta, 1.0, sigma, agents=agents, nu=nu), float)
    if var.ndim == 0:
        return d * 0.5 * float(var)
    if var.size != d:
        raise ValueError(f"sigma: the table has {var.size} coordinates, d = {d}")
    return float(0.5 * var.sum())


def dcsgd_floor(eta, h, sigma, omega, agents, *, discrete=False):
    """DCSGD's stationary ``E f`` on ``sum h_j x_j^2 / 2`` with Bernoulli compressors: the SDE's
    (default) or the discrete method's exact value (``discrete=True``), from
    ``dcsgd_stationary_second_moment`` (arXiv 2502.17009; derived here)."""
    return loss_from_variances(h, dcsgd_stationary_second_moment(eta, h, sigma, omega, agents, discrete=discrete))


def crossover_sigma(omega):
    """sigma above which DSignSGD's floor is below DCSGD's at equal eta (homogeneous agents,
    small eta): solves ``sqrt(pi/2) sigma = (1 + omega) sigma^2``."""
    s = sp.Symbol("s", positive=True)
    root = sp.solve(sp.Eq(sp.sqrt(sp.pi / 2) * s, (1 + sp.Float(omega)) * s**2), s)
    return float(root[0])


def sgd_pl_bound(t, f0, mu, L, d, sigma, eta):
    """SGD SDE under mu-PL, L-smooth, ``Sigma = sigma^2 I``:
    ``(f0 - f*) e^(-2 mu t) + (eta L d sigma^2 / (4 mu)) (1 - e^(-2 mu t))``."""
    e = np.exp(-2 * mu * np.asarray(t, float))
    return f0 * e + eta * L * d * sigma**2 / (4 * mu) * (1 - e)


def dcsgd_pl_bound(t, f0, mu, L, d, sigma, omega, agents, eta):
    """DCSGD SDE (homogeneous agents): rate ``2 mu Delta``, ``Delta = 1 - eta L omega / (2N)``, floor
    ``eta L d (1 + omega) sigma^2 / (4 mu N Delta)``; needs ``Delta > 0``."""
    delta = 1 - eta * L * omega / (2 * agents)
    if delta <= 0:
        raise ValueError(f"eta must be < 2N/(L omega) = {2 * agents / (L * omega):.4g} for the bound to hold")
    e = np.exp(-2 * mu * delta * np.asarray(t, float))
    return f0 * e + (1 - e) * eta * L * d * (1 + omega) * sigma**2 / (4 * mu * agents * delta)


def dsignsgd_pl_bound(t, f0, mu, L, d, sigma_h, agents, eta, nu=math.inf):
    """DSignSGD SDE, phase 3: rate ``2 mu c / sigma_H``, floor ``eta L d sigma_H / (4 mu c N)``."""
    from sde.special import slope

    cn = slope(nu)
    e = np.exp(-2 * mu * cn * np.asarray(t, float) / sigma_h)
    return f0 * e + (1 - e) * eta * L * d * sigma_h / (4 * mu * cn * agents)


def dcsgd_nonconvex_bound(T, f_gap, L, d, sigma, omega, agents, eta):
    """L-smooth, non-convex, homogeneous agents (SGD: ``omega = 0``, ``agents = 1``):
    ``E ||grad f(X_t)||^2`` at ``t`` uniform on ``[0, T]`` is at most
    ``f_gap / (Delta T) + eta L d (1 + omega) sigma^2 / (2 N Delta)``, ``Delta = 1 - eta L omega / (2N)``."""
    delta = 1 - eta * L * omega / (2 * agents)
    if delta <= 0:
        raise ValueError(f"eta must be < 2N/(L omega) = {2 * agents / (L * omega):.4g} for the bound to hold")
    return f_gap / (delta * np.asarray(T, float)) + eta * L * d * (1 + omega) * sigma**2 / (2 * agents * delta)


def l0l1_dcsgd_gradient_bound(f_gap, L0, L1, d, agents, eta, int_eta, int_eta2, *, sigma0=0.0, omega=0.0,
                              epsilon=0.5):
    """Corrected DCSGD SDE under (L0,L1)-smoothness and affine variance, when the step obeys
    the Theorem-4.2 ceiling with margin ``epsilon`` (arXiv 2506.00181 Theorem 4.2's structure; derived here):
    ``E ||grad f(X_that)||^2 <= (f_gap + eta (L0 + L1) d B / (2N) int eta_s^2) / ((1 - epsilon) int eta_s)``
    with ``B = sigma0^2 (1 + omega)`` (homogeneous agents) and ``that`` drawn with density
    ``eta_s / int eta``; ``int_eta``, ``int_eta2`` are the schedule integrals over ``[0, t]``."""
    Bc = sigma0**2 * (1 + omega)
    return (f_gap + eta * (L0 + L1) * d * Bc / (2 * agents) * int_eta2) / ((1 - epsilon) * int_eta)


def sgd_stationary_covariance(H, Sigma, eta, *, discrete=True):
    """Stationary covariance of SGD on ``(x - c)^T H (x - c) / 2`` with noise covariance ``Sigma``
    (mean ``c``). Discrete: ``C = (I - eta H) C (I - eta H)^T + eta^2 Sigma``; SDE:
    ``H C + C H = eta Sigma`` (``= eta/2 H^-1 Sigma`` when they commute, arXiv 2411.15958 Lemma 3.8)."""
    from scipy import linalg

    H = np.asarray(H, float)
    Sigma = np.asarray(Sigma, float)
    if discrete:
        A = np.eye(H.shape[0]) - eta * H
        if np.max(np.abs(np.linalg.eigvals(A))) >= 1:
            raise ValueError("eta: the discrete map is unstable (eta >= 2 / lambda_max), no stationary law")
        return linalg.solve_discrete_lyapunov(A, eta**2 * Sigma)
    return linalg.solve_continuous_lyapunov(-H, -eta * Sigma)
