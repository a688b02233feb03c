"""Momentum and clipping beside their SDE models (derived here; see ``sde.momentum`` and ``sde.clipped``).

(a) SGDM on ``f = x^2/2`` with Gaussian noise: the stationary ``Var x`` of the discrete method over
the SDE's ``h sigma^2/2`` (``h = lr/(1 - mu)``), against the heavy-ball step ``h``: Monte Carlo of the
discrete SGDM and of the SDE (refine 8), the chain's exact law ``1/(1 - e)``,
``e = h (1 - mu)/(2 (1 + mu))``, and the SDE (1).
(b) Clipped SGD on ``f = x^2/2`` under Student-t noise: the stationary ``Var x`` of the discrete
method (Monte Carlo) and of the clipped SDE (Fokker-Planck quadrature) against ``nu``, with the
stated first-order model-error band; SGD's SDE value ``lr Var Z / 2`` exists only for ``nu > 2``.
"""
import math

import numpy as np

import sde
from methods import landscapes as L, noise as N, optimizers as O, simulate
from sde import clipped as SC
from sde import momentum as SM

NAME = "momentum_clipping"
TITLE = "SGDM and clipped SGD beside their SDE models"
MU = 0.5
NUS = (1.0, 1.5, 2.0, 3.0, 5.0, math.inf)


def settings(quick):
    """The settings of this figure (``quick``: fewer step sizes, ``nu`` values and paths, for tests and
    ``--quick``)."""
    return {"mu": MU, "lrs": [0.05, 0.1, 0.2, 0.4] if not quick else [0.05, 0.2], "sgdm_steps": 2000,
            "paths": 512 if quick else 4096, "clip": 1.0, "clip_lr": 0.05, "clip_t_end": 40.0, "clip_after": 10.0,
            "nus": list(NUS) if not quick else [1.0, 1.5, 3.0], "refine": 8, "seed": 0}


def _time_average_exact(run, after, A, B, first=None):
    steps = int(run.step[-1])
    mean, cov = SM.moments_discrete(A, B, [0.0, 0.0], steps, first=first)
    ks = run.step[run.t >= after]
    return float(np.mean(cov[ks, 0, 0] + mean[ks, 0] ** 2))


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    (a) per ``lr`` in ``s["lrs"]``, SGDM (``momentum = mu``) on ``f = x^2/2`` under Gaussian noise of
    sd 1 from ``x0 = 0``: ``h`` (the heavy-ball step ``lr/(1 - mu)``), ``disc`` and ``sde`` (time
    averages of ``x^2`` over the second half, mean and s.e.; the SDE of ``sde.momentum`` with
    ``refine``), ``exact_disc`` and ``exact_scheme`` (the same finite-horizon averages from the exact
    moments of the discrete chain, torch's first step included, and of the Euler-Maruyama scheme),
    ``sde_var`` (the SDE's stationary ``Var X = h sigma^2/2``, continuous Lyapunov equation);
    (b) per ``nu`` in ``s["nus"]`` (``inf``: Gaussian), ClippedSGD under Student-t noise of scale 1:
    ``clip_disc`` (time average of ``x^2`` over ``t >= clip_after``; mean, s.e.), ``clip_sde`` (the
    clipped SDE's stationary ``Var X``, Fokker-Planck quadrature) and ``clip_eps`` (the stated
    first-order model-error scale ``kappa lr / 2``). All derived here.
    """
    f = L.DiagonalQuadratic([1.0])
    out = {"h": [], "disc": [], "sde": [], "exact_disc": [], "exact_scheme": [], "sde_var": []}
    for i, lr in enumerate(s["lrs"]):
        opt = O.SGDM(lr=lr, momentum=s["mu"])
        steps = s["sgdm_steps"]
        r = simulate(f, opt, N.Gaussian(1.0), x0=0.0, steps=steps, paths=s["paths"], seed=s["seed"] + i,
                     save_every=10, record_iterates=True)
        m = sde.model(opt, f, N.Gaussian(1.0))
        rs = sde.integrate(m, x0=0.0, t_end=steps * lr, paths=s["paths"], seed=s["seed"] + 100 + i,
                           refine=s["refine"], save_every=10, record_iterates=True)
        after = r.t[-1] / 2
        A, B = SM.discrete_system(opt, 1.0, 1.0)
        out["exact_disc"].append(_time_average_exact(r, after, A, B, SM.discrete_system(opt, 1.0, 1.0, first=True)))
        out["exact_scheme"].append(_time_average_exact(rs, after, *SM.scheme_system(opt, 1.0, 1.0, s["refine"])))
        out["disc"].append(r.time_average("x2_0", after=after))
        out["sde"].append(rs.time_average("x2_0", after=after))
        out["sde_var"].append(SM.stationary_covariance_sde(opt, 1.0, 1.0)[0, 0])
        out["h"].append(opt.effective_lr)
    c, lr = s["clip"], s["clip_lr"]
    copt = O.ClippedSGD(lr=lr, clip=c)
    out.update({"nus": np.array(s["nus"]), "clip_disc": [], "clip_sde": [], "clip_eps": []})
    for i, nu in enumerate(s["nus"]):
        nz = N.Gaussian(1.0) if math.isinf(nu) else N.StudentT(nu, 1.0)
        r = simulate(f, copt, nz, x0=0.0, steps=int(round(s["clip_t_end"] / lr)), paths=s["paths"],
                     seed=s["seed"] + 200 + i, record_iterates=True)
        out["clip_disc"].append(r.time_average("x2_0", after=s["clip_after"]))
        out["clip_sde"].append(SC.stationary_moments(1.0, lr, 1.0, c, nu)[1])
        out["clip_eps"].append(SC.model_error_scale(1.0, lr, 1.0, c, nu))
    return {k: np.asarray(v, dtype=float) for k, v in out.items()}


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    h, ref = data["h"], data["sde_var"]
    fine = np.geomspace(h.min() / 1.5, h.max() * 1.5, 100)
    mu = s["mu"]
    e = fine * (1 - mu) / (2 * (1 + mu))
    a.plot(fine, 1 / (1 - e), "k-", lw=1, label="discrete SGDM, exact law 1/(1 - e)")
    a.axhline(1.0, color="C1", lw=1, label="SDE (continuous Lyapunov)")
    for key, fmt, lab in (("disc", "o", "discrete SGDM (Monte Carlo)"), ("sde", "s", f"SDE, refine {s['refine']} (Monte Carlo)")):
        m, se = data[key].T
        a.errorbar(h * (1.04 if key == "sde" else 1.0), m / ref, yerr=1.96 * se / ref, fmt=fmt, ms=4, label=lab)
    a.plot(h, data["exact_disc"] / ref, "k+", ms=8, label="exact finite-horizon average")
    a.set_xscale("log")
    a.set_xlabel("heavy-ball step h = lr / (1 - mu)")
    a.set_ylabel("stationary Var x / (h sigma^2 / 2)")
    a.set_title(f"SGDM, mu = {mu:g}, f = x^2/2, Gaussian noise")
    a.legend(fontsize=7)
    nus = data["nus"]
    xpos = np.arange(nus.size)
    m, se = data["clip_disc"].T
    b.errorbar(xpos, m, yerr=1.96 * se, fmt="o", ms=4, label="discrete clipped SGD (Monte Carlo)")
    v, eps = data["clip_sde"], data["clip_eps"]
    b.plot(xpos, v, "s", mfc="none", ms=7, color="C1", label="clipped SDE (Fokker-Planck)")
    b.errorbar(xpos + 0.12, v, yerr=eps * v, fmt="none", color="C1", lw=0.8, label="stated model error kappa lr/2")
    lr = s["clip_lr"]
    sgd = [lr * (nu / (nu - 2) if nu > 2 else np.nan) / 2 if not math.isinf(nu) else lr / 2 for nu in nus]
    b.plot(xpos, sgd, "kx", label="SGD's SDE, lr Var Z / 2 (nu > 2 only)")
    b.set_xticks(xpos, [("Gauss" if math.isinf(nu) else f"{nu:g}") for nu in nus])
    b.set_xlabel("Student-t degrees of freedom nu")
    b.set_ylabel("stationary Var x")
    b.set_title(f"clipped SGD, c = {s['clip']:g}, lr = {lr:g}, f = x^2/2")
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here and where each reference
    value comes from."""
    return (f"Settings chosen here. (a) SGDM (torch form) with mu = {s['mu']:g}, lr in {s['lrs']}, {s['sgdm_steps']} "
            f"steps from x0 = 0, time average over the second half, {s['paths']} paths; SDE of sde.momentum (derived "
            f"here), semi-implicit Euler-Maruyama with refine {s['refine']}. Exact law: AR(2) moments / discrete Lyapunov "
            f"equation. (b) ClippedSGD, c = {s['clip']:g}, lr = {s['clip_lr']:g}, Student-t sigma = 1, time average over "
            f"t in [{s['clip_after']:g}, {s['clip_t_end']:g}], {s['paths']} paths; SDE of sde.clipped (derived here), "
            "its stationary variance by 1-D Fokker-Planck quadrature. Bars: 95% confidence intervals.")
