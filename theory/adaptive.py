"""Closed forms for the adaptive-methods paper, arXiv 2411.15958 (Compagnoni, Liu, Islamov, Proske,
Orvieto, Lucchi, ICLR 2025), and the background it builds on (Li, Tai and E's SMEs, arXiv 1511.06251;
Malladi et al.'s adaptive SDEs, arXiv 2205.10287). Provenance per function:

* ``sgd_moments`` / ``sme_moments``: exact first two moments of SGD and of the first- and
  second-order SMEs on ``lambda x^2 / 2`` with additive Gaussian noise (derived here; the SMEs are
  Li-Tai-E's, recalled), and ``em_ou_moments`` those of Euler-Maruyama on a linear SDE;
* ``malladi_stationary_variance``: stationary variance of Malladi et al.'s RMSprop and Adam SDEs on
  a quadratic (sympy Lyapunov solution, derived here; the SDEs are recalled);
* ``batch_rule`` / ``batch_rule_invariants``: Lemma 3.13 of 2411.15958 (AdamW / RMSpropW batch
  scaling). That the lemma exists and targets the stationary loss and the speed is recovered; its
  exact statement is not. Two readings, selectable: ``"derived"`` (``1 - beta_i -> kappa (1 - beta_i)``,
  derived here from the AdamW stationary law) and ``"script"`` (``1 - beta_2 -> sqrt(kappa) (1 - beta_2)``,
  ``beta_1`` kept, as a public training script does; unsure);
* ``sign_covariance_gaussian``: the sign covariance of correlated Gaussian noise (derived here);
* ``student_t_sign_mean``: the Abramowitz-Stegun 26.7.3/26.7.4 closed forms of ``2 F_nu(y) - 1``
  for integer ``nu`` (an independent check of the compiled t CDF);
* ``phase1_bound``: SignSGD's phase-1 (SignGD) loss bound under mu-PL (derived here; Lemma 3.4's
  phase structure is recalled); ``phase3_mean``: the phase-3 Ornstein-Uhlenbeck mean.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
import sympy as sp


# ------------------------------------------------------------------ SGD and its SMEs (weak orders)
def sgd_moments(eta, lam, sigma, x0, T):
    """Discrete SGD on ``lam x^2/2``, ``g = lam x + sigma z``: mean and variance after ``k = T/eta`` steps."""
    k = int(round(T / eta))
    r = 1 - eta * lam
    var = eta**2 * sigma**2 * (1 - r ** (2 * k)) / (1 - r * r)
    return r**k * x0, var


def sme_moments(eta, lam, sigma, x0, T, order=1):
    """First-order SME ``dX = -lam X dt + sqrt(eta) sigma dW`` or second-order SME
    (drift ``-lam (1 + eta lam / 2) X``): mean ``e^{-aT} x0``, variance ``eta sigma^2 (1 - e^{-2aT}) / (2a)``."""
    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order!r}")
    a = lam * (1 + eta * lam / 2) if order == 2 else lam
    return math.exp(-a * T) * x0, eta * sigma**2 * (1 - math.exp(-2 * a * T)) / (2 * a)


def weak_error(eta, lam, sigma, x0, T, order=1):
    """Exact ``|E f(x_k) - E f(X_T)|`` for ``f = lam x^2 / 2`` (no Monte Carlo)."""
    m1, v1 = sgd_moments(eta, lam, sigma, x0, T)
    m2, v2 = sme_moments(eta, lam, sigma, x0, T, order)
    return abs(lam / 2 * (m1**2 + v1) - lam / 2 * (m2**2 + v2))


def em_ou_moments(a, q, dt, n, x0):
    """Euler-Maruyama on ``dX = -a X dt + sqrt(q) dW`` with step ``dt``: after ``n`` steps the mean is
    ``r^n x0`` and the variance ``q dt (1 - r^{2n}) / (1 - r^2)``, ``r = 1 - a dt`` (exact; ``n`` may be an array)."""
    r = 1 - a * dt
    n = np.asarray(n, float)
    return r**n * x0, q * dt * (1 - r ** (2 * n)) / (1 - r * r)


# ------------------------------------------------------------------ Malladi et al.'s SDEs
@lru_cache(maxsize=None)
def malladi_derivation(kind: str) -> sp.Expr:
    """Stationary ``Var X`` of Malladi et al.'s SDE on ``lam x^2 / 2`` with ``Sigma = 1`` and ``u`` at its
    stationary value 1 (``P = sigma0 + eps0``), in their time ``t = k eta^2``:

    RMSprop: ``dX = -(lam X dt + sigma0 dW) / P``;
    Adam:    ``dX = -m / P dt``, ``dm = c1 (lam X - m) dt + sigma0 c1 dW``.
    """
    from .closed_forms import lyapunov

    lam, s0, e0, c1 = sp.symbols("lambda sigma0 epsilon0 c1", positive=True)
    P = s0 + e0
    if kind == "rmsprop":
        return lyapunov(sp.Matrix([[lam / P]]), sp.Matrix([[(s0 / P) ** 2]]))[0]
    if kind == "adam":
        A = sp.Matrix([[0, 1 / P], [-c1 * lam, c1]])
        Q = sp.Matrix([[0, 0], [0, (s0 * c1) ** 2]])
        return sp.simplify(lyapunov(A, Q)[0, 0])
    raise ValueError(f"kind must be 'rmsprop' or 'adam', got {kind!r}")


def malladi_stationary_variance(sigma0, eps0, lam, kind="adam"):
    """``sigma0^2 / (2 lam (sigma0 + eps0))`` for both SDEs (sympy: the Adam value does not depend on ``c1``)."""
    e = malladi_derivation(kind)
    vals = {"sigma0": sigma0, "epsilon0": eps0, "lambda": lam, "c1": 1.0}
    return float(e.subs({s: vals[s.name] for s in e.free_symbols}))


# ------------------------------------------------------------------ Lemma 3.13 batch rule
READINGS = ("derived", "script")


def batch_rule(kappa, reading="derived"):
    """Multipliers of ``(lr, 1 - beta1, 1 - beta2, weight_decay, eps)`` when the batch grows by ``kappa``."""
    if not kappa > 0:
        raise ValueError(f"kappa must be > 0, got {kappa!r}")
    r = math.sqrt(kappa)
    if reading == "derived":
        return {"lr": r, "one_minus_beta1": kappa, "one_minus_beta2": kappa, "weight_decay": r, "eps": 1 / r}
    if reading == "script":
        return {"lr": r, "one_minus_beta1": 1.0, "one_minus_beta2": r, "weight_decay": r, "eps": 1 / r}
    raise ValueError(f"reading must be one of {READINGS}, got {reading!r}")


def apply_batch_rule(opt, kappa, reading="derived"):
    """The AdamW / Adam optimizer (``methods.optimizers``) rescaled by ``batch_rule``."""
    from dataclasses import replace

    m = batch_rule(kappa, reading)
    b1, b2 = opt.betas
    return replace(opt, lr=opt.lr * m["lr"], betas=(1 - (1 - b1) * m["one_minus_beta1"], 1 - (1 - b2) * m["one_minus_beta2"]),
                   weight_decay=opt.weight_decay * m["weight_decay"], eps=opt.eps * m["eps"])


def batch_rule_invariants(reading="derived"):
    """Under the rule and ``sigma -> sigma / sqrt(kappa)``, the ratios (new / old, sympy) of AdamW's
    stationary loss ``(eta/4) rho1/(rho1 + theta) lam sigma / (lam + theta sigma)`` and of its per-step
    relaxation rate ``eta (lam / sigma + theta)`` (the lemma's targets: loss and speed).
    The derived reading gives ``(1, kappa)``: same floor, ``kappa`` times faster per step (same per epoch)."""
    e, r1, th, lam, sg, k = sp.symbols("eta rho1 theta lambda sigma kappa", positive=True)
    m = batch_rule(1.0, reading)  # only to validate the name
    del m
    rk = sp.sqrt(k)
    # rho_i = (1 - beta_i) / eta
    f1 = k / rk if reading == "derived" else 1 / rk
    sub = {e: rk * e, r1: f1 * r1, th: rk * th, sg: sg / rk}
    loss = e / 4 * r1 / (r1 + th) * lam * sg / (lam + th * sg)
    rate = e * (lam / sg + th)
    return (sp.simplify(loss.subs(sub, simultaneous=True) / loss), sp.simplify(rate.subs(sub, simultaneous=True) / rate))


# ------------------------------------------------------------------ signs
def sign_covariance_gaussian(mu, cov):
    """Covariance of ``sign(mu + Z)``, ``Z ~ N(0, cov)`` (derived here): diagonal ``1 - m_i^2``,
    off-diagonal ``1 - 2 Phi(a) - 2 Phi(b) + 4 Phi_2(a, b; r) - m_i m_j`` with ``a = -mu_i / s_i``,
    ``b = -mu_j / s_j``, ``m = 1 - 2 Phi(-mu / s)``; ``(2/pi) arcsin r`` at ``mu = 0``."""
    from scipy import stats

    mu = np.asarray(mu, float)
    cov = np.asarray(cov, float)
    s = np.sqrt(np.diag(cov))
    m = 1 - 2 * stats.norm.cdf(-mu / s)
    d = mu.size
    out = np.empty((d, d))
    for i in range(d):
        out[i, i] = 1 - m[i] ** 2
        for j in range(i + 1, d):
            r = cov[i, j] / (s[i] * s[j])
            a, b = -mu[i] / s[i], -mu[j] / s[j]
            p2 = stats.multivariate_normal([0, 0], [[1, r], [r, 1]]).cdf([a, b])
            e = 1 - 2 * stats.norm.cdf(a) - 2 * stats.norm.cdf(b) + 4 * p2
            out[i, j] = out[j, i] = e - m[i] * m[j]
    return out


def student_t_sign_mean(nu: int, y):
    """``2 F_nu(y) - 1`` by Abramowitz-Stegun 26.7.3 (odd ``nu``) / 26.7.4 (even ``nu``), ``th = arctan(y / sqrt nu)``."""
    if int(nu) != nu or nu < 1:
        raise ValueError(f"nu must be a positive integer for the closed forms, got {nu!r}")
    nu = int(nu)
    th = np.arctan(np.asarray(y, float) / math.sqrt(nu))
    if nu % 2 == 1:
        acc, term = np.zeros_like(th), np.cos(th)
        for j in range((nu - 3) // 2 + 1) if nu >= 3 else []:
            acc = acc + term
            term = term * (2 * j + 2) / (2 * j + 3) * np.cos(th) ** 2
        return 2 / math.pi * (th + np.sin(th) * acc)
    acc, term = np.zeros_like(th), np.ones_like(th)
    for j in range((nu - 2) // 2 + 1):
        acc = acc + term
        term = term * (2 * j + 1) / (2 * j + 2) * np.cos(th) ** 2
    return np.sin(th) * acc


# ------------------------------------------------------------------ phases
def phase1_bound(t, f0, mu):
    """SignGD ODE ``dX = -sign(grad f) dt`` on a mu-PL ``f``: ``d(f - f*)/dt = -||grad f||_1 <= -sqrt(2 mu (f - f*))``,
    so ``f(X_t) - f* <= (sqrt(f0) - sqrt(mu/2) t)_+^2`` (derived here; equality for ``lam x^2/2`` in 1-D)."""
    return np.maximum(math.sqrt(f0) - math.sqrt(mu / 2) * np.asarray(t, float), 0.0) ** 2


def phase3_mean(t, x0, lam, sigma, nu=math.inf, agents_sigma_h=None):
    """Phase-3 SDE ``dX = -c lam X / sigma_H dt + ...``: ``E X_t = exp(-c lam t / sigma_H) x0`` (an OU mean)."""
    from sde.special import slope

    sh = sigma if agents_sigma_h is None else agents_sigma_h
    return np.exp(-slope(nu) * lam * np.asarray(t, float) / sh) * x0


# ------------------------------------------------------------------ (L0,L1)-smoothness inequalities
def l0l1_gradient_bound(L0, L1, grad_norm_y, r):
    """``||grad f(x) - grad f(y)|| <= (L0 + L1 ||grad f(y)||) (e^{L1 r} - 1) / (L1 r) r``, ``r = ||x - y||``
    (global exponential form of (L0,L1)-smoothness, Chen et al. 2023 / Vankov et al. 2025, recalled; derived
    here by Gronwall along the segment: ``G' <= L0 + L1 G`` for ``G(s) = ||grad f||``)."""
    r = np.asarray(r, float)
    phi = np.where(L1 * r > 1e-12, np.expm1(L1 * r) / np.maximum(L1 * r, 1e-300), 1.0)
    return (L0 + L1 * np.asarray(grad_norm_y, float)) * phi * r


def l0l1_descent_bound(f_y, grad_y, x_minus_y, L0, L1):
    """``f(x) <= f(y) + <grad f(y), x - y> + (L0 + L1 ||grad f(y)||)/2 e^{L1 ||x - y||} ||x - y||^2``."""
    d = np.asarray(x_minus_y, float)
    g = np.asarray(grad_y, float)
    r = float(np.linalg.norm(d))
    return float(f_y + g @ d + (L0 + L1 * np.linalg.norm(g)) / 2 * math.exp(L1 * r) * r * r)


def adamw_stationary_variance_c57(eta, lam, sigma, theta):
    """Lemma C.57 of arXiv 2411.15958 *as quoted by a third-party note* (possibly simplified; unsure):
    ``Cov = (eta/2) (H Sigma^(-1/2) + theta I)^-1``, i.e. per coordinate ``(eta/2) / (lam/sigma + theta)``.
    It has no ``rho1/(rho1 + theta)`` factor, which the linearised Lyapunov solution
    (``theory.closed_forms.adamw_stationary_variance``) has; the two agree when ``theta << rho1``."""
    return eta / 2 / (np.asarray(lam, float) / np.asarray(sigma, float) + theta)
