"""Experiment E3 of arXiv 2506.00181 (Sec. 6.1) with the Theorem-4.3 step.

DSignSGD (N = 8 agents averaging signs) under Student-t noise with nu = 1 (Cauchy) for several
scales sigma, on the (L0,L1)-smooth ``f = sum_j cosh(x_j)`` ((L0, L1) = (1, 1)). For each sigma the
base step is 0.9 times Theorem 4.3's ceiling ``ell_nu / K``, ``K = L1 d sigma_H1/(2N) +
sqrt(d) (L0 + L1) M_nu`` (``theory.l0l1.dsignsgd_step_ceiling``; ``ell_nu``, ``M_nu`` are candidate
constants, unsure), with a constant schedule (E3: stable, plateaus) and with ``1/sqrt(k+1)``
(E3, Thm 4.3: converges for every sigma). Sign steps are bounded (``|x_{k+1} - x_k| <= lr eta_k``
per coordinate), so means exist even under Cauchy noise: the figure shows means with 95% bands.
"""
import numpy as np

from methods import landscapes as L, noise as N, optimizers as O, schedules as S, simulate
from theory.l0l1 import dsignsgd_step_ceiling

NAME = "sign_heavy_tails"
TITLE = "E3: DSignSGD under Cauchy noise, constant step vs 1/sqrt(k+1) (f = sum cosh x, N = 8)"
D, AGENTS, X0, NU = 4, 8, 3.0, 1.0
SIGMAS = (0.3, 1.0, 3.0)
SCHEDULES = {"constant": S.Constant(), "1/sqrt(k+1)": S.InvSqrt()}


def lr_for(sigma):
    """0.9 x the Theorem-4.3 ceiling (candidate constants) for this sigma."""
    return 0.9 * dsignsgd_step_ceiling(L0=1.0, L1=1.0, d=D, agents=AGENTS, sigma=sigma, nu=NU)


def settings(quick):
    """The settings of this figure (``quick``: fewer steps and paths, for tests and ``--quick``)."""
    return {"steps": 2000 if quick else 8000, "paths": 256 if quick else 512, "seed": 0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    ``sigmas``, and for each scale ``sigma`` and schedule (key ``"<sigma>|<schedule>"``): DSignSGD
    (``N = AGENTS``, base step ``lr_for(sigma)``) on ``f = sum cosh(x_j)`` under Student-t ``nu = NU``
    noise, about 200 save points: ``|k``, ``|mean``, ``|se`` (``E f``), ``|diverged`` (the count),
    and per-path loss averages over save-point windows for the plateau test: ``|w2`` (from 1/2 to 3/4
    of the run), ``|w3`` (the last quarter), ``|q1`` (the point at 1/4) and ``|fin`` (the last point).
    """
    f = L.SumCosh(D)
    data = {"sigmas": np.array(SIGMAS)}
    for sg in SIGMAS:
        for name, sch in SCHEDULES.items():
            opt = O.DSignSGD(lr=lr_for(sg), agents=AGENTS, schedule=sch)
            r = simulate(f, opt, N.StudentT(NU, sg), x0=X0, steps=s["steps"], paths=s["paths"], seed=s["seed"],
                         save_every=max(s["steps"] // 200, 1))
            key = f"{sg:g}|{name}"
            data[key + "|k"] = r.step
            data[key + "|mean"] = r.mean()
            data[key + "|se"] = r.stderr()
            data[key + "|diverged"] = np.array(r.diverged)
            n = r.step.size
            # per-path window averages over the last three quarters, for the plateau test
            for a, b, tag in ((n // 2, 3 * n // 4, "w2"), (3 * n // 4, n, "w3"), (n // 4, n // 4 + 1, "q1"),
                              (n - 1, n, "fin")):
                data[key + "|" + tag] = np.asarray(r.loss[a:b].mean(axis=0))
    return data


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SIGMAS), figsize=(12, 4), sharey=True)
    for ax, sg in zip(axes, SIGMAS):
        for name in SCHEDULES:
            key = f"{sg:g}|{name}"
            k, m, se = np.maximum(data[key + "|k"], 1), data[key + "|mean"], data[key + "|se"]
            (ln,) = ax.plot(k, m, label=f"{name} ({int(data[key + '|diverged'])} diverged)")
            ax.fill_between(k, np.maximum(m - 1.96 * se, 1e-12), m + 1.96 * se, color=ln.get_color(), alpha=0.25, lw=0)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("iteration k")
        ax.set_title(f"Cauchy, sigma = {sg:g}: lr = {lr_for(sg):.3f}")
        ax.legend()
    axes[0].set_ylabel("E f(x_k) - f*: mean, 95% CI")
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here and the candidate
    (unsure) constants of the Theorem-4.3 ceiling."""
    return (f"Settings chosen here: f = sum cosh(x_j) (d = {D}), x0 = {X0}, N = {AGENTS} agents, Student-t nu = 1 noise "
            f"of scale sigma in {SIGMAS} per coordinate, base step 0.9 x the Theorem-4.3 ceiling with candidate "
            f"constants ell_1 = 1/2, M_1 = 2/pi and sigma_H1 = sigma (unsure); {s['steps']} steps, {s['paths']} paths.")
