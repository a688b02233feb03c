"""Pieces several figures share: a stationary level from one simulation, and points with 95% bars."""
import numpy as np

from methods import simulate
from methods.timegrid import TimeGrid


def stationary_level(landscape, optimizer, noise, *, lr, t_end, paths, seed, save_every, after):
    """``[mean, s.e.]`` of the time-averaged loss over ``t >= after`` of a run from ``x0 = 0`` to ``t_end``."""
    r = simulate(landscape, optimizer, noise, x0=0.0, steps=TimeGrid(lr).steps(t_end), paths=paths, seed=seed,
                 save_every=save_every)
    return np.array(r.time_average(after=after))


def points_with_ci(ax, x, levels, fmt="o", **kw):
    """Plot ``levels[:, 0]`` with 1.96 s.e. bars (``levels[:, 1]``); returns the colour used."""
    m, se = np.asarray(levels).T
    (ln,) = ax.plot(x, m, fmt, **kw)
    ax.errorbar(x, m, yerr=1.96 * se, fmt="none", color=ln.get_color())
    return ln.get_color()
