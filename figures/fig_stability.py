"""Figure 1: step-size stability. GD against the classic, second-order and corrected flows
on the parabola ``x^2/2`` and the quartic ``x^4/4`` (arXiv 2506.00181, Table 2; thresholds from theory.stability)."""
import numpy as np

from methods import landscapes as L, optimizers as O, simulate
import sde
from theory import stability

NAME = "stability"
TITLE = "Step-size stability: GD vs its modified equations"
KINDS = ("classic", "second_order", "corrected")


def settings(quick):
    """The settings of this figure (``quick``: fewer paths and grid points, for tests and ``--quick``)."""
    return {"parabola_etas": [1.5, 2.5], "quartic_etas": [0.5, 2.5], "x0": 1.0, "t_end_steps": 12,
            "refine": 200 if quick else 1000}


def _run(f, eta, s):
    out = {}
    gd = simulate(f, O.SGD(lr=eta), None, x0=s["x0"], steps=s["t_end_steps"], paths=1, seed=0, save_every=1)
    out["gd_t"], out["gd"] = gd.t, gd.loss[:, 0]
    for k in KINDS:
        m = sde.model(O.SGD(lr=eta), f, None, kind=k)
        r = sde.integrate(m, x0=s["x0"], t_end=s["t_end_steps"] * eta, paths=1, seed=0, refine=s["refine"],
                          save_every=1, blowup=1e12)
        out[f"{k}_t"], out[k] = r.t, r.loss[:, 0]
    return out


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``)."""
    data = {}
    for tag, f, etas in (("parabola", L.DiagonalQuadratic([1.0]), s["parabola_etas"]),
                         ("quartic", L.Quartic(1), s["quartic_etas"])):
        for eta in etas:
            for k, v in _run(f, eta, s).items():
                data[f"{tag}_{eta}_{k}"] = v
    return data


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(8, 6))
    thr = stability.gd_quadratic_region().subs(stability.lam, 1).sup
    q_thr = stability.corrected_quartic_region()[0].sup
    for row, (tag, etas) in enumerate((("parabola", s["parabola_etas"]), ("quartic", s["quartic_etas"]))):
        for col, eta in enumerate(etas):
            ax = axes[row, col]
            p = f"{tag}_{eta}_"
            ax.plot(data[p + "gd_t"], data[p + "gd"], "ko-", ms=3, label="GD")
            for k, ls in zip(KINDS, ("--", "-.", "-")):
                t, y = data[p + k + "_t"], data[p + k]
                bad = ~np.isfinite(y)
                label = f"{k} flow"
                if bad.any():
                    i = int(np.argmax(bad))
                    label += f" (blows up by t = {t[i]:.3g})"
                y = np.where(bad, np.nan, y)
                (ln,) = ax.plot(t, y, ls, label=label)
                if bad.any() and i > 0:
                    ax.plot(t[i - 1], y[i - 1], "x", color=ln.get_color(), ms=9, mew=2)
            ax.set_yscale("log")
            ax.set_ylim(1e-12, 1e8)
            ax.set_xlabel("t = k * eta")
            ax.set_ylabel("f(x) - f*")
            note = (f"GD stable iff eta < {thr}" if tag == "parabola"
                    else f"corrected repels if eta x^2 > {q_thr}")
            ax.set_title(f"{tag}, eta = {eta}: {note}")
            ax.legend()
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure: the settings chosen here (the papers' own were not recovered)."""
    return (f"Settings chosen here: x0 = {s['x0']}, {s['t_end_steps']} GD steps, flows by Euler with dt = eta/{s['refine']}, "
            "no noise. Only the corrected flow (drift -f' + (eta/2) f'' f', arXiv 2506.00181 Eq. 27) loses stability with GD on "
            "the parabola; on the quartic it is conservative (repels for eta x^2 > 2/3, GD needs < 2).")
