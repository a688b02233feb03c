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
agent (``omega_i``). Any factor ``G`` with ``G G^T = Sigma~`` gives the Euler-Maruyama
increment the same law, so the diffusion is applied through its structure (``build`` chooses it;
``SDEModel.diffusion`` records it): diagonal noise with identity or Bernoulli, element-wise square
root; rand-k over diagonal noise, diagonal minus rank one, ``diag(D) - omega_bar/(d-1) g g^T``, by
a closed-form factor in O(d); a constant full covariance, its Cholesky factor computed once; any
other full ``Sigma~(X)``, a Cholesky factorisation every step (derived here).
"""
from __future__ import annotations

import math

import numpy as np

from methods import compressors as C
from methods.component import Shape
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

        @inline_kernel
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


@inline_kernel
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


# ---------------------------------------------------------------- the full diffusion, by structure
# Any factor G with G G^T = Sigma~ gives the increment G sqrt(dt) z the law N(0, dt Sigma~), so
# none of these takes a symmetric square root; each applies its factor in place (``out += G z``).


@inline_kernel
def _diffuse_rank1(t, y, s, p, lp, z, work, out):
    """Diagonal minus rank one, ``Sigma~ = diag(D) - c g g^T`` (rand-k over diagonal noise), in O(d).

    p layout: ``[eta, N, c_kind, w, comp, b, c, a (d)]`` with ``D_j = a_j + b ||g||^2 + w g_j^2``.
    With ``u = D^(-1/2) g``: ``Sigma~ = D^(1/2) (I - c u u^T) D^(1/2)`` and the factor
    ``G = D^(1/2) (I + beta u u^T)``, ``beta = -c / (1 + sqrt(1 - c |u|^2))``, satisfies
    ``G G^T = Sigma~`` (``2 beta + beta^2 |u|^2 = -c``; derived here). ``1 - c |u|^2 >= 0``
    because ``Sigma~`` is a covariance: ``w = c d`` bounds each ``c g_j^2 / D_j`` by ``1/d``.
    ``G z = sqrt(D) z + beta g (u . z)``: d normals, two passes."""
    d = out.shape[0]
    g = work[:d]
    gn2 = 0.0
    for j in range(d):
        gn2 += g[j] * g[j]
    iso = p[5] * gn2
    w = p[3]
    c = p[6]
    scale = s * math.sqrt(p[0] / p[1])
    uz = 0.0
    uu = 0.0
    for j in range(d):
        dj = p[_HEAD + j] + iso + w * g[j] * g[j]
        if dj > 0.0:
            r = math.sqrt(dj)
            out[j] += scale * r * z[j]
            uz += g[j] * z[j] / r
            uu += g[j] * g[j] / dj
    f = scale * uz * (-c / (1.0 + math.sqrt(max(1.0 - c * uu, 0.0))))
    for j in range(d):
        out[j] += f * g[j]


@kernel
def _diffuse_dense_constant(t, y, s, p, lp, z, work, out):
    """A constant dense ``Sigma~ = F F^T`` (``GaussianCov`` without compression): ``out += scale F z``
    with the factor ``F`` (``p[7:]``, row major) computed once per model, lower triangular
    (Cholesky) when ``p[4] == 1``, O(d^2) per step. p layout: ``[eta, N, c_kind, 0, tri, 0, 0, F]``."""
    d = out.shape[0]
    scale = s * math.sqrt(p[0] / p[1])
    tri = p[4] == 1.0
    for a in range(d):
        acc = 0.0
        top = a + 1 if tri else d
        row = _HEAD + a * d
        for b in range(top):
            acc += p[row + b] * z[b]
        out[a] += scale * acc


@inline_kernel
def _full_sigma(p, g, d, a, b, gn2):
    """Entry ``(a, b)`` of ``Sigma~`` in the dense layout ``[eta, N, c_kind, omega_bar, comp, b1, b2,
    mean S_i (d*d), mean omega_i S_i (d*d)]``: ``mean_i S_i(x) + E(mean_i omega_i M_i)`` with
    ``mean_i omega_i M_i = omega_bar g g^T + mean_i omega_i S_i(x)`` and ``E`` the compressor's map
    (identity: 0; Bernoulli: the diagonal; rand-k: ``diag - off-diagonal / (d - 1)``)."""
    S = p[_HEAD + a * d + b] + (p[5] * gn2 if a == b else 0.0)
    wM = p[3] * g[a] * g[b] + p[_HEAD + d * d + a * d + b] + (p[6] * gn2 if a == b else 0.0)
    comp = p[4]
    if comp == 1.0:
        extra = wM if a == b else 0.0
    elif comp == 2.0:
        extra = wM if a == b else -wM / (d - 1.0)
    else:
        extra = 0.0
    return S + extra


@kernel
def _diffuse_cholesky(t, y, s, p, lp, z, work, out):
    """The general state-dependent case: ``Sigma~(X)`` built in ``work[2d : 2d + d^2]`` and factored
    in place by a Cholesky decomposition ``L L^T`` (O(d^3 / 6) per step, allocation-free, so the
    chunk kernel compiles without NRT), then ``out += scale L z``. Positive semi-definite matrices
    are handled: a pivot at or below ``4 d eps`` times its diagonal entry gives a zero column (for a
    semi-definite matrix the whole Schur-complement column is then zero up to rounding)."""
    d = out.shape[0]
    g = work[:d]
    A = work[2 * d:2 * d + d * d]
    gn2 = 0.0
    for j in range(d):
        gn2 += g[j] * g[j]
    for a in range(d):
        for b in range(a + 1):
            A[a * d + b] = _full_sigma(p, g, d, a, b, gn2)
    tol = 4.0 * d * 2.220446049250313e-16
    for j in range(d):
        ajj = A[j * d + j]
        v = ajj
        for k in range(j):
            v -= A[j * d + k] * A[j * d + k]
        if v > tol * ajj and v > 0.0:
            r = math.sqrt(v)
            A[j * d + j] = r
            for i in range(j + 1, d):
                acc = A[i * d + j]
                for k in range(j):
                    acc -= A[i * d + k] * A[j * d + k]
                A[i * d + j] = acc / r
        else:
            A[j * d + j] = 0.0
            for i in range(j + 1, d):
                A[i * d + j] = 0.0
    scale = s * math.sqrt(p[0] / p[1])
    for a in range(d):
        acc = 0.0
        for b in range(a + 1):
            acc += A[a * d + b] * z[b]
        out[a] += scale * acc


@kernel
def _diffuse_eigh(t, y, s, p, lp, z, work, out):
    """Reference only (tests): the symmetric square root ``Q sqrt(w) Q^T`` of the dense layout's
    ``Sigma~`` by an eigendecomposition every step (O(d^3), allocates: the chunk kernel falls back
    to NRT). The diffusion every full case used before the structured ones; the same law."""
    d = out.shape[0]
    g = work[:d]
    gn2 = 0.0
    for j in range(d):
        gn2 += g[j] * g[j]
    sig = np.empty((d, d))
    for a in range(d):
        for b in range(d):
            sig[a, b] = _full_sigma(p, g, d, a, b, gn2)
    w, Q = np.linalg.eigh(sig)
    scale = s * math.sqrt(p[0] / p[1])
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


DIFFUSIONS = ("additive", "diagonal", "diag+rank1", "dense-constant", "dense")


def _dense_factor(sigma):
    """A factor ``F`` with ``F F^T = sigma`` (computed once per model): Cholesky, lower triangular;
    for a singular (semi-definite) ``sigma`` the eigendecomposition's ``Q sqrt(w)``. Returns ``(F, tri)``."""
    try:
        return np.linalg.cholesky(sigma), True
    except np.linalg.LinAlgError:
        w, Q = np.linalg.eigh(sigma)
        return Q * np.sqrt(np.maximum(w, 0.0)), False


def _structure(ctype, omega_bar, S, B, d):
    """The diffusion's structure, from the compressor's covariance form and the noise's parts."""
    diag_noise = all(np.allclose(Si, np.diag(np.diag(Si))) for Si in S)
    if diag_noise and ctype in (0, 1):
        return "additive" if omega_bar == 0.0 and not np.any(B) else "diagonal"
    if diag_noise and ctype == 2:
        return "diagonal" if d == 1 else "diag+rank1"  # d = 1: rand-1 of 1 keeps everything, omega = 0
    if omega_bar == 0.0 and not np.any(B):
        return "dense-constant"
    return "dense"


def build(landscape, optimizer, noise, kind: str) -> SDEModel:
    """The SDE model of an SGD-type method; its diffusion is applied through its structure
    (``SDEModel.diffusion``, one of ``DIFFUSIONS``), chosen here:

    * ``additive``: constant diagonal (no compression or Bernoulli with omega = 0, constant diagonal noise);
    * ``diagonal``: state-dependent diagonal (Bernoulli; affine variance), element-wise square root;
    * ``diag+rank1``: rand-k over diagonal noise, ``diag(D(X)) - c g g^T`` with
      ``c = omega_bar / (d - 1)``, applied in O(d) by a closed-form factor (``_diffuse_rank1``);
    * ``dense-constant``: a constant full covariance (``GaussianCov``, no compression), a Cholesky
      factor computed once per model, O(d^2) per step;
    * ``dense``: any other full, state-dependent ``Sigma~(X)`` (``GaussianCov`` with a compressor):
      a Cholesky factorisation every step in a work buffer, O(d^3 / 6).

    Every structure gives the increment the law ``N(0, dt s^2 eta / N Sigma~(X))``; the bits differ
    from a symmetric square root's.

    Provenance: ``unsure`` for the recalled single-agent constant-step SME and SME2, ``recovered`` for
    the single-agent constant-step corrected SDE (arXiv 2506.00181 Eq. 27), ``derived`` otherwise and
    for ``"levy"`` (``SDEModel.source`` says where each comes from). A ``ValueError`` names an unknown
    ``kind``, a compressor without a closed-form covariance and noise of infinite covariance."""
    if isinstance(noise, N.Minibatch):  # the diffusion is the minibatch covariance at X (sde.finite_sum)
        from . import finite_sum

        return finite_sum.build(landscape, optimizer, noise, kind)
    return _build(landscape, optimizer, noise, kind)


def _build(landscape, optimizer, noise, kind: str, diffusion: str | None = None) -> SDEModel:
    """``build`` with the structure forced (tests): ``diffusion="dense"`` (the generic Cholesky
    path) or ``"eigh"`` (the former symmetric square root, a reference kernel) for any
    non-diagonal case; ``None`` chooses it."""
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
    structure = _structure(ctype, omega, S, B, d)
    if diffusion is not None:
        if diffusion not in ("dense", "eigh") or structure in ("additive", "diagonal"):
            raise ValueError(f"diffusion must be 'dense' or 'eigh' for a non-diagonal model, got {diffusion!r}")
        structure = diffusion
    head = [optimizer.lr, float(agents), KINDS[kind], omega, float(ctype)]
    if structure in ("additive", "diagonal"):
        a = np.mean([(1 + w) * np.diag(Si) for w, Si in zip(om, S)], axis=0)
        b1, b2 = float(np.mean((1 + om) * B)), 0.0
        body = np.sqrt(a) if structure == "additive" else a
        head += [b1, b2]
    elif structure == "diag+rank1":
        # [eta, N, c_kind, w, comp, b, c, a]: D_j = a_j + b ||g||^2 + w g_j^2, Sigma~ = diag(D) - c g g^T
        a = np.mean([(1 + w) * np.diag(Si) for w, Si in zip(om, S)], axis=0)
        head = [optimizer.lr, float(agents), KINDS[kind], omega * d / (d - 1.0), float(ctype),
                float(np.mean((1 + om) * B)), omega / (d - 1.0)]
        body = a
    elif structure == "dense-constant":
        F, tri = _dense_factor(np.mean(S, axis=0))
        head = [optimizer.lr, float(agents), KINDS[kind], 0.0, 1.0 if tri else 0.0, 0.0, 0.0]
        body = F.ravel()
    else:  # dense, eigh
        head += [float(np.mean(B)), float(np.mean(om * B))]
        body = np.concatenate([np.mean(S, axis=0).ravel(), np.mean(om[:, None, None] * S, axis=0).ravel()])
    p = np.concatenate([head, body])
    lk = landscape.kernels
    drift = _drift_for(lk.grad, lk.hvp)
    work_size = 4 * d
    if structure == "additive":
        diffuse = "additive"
        step = _additive_step_for(lk.grad, lk.hvp, lk.coord_grad, curvature=KINDS[kind] != 0.0)
        work_size = d if KINDS[kind] == 0.0 else 2 * d
    elif structure == "diagonal":
        diffuse = _coef_diag
        step = euler_maruyama_diag(drift, diffuse)
    else:
        diffuse = {"diag+rank1": _diffuse_rank1, "dense-constant": _diffuse_dense_constant,
                   "dense": _diffuse_cholesky, "eigh": _diffuse_eigh}[structure]
        step = euler_maruyama(drift, diffuse)
        if structure == "dense":
            work_size = 4 * d + d * d
    name = "SGD" if agents == 1 and ctype == 0 else ("DSGD" if ctype == 0 else "DCSGD")
    c_txt = {"classic": "", "second_order": " - (eta s^2/2) H grad f", "corrected": " + (eta s^2/2) H grad f"}[kind]
    formula = (f"dX = [-s grad f{c_txt}] dt + s sqrt(eta/N) Sigma~(X)^(1/2) dW   (N={agents}, mean omega={omega:g}; "
               f"diffusion {structure})")
    # as the sources tag them: the single-agent, constant-step forms are recovered (corrected: arXiv
    # 2506.00181 Eq. 27) or recalled, not seen verbatim (Li-Tai-E's SME and SME2: "unsure"); agents,
    # compression and the schedule's placement (s, s^2) are derived
    plain = agents == 1 and ctype == 0 and type(optimizer.schedule).__name__ == "Constant"
    provenance = ({"classic": "unsure", "second_order": "unsure", "corrected": "recovered"}[kind] if plain
                  else "derived")
    source = {"classic": "arXiv 1511.06251 (Li, Tai, E) first-order SME, recalled (not seen verbatim); N agents and "
                         "compression: arXiv 2502.17009, derived here",
              "second_order": "arXiv 1511.06251 (Li, Tai, E) SME2, recalled (drift quoted in arXiv 2506.00181)",
              "corrected": "arXiv 2506.00181, Eq. 27 (curvature-corrected SDE; schedule and compression: derived "
                           "by drift matching)"}[kind]
    sched = optimizer.schedule
    if type(sched).__name__ == "GradNormalized" and sched.source == "stochastic":
        source += "; GradNormalized evaluated at the exact gradient (the oracle rule)"
    return SDEModel(method=name, kind=kind, landscape=landscape, noise=noise, optimizer=optimizer, params=p,
                    step=step, key=("sgd", lk.grad, lk.hvp, lk.coord_grad, diffuse, structure), state_dim=d,
                    noise_dim=d, work_size=work_size, time_per_step=optimizer.lr, provenance=provenance,
                    source=source, formula=formula, diffusion=structure)


def _is_sgd_family(optimizer) -> bool:
    from methods import optimizers as O

    # a compressor with per-agent memory (error feedback, EF21) makes the chain non-Markov in x: no model here
    return (type(optimizer) is O.SGD and not isinstance(optimizer.compressor, C.Sign)
            and not optimizer.compressor.state(Shape(1)).size)


register("sgd", kinds=tuple(KINDS), build=build, matches=_is_sgd_family)
