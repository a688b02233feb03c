"""Figure 5: stationary loss against the noise level: quadratic in sigma for DCSGD (scaled by
1 + omega), linear for DSignSGD, crossing at sigma* = sqrt(pi/2)/(1 + omega) (arXiv 2502.17009: noise resilience; the crossover derived here)."""
import numpy as np

from methods import compressors as C, landscapes as L, noise as N, optimizers as O
from theory import closed_forms as CF

from .common import levels, points_with_ci, stationary_grid, stationary_run

NAME = "floor_vs_sigma"
TITLE = "Noise resilience: floor against sigma (N = 4, lr = 0.01)"
H = np.array([1.0, 2.0, 4.0])
OMEGAS = (0.0, 1.0, 3.0)


def settings(quick):
    """The settings of this figure (``quick``: fewer paths and grid points, for tests and ``--quick``)."""
    return {"sigmas": list(np.geomspace(0.1, 10.0, 5 if quick else 9)), "paths": 256 if quick else 1024,
            "t_end": 30.0, "lr": 0.01, "agents": 4, "seed": 0}


def _optimizer(method, s):
    if method == "dsign":
        return O.DSignSGD(lr=s["lr"], agents=s["agents"])
    return O.DCSGD(lr=s["lr"], agents=s["agents"], compressor=C.Bernoulli(1 / (1 + float(method.split("_")[1]))))


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``)."""
    # a sweep over method x sigma; every point runs with the figure's seed s["seed"], as the loop it replaced
    methods = [f"dcsgd_{om}" for om in OMEGAS] + ["dsign"]
    ds = stationary_grid(lambda p: stationary_run(L.DiagonalQuadratic(H), _optimizer(p["method"], s),
                                                  N.Gaussian(p["sigma"]), lr=s["lr"], t_end=s["t_end"],
                                                  paths=s["paths"], seed=s["seed"], save_every=20),
                         {"method": methods, "sigma": list(s["sigmas"])}, after=s["t_end"] / 3)
    out = {"sigmas": np.array(s["sigmas"])}
    for m in methods:
        out[m] = levels(ds, method=m)
    return out


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    sg = data["sigmas"]
    fine = np.geomspace(sg[0], sg[-1], 100)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for om in OMEGAS:
        col = points_with_ci(ax, sg, data[f"dcsgd_{om}"], label=f"DCSGD, omega = {om:g}")
        theo = [CF.dcsgd_floor(s["lr"], H, [x] * s["agents"], om, s["agents"], discrete=True) for x in fine]
        ax.plot(fine, theo, "-", color=col, lw=1)
        ax.axvline(CF.crossover_sigma(om), color=col, ls=":", lw=0.8)
    points_with_ci(ax, sg, data["dsign"], "s", color="k", label="DSignSGD")
    ax.plot(fine, [CF.dsignsgd_floor(s["lr"], 3, [x] * s["agents"], s["agents"]) for x in fine], "k-", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("noise sigma (per agent, per coordinate)")
    ax.set_ylabel("stationary E f (time average, 95% CI)")
    ax.set_title(TITLE)
    ax.legend()
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure: the settings chosen here (the papers' own were not recovered)."""
    return (f"Settings chosen here: H = diag(1, 2, 4), {s['agents']} homogeneous agents, Bernoulli compressors with "
            f"p = 1/(1 + omega), lr = {s['lr']}, t in [{s['t_end'] / 3:g}, {s['t_end']:g}], {s['paths']} paths. Lines: "
            "discrete-exact DCSGD floor and phase-3 DSignSGD floor (theory.closed_forms, derived); dotted: crossover "
            "sigma* = sqrt(pi/2)/(1 + omega) (derived; it compares floors at equal lr only).")
