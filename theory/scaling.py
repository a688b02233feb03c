"""Scaling rules: is an SDE model invariant under a substitution of hyperparameters?

A model is given symbolically by its drift components ``b`` and diagonal diffusion-squared
components ``D`` (in its own time unit). A rule substitutes hyperparameters (``eta, B, N,
omega, beta, eps, weight decay``). The law of ``X`` is unchanged up to the time change
``t -> r t`` iff every ``b_new / b_old`` and every ``D_new / D_old`` equal one common constant
``r`` that does not depend on the state; ``r = 1`` means the same SDE in the same time.

Models offered (all DERIVED here from the papers' SDEs; the rules are the papers' claims, or derived here
where the papers' exact rule was not recovered):

* ``dsgd()``: ``b = -g``, ``D = eta sigma^2 / (N B)`` (arXiv 2502.17009, DSGD SDE; the linear rule derived here);
* ``dsignsgd_phase3()``: ``b = -c sqrt(B) g / sigma``, ``D = eta / N`` (arXiv 2502.17009, phase-3 DSignSGD SDE; the square-root rule derived here);
* ``malladi_rmsprop()`` / ``malladi_adam()``: Malladi et al.'s SDEs written in the raw
  hyperparameters ``eta, B, beta_i, eps`` through ``sigma0 = sigma eta / sqrt(B)``,
  ``eps0 = eps eta``, ``c_i = (1 - beta_i) / eta^2`` (arXiv 2205.10287, its scaling regime and square-root rule).
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

eta, B, N, kappa, sigma, c = sp.symbols("eta B N kappa sigma c", positive=True)
beta1, beta2, eps = sp.symbols("beta1 beta2 epsilon", positive=True)
g, u, m = sp.symbols("g u m", real=True)  # state: gradient, second-moment and momentum processes


@dataclass(frozen=True)
class SymbolicSDE:
    """An SDE given symbolically: its drift components ``b``, its diagonal diffusion-squared components
    ``D`` (in its own time unit) and the state symbols they may depend on."""

    name: str
    drift: tuple
    diffusion2: tuple
    state: tuple


@dataclass(frozen=True)
class Verdict:
    """Whether a rule keeps a model's law: ``invariant`` (every ``b`` and ``D`` ratio equal to one
    state-free constant), that constant as ``time_factor`` (``t -> r t``), and the ratios themselves."""

    rule: dict
    invariant: bool
    time_factor: sp.Expr | None
    ratios: tuple

    def __str__(self):
        r = ", ".join(f"{k} -> {v}" for k, v in self.rule.items())
        if self.invariant:
            return f"rule {{{r}}}: invariant" + ("" if self.time_factor == 1 else f" up to t -> {self.time_factor} t")
        return f"rule {{{r}}}: NOT invariant (ratios {self.ratios})"


def check(model: SymbolicSDE, rule: dict) -> Verdict:
    """Decide symbolically whether ``rule`` leaves ``model`` invariant (up to a time change)."""
    ratios = []
    for e in model.drift + model.diffusion2:
        if sp.simplify(e) == 0:
            continue
        ratios.append(sp.simplify(e.subs(rule, simultaneous=True) / e))
    r0 = ratios[0]
    same = all(sp.simplify(r - r0) == 0 for r in ratios[1:])
    state_free = not (r0.free_symbols & set(model.state))
    ok = bool(same and state_free)
    return Verdict(rule, ok, sp.simplify(r0) if ok else None, tuple(ratios))


def dsgd() -> SymbolicSDE:
    """DSGD's SDE: drift ``b = -g``, diffusion squared ``D = eta sigma^2 / (N B)`` (derived here)."""
    return SymbolicSDE("DSGD", (-g,), (eta * sigma**2 / (N * B),), (g,))


def dsignsgd_phase3() -> SymbolicSDE:
    """DSignSGD's phase-3 SDE: ``b = -c sqrt(B) g / sigma``, ``D = eta / N`` (derived here)."""
    return SymbolicSDE("DSignSGD (phase 3)", (-c * sp.sqrt(B) * g / sigma,), (eta / N,), (g,))


def _malladi_constants():
    s0 = sigma * eta / sp.sqrt(B)
    return s0, eps * eta, (1 - beta1) / eta**2, (1 - beta2) / eta**2


def malladi_rmsprop() -> SymbolicSDE:
    """Malladi et al.'s RMSprop SDE (arXiv 2205.10287), ``Sigma = 1``: ``dX = -P^-1 (g dt + sigma0 dW)``,
    ``du = c2 (1 - u) dt``, ``P = sigma0 sqrt(u) + eps0``, in the raw hyperparameters."""
    s0, e0, _, c2 = _malladi_constants()
    P = s0 * sp.sqrt(u) + e0
    # dX = -P^-1 (g dt + s0 dW) (Sigma = 1), du = c2 (1 - u) dt
    return SymbolicSDE("Malladi RMSprop", (-g / P, c2 * (1 - u)), ((s0 / P) ** 2, sp.Integer(0)), (g, u))


def malladi_adam() -> SymbolicSDE:
    """Malladi et al.'s Adam SDE (arXiv 2205.10287) at stationary bias corrections: ``dX = -m / P dt``,
    ``dm = c1 (g - m) dt + sigma0 c1 dW``, ``du = c2 (1 - u) dt``, in the raw hyperparameters."""
    s0, e0, c1, c2 = _malladi_constants()
    P = s0 * sp.sqrt(u) + e0  # stationary bias corrections (gamma_i -> 1)
    return SymbolicSDE("Malladi Adam", (-m / P, c1 * (g - m), c2 * (1 - u)),
                       (sp.Integer(0), (s0 * c1) ** 2, sp.Integer(0)), (g, u, m))


RULES = {
    "linear": {eta: kappa * eta, B: kappa * B},
    "square_root_sign": {eta: kappa * eta, B: kappa**2 * B},
    "agents_linear": {eta: kappa * eta, N: kappa * N},
    "malladi_square_root": {eta: sp.sqrt(kappa) * eta, B: kappa * B, beta1: 1 - kappa * (1 - beta1),
                            beta2: 1 - kappa * (1 - beta2), eps: eps / sp.sqrt(kappa)},
}


# ------------------------------------------------------------------ compensating compression (arXiv 2502.17009)
omega = sp.Symbol("omega", nonnegative=True)


def dcsgd(multiplicative: bool = True) -> SymbolicSDE:
    """DCSGD's SDE per coordinate with Bernoulli-type compressors (derived here, after arXiv 2502.17009
    Sec. 4): ``b = -g``, ``D = eta ((1 + omega) sigma^2 / B + omega g^2) / N``. ``multiplicative=False``
    drops the gradient term ``omega g^2`` (the noise-dominated regime near a minimum)."""
    D = eta * (1 + omega) * sigma**2 / (N * B)
    if multiplicative:
        D = D + eta * omega * g**2 / N
    return SymbolicSDE("DCSGD" + ("" if multiplicative else " (noise part)"), (-g,), (D,), (g,))


# The compression paper's rules (arXiv 2502.17009, abstract and Sec. 5: rules in learning rate, batch size
# and number of agents; the exact statements were not recovered, these are derived here as the
# substitutions that give the compressed method DSGD's noise term)
COMPENSATION = {
    "batch": {B: (1 + omega) * B},
    "agents": {N: (1 + omega) * N},
    "lr": {eta: eta / (1 + omega)},
}
# SDE time per iteration is eta, so each route's cost in iterations for the same SDE time
ITERATION_FACTOR = {"batch": sp.Integer(1), "agents": sp.Integer(1), "lr": 1 + omega}


def check_against(reference: SymbolicSDE, model: SymbolicSDE, rule: dict) -> Verdict:
    """Does ``model`` with ``rule`` substituted equal ``reference`` up to a time change? Every drift and
    diffusion component of ``model[rule] / reference`` must be one common, state-free constant."""
    ratios = []
    for a, b in zip(model.drift + model.diffusion2, reference.drift + reference.diffusion2):
        if sp.simplify(a) == 0 and sp.simplify(b) == 0:
            continue
        ratios.append(sp.simplify(a.subs(rule, simultaneous=True) / b))
    r0 = ratios[0]
    same = all(sp.simplify(r - r0) == 0 for r in ratios[1:])
    ok = bool(same and not (r0.free_symbols & set(model.state)))
    return Verdict(rule, ok, sp.simplify(r0) if ok else None, tuple(ratios))


def compensation(route: str, *, multiplicative: bool = False) -> Verdict:
    """Check a compensation route (``batch``, ``agents``, ``lr``) of DCSGD against DSGD.

    Noise part: every route gives DSGD's SDE exactly (time factor 1). With the gradient term kept,
    none is exact: ``batch`` leaves ``omega g^2 / N`` unchanged, ``agents`` and ``lr`` divide it by
    ``1 + omega`` (so they also raise the rate factor ``Delta = 1 - eta L omega / (2N)``)."""
    if route not in COMPENSATION:
        raise ValueError(f"route must be one of {sorted(COMPENSATION)}, got {route!r}")
    return check_against(dsgd(), dcsgd(multiplicative), COMPENSATION[route])
