"""Experiments E1 and E2 of arXiv 2506.00181 (Sec. 6.1) on the (L0,L1)-smooth quartic.

DCSGD with N = 8 agents and rand-k sparsification (omega = d/k - 1) under affine-variance noise
``Z ~ N(0, sigma^2 ||grad f||^2 I)`` (sigma0 = 0, as in E1), sweeping omega, with four step rules:

* constant step ``lr`` (E1: diverges more as omega grows);
* the pre-scheduled ``lr / sqrt(k+1)`` (the v1 claim: a decaying schedule without gradient-norm
  dependence fails once compression or affine noise is present);
* the Theorem-4.2 normalisation ``2 eps / (a + b ||g_k||)`` of ``GradNormalized.theorem_4_2``
  with this run's omega and sigma1 (derived from the theorem's ceiling, Eq. 15; the paper's exact
  implementable rule is not recovered), ``g_k`` the aggregated stochastic direction (E1: every
  omega converges);
* plain normalised SGD ``x - lr v/||v||`` with the constant run's ``lr`` (E2's baseline; its
  form is unsure): a normalisation that does not scale with omega.

Diverged paths (loss above ``BLOWUP`` or non-finite) are counted and enter the medians as
``+inf``. The MLP of the paper is replaced by the quartic (chosen here).
"""
import numpy as np

from methods import compressors as C, landscapes as L, noise as N, optimizers as O, schedules as S, simulate

NAME = "dcsgd_normalisation"
TITLE = "E1/E2: DCSGD with rand-k under affine noise, sweeping omega (quartic, N = 8)"
D, AGENTS, SIGMA1, LR, X0, BLOWUP = 8, 8, 1.0, 0.2, 1.0, 1e10
KS = (8, 4, 2, 1)  # rand-k: omega = 0, 1, 3, 7
METHODS = ("constant", "1/sqrt(k+1)", "Thm 4.2 normalised", "plain normalised")


def omega(k):
    """rand-k's compression variance ``omega = d/k - 1`` at ``d = D``."""
    return D / k - 1.0


def optimizer(method, k):
    """The optimizer of step rule ``method`` (one of ``METHODS``) with rand-``k`` compressors, ``N = AGENTS``.

    ``"constant"``: DCSGD at ``lr = LR``; ``"1/sqrt(k+1)"``: DCSGD with ``lr / sqrt(k+1)``;
    ``"Thm 4.2 normalised"``: DCSGD at ``lr = 1`` under ``GradNormalized.theorem_4_2`` (step
    ``2 eps / (a + b ||g_k||)`` with ``a``, ``b`` from ``(L0, L1) = (3, 3)``, ``omega(k)`` and ``sigma1``;
    derived from arXiv 2506.00181 Thm 4.2, Eq. 15); ``"plain normalised"``: ``NormalizedSGD`` at
    ``lr = LR`` (E2's baseline, its form unsure). Any other ``method`` raises ``ValueError``.
    """
    comp = C.RandK(k)
    if method == "constant":
        return O.DCSGD(lr=LR, agents=AGENTS, compressor=comp)
    if method == "1/sqrt(k+1)":
        return O.DCSGD(lr=LR, agents=AGENTS, compressor=comp, schedule=S.InvSqrt())
    if method == "Thm 4.2 normalised":
        sched = S.GradNormalized.theorem_4_2(L0=3.0, L1=3.0, d=D, agents=AGENTS, omega=omega(k), sigma1=SIGMA1)
        return O.DCSGD(lr=1.0, agents=AGENTS, compressor=comp, schedule=sched)
    if method == "plain normalised":
        return O.NormalizedSGD(lr=LR, agents=AGENTS, compressor=comp)
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


def settings(quick):
    """The settings of this figure (``quick``: fewer steps and paths, for tests and ``--quick``)."""
    return {"steps": 2000 if quick else 8000, "paths": 256 if quick else 1024, "seed": 0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    ``omegas``, and for each ``omega`` and step rule (key ``"<omega>|<method>"``) on the quartic
    ``f = sum x^4/4`` (``d = D``) under affine-variance noise ``N(0, sigma1^2 ||grad f||^2 I)``:
    ``|k`` (saved steps), ``|q`` (the 10/50/90% loss quantiles, diverged paths as ``+inf``),
    ``|diverged`` (the count, ``f > BLOWUP`` or non-finite), ``|final`` and ``|mid`` (per-path loss at
    the last and the middle save point, diverged ``= inf``) and ``|g2`` (mean and s.e. of
    ``||grad f||^2`` over surviving paths).
    """
    f = L.Quartic(D)
    nz = N.AffineVariance(sigma0=0.0, sigma1=SIGMA1)
    data = {"omegas": np.array([omega(k) for k in KS])}
    for k in KS:
        for m in METHODS:
            r = simulate(f, optimizer(m, k), nz, x0=X0, steps=s["steps"], paths=s["paths"], seed=s["seed"],
                         blowup=BLOWUP)
            key = f"{omega(k):g}|{m}"
            loss = np.where(r.alive[None, :], r.loss, np.inf)
            mid = int(np.argmin(np.abs(r.step - s["steps"] // 2)))
            data[key + "|k"] = r.step
            data[key + "|q"] = r.quantile("loss", [0.1, 0.5, 0.9])
            data[key + "|diverged"] = np.array(r.diverged)
            data[key + "|final"] = loss[-1]          # per path, diverged = inf
            data[key + "|mid"] = loss[mid]
            g2 = np.where(r.alive[None, :], r.grad_norm, np.nan) ** 2
            data[key + "|g2"] = np.stack([np.nanmean(g2, 1), np.nanstd(g2, 1, ddof=1) / np.sqrt(max(r.paths - r.diverged, 1))])
    return data


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    om = data["omegas"]
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    for m in METHODS:
        frac = np.array([int(data[f"{w:g}|{m}|diverged"]) for w in om]) / s["paths"]
        se = np.sqrt(frac * (1 - frac) / s["paths"])
        (ln,) = axes[0].plot(om, frac, "o-", label=m)
        axes[0].errorbar(om, frac, yerr=1.96 * se, fmt="none", color=ln.get_color())
        med = np.array([data[f"{w:g}|{m}|q"][1][-1] for w in om])
        axes[1].plot(om, np.where(np.isfinite(med), med, np.nan), "o-", color=ln.get_color(), label=m)
        key = f"{om[-1]:g}|{m}"
        k, q = np.maximum(data[key + "|k"], 1), data[key + "|q"]
        lo, mid, hi = (np.where(np.isfinite(a), a, np.nan) for a in q)
        axes[2].plot(k, mid, color=ln.get_color(), label=m)
        axes[2].fill_between(k, lo, hi, color=ln.get_color(), alpha=0.2, lw=0)
    axes[0].set_xlabel("omega (rand-k, d/k - 1)")
    axes[0].set_ylabel(f"fraction of {s['paths']} paths diverged (95% CI)")
    axes[0].set_title("E1: divergence grows with omega at a constant step")
    axes[1].set_xlabel("omega")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("median f(x_K) (diverged = inf, not drawn)")
    axes[1].set_title("E1/E2: final median loss")
    axes[2].set_xscale("log")
    axes[2].set_yscale("log")
    axes[2].set_xlabel("iteration k")
    axes[2].set_ylabel("f(x_k): median, 10-90% band")
    axes[2].set_title(f"omega = {om[-1]:g}")
    for ax in axes:
        ax.legend()
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here (the paper's MLP and values
    are not recovered)."""
    return (f"Settings chosen here (the paper's MLP and values are not recovered): f = sum x^4/4 (d = {D}, (L0, L1) = "
            f"(3, 3)), x0 = {X0}, N = {AGENTS}, Z ~ N(0, {SIGMA1:g}^2 ||grad f||^2 I) per agent, rand-k with k = "
            f"{', '.join(map(str, KS))}; lr = {LR} for the constant, 1/sqrt(k+1) and plain normalised rules; the "
            "Theorem-4.2 rule 2 eps/(a + b ||g||) (eps = 1/2, derived) with a, b from omega and sigma1; "
            f"{s['steps']} steps, {s['paths']} paths, diverged if f > {BLOWUP:g}.")
