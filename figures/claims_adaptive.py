"""Claims of the adaptive-methods paper, arXiv 2411.15958 (Compagnoni, Liu, Islamov, Proske, Orvieto, Lucchi,
ICLR 2025), and of the background it builds on (Li, Tai and E's SMEs; Malladi et al.'s SDEs, arXiv 2205.10287).

Recovered from the paper (through its public reviews and notes quoting it): Lemma 3.13 exists and targets the
stationary loss and speed, Lemma C.52 gives Adam's stationary covariance, and the paper's SDEs track the
optimizers better than Malladi et al.'s. The SDE forms themselves and Lemma 3.4's phases were recalled, not
seen verbatim (status "unsure" where a claim rests on them); bounds and closed forms are derived here.
Tolerances: 4 Monte Carlo standard errors (4.5 for a maximum over a curve's points).
"""
from __future__ import annotations

import math

import numpy as np

from .claim_base import Claim, PAPERS, Z, data as _data

PAPER = PAPERS["adaptive"]
ZMAX = 4.5


def _tracking(quick):
    from .fig_adaptive_tracking import WINDOW, cases, tracking_advantage, tracking_error

    d, s = _data("adaptive_tracking", quick)
    rows, ok, vals = [], True, []
    for name in cases(s):
        adv, se = tracking_advantage(d, name)
        ec, em = tracking_error(d, name, "classic"), tracking_error(d, name, "malladi")
        div = sum(int(d[f"{name}|{k}|diverged"]) for k in ("disc", "classic", "malladi"))
        ok = ok and adv > Z * se and div == 0
        vals.append((adv, se))
        rows.append(f"{name}: error paper's SDE {ec:.3f}, Malladi's {em:.3f}, difference {adv:.3f} +- {se:.3f}")
    return {"passed": bool(ok), "value": float(vals[0][0]), "se": float(vals[0][1]),
            "predicted": "the paper's SDEs (second moment tracking E g^2 including (grad f)^2) track discrete Adam and "
                         "RMSprop better than Malladi et al.'s",
            "measured": "; ".join(rows),
            "criterion": f"error(Malladi) - error(paper) > {Z:g} batch-means s.e. for both methods, error = mean of "
                         f"|log(E f_SDE / E f_discrete)| over iterations {WINDOW[0]}-{WINDOW[1]}; no divergence",
            "summary": "; ".join(rows)}


def _malladi_adam(quick):
    from theory import adaptive as TA

    from .fig_adaptive_rules import EPS0

    d, s = _data("adaptive_rules", quick)
    mv = d["malladi_adam"]
    th = np.array([TA.malladi_stationary_variance(0.5, e, 1.0) for e in EPS0])
    z = np.abs(mv[:, 0] - th) / mv[:, 1]
    return {"passed": bool(np.all(z <= Z)), "value": float(mv[0, 0]), "se": float(mv[0, 1]),
            "predicted": "Var X_inf = sigma0^2 / (2 lambda (sigma0 + eps0)): " + ", ".join(f"{v:.4f}" for v in th)
                         + f" for eps0 = {EPS0} (sympy; independent of c1)",
            "measured": ", ".join(f"{m:.4f} +- {e:.1g}" for m, e in mv),
            "criterion": f"|measured - theory| <= {Z:g} s.e. at each eps0 (max {z.max():.2f})",
            "summary": f"max |z| {z.max():.2f}"}


def _lemma_3_13(quick):
    import sympy as sp

    from theory import adaptive as TA

    from .fig_adaptive_rules import LEMMA, lemma_theory

    d, s = _data("adaptive_rules", quick)
    fl = {n: d[f"lemma|{n}|floor"] for n in LEMMA}
    z = {n: abs(fl[n][0] - lemma_theory(n)) / fl[n][1] for n in LEMMA}
    base, der, scr = LEMMA[0], LEMMA[1], LEMMA[2]
    z_keep = abs(fl[der][0] - fl[base][0]) / math.hypot(fl[der][1], fl[base][1])
    z_script = abs(fl[scr][0] - fl[base][0]) / math.hypot(fl[scr][1], fl[base][1])
    loss_ratio, rate_ratio = TA.batch_rule_invariants("derived")
    sym = loss_ratio == 1 and sp.simplify(rate_ratio - sp.Symbol("kappa", positive=True)) == 0
    ok = sym and max(z.values()) <= Z and z_keep <= Z and z_script > Z
    return {"passed": bool(ok), "value": float(fl[der][0]), "se": float(fl[der][1]),
            "predicted": f"derived reading keeps the floor ({lemma_theory(der):.4g} = base) and speeds each step up by "
                         f"kappa (sympy: loss ratio {loss_ratio}, rate ratio {rate_ratio}); script reading: "
                         f"{lemma_theory(scr):.4g}; no rescaling {lemma_theory(LEMMA[3]):.4g}",
            "measured": ", ".join(f"{n}: {fl[n][0]:.4g} +- {fl[n][1]:.1g}" for n in LEMMA),
            "criterion": f"every floor within {Z:g} s.e. of theory's (max {max(z.values()):.2f}); derived = base within "
                         f"{Z:g} s.e. ({z_keep:.2f}); script differs by > {Z:g} s.e. ({z_script:.1f})",
            "summary": f"max z {max(z.values()):.2f}; keep {z_keep:.2f}; script {z_script:.1f}"}


def _sqrt_rule(quick):
    d, s = _data("adaptive_rules", quick)
    b, sb = d["sqrt|base|mean"], d["sqrt|base|se"]
    r, sr = d["sqrt|rule|mean"], d["sqrt|rule|se"]
    n, sn = d["sqrt|none|mean"], d["sqrt|none|se"]
    z = float(np.max(np.abs(r - b) / np.hypot(sr, sb)))
    z_none = float(np.abs(n - b)[-1] / math.hypot(sn[-1], sb[-1]))
    ok = z <= ZMAX and z_none > Z
    return {"passed": bool(ok), "value": float(r[-1]), "se": float(sr[-1]),
            "predicted": "B -> 4B, lr -> 2 lr, 1 - beta -> 4 (1 - beta), eps -> eps/2 leaves sigma0, eps0, c2 and hence "
                         "Malladi's SDE unchanged: equal E f at equal t = k lr^2",
            "measured": "base " + ", ".join(f"{x:.4f}" for x in b) + "; rescaled " + ", ".join(f"{x:.4f}" for x in r)
                        + "; B = 4 only " + ", ".join(f"{x:.4f}" for x in n),
            "criterion": f"rescaled vs base max |z| <= {ZMAX} ({z:.2f}); not rescaling differs by > {Z:g} s.e. ({z_none:.0f})",
            "summary": f"max |z| {z:.2f}; control {z_none:.0f}"}


def _sme2(quick):
    from theory import adaptive as TA

    etas = [0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125]
    e2 = np.array([TA.weak_error(e, 2.0, 1.0, 1.0, 1.0, 2) for e in etas])
    e1 = np.array([TA.weak_error(e, 2.0, 1.0, 1.0, 1.0, 1) for e in etas])
    s2 = np.log2(e2[:-1] / e2[1:])
    s1 = np.log2(e1[:-1] / e1[1:])
    dev = np.abs(s2 - 2)
    # an O(eta) correction to an order-2 error halves the deviation of the local order at each halving of eta
    shrinking = bool(np.all(dev[2:] < 0.6 * dev[1:-1]))
    extrap = float(2 * s2[-1] - s2[-2])  # Richardson: the local order's limit, removing its O(eta) term
    ok = shrinking and abs(extrap - 2) < 0.01 and abs(2 * s1[-1] - s1[-2] - 1) < 0.05
    return {"passed": bool(ok), "value": float(s2[-1]), "se": 0.0,
            "predicted": "weak order 2 for SME2 (order 1 for SME1)",
            "measured": "SME2 local orders " + ", ".join(f"{x:.3f}" for x in s2) + "; SME1 " + ", ".join(f"{x:.3f}" for x in s1),
            "criterion": "exact errors (no Monte Carlo): the deviation of SME2's local order from 2 shrinks by > 40% per "
                         f"halving of lr, and its Richardson extrapolation is 2 to 0.01 ({extrap:.4f}); SME1's to 1 to 0.05",
            "summary": f"SME2 extrapolated order {extrap:.4f}; last local orders {s2[-1]:.3f} / {s1[-1]:.3f}"}


def _phase1(quick):
    from .fig_sign_bounds import theory

    d, s = _data("sign_bounds", quick)
    th = theory(d, s)
    exact = float(np.max(np.abs(d["p1|sde"] - th["p1"])))
    below = bool(np.all(d["p1|signgd2"] <= th["p1_2d"] + 1e-12))
    strict = float(np.max(th["p1_2d"] - d["p1|signgd2"]))
    ok = exact < 1e-9 and below and strict > 0.1
    return {"passed": bool(ok), "value": exact, "se": 0.0,
            "predicted": "f(X_t) - f* <= (sqrt(f0) - sqrt(mu/2) t)_+^2 for the SignGD ODE under mu-PL; equality on "
                         "lambda x^2/2 in 1-D",
            "measured": f"1-D phase-1 model: max |f - bound| = {exact:.2g}; SignGD on diag(1, 4): below the bound "
                        f"everywhere ({below}), by up to {strict:.3g}",
            "criterion": "exact (deterministic): equality to 1e-9 in 1-D, inequality in 2-D with a visible margin",
            "summary": f"1-D gap {exact:.2g}; 2-D below: {below}"}


def _ou_mean(quick):
    from .fig_sign_bounds import theory

    d, s = _data("sign_bounds", quick)
    th = theory(d, s)
    z = float(np.max(np.abs(d["p3|x|mean"][1:] - th["p3_mean"][1:]) / d["p3|x|se"][1:]))
    return {"passed": z <= ZMAX, "value": float(d["p3|x|mean"][-1]), "se": float(d["p3|x|se"][-1]),
            "predicted": f"E x_t = exp(-c lambda t / sigma_H) x0 (phase 3; final {th['p3_mean'][-1]:.5f})",
            "measured": f"final E x {d['p3|x|mean'][-1]:.5f} +- {d['p3|x|se'][-1]:.1g}",
            "criterion": f"max |z| over t <= {ZMAX} ({z:.2f}); the linearisation's own bias (< 1% at |Y| < 0.15) is below "
                         "the s.e.",
            "summary": f"max |z| {z:.2f}"}


def _adam_c52(quick):
    d, s = _data("adamw_weight_decay", quick)
    sg = d["sigmas"]
    m, se = d["theta_0.0"].T
    pred = s["lr"] * sg / 4  # (eta/4) Tr Sigma^(1/2) on lambda = 1
    sel = s["lr"] / sg <= 0.025  # lr lambda/sigma small: the law's neglected O(lr) terms stay below the s.e.
    z = np.abs(m - pred)[sel] / se[sel]
    ok = bool(np.all(z <= ZMAX))
    return {"passed": ok, "value": float(m[-1]), "se": float(se[-1]),
            "predicted": "Adam (theta = 0): E f_inf = (lr/4) sigma for f = x^2/2, linear in sigma, no sqrt(pi/2)",
            "measured": ", ".join(f"sigma {a:.3g}: {b:.4g} +- {c:.1g}" for a, b, c in zip(sg, m, se)),
            "criterion": f"max |z| <= {ZMAX} ({z.max():.2f}) over the sigma grid where lr lambda/sigma <= 0.025 "
                         f"({int(sel.sum())} of {sel.size}; below, lr lambda/sigma = 0.1 and the O(lr) terms show: "
                         f"{100 * (m[~sel] / pred[~sel] - 1).round(1)}%)",
            "summary": f"max |z| {z.max():.2f}"}


CLAIMS = [
    Claim("paper-sdes-track-better-than-malladi", PAPER, "experiments against Malladi et al.'s SDEs (numbering not recovered)",
          "The paper's RMSprop and Adam SDEs track the discrete optimizers better than Malladi et al.'s", "recovered",
          "figure adaptive_tracking: E f of discrete Adam/RMSprop and of both SDEs", _tracking),
    Claim("malladi-adam-sde-stationary", PAPER, "background: Malladi et al.'s Adam SDE (arXiv 2205.10287); law derived here",
          "Malladi et al.'s Adam SDE has stationary variance sigma0^2 / (2 lambda (sigma0 + eps0)) on a quadratic",
          "derived", "figure adaptive_rules: (c) time-averaged X^2 of the SDE", _malladi_adam),
    Claim("lemma-3-13-batch-rule", PAPER, "Lemma 3.13",
          "Under B -> kappa B, AdamW with lr sqrt(kappa), 1 - beta_i kappa, wd sqrt(kappa), eps/sqrt(kappa) keeps its "
          "stationary loss (exact statement not recovered; the script reading is compared)", "unsure",
          "figure adaptive_rules: (a) AdamW floors under both readings", _lemma_3_13),
    Claim("square-root-rule-discrete", PAPER, "background: Malladi et al.'s square-root rule (arXiv 2205.10287)",
          "With the square-root rule, discrete RMSprop's loss curves coincide at equal t = k lr^2 in the noise-dominated "
          "regime", "recovered", "figure adaptive_rules: (b) E f at t = k lr^2", _sqrt_rule),
    Claim("sme2-weak-order-two", PAPER, "background: Li, Tai and E's second-order SME (arXiv 1511.06251)",
          "The second-order SME is a weak approximation of order 2 of SGD", "unsure",
          "exact errors on lambda x^2/2 (theory.adaptive.weak_error), local orders and Richardson extrapolation", _sme2),
    Claim("signsgd-phase1-bound", PAPER, "Lemma 3.4 (phase 1); bound derived here",
          "In phase 1 (SignGD) the loss obeys f - f* <= (sqrt(f0) - sqrt(mu/2) t)^2 under mu-PL, tight in 1-D",
          "derived", "figure sign_bounds: (a) phase-1 model and SignGD against the bound", _phase1),
    Claim("signsgd-phase3-ou-mean", PAPER, "Lemma 3.4 (phase 3); mean derived here",
          "In phase 3 the SignSGD mean decays as the OU mean exp(-c lambda t / sigma_H) x0", "derived",
          "figure sign_bounds: (c) mean of discrete DSignSGD", _ou_mean),
    Claim("adam-floor-lemma-c52", PAPER, "Lemma C.52",
          "Adam's stationary loss is (lr/4) Tr Sigma^(1/2): linear in sigma, without SignSGD's sqrt(pi/2)", "recovered",
          "figure adamw_weight_decay: theta = 0 floors against (lr/4) sigma", _adam_c52),
]
