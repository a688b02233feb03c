"""Figure 6: linear speed-up in the number of agents: stationary E f of DSignSGD and DCSGD
against N, with theory's 1/N floors (arXiv 2502.17009: linear speedup; the floors derived here)."""
import numpy as np

from methods import compressors as C, landscapes as L, noise as N, optimizers as O
from theory import closed_forms as CF

from .common import levels, points_with_ci, stationary_grid, stationary_run

NAME = "agents"
TITLE = "More agents, lower floor (sigma = 1, lr = 0.01)"
H = np.array([1.0, 2.0, 4.0])


def settings(quick):
    """The settings of this figure (``quick``: fewer paths and grid points, for tests and ``--quick``)."""
    return {"agents": [1, 2, 4, 8, 16], "paths": 256 if quick else 1024, "t_end": 20.0, "lr": 0.01, "seed": 0}


def _optimizer(method, n, s):
    if method == "dsign":
        return O.DSignSGD(lr=s["lr"], agents=n)
    return O.DCSGD(lr=s["lr"], agents=n, compressor=C.Bernoulli(0.5))


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``)."""
    # a sweep over method x agents; every point runs with the figure's seed s["seed"], as the loop it replaced
    ds = stationary_grid(lambda p: stationary_run(L.DiagonalQuadratic(H), _optimizer(p["method"], p["agents"], s),
                                                  N.Gaussian(1.0), lr=s["lr"], t_end=s["t_end"], paths=s["paths"],
                                                  seed=s["seed"], save_every=10),
                         {"method": ["dsign", "dcsgd"], "agents": list(s["agents"])}, after=s["t_end"] / 4)
    out = {"agents": np.array(s["agents"])}
    for tag in ("dsign", "dcsgd"):
        out[tag] = levels(ds, method=tag)
    return out


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    n = data["agents"]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    theo = {"dsign": [CF.dsignsgd_floor(s["lr"], 3, [1.0] * k, k) for k in n],
            "dcsgd": [CF.dcsgd_floor(s["lr"], H, [1.0] * k, 1.0, k, discrete=True) for k in n]}
    for tag, label in (("dsign", "DSignSGD"), ("dcsgd", "DCSGD, Bernoulli p = 1/2")):
        col = points_with_ci(ax, n, data[tag], label=label)
        ax.plot(n, theo[tag], "-", color=col, lw=1, label=f"{label}: theory")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("agents N")
    ax.set_ylabel("stationary E f (95% CI)")
    ax.set_title(TITLE)
    ax.legend()
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure: the settings chosen here (the papers' own were not recovered)."""
    return (f"Settings chosen here: H = diag(1, 2, 4), Gaussian sigma = 1 for every agent, lr = {s['lr']}, "
            f"t in [{s['t_end'] / 4:g}, {s['t_end']:g}], {s['paths']} paths. Lines: theory.closed_forms (phase-3 DSignSGD "
            "floor, discrete-exact DCSGD floor), both proportional to 1/N at small lr.")
