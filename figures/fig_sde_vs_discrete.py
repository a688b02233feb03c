"""Figure 3: each method beside its SDE (EM at dt = lr/4) on quadratics, mean with 95% bands;
dotted lines are theory's stationary levels (theory.closed_forms)."""
import numpy as np

from methods import compressors as C, landscapes as L, noise as N, optimizers as O
import sde
from theory import closed_forms as CF

NAME = "sde_vs_discrete"
TITLE = "SDE models track the discrete methods (E f, 95% bands)"
H = np.array([1.0, 2.0, 4.0])
SIG = np.array([0.5, 1.0, 2.0, 1.5])


def cases():
    """The compared methods by legend label: (landscape, optimizer, noise, x0, theory's stationary level)."""
    g1 = N.Gaussian(1.0)
    het = N.Gaussian(SIG[:, None])
    return {
        "SGD": (L.DiagonalQuadratic(H), O.SGD(lr=0.01), g1, 1.0,
                CF.loss_from_variances(H, CF.sgd_stationary_variance(0.01, H, 1.0))),
        "SignSGD": (L.DiagonalQuadratic(H), O.SignSGD(lr=0.01), g1, 1.0,
                    CF.loss_from_variances(H, CF.sign_stationary_variance(0.01, H, [1.0]))),
        "DCSGD (N=4, Bernoulli p=1/2)": (L.DiagonalQuadratic(H), O.DCSGD(lr=0.01, agents=4, compressor=C.Bernoulli(0.5)),
                                         het, [2.0, -1.5, 1.0], CF.dcsgd_floor(0.01, H, SIG, 1.0, 4, discrete=True)),
        "DSignSGD (N=4)": (L.DiagonalQuadratic(H), O.DSignSGD(lr=0.01, agents=4), het, [2.0, -1.5, 1.0],
                           CF.dsignsgd_floor(0.01, 3, SIG, 4)),
        "AdamW (rho=(10,1), wd=0.5)": (L.DiagonalQuadratic([1.0, 4.0]), O.AdamW.from_rho(0.01, 10.0, 1.0, weight_decay=0.5),
                                       N.Gaussian([0.5, 2.0]), 1.0,
                                       CF.loss_from_variances([1.0, 4.0], CF.adamw_stationary_variance(
                                           0.01, np.array([1.0, 4.0]), np.array([0.5, 2.0]), 10.0, 0.5))),
    }


def settings(quick):
    """The settings of this figure (``quick``: fewer paths, for tests and ``--quick``); the SDEs are
    integrated at ``dt = lr / refine``."""
    # refine: the SDE is integrated at dt = lr / refine. At dt = lr the Euler-Maruyama chain of the SGD and
    # DCSGD SDEs has exactly the discrete method's first two moments on a quadratic (agreement by
    # construction), so the comparison uses a finer step.
    return {"paths": 512 if quick else 4096, "steps": 600, "seed": 0, "refine": 4}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``)."""
    data = {}
    for name, (f, opt, nz, x0, _) in cases().items():
        c = sde.compare(f, opt, nz, x0=x0, steps=s["steps"], paths=s["paths"], seed=s["seed"], refine=s.get("refine", 1))
        for tag, r in (("disc", c.discrete), ("sde", c.sde["classic"])):
            lo, hi = r.ci()
            data[f"{name}|{tag}|t"], data[f"{name}|{tag}|mean"] = r.t, r.mean()
            data[f"{name}|{tag}|lo"], data[f"{name}|{tag}|hi"] = lo, hi
    return data


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    cs = cases()
    fig, axes = plt.subplots(2, 3, figsize=(10, 6))
    for ax, (name, (*_, level)) in zip(axes.ravel(), cs.items()):
        for tag, label, ls in (("disc", "discrete", "-"), ("sde", f"SDE (classic, dt = lr/{s.get('refine', 1)})", "--")):
            t = data[f"{name}|{tag}|t"]
            (ln,) = ax.plot(t, data[f"{name}|{tag}|mean"], ls, label=label)
            ax.fill_between(t, data[f"{name}|{tag}|lo"], data[f"{name}|{tag}|hi"], color=ln.get_color(), alpha=0.25, lw=0)
        ax.axhline(level, color="k", ls=":", lw=1, label="stationary (theory)")
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("t = k * lr")
        ax.set_ylabel("E f")
        ax.legend()
    axes.ravel()[-1].axis("off")
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure: the settings chosen here (the papers' own were not recovered)."""
    return (f"Settings chosen here (papers' not recovered): lr = 0.01, {s['steps']} steps, {s['paths']} paths, seed {s['seed']}; "
            "H = diag(1, 2, 4); heterogeneous agents sigma = (0.5, 1, 2, 1.5); AdamW with rho = (10, 1), wd = 0.5 on diag(1, 4), sigma = (0.5, 2). SDEs integrated at dt = lr/refine (refine = " + str(s.get('refine', 1)) + "): at dt = lr the SGD and DCSGD chains share the discrete method's first two moments by construction. "
            "Stationary levels: discrete-exact for SGD and DCSGD, phase-3 (derived) for the sign methods, linearised Lyapunov for AdamW.")
