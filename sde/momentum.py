"""SDE model of SGD with momentum (``optimizers.SGDM``, PyTorch's form) and heavy ball (``optimizers.HeavyBall``).

Both are written in the EMA variable ``M`` (heavy ball's ``m``; for SGDM ``M = (1 - mu) b / (1 - tau)``
with ``b`` torch's buffer). With time ``t = k lr`` (the workbench's clock, the discrete run's
``Run.t``), schedule factor ``s = eta_t``, ``G = grad f(X) + wd X`` and ``Sigma`` the covariance of the
server's direction (the agents' mean noise covariance over ``N``):

    dM = rho (G - M) dt + rho sqrt(lr) Sigma^(1/2) dW
    dX = -s (kappa1 M + kappa0 G) dt - s kappa0 sqrt(lr) Sigma^(1/2) dW

* heavy ball ``HeavyBall(lr, beta)``: ``rho = (1 - beta)/lr``, ``kappa1 = 1``, ``kappa0 = 0``;
* ``SGDM(lr, mu, tau)``: ``rho = (1 - mu)/lr``, ``kappa1 = (1 - tau)/(1 - mu)``, ``kappa0 = 0``;
* ``SGDM(lr, mu, nesterov=True)``: ``rho = (1 - mu)/lr``, ``kappa1 = mu/(1 - mu)``, ``kappa0 = 1``
  (the step ``g + mu b`` carries the fresh gradient, noise included).

Provenance: DERIVED here by matching the first two conditional moments of one step of the
EMA chain ``m_{k+1} = beta m_k + (1 - beta) g_k``, ``x_{k+1} = x_k - lr m_{k+1}`` (time step ``lr``).
The ``M`` equation has the form of the first-moment equation of the Adam SDE of Compagnoni et
al. (arXiv 2411.15958; ``sde.adaptive``), and Li, Tai and E (arXiv 1511.06251) give an SME for
momentum SGD in another scaling. It is a first-order (weak) model in the regime where
``rho`` and ``kappa1`` stay fixed as ``lr -> 0``; for SGDM the small parameter is the heavy-ball
step ``lr kappa1 = lr (1 - tau)/(1 - mu)``, and on a quadratic of curvature ``lambda`` the model
error of the stationary covariance is first order in ``lambda lr kappa1`` and ``1 - mu``
(``stationary_covariance_discrete`` gives the chain's exact law to compare with). Torch's first
step ``b_1 = g_0`` is not modelled when ``tau != 0`` (the SDE starts from ``M_0 = 0``): a one-step
transient.

Integration: semi-implicit (symplectic) Euler-Maruyama, ``M`` first, then ``X`` with the updated
``M_{k+1}`` and the same increment, as for the Adam SDE. Plain Euler-Maruyama (``X`` with ``M_k``)
amplifies a lightly damped oscillation at a fixed ``dt`` (undamped, its factor is ``|1 + i w dt| > 1``);
with ``dt = lr`` the scheme here is the discrete chain itself in law under additive Gaussian noise
(torch's first step aside; a check by construction, not evidence), and ``refine=m`` approaches the SDE.
The EM chain at ``dt = lr/m`` is again linear on a quadratic, so its exact law is known too
(``scheme_system``).

Closed forms on ``f = lambda/2 x^2`` with noise variance ``sigma^2`` (one coordinate of a diagonal
quadratic under diagonal noise): the SDE's stationary covariance of ``(X, M)`` solves the continuous
Lyapunov equation ``F P + P F^T + q q^T = 0`` with ``F = [[-kappa0 L, -kappa1], [rho L, -rho]]``,
``L = lambda + wd``, ``q = sqrt(lr) sigma (-kappa0, rho)``; for ``kappa0 = 0``
``Var X = kappa1 lr sigma^2 / (2 L)``, ``Var M = rho lr sigma^2 / 2``, ``Cov(X, M) = 0``. The
discrete chains are linear AR(2) recursions whose exact laws come from the discrete Lyapunov
equation (``stationary_covariance_discrete``) or, at any finite step, from ``moments_discrete``.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from methods import compressors as C
from methods.component import Shape
from methods import noise as N
from methods._jit import kernel
from methods import optimizers as O
from methods.momentum import SGDM, HeavyBall

from .base import SDEModel
from .registry import register

KINDS = {"classic": 0}
# p layout: [rho, kappa1, kappa0, wd, sqrt(lr), diagonal flag, body]; body = Sigma^(1/2): d (diagonal) or d*d
_HEAD = 6

_STEPS: dict = {}


def _step_for(grad):
    if grad not in _STEPS:

        @kernel
        def step(t, y, dt, z, s, p, lp, work):
            d = y.shape[0] // 2
            x = y[:d]
            g = work[:d]
            gz = work[d:2 * d]
            grad(x, lp, g)
            rho = p[0]
            k1 = p[1]
            k0 = p[2]
            wd = p[3]
            sl = p[4]
            if p[5] != 0.0:
                for a in range(d):
                    gz[a] = p[_HEAD + a] * z[a]
            else:
                for a in range(d):
                    acc = 0.0
                    for b in range(d):
                        acc += p[_HEAD + a * d + b] * z[b]
                    gz[a] = acc
            sq = sl * math.sqrt(dt)
            for j in range(d):
                gj = g[j] + wd * x[j]
                m = y[d + j] + rho * (gj - y[d + j]) * dt + rho * sq * gz[j]
                y[d + j] = m
                y[j] = x[j] - s * (k1 * m + k0 * gj) * dt - s * k0 * sq * gz[j]

        _STEPS[grad] = step
    return _STEPS[grad]


def coefficients(optimizer) -> tuple[float, float, float]:
    """``(rho, kappa1, kappa0)`` of the model of ``optimizer`` (see the module docstring)."""
    if isinstance(optimizer, HeavyBall):
        return (1.0 - optimizer.beta) / optimizer.lr, 1.0, 0.0
    if isinstance(optimizer, SGDM):
        mu, tau = optimizer.momentum, optimizer.dampening
        rho = (1.0 - mu) / optimizer.lr
        if optimizer.nesterov:
            return rho, mu / (1.0 - mu), 1.0
        return rho, (1.0 - tau) / (1.0 - mu), 0.0
    raise ValueError(f"optimizer must be SGDM or HeavyBall, got {optimizer!r}")


def _sqrtm_psd(S):
    w, Q = np.linalg.eigh(S)
    return (Q * np.sqrt(np.maximum(w, 0.0))) @ Q.T


def build(landscape, optimizer, noise, kind: str) -> SDEModel:
    """The ``SDEModel`` of SGDM or HeavyBall of kind ``"classic"`` (the family ``"momentum"``).

    State ``[X, M]`` (``M_0 = 0``), time ``t = k lr``:
    ``dM = rho (G - M) dt + rho sqrt(lr) Sigma^(1/2) dW``,
    ``dX = -s (kappa1 M + kappa0 G) dt - s kappa0 sqrt(lr) Sigma^(1/2) dW`` with
    ``G = grad f(X) + wd X``, ``(rho, kappa1, kappa0)`` from ``coefficients`` and ``Sigma`` the
    agents' mean noise covariance over ``N`` (its square root diagonal, or a dense ``(d, d)``
    ``sqrtm``). Semi-implicit Euler-Maruyama step (``M`` first, then ``X`` with the new ``M``).
    DERIVED here by moment matching of the EMA chain (module docstring).

    A ``ValueError`` names what has no model here: a compressor (the covariance would depend on
    ``X``), affine-variance noise, and noise of infinite covariance (Student-t with ``nu <= 2``).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)} for SGDM / HeavyBall, got {kind!r}")
    if not isinstance(optimizer.compressor, C.Identity):
        raise ValueError("optimizer: the momentum SDE takes no compressor (its covariance would depend on X)")
    if noise.affine_variance(agents=1) is not None:
        raise ValueError("noise: the momentum SDE needs a constant covariance (Gaussian, GaussianCov, Student-t nu > 2)")
    d, agents = landscape.d, optimizer.agents
    cov = noise.covariance(d, agents)
    if cov is None:
        raise ValueError(f"noise {noise!r} has infinite covariance: the momentum SDE needs a finite one "
                         "(Student-t needs nu > 2)")
    S = np.mean(np.asarray(cov, dtype=float), axis=0) / agents
    diagonal = bool(np.allclose(S, np.diag(np.diag(S))))
    body = np.sqrt(np.diag(S)) if diagonal else _sqrtm_psd(S).ravel()
    rho, k1, k0 = coefficients(optimizer)
    wd = optimizer.weight_decay
    p = np.concatenate([[rho, k1, k0, wd, math.sqrt(optimizer.lr), 1.0 if diagonal else 0.0], body])
    grad = landscape.kernels.grad
    name = type(optimizer).__name__ + (" (nesterov)" if getattr(optimizer, "nesterov", False) else "")
    g_txt = "grad f + wd X" if wd else "grad f"
    formula = (f"dM = rho ({g_txt} - M) dt + rho sqrt(lr) Sigma^1/2 dW; "
               f"dX = -s (kappa1 M + kappa0 ({g_txt})) dt - s kappa0 sqrt(lr) Sigma^1/2 dW "
               f"(rho = {rho:g}, kappa1 = {k1:g}, kappa0 = {k0:g}, N = {agents})")
    return SDEModel(method=name, kind=kind, landscape=landscape, noise=noise, optimizer=optimizer, params=p,
                    step=_step_for(grad), key=("momentum", grad), state_dim=2 * d, noise_dim=d, work_size=2 * d,
                    time_per_step=optimizer.lr, provenance="derived",
                    source="derived here (moment matching of the EMA chain, t = k lr; M equation as in the "
                           "Adam SDE of arXiv 2411.15958)",
                    formula=formula, y0_tail=np.zeros(d))


# ------------------------------------------------------------------ exact laws on a quadratic
def _check_scalar_quadratic(lam, var):
    lam, var = float(lam), float(var)
    if not lam > 0 or not math.isfinite(lam):
        raise ValueError(f"lam must be finite and > 0, got {lam}")
    if not var >= 0 or not math.isfinite(var):
        raise ValueError(f"var must be finite and >= 0, got {var}")
    return lam, var


def continuous_system(optimizer, lam: float, var: float):
    """``(F, q)`` of the model's linear SDE ``dY = F Y dt + q dW`` for ``Y = (X, M)`` on
    ``f = lam/2 x^2`` with noise variance ``var`` (constant schedule)."""
    lam, var = _check_scalar_quadratic(lam, var)
    rho, k1, k0 = coefficients(optimizer)
    L = lam + optimizer.weight_decay
    sd = math.sqrt(optimizer.lr * var)
    return np.array([[-k0 * L, -k1], [rho * L, -rho]]), np.array([-k0 * sd, rho * sd])


def stationary_covariance_sde(optimizer, lam: float, var: float) -> np.ndarray:
    """The SDE's stationary covariance of ``(X, M)`` (continuous Lyapunov equation)."""
    F, q = continuous_system(optimizer, lam, var)
    return linalg.solve_continuous_lyapunov(F, -np.outer(q, q))


def discrete_system(optimizer, lam: float, var: float, *, first: bool = False):
    """``(A, B)`` of the optimizer's chain ``s_{k+1} = A s_k + B xi_k`` (``xi_k`` standard) for the
    state ``s = (x, b)`` (SGDM: torch's buffer; HeavyBall: ``m``) on ``f = lam/2 x^2`` with noise
    variance ``var``, constant schedule. ``first``: torch's first step ``b_1 = g_0`` (SGDM only)."""
    lam, var = _check_scalar_quadratic(lam, var)
    lr, L, sd = optimizer.lr, lam + optimizer.weight_decay, math.sqrt(var)
    if isinstance(optimizer, HeavyBall):
        mu, w, n = optimizer.beta, 1.0 - optimizer.beta, 0.0
    elif isinstance(optimizer, SGDM):
        mu, w, n = optimizer.momentum, 1.0 - optimizer.dampening, 1.0 if optimizer.nesterov else 0.0
    else:
        raise ValueError(f"optimizer must be SGDM or HeavyBall, got {optimizer!r}")
    if first and isinstance(optimizer, SGDM):
        mu_b, w = 0.0, 1.0  # b_1 = g_0
    else:
        mu_b = mu
    q = n * mu + (1.0 - n)  # weight of the new buffer in the step (nesterov: g + mu b')
    A = np.array([[1.0 - lr * n * L - lr * q * w * L, -lr * q * mu_b], [w * L, mu_b]])
    B = np.array([-lr * (n + q * w) * sd, w * sd])
    return A, B


def heavy_ball_stationary_variance(h: float, beta: float, L: float, var: float) -> float:
    """Exact stationary ``Var x`` of heavy ball ``m' = beta m + (1 - beta)(L x + sigma xi)``, ``x' = x - h m'``
    (DERIVED here, sympy on the discrete Lyapunov equation):

        Var x = h var (1 + beta) / (L (2 (1 + beta) - L h (1 - beta)))

    i.e. the SDE's ``h var / (2 L)`` times ``1 / (1 - e)``, ``e = L h (1 - beta) / (2 (1 + beta))``:
    the model error is first order in ``L h (1 - beta)``. Non-nesterov SGDM has the same stationary
    law with ``h = lr (1 - tau)/(1 - mu)``, ``beta = mu`` and ``L = lambda + wd``; ``beta = 0`` is SGD's
    ``h var / (L (2 - L h))``."""
    return h * var * (1 + beta) / (L * (2 * (1 + beta) - L * h * (1 - beta)))


def stationary_covariance_discrete(optimizer, lam: float, var: float) -> np.ndarray:
    """The exact stationary covariance of ``(x, b)`` of the discrete chain (discrete Lyapunov
    equation ``P = A P A^T + B B^T``); raises ``ValueError`` if the chain is not stable."""
    A, B = discrete_system(optimizer, lam, var)
    if np.max(np.abs(np.linalg.eigvals(A))) >= 1.0:
        raise ValueError("optimizer: the chain is unstable on this quadratic (spectral radius >= 1)")
    return linalg.solve_discrete_lyapunov(A, np.outer(B, B))


def scheme_system(optimizer, lam: float, var: float, refine: int = 1):
    """``(A, B)`` of one iteration (``refine`` substeps of ``dt = lr/refine``) of the semi-implicit
    Euler-Maruyama scheme of the model, state ``(X, M)``; ``B`` is ``(2, refine)`` (one standard
    normal per substep)."""
    F, q = continuous_system(optimizer, lam, var)
    rho, k1, k0 = coefficients(optimizer)
    L = lam + optimizer.weight_decay
    dt = optimizer.lr / refine
    sq = math.sqrt(dt)
    # M' = (1 - rho dt) M + rho L dt X + q_M sq z ;  X' = X - dt (k1 M' + k0 L X) + q_X sq z
    Am = np.array([rho * L * dt, 1.0 - rho * dt])
    A1 = np.array([[1.0 - dt * k0 * L, 0.0], [0.0, 0.0]]) - dt * k1 * np.outer([1.0, 0.0], Am)
    A1[1] = Am
    b1 = np.array([q[0] * sq - dt * k1 * q[1] * sq, q[1] * sq])
    A = np.eye(2)
    B = np.zeros((2, refine))
    for r in range(refine):
        B = A1 @ B
        B[:, r] += b1
        A = A1 @ A
    return A, B


def moments_discrete(A, B, s0, steps: int, *, first=None) -> tuple[np.ndarray, np.ndarray]:
    """Exact means ``(steps + 1, 2)`` and covariances ``(steps + 1, 2, 2)`` of ``s_k`` for the linear
    chain ``s_{k+1} = A s_k + B xi_k`` from ``s_0`` (``first = (A0, B0)``: a different first step)."""
    mean = np.empty((steps + 1, 2))
    cov = np.empty((steps + 1, 2, 2))
    mean[0] = s0
    cov[0] = 0.0
    for k in range(steps):
        Ak, Bk = (A, B) if (first is None or k > 0) else first
        Bk = np.asarray(Bk, dtype=float).reshape(2, -1)
        mean[k + 1] = Ak @ mean[k]
        cov[k + 1] = Ak @ cov[k] @ Ak.T + Bk @ Bk.T
    return mean, cov


register("momentum", kinds=tuple(KINDS), build=build,
         matches=lambda opt: isinstance(opt, (O.SGDM, O.HeavyBall)) and not opt.compressor.state(Shape(1)).size)
