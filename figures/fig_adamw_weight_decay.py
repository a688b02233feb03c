"""Figure 9: decoupled weight decay keeps AdamW's floor bounded as the noise grows
(arXiv 2411.15958, AdamW SDE: E f -> (eta/4) rho1/(rho1 + theta) lambda/theta as sigma -> inf; derived)."""
import numpy as np

from methods import landscapes as L, noise as N, optimizers as O
from theory import closed_forms as CF

from .common import levels, points_with_ci, stationary_grid, stationary_run

NAME = "adamw_weight_decay"
TITLE = "AdamW: the floor saturates in sigma when theta > 0"
THETAS = (0.0, 0.1, 1.0)
RHO1, RHO2 = 10.0, 1.0


def settings(quick):
    # relaxation rate ~ lambda/sigma + theta: at sigma = 30, theta = 0 the time constant is ~15, so the
    # horizon must be several of those before averaging
    """The settings of this figure (``quick``: fewer paths and grid points, for tests and ``--quick``)."""
    return {"sigmas": list(np.geomspace(0.1, 30.0, 5 if quick else 9)), "paths": 256 if quick else 1024,
            "t_end": 160.0, "lr": 0.01, "seed": 0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``)."""
    # a sweep over theta x sigma; every point runs with the figure's seed s["seed"], as the loop it replaced
    ds = stationary_grid(lambda p: stationary_run(L.DiagonalQuadratic([1.0]),
                                                  O.AdamW.from_rho(s["lr"], RHO1, RHO2, weight_decay=p["theta"]),
                                                  N.Gaussian(p["sigma"]), lr=s["lr"], t_end=s["t_end"],
                                                  paths=s["paths"], seed=s["seed"], save_every=10),
                         {"theta": list(THETAS), "sigma": list(s["sigmas"])}, after=s["t_end"] / 2)
    out = {"sigmas": np.array(s["sigmas"])}
    for th in THETAS:
        out[f"theta_{th}"] = levels(ds, theta=th)
    return out


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    sg = data["sigmas"]
    fine = np.geomspace(sg[0], sg[-1], 100)
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for th in THETAS:
        col = points_with_ci(ax, sg, data[f"theta_{th}"], label=f"theta = {th:g}")
        ax.plot(fine, 0.5 * CF.adamw_stationary_variance(s["lr"], 1.0, fine, RHO1, th), "-", color=col, lw=1)
        if th > 0:
            ax.axhline(s["lr"] / 4 * RHO1 / (RHO1 + th) / th, color=col, ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("noise sigma")
    ax.set_ylabel("stationary E f (95% CI)")
    ax.set_title(TITLE)
    ax.legend()
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure: the settings chosen here (the papers' own were not recovered)."""
    return (f"Settings chosen here: f = x^2/2, AdamW with rho1 = {RHO1:g}, rho2 = {RHO2:g} (beta_i = 1 - rho_i lr), "
            f"lr = {s['lr']}, t in [{s['t_end'] / 2:g}, {s['t_end']:g}], {s['paths']} paths. Lines: linearised Lyapunov "
            "law (theory.closed_forms, derived); dotted: its sigma -> inf limit.")
