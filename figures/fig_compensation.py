"""Figure: compensating compression (arXiv 2502.17009, abstract and scaling-rule results: rules in the
learning rate, batch size and number of agents; the exact statements were not recovered, these routes
are derived here, ``theory.scaling.compensation``). DSGD(lr, B, N) against DCSGD with omega = 3
uncompensated and compensated by B' = (1 + omega) B, N' = (1 + omega) N or lr' = lr / (1 + omega)
(which needs (1 + omega) times the iterations for the same SDE time)."""
import numpy as np

from methods import compressors as C, landscapes as L, noise as N, optimizers as O, simulate
from theory import compression as TC

NAME = "compensation"
TITLE = "Compensating compression: DCSGD (omega = 3) beside DSGD"
H = np.array([1.0, 2.0, 4.0])
OMEGA = 3.0
AGENTS = 2
ROUTES = ("DSGD", "DCSGD, uncompensated", "DCSGD, B' = (1+omega) B", "DCSGD, N' = (1+omega) N",
          "DCSGD, lr' = lr/(1+omega)")


def routes(s):
    """name -> (optimizer, batch, agents, lr)."""
    lr, comp = s["lr"], C.Bernoulli(1 / (1 + OMEGA))
    k = int(1 + OMEGA)
    return {
        ROUTES[0]: (O.DSGD(lr=lr, agents=AGENTS), 1, AGENTS, lr),
        ROUTES[1]: (O.DCSGD(lr=lr, agents=AGENTS, compressor=comp), 1, AGENTS, lr),
        ROUTES[2]: (O.DCSGD(lr=lr, agents=AGENTS, compressor=comp), k, AGENTS, lr),
        ROUTES[3]: (O.DCSGD(lr=lr, agents=k * AGENTS, compressor=comp), 1, k * AGENTS, lr),
        ROUTES[4]: (O.DCSGD(lr=lr / k, agents=AGENTS, compressor=comp), 1, AGENTS, lr / k),
    }


def theory_loss(name, s, t):
    """Exact E f of the discrete method on the SDE-time grid ``t`` (``theory.compression``)."""
    opt, B, n, lr = routes(s)[name]
    om = 0.0 if name == ROUTES[0] else OMEGA
    return TC.expected_loss(t, lr, H, s["sigma"] / np.sqrt(B), om, n, s["x0"], dt_=lr)


def settings(quick):
    """The settings of this figure (``quick``: fewer paths, for tests and ``--quick``)."""
    return {"paths": 512 if quick else 2048, "lr": 0.01, "sigma": 1.0, "x0": 1.0, "t_end": 16.0, "after": 6.0,
            "seed": 0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    For each route of ``routes(s)``: the discrete run on ``f = (x^T diag(H) x)/2`` under Gaussian noise
    of per-sample sd ``sigma`` averaged over the route's batch, saved at 41 SDE times ``t = k lr`` in
    ``[0, t_end]`` (the ``lr`` route runs ``1 + omega`` times the iterations): ``<route>|{t, mean, se}``
    (``E f``) and ``<route>|floor``, the time average over ``t >= after`` (mean, s.e.).
    """
    out = {}
    t_save = np.linspace(0, s["t_end"], 41)
    for i, (name, (opt, B, n, lr)) in enumerate(routes(s).items()):
        steps = np.rint(t_save / lr).astype(int)
        r = simulate(L.DiagonalQuadratic(H), opt, N.Gaussian(s["sigma"], batch=B), x0=s["x0"], steps=int(steps[-1]),
                     paths=s["paths"], seed=s["seed"] + i, save_at=steps)
        out[f"{name}|t"], out[f"{name}|mean"], out[f"{name}|se"] = r.t, r.mean(), r.stderr()
        out[f"{name}|floor"] = np.array(r.time_average(after=s["after"]))
    return out


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure
    (each route's ``E f`` with its 95% band beside ``theory_loss``, the exact discrete recursion)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.4))
    for name in ROUTES:
        t, m, se = data[f"{name}|t"], data[f"{name}|mean"], data[f"{name}|se"]
        (ln,) = ax.plot(t, m, "o", ms=3, label=name)
        ax.fill_between(t, m - 1.96 * se, m + 1.96 * se, color=ln.get_color(), alpha=0.25, lw=0)
        ax.plot(t, theory_loss(name, s, t), "-", color=ln.get_color(), lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("SDE time t = k lr (the lr route runs (1 + omega) x more iterations)")
    ax.set_ylabel("E f (95% CI); lines: exact discrete recursion")
    ax.set_title(TITLE)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here, the source of the
    reference lines, and which term each route restores."""
    return (f"Settings chosen here: H = diag(1, 2, 4), Gaussian sigma = {s['sigma']} per sample (batch B divides it "
            f"by sqrt B), {AGENTS} agents, Bernoulli compressors p = 1/4 (omega = 3), lr = {s['lr']}, x0 = {s['x0']}, "
            f"{s['paths']} paths; stationary levels averaged over t >= {s['after']:g}. Lines: the exact second-moment "
            "recursion of each discrete run (theory.compression, derived). Each route restores DSGD's noise term "
            "exactly; the gradient term omega (grad f)^2 / N is left (B route) or divided by 1 + omega (N, lr routes).")
