"""SDE models of RMSprop(W) and Adam(W), single agent, diagonal noise covariance ``Sigma = diag(sigma^2)``.

``kind="classic"``: Compagnoni et al. (arXiv 2411.15958, its RMSprop(W) and Adam(W) SDEs; the
form is reconstructed, not quoted, and validated numerically against the discrete methods), time ``t = k eta``, ``rho_i = (1 - beta_i) / eta``,
``theta`` = decoupled weight decay, ``s = eta_t``:

    RMSprop(W):  dV = rho ((grad f)^2 + sigma^2 - V) dt
                 dX = -s P^-1 (grad f dt + sqrt(eta) Sigma^(1/2) dW) - s theta X dt,  P = sqrt(V) + eps
    Adam(W):     dM = rho1 (grad f - M) dt + sqrt(eta) rho1 Sigma^(1/2) dW
                 dV = rho2 ((grad f)^2 + sigma^2 - V) dt
                 dX = -s (sqrt(i2)/i1) M / (sqrt(V) + eps sqrt(i2)) dt - s theta X dt,  i_k = 1 - exp(-rho_k t)

Integration (derived here and measured: the plain Euler step with the old ``M_k`` is 1.4% off the discrete AdamW floor): V and M are advanced first and the X step
uses the *updated* ``M_{k+1}`` (same increment ``dW``), with the bias corrections at
``t + dt = (k + 1) eta``; ``V`` is clipped at 0.

``kind="malladi"``: Malladi et al. (arXiv 2205.10287, its RMSprop and Adam SDEs; form reconstructed, not quoted), time ``t = k eta^2``, noise
scale ``sigma := 1`` so ``sigma0 = eta``, ``eps0 = eps eta``, ``c_i = (1 - beta_i) / eta^2``::

    RMSprop:  du = c2 (sigma^2 - u) dt,  dX = -P^-1 (grad f dt + sigma0 Sigma^(1/2) dW),  P = sigma0 sqrt(u) + eps0
    Adam:     dm = c1 (grad f - m) dt + sigma0 c1 Sigma^(1/2) dW,  du = c2 (sigma^2 - u) dt,
              dX = -(sqrt(g2)/g1) m / (sigma0 sqrt(u) + eps0 sqrt(g2)) dt,  g_i = 1 - exp(-c_i t)

(the same update ordering is used). Weight decay is not part of Malladi's SDEs: refused.
"""
from __future__ import annotations

import math

import numpy as np

from methods import compressors as C
from methods import optimizers as O
from methods._jit import kernel

from .base import SDEModel
from .registry import register

KINDS = {"classic": 0, "malladi": 1}
# p layout: [malladi flag, rho1 (or c1), rho2 (or c2), eps (or eps0), theta, sqrt(eta) (or sigma0), sd (d)]
_HEAD = 6

_STEPS: dict = {}


def _adam_step(grad):
    key = ("adam", grad)
    if key not in _STEPS:

        @kernel
        def step(t, y, dt, z, s, p, lp, work):
            d = y.shape[0] // 3
            x = y[:d]
            g = work  # work_size is d
            grad(x, lp, g)
            r1 = p[1]
            r2 = p[2]
            eps = p[3]
            theta = p[4]
            noise_scale = p[5]
            malladi = p[0] != 0.0
            sq = math.sqrt(dt)
            tn = t + dt
            i1 = 1.0 - math.exp(-r1 * tn)
            i2 = 1.0 - math.exp(-r2 * tn)
            si2 = math.sqrt(i2)
            for j in range(d):
                sd = p[_HEAD + j]
                m = y[d + j] + r1 * (g[j] - y[d + j]) * dt + noise_scale * r1 * sd * sq * z[j]
                target = sd * sd if malladi else g[j] * g[j] + sd * sd
                v = y[2 * d + j] + r2 * (target - y[2 * d + j]) * dt
                v = max(v, 0.0)
                y[d + j] = m
                y[2 * d + j] = v
                if malladi:
                    den = noise_scale * math.sqrt(v) + eps * si2
                else:
                    den = math.sqrt(v) + eps * si2
                y[j] = x[j] - s * (si2 / i1) * m / den * dt - s * theta * x[j] * dt

        _STEPS[key] = step
    return _STEPS[key]


def _rms_step(grad):
    key = ("rms", grad)
    if key not in _STEPS:

        @kernel
        def step(t, y, dt, z, s, p, lp, work):
            d = y.shape[0] // 2
            x = y[:d]
            g = work  # work_size is d
            grad(x, lp, g)
            r2 = p[2]
            eps = p[3]
            theta = p[4]
            noise_scale = p[5]
            malladi = p[0] != 0.0
            sq = math.sqrt(dt)
            for j in range(d):
                sd = p[_HEAD + j]
                target = sd * sd if malladi else g[j] * g[j] + sd * sd
                v = max(y[d + j] + r2 * (target - y[d + j]) * dt, 0.0)
                y[d + j] = v
                if malladi:
                    den = noise_scale * math.sqrt(v) + eps
                else:
                    den = math.sqrt(v) + eps
                y[j] = x[j] - s * (g[j] * dt + noise_scale * sd * sq * z[j]) / den - s * theta * x[j] * dt

        _STEPS[key] = step
    return _STEPS[key]


def build(landscape, optimizer, noise, kind: str) -> SDEModel:
    """The ``SDEModel`` of RMSprop(W) or Adam(W) of kind ``kind`` (the family ``"adaptive"``).

    ``"classic"``: Compagnoni et al.'s SDEs (arXiv 2411.15958), time ``t = k eta``, state
    ``[X, V]`` (RMSprop) or ``[X, M, V]`` (Adam), decoupled weight decay ``theta`` included;
    ``"malladi"``: Malladi et al.'s SDEs (arXiv 2205.10287), time ``t = k eta^2`` (so
    ``time_per_step = lr^2``), no weight decay. The formulas and the update ordering (``V``
    and ``M`` first, the ``X`` step with the updated ``M``) are in the module docstring;
    ``V_0`` is the optimizer's ``v0`` for RMSprop and ``M_0 = V_0 = 0`` for Adam. Both
    recovered in form (reconstructed, not quoted).

    A ``ValueError`` names what has no model here: several agents, a compressor, coupled (L2)
    weight decay, affine-variance, infinite or non-diagonal noise covariance, and weight decay
    with ``"malladi"``.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)} for RMSprop/Adam, got {kind!r}")
    if optimizer.agents != 1:
        raise ValueError("optimizer: adaptive SDE models are single-agent (agents = 1)")
    if not isinstance(optimizer.compressor, C.Identity):
        raise ValueError("optimizer: adaptive SDE models take no compressor")
    if optimizer.weight_decay and not optimizer.decoupled:
        raise ValueError("optimizer: coupled (L2) weight decay has no SDE model here; use AdamW / RMSpropW")
    d = landscape.d
    if noise.affine_variance(1) is not None:
        raise ValueError("noise: adaptive SDE models need a constant diagonal covariance (Gaussian, Student-t nu > 2)")
    cov = noise.covariance(d, 1)
    if cov is None:
        raise ValueError(f"noise {noise!r} has infinite covariance: adaptive SDE models need a finite one")
    cov = cov[0]
    if not np.allclose(cov, np.diag(np.diag(cov))):
        raise ValueError("noise: adaptive SDE models need a diagonal covariance")
    sd = np.sqrt(np.diag(cov))
    eta = optimizer.lr
    is_adam = isinstance(optimizer, O.Adam)
    b1, b2 = (optimizer.betas if is_adam else (0.0, optimizer.alpha))
    if kind == "classic":
        head = [0.0, (1 - b1) / eta, (1 - b2) / eta, optimizer.eps, optimizer.weight_decay, math.sqrt(eta)]
        h = eta
    else:
        if optimizer.weight_decay:
            raise ValueError("optimizer: Malladi et al.'s SDEs have no weight decay")
        head = [1.0, (1 - b1) / eta**2, (1 - b2) / eta**2, optimizer.eps * eta, 0.0, eta]
        h = eta**2
    p = np.concatenate([head, sd])
    grad = landscape.kernels.grad
    if is_adam:
        step, n, tail = _adam_step(grad), 3 * d, np.zeros(2 * d)
        name = "AdamW" if optimizer.decoupled else "Adam"
    else:
        v0 = optimizer.v0
        step, n, tail = _rms_step(grad), 2 * d, np.full(d, v0)
        name = "RMSpropW" if optimizer.decoupled else "RMSprop"
    if kind == "classic":
        formula = ("dM = rho1 (grad f - M) dt + sqrt(eta) rho1 Sigma^1/2 dW; dV = rho2 (grad f^2 + diag Sigma - V) dt; "
                   "dX = -s sqrt(i2)/i1 M/(sqrt V + eps sqrt i2) dt - s theta X dt" if is_adam else
                   "dV = rho (grad f^2 + diag Sigma - V) dt; dX = -s (grad f dt + sqrt(eta) Sigma^1/2 dW)/(sqrt V + eps) "
                   "- s theta X dt")
        source, prov = ("arXiv 2411.15958 Sec. 3 (Compagnoni et al.'s Adam(W) SDE; recalled, not seen verbatim)" if is_adam
                        else "arXiv 2411.15958 Sec. 3 (Compagnoni et al.'s RMSprop(W) SDE; recalled, not seen verbatim)"), "unsure"
    else:
        formula = ("dm = c1 (grad f - m) dt + sigma0 c1 Sigma^1/2 dW; du = c2 (diag Sigma - u) dt; "
                   "dX = -sqrt(g2)/g1 m/(sigma0 sqrt u + eps0 sqrt g2) dt" if is_adam else
                   "du = c2 (diag Sigma - u) dt; dX = -(grad f dt + sigma0 Sigma^1/2 dW)/(sigma0 sqrt u + eps0)")
        source, prov = "arXiv 2205.10287 (Malladi et al.; recalled, not seen verbatim), t = k eta^2", "unsure"
    return SDEModel(method=name, kind=kind, landscape=landscape, noise=noise, optimizer=optimizer, params=p,
                    step=step, key=("adaptive", is_adam, grad), state_dim=n, noise_dim=d, work_size=d,
                    time_per_step=h, provenance=prov, source=source, formula=formula, y0_tail=tail)


register("adaptive", kinds=tuple(KINDS), build=build, matches=lambda opt: isinstance(opt, (O.Adam, O.RMSprop)))
