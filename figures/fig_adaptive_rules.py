"""Figure: batch-size rules for adaptive methods.
(a) Lemma 3.13 of arXiv 2411.15958 (AdamW batch rule; the lemma and its targets, stationary loss and
speed, are recovered, its exact statement is not): B -> 4B under the derived reading (lr x2,
1 - beta_i x4, wd x2, eps / 2) and under the script reading (1 - beta_2 x2, beta_1 kept), against
theory's stationary loss for each hyperparameter set (``theory.adaptive.batch_rule``);
(b) Malladi et al.'s square-root rule (arXiv 2205.10287; recalled) on discrete RMSprop in its
noise-dominated regime, at equal SDE time t = k lr^2;
(c) Malladi et al.'s Adam SDE: stationary variance sigma0^2 / (2 lambda (sigma0 + eps0)) (derived here)."""
import math

import numpy as np

import sde
from methods import landscapes as L, noise as N, optimizers as O, simulate
from theory import adaptive as TA, closed_forms as CF

NAME = "adaptive_rules"
TITLE = "Batch rules for adaptive methods: Lemma 3.13, the square-root rule, Malladi's Adam SDE"
KAPPA = 4
LEMMA = ("base (B = 1)", "derived reading (B = 4)", "script reading (B = 4)", "no rescaling (B = 4)")
SQRT_T = (0.1, 0.25, 0.5, 1.0)
SQRT_SIGMA, SQRT_LR = 25.0, 0.02
EPS0 = (0.0, 0.5)


def lemma_cases():
    """The four AdamW runs of panel (a): ``{label: (optimizer, batch B)}``.

    The base is ``AdamW.from_rho(lr = 0.0025, rho = (2.5, 1), weight_decay = 1)`` at ``B = 1``; at
    ``B = KAPPA = 4`` it is rescaled by ``theory.adaptive.apply_batch_rule`` under the derived
    reading (``lr x sqrt(kappa)``, ``1 - beta_i x kappa``, ``wd x sqrt(kappa)``, ``eps / sqrt(kappa)``)
    and the script reading (``1 - beta1`` kept, ``1 - beta2 x sqrt(kappa)``), or left as it is.
    """
    base = O.AdamW.from_rho(0.0025, 2.5, 1.0, weight_decay=1.0)
    return {LEMMA[0]: (base, 1), LEMMA[1]: (TA.apply_batch_rule(base, KAPPA, "derived"), KAPPA),
            LEMMA[2]: (TA.apply_batch_rule(base, KAPPA, "script"), KAPPA), LEMMA[3]: (base, KAPPA)}


def lemma_theory(name):
    """Theory's stationary loss of the run ``name`` (a key of ``lemma_cases``) on ``f = x^2/2``.

    ``E f = Var X / 2`` with AdamW's stationary variance
    ``(lr/2) rho1/(rho1 + theta) (lam/sigma + theta)^-1`` (``theory.closed_forms.adamw_stationary_variance``,
    arXiv 2411.15958; derived here from its SDE), at ``lam = 1``, per-step noise
    ``sigma = 1/sqrt(B)``, ``rho1 = (1 - beta1)/lr`` and ``theta`` the weight decay.
    """
    opt, B = lemma_cases()[name]
    rho1 = (1 - opt.betas[0]) / opt.lr
    return 0.5 * CF.adamw_stationary_variance(opt.lr, 1.0, 1.0 / math.sqrt(B), rho1, opt.weight_decay)


def settings(quick):
    """The settings of this figure (``quick``: fewer paths, for tests and ``--quick``)."""
    return {"paths": 512 if quick else 2048, "sqrt_paths": 2048 if quick else 8192, "t_end": 20.0, "after": 5.0,
            "seed": 0}


def compute(s):
    """Run this figure's simulations for settings ``s``: a dict of arrays (cached by ``figures.cache``).

    (a) ``lemma|<label>|{samples, mean, floor}``: discrete AdamW on ``f = x^2/2`` under Gaussian noise
    of per-sample sd 1 averaged over ``B``, ``E f`` against samples ``k B``, and its time average over
    ``t = k lr`` in ``[after, t_end]`` (mean, s.e.); (b) ``sqrt|<tag>|{mean, se}``: discrete RMSprop at
    ``t = k lr^2`` in ``SQRT_T`` for the base (``lr, B = 1``), the square-root rule (``2 lr, B = 4``,
    ``c2 = (1 - alpha)/lr^2`` kept) and no rescaling; (c) ``malladi_adam``: ``(len(EPS0), 2)`` time
    averages (mean, s.e.) of ``X^2`` under Malladi et al.'s Adam SDE (kind ``"malladi"``, Euler-Maruyama).
    """
    out = {}
    f = L.DiagonalQuadratic([1.0])
    for i, (name, (opt, B)) in enumerate(lemma_cases().items()):
        steps = int(round(s["t_end"] / opt.lr))
        r = simulate(f, opt, N.Gaussian(1.0, batch=B), x0=1.0, steps=steps, paths=s["paths"], seed=s["seed"] + i,
                     save_every=max(1, steps // 200))
        out[f"lemma|{name}|samples"] = r.step * B
        out[f"lemma|{name}|mean"] = r.mean()
        out[f"lemma|{name}|floor"] = np.array(r.time_average(after=s["after"]))
    ts = np.array(SQRT_T)
    for i, (tag, lr, B) in enumerate((("base", SQRT_LR, 1), ("rule", 2 * SQRT_LR, 4), ("none", SQRT_LR, 4))):
        alpha = 1 - SQRT_LR**2 * (lr / SQRT_LR) ** 2  # c2 = (1 - alpha) / lr^2 = 1 for base and rule
        opt = O.RMSprop(lr=lr, alpha=alpha if tag != "none" else 1 - SQRT_LR**2, eps=0.0, v0=SQRT_SIGMA**2 / B)
        steps = np.rint(ts / lr**2).astype(int)
        r = simulate(f, opt, N.Gaussian(SQRT_SIGMA, batch=B), x0=1.0, steps=int(steps[-1]), paths=s["sqrt_paths"],
                     seed=s["seed"] + 10 + i, save_at=np.concatenate([[0], steps]))
        out[f"sqrt|{tag}|mean"], out[f"sqrt|{tag}|se"] = r.mean()[1:], r.stderr()[1:]
    lr, s0 = 0.02, 0.5
    mv = []
    for i, e0 in enumerate(EPS0):
        opt = O.Adam(lr=lr, betas=(1 - lr**2, 1 - lr**2), eps=e0 / lr)
        m = sde.model(opt, f, N.Gaussian(s0 / lr), kind="malladi")
        r = sde.integrate(m, x0=0.0, t_end=14.0, paths=s["paths"], seed=s["seed"] + 20 + i, record_iterates=True,
                          save_every=50)
        mv.append(r.time_average("x2_0", after=4.0))
    out["malladi_adam"] = np.array(mv)
    return out


def plot(data, s):
    """Draw the figure from ``compute``'s arrays and the settings ``s``; returns the matplotlib figure."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4))
    ax = axes[0]
    for name in LEMMA:
        (ln,) = ax.plot(data[f"lemma|{name}|samples"], data[f"lemma|{name}|mean"], label=name, lw=1)
        ax.axhline(lemma_theory(name), color=ln.get_color(), ls=":", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("samples (steps x B)")
    ax.set_ylabel("E f (dotted: theory's floor)")
    ax.set_title("(a) AdamW, Lemma 3.13")
    ax.legend(fontsize=7)
    ax = axes[1]
    for tag, label in (("base", "base (lr, B = 1)"), ("rule", "square-root rule (2 lr, B = 4)"),
                       ("none", "B = 4, nothing rescaled")):
        m, se = data[f"sqrt|{tag}|mean"], data[f"sqrt|{tag}|se"]
        ax.errorbar(SQRT_T, m, yerr=1.96 * se, fmt="o-", ms=3, label=label)
    ax.set_xlabel("t = k lr^2")
    ax.set_ylabel("E f (95% CI)")
    ax.set_title("(b) RMSprop, square-root rule")
    ax.legend(fontsize=7)
    ax = axes[2]
    mv = data["malladi_adam"]
    ax.errorbar(EPS0, mv[:, 0], yerr=1.96 * mv[:, 1], fmt="o", label="Malladi Adam SDE (EM)")
    e = np.linspace(0, 0.6, 50)
    ax.plot(e, [TA.malladi_stationary_variance(0.5, x, 1.0) for x in e], "k-", lw=1,
            label="sigma0^2 / (2 lambda (sigma0 + eps0))")
    ax.set_xlabel("eps0 = eps lr")
    ax.set_ylabel("stationary Var X")
    ax.set_title("(c) Malladi's Adam SDE, sigma0 = 0.5")
    ax.legend(fontsize=7)
    fig.suptitle(TITLE)
    fig.tight_layout()
    return fig


def caption(s):
    """The caption under the figure for settings ``s``: the settings chosen here for each panel and
    where the floors and variances come from."""
    return ("Settings chosen here: (a) f = x^2/2, sigma = 1 per sample, AdamW rho = (2.5, 1), wd = 1, lr = 0.0025 (small, so that the O(lr) terms the stationary law neglects stay below the Monte Carlo error), "
            f"t in [{s['after']:g}, {s['t_end']:g}] for the floors, {s['paths']} paths; (b) f = x^2/2, per-sample sigma = "
            f"{SQRT_SIGMA:g}, base lr = {SQRT_LR}, c2 = (1 - alpha)/lr^2 = 1, v0 = sigma^2/B, {s['sqrt_paths']} paths; "
            "(c) lr = 0.02, noise sd 25 (sigma0 = 0.5), c1 = c2 = 1. Floors and variances: theory.closed_forms and "
            "theory.adaptive (derived).")
