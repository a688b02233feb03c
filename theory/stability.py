"""Symbolic step-size stability of discrete maps and of their SDE models (sympy).

* Quadratic ``f = lambda x^2 / 2``: GD ``x' = (1 - eta lambda) x`` is stable iff
  ``|1 - eta lambda| < 1``, i.e. ``0 < eta < 2/lambda``. The deterministic parts of the SDE
  models are linear ODEs ``dX = -a X dt`` with ``a = lambda`` (classic), ``lambda (1 + eta lambda/2)``
  (second order) and ``lambda (1 - eta lambda/2)`` (corrected); they are stable iff ``a > 0``
  (arXiv 2506.00181, Table 2, recovered).
* Quartic ``f = x^4 / 4``: GD ``x' = x (1 - eta x^2)`` contracts iff ``|1 - eta x^2| < 1``
  (``eta x^2 < 2``, iterate-dependent); the corrected ODE's loss drift
  ``-x^6 + (3 eta/2) x^8`` is negative iff ``eta x^2 < 2/3`` (arXiv 2506.00181, Table 2: repulsive for large ``|x|``; the threshold derived here).
* DCSGD under (L0,L1)-smoothness, affine variance and compression: the Theorem 4.2 step
  ceiling (arXiv 2506.00181 Theorem 4.2, Eq. 15, recovered form) and its classic-SDE counterpart (Table 2).
"""
from __future__ import annotations

import sympy as sp

eta, lam, x = sp.symbols("eta lambda x", positive=True)
MODEL_RATES = {
    "classic": lam,
    "second_order": lam * (1 + eta * lam / 2),
    "corrected": lam * (1 - eta * lam / 2),
}


def gd_quadratic_region():
    """Set of ``eta > 0`` for which GD on ``lambda x^2/2`` converges: ``(0, 2/lambda)``."""
    return sp.solve_univariate_inequality(sp.Abs(1 - eta * lam) < 1, eta, relational=False, domain=sp.Interval.open(0, sp.oo))


def model_quadratic_region(kind: str):
    """Set of ``eta > 0`` for which the model's ODE ``dX = -a X dt`` converges (``a > 0``)."""
    if kind not in MODEL_RATES:
        raise ValueError(f"kind must be one of {sorted(MODEL_RATES)}, got {kind!r}")
    return sp.solve_univariate_inequality(MODEL_RATES[kind] > 0, eta, relational=False,
                                          domain=sp.Interval.open(0, sp.oo))


def gd_quartic_region():
    """Values of ``u = eta x^2`` for which a GD step on ``x^4/4`` contracts: ``(0, 2)``."""
    u = sp.Symbol("u", positive=True)
    return sp.solve_univariate_inequality(sp.Abs(1 - u) < 1, u, relational=False, domain=sp.Interval.open(0, sp.oo))


CURVATURE_COEFF = {"classic": 0, "second_order": -sp.Rational(1, 2), "corrected": sp.Rational(1, 2)}


def model_quartic_region(kind: str):
    """Values of ``u = eta x^2`` where the model's ODE on ``x^4/4`` decreases the loss, and the
    loss drift ``b f'`` with ``b = -f' + c eta f'' f'`` (derived here, not pasted).

    classic and second order: every ``u > 0``; corrected: ``u < 2/3`` (derived here).
    """
    if kind not in CURVATURE_COEFF:
        raise ValueError(f"kind must be one of {sorted(CURVATURE_COEFF)}, got {kind!r}")
    f = x**4 / 4
    fp, fpp = sp.diff(f, x), sp.diff(f, x, 2)
    loss_drift = sp.expand((-fp + CURVATURE_COEFF[kind] * eta * fpp * fp) * fp)
    u = sp.Symbol("u", positive=True)
    reduced = sp.simplify(loss_drift / x**6).subs(eta, u / x**2)
    return sp.solve_univariate_inequality(sp.simplify(reduced) < 0, u, relational=False,
                                          domain=sp.Interval.open(0, sp.oo)), sp.factor(loss_drift)


def corrected_quartic_region():
    """``model_quartic_region("corrected")``."""
    return model_quartic_region("corrected")


def dcsgd_step_ceiling(corrected: bool = True):
    """The (L0,L1) DCSGD step ceiling ``eta eta_t < ...`` (arXiv 2506.00181 Theorem 4.2 / Table 2).

    Symbols: ``L0, L1, G_norm`` (= E||grad f||), ``omega`` (mean), ``s0w, s1w`` (means of
    ``sigma0^2 omega``, ``sigma1^2 omega``), ``s0, s1`` (means of ``sigma0^2``, ``sigma1^2``),
    ``d, N, epsilon``. ``corrected=False`` gives the classic-SDE row (no "1 +").
    """
    L0, L1, G_norm, omega, s0, s1, s0w, s1w, d, N, epsilon = sp.symbols(
        "L0 L1 G_norm omega s0 s1 s0w s1w d N epsilon", nonnegative=True)
    G = L0 + L1 * G_norm
    A = omega + d * (s1w + s1)
    B = s0 + s0w
    bracket = (1 + A / N) if corrected else A / N
    return 2 * epsilon / (G * bracket + L1 * d * B / N)
