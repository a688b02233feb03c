"""SGD, SignSGD and Adam training a small MLP on the digits data, beside their SDE models with the
minibatch covariance (``sde.finite_sum``, ``sde.finite_sum_families``).

The landscape is ``methods.mlp.MLP`` (one hidden layer of ``hidden`` tanh units, softmax
cross-entropy, weight decay ``reg``) on the bundled digits data (8 x 8 images, 10 classes), with a
small training split so that the SDE's per-step cost, ``O(n d)`` (its drift is the full gradient and
its diffusion factor takes every training row), stays within a figure's budget; the large held-out
split gives the test accuracy. Every method draws batches of ``B`` rows without replacement from the
same start ``MLP.init(seed)``:

* SGD: the first-order SME ``dX = -grad f dt + sqrt(eta) Sigma(X)^(1/2) dW`` with the minibatch
  covariance ``Sigma = c(n, B) Cov_i grad f_i`` (arXiv 1511.06251; the factor derived here);
* SignSGD: the Erf SDE of arXiv 2411.15958 (Thm 3.2) with the per-coordinate scale
  ``sigma_j(X)^2 = Sigma(X)_jj`` (the sign covariance's diagonal; minibatch noise read as Gaussian:
  derived, an approximation);
* Adam: the SDE of arXiv 2411.15958 (Thm 3.12, as ``sde.adaptive`` writes it; unsure) with
  ``diag Sigma(X)`` in its second-moment dynamics and the minibatch factor in its diffusion.

Each panel pair shows the mean training loss ``f(x)`` and the mean held-out accuracy over time
``t = k lr`` with 95% bands, discrete method (solid) against its SDE (dashed, independent noise, EM
step ``dt = lr / refine`` with ``refine = 2``: at ``dt = lr`` the Euler chain of the SGD SDE has the
discrete chain's first two conditional moments by construction, so agreement there would say nothing
about the SDE). The claim ``minibatch-sde-tracks-sgd-on-an-mlp`` checks SGD's pair.
"""
import numpy as np

import sde
from methods import finite_sum as FS, landscapes as L, noise as N, optimizers as O

NAME = "mlp_digits"
TITLE = "SGD, SignSGD and Adam on an MLP on digits beside their minibatch-covariance SDEs"


def settings(quick):
    """The settings of this figure (``quick``: fewer paths and steps, for tests and ``--quick``)."""
    methods = {"SGD": {"lr": 0.1, "steps": 60 if quick else 300}}
    if not quick:  # each method compiles its own discrete and SDE kernels: the quick run keeps SGD (the claim's)
        methods.update({"SignSGD": {"lr": 0.002, "steps": 300}, "Adam": {"lr": 0.002, "steps": 300}})
    return {"data": "digits", "test_fraction": 0.75, "hidden": [16], "activation": "tanh", "reg": 1e-4,
            "batch": 16, "paths": 24 if quick else 64, "refine": 2, "seed": 0, "methods": methods,
            "saves": 6 if quick else 15}


def landscape(s):
    """The MLP on the training split, and the data set (for the held-out split)."""
    data = FS.load(s["data"], test_fraction=s["test_fraction"], seed=s["seed"])
    return L.MLP.from_dataset(data, hidden=tuple(s["hidden"]), activation=s["activation"], reg=s["reg"],
                              seed=s["seed"]), data


def _optimizer(name, lr):
    return {"SGD": O.SGD, "SignSGD": O.SignSGD, "Adam": O.Adam}[name](lr=lr)


def _accuracy(f, data, iterates):
    """Held-out accuracy of every saved iterate: ``(saves, paths)``."""
    return np.array([[f.accuracy(x, data.X_test, data.y_test) for x in row] for row in iterates])


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    Per method ``M``: ``M|t`` (times), ``M|<who>|loss`` and ``M|<who>|acc`` (per save point: mean and
    standard error across paths, shape ``(saves, 2)``) for ``who`` in ``disc`` and ``sde``, and
    ``M|<who>|diverged`` (paths diverged).
    """
    f, data = landscape(s)
    x0 = f.init(s["seed"])
    nz = N.Minibatch(f, batch=s["batch"])
    out = {}
    for i, (name, m) in enumerate(s["methods"].items()):
        steps = m["steps"]
        every = max(steps // s["saves"], 1)
        cmp = sde.compare(f, _optimizer(name, m["lr"]), nz, x0=x0, steps=steps, paths=s["paths"],
                          seed=s["seed"] + 10 * i, kinds=["classic"], save_every=every, record_iterates=True,
                          refine=s["refine"])
        out[f"{name}|t"] = np.asarray(cmp.discrete.t, dtype=float)
        for who, run in (("disc", cmp.discrete), ("sde", cmp.sde["classic"])):
            loss = run.loss + f.f_star
            acc = _accuracy(f, data, run.iterates)
            P = loss.shape[1]
            out[f"{name}|{who}|loss"] = np.stack([loss.mean(1), loss.std(1, ddof=1) / np.sqrt(P)], 1)
            out[f"{name}|{who}|acc"] = np.stack([acc.mean(1), acc.std(1, ddof=1) / np.sqrt(P)], 1)
            out[f"{name}|{who}|diverged"] = np.array(float(np.sum(run.diverged_at >= 0)))
    return out


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    names = list(s["methods"])
    fig, axes = plt.subplots(2, len(names), figsize=(4.2 * len(names), 7), squeeze=False)
    for j, name in enumerate(names):
        t = data[f"{name}|t"]
        for row, (stat, label) in enumerate((("loss", "training loss f(x)"), ("acc", "held-out accuracy"))):
            ax = axes[row, j]
            for who, ls, lab in (("disc", "-", name), ("sde", "--", f"{name} SDE (minibatch covariance)")):
                m, se = data[f"{name}|{who}|{stat}"].T
                ax.plot(t, m, ls, label=lab)
                ax.fill_between(t, m - 1.96 * se, m + 1.96 * se, alpha=0.25, lw=0)
            ax.set_xlabel("t = k lr")
            ax.set_ylabel(label)
            if row == 0:
                ax.set_title(f"{name}, lr = {s['methods'][name]['lr']:g}")
                ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here and where each reference
    value comes from."""
    m = s["methods"]
    return (f"Settings chosen here. MLP {s['hidden']} {s['activation']} units, reg = {s['reg']:g}, on the bundled "
            f"digits data with a {1 - s['test_fraction']:.0%} training split (held-out accuracy on the rest); batches "
            f"of B = {s['batch']} without replacement, {s['paths']} paths, "
            + ", ".join(f"{k} lr = {v['lr']:g} for {v['steps']} steps" for k, v in m.items())
            + f". SDEs: Euler-Maruyama with dt = lr/{s['refine']}, the minibatch covariance computed at X from the per-sample gradients every step (sde.finite_sum; "
            "sign and adaptive families derived here, Adam's SDE unsure). Bands: 95% confidence intervals.")
