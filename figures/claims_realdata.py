"""Claims on real data (finite sums of scikit-learn's bundled data sets), measured on the figure ``svag``.

SVAG (Li, Malladi and Arora, arXiv 2102.12470) is the neighbouring work's tool for testing an SDE
prediction on a real problem; the setting, the exact moment recursion and the criterion are derived here,
so the claim is ``derived`` (the O(1/l) rate is the paper's Theorem 4.3)."""
from __future__ import annotations

import numpy as np

from .claim_base import Claim, Z, data as _data


def _svag(quick):
    from .fig_svag import weak_errors

    d, s = _data("svag", quick)
    ls = d["ls"]
    # (i) every Monte Carlo mean equals its exact moment recursion (two-sided): SVAG per l, the SDE's Euler chain
    z_svag = np.abs(d["svag_mean"] - d["exact_svag"]) / d["svag_se"]
    z_sde = abs(d["sde_mean"] - d["exact_em"]) / d["sde_se"]
    # (ii) the Monte Carlo weak errors equal the exact ones (two-sided) ...
    diff, se = weak_errors(d)
    exact = d["exact_svag"] - d["exact_sde"]
    z_err = np.abs(diff - exact) / se
    # (iii) ... and decrease with l: e_1 - e_8 exceeds Z standard errors of that difference (the SDE reference
    # cancels in it; one-sided, the statement is a decrease)
    drop = abs(diff[0]) - abs(diff[-1])
    drop_se = float(np.hypot(d["svag_se"][0], d["svag_se"][-1]))
    # (iv) the exact errors are O(1/l): l e_l stays within a factor 2 of l = 1's
    le = ls * np.abs(exact)
    rate_ok = bool(le.max() <= 2 * le.min())
    ok = bool(z_svag.max() <= Z and z_sde <= Z and z_err.max() <= Z and drop > Z * drop_se and rate_ok)
    rows = ", ".join(f"l = {l:g}: {e:.4f} +- {t:.4f} (exact {x:.4f})" for l, e, t, x in zip(ls, diff, se, exact))
    return {"passed": ok,
            "measured": f"weak errors E f(x_T) - E f(X_T): {rows}; e_1 - e_8 = {drop:.4f} +- {drop_se:.4f}",
            "predicted": ("weak error O(1/l) (arXiv 2102.12470, Thm 4.3); exact values from the closed moment "
                          "recursion of least squares, l e_l = " + ", ".join(f"{v:.4f}" for v in le)),
            "criterion": (f"MC means = exact within {Z:g} s.e. (SVAG per l and the SDE's Euler chain, two-sided); MC "
                          f"weak errors = exact within {Z:g} s.e.; e_1 - e_8 > {Z:g} s.e.; max l e_l <= 2 min l e_l"),
            "value": float(abs(diff[-1])), "se": float(se[-1]),
            "summary": (f"e_l {', '.join(f'{abs(v):.4f}' for v in diff)} (s.e. {se.max():.4f}); max |z| means "
                        f"{max(z_svag.max(), z_sde):.2f}, errors {z_err.max():.2f}; drop {drop / drop_se:.1f} s.e.")}


def _mlp_tracking(quick):
    d, s = _data("mlp_digits", quick)
    rows, zmax, ok = [], 0.0, True
    for stat in ("loss", "acc"):
        a, b = d[f"SGD|disc|{stat}"], d[f"SGD|sde|{stat}"]
        z = np.abs(a[1:, 0] - b[1:, 0]) / np.hypot(a[1:, 1], b[1:, 1])
        zmax = max(zmax, float(z.max()))
        ok &= bool(np.all(z <= Z))
        rows.append(f"{stat}: SGD {a[-1, 0]:.4f} +- {a[-1, 1]:.4f}, SDE {b[-1, 0]:.4f} +- {b[-1, 1]:.4f} at the end, "
                    f"max |z| {z.max():.2f} over {z.size} save points")
    loss = d["SGD|disc|loss"][:, 0]
    learned = bool(loss[-1] <= 0.5 * loss[0])
    div = int(d["SGD|disc|diverged"] + d["SGD|sde|diverged"])
    ok = ok and learned and div == 0
    return {"passed": ok,
            "measured": "; ".join(rows) + f"; loss {loss[0]:.3f} -> {loss[-1]:.3f}; diverged paths {div}",
            "predicted": ("E f(X_t) and the held-out accuracy of the SDE with the minibatch covariance equal SGD's "
                          "(first-order weak approximation, error O(lr), below the Monte Carlo resolution here)"),
            "criterion": (f"two-sided |mean_SGD - mean_SDE| <= {Z:g} combined s.e. at every save point after 0, for the "
                          "loss and the accuracy; SGD halves its loss (the comparison is not of two idle runs); no "
                          "path diverged"),
            "value": zmax, "se": None,
            "summary": f"max |z| {zmax:.2f} (loss and accuracy); loss {loss[0]:.2f} -> {loss[-1]:.2f}"}


CLAIMS = [
    Claim("svag-converges-to-minibatch-sde", "neighbouring work (SVAG, Li, Malladi and Arora, arXiv 2102.12470)",
          "Theorem 4.3 (rate O(1/l)); setting, exact recursion and criterion derived here",
          "On a real finite sum (least squares on diabetes, minibatches of 8, lr lambda_max = 0.74), SVAG's weak error "
          "against the SGD SDE with the minibatch covariance decreases with l like 1/l, l = 1, 2, 4, 8",
          "derived",
          "figure svag: E f(x_T) - f* of SVAG per l and of the SDE (Euler, fine step) by Monte Carlo, against the "
          "exact moment recursions; weak errors with their standard errors", _svag),
    Claim("minibatch-sde-tracks-sgd-on-an-mlp", "neighbouring work (SME with the minibatch covariance, arXiv 1511.06251)",
          "the first-order SME (recovered); its minibatch-covariance factor, the MLP setting and the criterion derived here",
          "For a small step, the SDE with the minibatch covariance tracks minibatch SGD training an MLP on real data "
          "(digits): the same mean training loss and held-out accuracy over time", "derived",
          "figure mlp_digits: MLP (16 tanh units) on a 25% training split of digits, B = 16, lr = 0.1, SGD against its "
          "SDE (Euler dt = lr/2, independent noise); means and standard errors over paths at every save point",
          _mlp_tracking),
]
