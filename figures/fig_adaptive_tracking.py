"""Figure: which SDE tracks discrete Adam and RMSprop better, Compagnoni et al.'s (arXiv 2411.15958,
t = k lr; its second-moment process tracks E g^2 including (grad f)^2) or Malladi et al.'s (arXiv
2205.10287, t = k lr^2; drops (grad f)^2, exact only in the noise-dominated limit)? The paper states that
its SDEs track better, especially away from the noise-dominated regime (recovered from its reviews);
here it is measured on a quadratic started far from the minimum, where ``|grad f|`` is of the order of sigma."""
import numpy as np

import sde
from methods import landscapes as L, noise as N, optimizers as O

NAME = "adaptive_tracking"
TITLE = "Adam / RMSprop: discrete beside the paper's SDE and Malladi's SDE"
H = np.array([1.0, 4.0])
SIG = np.array([0.5, 2.0])
KINDS = ("classic", "malladi")
WINDOW = (10, 300)  # the transient, |grad f| of the order of sigma; both SDEs share the stationary law


def cases(s):
    """The two optimizers compared, at ``lr = s["lr"]``: ``{"Adam": Adam.from_rho(lr, (10, 1)),
    "RMSprop": RMSprop.from_rho(lr, 1, v0 = 1)}`` (``beta = 1 - rho lr``; ``eps = 1e-8``)."""
    lr = s["lr"]
    return {"Adam": O.Adam.from_rho(lr, 10.0, 1.0, eps=1e-8), "RMSprop": O.RMSprop.from_rho(lr, 1.0, v0=1.0, eps=1e-8)}


def settings(quick):
    """The settings of this figure (``quick``: fewer paths, for tests and ``--quick``)."""
    return {"paths": 1024 if quick else 8192, "lr": 0.01, "steps": 600, "x0": 1.0, "seed": 0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    For each of ``cases(s)``, ``sde.compare`` on ``f = (x^T diag(H) x)/2`` under Gaussian noise of
    sd ``SIG``, saved every 10 steps: ``<name>|k`` (the steps) and, for ``disc`` and each SDE kind in
    ``KINDS``, ``<name>|<tag>|{mean, se}`` (``E f``), ``loss`` (``(saves, paths)``, for batch-means
    errors) and ``diverged`` (the count of diverged paths).
    """
    out = {}
    save = np.arange(0, s["steps"] + 1, 10)
    for i, (name, opt) in enumerate(cases(s).items()):
        c = sde.compare(L.DiagonalQuadratic(H), opt, N.Gaussian(SIG), x0=s["x0"], steps=s["steps"], paths=s["paths"],
                        seed=s["seed"] + 10 * i, kinds=KINDS, save_at=save)
        out[f"{name}|k"] = c.discrete.step
        for tag, r in (("disc", c.discrete),) + tuple((k, c.sde[k]) for k in KINDS):
            out[f"{name}|{tag}|mean"], out[f"{name}|{tag}|se"] = r.mean(), r.stderr()
            out[f"{name}|{tag}|loss"] = r.loss  # per path, for batch-means standard errors
            out[f"{name}|{tag}|diverged"] = np.array(r.diverged)
    return out


def _err(loss_d, loss_s, sel):
    return float(np.mean(np.abs(np.log(loss_s[sel].mean(1) / loss_d[sel].mean(1)))))


def tracking_error(data, name, kind, window=WINDOW):
    """Mean over the save points with step in ``window`` of ``|log(E f_SDE / E f_discrete)|``."""
    k = data[f"{name}|k"]
    sel = (k >= window[0]) & (k <= window[1])
    return _err(data[f"{name}|disc|loss"], data[f"{name}|{kind}|loss"], sel)


def tracking_advantage(data, name, window=WINDOW, batches=16):
    """``error(malladi) - error(classic)`` on all paths, with a batch-means standard error (paths split
    into ``batches`` groups; the difference is recomputed per group)."""
    k = data[f"{name}|k"]
    sel = (k >= window[0]) & (k <= window[1])
    d, c, m = (data[f"{name}|{t}|loss"] for t in ("disc", "classic", "malladi"))
    full = _err(d, m, sel) - _err(d, c, sel)
    parts = [_err(d[:, b], m[:, b], sel) - _err(d[:, b], c[:, b], sel)
             for b in np.array_split(np.arange(d.shape[1]), batches)]
    return full, float(np.std(parts, ddof=1) / np.sqrt(batches))


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, name in zip(axes, cases(s)):
        k = data[f"{name}|k"]
        for tag, label, ls in (("disc", "discrete", "-"), ("classic", "SDE of arXiv 2411.15958", "--"),
                               ("malladi", "Malladi et al.'s SDE", ":")):
            m, se = data[f"{name}|{tag}|mean"], data[f"{name}|{tag}|se"]
            extra = "" if tag == "disc" else f" (error {tracking_error(data, name, tag):.3f})"
            (ln,) = ax.plot(k, m, ls=ls, label=label + extra)
            ax.fill_between(k, m - 1.96 * se, m + 1.96 * se, color=ln.get_color(), alpha=0.25, lw=0)
        ax.set_yscale("log")
        ax.set_xlabel("iteration k (SDE times k lr and k lr^2)")
        ax.set_ylabel("E f (95% CI)")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here and the definition of
    the tracking error."""
    return (f"Settings chosen here: H = diag(1, 4), Gaussian sigma = (0.5, 2), x0 = {s['x0']}, lr = {s['lr']}; Adam with "
            "rho = (10, 1) (beta = 1 - rho lr), RMSprop with rho = 1 and v0 = 1, eps = 1e-8; "
            f"{s['paths']} paths; both SDEs integrated with Euler-Maruyama at one step per iteration. Error: mean of "
            f"|log(E f_SDE / E f_discrete)| over iterations {WINDOW[0]}-{WINDOW[1]} (the transient; afterwards both SDEs "
            "have the same stationary law).")
