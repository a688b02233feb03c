"""Measured orders of convergence of the Euler-Maruyama step, with confidence intervals.

``em_order(problem, ...)`` integrates a test SDE with a known solution on a ladder of step
sizes ``h = T / n``, every level driven by the *same* Brownian path (the fine increments
summed), and reports

* the strong error ``E |X_h(T) - X(T)|`` (expected order 1/2),
* the weak error ``|E X_h(T) - E X(T)|``, estimated as ``E[X_h(T) - X(T)]`` over the coupled
  paths, whose Monte Carlo error is far below that of two independent means (expected order 1),

and fits ``log error = a + order log h`` by weighted least squares, the weights being the
Monte Carlo standard errors of each level; the interval is ``order +- z se``.

Test problems: ``gbm(mu, sigma)``, ``dX = mu X dt + sigma X dW``, exact
``X(T) = X0 exp((mu - sigma^2/2) T + sigma W(T))``. The step under test is the package's generic ``sde.base.euler_maruyama`` step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import stats

from methods import _checks
from methods.timegrid import TimeGrid
from methods._jit import kernel
from methods.rng import fill_normal
from methods.parallel import resolve_seed, run_chunks

from .base import euler_maruyama


@dataclass(frozen=True)
class ExactProblem:
    """A scalar test SDE with a known solution, for measuring the order of a step.

    ``step`` is an ``SDEModel``-style step kernel of the SDE (``step(t, y, dt, z, s, p, lp,
    work)``), ``exact(y0, T, W_T, p)`` the exact terminal value ``X(T)`` given the Brownian
    endpoint ``W(T)``, ``params`` the packed ``p`` both take, ``y0`` the initial value.
    """

    name: str
    step: Callable       # an SDEModel-style step kernel
    exact: Callable      # exact(y0, T, W_T, p) -> terminal value (scalar problems)
    params: np.ndarray
    y0: float


@kernel
def _gbm_drift(t, y, s, p, lp, work, out):
    out[0] = p[0] * y[0]


@kernel
def _gbm_diffuse(t, y, s, p, lp, z, work, out):
    out[0] += p[1] * y[0] * z[0]


@kernel
def _gbm_exact(y0, T, W, p):
    return y0 * math.exp((p[0] - 0.5 * p[1] * p[1]) * T + p[1] * W)


def gbm(mu: float = 1.5, sigma: float = 1.0, x0: float = 1.0) -> ExactProblem:
    """Geometric Brownian motion ``dX = mu X dt + sigma X dW``."""
    return ExactProblem("gbm", euler_maruyama(_gbm_drift, _gbm_diffuse), _gbm_exact,
                        np.array([_checks.real("mu", mu), _checks.positive("sigma", sigma)]), _checks.real("x0", x0))


_LADDERS: dict = {}


def _ladder_kernel(step, exact):
    key = (step, exact)
    if key not in _LADDERS:

        @kernel
        def ladder(rng, y0, T, n_fine, ns, p, out_diff):
            # out_diff[level, path] = X_h(T) - X(T) with h = T / ns[level]
            P = out_diff.shape[1]
            dw_f = np.empty(n_fine)
            y = np.empty(1)
            dw = np.empty(1)
            work = np.empty(8)
            lp = np.empty(0)
            sq = math.sqrt(T / n_fine)
            for i in range(P):
                W = 0.0
                fill_normal(rng, dw_f)
                for q in range(n_fine):
                    dw_f[q] *= sq
                    W += dw_f[q]
                xT = exact(y0, T, W, p)
                for lev in range(ns.shape[0]):
                    n = ns[lev]
                    r = n_fine // n
                    h = T / n
                    inv_sqh = 1.0 / math.sqrt(h)
                    y[0] = y0
                    for k in range(n):
                        acc = 0.0
                        for q in range(k * r, (k + 1) * r):
                            acc += dw_f[q]
                        dw[0] = acc * inv_sqh  # the step takes standard normals
                        step(k * h, y, h, dw, 1.0, p, lp, work)
                    out_diff[lev, i] = y[0] - xT

        _LADDERS[key] = ladder
    return _LADDERS[key]


@dataclass(frozen=True)
class OrderFit:
    """A fitted order of convergence: ``log error = a + order log h`` by weighted least squares.

    ``kind``: ``"strong"``, ``"weak"`` or ``"weak (discrete vs SDE)"``; ``h`` the step sizes,
    ``error`` the measured errors and ``stderr`` their Monte Carlo standard errors (the weights
    are ``(error / stderr)^2 = 1 / Var(log error)`` by the delta method); ``order`` the slope and
    ``order_se`` its standard error, inflated by the residual scale when the line misfits beyond
    the Monte Carlo noise; ``level`` the confidence level of ``interval``.
    """

    kind: str                # "strong" or "weak"
    h: np.ndarray
    error: np.ndarray
    stderr: np.ndarray
    order: float
    order_se: float
    level: float

    @property
    def interval(self):
        """``(order - z order_se, order + z order_se)`` with ``z`` the normal quantile of
        ``level`` (1.96 at 95%)."""
        z = stats.norm.ppf(0.5 + self.level / 2)
        return self.order - z * self.order_se, self.order + z * self.order_se

    def __repr__(self):
        lo, hi = self.interval
        return f"{self.kind} order {self.order:.3f} ({self.level:.0%} CI [{lo:.3f}, {hi:.3f}])"


def _fit(kind, h, err, se, level):
    x = np.log(h)
    y = np.log(err)
    w = (err / se) ** 2  # 1 / Var(log err) by the delta method
    X = np.stack([np.ones_like(x), x], axis=1)
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = cov @ X.T @ (w * y)
    resid = y - X @ beta
    dof = max(len(x) - 2, 1)
    scale = max(1.0, float(np.sum(w * resid**2) / dof))  # inflate if the line misfits beyond MC noise
    return OrderFit(kind, h, err, se, float(beta[1]), float(np.sqrt(cov[1, 1] * scale)), level)


def em_order(problem: ExactProblem | None = None, *, T: float = 1.0, levels=(4, 8, 16, 32, 64, 128),
             paths: int = 20_000, seed=0, level: float = 0.95, threads: int | None = None):
    """Strong and weak orders of Euler-Maruyama on ``problem`` (default ``gbm()``).

    ``levels`` are the numbers of steps over ``[0, T]``; each must divide the largest.
    Returns ``(strong, weak)`` as ``OrderFit`` objects.
    """
    problem = gbm() if problem is None else problem
    T = _checks.positive("T", T)
    ns = np.array(sorted(_checks.integer("levels", n, minimum=1) for n in levels), dtype=np.int64)
    if ns.size < 3:
        raise ValueError("levels must hold at least 3 step counts")
    n_fine = int(ns[-1])
    if np.any(n_fine % ns):
        raise ValueError("levels: every step count must divide the largest")
    paths = _checks.integer("paths", paths, minimum=100)
    seed = resolve_seed(seed)
    diff = np.empty((ns.size, paths))
    ladder = _ladder_kernel(problem.step, problem.exact)

    def work(rng, lo, hi):
        out = np.empty((ns.size, hi - lo))
        ladder(rng, problem.y0, T, n_fine, ns, problem.params, out)
        diff[:, lo:hi] = out

    run_chunks(work, paths, seed, threads)
    h = T / ns
    absd = np.abs(diff)
    strong = _fit("strong", h, absd.mean(1), absd.std(1, ddof=1) / math.sqrt(paths), level)
    wmean = diff.mean(1)
    weak = _fit("weak", h, np.abs(wmean), diff.std(1, ddof=1) / math.sqrt(paths), level)
    return strong, weak


def weak_error_vs_eta(make_optimizer, landscape, noise=None, *, x0, T: float, etas, kind: str = "classic",
                      paths: int = 20_000, seed=0, refine: int = 8, sde_exact=None, discrete_exact=None,
                      level: float = 0.95) -> OrderFit:
    """Weak error ``|E f(x_n) - E f(X_T)|`` between a discrete method and its SDE model as
    ``eta`` shrinks, with the fitted order and its confidence interval. ``T`` is SDE time and
    ``n = T / h`` iterations, ``h`` the model's time per iteration (``eta``; ``eta^2`` for
    Malladi's models, ``methods.timegrid``).

    ``make_optimizer(eta)`` builds the method for a step ``eta``. Each side is a Monte Carlo
    estimate (``methods.simulate``; ``sde.integrate`` with ``refine`` EM steps per iteration)
    unless a closed form is given: ``sde_exact(eta, T)`` or ``discrete_exact(eta, T)`` return
    ``E f - f_star`` exactly (e.g. SGD's SME on quadratics, derived here), which removes that side's
    Monte Carlo noise.
    """
    from methods import simulate

    from . import integrate, model

    T = _checks.positive("T", T)
    etas = np.array(sorted((_checks.positive("etas", e) for e in etas), reverse=True))
    if etas.size < 3:
        raise ValueError("etas must hold at least 3 step sizes")
    err, se = [], []
    for i, eta in enumerate(etas):
        opt = make_optimizer(float(eta))
        m = model(opt, landscape, noise, kind=kind)
        # T is SDE time: one iteration is m.time_per_step of it (eta, or eta^2 for Malladi's models)
        grid = TimeGrid(m.time_per_step)
        try:
            steps = grid.steps(T, name="T")
        except ValueError:
            raise ValueError(f"etas: T = {T} must be a whole number of iterations of SDE time "
                             f"{grid.time_per_step:g} (eta = {eta})") from None
        if discrete_exact is not None:
            d_mean, d_se = float(discrete_exact(eta, T)), 0.0
        else:
            r = simulate(landscape, opt, noise, x0=x0, steps=steps, paths=paths, seed=seed + 2 * i, save_at=np.array([steps]))
            d_mean, d_se = float(r.mean()[-1]), float(r.stderr()[-1])
        if sde_exact is not None:
            s_mean, s_se = float(sde_exact(eta, T)), 0.0
        else:
            r = integrate(m, x0=x0, t_end=grid.horizon(steps), paths=paths,
                          seed=seed + 2 * i + 1, refine=refine, save_at=np.array([steps]))
            s_mean, s_se = float(r.mean()[-1]), float(r.stderr()[-1])
        err.append(abs(d_mean - s_mean))
        se.append(max(math.hypot(d_se, s_se), 1e-300))
    return _fit("weak (discrete vs SDE)", etas, np.array(err), np.array(se), level)
