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

Cost: the steps are compiled per ``(kind, weight decay or not)`` (no run-time branch in the
coordinate loop); what depends only on ``t`` (Adam's bias factors ``sqrt(i2)/i1`` and
``eps sqrt(i2)``, two ``exp`` per step) comes from a per-run table (``SDEModel.params_for``,
``bias_table``), what depends only on the coordinate (``sd^2``, the noise factors) from the
parameters, and a separable landscape's gradient is taken inside the update loop. The arithmetic
is unchanged, operation for operation: the results are the former ones bit for bit.
"""
from __future__ import annotations

import math

import numpy as np

from methods import compressors as C
from methods import optimizers as O
from methods._jit import inline_kernel, kernel

from .base import SDEModel
from .registry import register

KINDS = {"classic": 0, "malladi": 1}
# p layout: [malladi flag, rho1 (or c1), rho2 (or c2), eps (or eps0), theta, sqrt(eta) (or sigma0),
#            sd (d), sd^2 (d), noise factor (d), bias table (2 per scheme step; ``params_for``)]
# noise factor: sqrt(eta) rho1 sd (Adam's M) or sqrt(eta) sd (RMSprop's X), as the step multiplied them
_HEAD = 6

_STEPS: dict = {}


@inline_kernel
def _bias(p, r1, r2, eps, t, dt, table):
    """``(sqrt(i2)/i1, eps sqrt(i2))`` at ``t + dt``, ``i_k = 1 - exp(-r_k (t + dt))``: from the
    per-run table (``bias_table``) when ``t`` is the grid point ``n dt`` it holds, else computed."""
    n = int(t / dt + 0.5)
    at = table + 2 * n
    if n >= 0 and at + 1 < p.shape[0] and n * dt == t:
        return p[at], p[at + 1]
    tn = t + dt
    i1 = 1.0 - math.exp(-r1 * tn)
    i2 = 1.0 - math.exp(-r2 * tn)
    si2 = math.sqrt(i2)
    return si2 / i1, eps * si2


def bias_table(r1, r2, eps, n, dt):
    """The Adam SDE's bias factors ``(sqrt(i2)/i1, eps sqrt(i2))`` of scheme steps ``0..n-1``
    (``t = k dt``, ``t + dt``), with the arithmetic of ``_bias`` (bit for bit: Python floats and
    the kernel both round each IEEE operation, and both call the C library's ``exp``)."""
    out = np.empty(2 * n)
    for k in range(n):
        tn = k * dt + dt
        i1 = 1.0 - math.exp(-r1 * tn)
        i2 = 1.0 - math.exp(-r2 * tn)
        si2 = math.sqrt(i2)
        out[2 * k] = si2 / i1
        out[2 * k + 1] = eps * si2
    return out


def _adam_step(grad, coord_grad, malladi, decay):
    """The Adam SDE's step (module docstring), compiled for one ``(malladi, decay)`` pair (no run-time
    branch in the coordinate loop); a separable landscape's gradient (``coord_grad``) is taken inside
    the loop, else by one ``grad`` pass. The bias factors come from the per-run table."""
    key = ("adam", grad, coord_grad, malladi, decay)
    if key not in _STEPS:

        @inline_kernel
        def step(t, y, dt, z, s, p, lp, work):
            d = y.shape[0] // 3
            # views, not offsets: indexing y[d + j] kept the loop from vectorising (measured 1.6-2x)
            x = y[:d]
            mm = y[d:2 * d]
            vv = y[2 * d:]
            sd2 = p[_HEAD + d:_HEAD + 2 * d]
            nf = p[_HEAD + 2 * d:_HEAD + 3 * d]
            if coord_grad is None:
                grad(x, lp, work)  # work_size is d
            r1 = p[1]
            r2 = p[2]
            eps = p[3]
            noise_scale = p[5]
            q, es = _bias(p, r1, r2, eps, t, dt, _HEAD + 3 * d)
            sq = math.sqrt(dt)
            sq_ = s * q
            sth = s * p[4]
            for j in range(d):
                xj = x[j]
                gj = work[j] if coord_grad is None else coord_grad(xj, j, lp)
                mo = mm[j]
                vo = vv[j]
                m = mo + r1 * (gj - mo) * dt + nf[j] * sq * z[j]
                target = sd2[j] if malladi else gj * gj + sd2[j]
                v = max(vo + r2 * (target - vo) * dt, 0.0)
                mm[j] = m
                vv[j] = v
                den = (noise_scale * math.sqrt(v) if malladi else math.sqrt(v)) + es
                xn = xj - sq_ * m / den * dt
                if decay:
                    xn -= sth * xj * dt
                x[j] = xn

        _STEPS[key] = step
    return _STEPS[key]


def _rms_step(grad, coord_grad, malladi, decay):
    """The RMSprop SDE's step, compiled for one ``(malladi, decay)`` pair, as ``_adam_step``."""
    key = ("rms", grad, coord_grad, malladi, decay)
    if key not in _STEPS:

        @inline_kernel
        def step(t, y, dt, z, s, p, lp, work):
            d = y.shape[0] // 2
            x = y[:d]  # views, not offsets (see _adam_step)
            vv = y[d:]
            sd2 = p[_HEAD + d:_HEAD + 2 * d]
            nf = p[_HEAD + 2 * d:_HEAD + 3 * d]
            if coord_grad is None:
                grad(x, lp, work)  # work_size is d
            r2 = p[2]
            eps = p[3]
            noise_scale = p[5]
            sq = math.sqrt(dt)
            sth = s * p[4]
            for j in range(d):
                xj = x[j]
                gj = work[j] if coord_grad is None else coord_grad(xj, j, lp)
                vo = vv[j]
                target = sd2[j] if malladi else gj * gj + sd2[j]
                v = max(vo + r2 * (target - vo) * dt, 0.0)
                vv[j] = v
                den = (noise_scale * math.sqrt(v) if malladi else math.sqrt(v)) + eps
                xn = xj - s * (gj * dt + nf[j] * sq * z[j]) / den
                if decay:
                    xn -= sth * xj * dt
                x[j] = xn

        _STEPS[key] = step
    return _STEPS[key]


def family_head(optimizer, kind: str):
    """The parameter head ``[malladi, rho1, rho2, eps, weight_decay, noise scale]`` of the adaptive SDE
    of ``kind`` for ``optimizer`` (RMSprop: ``beta1 = 0``, ``beta2 = alpha``) and its time per step ``h``:
    ``classic`` (arXiv 2411.15958): ``rho_i = (1 - beta_i)/eta``, scale ``sqrt(eta)``, ``h = eta``;
    ``malladi`` (arXiv 2205.10287): ``rho_i = (1 - beta_i)/eta^2``, ``eps eta``, scale ``eta``,
    ``h = eta^2`` (no weight decay)."""
    eta = optimizer.lr
    b1, b2 = (optimizer.betas if isinstance(optimizer, O.Adam) else (0.0, optimizer.alpha))
    if kind == "classic":
        return [0.0, (1 - b1) / eta, (1 - b2) / eta, optimizer.eps, optimizer.weight_decay, math.sqrt(eta)], eta
    if optimizer.weight_decay:
        raise ValueError("optimizer: Malladi et al.'s SDEs have no weight decay")
    return [1.0, (1 - b1) / eta**2, (1 - b2) / eta**2, optimizer.eps * eta, 0.0, eta], eta**2


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
    from methods import noise as N

    if isinstance(noise, N.Minibatch):  # diag Sigma(X) and its factor from the per-sample gradients
        from . import finite_sum_families

        return finite_sum_families.build_adaptive(landscape, optimizer, noise, kind)
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
    is_adam = isinstance(optimizer, O.Adam)
    head, h = family_head(optimizer, kind)
    noise_factor = head[5] * head[1] * sd if is_adam else head[5] * sd  # (sqrt(eta) rho1) sd_j, sqrt(eta) sd_j
    p = np.concatenate([head, sd, sd * sd, noise_factor])
    lk = landscape.kernels
    malladi, decay = kind == "malladi", head[4] != 0.0
    params_for = None
    if is_adam:
        step, n, tail = _adam_step(lk.grad, lk.coord_grad, malladi, decay), 3 * d, np.zeros(2 * d)
        name = "AdamW" if optimizer.decoupled else "Adam"
        params_for = lambda steps, dt: np.concatenate([p, bias_table(head[1], head[2], head[3], steps, dt)])
    else:
        v0 = optimizer.v0
        step, n, tail = _rms_step(lk.grad, lk.coord_grad, malladi, decay), 2 * d, np.full(d, v0)
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
                    step=step, key=("adaptive", is_adam, lk.grad, lk.coord_grad, malladi, decay), state_dim=n,
                    noise_dim=d, work_size=d, time_per_step=h, provenance=prov, source=source, formula=formula,
                    y0_tail=tail, params_for=params_for)


register("adaptive", kinds=tuple(KINDS), build=build, matches=lambda opt: isinstance(opt, (O.Adam, O.RMSprop)))
