"""SDE models of minibatch SGD on a finite sum: the diffusion is the minibatch covariance.

For SGD (and DSGD, ``N`` agents, no compression) with the oracle ``methods.noise.Minibatch`` on
a landscape of ``methods.finite_sum``, with schedule factor ``s`` and base step ``eta``:

    ``dX = [-s grad f + c_k eta s^2 H grad f] dt + s sqrt(eta / N) Sigma~(X)^(1/2) dW``,
    ``Sigma~(x) = mean_a c(n_a, B) Cov_{i in I_a} grad f_i(x)``

(``c_k = 0`` classic, ``-1/2`` second order, ``+1/2`` corrected, as in ``sde.sgd``: the first-order
SME of Li, Tai and E, arXiv 1511.06251, whose covariance is exactly the minibatch one, and the
curvature-corrected drift of arXiv 2506.00181, Eq. 27). ``Cov_i`` is the population covariance of
the per-sample gradients and ``c`` the factor of ``methods.minibatch`` (``(n - B)/(B (n - 1))``
without replacement and for reshuffling, ``1/B`` with replacement; reshuffling's correlation
between the steps of an epoch is not modelled).

The diffusion is applied as a factor, never a ``d x d`` matrix or eigendecomposition: with one
standard normal ``z_i`` per row,

    ``Sigma~^(1/2) dW  ~  (1/sqrt(N)) sum_a sqrt(c_a / n_a) sum_{i in I_a} (z_i - zbar_a) grad h_i(X) sqrt(dt)``

(``h_i`` the data term of ``f_i``; the ``reg x`` part cancels in ``g_i - gbar``, and
``sum_i (z_i - zbar) v_i = sum_i z_i (v_i - vbar)``), whose covariance is exactly
``Sigma~``: ``O(n d)`` per step, ``n`` normals. The oracle's ``sde_rows = r`` uses instead a fixed
random subsample of ``r`` rows per agent (drawn once, ``sde_seed``) with the sample-covariance
scale ``c_a (n_a - 1) / (n_a (r - 1))``: an unbiased estimate of ``Sigma~`` that is frozen for the
whole run (the model error that choice adds is the estimate's, stated in ``formula``).

The drift is ``grad f``: the method's mean direction ``mean_a grad f_{I_a}`` equals it exactly when
the shards weigh every sample equally (all agents on all samples, or shards of one size that
partition the data); other splits are refused. Provenance: the covariance and its factor are
derived here; the classic kind is the SME of arXiv 1511.06251 (recovered).
"""
from __future__ import annotations

import math

import numpy as np

from methods import compressors as C
from methods._jit import kernel

from .base import SDEModel

KINDS = {"classic": 0.0, "second_order": -0.5, "corrected": 0.5}
_H = 5  # p = [eta, N, c_k, agents, rows, offsets (agents), counts (agents), scales (agents), rows (R)]
_STEPS: dict = {}


def _step_for(grad, hvp, grad_add, curvature):
    key = (grad, hvp, grad_add, curvature)
    if key in _STEPS:
        return _STEPS[key]

    @kernel
    def step(t, y, dt, z, s, p, lp, work):
        d = y.shape[0]
        g = work[:d]
        gz = work[d:2 * d]
        hg = work[2 * d:3 * d]
        grad(y, lp, g)
        A = int(p[3])
        for j in range(d):
            gz[j] = 0.0
        for a in range(A):
            off = int(p[_H + a])
            cnt = int(p[_H + A + a])
            sc = p[_H + 2 * A + a]
            zm = 0.0
            for q in range(cnt):
                zm += z[off + q]
            zm /= cnt
            for q in range(cnt):
                grad_add(y, int(p[_H + 3 * A + off + q]), sc * (z[off + q] - zm), lp, gz)
        noise = s * math.sqrt(p[0] * dt) / p[1]
        if curvature:
            hvp(y, g, lp, hg)
            ce = p[2] * p[0] * s * s
            for j in range(d):
                y[j] += (-s * g[j] + ce * hg[j]) * dt + noise * gz[j]
        else:
            for j in range(d):
                y[j] += -s * g[j] * dt + noise * gz[j]

    _STEPS[key] = step
    return step


def rows_and_scales(noise, agents):
    """Per agent: the rows of the factor and its scale ``sqrt(c_a / n_a)`` (all rows) or
    ``sqrt(c_a (n_a - 1) / (n_a (r - 1)))`` (a fixed subsample of ``r = noise.sde_rows`` rows)."""
    rng = np.random.default_rng(noise.sde_seed)
    rows, scales = [], []
    for a in range(agents):
        shard = noise.shard(a, agents)
        n = shard.size
        c = noise.c(a, agents)
        r = n if noise.sde_rows is None else min(int(noise.sde_rows), n)
        if r == n:
            rows.append(shard)
            scales.append(math.sqrt(c / n))
        else:
            rows.append(np.sort(rng.choice(shard, size=r, replace=False)))
            scales.append(math.sqrt(c * (n - 1) / (n * (r - 1))))
    return rows, np.array(scales)


def build(landscape, optimizer, noise, kind: str) -> SDEModel:
    """The SDE of SGD/DSGD under a ``Minibatch`` oracle: the SGD drift of ``kind`` (classic, second_order, corrected) and the diffusion ``s sqrt(eta/N) Sigma(X)^(1/2) dW`` with ``Sigma(X) = c(n, B) Cov_i grad f_i(X)``, applied as the factor of the centred per-sample gradients (n normals a step; ``sde_rows`` a fixed subsample). Derived here."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)} for SGD with a minibatch oracle, got {kind!r}")
    if noise.landscape is not landscape:
        raise ValueError("noise: the minibatch oracle was built on another landscape than the one given")
    if not isinstance(optimizer.compressor, C.Identity):
        raise ValueError("optimizer: the minibatch-covariance SDE models SGD/DSGD without compression")
    agents = optimizer.agents
    n = landscape.n
    weight = np.zeros(n)
    for a in range(agents):
        sh = noise.shard(a, agents)
        weight[sh] += 1.0 / (agents * sh.size)
    if not np.allclose(weight, 1.0 / n, rtol=1e-12, atol=0.0):
        raise ValueError("noise: these shards do not weigh every sample equally, so the method's mean direction "
                         "is not grad f; the minibatch SDE needs all agents on all samples or equal shards that "
                         "partition the data")
    rows, scales = rows_and_scales(noise, agents)
    counts = np.array([r.size for r in rows], dtype=float)
    if np.any(counts < 2):
        raise ValueError("noise: the covariance factor needs at least 2 rows per agent (sde_rows >= 2)")
    offsets = np.concatenate([[0.0], np.cumsum(counts)[:-1]])
    R = int(counts.sum())
    p = np.concatenate([[optimizer.lr, float(agents), KINDS[kind], float(agents), float(R)], offsets, counts, scales,
                        np.concatenate(rows).astype(float)])
    lk = landscape.kernels
    ga = landscape.sample_kernels.grad_add
    curvature = KINDS[kind] != 0.0
    step = _step_for(lk.grad, lk.hvp, ga, curvature)
    mode = "with replacement" if noise.replacement else ("reshuffling (per-step law)" if noise.reshuffle
                                                         else "without replacement")
    rows_txt = ("all rows" if noise.sde_rows is None or R == sum(noise.shard_sizes(agents))
                else f"a fixed subsample of {noise.sde_rows} rows per agent (seed {noise.sde_seed}): Sigma estimated")
    c_txt = {"classic": "", "second_order": " - (eta s^2/2) H grad f", "corrected": " + (eta s^2/2) H grad f"}[kind]
    formula = (f"dX = [-s grad f{c_txt}] dt + s sqrt(eta/N) Sigma~(X)^(1/2) dW, Sigma~ = mean_a c(n_a, B) Cov_i grad f_i "
               f"(B={noise.batch}, {mode}; factor from the centred per-sample gradients, {rows_txt}; N={agents})")
    source = {"classic": "arXiv 1511.06251 (Li, Tai, E) first-order SME with the minibatch covariance (its factor derived here)",
              "second_order": "arXiv 1511.06251 (Li, Tai, E) second-order SME drift; minibatch covariance (derived here)",
              "corrected": "arXiv 2506.00181, Eq. 27 drift with the minibatch covariance (derived here)"}[kind]
    provenance = "recovered" if kind != "corrected" and agents == 1 else "derived"
    name = "SGD" if agents == 1 else "DSGD"
    return SDEModel(method=name, kind=kind, landscape=landscape, noise=noise, optimizer=optimizer, params=p,
                    step=step, key=("minibatch", lk.grad, lk.hvp, ga, curvature), state_dim=landscape.d, noise_dim=R,
                    work_size=3 * landscape.d, time_per_step=optimizer.lr, provenance=provenance, source=source,
                    formula=formula)
