"""Figure: SignSGD's phase bounds (arXiv 2411.15958, Lemma 3.4's phases, recalled; arXiv 2502.17009's
DSignSGD bounds; the bounds themselves are derived here, ``theory.adaptive``, ``theory.closed_forms``).
(a) phase 1, the SignGD ODE: f(X_t) - f* <= (sqrt(f0) - sqrt(mu/2) t)_+^2 under mu-PL, an equality on
lambda x^2/2 in 1-D; discrete SignGD on diag(1, 4) stays below it;
(b) phase 3: the linearised SDE dX = -c lambda X / sigma_H dt + sqrt(lr/N) dW makes the PL bound
f0 e^{-2 mu c t/sigma_H} + (1 - e^{-2 mu c t/sigma_H}) lr L d sigma_H/(4 mu c N) an equality on
lambda x^2/2; discrete DSignSGD started in phase 3 follows it and its mean follows the OU mean."""
import numpy as np

import sde
from methods import landscapes as L, noise as N, optimizers as O, simulate
from sde.special import slope
from theory import adaptive as TA, closed_forms as CF

NAME = "sign_bounds"
TITLE = "SignSGD: phase-1 and phase-3 bounds"
SIG = np.array([0.8, 1.6])
LAM, X0_3, AGENTS = 1.0, 0.2, 2


def settings(quick):
    """The settings of this figure (``quick``: fewer paths, for tests and ``--quick``)."""
    return {"paths": 2048 if quick else 16384, "lr": 0.01, "t3": 3.0, "seed": 0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    (a) ``p1|{t, sde}``: one path of SignSGD's phase-1 model (kind ``"phase1"``, the SignGD ODE) on
    ``f = x^2/2`` from ``x0 = 3``; ``p1|{t2, signgd2}``: noiseless discrete SignGD (``lr/10``) on
    ``diag(1, 4)`` from ``(3, 2)``; (b, c) ``p3|t`` and ``p3|{disc, sde}|{mean, se}`` (``E f``) and
    ``p3|x|{mean, se}`` (``E x``): DSignSGD (``N = AGENTS``, Gaussian sd ``SIG`` per agent) on
    ``f = LAM x^2/2`` from ``X0_3``, inside phase 3, and its phase-3 SDE (kind ``"phase3"``).
    """
    out = {}
    lr = s["lr"]
    f1 = L.DiagonalQuadratic([1.0])
    r = sde.integrate(sde.model(O.SignSGD(lr=lr), f1, N.Gaussian(0.5), kind="phase1"), x0=3.0, t_end=2.5, paths=1,
                      seed=0, save_every=5)
    out["p1|t"], out["p1|sde"] = r.t, r.loss[:, 0]
    f2 = L.DiagonalQuadratic([1.0, 4.0])
    g = simulate(f2, O.SignSGD(lr=lr / 10), None, x0=[3.0, 2.0], steps=2500, paths=1, seed=0, save_every=25)
    out["p1|t2"], out["p1|signgd2"] = g.t, g.loss[:, 0]
    opt, f, nz = O.DSignSGD(lr=lr, agents=AGENTS), L.DiagonalQuadratic([LAM]), N.Gaussian(SIG[:, None])
    save = np.rint(np.linspace(0, s["t3"], 16) / lr).astype(int)
    rd = simulate(f, opt, nz, x0=X0_3, steps=int(save[-1]), paths=s["paths"], seed=s["seed"] + 1, save_at=save,
                  record_iterates=True)
    rs = sde.integrate(sde.model(opt, f, nz, kind="phase3"), x0=X0_3, t_end=s["t3"], paths=s["paths"],
                       seed=s["seed"] + 2, save_at=save)
    x = rd.observable("x_0")
    out["p3|t"] = rd.t
    out["p3|disc|mean"], out["p3|disc|se"] = rd.mean(), rd.stderr()
    out["p3|sde|mean"], out["p3|sde|se"] = rs.mean(), rs.stderr()
    out["p3|x|mean"], out["p3|x|se"] = x.mean(1), x.std(1, ddof=1) / np.sqrt(rd.paths)
    return out


def sigma_h():
    """``sigma_H = 1 / mean_i(1/sigma_i)``, the harmonic mean of the agents' noise scales ``SIG``
    (``16/15`` here)."""
    return float(1 / np.mean(1 / SIG))


def theory(data, s):
    """The bounds and exact values each panel is held to (derived here, ``theory.adaptive``,
    ``theory.closed_forms``):

    * ``p1``, ``p1_2d``: the phase-1 bound ``(sqrt(f0) - sqrt(mu/2) t)_+^2`` with ``mu = 1`` and
      ``f0 = 4.5`` (1-D) or ``4.5 + 8`` (``diag(1, 4)`` from ``(3, 2)``);
    * ``p3_bound``: the phase-3 PL bound ``f0 e^{-2 mu c t/sigma_H} + (1 - e^{-2 mu c t/sigma_H})
      lr L d sigma_H / (4 mu c N)`` with ``mu = L = LAM``, ``d = 1``, ``c = sqrt(2/pi)``;
    * ``p3_em``: ``LAM/2 (mean^2 + var)`` of the Euler-Maruyama chain (step ``lr``) of the linearised
      SDE ``dX = -a X dt + sqrt(q) dW``, ``a = c LAM / sigma_H``, ``q = lr / N``;
    * ``p3_mean``: the OU mean ``exp(-c LAM t / sigma_H) X0_3``.
    """
    t3 = data["p3|t"]
    sh, lr = sigma_h(), s["lr"]
    a, q = slope(np.inf) * LAM / sh, lr / AGENTS
    em_mean, em_var = TA.em_ou_moments(a, q, lr, np.rint(t3 / lr), X0_3)
    return {"p1": TA.phase1_bound(data["p1|t"], 4.5, 1.0), "p1_2d": TA.phase1_bound(data["p1|t2"], 4.5 + 8.0, 1.0),
            "p3_bound": CF.dsignsgd_pl_bound(t3, LAM * X0_3**2 / 2, LAM, LAM, 1, sh, AGENTS, lr),
            "p3_em": LAM / 2 * (em_mean**2 + em_var), "p3_mean": TA.phase3_mean(t3, X0_3, LAM, sh)}


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s`` beside ``theory``; returns the
    matplotlib figure."""
    import matplotlib.pyplot as plt

    th = theory(data, s)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    ax = axes[0]
    ax.plot(data["p1|t"], data["p1|sde"], "C0-", lw=2, label="phase-1 model, f = x^2/2")
    ax.plot(data["p1|t"], th["p1"], "k:", label="bound (sqrt f0 - sqrt(mu/2) t)^2")
    ax.plot(data["p1|t2"], data["p1|signgd2"], "C1-", label="SignGD, H = diag(1, 4)")
    ax.plot(data["p1|t2"], th["p1_2d"], "C1:", label="its bound (mu = 1)")
    ax.set_yscale("log")
    ax.set_ylim(1e-3, 20)
    ax.set_xlabel("t")
    ax.set_ylabel("f - f*")
    ax.set_title("(a) phase 1")
    ax.legend(fontsize=7)
    ax = axes[1]
    t = data["p3|t"]
    for tag, label in (("disc", "discrete DSignSGD"), ("sde", "phase-3 SDE (EM)")):
        m, se = data[f"p3|{tag}|mean"], data[f"p3|{tag}|se"]
        ax.errorbar(t, m, yerr=1.96 * se, fmt="o", ms=3, label=label)
    ax.plot(t, th["p3_bound"], "k-", lw=1, label="phase-3 PL bound (equality here)")
    ax.set_yscale("log")
    ax.set_xlabel("t")
    ax.set_ylabel("E f")
    ax.set_title("(b) phase 3, E f")
    ax.legend(fontsize=7)
    ax = axes[2]
    ax.errorbar(t, data["p3|x|mean"], yerr=1.96 * data["p3|x|se"], fmt="o", ms=3, label="discrete DSignSGD, E x")
    ax.plot(t, th["p3_mean"], "k-", lw=1, label="OU mean exp(-c lambda t / sigma_H) x0")
    ax.set_xlabel("t")
    ax.set_ylabel("E x")
    ax.set_title("(c) phase 3, mean")
    ax.legend(fontsize=7)
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here for each panel."""
    return (f"Settings chosen here: (a) x0 = 3 (1-D, lr = {s['lr']}) and x0 = (3, 2) on diag(1, 4) (SignGD, lr = "
            f"{s['lr'] / 10:g}); (b, c) f = x^2/2, {AGENTS} agents with sigma = (0.8, 1.6) (sigma_H = 16/15), x0 = "
            f"{X0_3} so |Y| < 1/2 throughout, lr = {s['lr']}, {s['paths']} paths. Bounds: theory (derived).")
