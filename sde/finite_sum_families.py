"""The sign and adaptive SDEs with the minibatch covariance of a finite sum.

For an oracle ``methods.noise.Minibatch`` on a landscape of ``methods.finite_sum``, agent ``a``'s
minibatch gradient has mean ``grad f_a(x) = grad f_{I_a}(x)`` (its shard's) and covariance

    ``Sigma_a(x) = c(n_a, B) Cov_{i in I_a} grad f_i(x)``   (``methods.minibatch``).

The SDEs below take it where their formulas take a covariance, treating the minibatch noise as
Gaussian with that covariance (a central-limit approximation: the papers' theorems assume
Gaussian or given-law noise; the minibatch law is neither). ``Sigma_a`` is computed at the current
``X`` every step from the per-sample gradients: its diagonal by one Welford pass over the rows
(``O(r d)``, ``r`` rows, never a ``d x d`` matrix), and, where a formula needs ``Sigma^(1/2) dW``,
the factor of the centred per-sample gradients (``sde.finite_sum``): with one normal ``z_i`` per
row, ``sum_i sqrt(c_a/n_a) (z_i - zbar) grad h_i(X)`` has covariance exactly ``Sigma_a``. The
oracle's ``sde_rows = r`` uses a fixed random subsample of ``r`` rows per agent (the unbiased
estimate of ``sde.finite_sum.rows_and_scales``), stated in ``formula``. The drift's shard gradient is one
more pass (``O(n_a d)``; the landscape's exact ``grad`` when the shard is the whole data set).

**Sign family** (SignSGD, DSignSGD: ``sign`` compressor, ``N`` agents), the SDE of arXiv 2411.15958
(Thm 3.2 and Cor 3.3 for one agent; ``N`` agents as in ``sde.sign``) with the per-coordinate scale
``sigma_{a,j}(X)^2 = Sigma_a(X)_jj``:

    ``m_a = erf(grad f_a / (sqrt2 sigma_a))`` (coordinate-wise; ``sign(grad f_a)`` where ``sigma = 0``)
    ``dX = [-s m + c (eta s^2/2) H m] dt + s sqrt(eta/N) sqrt(I - mean_a diag(m_a^2)) dW``,  ``m = mean_a m_a``

(``c = 0`` classic, ``1`` corrected, as in ``sde.sign``). The sign's covariance is approximated by its
diagonal ``1 - m_a^2`` (exact marginal variances of a sign; the off-diagonal covariances that a
correlated Gaussian ``Sigma_a`` gives the signs, a Gaussian-orthant integral with no closed form away
from zero mean, are dropped: an APPROXIMATION, derived here, as ``sde.sign`` does for any noise with
independent coordinates). Each agent's drift uses its own shard's gradient, so any shards are
modelled (the recorded loss is that of the full ``f``). Provenance: derived (the Erf form with a
point-dependent scale and the CLT reading of the minibatch are ours).

**Adaptive family** (RMSprop(W), Adam(W), one agent), the SDEs of ``sde.adaptive`` (arXiv 2411.15958,
``classic``; arXiv 2205.10287, ``malladi``) with ``diag Sigma`` replaced by ``diag Sigma_0(X)`` in the
``V`` (``u``) dynamics and ``Sigma^(1/2) dW`` by the factor above (``r`` normals a step); the update
ordering (``V``, ``M`` first, the ``X`` step with the updated ``M``) and the bias table are those of
``sde.adaptive``. Provenance: unsure (the underlying SDEs are recalled, not quoted), the minibatch
covariance in them derived here.
"""
from __future__ import annotations

import math

import numpy as np

from methods import compressors as C
from methods import optimizers as O
from methods._jit import inline_kernel, kernel

from .adaptive import _bias, bias_table, family_head
from .base import SDEModel
from .finite_sum import rows_and_scales
from .special import erf

# p = [head offset, agents with stats (A), R, S, offsets (A), counts (A), factor scales (A), whole-data flags (A),
#      shard offsets (A), shard sizes (A), rows (R), shard indices (S), family head..., (Adam) bias table]
_B0 = 4
_STATS: dict = {}
_STEPS: dict = {}


def _stats_for(grad, grad_add, batch_grad, want_z):
    """``stats(y, lp, p, a, z, g, var, gz, h, mu)``: agent ``a``'s shard gradient ``g`` (the landscape's
    ``grad`` when the shard is the whole data set, else ``batch_grad`` over the shard), the diagonal
    ``var_j = Sigma_a(y)_jj`` (Welford over the rows, times ``sc^2``) and, when ``want_z`` (a
    compile-time constant), ``gz += sc sum_q (z_q - zbar) grad h_q(y)`` (the factor applied to the
    row normals)."""
    key = (grad, grad_add, batch_grad, want_z)
    if key in _STATS:
        return _STATS[key]

    @inline_kernel
    def stats(y, lp, p, a, z, g, var, gz, h, mu):
        A = int(p[1])
        R = int(p[2])
        d = y.shape[0]
        off = int(p[_B0 + a])
        cnt = int(p[_B0 + A + a])
        sc = p[_B0 + 2 * A + a]
        whole = p[_B0 + 3 * A + a]
        soff = int(p[_B0 + 4 * A + a])
        ssz = int(p[_B0 + 5 * A + a])
        rows0 = _B0 + 6 * A
        sh0 = rows0 + R
        for j in range(d):
            mu[j] = 0.0
            var[j] = 0.0
        zm = 0.0
        if want_z:
            for q in range(cnt):
                zm += z[off + q]
            zm /= cnt
        for q in range(cnt):
            for j in range(d):
                h[j] = 0.0
            grad_add(y, int(p[rows0 + off + q]), 1.0, lp, h)
            inv = 1.0 / (q + 1)
            for j in range(d):
                delta = h[j] - mu[j]
                mu[j] += delta * inv
                var[j] += delta * (h[j] - mu[j])
            if want_z:
                w = sc * (z[off + q] - zm)
                for j in range(d):
                    gz[j] += w * h[j]
        sc2 = sc * sc
        for j in range(d):
            var[j] *= sc2
        if whole != 0.0:  # the shard is the whole data set: the exact gradient
            grad(y, lp, g)
        else:
            batch_grad(y, p[sh0 + soff:sh0 + soff + ssz], ssz, lp, g)

    _STATS[key] = stats
    return stats


def _pack_rows(landscape, noise, agents):
    """The rows block of ``p`` (see the layout above) and what the formula says about it. With
    ``shards=None`` every agent has the same law: its statistics are computed once."""
    if noise.landscape is not landscape:
        raise ValueError("noise: the minibatch oracle was built on another landscape than the one given")
    stat_agents = 1 if noise.shards is None else agents
    rows, scales = rows_and_scales(noise, agents)
    rows, scales = rows[:stat_agents], scales[:stat_agents]
    counts = np.array([r.size for r in rows], dtype=float)
    if np.any(counts < 2):
        raise ValueError("noise: the covariance needs at least 2 rows per agent (sde_rows >= 2)")
    shards = [noise.shard(a, agents) for a in range(stat_agents)]
    whole = np.array([float(s.size == landscape.n) for s in shards])
    ssz = np.array([0.0 if w else float(s.size) for w, s in zip(whole, shards)])
    soff = np.concatenate([[0.0], np.cumsum(ssz)[:-1]])
    sidx = [s.astype(float) for w, s in zip(whole, shards) if not w]
    full = [r.size == s.size for r, s in zip(rows, shards)]
    offsets = np.concatenate([[0.0], np.cumsum(counts)[:-1]])
    R, S = int(counts.sum()), int(ssz.sum())
    body = np.concatenate([offsets, counts, scales, whole, soff, ssz, np.concatenate(rows).astype(float),
                           np.concatenate(sidx) if sidx else np.zeros(0)])
    hoff = _B0 + body.size
    head = np.concatenate([[float(hoff), float(stat_agents), float(R), float(S)], body])
    mode = "with replacement" if noise.replacement else ("reshuffling (per-step law)" if noise.reshuffle
                                                         else "without replacement")
    rows_txt = ("all rows" if noise.sde_rows is None or all(full)
                else f"a fixed subsample of {noise.sde_rows} rows per agent (seed {noise.sde_seed}): Sigma estimated")
    txt = (f"Sigma_a = c(n_a, B) Cov_(i in I_a) grad f_i at X (B={noise.batch}, {mode}; {rows_txt}; minibatch noise "
           "treated as Gaussian with this covariance, a CLT approximation)")
    return head, R, txt


# ---------------------------------------------------------------------------------------- sign
SIGN_KINDS = {"classic": 0.0, "corrected": 1.0}


def _sign_step_for(grad, grad_add, batch_grad, hvp, curvature):
    key = ("sign", grad, grad_add, batch_grad, hvp, curvature)
    if key in _STEPS:
        return _STEPS[key]
    stats = _stats_for(grad, grad_add, batch_grad, False)

    @kernel
    def step(t, y, dt, z, s, p, lp, work):
        d = y.shape[0]
        g = work[:d]
        var = work[d:2 * d]
        h = work[2 * d:3 * d]
        mu = work[3 * d:4 * d]
        m = work[4 * d:5 * d]
        m2 = work[5 * d:6 * d]
        hm = work[6 * d:7 * d]
        A = int(p[1])
        hoff = int(p[0])
        eta = p[hoff]
        nag = p[hoff + 1]
        for j in range(d):
            m[j] = 0.0
            m2[j] = 0.0
        for a in range(A):
            stats(y, lp, p, a, z, g, var, h, h, mu)
            for j in range(d):
                if var[j] > 0.0:
                    mi = erf(g[j] / math.sqrt(2.0 * var[j]))
                else:
                    mi = 1.0 if g[j] > 0.0 else (-1.0 if g[j] < 0.0 else 0.0)
                m[j] += mi
                m2[j] += mi * mi
        for j in range(d):
            m[j] /= A
            m2[j] /= A
        if curvature:
            hvp(y, m, lp, hm)
            ce = 0.5 * eta * s * s
            for j in range(d):
                hm[j] *= ce
        scale = s * math.sqrt(eta / nag)
        sq = math.sqrt(dt)
        for j in range(d):
            b = -s * m[j]
            if curvature:
                b += hm[j]
            y[j] += b * dt + sq * scale * math.sqrt(max(1.0 - m2[j], 0.0)) * z[j]

    _STEPS[key] = step
    return step


def build_sign(landscape, optimizer, noise, kind: str) -> SDEModel:
    """The SignSGD / DSignSGD SDE with the minibatch covariance (module docstring): ``m_a =
    erf(grad f_a / (sqrt2 sigma_a(X)))``, ``sigma_a(X)^2 = diag Sigma_a(X)``, diffusion
    ``s sqrt(eta/N) sqrt(I - mean_a diag(m_a^2))`` (the sign covariance's diagonal). Kinds
    ``classic`` and ``corrected``; derived here."""
    if kind not in SIGN_KINDS:
        raise ValueError(f"kind must be one of {sorted(SIGN_KINDS)} for SignSGD with a minibatch oracle (the phase "
                         f"approximations and corrected_matched take a constant sigma), got {kind!r}")
    agents = optimizer.agents
    head, R, txt = _pack_rows(landscape, noise, agents)
    p = np.concatenate([head, [optimizer.lr, float(agents)]])
    lk = landscape.kernels
    sk = landscape.sample_kernels
    curvature = kind == "corrected"
    step = _sign_step_for(lk.grad, sk.grad_add, sk.batch_grad, lk.hvp, curvature)
    c_txt = " + (eta s^2/2) H m" if curvature else ""
    formula = (f"dX = [-s m{c_txt}] dt + s sqrt(eta/N) sqrt(I - mean_a diag(m_a^2)) dW, m_a = erf(grad f_a/(sqrt2 "
               f"sigma_a)), sigma_a^2 = diag Sigma_a(X); sign covariance: its diagonal (off-diagonals dropped, an "
               f"approximation); {txt}; N={agents}")
    source = ("arXiv 2411.15958, Thm 3.2 and Cor 3.3 (Erf form) with the minibatch covariance's diagonal as sigma^2 "
              "(derived here)" + ("; corrected drift as sde.sign's unsure candidate" if curvature else ""))
    name = "SignSGD" if agents == 1 else "DSignSGD"
    return SDEModel(method=name, kind=kind, landscape=landscape, noise=noise, optimizer=optimizer, params=p,
                    step=step, key=("minibatch-sign", lk.grad, sk.grad_add, sk.batch_grad, lk.hvp, curvature),
                    state_dim=landscape.d, noise_dim=landscape.d, work_size=7 * landscape.d,
                    time_per_step=optimizer.lr, provenance="unsure" if curvature else "derived", source=source,
                    formula=formula)


# ------------------------------------------------------------------------------------ adaptive
def _adaptive_step_for(grad, grad_add, batch_grad, adam, malladi, decay):
    key = ("adaptive", grad, grad_add, batch_grad, adam, malladi, decay)
    if key in _STEPS:
        return _STEPS[key]
    stats = _stats_for(grad, grad_add, batch_grad, True)

    @kernel
    def step(t, y, dt, z, s, p, lp, work):
        n = y.shape[0]
        d = n // 3 if adam else n // 2
        x = y[:d]
        vv = y[n - d:]
        g = work[:d]
        var = work[d:2 * d]
        h = work[2 * d:3 * d]
        mu = work[3 * d:4 * d]
        gz = work[4 * d:5 * d]
        for j in range(d):
            gz[j] = 0.0
        stats(x, lp, p, 0, z, g, var, gz, h, mu)
        hoff = int(p[0])
        r1 = p[hoff + 1]
        r2 = p[hoff + 2]
        eps = p[hoff + 3]
        sth = s * p[hoff + 4]
        noise_scale = p[hoff + 5]
        sq = math.sqrt(dt)
        if adam:
            mm = y[d:2 * d]
            q, es = _bias(p, r1, r2, eps, t, dt, hoff + 6)
            nf = noise_scale * r1 * sq
            for j in range(d):
                xj = x[j]
                gj = g[j]
                mo = mm[j]
                vo = vv[j]
                m = mo + r1 * (gj - mo) * dt + nf * gz[j]
                target = var[j] if malladi else gj * gj + var[j]
                v = max(vo + r2 * (target - vo) * dt, 0.0)
                mm[j] = m
                vv[j] = v
                den = (noise_scale * math.sqrt(v) if malladi else math.sqrt(v)) + es
                xn = xj - s * q * m / den * dt
                if decay:
                    xn -= sth * xj * dt
                x[j] = xn
        else:
            for j in range(d):
                xj = x[j]
                gj = g[j]
                vo = vv[j]
                target = var[j] if malladi else gj * gj + var[j]
                v = max(vo + r2 * (target - vo) * dt, 0.0)
                vv[j] = v
                den = (noise_scale * math.sqrt(v) if malladi else math.sqrt(v)) + eps
                xn = xj - s * (gj * dt + noise_scale * sq * gz[j]) / den
                if decay:
                    xn -= sth * xj * dt
                x[j] = xn

    _STEPS[key] = step
    return step


def build_adaptive(landscape, optimizer, noise, kind: str) -> SDEModel:
    """The RMSprop(W) / Adam(W) SDE of ``kind`` (``classic``: arXiv 2411.15958; ``malladi``: arXiv
    2205.10287, ``t = k eta^2``) with ``diag Sigma(X)`` of the minibatch in the ``V`` dynamics and the
    centred-gradient factor for ``Sigma(X)^(1/2) dW`` (``r`` normals a step). One agent; refusals as
    ``sde.adaptive``."""
    if kind not in ("classic", "malladi"):
        raise ValueError(f"kind must be one of ['classic', 'malladi'] for RMSprop/Adam, got {kind!r}")
    if optimizer.agents != 1:
        raise ValueError("optimizer: adaptive SDE models are single-agent (agents = 1)")
    if not isinstance(optimizer.compressor, C.Identity):
        raise ValueError("optimizer: adaptive SDE models take no compressor")
    if optimizer.weight_decay and not optimizer.decoupled:
        raise ValueError("optimizer: coupled (L2) weight decay has no SDE model here; use AdamW / RMSpropW")
    head, R, txt = _pack_rows(landscape, noise, 1)
    is_adam = isinstance(optimizer, O.Adam)
    fam, h = family_head(optimizer, kind)
    p = np.concatenate([head, fam])
    d = landscape.d
    malladi, decay = kind == "malladi", fam[4] != 0.0
    sk = landscape.sample_kernels
    step = _adaptive_step_for(landscape.kernels.grad, sk.grad_add, sk.batch_grad, is_adam, malladi, decay)
    params_for = None
    if is_adam:
        n, tail = 3 * d, np.zeros(2 * d)
        name = "AdamW" if optimizer.decoupled else "Adam"
        params_for = lambda steps, dt: np.concatenate([p, bias_table(fam[1], fam[2], fam[3], steps, dt)])
    else:
        n, tail = 2 * d, np.full(d, optimizer.v0)
        name = "RMSpropW" if optimizer.decoupled else "RMSprop"
    if kind == "classic":
        formula = ("dM = rho1 (grad f - M) dt + sqrt(eta) rho1 Sigma(X)^1/2 dW; dV = rho2 (grad f^2 + diag Sigma(X) - V) "
                   "dt; dX = -s sqrt(i2)/i1 M/(sqrt V + eps sqrt i2) dt - s theta X dt" if is_adam else
                   "dV = rho (grad f^2 + diag Sigma(X) - V) dt; dX = -s (grad f dt + sqrt(eta) Sigma(X)^1/2 dW)/(sqrt V "
                   "+ eps) - s theta X dt")
        source = "arXiv 2411.15958 Sec. 3 (Compagnoni et al.'s SDE; recalled) with the minibatch covariance (derived here)"
    else:
        formula = ("dm = c1 (grad f - m) dt + sigma0 c1 Sigma(X)^1/2 dW; du = c2 (diag Sigma(X) - u) dt; "
                   "dX = -sqrt(g2)/g1 m/(sigma0 sqrt u + eps0 sqrt g2) dt" if is_adam else
                   "du = c2 (diag Sigma(X) - u) dt; dX = -(grad f dt + sigma0 Sigma(X)^1/2 dW)/(sigma0 sqrt u + eps0)")
        source = "arXiv 2205.10287 (Malladi et al.; recalled), t = k eta^2, with the minibatch covariance (derived here)"
    formula += f"; {txt}"
    return SDEModel(method=name, kind=kind, landscape=landscape, noise=noise, optimizer=optimizer, params=p,
                    step=step, key=("minibatch-adaptive", landscape.kernels.grad, sk.grad_add, sk.batch_grad, is_adam, malladi, decay),
                    state_dim=n, noise_dim=R, work_size=5 * d, time_per_step=h, provenance="unsure", source=source,
                    formula=formula, y0_tail=tail, params_for=params_for)
