"""The papers' claims as measurable entries, checked by ``sde-workbench verify``.

Each ``Claim`` (``figures.claim_base``) cites its paper by arXiv id and the paper's own numbering,
states the claim and its provenance (recovered, derived, unsure), and measures it on
data computed by the figure modules (shared cache), with a tolerance taken from Monte Carlo
standard errors. Predictions come from ``theory``.
"""
from __future__ import annotations

import math

import numpy as np

from . import FIGURES
from .claim_base import Claim, Z, data as _data, slope as _slope



def _tracks(quick):
    d, s = _data("sde_vs_discrete", quick)
    refine = s.get("refine", 1)
    worst, rows, resolved = 0.0, [], []
    for key in sorted({k.split("|")[0] for k in d}):
        t = d[f"{key}|disc|t"]
        sel = t >= 1.0
        se = np.hypot(d[f"{key}|disc|hi"] - d[f"{key}|disc|mean"], d[f"{key}|sde|hi"] - d[f"{key}|sde|mean"]) / 1.96
        z = np.abs(d[f"{key}|sde|mean"] - d[f"{key}|disc|mean"])[sel] / se[sel]
        gap = float(np.mean((d[f"{key}|sde|mean"] / d[f"{key}|disc|mean"])[sel] - 1))
        if key.startswith("AdamW"):
            # rho1 lr = 1 - beta1 = 0.1: the first-order SDE's O(lr) error need not be below the Monte Carlo error
            resolved.append(f"{key}: max |z| = {z.max():.2f}, mean relative gap {100 * gap:+.1f}% (reported, not tested)")
            continue
        worst = max(worst, float(z.max()))
        rows.append(f"{key}: max |z| = {z.max():.2f}")
    zlim = 4.5  # max over ~100 save points per method: 4.5 s.e. keeps the family-wise false-alarm rate below 1e-3
    ok = worst <= zlim and refine > 1
    return {"passed": bool(ok), "value": worst, "se": None,
            "measured": f"max |z| over t >= 1: {worst:.2f} (SDE at dt = lr/{refine})",
            "predicted": f"|E f_SDE - E f_discrete| within Monte Carlo error (|z| <= {zlim}) for SGD, SignSGD, DCSGD, "
                         "DSignSGD",
            "criterion": f"max |z| <= {zlim} over t >= 1, SDE integrated at dt = lr/{refine} (at dt = lr the SGD and DCSGD "
                         "chains share the discrete method's first two moments by construction, which would prove nothing)",
            "summary": "; ".join(rows + resolved)}


def _stability(quick):
    d, s = _data("stability", quick)
    ok = []
    conv = lambda key: np.isfinite(d[key][-1]) and d[key][-1] < d[key][0]
    for eta in s["parabola_etas"]:
        p = f"parabola_{eta}_"
        ok.append(conv(p + "classic") and conv(p + "second_order"))
        ok.append(conv(p + "corrected") == conv(p + "gd") == (eta < 2.0))
    for eta in s["quartic_etas"]:
        p = f"quartic_{eta}_"
        ok.append(conv(p + "classic") and conv(p + "second_order"))
        ok.append(conv(p + "corrected") == (eta * s["x0"] ** 2 < 2 / 3))
    return {"passed": all(ok), "measured": f"{sum(ok)} of {len(ok)} stability facts hold",
            "predicted": "classic/second-order flows converge for every eta; corrected converges iff eta < 2/lambda "
                         "(parabola), repels once eta x^2 > 2/3 (quartic)",
            "summary": f"{sum(ok)}/{len(ok)} checks"}


def _heavy(quick):
    d, s = _data("heavy_tails", quick)
    from .fig_heavy_tails import NORMALISED

    c = "Student-t nu=1 sigma=1"
    sign, plain, norm = (f"{c}|{m}" for m in ("DSignSGD, 1/sqrt(k+1)", "DCSGD, 1/sqrt(k+1)", NORMALISED))
    f0 = float(d[sign + "|mean"][0, 0])
    m, se = d[sign + "|mean"][:, -1]
    sign_ok = int(d[sign + "|diverged"]) == 0 and m + Z * se < 0.01 * f0
    # DCSGD: its mean loss is infinite under Cauchy noise, so the test is on the median: more than half of
    # the paths (diverged ones included) still above f0/100 at the end, by a binomial margin
    fin = d[plain + "|final"]
    frac = float(np.mean(fin > 0.01 * f0))
    plain_fails = frac > 0.5 + Z * 0.5 / math.sqrt(fin.size)
    nf = d[norm + "|final"]
    return {"passed": bool(sign_ok and plain_fails), "value": float(m), "se": float(se),
            "measured": (f"DSignSGD: {int(d[sign + '|diverged'])} diverged, mean final loss {m:.3g} +- {se:.2g} (start {f0:g}); "
                         f"DCSGD 1/sqrt(k+1): {int(d[plain + '|diverged'])} of {fin.size} diverged, {100 * frac:.0f}% of paths "
                         f"above f0/100 at the end (median {np.median(fin):.3g}). Not part of the claim (outside Thm 4.2, which "
                         f"needs a finite variance): the normalised DCSGD with Gaussian-panel constants, "
                         f"{int(d[norm + '|diverged'])} diverged, median {np.median(nf):.3g}"),
            "predicted": "DSignSGD converges (mean loss below 1% of the start); DCSGD with the same schedule does not "
                         "(median loss not below 1% of the start)",
            "criterion": f"DSignSGD: no divergence and mean + {Z:g} s.e. < f0/100; DCSGD: fraction of paths above f0/100 "
                         f"(diverged counted) > 1/2 + {Z:g} binomial s.e.",
            "summary": f"sign converges={sign_ok}, plain DCSGD fails={plain_fails}"}


def _floors(quick):
    d, s = _data("floor_vs_sigma", quick)
    from theory.closed_forms import crossover_sigma, dcsgd_floor, dsignsgd_floor

    from .fig_floor_vs_sigma import H, OMEGAS

    sg = d["sigmas"]
    N_ = s["agents"]
    # DCSGD: from x0 = 0 the chain is linear in the noise, so every sigma is the same simulation scaled by sigma
    # (the slope 2 is exact by construction); what can fail is the level, compared with the discrete-exact floor
    z_dc = {om: float(np.max(np.abs(d[f"dcsgd_{om}"][:, 0] - [dcsgd_floor(s["lr"], H, [x] * N_, om, N_, discrete=True)
                                                              for x in sg]) / d[f"dcsgd_{om}"][:, 1])) for om in OMEGAS}
    # DSignSGD in phase 3 (lr h_max / sigma <= 0.04): two-sided against the phase-3 floor, and its slope
    sel = s["lr"] * H.max() / sg <= 0.04
    m_s, se_s = d["dsign"].T
    th_s = np.array([dsignsgd_floor(s["lr"], 3, [x] * N_, N_) for x in sg])
    z_s = float(np.max(np.abs(m_s - th_s)[sel] / se_s[sel]))
    a, ase = _slope(sg[sel], m_s[sel], se_s[sel])
    outside = ", ".join(f"sigma {x:.2g}: {100 * (m / t - 1):+.1f}%" for x, m, t in zip(sg[~sel], m_s[~sel], th_s[~sel]))
    xs = crossover_sigma(1.0)
    below, above = sg <= xs / 2, sg >= 2 * xs
    m_c, se_c = d["dcsgd_1.0"].T
    gap = (m_s - m_c) / np.hypot(se_s, se_c)
    cross_ok = bool(np.all(gap[below] > Z) and np.all(gap[above] < -Z))
    ok = max(z_dc.values()) <= Z and z_s <= Z and abs(a - 1) <= Z * ase and cross_ok
    return {"passed": bool(ok), "value": a, "se": ase,
            "measured": f"DCSGD levels: max |z| " + ", ".join(f"omega {om:g}: {z:.2f}" for om, z in z_dc.items())
                        + f"; DSignSGD (phase 3): max |z| {z_s:.2f}, slope {a:.3f} +- {ase:.3f}; ordering flips across "
                          f"sigma* = {xs:.3f}: {cross_ok}; outside phase 3: {outside or 'none'}",
            "predicted": "DCSGD floor = discrete-exact (1 + omega) sigma^2 law; DSignSGD floor = lr d sigma/(4 N c) with "
                         "slope 1; DCSGD lower below sigma*/2, DSignSGD lower above 2 sigma*",
            "criterion": f"two-sided, {Z:g} s.e.: DCSGD level per omega (its slope 2 is exact by construction and not "
                         f"tested); DSignSGD level and slope where lr h_max/sigma <= 0.04; crossover ordering beyond "
                         f"{Z:g} s.e.",
            "summary": f"DCSGD z {max(z_dc.values()):.2f}; sign z {z_s:.2f}, slope {a:.2f}; crossover {cross_ok}"}


def _agents(quick):
    d, s = _data("agents", quick)
    from theory.closed_forms import dcsgd_floor, dsignsgd_floor

    from .fig_agents import H

    n = d["agents"].astype(float)
    a, ase = _slope(n, *d["dsign"].T)
    m_c, se_c = d["dcsgd"].T
    th_c = np.array([dcsgd_floor(s["lr"], H, [1.0] * int(k), 1.0, int(k), discrete=True) for k in n])
    z_c = float(np.max(np.abs(m_c - th_c) / se_c))
    m_s = d["dsign"][:, 0]
    th_s = np.array([dsignsgd_floor(s["lr"], 3, [1.0] * int(k), int(k)) for k in n])
    ok = abs(a + 1) <= Z * ase and z_c <= Z
    return {"passed": bool(ok), "value": a, "se": ase,
            "measured": f"DSignSGD floor slope in N: {a:.3f} +- {ase:.3f} (levels vs phase 3: "
                        + ", ".join(f"{100 * (x / t - 1):+.1f}%" for x, t in zip(m_s, th_s))
                        + f"); DCSGD levels vs discrete-exact 1/N law: max |z| {z_c:.2f}",
            "predicted": "DSignSGD slope -1 (floor proportional to 1/N); DCSGD floor = discrete-exact value at each N",
            "criterion": f"|slope + 1| <= {Z:g} s.e.; DCSGD |level - theory| <= {Z:g} s.e. at every N (the DSignSGD levels "
                         "carry the phase-3 linearisation's own ~1-2% bias at lr h/sigma = 0.04 and are reported)",
            "summary": f"slope {a:.2f}; DCSGD max |z| {z_c:.2f}"}


def _adamw(quick):
    d, s = _data("adamw_weight_decay", quick)
    from theory.closed_forms import adamw_stationary_variance

    from .fig_adamw_weight_decay import RHO1, THETAS

    sg = d["sigmas"]
    sel = s["lr"] * 1.0 / sg <= 0.025  # lr lambda/sigma: the O(lr) terms the Lyapunov law neglects stay below the s.e.
    zs = {}
    for th in THETAS:
        m, se = d[f"theta_{th}"].T
        pred = 0.5 * adamw_stationary_variance(s["lr"], 1.0, sg, RHO1, th)
        zs[th] = float(np.max(np.abs(m - pred)[sel] / se[sel]))
    th = 1.0
    m, se = d[f"theta_{th}"][-1]
    cap = s["lr"] / 4 * RHO1 / (RHO1 + th) / th
    m0, se0 = d["theta_0.0"][-1]
    ok = max(zs.values()) <= 4.5 and m <= cap + Z * se and m0 - Z * se0 > cap
    return {"passed": bool(ok), "value": float(m), "se": float(se),
            "measured": f"sigma = {d['sigmas'][-1]:.3g}: theta = 1 floor {m:.4g} +- {se:.2g}, theta = 0 floor {m0:.4g}; "
                        "levels vs the Lyapunov law: max |z| " + ", ".join(f"theta {k:g}: {v:.2f}" for k, v in zs.items()),
            "predicted": f"floors = (lr/4) rho1/(rho1 + theta) lambda sigma/(lambda + theta sigma) at every sigma; theta = 1 "
                         f"stays below its sigma -> inf limit {cap:.4g}, theta = 0 grows past it",
            "criterion": f"two-sided: max |z| <= 4.5 over the sigma grid where lr lambda/sigma <= 0.025 ({int(sel.sum())} of "
                         f"{sel.size} points) for each theta; cap and growth beyond {Z:g} s.e.",
            "summary": f"max |z| {max(zs.values()):.2f}; {m:.4g} <= {cap:.4g}"}


def _weak(quick):
    """Decided against the exact weak error: on the parabola both sides have closed-form moments
    (``theory.l0l1.parabola_weak_error``), so the order a ladder of steps should show is known
    exactly, pre-asymptotic curvature included."""
    d, s = _data("weak_error", quick)
    from theory.l0l1 import local_orders, parabola_weak_error

    from .fig_weak_error import LAM, SIG, X0

    etas = d["etas"]
    exact = np.abs([parabola_weak_error("classic", e, LAM, SIG, X0, 1.0) for e in etas])
    fit_exact, _ = _slope(etas, exact, d["sme1_se"])  # the simulated fit's weighting, on the exact errors
    order, se = d["sme1_fit"]
    z_pts = np.abs(d["sme1_err"] - exact) / d["sme1_se"]
    loc = local_orders(etas, exact)
    # the measured order must agree with the exact ladder's (two-sided), the simulated errors with the exact
    # ones point by point, and the exact local orders must approach 1 (first-order method: the gap halves
    # with each halving of the step)
    ok = abs(order - fit_exact) <= Z * se and np.all(z_pts <= Z) and abs(loc[-1] - 1) < 0.05 and np.all(np.diff(np.abs(loc - 1)) < 0)
    return {"passed": bool(ok), "value": float(order), "se": float(se),
            "measured": f"fitted order {order:.3f} +- {se:.3f} (s.e.); simulated errors vs exact: max |z| {z_pts.max():.2f}",
            "predicted": f"the exact errors' fitted order over the same steps, {fit_exact:.3f} (pre-asymptotic); exact local "
                         f"orders {', '.join(f'{x:.3f}' for x in loc)} -> 1",
            "criterion": f"|order - exact order| <= {Z:g} s.e.; every simulated error within {Z:g} s.e. of the exact one; exact "
                         "local order within 0.05 of 1 at the smallest steps and approaching 1 monotonically",
            "summary": f"order {order:.2f} vs exact {fit_exact:.2f}; local {loc[-1]:.3f}"}


def _scaling(quick):
    d, s = _data("scaling_rules", quick)
    from theory.closed_forms import dsignsgd_floor, loss_from_variances, sgd_stationary_variance

    from .fig_scaling_rules import AGENTS, H, KAPPAS, RULE_NAMES

    def floors(name):
        fl = np.array([d[f"{name}|{k}|floor"] for k in KAPPAS])
        return fl[:, 0], fl[:, 1]

    # DSGD: the linear rule leaves the SDE unchanged; the discrete floor still carries the O(lr) factor
    # 1/(2 - lr lambda), so each kappa is compared with theory's discrete-exact floor
    m, se = floors(RULE_NAMES[0])
    theo = [loss_from_variances(H, sgd_stationary_variance(s["lr"] * k, H, s["sigma"] / math.sqrt(k * AGENTS)))
            for k in KAPPAS]
    z_lin = float(np.max(np.abs(m - theo) / se))
    # DSignSGD: two-sided against the phase-3 floor lr d sigma_B/(4 N c) where phase 3 holds (lr h_max/sigma_B <= 0.05)
    z_sign, notes = 0.0, []
    for name, bfun in ((RULE_NAMES[1], lambda k: k * k), (RULE_NAMES[2], lambda k: k)):
        ms, ses = floors(name)
        for k, x, e in zip(KAPPAS, ms, ses):
            lr, sb = s["lr"] * k, s["sigma"] / math.sqrt(bfun(k))
            th = dsignsgd_floor(lr, len(H), [sb] * AGENTS, AGENTS)
            if lr * H.max() / sb <= 0.05:
                z_sign = max(z_sign, abs(x - th) / e)
            else:
                notes.append(f"{name}, kappa {k}: {100 * (x / th - 1):+.1f}% off phase 3 (lr h/sigma_B = {lr * H.max() / sb:.2f})")

    def change(name):  # relative change of the floor from kappa = 1 to the largest kappa, with its s.e.
        m, se = floors(name)
        r = m[-1] / m[0] - 1
        return r, (m[-1] / m[0]) * math.hypot(se[-1] / m[-1], se[0] / m[0])

    c_sqrt, s_sqrt = change(RULE_NAMES[1])
    c_wrong, s_wrong = change(RULE_NAMES[2])
    ok = z_lin <= Z and z_sign <= Z and abs(c_sqrt) + Z * s_sqrt < 0.1 * (abs(c_wrong) - Z * s_wrong)
    return {"passed": bool(ok), "value": c_sqrt, "se": s_sqrt,
            "measured": f"DSGD linear: max |z| against theory {z_lin:.2f}; DSignSGD floors against phase 3 (where valid): "
                        f"max |z| {z_sign:.2f}; floor change at kappa = {KAPPAS[-1]}: square-root rule {100 * c_sqrt:+.1f}% "
                        f"+- {100 * s_sqrt:.1f}%, linear rule {100 * c_wrong:+.0f}% +- {100 * s_wrong:.0f}%"
                        + (f"; {'; '.join(notes)}" if notes else ""),
            "predicted": "DSGD floors equal theory's discrete-exact value for every kappa (the SDE itself is invariant); "
                         "DSignSGD floors equal the phase-3 value lr d sigma_B/(4 N c) (invariant under the square-root rule, "
                         "x sqrt(kappa) under the linear one)",
            "criterion": f"two-sided, {Z:g} s.e.: DSGD per kappa; DSignSGD per kappa where lr h_max/sigma_B <= 0.05 "
                         "(beyond, the phase-3 approximation's own error is reported); the square-root rule's change at "
                         "least 10x smaller than the linear rule's",
            "summary": f"z {z_lin:.2f}/{z_sign:.2f}; sqrt {100 * c_sqrt:+.1f}%, linear {100 * c_wrong:+.0f}%"}


_OWN = [
    Claim("sde-tracks-discrete", "2411.15958, 2502.17009",
          "SignSGD SDE (2411.15958 Thm 3.2 / Cor 3.3, recalled); SGD, DCSGD, DSignSGD SDEs (derived)",
          "The SDE models, integrated at dt = lr/4, track SGD, SignSGD, DCSGD and DSignSGD on quadratics within Monte "
          "Carlo error (AdamW, whose O(lr) error at rho1 lr = 0.1 need not be below the Monte Carlo error, is reported)",
          "unsure", "figure sde_vs_discrete: E f of discrete and classic SDE (EM, dt = lr/4), t >= 1", _tracks),
    Claim("corrected-stability", "2506.00181", "Sec. 4.3, Table 2 (parabola and quartic rows); quartic threshold 2/3 derived here",
          "Classic and second-order modified equations converge for every step; the corrected one loses stability "
          "exactly where GD does on the parabola (eta < 2/lambda) and repels on the quartic (once eta x^2 > 2/3)",
          "recovered", "figure stability: deterministic flows vs GD", _stability),
    Claim("heavy-tails-sign-converges", "2506.00181", "Thm 4.3, Sec. 6.1 experiment E3; v1 abstract (decaying schedules)",
          "Under Cauchy noise with eta_k = 1/sqrt(k+1), DSignSGD converges and DCSGD does not", "recovered",
          "figure heavy_tails: DSignSGD's mean, DCSGD's median and divergence count", _heavy),
    Claim("floors-linear-vs-quadratic", "2502.17009", "stationary-loss results (numbering not recovered; formulas derived here)",
          "Stationary loss grows linearly in sigma for DSignSGD and quadratically for DCSGD, so sign compression wins "
          "above sigma* = sqrt(pi/2)/(1 + omega)", "derived",
          "figure floor_vs_sigma: levels against theory (two-sided), the sign method's slope, the crossover", _floors),
    Claim("agents-linear-speedup", "2502.17009", "linear speedup in N (numbering not recovered)",
          "DSignSGD's stationary loss falls as 1/N in the number of agents", "derived",
          "figure agents: DSignSGD log-log slope, DCSGD levels against theory", _agents),
    Claim("scaling-rules-collapse", "2502.17009", "scaling rules (derived here)",
          "The linear rule keeps DSGD's SDE (its discrete floor moves only by theory's O(lr) factor); the square-root "
          "rule keeps DSignSGD's floor up to the phase-3 approximation, far better than the linear rule", "derived", "figure scaling_rules: stationary levels for kappa = 1, 2, 4", _scaling),
    Claim("weak-error-order-one", "2411.15958", "background: SME weak order 1 (Li, Tai and E)",
          "The first-order SME is a weak approximation of order 1 of SGD", "recovered",
          "figure weak_error: fitted order of |E f(x_k) - E f(X_t)| against lr, held to the exact errors", _weak),
    Claim("adamw-floor-bounded", "2411.15958", "Lemma C.57 discussion",
          "With decoupled weight decay AdamW's stationary loss stays bounded as the noise grows", "derived",
          "figure adamw_weight_decay: floors against the Lyapunov law (two-sided) and the sigma -> inf cap", _adamw),
]


def _registry():
    """Every claim: this module's and those of the per-paper claims modules (each a ``CLAIMS`` list)."""
    from importlib import import_module

    out = list(_OWN)
    for name in CLAIM_MODULES:
        try:
            mod = import_module(f"figures.{name}")
        except ModuleNotFoundError as e:
            if e.name != f"figures.{name}":
                raise
            continue
        out += mod.CLAIMS
    ids = [c.id for c in out]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"duplicate claim ids: {sorted(dup)}")
    return out


CLAIM_MODULES = ["claims_l0l1", "claims_compression", "claims_adaptive", "claims_methods", "claims_realdata"]
CLAIMS = _registry()


def write_json(results, path, *, quick: bool):
    """One record per claim (see ``Claim.record``), written atomically."""
    import json
    import os
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    doc = {"quick": quick, "claims": [c.record(r) for c, r in results]}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(doc, fh, indent=1, default=str)
    os.replace(tmp, path)


def write_report(results, path, *, quick: bool):
    """Write the Markdown claims report to ``path`` (a ``pathlib.Path``; parents created).

    ``results`` holds ``(claim, result)`` pairs, ``result`` the dict of ``Claim.evaluate``.
    The report is a table (statement, status, source, predicted, measured, verdict) and one
    section per claim with how it is measured, the details and the figure it reads; ``quick``
    says in the header which settings produced the numbers.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Claims of the three papers, checked by simulation", "",
             "Each claim cites its paper by arXiv id and the paper's own numbering; *recovered* means the statement "
             "was recovered from the paper, *derived* that it was derived here (or by the model's authors), *unsure* "
             "that the recovered form is uncertain. Measured values come from the figure computations "
             f"({'quick' if quick else 'full'} settings, stated in each figure's caption); tolerances are {Z:g} Monte "
             "Carlo standard errors unless the line says otherwise.", "",
             "| claim | status | source | predicted | measured | verdict |", "|---|---|---|---|---|---|"]
    cell = lambda v: str(v).replace("|", "\\|")
    for c, r in results:
        lines.append(f"| {cell(c.statement)} | {c.status} | {cell(c.source)} | {cell(r['predicted'])} | "
                     f"{cell(r['measured'])} | {'pass' if r['passed'] else '**FAIL**'} |")
    lines.append("")
    for c, r in results:
        lines += [f"## {c.id}", "", f"*{c.statement}* ({c.status}; {c.source})", "", f"How: {c.how}.", "",
                  f"Details: {r['summary']}", ""]
        fig = c.how.split("figure ")[-1].split(":")[0].strip()
        if fig in FIGURES:
            lines += [f"![{fig}]({fig}.png)", ""]
    path.write_text("\n".join(lines))
