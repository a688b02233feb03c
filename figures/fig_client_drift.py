"""Client drift of local steps on heterogeneous quadratics (derived here; ``methods.federated``).

``N = 4`` agents, agent ``i`` minimising ``f_i(x) = 1/2 sum_j lambda_ij (x_j - c_ij)^2`` (different
curvatures and minimisers), global objective ``F = mean_i f_i`` with minimiser ``x* = sum_i lambda_i c_i /
sum_i lambda_i`` (per coordinate). LocalSGD (``tau`` local steps of size ``lr``, server step ``lr_server``):
per coordinate a round maps ``x -> x + lr_server (mean_i [c_i + a_i^tau (x - c_i)] - x)``, ``a_i = 1 - lr
lambda_i``, an affine map; with additive zero-mean noise the mean of the server iterate follows it, so
its stationary mean is the map's fixed point

    x_hat = sum_i w_i c_i / sum_i w_i,   w_i = 1 - (1 - lr lambda_i)^tau   (per coordinate),

whatever ``lr_server``. ``x_hat = x*`` for ``tau = 1``; to first order ``x_hat - x* = -(tau - 1) lr kappa``
with ``kappa = sum_i lambda_i^2 (c_i - x*) / (2 sum_i lambda_i)``: the drift grows with ``(tau - 1) lr``.
(a) ``||x_hat - x*||`` against ``(tau - 1) lr``: Monte Carlo (stationary mean of the server iterate,
small Gaussian noise), the exact noise-free fixed point (the engine without noise) and the closed
form, with the first-order line; (b) ``x*`` and the fixed points in the plane (zoomed: the agents' minimisers lie far outside).
"""
import numpy as np

from methods import landscapes as L, noise as N, optimizers as O, simulate

NAME = "client_drift"
TITLE = "Local steps drift on heterogeneous agents (client drift)"
LAM = np.array([[1.0, 3.0], [2.0, 0.5], [4.0, 1.0], [0.5, 2.0]])
CEN = np.array([[1.0, -1.0], [-1.0, 1.0], [0.5, 0.5], [-0.5, -1.0]])


def settings(quick):
    """The settings of this figure (``quick``: fewer step sizes and paths, for tests and ``--quick``)."""
    return {"taus": [1, 2, 4, 8], "lrs": [0.005, 0.01, 0.02] if not quick else [0.01, 0.02], "lr_server": 1.0,
            "sigma": 0.5, "t_end": 40.0, "paths": 256 if quick else 2048, "seed": 0}


def minimiser():
    """``x* = argmin F`` (closed form, per coordinate)."""
    return (LAM * CEN).sum(0) / LAM.sum(0)


def fixed_point(lr, tau):
    """The closed-form fixed point ``x_hat`` of LocalSGD's round map (module docstring)."""
    w = 1.0 - (1.0 - lr * LAM) ** tau
    return (w * CEN).sum(0) / w.sum(0)


def kappa():
    """The first-order drift coefficient: ``x_hat - x* = -(tau - 1) lr kappa + O(((tau - 1) lr)^2)``."""
    return (LAM**2 * (CEN - minimiser())).sum(0) / (2 * LAM.sum(0))


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    Per ``(tau, lr)`` (rows ``tau``-major): ``mc`` (stationary mean of the server iterate over the
    second half of ``t_end``, Gaussian noise ``sigma`` at every agent; ``(points, 2)``), ``mc_se`` (its
    standard errors), ``det`` (the engine without noise after ``t_end``, the exact fixed point to
    rounding once converged), ``closed`` (the closed form), ``prod`` ((tau - 1) lr).
    """
    f = L.PerAgent.quadratics(LAM, CEN)
    out = {"mc": [], "mc_se": [], "det": [], "closed": [], "prod": [], "tau": [], "lr": []}
    for i, tau in enumerate(s["taus"]):
        for j, lr in enumerate(s["lrs"]):
            steps = int(round(s["t_end"] / lr / 8)) * 8
            opt = O.LocalSGD(lr=lr, lr_server=s["lr_server"], local_steps=tau, agents=LAM.shape[0])
            r = simulate(f, opt, N.Gaussian(s["sigma"]), x0=0.0, steps=steps, paths=s["paths"],
                         seed=s["seed"] + 10 * i + j, save_every=8, record_iterates=True)
            ta = [r.time_average(f"x_{k}", after=s["t_end"] / 2) for k in range(2)]
            det = simulate(f, opt, None, x0=0.0, steps=steps, paths=1, record_iterates=True, save_at=np.array([steps]))
            out["mc"].append([m for m, _ in ta])
            out["mc_se"].append([e for _, e in ta])
            out["det"].append(det.iterates[-1, 0])
            out["closed"].append(fixed_point(lr, tau))
            out["prod"].append((tau - 1) * lr)
            out["tau"].append(tau)
            out["lr"].append(lr)
    res = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    res["x_star"] = minimiser()
    res["kappa"] = kappa()
    return res


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    xs = data["x_star"]
    prod = data["prod"]
    sel = prod > 0
    dist_mc = np.linalg.norm(data["mc"] - xs, axis=1)
    u = (data["mc"] - xs) / np.maximum(dist_mc, 1e-300)[:, None]
    se = np.sqrt(((u * data["mc_se"]) ** 2).sum(1))
    a.errorbar(prod[sel], dist_mc[sel], yerr=1.96 * se[sel], fmt="o", ms=4, label="Monte Carlo, stationary mean")
    a.plot(prod[sel], np.linalg.norm(data["det"] - xs, axis=1)[sel], "k+", ms=9, label="engine without noise")
    fine = np.geomspace(prod[sel].min() / 1.5, prod[sel].max() * 1.5, 100)
    a.plot(fine, np.linalg.norm(data["kappa"]) * fine, "k--", lw=1, label="first order (tau - 1) lr ||kappa||")
    for lr in np.unique(data["lr"]):
        taus = np.arange(2, max(s["taus"]) + 1)
        a.plot((taus - 1) * lr, [np.linalg.norm(fixed_point(lr, t) - xs) for t in taus], "-", lw=1,
               label=f"closed form, lr = {lr:g}")
    a.set_xscale("log")
    a.set_yscale("log")
    a.set_xlabel("(tau - 1) lr")
    a.set_ylabel("||x_hat - x*||")
    a.set_title("distance of the stationary point from argmin F")
    a.legend(fontsize=7)
    b.plot(*xs, "k*", ms=12, label="x* = argmin F")
    lr = max(s["lrs"])
    on = data["lr"] == lr
    pts, pse = data["mc"][on], data["mc_se"][on]
    b.errorbar(pts[:, 0], pts[:, 1], xerr=1.96 * pse[:, 0], yerr=1.96 * pse[:, 1], fmt="o", ms=4,
               label=f"LocalSGD stationary mean (Monte Carlo), lr = {lr:g}")
    for (px, py), t in zip(pts, data["tau"][on]):
        b.annotate(f"tau = {t:g}", (px, py), textcoords="offset points", xytext=(6, -10), fontsize=7)
    taus = np.arange(1, 41)
    path = np.array([fixed_point(lr, t) for t in taus])
    b.plot(path[:, 0], path[:, 1], "-", lw=0.8, color="C1", label="closed-form fixed point, tau = 1..40")
    b.set_xlabel("x_0")
    b.set_ylabel("x_1")
    b.set_title("fixed points near x* (agents' minimisers are far outside)")
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here and where each reference
    value comes from."""
    return (f"Settings chosen here. N = {LAM.shape[0]} diagonal quadratics in d = 2 with their own curvatures and "
            f"minimisers; LocalSGD with lr_server = {s['lr_server']:g}, tau in {s['taus']}, lr in {s['lrs']}, "
            f"Gaussian noise sigma = {s['sigma']:g} at every agent, {s['paths']} paths, t_end = {s['t_end']:g} (k lr), "
            "stationary mean over the second half. Closed form: the fixed point of the affine round map (derived "
            "here, methods.federated). Bars: 95% confidence intervals.")
