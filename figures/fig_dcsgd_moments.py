"""Figure: DCSGD's second moments against their exact recursions (arXiv 2502.17009's DCSGD SDE on
quadratics; every formula derived here, ``theory.compression``):
(a) the transient of E f for heterogeneous compressors omega = (1, 3, 0, 7), discrete and SDE;
(b) the step ceiling: one-step growth of E x^2 without noise against lr, discrete (ceiling
2N/(h(N + omega))) and SDE (2N/(omega h));
(c) the rate: compression slows E f's decay from 2 mu to 2 mu Delta, Delta = 1 - lr L omega/(2N);
(d) Student-t noise: the floor with the variance sigma^2 nu/(nu - 2), nu > 2."""
import math

import numpy as np

import sde
from methods import compressors as C, landscapes as L, noise as N, optimizers as O, simulate
from theory import compression as TC

NAME = "dcsgd_moments"
TITLE = "DCSGD: transients, step ceiling, rate and heavy-tailed floor against exact recursions"
H3 = np.array([1.0, 2.0, 4.0])
SIG4 = np.array([0.5, 1.0, 2.0, 1.5])
OM4 = np.array([1.0, 3.0, 0.0, 7.0])
X0 = np.array([2.0, -1.5, 1.0])
CEIL_LRS = (0.15, 0.2, 0.24, 0.27, 0.3, 0.32)
CEIL_OMEGA, CEIL_K, CEIL_REFINE = 7.0, 10, 16
RATE_LR, RATE_T, RATE_OMEGAS, RATE_REFINE = 0.05, 2.0, (0.0, 1.0, 3.0), 8
NUS = (5.0, 8.0, 16.0)
T_NU_SIGMA, T_NU_AGENTS, T_NU_OMEGA = 0.5, 2, 1.0


def settings(quick):
    """The settings of this figure (``quick``: fewer paths and shorter floor runs, for tests and ``--quick``)."""
    return {"paths": 1024 if quick else 8192, "ceil_paths": 4096 if quick else 16384, "lr": 0.01,
            "floor_paths": 256 if quick else 1024, "floor_steps": 2000 if quick else 4000, "seed": 0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    * ``v5|{disc, sde}|{t, mean, se}``: ``E f`` of DCSGD (``N = 4``, Bernoulli ``omega = OM4``, Gaussian
      sd ``SIG4`` per agent) on ``f = (x^T diag(H3) x)/2`` from ``X0``, 600 steps, and of its SDE by
      Euler-Maruyama at ``dt = lr/4``, at the same save points;
    * ``ceil``: ``(len(CEIL_LRS), 4)`` rows ``[mean, se]`` of ``E x_K^2`` (discrete, ``K = CEIL_K``
      steps, no noise, ``omega = 7``) then ``[mean, se]`` of ``E X^2`` after one iteration of the SDE
      (``CEIL_REFINE`` Euler-Maruyama steps), from ``x0 = 1``;
    * ``rates``: ``(len(RATE_OMEGAS), 4)`` rows: the measured decay rate ``-log(E x^2)/T`` and its
      delta-method s.e., discrete then SDE (``dt = lr/8``);
    * ``tfloor``: ``(len(NUS), 2)`` stationary ``E f`` (time average over ``t >= 5``; mean, s.e.) under
      Student-t noise of scale ``T_NU_SIGMA``, ``N = 2``, ``omega = 1``, on the same quadratic from ``x0 = 0``.
    """
    out = {}
    lr = s["lr"]
    opt = O.DCSGD(lr=lr, agents=4, compressor=C.Bernoulli(tuple(1 / (1 + OM4))))
    f, nz = L.DiagonalQuadratic(H3), N.Gaussian(SIG4[:, None])
    save = np.arange(0, 625, 25)
    rd = simulate(f, opt, nz, x0=X0, steps=600, paths=s["paths"], seed=s["seed"], save_at=save)
    rs = sde.integrate(sde.model(opt, f, nz), x0=X0, t_end=6.0, paths=s["paths"], seed=s["seed"] + 1, refine=4,
                       save_at=save)
    for tag, r in (("disc", rd), ("sde", rs)):
        out[f"v5|{tag}|t"], out[f"v5|{tag}|mean"], out[f"v5|{tag}|se"] = r.t, r.mean(), r.stderr()
    # (b) step ceiling: E x_K^2 (discrete, K steps) and E X^2 after one iteration (SDE, 16 EM steps)
    f1 = L.DiagonalQuadratic([1.0])
    ceil = []
    for i, eta in enumerate(CEIL_LRS):
        o = O.DCSGD(lr=eta, compressor=C.Bernoulli(1 / (1 + CEIL_OMEGA)))
        a = simulate(f1, o, None, x0=1.0, steps=CEIL_K, paths=s["ceil_paths"], seed=s["seed"] + 10 + i,
                     save_every=CEIL_K, record_iterates=True).observable("x2_0")[-1]
        b = sde.integrate(sde.model(o, f1, None), x0=1.0, t_end=eta, paths=s["ceil_paths"], seed=s["seed"] + 20 + i,
                          refine=CEIL_REFINE, save_every=1, record_iterates=True).observable("x2_0")[-1]
        ceil.append([a.mean(), a.std(ddof=1) / math.sqrt(a.size), b.mean(), b.std(ddof=1) / math.sqrt(b.size)])
    out["ceil"] = np.array(ceil)
    # (c) rates without noise
    rates = []
    for i, om in enumerate(RATE_OMEGAS):
        o = O.DCSGD(lr=RATE_LR, compressor=C.Bernoulli(1 / (1 + om)))
        n = int(round(RATE_T / RATE_LR))
        rr = []
        for r in (simulate(f1, o, None, x0=1.0, steps=n, paths=s["ceil_paths"], seed=s["seed"] + 30 + i,
                           save_every=n, record_iterates=True),
                  sde.integrate(sde.model(o, f1, None), x0=1.0, t_end=RATE_T, paths=s["ceil_paths"],
                                seed=s["seed"] + 40 + i, refine=RATE_REFINE, save_every=n, record_iterates=True)):
            y = r.observable("x2_0")[-1]
            m, se = y.mean(), y.std(ddof=1) / math.sqrt(y.size)
            rr += [-math.log(m) / RATE_T, se / m / RATE_T if se > 0 else 0.0]
        rates.append(rr)
    out["rates"] = np.array(rates)
    # (d) Student-t floors
    fl = []
    o = O.DCSGD(lr=lr, agents=T_NU_AGENTS, compressor=C.Bernoulli(1 / (1 + T_NU_OMEGA)))
    for i, nu in enumerate(NUS):
        r = simulate(f, o, N.StudentT(nu, T_NU_SIGMA), x0=0.0, steps=s["floor_steps"], paths=s["floor_paths"],
                     seed=s["seed"] + 50 + i, save_every=10)
        fl.append(r.time_average(after=5.0))
    out["tfloor"] = np.array(fl)
    return out


def theory(s):
    """The exact predictions each panel is held to."""
    lr = s["lr"]
    t = np.arange(0, 625, 25) * lr
    return {
        "v5_disc": TC.expected_loss(t, lr, H3, SIG4, OM4, 4, X0, dt_=lr),
        "v5_sde_em": TC.expected_loss(t, lr, H3, SIG4, OM4, 4, X0, dt_=lr / 4),
        "v5_sde": TC.expected_loss(t, lr, H3, SIG4, OM4, 4, X0),
        "ceil_disc": np.array([TC.growth_factor(e, 1.0, CEIL_OMEGA, 1, e) ** CEIL_K for e in CEIL_LRS]),
        "ceil_sde": np.array([TC.growth_factor(e, 1.0, CEIL_OMEGA, 1, e / CEIL_REFINE) ** CEIL_REFINE for e in CEIL_LRS]),
        "rate_disc": np.array([-math.log(TC.growth_factor(RATE_LR, 1.0, om, 1, RATE_LR)) / RATE_LR for om in RATE_OMEGAS]),
        "rate_sde_em": np.array([-math.log(TC.growth_factor(RATE_LR, 1.0, om, 1, RATE_LR / RATE_REFINE))
                                 / (RATE_LR / RATE_REFINE) for om in RATE_OMEGAS]),
        "rate_2mudelta": np.array([2 * (1 - RATE_LR * om / 2) for om in RATE_OMEGAS]),
        "tfloor": np.array([TC.dcsgd_student_t_floor(lr, H3, [T_NU_SIGMA] * T_NU_AGENTS, nu, T_NU_OMEGA, T_NU_AGENTS)
                            for nu in NUS]),
    }


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s`` beside ``theory(s)``; returns the
    matplotlib figure."""
    import matplotlib.pyplot as plt

    th = theory(s)
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    ax = axes[0, 0]
    for tag, key, label in (("disc", "v5_disc", "discrete"), ("sde", "v5_sde_em", "SDE (EM, dt = lr/4)")):
        t, m, se = data[f"v5|{tag}|t"], data[f"v5|{tag}|mean"], data[f"v5|{tag}|se"]
        (ln,) = ax.plot(t, m, "o", ms=3, label=label)
        ax.fill_between(t, m - 1.96 * se, m + 1.96 * se, color=ln.get_color(), alpha=0.25, lw=0)
        ax.plot(t, th[key], "-", color=ln.get_color(), lw=0.8)
    ax.plot(t, th["v5_sde"], "k:", lw=1, label="SDE, exact (dt -> 0)")
    ax.set_yscale("log")
    ax.set_xlabel("t = k lr")
    ax.set_ylabel("E f")
    ax.set_title("(a) transient, omega = (1, 3, 0, 7)")
    ax.legend(fontsize=8)
    ax = axes[0, 1]
    c = data["ceil"]
    lrs = np.array(CEIL_LRS)
    ax.errorbar(lrs, c[:, 0] ** (1 / CEIL_K), yerr=1.96 * c[:, 1] / CEIL_K * c[:, 0] ** (1 / CEIL_K - 1), fmt="o",
                label="discrete, (E x_K^2)^(1/K)")
    ax.errorbar(lrs, c[:, 2], yerr=1.96 * c[:, 3], fmt="s",
                label="SDE, E X^2 after one iteration")
    fine = np.linspace(lrs[0], lrs[-1], 100)
    ax.plot(fine, TC.growth_factor(fine, 1.0, CEIL_OMEGA, 1, fine), "C0-", lw=0.8)
    ax.plot(fine, TC.growth_factor(fine, 1.0, CEIL_OMEGA, 1, fine / CEIL_REFINE) ** CEIL_REFINE, "C1-", lw=0.8)
    ax.axhline(1, color="k", lw=0.5)
    ax.axvline(TC.ceiling(1.0, CEIL_OMEGA, 1, kind="discrete"), color="C0", ls=":", label="discrete ceiling 2N/(h(N+omega))")
    ax.axvline(TC.ceiling(1.0, CEIL_OMEGA, 1), color="C1", ls=":", label="SDE ceiling 2N/(omega h)")
    ax.set_xlabel("lr (h = 1, omega = 7, N = 1, no noise)")
    ax.set_ylabel("growth of E x^2 per iteration")
    ax.set_title("(b) step ceiling")
    ax.legend(fontsize=7)
    ax = axes[1, 0]
    r = data["rates"]
    om = np.array(RATE_OMEGAS)
    ax.errorbar(om - 0.05, r[:, 0], yerr=1.96 * r[:, 1], fmt="o", label="discrete (measured)")
    ax.errorbar(om + 0.05, r[:, 2], yerr=1.96 * r[:, 3], fmt="s", label="SDE (measured, dt = lr/8)")
    ax.plot(om, th["rate_disc"], "C0_", ms=14, label="discrete, exact")
    ax.plot(om, th["rate_2mudelta"], "k_", ms=14, label="2 mu Delta (SDE)")
    ax.set_xlabel("omega (lr = 0.05, mu = L = 1)")
    ax.set_ylabel("decay rate of E f")
    ax.set_title("(c) compression slows the rate")
    ax.legend(fontsize=8)
    ax = axes[1, 1]
    tf = data["tfloor"]
    ax.errorbar(NUS, tf[:, 0], yerr=1.96 * tf[:, 1], fmt="o", label="discrete DCSGD, Student-t")
    ax.plot(NUS, th["tfloor"], "k_", ms=14, label="floor with sigma^2 nu/(nu - 2)")
    ax.set_xscale("log")
    ax.set_xlabel("nu")
    ax.set_ylabel("stationary E f")
    ax.set_title("(d) heavy-tailed floor (nu > 2)")
    ax.legend(fontsize=8)
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here for each panel and what
    the exact lines are (including why the SDE is integrated below ``dt = lr``)."""
    return (f"Settings chosen here: (a) H = diag(1, 2, 4), N = 4, sigma = (0.5, 1, 2, 1.5), Bernoulli omega = (1, 3, 0, 7), "
            f"x0 = (2, -1.5, 1), lr = {s['lr']}, {s['paths']} paths; (b, c) f = x^2/2, one agent, no noise, "
            f"{s['ceil_paths']} paths; (d) N = 2, omega = 1, Student-t scale 0.5, {s['floor_paths']} paths. Lines: exact "
            "second-moment recursions (theory.compression, derived): the discrete chain, the SDE's Euler-Maruyama chain "
            "at the step used, and the SDE itself (dotted). At dt = lr the two chains coincide in their first two moments "
            "(by construction), so the SDE is integrated at dt = lr/4 to lr/16.")
