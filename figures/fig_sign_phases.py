"""Figure 4: SignSGD's three phases. From far away the sign drift saturates (phase 1, SignGD),
then passes an affine regime (phase 2) and ends linear (phase 3, SGD preconditioned by
1/sigma); each phase approximation of the SDE is drawn beside the exact Erf SDE and the
discrete method (arXiv 2411.15958, Lemma 3.4 structure; phase-2 constants UNSURE)."""
import numpy as np

from methods import landscapes as L, noise as N, optimizers as O, simulate
import sde

NAME = "sign_phases"
TITLE = "SignSGD's phases: discrete, Erf SDE and phase approximations"
KINDS = ("classic", "phase1", "phase2", "phase3")


def settings(quick):
    """The settings of this figure (``quick``: fewer paths and grid points, for tests and ``--quick``)."""
    return {"paths": 512 if quick else 4096, "lr": 0.01, "sigma": 0.5, "x0": 3.0, "steps": 800, "seed": 0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``)."""
    f = L.DiagonalQuadratic([1.0])
    nz = N.Gaussian(s["sigma"])
    opt = O.SignSGD(lr=s["lr"])
    r = simulate(f, opt, nz, x0=s["x0"], steps=s["steps"], paths=s["paths"], seed=s["seed"], save_every=4,
                 record_iterates=True)
    out = {"t": r.t, "discrete": np.abs(r.iterates[:, :, 0]).mean(1)}
    for i, k in enumerate(KINDS):
        rs = sde.integrate(sde.model(opt, f, nz, kind=k), x0=s["x0"], t_end=s["steps"] * s["lr"], paths=s["paths"],
                           seed=s["seed"] + 1 + i, save_every=4, record_iterates=True)
        out[k] = np.abs(rs.iterates[:, :, 0]).mean(1)
    return out


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    t = data["t"]
    ax.plot(t, data["discrete"], "k-", lw=2, label="discrete SignSGD")
    for k, ls in zip(KINDS, ("--", ":", "-.", (0, (3, 1, 1, 1)))):
        ax.plot(t, data[k], ls=ls, label={"classic": "Erf SDE"}.get(k, f"{k} approximation"))
    # phase boundaries |Y| = |x| / (sqrt2 sigma) = 3/2 and 1/2 (convention A)
    for y in (1.5, 0.5):
        ax.axhline(y * np.sqrt(2) * s["sigma"], color="0.5", lw=0.8, ls=":")
    ax.set_yscale("log")
    ax.set_ylim(5e-3, 2 * s["x0"])
    ax.set_xlabel("t = k * lr")
    ax.set_ylabel("E |x|")
    ax.set_title(TITLE)
    ax.legend()
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure: the settings chosen here (the papers' own were not recovered)."""
    return (f"Settings chosen here: f = x^2/2, Gaussian sigma = {s['sigma']}, lr = {s['lr']}, x0 = {s['x0']}, "
            f"{s['paths']} paths. Grey lines: |Y| = |f'|/(sqrt2 sigma) = 3/2 and 1/2 (phase boundaries, convention A, UNSURE). "
            "Phase 1 ignores the noise (it reaches 0, below the axis), phase 3 linearises the drift; each is faithful only in its own band.")
