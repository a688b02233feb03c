"""Clip-SGD against SGD under infinite-variance Student-t noise on an (L0,L1)-smooth quartic
(neighbouring work: Clip-SGD under heavy tails, e.g. arXiv 2302.00999 for its high-probability bounds;
the setting and the criterion are chosen here).

``f(x) = sum_j x_j^4 / 4`` in ``d = 2`` ((L0, L1) = (3, 3), not L-smooth), ``x_0 = 1``, the same step size
``lr`` for both methods, Student-t noise ``Z_j = sigma T_nu`` per coordinate with ``nu in {1, 1.5, 2}``
(infinite variance):

* SGD ``x <- x - lr (x^3 + Z)``: one large draw sends ``|x|`` past ``~ sqrt(2 / lr)``, after which
  ``x^3`` overshoots and the iterate explodes. Such draws have probability ``p > 0`` per step, so the
  divergent fraction ``1 - (1 - p)^k`` grows to 1 with ``k``; once it passes 1/2 the median loss is
  ``+inf`` (and every quantile above the divergent fraction's complement).
* Clip-SGD ``x <- x - lr min(1, c / ||v||) v``, ``v = x^3 + Z``: every step moves at most ``lr c``, the
  clipped drift still points to 0 once ``||x^3|| > c`` dominates the clipped noise, and no path can
  explode.

Panels: (a) SGD's divergent fraction against the step, per ``nu``, with Clopper-Pearson 95% bands;
(b) the median and the 95% quantile of ``f(x_k)`` for Clip-SGD (all paths finite) and SGD (``+inf`` once
too many paths have diverged, drawn only while finite).
"""
import numpy as np

from methods import landscapes as L, noise as N, optimizers as O, simulate

NAME = "clip_heavy_tails"
TITLE = "Clip-SGD keeps a finite median and a high-probability bound where SGD diverges (Student-t, nu <= 2)"


def settings(quick):
    """The settings of this figure (``quick``: fewer paths, for tests and ``--quick``)."""
    return {"d": 2, "x0": 1.0, "lr": 0.05, "clip": 1.0, "sigma": 1.0, "nus": [1.0, 1.5, 2.0], "steps": 10_000,
            "save_every": 500, "paths": 512 if quick else 4096, "quantile": 0.95, "seed": 0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    Per ``nu`` (rows) and save point (columns): ``sgd_div`` and ``clip_div`` (number of paths diverged by
    then), ``sgd_med``, ``clip_med`` (median of ``f(x_k) - f*``, ``+inf`` counted for diverged paths),
    ``sgd_q``, ``clip_q`` (the ``quantile`` of the same), ``clip_final`` (Clip-SGD's final losses, every path,
    for the confidence bound on its quantile), ``step`` and ``f0``.
    """
    f = L.Quartic(d=s["d"])
    out = {k: [] for k in ("sgd_div", "clip_div", "sgd_med", "clip_med", "sgd_q", "clip_q", "clip_final")}
    for i, nu in enumerate(s["nus"]):
        nz = N.StudentT(nu, s["sigma"])
        for key, opt in (("sgd", O.SGD(lr=s["lr"])), ("clip", O.ClippedSGD(lr=s["lr"], clip=s["clip"]))):
            r = simulate(f, opt, nz, x0=s["x0"], steps=s["steps"], paths=s["paths"], seed=s["seed"] + i,
                         save_every=s["save_every"])
            loss = np.where(np.isfinite(r.loss), r.loss, np.inf)
            div = [(0 <= r.diverged_at) & (r.diverged_at <= k) for k in r.step]
            out[f"{key}_div"].append(np.sum(div, axis=1))
            out[f"{key}_med"].append(np.median(loss, axis=1))
            out[f"{key}_q"].append(np.quantile(loss, s["quantile"], axis=1, method="inverted_cdf"))
            if key == "clip":
                out["clip_final"].append(loss[-1])
        step = r.step
    res = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    res["step"] = np.asarray(step, dtype=float)
    res["f0"] = float(f.f(np.full(s["d"], s["x0"])) - f.f_star)
    return res


def clopper_pearson(k, n, level=0.95):
    """The two-sided Clopper-Pearson interval for a binomial proportion ``k / n`` (exact, conservative)."""
    from scipy.stats import beta

    a = (1 - level) / 2
    k = np.asarray(k, dtype=float)
    lo = np.where(k > 0, beta.ppf(a, np.maximum(k, 1e-300), n - k + 1), 0.0)
    hi = np.where(k < n, beta.ppf(1 - a, k + 1, np.maximum(n - k, 1e-300)), 1.0)
    return lo, hi


def quantile_upper_bound(x, q, level=0.99):
    """A distribution-free upper confidence bound for the ``q``-quantile of the law of the samples ``x``:
    the order statistic ``x_(r)`` with the smallest ``r`` such that ``P(Bin(n, q) < r) >= level`` (then
    ``P(Q_q <= x_(r)) >= level`` whatever the law)."""
    from scipy.stats import binom

    x = np.sort(np.asarray(x, dtype=float))
    r = int(binom.ppf(level, x.size, q)) + 1
    return float(x[min(r, x.size) - 1]) if r <= x.size else float("inf")


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    step, n = data["step"], s["paths"]
    for i, nu in enumerate(s["nus"]):
        frac = data["sgd_div"][i] / n
        lo, hi = clopper_pearson(data["sgd_div"][i], n)
        a.plot(step, frac, "-", color=f"C{i}", label=f"SGD, nu = {nu:g}")
        a.fill_between(step, lo, hi, color=f"C{i}", alpha=0.2, lw=0)
        a.plot(step, data["clip_div"][i] / n, ":", color=f"C{i}", label=f"Clip-SGD, nu = {nu:g}")
        qname = f"{s['quantile']:.0%} quantile"
        for key, ls in (("clip", "-"), ("sgd", "--")):
            for stat in ("med", "q"):
                v = data[f"{key}_{stat}"][i]
                ok = np.isfinite(v)
                who = "Clip-SGD" if key == "clip" else "SGD"
                what = "median" if stat == "med" else qname
                b.plot(step[ok], v[ok], ls, color=f"C{i}", lw=1.5 if stat == "med" else 0.8,
                       label=f"{who} {what}, nu = {nu:g}")
    a.axhline(0.5, color="k", lw=0.6, ls=":")
    a.set_xlabel("step k")
    a.set_ylabel("fraction of paths diverged")
    a.set_title("SGD diverges; Clip-SGD never does")
    a.legend(fontsize=7)
    b.set_yscale("log")
    b.set_xlabel("step k")
    b.set_ylabel("f(x_k) - f*")
    b.set_title("median and 95% quantile (SGD: while finite)")
    b.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here and where each reference
    value comes from."""
    return (f"Settings chosen here. f = sum x^4/4 in d = {s['d']}, x0 = {s['x0']:g}, lr = {s['lr']:g} for SGD and "
            f"Clip-SGD (norm clipping at c = {s['clip']:g}), Student-t noise sigma = {s['sigma']:g}, nu in {s['nus']}, "
            f"{s['paths']} paths, {s['steps']} steps. Diverged paths count as +inf in the median and the quantile. "
            "Bands: Clopper-Pearson 95% intervals of the divergent fraction.")
