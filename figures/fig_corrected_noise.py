"""The corrected SDE of arXiv 2506.00181 with noise, compression and a schedule, on the parabola.

DCSGD on ``f = lambda x^2 / 2`` (d = 1) with N = 2 agents, Bernoulli(1/2) compression
(omega = 1) and Gaussian noise; SDE models (``sde.model``) integrated by Euler-Maruyama with a
fine step ``dt`` (``refine = eta / dt``):

(a) stationary ``E x^2`` against ``eta lambda``: discrete DCSGD, the corrected SDE (drift
    ``-s grad f + (eta s^2/2) H grad f``, Sec. 4.2 Eq. 27 and Sec. 4.4 (b)) and the classic one,
    beside ``theory.l0l1``'s exact values. The corrected SDE's value equals the discrete one
    exactly (derived here), the classic one does not;
(b) a step schedule ``eta_k = gamma^floor(k / every)``: ``E x_k^2`` of discrete DCSGD and of the
    corrected SDE beside their exact moment paths; in every phase both settle at the discrete
    stationary value for the step ``eta s`` (this checks the ``s^2`` placement of the correction);
(c) exact weak error ``|E f(x_k) - E f(X_{k eta})|`` at ``T = 1`` (SGD, one agent) of the three
    models (Thm C.5: the corrected SDE is an order-1 weak approximation).

Euler-Maruyama's own bias on the stationary second moment is ``b / (2r - r^2 dt - c)`` against
``b / (2r - c)`` (derived here); the settings' ``dt`` keeps it near 0.3 standard errors.
"""
import numpy as np

import sde
from methods import compressors as C, landscapes as L, noise as N, optimizers as O, schedules as S, simulate
from theory import l0l1

NAME = "corrected_noise"
TITLE = "Corrected SDE with noise, compression and a schedule (parabola, DCSGD N = 2, omega = 1)"
LAM, SIGMA, AGENTS, P_KEEP = 1.0, 1.0, 2, 0.5
OMEGA = 1 / P_KEEP - 1
ETAS = (0.25, 0.5, 0.75, 1.0)  # eta lambda
SCHED_ETA, EVERY, GAMMA, PHASES = 1.0, 40, 0.5, 3
WEAK_ETAS = (0.05, 0.025, 0.0125, 0.00625, 0.003125)
WEAK_LAM, WEAK_X0 = 2.0, 1.0


def opt(eta, schedule=None):
    """DCSGD with step ``eta``, ``AGENTS = 2`` agents, Bernoulli(``P_KEEP``) compressors
    (``omega = 1/P_KEEP - 1``) and the optional ``schedule``: the method of every panel but (c)."""
    return O.DCSGD(lr=eta, agents=AGENTS, compressor=C.Bernoulli(P_KEEP), schedule=schedule)


def settings(quick):
    """The settings of this figure (``quick``: shorter runs, fewer paths and a coarser Euler-Maruyama
    ``dt``, for tests and ``--quick``)."""
    # Euler-Maruyama's bias shrinks with dt, the standard error with sqrt(paths): both settings keep
    # bias / s.e. about 0.3 at eta lambda = 0.25 (the worst case; em_stationary gives it exactly)
    return {"t_end": 40.0 if quick else 60.0, "paths": 1024 if quick else 4096, "dt": 0.005 if quick else 0.0025,
            "seed": 0, "burn": 10.0 if quick else 20.0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    (a) ``<eta>|{discrete, corrected, classic}``: stationary ``E x^2 = 2 E f / lambda`` (time average
    over ``t >= burn``; mean, s.e.) of discrete DCSGD and of its corrected and classic SDEs
    (Euler-Maruyama, ``refine = eta/dt``) for each ``eta`` in ``ETAS``, from ``x0 = 0``;
    (b) ``sched|k`` and ``sched|{discrete, corrected}|{mean, se, phase}``: ``E x_k^2`` under the step
    schedule ``GAMMA^floor(k/EVERY)`` and, per phase, the average over its second half (mean, s.e.).
    Panel (c) is exact (``theory.l0l1``) and computed in ``plot``.
    """
    f = L.DiagonalQuadratic([LAM])
    nz = N.Gaussian(SIGMA)
    out = {"etas": np.array(ETAS)}
    for i, eta in enumerate(ETAS):
        steps = int(round(s["t_end"] / eta))
        r = simulate(f, opt(eta), nz, x0=0.0, steps=steps, paths=s["paths"], seed=s["seed"] + 10 * i, save_every=1)
        out[f"{eta:g}|discrete"] = np.array(r.time_average(after=s["burn"])) * 2 / LAM  # E x^2 = 2 f / lambda
        for j, kind in enumerate(("corrected", "classic")):
            m = sde.model(opt(eta), f, nz, kind=kind)
            rs = sde.integrate(m, x0=0.0, t_end=steps * eta, paths=s["paths"], seed=s["seed"] + 10 * i + 1 + j,
                               refine=int(round(eta / s["dt"])), save_every=1)
            out[f"{eta:g}|{kind}"] = np.array(rs.time_average(after=s["burn"])) * 2 / LAM
    # (b) step schedule
    sched = S.Step(every=EVERY, gamma=GAMMA)
    steps = EVERY * PHASES
    rd = simulate(f, opt(SCHED_ETA, sched), nz, x0=0.0, steps=steps, paths=s["paths"], seed=s["seed"] + 100,
                  save_every=1)
    m = sde.model(opt(SCHED_ETA, sched), f, nz, kind="corrected")
    rs = sde.integrate(m, x0=0.0, t_end=steps * SCHED_ETA, paths=s["paths"], seed=s["seed"] + 101,
                       refine=int(round(SCHED_ETA / s["dt"])), save_every=1)
    out["sched|k"] = rd.step
    for tag, r in (("discrete", rd), ("corrected", rs)):
        x2 = r.loss * 2 / LAM  # (n_save, paths)
        out[f"sched|{tag}|mean"], out[f"sched|{tag}|se"] = x2.mean(1), x2.std(1, ddof=1) / np.sqrt(x2.shape[1])
        # per path: average over the second half of each phase
        lv = []
        for ph in range(PHASES):
            sel = (rd.step > ph * EVERY + EVERY // 2) & (rd.step <= (ph + 1) * EVERY)
            pp = x2[sel].mean(0)
            lv.append([pp.mean(), pp.std(ddof=1) / np.sqrt(pp.size)])
        out[f"sched|{tag}|phase"] = np.array(lv)
    return out


def em_stationary(kind, eta, dt, s=1.0):
    """Euler-Maruyama's stationary ``E X^2`` with step ``dt`` (derived here; see the module docstring)."""
    c = 0.5 if kind == "corrected" else 0.0
    r = s * LAM - c * eta * s**2 * LAM**2
    b = eta * s**2 * (1 + OMEGA) * SIGMA**2 / AGENTS
    cc = eta * s**2 * OMEGA * LAM**2 / AGENTS
    return b / (2 * r - r**2 * dt - cc)


def schedule_factors():
    """The schedule factors ``s_k = GAMMA^floor(k / EVERY)``, ``k = 0 .. EVERY PHASES - 1``, of panel (b)
    (the factors ``theory.l0l1.parabola_second_moment_path`` takes)."""
    return np.array([GAMMA ** (k // EVERY) for k in range(EVERY * PHASES)])


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    ax = axes[0]
    grid = np.linspace(0.05, 1.1, 100)
    for kind, ls in (("discrete", "k-"), ("corrected", "C0--"), ("classic", "C1:")):
        th = [l0l1.parabola_stationary_second_moment(kind, e, LAM, SIGMA, omega=OMEGA, agents=AGENTS) for e in grid]
        ax.plot(grid, th, ls, lw=1, label=f"{kind}: exact")
        m = np.array([data[f"{e:g}|{kind}"] for e in ETAS])
        ax.errorbar(ETAS, m[:, 0], yerr=1.96 * m[:, 1], fmt="o" if kind == "discrete" else "x",
                    color="k" if kind == "discrete" else ls[:2], label=f"{kind}: simulated")
    ax.set_xlabel("eta lambda")
    ax.set_ylabel("stationary E x^2")
    ax.set_title("(a) stationary second moment")
    ax.legend()
    ax = axes[1]
    k = data["sched|k"]
    fac = schedule_factors()
    for tag, col in (("discrete", "k"), ("corrected", "C0")):
        m, se = data[f"sched|{tag}|mean"], data[f"sched|{tag}|se"]
        ax.plot(k, m, color=col, lw=1, label=f"{tag}: simulated")
        ax.fill_between(k, m - 1.96 * se, m + 1.96 * se, color=col, alpha=0.25, lw=0)
        th = l0l1.parabola_second_moment_path(tag, SCHED_ETA, LAM, SIGMA, 0.0, fac, omega=OMEGA, agents=AGENTS)
        ax.plot(np.arange(th.size), th, color=col, ls=":", lw=1.2, label=f"{tag}: exact")
    ax.set_yscale("log")
    ax.set_ylim(0.05, 10)
    ax.set_xlabel("iteration k")
    ax.set_ylabel("E x_k^2")
    ax.set_title(f"(b) step schedule {GAMMA:g}^floor(k/{EVERY}), eta = {SCHED_ETA:g}")
    ax.legend()
    ax = axes[2]
    for kind in ("classic", "second_order", "corrected"):
        err = [abs(l0l1.parabola_weak_error(kind, e, WEAK_LAM, SIGMA, WEAK_X0, 1.0)) for e in WEAK_ETAS]
        p = l0l1.local_orders(WEAK_ETAS, err)[-1]
        ax.plot(WEAK_ETAS, err, "o-", label=f"{kind}: local order {p:.3f}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(WEAK_ETAS, [f"{e:g}" for e in WEAK_ETAS])
    ax.xaxis.set_minor_formatter(plt.NullFormatter())
    ax.set_xlabel("eta")
    ax.set_ylabel("|E f(x_k) - E f(X_t)| at t = 1 (exact)")
    ax.set_title("(c) weak error, SGD (exact moments)")
    ax.legend()
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here for each panel."""
    return (f"Settings chosen here: lambda = {LAM:g}, sigma = {SIGMA:g}, N = {AGENTS}, Bernoulli keep probability {P_KEEP:g} "
            f"(omega = {OMEGA:g}), x0 = 0, (a) t = {s['t_end']:g} with the time average over t >= {s['burn']:g}, "
            f"{s['paths']} paths, Euler-Maruyama dt = {s['dt']:g}; (b) eta = {SCHED_ETA:g}, {PHASES} phases of {EVERY} "
            f"iterations; (c) lambda = {WEAK_LAM:g}, x0 = {WEAK_X0:g}, exact second moments (theory.l0l1).")
