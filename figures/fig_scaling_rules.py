"""Figure 7: scaling rules make curves collapse. DSGD under the linear rule (lr -> k lr,
B -> k B) and DSignSGD under the square-root rule (lr -> k lr, B -> k^2 B), plotted against
samples processed; the wrong rule for DSignSGD (linear) does not collapse (theory.scaling;
arXiv 2502.17009; the rules derived here)."""
import numpy as np

from methods import landscapes as L, noise as N, optimizers as O, simulate

NAME = "scaling_rules"
TITLE = "Scaling rules: E f against samples processed (B per step, N = 2)"
H = np.array([1.0, 3.0])
AGENTS = 2
KAPPAS = (1, 2, 4)
RULE_NAMES = ("DSGD, linear", "DSignSGD, square root", "DSignSGD, linear (wrong)")


def settings(quick):
    """The settings of this figure (``quick``: fewer paths and grid points, for tests and ``--quick``)."""
    return {"paths": 2048 if quick else 8192, "lr": 0.005, "sigma": 2.0, "samples": 6000, "seed": 0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``)."""
    out = {}
    rules = {"DSGD, linear": ("dsgd", lambda k: (s["lr"] * k, k)),
             "DSignSGD, square root": ("dsign", lambda k: (s["lr"] * k, k * k)),
             "DSignSGD, linear (wrong)": ("dsign", lambda k: (s["lr"] * k, k))}
    for name, (meth, rule) in rules.items():
        for kap in KAPPAS:
            lr, B = rule(kap)
            opt = O.DSGD(lr=lr, agents=AGENTS) if meth == "dsgd" else O.DSignSGD(lr=lr, agents=AGENTS)
            steps = max(1, s["samples"] // B)
            r = simulate(L.DiagonalQuadratic(H), opt, N.Gaussian(s["sigma"], batch=B), x0=1.0, steps=steps,
                         paths=s["paths"], seed=s["seed"])
            out[f"{name}|{kap}|samples"] = r.step * B
            out[f"{name}|{kap}|mean"] = r.mean()
            # stationary level over the last half of the samples, with its standard error
            out[f"{name}|{kap}|floor"] = np.array(r.time_average(after=r.t[-1] / 2))
    return out


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    names = RULE_NAMES
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.8), sharey=True)
    for ax, name in zip(axes, names):
        for kap in KAPPAS:
            ax.plot(data[f"{name}|{kap}|samples"], data[f"{name}|{kap}|mean"], label=f"kappa = {kap}")
        ax.set_yscale("log")
        ax.set_xlabel("samples per agent (steps x B)")
        ax.set_title(name)
        ax.legend()
    axes[0].set_ylabel("E f")
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure: the settings chosen here (the papers' own were not recovered)."""
    return (f"Settings chosen here: H = diag(1, 3), Gaussian per-sample sigma = {s['sigma']} (batch B divides it by sqrt B), "
            f"base lr = {s['lr']}, 2 agents, {s['paths']} paths. Curves that collapse keep the SDE invariant up to a time "
            "change (theory.scaling): lr/B fixed for DSGD, lr/sqrt(B) fixed for DSignSGD.")
