"""Claims about methods of the neighbouring work (momentum, clipping), measured on figure
``momentum_clipping``. Both SDE models are derived here, so the claims are ``derived``."""
from __future__ import annotations

import numpy as np

from .claim_base import Claim, Z, data as _data


def _sgdm(quick):
    d, s = _data("momentum_clipping", quick)
    h, ref = d["h"], d["sde_var"]
    mu = s["mu"]
    # (i) the Monte Carlo of each process agrees with the exact law of that process (two-sided)
    zd = np.abs(d["disc"][:, 0] - d["exact_disc"]) / d["disc"][:, 1]
    zs = np.abs(d["sde"][:, 0] - d["exact_scheme"]) / d["sde"][:, 1]
    # (ii) the model error is first order in h: the gap between the chain's exact law (finite-horizon
    # average from the AR(2) moment recursion) and the SDE's continuous-Lyapunov variance has log-log
    # slope 1 in h, and equals the closed form e/(1 - e), e = h (1 - mu)/(2 (1 + mu)) (L = 1), up to the
    # horizon's residual transient (1e-3 relative)
    gap = d["exact_disc"] / ref - 1
    order = float(np.polyfit(np.log(h), np.log(gap), 1)[0])
    e = h * (1 - mu) / (2 * (1 + mu))
    horizon = float(np.max(np.abs((1 + gap) * (1 - e) - 1)))
    ok = bool(zd.max() <= Z and zs.max() <= Z and abs(order - 1) <= 0.1 and horizon <= 1e-3)
    return {"passed": ok,
            "measured": (f"discrete MC vs exact law max |z| = {zd.max():.2f}; SDE MC vs its scheme's exact law max "
                         f"|z| = {zs.max():.2f}; exact gap {', '.join(f'{g:.3%}' for g in gap)} at h = "
                         f"{', '.join(f'{x:g}' for x in h)}, log-log order {order:.3f}"),
            "predicted": (f"|z| <= {Z:g} for both processes; Var_disc/Var_SDE - 1 = e/(1 - e), e = h (1 - mu)/(2 (1 + mu)), "
                          "order 1 in h (within 0.1)"),
            "criterion": f"max |z| <= {Z:g} and |order - 1| <= 0.1",
            "value": float(zd.max()), "se": None,
            "summary": f"max |z| {max(zd.max(), zs.max()):.2f}, order {order:.2f}"}


def _clipped(quick):
    d, s = _data("momentum_clipping", quick)
    m, se = d["clip_disc"].T
    v, eps = d["clip_sde"], d["clip_eps"]
    tol = Z * se + eps * v
    gap = np.abs(m - v)
    rows = [f"nu = {nu:g}: {mm:.4g} +- {ss:.2g} vs SDE {vv:.4g}" for nu, mm, ss, vv in zip(d["nus"], m, se, v)]
    return {"passed": bool(np.all(gap <= tol)),
            "measured": "; ".join(rows),
            "predicted": (f"stationary Var x of ClippedSGD = the clipped SDE's, within {Z:g} s.e. plus the stated "
                          "first-order model error kappa lr/2 (kappa = P(|Z| < c)), for every nu including nu <= 2"),
            "criterion": f"|Var_disc - Var_SDE| <= {Z:g} s.e. + kappa lr/2 Var_SDE",
            "value": float(np.max(gap / v)), "se": float(np.max(se / v)),
            "summary": f"max relative gap {np.max(gap / v):.2%} (tolerance {np.min(tol / v):.2%}-{np.max(tol / v):.2%})"}


CLAIMS = [
    Claim("sgdm-sde-quadratic-law", "neighbouring work (heavy-ball momentum, Clip21-SGD2M line)",
          "derived here (sde.momentum)",
          "The SGDM SDE matches the exact stationary law of SGDM on a quadratic to first order in the heavy-ball "
          "step, and Monte Carlo of both processes agrees with their exact Gaussian laws", "derived",
          "figure momentum_clipping (a): AR(2) exact law (discrete Lyapunov / finite-k moments) vs Monte Carlo of "
          "SGDM and of the SDE, and the exact gap's order in h", _sgdm),
    Claim("clipped-sde-tracks-student-t", "neighbouring work (Clip-SGD under heavy-tailed noise)",
          "derived here (sde.clipped)",
          "The clipped-SGD SDE (drift E clip(g + Z), diffusion its variance) tracks the discrete clipped SGD under "
          "Student-t noise, including infinite-variance nu <= 2 where SGD has no SDE", "derived",
          "figure momentum_clipping (b): stationary Var x of ClippedSGD (Monte Carlo) vs the SDE's Fokker-Planck "
          "law, f = x^2/2", _clipped),
]
