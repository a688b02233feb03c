"""Put a discrete method beside its SDE models: ``compare(landscape, optimizer, noise, ...)``.

Runs ``methods.simulate`` and ``sde.integrate`` for each requested model kind on the same
save grid (``t = k * lr``), returns them together, and plots them with confidence bands
(means +- 1.96 s.e.) or quantile bands, optionally with a theory curve from ``theory``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from methods import simulate
from methods.run import Run

from .integrate import integrate


@dataclass
class Comparison:
    """What ``compare`` returns: the discrete ``Run`` and, for each SDE kind, its ``Run``
    (``sde[kind]``) and its ``SDEModel`` (``models[kind]``), all on one save grid ``t = k h``."""

    discrete: Run
    sde: dict = field(default_factory=dict)      # kind -> Run
    models: dict = field(default_factory=dict)   # kind -> SDEModel

    def gap(self, kind: str = "classic", name: str = "loss"):
        """``E_sde - E_discrete`` at every save point and its standard error."""
        a, b = self.sde[kind], self.discrete
        return a.mean(name) - b.mean(name), np.hypot(a.stderr(name), b.stderr(name))

    def to_xarray(self):
        """The discrete run and every SDE kind as one ``xarray.Dataset`` with a ``member``
        dimension (``methods.xarray_io.comparison_to_xarray``)."""
        from methods.xarray_io import comparison_to_xarray

        return comparison_to_xarray(self)

    def plot(self, ax=None, *, name: str = "loss", band: str = "ci", bound=None, bound_label="theory",
             logy: bool = True, title: str | None = None):
        """Discrete run and SDE models with bands. ``band``: ``"ci"`` (mean +- 1.96 s.e.,
        non-diverged paths) or ``"quantile"`` (median with 10-90% band, diverged as +inf).
        ``bound``: an array on ``self.discrete.t`` or a callable of ``t``."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        runs = [("discrete", self.discrete)] + [(f"SDE: {k}", r) for k, r in self.sde.items()]
        for label, r in runs:
            if band == "quantile":
                lo, mid, hi = r.quantile(name, [0.1, 0.5, 0.9])
            else:
                mid = r.mean(name)
                lo, hi = r.ci(name)
            extra = f" ({r.diverged} diverged)" if r.diverged else ""
            (line,) = ax.plot(r.t, mid, label=label + extra, lw=1.6 if label == "discrete" else 1.2,
                              ls="-" if label == "discrete" else "--")
            ax.fill_between(r.t, np.maximum(lo, 1e-300) if logy else lo, hi, color=line.get_color(), alpha=0.2, lw=0)
        if bound is not None:
            t = self.discrete.t
            y = bound(t) if callable(bound) else np.asarray(bound)
            ax.plot(t, y, "k:", lw=1.2, label=bound_label)
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("t = k * lr")
        ax.set_ylabel({"loss": "f(x) - f*", "grad_norm": "||grad f||"}.get(name, name)
                      + (" (median, 10-90%)" if band == "quantile" else " (mean, 95% CI)"))
        if title:
            ax.set_title(title)
        ax.legend(fontsize=8)
        return ax


def matched_discrete(optimizer):
    """The discrete method an SDE model's schedule stands for.

    The SDE integrator evaluates a ``GradNormalized`` schedule at the exact gradient, i.e. the
    ``source="oracle"`` rule; with ``source="stochastic"`` the discrete method normalises by the
    noisy direction's norm, a different rule (its drift ``E[c (g + Z)/(a + b ||g + Z||)]`` has no
    closed form). This returns ``optimizer`` with its schedule switched to the oracle rule (and
    ``optimizer`` itself for every other schedule), so that both sides use the same rule."""
    import dataclasses

    from methods.schedules import GradNormalized

    sched = optimizer.schedule
    if isinstance(sched, GradNormalized) and sched.source == "stochastic":
        return dataclasses.replace(optimizer, schedule=dataclasses.replace(sched, source="oracle"))
    return optimizer


def compare(landscape, optimizer, noise=None, *, x0, steps: int, paths: int = 2048, seed=0,
            kinds=("classic",), refine: int = 1, save_every=None, same_rule: bool = True, **kw) -> Comparison:
    """Run ``optimizer`` and its SDE models ``kinds`` (see ``sde.kinds``) on the same grid.

    The discrete run uses ``seed`` and SDE kind ``i`` uses ``seed + 1 + i`` (independent
    noise: a difference of means then has the standard error of ``Comparison.gap``).
    ``same_rule`` (default): a gradient-normalised schedule runs on the discrete side with the
    rule the SDE uses, the exact-gradient (oracle) one (``matched_discrete``); ``False`` keeps the
    optimizer's own rule."""
    from . import model as make_model

    disc_opt = matched_discrete(optimizer) if same_rule else optimizer
    disc = simulate(landscape, disc_opt, noise, x0=x0, steps=steps, paths=paths, seed=seed,
                    save_every=save_every, **kw)
    out = Comparison(discrete=disc)
    for i, kind in enumerate(kinds):
        m = make_model(optimizer, landscape, noise, kind=kind)
        out.models[kind] = m
        out.sde[kind] = integrate(m, x0=x0, t_end=steps * m.time_per_step, paths=paths, seed=seed + 1 + i,
                                  refine=refine, save_every=save_every, **kw)
    return out
