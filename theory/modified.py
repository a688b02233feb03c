"""Modified equations by generator matching (sympy), in one dimension with a generic ``f``.

A one-step rule ``x' = x + Delta`` is given by the moments of its increment,
``E Delta`` and ``E Delta^2`` (expressions in ``x``, ``eta`` and derivatives of ``f``). Two
matchings decide the unknown drift coefficient ``alpha`` of a candidate family
``dX = (b0 + alpha eta b1) dt + sqrt(eta s2) dW``:

* ``match_loss_drift``: the (L0,L1) paper's criterion (arXiv 2506.00181, the derivation of its Eq. 27): the SDE's loss drift
  ``L f`` must equal the discrete one-step loss change per unit time
  ``(E f(x') - f(x)) / eta = (f' E Delta + f'' E Delta^2 / 2) / eta + O(eta^2)`` up to O(eta);
* ``match_one_step_weak``: Li-Tai-E's second-order criterion (arXiv 1511.06251): for every
  test function ``g``, ``E g(X_eta) = g + eta L g + eta^2 L^2 g / 2 + ...`` must match
  ``E g(x')`` to O(eta^2) (checked on ``g = f`` in the deterministic case).

For SGD (``Delta = -eta (f' + sigma xi)``) and the basis ``b1 = f'' f'`` the first gives
``alpha = +1/2`` (the corrected model) and the second ``alpha = -1/2`` (Li-Tai-E's SME2),
whose loss drift then has the wrong sign in its O(eta) curvature term. Everything here is
derived by sympy when called; nothing is pasted in.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

x, eta, sigma, alpha = sp.symbols("x eta sigma alpha", real=True)
f = sp.Function("f")


def d(n: int):
    """The n-th derivative of f at x."""
    return sp.diff(f(x), x, n) if n else f(x)


@dataclass(frozen=True)
class Matching:
    """The result of a matching: the coefficient ``alpha`` of the candidate drift ``b0 + alpha eta b1``,
    the matched drift, and the SDE's and the discrete rule's loss drifts it equates (to O(eta))."""

    rule: str
    criterion: str
    alpha: sp.Expr
    drift: sp.Expr              # the matched SDE drift
    loss_drift_sde: sp.Expr     # L f of the matched SDE, to O(eta)
    loss_drift_discrete: sp.Expr

    def __str__(self):
        p = lambda e: sp.sstr(sp.factor(readable(e)))
        return (f"{self.rule} [{self.criterion}]: alpha = {p(self.alpha)}\n"
                f"  SDE drift        b = {p(self.drift)}\n"
                f"  SDE loss drift   L f = {p(self.loss_drift_sde)}\n"
                f"  discrete (E f(x') - f)/eta = {p(self.loss_drift_discrete)}")


_PRIMES = {1: sp.Symbol("f'"), 2: sp.Symbol("f''"), 3: sp.Symbol("f'''")}


def readable(expr):
    """Replace derivatives of f by the symbols f', f'', f''' for printing."""
    return expr.subs({d(k): s for k, s in sorted(_PRIMES.items(), reverse=True)})


def sgd_increment_moments(noise_var=sigma**2):
    """SGD: ``Delta = -eta (f' + Z)``, ``E Z = 0``, ``E Z^2 = noise_var``."""
    return -eta * d(1), eta**2 * (d(1) ** 2 + noise_var)


def dcsgd_increment_moments(omega=sp.Symbol("omega", nonnegative=True), agents=sp.Symbol("N", positive=True)):
    """DCSGD with N agents, unbiased compressors with ``E ||C(v)||^2 = (1 + omega) ||v||^2``
    (1-D): ``E Delta = -eta f'``, ``E Delta^2 = eta^2 (f'^2 + ((1+omega)(f'^2 + sigma^2) - f'^2) / N)``."""
    second = d(1) ** 2 + ((1 + omega) * (d(1) ** 2 + sigma**2) - d(1) ** 2) / agents
    return -eta * d(1), eta**2 * second


def loss_drift_discrete(m1, m2, order=1):
    """``(E f(x + Delta) - f(x)) / eta`` to ``O(eta^order)``, from the increment's first two
    moments (the third moment is O(eta^3) for every rule here)."""
    expr = (d(1) * m1 + d(2) * m2 / 2) / eta
    return sp.series(sp.expand(expr), eta, 0, order + 1).removeO()


def _generator(b, s2, g):
    """``L g = b g' + (eta s2 / 2) g''`` for ``dX = b dt + sqrt(eta s2) dW``."""
    return b * sp.diff(g, x) + eta * s2 / 2 * sp.diff(g, x, 2)


def match_loss_drift(m1, m2, *, b0=None, b1=None, s2=None, rule="SGD") -> Matching:
    """Solve for ``alpha`` so that ``L f`` of ``dX = (b0 + alpha eta b1) dt + sqrt(eta s2) dW``
    equals the discrete loss drift to O(eta). Defaults: ``b0 = E Delta / eta``,
    ``b1 = f'' f'``, ``s2 = Var(Delta) / eta^2`` at leading order."""
    b0 = sp.simplify(m1 / eta) if b0 is None else b0
    b1 = d(2) * d(1) if b1 is None else b1
    if s2 is None:
        s2 = sp.simplify(sp.limit((m2 - m1**2) / eta**2, eta, 0))
    b = b0 + alpha * eta * b1
    lf = sp.expand(_generator(b, s2, f(x)))
    target = sp.expand(loss_drift_discrete(m1, m2))
    eq = sp.expand(lf - target).coeff(eta, 1)
    sol = sp.solve(sp.Eq(eq, 0), alpha)
    if len(sol) != 1:
        raise ValueError(f"no unique alpha matches the loss drift for {rule} (solutions: {sol})")
    a = sp.simplify(sol[0])
    return Matching(rule, "loss drift to O(eta)", a, b.subs(alpha, a), sp.expand(lf.subs(alpha, a)), target)


def match_one_step_weak(rule="GD") -> Matching:
    """Li-Tai-E's criterion on gradient descent: ``E f(X_eta) = f + eta L f + eta^2/2 L^2 f``
    must equal ``f(x - eta f')`` to O(eta^2), for ``dX = (-f' + alpha eta f'' f') dt``."""
    b = -d(1) + alpha * eta * d(2) * d(1)
    L = lambda g: b * sp.diff(g, x)
    sde = eta * L(f(x)) + eta**2 / 2 * L(L(f(x)))
    disc = f(x - eta * d(1)) - f(x)
    disc = sp.series(disc, eta, 0, 3).removeO().doit()
    diff2 = sp.expand(sp.series(sp.expand(sde - disc), eta, 0, 3).removeO()).coeff(eta, 2)
    sol = sp.solve(sp.Eq(sp.simplify(diff2), 0), alpha)
    if len(sol) != 1:
        raise ValueError(f"no unique alpha for the one-step weak matching (solutions: {sol})")
    a = sp.simplify(sol[0])
    lf = sp.expand(b.subs(alpha, a) * d(1))
    return Matching(rule, "one-step weak order 2 (Li-Tai-E)", a, b.subs(alpha, a), lf,
                    loss_drift_discrete(-eta * d(1), eta**2 * d(1) ** 2))


def sign_loss_drift_correction():
    """SignSGD, Gaussian noise (derived here; the paper's sign correction was not recovered): ``E Delta = -eta m``, ``E Delta^2 = eta^2``
    with ``m = erf(f'/(sqrt2 sigma))``. Returns the drift correction ``c`` with
    ``f' c = eta f'' / 2`` less the diffusion's share, i.e. what a loss-drift-faithful model
    must add, and its form for the candidate ``c = (eta/2) f'' m``."""
    m = sp.erf(d(1) / (sp.sqrt(2) * sigma))
    m1, m2 = -eta * m, eta**2
    s2 = 1 - m**2
    c = sp.Symbol("c")
    lf = (-m + c) * d(1) + eta * s2 / 2 * d(2)
    target = loss_drift_discrete(m1, m2)
    sol = sp.solve(sp.Eq(sp.expand(lf - target), 0), c)[0]
    return sp.simplify(sol), sp.simplify(sol - eta / 2 * d(2) * m)
