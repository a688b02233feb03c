"""SVAG converging to the SGD SDE with the minibatch covariance (Li, Malladi and Arora, arXiv 2102.12470).

Least squares on diabetes (bundled with scikit-learn; a training split of ``n = 110`` rows, 10
standardised features and an intercept, ``d = 11``), minibatches of ``B = 8`` without replacement,
SGD with ``lr = 0.2`` (``lr lambda_max = 0.74``: far from the small-step regime, so the plain method is
visibly off its SDE) from ``x0 = 0.5``. SVAG with ``l = 1, 2, 4, 8`` (``methods.svag``: step ``lr / l``,
``l`` times the steps, the oracle ``(1 + sqrt(2l - 1))/2 g_1 + (1 - sqrt(2l - 1))/2 g_2`` of two
independent minibatches) against the minibatch SDE ``dX = -grad f dt + sqrt(lr) Sigma(X)^(1/2) dW``,
``Sigma = c(n, B) Cov_i grad f_i`` (``sde.finite_sum``), integrated by Euler-Maruyama with
``dt = lr / 32`` (quick: ``lr / 16``; its exact Euler bias, known from the recursion below, is
removed from the reference). Test function: the loss ``f(X_T) - f*`` at ``T = 4`` (20 iterations of the plain
method); weak error ``e_l = |E f(x^(l)_T) - E f(X_T)|``. ArXiv 2102.12470 (Theorem 4.3) proves
``e_l = O(1/l)``.

Exact references (derived here): on least squares ``Sigma(x)`` is quadratic in ``x``, so the first two
moments of SVAG, of the SGD chain and of the SDE's Euler chain close (the recursion ``exact_losses``:
mean ``m' = m - h (H m - q)``, second moment ``P' = T P T^T + ... + lr h E Sigma(X)`` with ``h`` the
step); SVAG(``l``) and Euler-Maruyama with ``dt = lr / l`` have the same recursion (the step ``lr/l``
times the covariance ``l Sigma`` gives ``lr h Sigma``), so for this quadratic test function ``e_l`` is
exactly the Euler error at ``dt = lr / l``. The SDE's own value is the recursion's limit ``dt -> 0``
(Richardson from ``dt = lr/32, lr/64``). These exact numbers check the Monte Carlo (two-sided, 4 s.e.);
the weak errors shown are the Monte Carlo ones with their standard errors.
"""
import numpy as np

import sde
from methods import finite_sum as F, landscapes as L, noise as N, optimizers as O, svag
from methods.minibatch import c_factor

NAME = "svag"
TITLE = "SVAG converges to the SDE with the minibatch covariance"
LS = (1, 2, 4, 8)


def settings(quick):
    """The settings of this figure (``quick``: fewer paths, for tests and ``--quick``)."""
    return {"lr": 0.2, "batch": 8, "steps": 20, "x0": 0.5, "ls": list(LS), "sde_refine": 16 if quick else 32,
            "paths": 4096 if quick else 32768, "sde_paths": 2048 if quick else 16384, "test_fraction": 0.75,
            "seed": 0}


def landscape(s):
    """Least squares on the diabetes training split of ``settings['test_fraction']``."""
    return L.LeastSquares.from_dataset(F.load("diabetes", test_fraction=s["test_fraction"]), reg=0.0)


def exact_losses(f, batch, lr, steps, x0, h, replacement=False):
    """Exact ``E f(x_k) - f*`` at the iterations ``k = 0..steps`` (in units of ``lr``) of the linear-Gaussian
    moment recursion with step ``h`` (``lr / h`` sub-steps an iteration) and noise scale ``lr h``: SVAG with
    ``l = lr / h`` and the SDE's Euler chain with ``dt = h`` (module docstring; derived here)."""
    A, b, n, d = f.A_, f.y_, f.n, f.d
    H0 = A.T @ A / n
    H = H0 + f.reg * np.eye(d)
    q = A.T @ b / n
    M = A[:, :, None] * A[:, None, :] - H0
    v = A * b[:, None] - q
    Mt = M.transpose(0, 2, 1)
    c = c_factor(n, batch, replacement)
    m = np.full(d, float(x0)) if np.ndim(x0) == 0 else np.asarray(x0, float).copy()
    P2 = np.outer(m, m)
    T = np.eye(d) - h * H
    e = h * q
    sub = int(round(lr / h))
    out = []
    for k in range(steps + 1):
        out.append(0.5 * np.trace(H @ P2) - q @ m + b @ b / (2 * n) - f.f_star)
        if k == steps:
            break
        for _ in range(sub):
            Mm = M @ m
            ES = (np.matmul(np.matmul(M, P2), Mt).sum(axis=0) - Mm.T @ v - v.T @ Mm + v.T @ v) * c / n
            Tm = T @ m
            P2 = T @ P2 @ T.T + np.outer(Tm, e) + np.outer(e, Tm) + np.outer(e, e) + lr * h * ES
            m = Tm + e
    return np.array(out)


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    ``svag_mean``, ``svag_se``: Monte Carlo ``E f(x_T) - f*`` per ``l`` (and ``svag_curve``, the mean loss at
    every iteration of the plain method's grid); ``sde_mean``, ``sde_se``, ``sde_curve``: the SDE by
    Euler-Maruyama at ``dt = lr / sde_refine``; ``exact_svag`` (per ``l``), ``exact_em`` (the Euler chain at
    that ``dt``), ``exact_sde`` (the ``dt -> 0`` limit) and ``exact_curve`` (the SDE's, per iteration) from
    ``exact_losses``.
    """
    f = landscape(s)
    lr, steps, x0 = s["lr"], s["steps"], s["x0"]
    mb = N.Minibatch(f, batch=s["batch"])
    opt = O.SGD(lr=lr)
    saves = np.arange(steps + 1)
    out = {"svag_mean": [], "svag_se": [], "svag_curve": [], "exact_svag": []}
    for i, l in enumerate(s["ls"]):
        r = svag.simulate(f, opt, mb, l, x0=x0, steps=steps, paths=s["paths"], seed=s["seed"] + i, save_at=saves)
        if r.diverged:
            raise RuntimeError(f"svag: {r.diverged} paths diverged at l = {l}")
        out["svag_mean"].append(r.mean()[-1])
        out["svag_se"].append(r.stderr()[-1])
        out["svag_curve"].append(r.mean())
        out["exact_svag"].append(exact_losses(f, s["batch"], lr, steps, x0, lr / l)[-1])
    m = sde.model(opt, f, mb)
    r = sde.integrate(m, x0=x0, t_end=steps * lr, paths=s["sde_paths"], seed=s["seed"] + 100, refine=s["sde_refine"],
                      save_at=saves)
    res = {k: np.asarray(v, dtype=float) for k, v in out.items()}
    res["ls"] = np.asarray(s["ls"], dtype=float)
    res["sde_mean"], res["sde_se"], res["sde_curve"] = float(r.mean()[-1]), float(r.stderr()[-1]), r.mean()
    res["exact_em"] = float(exact_losses(f, s["batch"], lr, steps, x0, lr / s["sde_refine"])[-1])
    e32 = exact_losses(f, s["batch"], lr, steps, x0, lr / 32)
    e64 = exact_losses(f, s["batch"], lr, steps, x0, lr / 64)
    curve = 2 * e64 - e32  # Richardson: the Euler chain's error is O(dt)
    res["exact_sde"], res["exact_curve"] = float(curve[-1]), curve
    res["richardson_gap"] = float(abs(e64[-1] - e32[-1]))
    res["t"] = saves * lr
    return res


def weak_errors(data):
    """The Monte Carlo weak errors ``E f(x^(l)_T) - E f(X_T)`` per ``l`` (signed) and their standard errors.
    The SDE's Monte Carlo mean (Euler at ``dt = lr / sde_refine``) is corrected by that Euler chain's exact
    bias ``exact_sde - exact_em`` (a known number, from the recursion)."""
    ref = data["sde_mean"] + (data["exact_sde"] - data["exact_em"])
    diff = data["svag_mean"] - ref
    return diff, np.hypot(data["svag_se"], data["sde_se"])


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.2))
    t = data["t"]
    for l, c in zip(data["ls"], data["svag_curve"]):
        a.plot(t, c, "-", lw=1, label=f"SVAG l = {l:g} (Monte Carlo)")
    a.plot(t, data["sde_curve"], "k--", lw=1.2, label=f"SDE, Euler dt = lr/{s['sde_refine']} (Monte Carlo)")
    a.plot(t, data["exact_curve"], "k:", lw=1, label="SDE, exact moment recursion (dt -> 0)")
    a.set_yscale("log")
    a.set_xlabel("t = k lr")
    a.set_ylabel("E f(x) - f*")
    a.set_title("mean loss along the run")
    a.legend(fontsize=7)
    diff, se = weak_errors(data)
    ls = data["ls"]
    b.errorbar(ls, np.abs(diff), yerr=1.96 * se, fmt="o", ms=5, capsize=3, label="|E f(x_T) - E f(X_T)|, Monte Carlo")
    b.plot(ls, np.abs(data["exact_svag"] - data["exact_sde"]), "k+", ms=9, label="exact (moment recursions)")
    b.plot(ls, np.abs(data["exact_svag"][0] - data["exact_sde"]) / ls, "k--", lw=1, label="1/l from l = 1")
    b.set_xscale("log", base=2)
    b.set_yscale("log")
    b.set_xticks(ls)
    b.set_xticklabels([f"{l:g}" for l in ls])
    b.set_xlabel("l")
    b.set_ylabel("weak error at T")
    b.set_title("weak error of SVAG against l")
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here and where each reference
    value comes from."""
    return (f"Settings chosen here. Least squares on diabetes (scikit-learn, training split of {1 - s['test_fraction']:.0%}, "
            f"n = 110, d = 11), B = {s['batch']} without replacement, SGD lr = {s['lr']:g}, {s['steps']} iterations "
            f"(T = {s['steps'] * s['lr']:g}) from x0 = {s['x0']:g}; SVAG (arXiv 2102.12470) with l in {s['ls']} "
            f"({s['paths']} paths each) against the minibatch SDE by Euler-Maruyama at dt = lr/{s['sde_refine']} "
            f"({s['sde_paths']} paths; its exact Euler bias removed). Exact values: the closed moment recursion of "
            "least squares (derived here; SVAG(l) and Euler at dt = lr/l share it), the SDE's by Richardson "
            "dt -> 0. Bars: 95% CIs.")
