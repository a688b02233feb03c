"""SDE models of SGD, DSGD and DCSGD (server rule SGD, any number of agents).

With schedule factor ``s = eta_t``, base step ``eta`` and ``N`` agents:

    dX = [-s grad f + c eta s^2 H grad f] dt + s sqrt(eta / N) Sigma~(X)^(1/2) dW

* ``kind="classic"``: ``c = 0``, the first-order SME (Li, Tai, E, arXiv 1511.06251; the classic model of arXiv 2506.00181, Section 4);
* ``kind="second_order"``: ``c = -1/2``, Li-Tai-E's SME2 drift ``-(grad f + eta/2 H grad f)``
  (arXiv 1511.06251; its diffusion correction for state-dependent noise is not included);
* ``kind="corrected"``: ``c = +1/2``, the (L0,L1) paper's stability-faithful model
  (arXiv 2506.00181, appendix Eq. 27, recovered for constant steps; the ``s^2`` placement with a
  schedule is derived here);
* ``kind="levy"``: single-agent SGD under symmetric alpha-stable noise, driven by alpha-stable
  increments instead of Brownian ones (derived; see ``_build_levy``).

``Sigma~`` is the covariance of one agent's transmitted vector averaged over agents (law of
total covariance; the DCSGD SDE of arXiv 2502.17009, derived here): ``mean_i [S_i(x) + E Cov_xi[C_i(g_i) | g_i]]``
with ``S_i`` agent i's noise covariance (Gaussian ``sigma_i^2/B``, Student-t ``nu > 2``:
``sigma_i^2 nu/(nu-2)``, affine ``sigma0_i^2 + sigma1_i^2 ||grad f||^2``) and, writing
``M_i = grad f grad f^T + S_i``: identity ``0``; Bernoulli ``omega_i diag(M_i)``; rand-k
``omega_i [diag(M_i) - (M_i - diag(M_i)) / (d - 1)]`` (exact). Compressors may differ per
agent (``omega_i``). Diagonal noise with identity or Bernoulli gives a diagonal diffusion
(element-wise square root); otherwise the symmetric square root is taken by an
eigendecomposition every step.
"""
from __future__ import annotations

import math

import numpy as np

from methods import compressors as C
from methods import noise as N
from methods._jit import inline_kernel, kernel

from .base import SDEModel, euler_maruyama, euler_maruyama_diag
from .registry import register

KINDS = {"classic": 0.0, "second_order": -0.5, "corrected": 0.5, "levy": 0.0}
_FORMS = {"zero": 0, "diagonal": 1, "randk": 2}  # Compressor.covariance_form -> the diffusion kernel's code

# p layout: [eta, N, c, omega_bar, comp_type, b1, b2, body]
#   diagonal: b1 = mean (1 + omega_i) B_i, body = a_j = mean_i (1 + omega_i) S_i,jj (additive: sqrt of it)
#   full:     b1 = mean B_i, b2 = mean omega_i B_i, body = [mean S_i (d*d), mean omega_i S_i (d*d)]
# where S_i(x) = S_i + B_i ||grad f||^2 I
_HEAD = 7

_DRIFTS: dict = {}


def _drift_for(grad, hvp):
    key = (grad, hvp)
    if key not in _DRIFTS:

        @kernel
        def drift(t, y, s, p, lp, work, out):
            # leaves grad f(X) in work[:d] for the diffusion
            d = out.shape[0]
            g = work[:d]
            hg = work[d:2 * d]
            grad(y, lp, g)
            c = p[2]
            if c != 0.0:
                hvp(y, g, lp, hg)
                ce = c * p[0] * s * s
                for j in range(d):
                    out[j] = -s * g[j] + ce * hg[j]
            else:
                for j in range(d):
                    out[j] = -s * g[j]

        _DRIFTS[key] = drift
    return _DRIFTS[key]


@kernel
def _coef_diag(t, y, s, p, lp, work, out):
    d = out.shape[0]
    g = work[:d]
    omega = p[3]
    gn2 = 0.0
    for j in range(d):
        gn2 += g[j] * g[j]
    scale = s * math.sqrt(p[0] / p[1])
    aff = p[5] * gn2
    for j in range(d):
        var = p[_HEAD + j] + aff + omega * g[j] * g[j]
        out[j] = scale * math.sqrt(max(var, 0.0))


_ADDITIVE: dict = {}


@inline_kernel
def _additive_noise_scale(s, p, dt):
    """``s sqrt(eta / N dt)``: the additive step's diffusion factor before ``Sigma~^(1/2)``."""
    return s * math.sqrt(p[0] / p[1] * dt)


def _additive_step_for(grad, hvp, coord_grad=None, curvature=False):
    """Fused Euler-Maruyama step for a constant diagonal Sigma~ (no compression, state-independent
    noise; ``p`` holds its square root): one gradient, one update pass. ``curvature``: the
    second-order and corrected kinds (``c != 0``), a kernel of their own (a run-time branch
    between the two cost about 0.3 ns per update on the classic path). For a separable landscape
    (``coord_grad``) the classic drift's gradient is computed inside the update loop: no pass of
    its own, the same arithmetic."""
    if curvature:
        coord_grad = None  # the curvature step needs the gradient vector for the HVP anyway
    key = (grad, hvp, coord_grad, curvature)
    if key in _ADDITIVE:
        return _ADDITIVE[key]

    if curvature:

        @inline_kernel
        def step(t, y, dt, z, s, p, lp, work):
            d = y.shape[0]
            g = work[:d]
            hg = work[d:2 * d]
            grad(y, lp, g)
            hvp(y, g, lp, hg)
            noise = _additive_noise_scale(s, p, dt)
            ce = p[2] * p[0] * s * s
            for j in range(d):
                y[j] += (-s * g[j] + ce * hg[j]) * dt + noise * p[_HEAD + j] * z[j]

    elif coord_grad is None:

        @inline_kernel
        def step(t, y, dt, z, s, p, lp, work):
            # work holds exactly d floats and the gradient goes straight into it: measured 2-3%
            # faster on the EM benchmark than slicing a 4 d buffer
            grad(y, lp, work)
            noise = _additive_noise_scale(s, p, dt)
            sdt = s * dt
            for j in range(y.shape[0]):
                y[j] += -sdt * work[j] + noise * p[_HEAD + j] * z[j]

    else:

        @inline_kernel
        def step(t, y, dt, z, s, p, lp, work):
            noise = _additive_noise_scale(s, p, dt)
            sdt = s * dt
            for j in range(y.shape[0]):
                y[j] += -sdt * coord_grad(y[j], j, lp) + noise * p[_HEAD + j] * z[j]

    _ADDITIVE[key] = step
    return step


@kernel
def _diffuse_full(t, y, s, p, lp, z, work, out):
    d = out.shape[0]
    g = work[:d]
    omega = p[3]
    comp = p[4]
    gn2 = 0.0
    for j in range(d):
        gn2 += g[j] * g[j]
    aff = p[5] * gn2
    waff = p[6] * gn2
    sig = np.empty((d, d))
    for a in range(d):
        for b in range(d):
            S = p[_HEAD + a * d + b] + (aff if a == b else 0.0)
            # mean_i omega_i M_i = omega_bar g g^T + mean_i omega_i S_i(x)
            wM = omega * g[a] * g[b] + p[_HEAD + d * d + a * d + b] + (waff if a == b else 0.0)
            if comp == 1.0:
                extra = wM if a == b else 0.0
            elif comp == 2.0:
                extra = wM if a == b else -wM / (d - 1.0)
            else:
                extra = 0.0
            sig[a, b] = S + extra
    w, Q = np.linalg.eigh(sig)
    scale = s * math.sqrt(p[0] / p[1])
    # out += Q sqrt(w) Q^T z
    for k in range(d):
        qk = 0.0
        for b in range(d):
            qk += Q[b, k] * z[b]
        qk *= math.sqrt(max(w[k], 0.0))
        for a in range(d):
            out[a] += scale * Q[a, k] * qk


_LEVY: dict = {}


def _levy_step_for(grad):
    """Euler step driven by symmetric alpha-stable increments: ``y += -s grad f dt + s c_j dt^(1/alpha) S_j``
    with ``p = [eta, N, alpha, ..., c (d)]``."""
    if grad not in _LEVY:

        @kernel
        def step(t, y, dt, z, s, p, lp, work):
            d = y.shape[0]
            g = work  # work_size is d
            grad(y, lp, g)
            inc = s * dt ** (1.0 / p[2])
            for j in range(d):
                y[j] += -s * dt * g[j] + inc * p[_HEAD + j] * z[j]

        _LEVY[grad] = step
    return _LEVY[grad]


def _build_levy(landscape, optimizer, noise) -> SDEModel:
    """``kind="levy"``: SGD (one agent, no compression) under symmetric alpha-stable noise of scale
    ``c_j``. One step ``-eta c S`` equals ``c eta^(1 - 1/alpha) dL`` with ``dL = eta^(1/alpha) S``, so
    ``dX = -s grad f dt + s c eta^(1 - 1/alpha) dL^alpha`` (DERIVED; the heavy-tail SDE view of
    SGD, Simsekli et al., arXiv 1901.06053; with dt = lr it is the discrete chain in law)."""
    if not isinstance(noise, N.AlphaStable):
        raise ValueError("kind 'levy' needs methods.noise.AlphaStable noise")
    if optimizer.agents != 1 or not isinstance(optimizer.compressor, C.Identity):
        raise ValueError("optimizer: kind 'levy' models single-agent SGD without compression")
    d, eta, alpha = landscape.d, optimizer.lr, float(noise.alpha)
    c = noise.table(d, 1)[0] * eta ** (1.0 - 1.0 / alpha)
    p = np.concatenate([[eta, 1.0, alpha, 0.0, 0.0, 0.0, 0.0], c])
    grad = landscape.kernels.grad
    return SDEModel(method="SGD", kind="levy", landscape=landscape, noise=noise, optimizer=optimizer, params=p,
                    step=_levy_step_for(grad), key=("levy", grad), state_dim=d, noise_dim=d, work_size=d,
                    time_per_step=eta, provenance="derived", source="derived here: alpha-stable driven Euler (the heavy-tail view of SGD, Simsekli et al., arXiv 1901.06053)",
                    formula=f"dX = -s grad f dt + s c eta^(1 - 1/alpha) dL^alpha  (alpha = {alpha:g})",
                    driving_alpha=alpha)


def _noise_covariance(noise, d, agents):
    """Per-agent ``(S_i (agents, d, d), B_i (agents,))`` with ``S_i(x) = S_i + B_i ||grad f||^2 I``
    (the noise model's own ``covariance_parts``), or a clear refusal."""
    parts = noise.covariance_parts(d, agents)
    if parts is None:
        raise ValueError(
            f"noise {noise!r} has infinite covariance: SGD-type SDE models need a finite one "
            "(Student-t needs nu > 2; alpha-stable needs alpha = 2). Sign-based methods have SDEs for any nu."
        )
    return parts


def build(landscape, optimizer, noise, kind: str) -> SDEModel:
    if isinstance(noise, N.Minibatch):  # the diffusion is the minibatch covariance at X (sde.finite_sum)
        from . import finite_sum

        return finite_sum.build(landscape, optimizer, noise, kind)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)} for SGD-type methods, got {kind!r}")
    if kind == "levy":
        return _build_levy(landscape, optimizer, noise)
    d = landscape.d
    agents = optimizer.agents
    comp = optimizer.compressor
    form = comp.covariance_form(d, agents)
    if form is None or form[0] not in _FORMS:
        raise ValueError(
            f"compressor {comp!r} has no closed-form covariance: SGD-type SDE models support "
            "Identity, Bernoulli and RandK (any compressor whose covariance_form is zero, diagonal or randk)"
        )
    S, B = _noise_covariance(noise, d, agents)
    ctype = _FORMS[form[0]]
    om = np.zeros(agents) if ctype == 0 else np.asarray(form[1], dtype=float)
    omega = float(om.mean())
    diagonal = ctype in (0, 1) and all(np.allclose(Si, np.diag(np.diag(Si))) for Si in S)
    additive = diagonal and omega == 0.0 and not np.any(B)
    if diagonal:
        a = np.mean([(1 + w) * np.diag(Si) for w, Si in zip(om, S)], axis=0)
        b1, b2 = float(np.mean((1 + om) * B)), 0.0
        body = np.sqrt(a) if additive else a
    else:
        b1, b2 = float(np.mean(B)), float(np.mean(om * B))
        body = np.concatenate([np.mean(S, axis=0).ravel(), np.mean(om[:, None, None] * S, axis=0).ravel()])
    p = np.concatenate([[optimizer.lr, float(agents), KINDS[kind], omega, float(ctype), b1, b2], body])
    lk = landscape.kernels
    drift = _drift_for(lk.grad, lk.hvp)
    if additive:
        diffuse = "additive"
        step = _additive_step_for(lk.grad, lk.hvp, lk.coord_grad, curvature=KINDS[kind] != 0.0)
    elif diagonal:
        diffuse = _coef_diag
        step = euler_maruyama_diag(drift, diffuse)
    else:
        diffuse = _diffuse_full
        step = euler_maruyama(drift, diffuse)
    name = "SGD" if agents == 1 and ctype == 0 else ("DSGD" if ctype == 0 else "DCSGD")
    c_txt = {"classic": "", "second_order": " - (eta s^2/2) H grad f", "corrected": " + (eta s^2/2) H grad f"}[kind]
    formula = f"dX = [-s grad f{c_txt}] dt + s sqrt(eta/N) Sigma~(X)^(1/2) dW   (N={agents}, mean omega={omega:g})"
    provenance = "recovered" if (kind != "corrected" or agents == 1) and ctype == 0 else "derived"
    source = {"classic": "arXiv 1511.06251 (Li, Tai, E) first-order SME; arXiv 2502.17009, DSGD/DCSGD SDEs (derived here)", "second_order": "arXiv 1511.06251 (Li, Tai, E), second-order SME",
              "corrected": "arXiv 2506.00181, Eq. 27 (curvature-corrected SDE; the schedule placement derived here)"}[kind]
    return SDEModel(method=name, kind=kind, landscape=landscape, noise=noise, optimizer=optimizer, params=p,
                    step=step, key=("sgd", lk.grad, lk.hvp, lk.coord_grad, diffuse), state_dim=d, noise_dim=d,
                    work_size=(d if KINDS[kind] == 0.0 else 2 * d) if additive else 4 * d, time_per_step=optimizer.lr, provenance=provenance, source=source,
                    formula=formula)


def _is_sgd_family(optimizer) -> bool:
    from methods import optimizers as O

    return type(optimizer) is O.SGD and not isinstance(optimizer.compressor, C.Sign)


register("sgd", kinds=tuple(KINDS), build=build, matches=_is_sgd_family)
