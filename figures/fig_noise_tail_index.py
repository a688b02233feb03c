"""Tail indices of gradient noise: the estimators on synthetic samples of known index, and the minibatch
noise of softmax regression on the digits data along an SGD run (``methods.diagnostics``).

(a) Recovery. ``R`` independent replicates of ``N`` i.i.d. samples in ``d`` dimensions, coordinates
    i.i.d. from a law of known tail index ``alpha``: Gaussian (``alpha = 2``), Cauchy (1) and symmetric
    alpha-stable (1.5, 1.2). The block estimator of Mohammadi et al. (2015), in the multivariate form of
    Simsekli, Sagun and Gurbuzbalaban (arXiv 1901.06053, Section 4), estimates ``1/alpha`` without bias
    for these laws (``||Y|| = m^(1/alpha) ||Z||`` in law for block sums ``Y``; derived here), so the
    replicate mean of ``1/alpha_hat`` is compared with ``1/alpha`` at its Monte Carlo standard error
    (two-sided). Hill's estimator on ``||Z||`` from the ``k = sqrt(N)`` largest values: for Cauchy
    coordinates ``P(|Z_j| > x) = (2/pi)/x (1 + O(x^-2))``, and the norm's tail is ``d`` times it up to a
    relative ``O(1/x)`` (two large coordinates at once), about ``1e-3`` at the threshold (the ``k``-th
    largest of ``N``), below the standard error of 200 replicates (about 0.006); Hill is not shown for
    the other laws, whose second-order terms bias it (Gaussian tails have no finite index).
(b) Along training. Minibatch SGD (batch ``B``, without replacement) on softmax regression on the
    bundled digits data (standardised, intercept, ``reg``); at save points the iterate's minibatch noise
    ``Z = g_B(x) - grad f(x)`` is sampled ``M`` times (fresh batches, exact per-sample gradients) and its
    block-estimator index is shown with a 95% percentile-bootstrap interval (``diagnostics.bootstrap``),
    for ``B = 1`` and a larger ``B``. What is measured is shown; no value is asserted for it.
"""
import numpy as np

from methods import diagnostics as D, finite_sum as FS, noise as N, optimizers as O, simulate

NAME = "noise_tail_index"
TITLE = "Tail-index estimators: recovery of known indices, and minibatch noise along training"

LAWS = [("Gaussian", 2.0), ("Cauchy", 1.0), ("alpha-stable", 1.5), ("alpha-stable", 1.2)]


def settings(quick):
    """The settings of this figure (``quick``: fewer replicates and noise samples, for tests and ``--quick``)."""
    return {"d": 10, "N": 4096 if quick else 16384, "replicates": 25 if quick else 200, "seed": 0,
            "data": "digits", "reg": 1e-3, "lr": 0.05, "batches": [1, 32], "steps": 400 if quick else 2000,
            "checkpoints": 3 if quick else 8, "M": 512 if quick else 4096, "boot": 30 if quick else 200}


def sample_law(name, alpha, size, rng):
    """i.i.d. samples of the named law with tail index ``alpha`` (standard scale)."""
    if name == "Gaussian":
        return rng.standard_normal(size)
    if name == "Cauchy":
        return rng.standard_cauchy(size)
    from scipy.stats import levy_stable

    return levy_stable.rvs(alpha, 0.0, size=size, random_state=rng)


def minibatch_noise(land, x, batch, M, rng):
    """``M`` draws of ``g_B(x) - grad f(x)`` (batches of ``batch`` rows without replacement, exact
    per-sample gradients): an ``(M, d)`` array."""
    G = land.sample_gradients(x)
    g = G.mean(axis=0)
    n = G.shape[0]
    if batch == 1:
        return G[rng.integers(0, n, M)] - g
    idx = np.argsort(rng.random((M, n)), axis=1)[:, :batch]
    return G[idx].mean(axis=1) - g


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    (a) per law (rows of ``LAWS``) and replicate (columns): ``block_inv`` (``1/alpha_hat`` of the block
    estimator) and, for Cauchy, ``hill_inv`` (``1/alpha_hat`` of Hill); ``alpha`` the true indices.
    (b) per batch size (rows) and checkpoint (columns): ``train_alpha`` (block estimate), ``train_lo``,
    ``train_hi`` (bootstrap interval), ``train_hill`` (Hill on the noise norms), ``train_step``, and
    ``train_loss`` (``f(x) - f*`` at the checkpoints of the first batch size's run).
    """
    rng = np.random.default_rng(s["seed"])
    block, hill = [], []
    for name, alpha in LAWS:
        b = []
        for _ in range(s["replicates"]):
            Z = sample_law(name, alpha, (s["N"], s["d"]), rng)
            b.append(1.0 / D.block_tail_index(Z))
            if name == "Cauchy":
                hill.append(1.0 / D.hill(Z).value)
        block.append(b)
    data = FS.load(s["data"], seed=s["seed"])
    land = FS.SoftmaxRegression.from_dataset(data, reg=s["reg"])
    cps = np.linspace(0, s["steps"], s["checkpoints"] + 1).astype(int)[1:]
    out = {"train_alpha": [], "train_lo": [], "train_hi": [], "train_hill": [], "train_loss": []}
    x0 = np.zeros(land.d)
    for i, B in enumerate(s["batches"]):
        r = simulate(land, O.SGD(lr=s["lr"]), N.Minibatch(land, batch=B), x0=x0, steps=s["steps"], paths=1,
                     seed=s["seed"] + i, save_at=cps, record_iterates=True)
        rows = {k: [] for k in ("a", "lo", "hi", "h")}
        at = np.searchsorted(r.step, cps)
        for c in range(cps.size):
            Z = minibatch_noise(land, r.iterates[at[c], 0], B, s["M"], rng)
            rows["a"].append(D.block_tail_index(Z))
            lo, hi = D.bootstrap(D.block_tail_index, Z, reps=s["boot"], seed=s["seed"] + c)
            rows["lo"].append(lo)
            rows["hi"].append(hi)
            rows["h"].append(D.hill(Z).value)
        out["train_alpha"].append(rows["a"])
        out["train_lo"].append(rows["lo"])
        out["train_hi"].append(rows["hi"])
        out["train_hill"].append(rows["h"])
        if i == 0:
            out["train_loss"] = r.loss[at, 0]
    res = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    res.update(block_inv=np.asarray(block, dtype=float), hill_inv=np.asarray(hill, dtype=float),
               alpha=np.array([a for _, a in LAWS]), train_step=cps.astype(float))
    return res


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    R = data["block_inv"].shape[1]
    for i, ((name, alpha), inv) in enumerate(zip(LAWS, data["block_inv"])):
        est = 1.0 / inv
        a.plot(np.full(R, i) + np.linspace(-0.15, 0.15, R), est, ".", ms=2, color="C0", alpha=0.4)
        m, se = inv.mean(), inv.std(ddof=1) / np.sqrt(R)
        a.errorbar([i], [1 / m], yerr=[[1 / m - 1 / (m + 1.96 * se)], [1 / (m - 1.96 * se) - 1 / m]], fmt="o",
                   color="C0", ms=5, label="block estimator: 1 / mean(1/alpha_hat), 95% CI" if i == 0 else None)
        a.plot([i - 0.3, i + 0.3], [alpha, alpha], "k-", lw=1.2, label="true alpha" if i == 0 else None)
        if name == "Cauchy":
            h = data["hill_inv"]
            a.errorbar([i + 0.35], [1 / h.mean()], yerr=1.96 * h.std(ddof=1) / np.sqrt(h.size) / h.mean() ** 2,
                       fmt="s", color="C3", ms=5, label="Hill, k = sqrt(N)")
    a.set_xticks(range(len(LAWS)), [f"{n}\nalpha = {al:g}" for n, al in LAWS], fontsize=8)
    a.set_ylabel("estimated tail index")
    a.set_title(f"recovery: {R} replicates of N = {s['N']}, d = {s['d']}")
    a.legend(fontsize=7)
    st = data["train_step"]
    for i, B in enumerate(s["batches"]):
        al, lo, hi = data["train_alpha"][i], data["train_lo"][i], data["train_hi"][i]
        xs = st * (1 + 0.01 * i)
        b.plot(xs, al, "o-", ms=4, color=f"C{i}", label=f"block estimator, B = {B} (95% bootstrap interval)")
        b.vlines(xs, lo, hi, color=f"C{i}", lw=1.5)  # a percentile interval need not contain the estimate
        b.plot(st * (1 + 0.01 * i), data["train_hill"][i], "x:", color=f"C{i}", label=f"Hill, B = {B}")
    b.axhline(2.0, color="k", lw=0.6, ls=":")
    b.set_xlabel("SGD step")
    b.set_ylabel("tail index of the minibatch noise")
    b.set_title(f"softmax regression on {s['data']}: along training")
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here and where each reference
    value comes from."""
    return (f"Settings chosen here. (a) {s['replicates']} replicates of N = {s['N']} samples in d = {s['d']}, i.i.d. "
            "coordinates; the block estimator (arXiv 1901.06053, Section 4) with m = floor(sqrt(N)), Hill with "
            f"k = floor(sqrt(N)). (b) SGD, lr = {s['lr']:g}, on softmax regression on {s['data']} (reg = {s['reg']:g}), "
            f"batches B in {s['batches']} without replacement; at each checkpoint {s['M']} fresh minibatch-noise "
            f"draws, the block estimate with a {s['boot']}-resample percentile bootstrap interval. The dotted line "
            "marks alpha = 2 (finite variance).")
