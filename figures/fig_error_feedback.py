"""Error feedback for biased compressors and clipping at the agents, and normalized EF21 (neighbouring work:
EF21 arXiv 2106.05203, Clip21 arXiv 2305.18929, Clip21-SGD2M arXiv 2502.11682, ``||EF21||`` arXiv 2410.16871).

Heterogeneous agents are made by a fixed per-agent shift (``noise.Shift``): agent ``i``'s oracle is
``grad f(x) + b_i`` with ``sum_i b_i = 0``, so agent ``i`` sees ``f(x) + <b_i, x>`` and the agents'
average is ``f`` (minimiser 0 kept). No gradient noise: every run is deterministic, one path per
problem instance; instances differ by their random shift tables.

(a) ``f = 1/2 sum_j lam_j x_j^2``: DCSGD with top-k stalls away from the minimiser (it cycles or sits at
    a point where the agents' top-k directions cancel), EF21 around the same top-k converges linearly to
    it; classic error feedback (``ErrorFeedback``) for context (full settings).
(b) The same problems with clipping at each agent: DCSGD with ``Clip(c)`` converges to the minimiser
    ``x_c`` of ``phi(x) = mean_i h_c(diag(lam) x + b_i)`` (``h_c`` the Huber function whose gradient is
    ``clip_c``: DCSGD-clip is ``x <- x - lr diag(lam)^-1 grad phi(x)``, derived here), not to 0; Clip21
    (and Clip21-SGD2M, full settings) converge to 0.
(c) ``f = sum_j x_j^4 / 4`` ((L0,L1)-smooth, not L-smooth) from ``x0 = 3``, EF21 and normalized EF21
    with top-1 over a grid of step sizes: the final loss (EF21 diverges at the larger steps).
"""
import numpy as np

from methods import compressors as C, landscapes as L, noise as N, optimizers as O, simulate

NAME = "error_feedback"
TITLE = "Error feedback (EF21, Clip21) under heterogeneity; normalized EF21 on a quartic"


def settings(quick):
    """The settings of this figure (``quick``: fewer instances, steps and step sizes, for tests and ``--quick``)."""
    return {"d": 8, "agents": 8, "lam": [1.0, 4.0], "lr": 0.1, "k": 1, "clip": 0.5, "x0": 1.0,
            "instances": 2 if quick else 8, "steps": 3000, "save_every": 50,
            "q_d": 4, "q_agents": 4, "q_x0": 3.0, "q_k": 1, "q_steps": 1000 if quick else 3000,
            "q_lrs": [float(v) for v in np.geomspace(0.01, 2.0, 5 if quick else 13)], "extras": not quick, "seed": 0}


def shifts(s, i, d, agents):
    """Instance ``i``'s shift table ``(agents, d)``: standard normal entries, centred so that ``sum_i b_i = 0``."""
    b = np.random.default_rng([s["seed"], i, d, agents]).normal(size=(agents, d))
    return b - b.mean(axis=0)


def clip_fixed_point(lam, b, c):
    """The point DCSGD with per-agent ``Clip(c)`` converges to: the root of ``F(x) = mean_i clip_c(lam x +
    b_i)``, i.e. the minimiser of the convex ``phi(x) = mean_i h_c(lam x + b_i)`` (``grad phi = lam F``;
    derived here). Returns ``(x_c, max |F(x_c)|)``."""
    from scipy.optimize import root

    def F(x):
        y = lam * x + b
        n = np.sqrt(np.sum(y * y, axis=1, keepdims=True))
        return np.mean(np.where(n > c, c / np.maximum(n, 1e-300), 1.0) * y, axis=0)

    sol = root(F, np.zeros(lam.size), method="hybr", tol=1e-15)
    return sol.x, float(np.max(np.abs(F(sol.x))))


def _run(f, opt, nz, x0, steps, save_every):
    r = simulate(f, opt, nz, x0=x0, steps=steps, paths=1, seed=0, save_every=save_every, record_iterates=True)
    return r.loss[:, 0], r.iterates[-1, 0], r.step


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    (a, b) per instance (rows): ``<method>|loss`` (``f(x_k) - f*`` at the save points ``step``) and
    ``<method>|x`` (the final iterate) for ``dcsgd_topk``, ``ef21_topk``, ``dcsgd_clip``, ``clip21`` (and
    ``ef_topk``, ``clip21_sgd2m`` with ``extras``); ``clip_xc`` (the predicted stall point of DCSGD-clip),
    ``clip_fxc`` (its loss) and ``clip_residual`` (``max |F(x_c)|`` of the root finder); ``f0`` the initial loss.
    (c) per step size ``q_lrs``: ``q_ef21`` and ``q_nef21`` (final loss, ``inf`` if diverged), ``q_f0``.
    """
    d, A = s["d"], s["agents"]
    lam = np.linspace(s["lam"][0], s["lam"][1], d)
    f = L.DiagonalQuadratic(lam)
    k, c, lr = s["k"], s["clip"], s["lr"]
    methods = {"dcsgd_topk": O.DCSGD(lr=lr, agents=A, compressor=C.TopK(k)),
               "ef21_topk": O.EF21SGD(lr=lr, agents=A, compressor=C.TopK(k)),
               "dcsgd_clip": O.DCSGD(lr=lr, agents=A, compressor=C.Clip(c)),
               "clip21": O.Clip21SGD(lr=lr, clip=c, agents=A)}
    if s["extras"]:
        methods["ef_topk"] = O.DCSGD(lr=lr, agents=A, compressor=C.ErrorFeedback(C.TopK(k)))
        methods["clip21_sgd2m"] = O.Clip21SGD2M(lr=lr, clip=c, beta=0.5, agents=A)
    out = {f"{m}|{w}": [] for m in methods for w in ("loss", "x")}
    out.update({"clip_xc": [], "clip_fxc": [], "clip_residual": []})
    for i in range(s["instances"]):
        b = shifts(s, i, d, A)
        for m, opt in methods.items():
            loss, x, step = _run(f, opt, N.Shift(b), s["x0"], s["steps"], s["save_every"])
            out[f"{m}|loss"].append(loss)
            out[f"{m}|x"].append(x)
        xc, res = clip_fixed_point(lam, b, c)
        out["clip_xc"].append(xc)
        out["clip_fxc"].append(f.f(xc) - f.f_star)
        out["clip_residual"].append(res)
    out["step"] = step
    out["f0"] = f.f(np.full(d, s["x0"])) - f.f_star
    # (c) the quartic
    q = L.Quartic(d=s["q_d"])
    bq = shifts(s, 10_000, s["q_d"], s["q_agents"])
    out["q_lrs"] = np.array(s["q_lrs"])
    out["q_ef21"], out["q_nef21"] = [], []
    for lr_q in s["q_lrs"]:
        for key, make in (("q_ef21", O.EF21SGD), ("q_nef21", O.NormalizedEF21)):
            opt = make(lr=lr_q, agents=s["q_agents"], compressor=C.TopK(s["q_k"]))
            r = simulate(q, opt, N.Shift(bq), x0=s["q_x0"], steps=s["q_steps"], paths=1, seed=0,
                         save_at=np.array([s["q_steps"]]))
            out[key].append(np.inf if r.diverged_at[0] >= 0 else r.loss[-1, 0])
    out["q_f0"] = q.f(np.full(s["q_d"], s["q_x0"])) - q.f_star
    return {key: np.asarray(v, dtype=float) for key, v in out.items()}


LABELS = {"dcsgd_topk": "DCSGD, top-k", "ef21_topk": "EF21, top-k", "ef_topk": "classic EF, top-k",
          "dcsgd_clip": "DCSGD, clip per agent", "clip21": "Clip21", "clip21_sgd2m": "Clip21-SGD2M"}


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    step = data["step"]
    floor = 1e-34
    for ax, group in ((axes[0], ("dcsgd_topk", "ef_topk", "ef21_topk")), (axes[1], ("dcsgd_clip", "clip21", "clip21_sgd2m"))):
        for j, m in enumerate(group):
            if f"{m}|loss" not in data:
                continue
            curves = np.maximum(data[f"{m}|loss"] / data["f0"], floor)
            for i, row in enumerate(curves):
                ax.plot(step, row, color=f"C{j}", lw=1, alpha=0.7, label=LABELS[m] if i == 0 else None)
        ax.set_yscale("log")
        ax.set_xlabel("iteration k")
        ax.set_ylabel("(f(x_k) - f*) / (f(x_0) - f*)")
    for i, v in enumerate(data["clip_fxc"] / data["f0"]):
        axes[1].axhline(v, color="k", ls="--", lw=0.8, label="predicted stall f(x_c) (derived)" if i == 0 else None)
    axes[0].set_title(f"(a) {s['agents']} heterogeneous agents, no noise, top-{s['k']} of d = {s['d']}")
    axes[1].set_title(f"(b) clipping at the agents, c = {s['clip']:g}")
    for ax in axes[:2]:
        ax.legend(fontsize=7)
    ax = axes[2]
    lrs, f0 = data["q_lrs"], data["q_f0"]
    for key, lab, mk in (("q_ef21", "EF21, top-1", "o"), ("q_nef21", "normalized EF21, top-1", "s")):
        v = data[key] / f0
        ok = np.isfinite(v)
        line, = ax.plot(lrs[ok], v[ok], mk + "-", ms=4, label=lab)
        ax.plot(lrs[~ok], np.full((~ok).sum(), 10.0), mk, ms=7, mfc="none", color=line.get_color(),
                label=f"{lab}: diverged" if (~ok).any() else None)
    ax.axvline(2 / s["q_x0"] ** 2, color="0.5", ls=":", lw=1, label="GD's threshold 2 / x0^2 (1-D, derived)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step size lr")
    ax.set_ylabel(f"final (f - f*) / (f(x_0) - f*) after {s['q_steps']} steps")
    ax.set_title(f"(c) f = sum x^4/4, d = {s['q_d']}, {s['q_agents']} agents, x0 = {s['q_x0']:g}")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here and where each reference comes from."""
    return (f"Settings chosen here. Heterogeneous agents by fixed shifts b_i (standard normal, centred; noise.Shift), no "
            f"gradient noise, one deterministic path per instance ({s['instances']} instances). (a, b) f = 1/2 sum "
            f"lam_j x_j^2, lam linear in [{s['lam'][0]:g}, {s['lam'][1]:g}], d = {s['d']}, {s['agents']} agents, "
            f"lr = {s['lr']:g}, x0 = {s['x0']:g}, {s['steps']} steps; dashed: the minimiser of the Huberised mean loss "
            "that per-agent clipping converges to (derived here). (c) f = sum x_j^4/4, top-1, "
            f"{s['q_steps']} steps from x0 = {s['q_x0']:g}; open markers at 10: diverged.")
