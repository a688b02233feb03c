"""SDE models of SGD, DSGD and DCSGD (server rule SGD, any number of agents).

With schedule factor ``s = eta_t``, base step ``eta`` and ``N`` agents:

    dX = [-s grad f + c eta s^2 H grad f] dt + s sqrt(eta / N) Sigma~(X)^(1/2) dW

* ``kind="classic"``: ``c = 0``, the first-order SME (Li, Tai, E; spec l0l1 4.2, 4.4a);
* ``kind="second_order"``: ``c = -1/2``, Li-Tai-E's SME2 drift ``-(grad f + eta/2 H grad f)``
  (spec adaptive 2.2; its diffusion correction for state-dependent noise is not included);
* ``kind="corrected"``: ``c = +1/2``, the (L0,L1) paper's stability-faithful model
  (spec l0l1 4.2 recovered for constant steps; the ``s^2`` placement with a schedule is
  derived there, 4.4b).

``Sigma~`` is the covariance of one agent's transmitted vector averaged over agents (law of
total covariance, spec compression 4.2, derived): ``S(x) + E Cov_xi[C(g) | g]`` with
``S = mean_i Sigma_i`` (Gaussian ``sigma^2/B``, Student-t ``nu > 2``: ``sigma^2 nu/(nu-2)``,
affine ``sigma0^2 + sigma1^2 ||grad f||^2``) and, writing ``M = grad f grad f^T + S``:
identity ``0``; Bernoulli ``omega diag(M)``; rand-k
``omega [diag(M) - (M - diag(M)) / (d - 1)]`` (exact). Diagonal ``S`` with identity or
Bernoulli gives a diagonal diffusion (element-wise square root); otherwise the symmetric
square root is taken by an eigendecomposition every step.
"""
from __future__ import annotations

import math

import numpy as np

from methods import compressors as C
from methods import noise as N
from methods._jit import kernel

from .base import SDEModel, euler_maruyama, euler_maruyama_diag

KINDS = {"classic": 0.0, "second_order": -0.5, "corrected": 0.5}
_COMP = {C.Identity: 0, C.Bernoulli: 1, C.RandK: 2}

# p layout: [eta, N, c, omega, comp_type, B_affine, S (d) or S (d*d)]
_HEAD = 6

_DRIFTS: dict = {}
_DIFFS: dict = {}


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
        var = (1.0 + omega) * (p[_HEAD + j] + aff) + omega * g[j] * g[j]
        out[j] = scale * math.sqrt(max(var, 0.0))


_ADDITIVE: dict = {}


def _additive_step_for(grad, hvp):
    """Fused Euler-Maruyama step for a constant diagonal Sigma~ (no compression, state-independent
    noise; ``p`` holds its square root): one gradient, one update pass."""
    key = (grad, hvp)
    if key not in _ADDITIVE:

        @kernel
        def step(t, y, dt, z, s, p, lp, work):
            d = y.shape[0]
            g = work[:d]
            hg = work[d:2 * d]
            grad(y, lp, g)
            c = p[2]
            noise = s * math.sqrt(p[0] / p[1] * dt)
            if c != 0.0:
                hvp(y, g, lp, hg)
                ce = c * p[0] * s * s
                for j in range(d):
                    y[j] += (-s * g[j] + ce * hg[j]) * dt + noise * p[_HEAD + j] * z[j]
            else:
                sdt = s * dt
                for j in range(d):
                    y[j] += -sdt * g[j] + noise * p[_HEAD + j] * z[j]

        _ADDITIVE[key] = step
    return _ADDITIVE[key]


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
    sig = np.empty((d, d))
    for a in range(d):
        for b in range(d):
            S = p[_HEAD + a * d + b] + (aff if a == b else 0.0)
            Mab = g[a] * g[b] + S
            if comp == 1.0:
                extra = omega * Mab if a == b else 0.0
            elif comp == 2.0:
                extra = omega * Mab if a == b else -omega * Mab / (d - 1.0)
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


def _noise_covariance(noise, d, agents):
    """(mean covariance S, affine coefficient B) or a clear refusal."""
    if isinstance(noise, N.AffineVariance):
        s0 = noise._per_agent("sigma0", agents)
        s1 = noise._per_agent("sigma1", agents)
        return np.eye(d) * np.mean(s0**2) / noise.batch, float(np.mean(s1**2)) / noise.batch
    cov = noise.covariance(d, agents)
    if cov is None:
        raise ValueError(
            f"noise {noise!r} has infinite covariance: SGD-type SDE models need a finite one "
            "(Student-t needs nu > 2; alpha-stable needs alpha = 2). Sign-based methods have SDEs for any nu."
        )
    return np.mean(cov, axis=0), 0.0


def build(landscape, optimizer, noise, kind: str) -> SDEModel:
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)} for SGD-type methods, got {kind!r}")
    d = landscape.d
    agents = optimizer.agents
    comp = optimizer.compressor
    if type(comp) not in _COMP:
        raise ValueError(
            f"compressor {comp!r} has no closed-form covariance: SGD-type SDE models support "
            "Identity, Bernoulli and RandK"
        )
    S, B_aff = _noise_covariance(noise, d, agents)
    omega = float(comp.omega(d))
    ctype = _COMP[type(comp)]
    diagonal = ctype in (0, 1) and np.allclose(S, np.diag(np.diag(S)))
    additive = diagonal and omega == 0.0 and B_aff == 0.0
    body = np.sqrt(np.diag(S)) if additive else (np.diag(S) if diagonal else S.ravel())
    p = np.concatenate([[optimizer.lr, float(agents), KINDS[kind], omega, float(ctype), B_aff], body])
    lk = landscape.kernels
    drift = _drift_for(lk.grad, lk.hvp)
    if additive:
        diffuse = "additive"
        step = _additive_step_for(lk.grad, lk.hvp)
    elif diagonal:
        diffuse = _coef_diag
        step = euler_maruyama_diag(drift, diffuse)
    else:
        diffuse = _diffuse_full
        step = euler_maruyama(drift, diffuse)
    name = "SGD" if agents == 1 and ctype == 0 else ("DSGD" if ctype == 0 else "DCSGD")
    c_txt = {"classic": "", "second_order": " - (eta s^2/2) H grad f", "corrected": " + (eta s^2/2) H grad f"}[kind]
    formula = f"dX = [-s grad f{c_txt}] dt + s sqrt(eta/N) Sigma~(X)^(1/2) dW   (N={agents}, omega={omega:g})"
    provenance = "recovered" if (kind != "corrected" or agents == 1) and ctype == 0 else "derived"
    source = {"classic": "spec l0l1 4.2/4.4a; compression 4.1-4.2", "second_order": "spec adaptive 2.2 (Li-Tai-E SME2)",
              "corrected": "spec l0l1 4.2 (Eq. 27), 4.4b"}[kind]
    return SDEModel(method=name, kind=kind, landscape=landscape, noise=noise, optimizer=optimizer, params=p,
                    step=step, key=("sgd", lk.grad, lk.hvp, diffuse), state_dim=d, noise_dim=d,
                    work_size=2 * d + 2 * d, time_per_step=optimizer.lr, provenance=provenance, source=source,
                    formula=formula)
