"""SDE models of SignSGD and DSignSGD (N agents averaging the signs).

With ``m_i = E sign(grad f + Z_i)`` coordinate-wise (``sde.special``), ``m = mean_i m_i``:

    dX = [-s m(X) + c (eta s^2 / 2) H m(X)] dt + s sqrt(eta/N) sqrt(I - mean_i diag(m_i^2)) dW

* ``kind="classic"`` (``c = 0``): Compagnoni et al.'s SignSGD SDE and its N-agent extension
  (arXiv 2411.15958 Thm 3.2 and Cor 3.3 for the Erf form; arXiv 2502.17009, derived here for N agents);
* ``kind="corrected"`` (``c = 1``): the curvature-corrected drift ``(eta s^2/2) H m``, a candidate
  for the (L0,L1) paper's corrected DSignSGD SDE (arXiv 2506.00181; its form is not recovered):
  UNSURE. It matches the discrete method's one-step loss drift
  ``-s grad f . m + (eta s^2/2) (m^T H m + tr(H Sigma)/N)`` only where ``(grad f - m)^T H m = 0``
  (not merely where ``m`` is parallel to ``grad f``);
* ``kind="corrected_matched"``: the correction ``(eta s^2/2) (m^T H m / ||grad f||^2) grad f``
  (zero where ``grad f = 0``), which matches that loss drift exactly in every dimension; in 1-D it
  is ``eta s^2 f'' m^2 / (2 f')`` (``theory.modified.sign_loss_drift_correction``). DERIVED here
  (loss-drift matching); offered as the alternative to the unsure candidate;
* ``kind="phase1" | "phase2" | "phase3"``: the three regime approximations of arXiv 2411.15958
  (Lemma 3.4 structure): phase 1 ``-sign(grad f)`` (no noise), phase 2 the chord
  ``m |Y| + q`` through ``Y = 1/2, 3/2`` with ``Y = grad f / (sqrt2 sigma)`` (convention A;
  constants UNSURE), phase 3 ``-c_nu grad f / sigma`` with unit diffusion ``sqrt(eta/N)``.

Gaussian noise uses ``m_i = erf(grad f / (sqrt2 sigma_i))``; Student-t any ``nu > 0``
``m_i = 2 F_nu(grad f / sigma_i) - 1``. Independent noise coordinates make the sign
covariance diagonal.

The step is compiled for its kind, noise law and whether there is one agent (``_step_for``: no
run-time decoding in the coordinate loop) and applies the diagonal Euler-Maruyama update after
the mean signs (for one agent, two loops over the coordinates; ``_step_for``). The Gaussian
``erf`` is ``sde.special.erf``, a branch-free form that vectorises (relative error below ``2e-14``
against scipy on the whole real line; a step whose arguments, every agent's, all lie within
``+-0.46875`` takes its small-argument form alone, the same bits), Cauchy's
``(2/pi) arctan`` is ``sde.special.atan`` (the same, below ``1e-15``), Student-t with an integer
``nu <= 30`` the closed forms ``sde.special.sign_mean_t_int_for`` (below ``1e-14``), any other
``nu <= 1000`` a table of ``sde.special.sign_mean_t_table_for`` built and compiled once per ``nu``
(a sweep over many ``nu`` compiles a step for each; absolute error below ``1e-13``; it replaced a
call of scipy's ``stdtr`` per coordinate, 37 times slower, in stop 27), larger ``nu`` call scipy's
``stdtr``; ``1/(sqrt2 sigma_i)`` is tabulated once per model. The phase kinds keep their
arithmetic bit for bit.
"""
from __future__ import annotations

import math

import numpy as np

from methods import noise as N
from methods._jit import inline_kernel, kernel
from methods.elementary import f64_bits

from .base import SDEModel
from .registry import register
from .special import (ERF_SMALL_KEY, T_INT_MAX_NU, T_TABLE_MAX_NU, atan, erf, erf_small, sign_mean_t,
                      sign_mean_t_int_for,
                      sign_mean_t_table_for, slope)

KINDS = {"classic": 0, "corrected": 1, "phase1": 2, "phase2": 3, "phase3": 4, "corrected_matched": 5}
_ERF_HALF = math.erf(0.5)
_ERF_3HALF = math.erf(1.5)
PHASE2_SLOPE = _ERF_3HALF - _ERF_HALF                # 0.44561 (chord through Y = 1/2, 3/2; arXiv 2411.15958 Lemma 3.4's constants UNSURE)
PHASE2_INTERCEPT = (3 * _ERF_HALF - _ERF_3HALF) / 2  # 0.29770

# p layout: [eta, N, kind, law (0 gauss, 1 t), nu, c_nu, sigma table (N*d), 1/(sqrt2 sigma) table (N*d)]
_HEAD = 6
_ABS_MASK = 0x7FFFFFFFFFFFFFFF  # clears a float64's sign bit


def _agent_mean_for(kind, law, nu_c=0):
    """The per-agent mean sign (or its phase approximation) of one coordinate, ``mean(g, sig, inv,
    nu, c_nu)`` with ``inv = 1/(sqrt2 sig)``: ``kind`` and ``law`` (``_law_code``: 0 Gaussian,
    1 Student-t by scipy's ``stdtr``, 2 Cauchy, 3 integer ``nu = nu_c``, 4 the table of ``nu = nu_c``)
    are compile-time constants of the returned kernel (no run-time decoding in the coordinate loop)."""
    if kind == 2:  # phase 1

        @inline_kernel
        def mean(g, sig, inv, nu, c_nu):
            return 1.0 if g > 0 else (-1.0 if g < 0 else 0.0)

    elif kind == 4:  # phase 3

        @inline_kernel
        def mean(g, sig, inv, nu, c_nu):
            return c_nu * g / sig

    elif kind == 3:  # phase 2 (Gaussian only)

        @inline_kernel
        def mean(g, sig, inv, nu, c_nu):
            Y = g / (math.sqrt(2.0) * sig)
            a = PHASE2_SLOPE * abs(Y) + PHASE2_INTERCEPT
            return a if g > 0 else (-a if g < 0 else 0.0)

    elif law == 0:  # erf(g / (sqrt2 sigma)), branch-free

        @inline_kernel
        def mean(g, sig, inv, nu, c_nu):
            return erf(g * inv)

    elif law == 2:  # Cauchy: (2/pi) arctan(g / sigma), branch-free

        @inline_kernel
        def mean(g, sig, inv, nu, c_nu):
            return (2.0 / math.pi) * atan(g / sig)

    elif law == 3:  # integer nu: the closed forms of sde.special, branch-free
        t_int = sign_mean_t_int_for(nu_c)

        @inline_kernel
        def mean(g, sig, inv, nu, c_nu):
            return t_int(g / sig)

    elif law == 4:  # any other nu up to T_TABLE_MAX_NU: the per-nu table, branch-free
        t_tab = sign_mean_t_table_for(nu_c)

        @inline_kernel
        def mean(g, sig, inv, nu, c_nu):
            return t_tab(g / sig)

    else:

        @inline_kernel
        def mean(g, sig, inv, nu, c_nu):
            return sign_mean_t(nu, g / sig)

    return mean


def _mean_sums_for(mean, one_agent):
    """``sums(g, p, d, m, m2)``: ``m_j = mean_i mean(g_j)`` and ``m2_j = mean_i mean(g_j)^2`` with the
    per-agent mean sign ``mean`` (``_agent_mean_for``). Several agents: agents outer, coordinates
    inner (the inner loop vectorises), summed in agent order."""

    @inline_kernel
    def sums(g, p, d, m, m2):
        nu = p[4]
        c_nu = p[5]
        nag = int(p[1])
        inv0 = _HEAD + nag * d
        if one_agent:
            sig = p[_HEAD:_HEAD + d]
            inv = p[inv0:inv0 + d]
            for j in range(d):
                mi = mean(g[j], sig[j], inv[j], nu, c_nu)
                m[j] = mi
                m2[j] = mi * mi
        else:
            for j in range(d):
                m[j] = 0.0
                m2[j] = 0.0
            for i in range(nag):
                sig = p[_HEAD + i * d:_HEAD + (i + 1) * d]
                inv = p[inv0 + i * d:inv0 + (i + 1) * d]
                for j in range(d):
                    mi = mean(g[j], sig[j], inv[j], nu, c_nu)
                    m[j] += mi
                    m2[j] += mi * mi
            for j in range(d):
                m[j] = m[j] / nag
                m2[j] = m2[j] / nag

    return sums


@inline_kernel
def _mean_small(g, sig, inv, nu, c_nu):
    """The Gaussian mean sign ``erf(g inv)`` for a small argument, ``|g inv| <= 0.46875``: erf's
    small-argument form alone (``sde.special.erf_small``; the same bits as ``erf``)."""
    return erf_small(g * inv)


@inline_kernel
def _every_erf_argument_small(g, p, d):
    """Whether every agent's erf argument ``g_j / (sqrt2 sigma_ij)`` (the product ``g_j inv_ij`` that
    the Gaussian mean forms) is at most 0.46875 in magnitude: one pass over the agents' ``inv``
    tables with an integer maximum of the masked bit patterns (vectorised; NaN is above inf)."""
    nag = int(p[1])
    inv0 = _HEAD + nag * d
    big = 0
    for i in range(nag):
        inv = p[inv0 + i * d:inv0 + (i + 1) * d]
        for j in range(d):
            b = f64_bits(g[j] * inv[j]) & _ABS_MASK
            big = b if b > big else big
    return big <= ERF_SMALL_KEY


def _means_for(kind, law, one_agent, nu_c=0):
    """``means(g, p, d, m, m2)``: ``m_j = mean_i m_i(g_j)`` and ``m2_j = mean_i m_i(g_j)^2`` into
    the buffers ``m``, ``m2`` (``_mean_sums_for``). For the Gaussian law's erf means (kinds
    ``classic``, ``corrected``, ``corrected_matched``), when every agent's argument is within
    +-0.46875 (``_every_erf_argument_small``: near a minimiser) the means take erf's
    small-argument form alone, the form erf selects there: the same bits."""
    mean = _agent_mean_for(kind, law, nu_c)
    sums = _mean_sums_for(mean, one_agent)
    if not (law == 0 and kind in (0, 1, 5)):
        return sums
    sums_small = _mean_sums_for(_mean_small, one_agent)

    @inline_kernel
    def means(g, p, d, m, m2):
        if _every_erf_argument_small(g, p, d):
            sums_small(g, p, d, m, m2)
        else:
            sums(g, p, d, m, m2)

    return means


_DRIFTS: dict = {}


def _drift_for(grad, hvp, kind, law, one_agent, nu_c=0):
    """The drift ``b(X)`` alone (``drift(t, y, s, p, lp, work, out)``; tests and diagnostics): the
    step below computes the same numbers fused with the diffusion."""
    key = (grad, hvp, kind, law, one_agent, nu_c)
    if key not in _DRIFTS:
        means = _means_for(kind, law, one_agent, nu_c)

        @kernel
        def drift(t, y, s, p, lp, work, out):
            d = out.shape[0]
            g = work[:d]
            m2 = work[d:2 * d]
            m = work[2 * d:3 * d]
            hm = work[3 * d:4 * d]
            grad(y, lp, g)
            means(g, p, d, m, m2)
            for j in range(d):
                out[j] = -s * m[j]
            if kind == 1:
                hvp(y, m, lp, hm)
                ce = 0.5 * p[0] * s * s
                for j in range(d):
                    out[j] += ce * hm[j]
            elif kind == 5:
                hvp(y, m, lp, hm)
                q = 0.0
                gn2 = 0.0
                for j in range(d):
                    q += m[j] * hm[j]
                    gn2 += g[j] * g[j]
                if gn2 > 0.0:
                    ce = 0.5 * p[0] * s * s * q / gn2
                    for j in range(d):
                        out[j] += ce * g[j]

        _DRIFTS[key] = drift
    return _DRIFTS[key]


def _law_code(law, nu):
    """The kernels' noise-law code and integer ``nu``: ``(0, 0)`` Gaussian, ``(2, 1)`` Cauchy (the
    branch-free ``atan``), ``(3, nu)`` Student-t with an integer ``nu <= T_INT_MAX_NU`` (closed
    forms), ``(4, nu)`` any other Student-t with ``nu <= T_TABLE_MAX_NU`` (the per-nu table), ``(1, 0)``
    beyond (scipy's ``stdtr``)."""
    if law == 0:
        return 0, 0
    if nu == 1.0:
        return 2, 1
    if nu == int(nu) and nu <= T_INT_MAX_NU:
        return 3, int(nu)
    if nu <= T_TABLE_MAX_NU:
        return 4, float(nu)
    return 1, 0


def drift_of(model):
    """The compiled drift kernel of a sign ``SDEModel`` (``drift(t, y, s, p, lp, work, out)``)."""
    lk = model.landscape.kernels
    law, nu_c = _law_code(model.params[3], model.params[4])
    return _drift_for(lk.grad, lk.hvp, KINDS[model.kind], law, model.optimizer.agents == 1, nu_c)


_STEPS: dict = {}


def _step_for(grad, hvp, coord_grad, kind, law, one_agent, nu_c=0):
    """The Euler-Maruyama step ``X_j += b_j dt + c_j sqrt(dt) z_j``, ``c_j = s sqrt(eta/N)
    sqrt(max(1 - m2_j, 0))`` (``1`` for phase 3), specialised at compile time on ``kind``, ``law``
    and one agent. Without curvature (every kind but ``corrected``, ``corrected_matched``) and for
    one agent, one loop over the coordinates takes the gradient (inside the loop on a separable
    landscape, ``coord_grad``) and the mean signs into a buffer, and a second loop the drift,
    diffusion and update: each loop's dependency chain is shorter (the mean's division, then the
    diffusion's square root) than that of the single loop this replaced, so more coordinates are
    in flight at once (the same numbers; medians 7-17% faster at d = 8, 64, 512, one thread,
    stop 26). The arithmetic is that of the former drift/coefficient pair (same roundings, same
    order). The classic kind under Gaussian noise (one agent) instead takes erf's arguments
    ``u_j = grad_j * (1/(sqrt2 sigma_j))`` (the product ``mean`` forms) in the first loop, with the
    largest bit pattern of ``|u_j|``
    (an integer reduction, vectorised; NaN ranks above every number), and when every ``|u_j| <=
    0.46875``, as near a minimiser, evaluates erf by its small-argument form alone
    (``sde.special.erf_small``, the form ``erf`` selects there: the same bits, without the other
    form and the exponential), the mean and the update in one second loop (stop 28:
    ``sign-sde-erf`` 2.30-2.35x the RNG floor before, 1.94-1.97x after, five runs)."""
    if kind in (1, 5) or not one_agent:
        coord_grad = None
    key = (grad, hvp, coord_grad, kind, law, one_agent, nu_c)
    if key in _STEPS:
        return _STEPS[key]
    means = _means_for(kind, law, one_agent, nu_c)
    mean = _agent_mean_for(kind, law, nu_c)

    @inline_kernel
    def diffusion(m2j):
        return 1.0 if kind == 4 else max(1.0 - m2j, 0.0)

    if kind in (1, 5):
        drift = _drift_for(grad, hvp, kind, law, one_agent, nu_c)

        @inline_kernel
        def step(t, y, dt, z, s, p, lp, work):
            d = y.shape[0]
            b = work[4 * d:5 * d]
            m2 = work[d:2 * d]
            drift(t, y, s, p, lp, work, b)
            scale = s * math.sqrt(p[0] / p[1])
            sq = math.sqrt(dt)
            for j in range(d):
                y[j] += b[j] * dt + sq * (scale * math.sqrt(diffusion(m2[j]))) * z[j]

    elif one_agent:
        erf_fast = law == 0 and kind == 0  # classic, Gaussian: erf with its small-argument path

        @inline_kernel
        def update(y, z, j, mi, s, dt, sq, scale):
            # X_j += -s m_j dt + c_j sqrt(dt) z_j, c_j = s sqrt(eta/N) sqrt(max(1 - m_j^2, 0)) (1 for phase 3)
            y[j] += (-s * mi) * dt + sq * (scale * math.sqrt(diffusion(mi * mi))) * z[j]

        @inline_kernel
        def step(t, y, dt, z, s, p, lp, work):
            d = y.shape[0]
            g = work[:d]
            if coord_grad is None:
                grad(y, lp, g)
            nu = p[4]
            c_nu = p[5]
            sig = p[_HEAD:_HEAD + d]  # views, not offsets: offset indexing can keep a loop from vectorising
            inv = p[_HEAD + d:_HEAD + 2 * d]
            scale = s * math.sqrt(p[0] / p[1])
            sq = math.sqrt(dt)
            m = work[d:2 * d]  # the mean signs; with erf_fast, erf's arguments u_j
            if erf_fast:
                big = 0  # the largest bit pattern of |u_j| (NaN above inf): integer, so the pass vectorises
                for j in range(d):
                    gj = g[j] if coord_grad is None else coord_grad(y[j], j, lp)
                    uj = gj * inv[j]  # the argument of mean's erf, the same product
                    m[j] = uj
                    bj = f64_bits(uj) & _ABS_MASK
                    big = bj if bj > big else big
                if big <= ERF_SMALL_KEY:  # every |u_j| <= 0.46875: the form erf selects there, alone
                    for j in range(d):
                        update(y, z, j, erf_small(m[j]), s, dt, sq, scale)
                else:
                    for j in range(d):
                        update(y, z, j, erf(m[j]), s, dt, sq, scale)
            else:
                for j in range(d):
                    gj = g[j] if coord_grad is None else coord_grad(y[j], j, lp)
                    m[j] = mean(gj, sig[j], inv[j], nu, c_nu)
                for j in range(d):
                    update(y, z, j, m[j], s, dt, sq, scale)

    else:

        @inline_kernel
        def step(t, y, dt, z, s, p, lp, work):
            d = y.shape[0]
            g = work[:d]
            m2 = work[d:2 * d]
            m = work[2 * d:3 * d]
            grad(y, lp, g)
            means(g, p, d, m, m2)
            scale = s * math.sqrt(p[0] / p[1])
            sq = math.sqrt(dt)
            for j in range(d):
                y[j] += (-s * m[j]) * dt + sq * (scale * math.sqrt(diffusion(m2[j]))) * z[j]

    _STEPS[key] = step
    return step


def build(landscape, optimizer, noise, kind: str) -> SDEModel:
    """The ``SDEModel`` of SignSGD or DSignSGD of kind ``kind`` (the family ``"sign"``).

    ``dX = [-s m(X) + c (eta s^2 / 2) H m(X)] dt + s sqrt(eta/N) sqrt(I - mean_i diag(m_i^2)) dW``
    with ``m_i = E sign(grad f + Z_i)`` (``erf(grad f / (sqrt2 sigma_i))`` for Gaussian noise,
    ``2 F_nu(grad f / sigma_i) - 1`` for Student-t and Cauchy), ``c = 0`` (``"classic"``) or
    ``1`` (``"corrected"``), or one of the three phase approximations (``"phase1"``,
    ``"phase2"``, ``"phase3"``; the module docstring gives their drifts). Diagonal
    Euler-Maruyama step, time per iteration ``lr``.

    Provenance: ``classic`` recovered for one agent and Gaussian noise (arXiv 2411.15958,
    Thm 3.2 and Cor 3.3), else derived; ``corrected`` and ``phase2`` unsure; ``phase1``
    recovered; ``phase3`` derived. A ``ValueError`` names noise without independent Gaussian,
    Student-t or Cauchy coordinates, a zero ``sigma``, and ``phase2`` with non-Gaussian noise.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)} for sign-based methods, got {kind!r}")
    if isinstance(noise, N.Minibatch):  # sigma(X)^2 = diag of the minibatch covariance at X (sde.finite_sum_families)
        from . import finite_sum_families

        return finite_sum_families.build_sign(landscape, optimizer, noise, kind)
    d, agents = landscape.d, optimizer.agents
    law_nu = noise.sign_law()
    if law_nu is None:
        raise ValueError(f"noise {noise!r}: sign SDE models need independent Gaussian, Student-t or Cauchy coordinates")
    law, nu = law_nu
    table = noise.diagonal_std(d, agents)
    if np.any(table <= 0):
        raise ValueError("noise: sign SDE models need sigma > 0 for every agent and coordinate (sigma = 0 is SignGD)")
    if kind == "phase2" and law != 0:
        raise ValueError("kind 'phase2' has chord constants only for Gaussian noise (arXiv 2411.15958, Lemma 3.4)")
    c_nu = slope(nu)
    p = np.concatenate([[optimizer.lr, float(agents), float(KINDS[kind]), float(law), nu if law else 0.0, c_nu],
                        table.ravel(), 1.0 / (math.sqrt(2.0) * table.ravel())])
    lk = landscape.kernels
    code, nu_c = _law_code(law, nu)
    step = _step_for(lk.grad, lk.hvp, lk.coord_grad, KINDS[kind], code, agents == 1, nu_c)
    mtxt = "erf(grad f/(sqrt2 sigma_i))" if law == 0 else f"2 F_t{nu:g}(grad f/sigma_i) - 1"
    formula = {
        "classic": f"dX = -s m dt + s sqrt(eta/N) sqrt(I - mean diag(m_i^2)) dW,  m_i = {mtxt}",
        "corrected": f"dX = [-s m + (eta s^2/2) H m] dt + s sqrt(eta/N) sqrt(I - mean diag(m_i^2)) dW,  m_i = {mtxt}",
        "corrected_matched": f"dX = [-s m + (eta s^2/2) (m^T H m/||grad f||^2) grad f] dt + s sqrt(eta/N) "
                             f"sqrt(I - mean diag(m_i^2)) dW,  m_i = {mtxt}",
        "phase1": "dX = -s sign(grad f) dt",
        "phase2": f"dX = -s ({PHASE2_SLOPE:.5f} |Y| + {PHASE2_INTERCEPT:.5f}) sign(grad f) dt + diffusion, Y = grad f/(sqrt2 sigma)",
        "phase3": f"dX = -s c grad f/sigma dt + s sqrt(eta/N) dW,  c = {c_nu:.6f}",
    }[kind]
    scheduled = type(optimizer.schedule).__name__ != "Constant"
    # recalled forms (seen in the literature, not verbatim in the paper) are labelled unsure
    provenance = {"classic": "unsure" if agents == 1 and law == 0 and not scheduled else "derived",
                  "corrected": "unsure", "corrected_matched": "derived",
                  "phase1": "unsure", "phase2": "unsure", "phase3": "derived"}[kind]
    source = {"classic": "arXiv 2411.15958, Thm 3.2 and Cor 3.3 (recalled); arXiv 2502.17009 (N agents, derived here)",
              "corrected": "candidate for arXiv 2506.00181's corrected sign SDE (the paper's form not recovered)",
              "corrected_matched": "derived here by loss-drift matching (cf. arXiv 2506.00181)",
              "phase1": "arXiv 2411.15958, Lemma 3.4 (phase 1; recalled)",
              "phase2": "arXiv 2411.15958, Lemma 3.4 (phase 2; chord constants derived here)",
              "phase3": "arXiv 2411.15958, Lemma 3.4 (phase 3); arXiv 2502.17009 (N agents, derived here)"}[kind]
    name = "SignSGD" if agents == 1 else "DSignSGD"
    return SDEModel(method=name, kind=kind, landscape=landscape, noise=noise, optimizer=optimizer, params=p,
                    step=step, key=("sign", lk.grad, lk.hvp, lk.coord_grad, KINDS[kind], code, agents == 1, nu_c), state_dim=d, noise_dim=d, work_size=2 * d + 4 * d,
                    time_per_step=optimizer.lr, provenance=provenance, source=source, formula=formula)


def _is_sign_family(optimizer) -> bool:
    from methods import compressors as C
    from methods import optimizers as O

    return type(optimizer) is O.SGD and isinstance(optimizer.compressor, C.Sign)


register("sign", kinds=tuple(KINDS), build=build, matches=_is_sign_family)
