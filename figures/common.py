"""Pieces several figures share: a stationary level from one simulation, stationary levels over a
parameter grid (``methods.sweep``), and points with 95% bars."""
import numpy as np

from methods import simulate, sweep
from methods.timegrid import TimeGrid


def stationary_run(landscape, optimizer, noise, *, lr, t_end, paths, seed, save_every):
    """One run from ``x0 = 0`` to ``t_end`` (``t_end / lr`` iterations, ``methods.timegrid``) whose
    time-averaged loss is a figure's stationary level."""
    return simulate(landscape, optimizer, noise, x0=0.0, steps=TimeGrid(lr).steps(t_end), paths=paths, seed=seed,
                    save_every=save_every)


def sweep_runs(run_point, grid: dict, **options):
    """``methods.sweep`` of ``run_point(point) -> Run`` over ``grid`` (crossed, on threads; ``options``
    go to the sweep). Each point keeps the figure's own seed (the one ``run_point`` passes to the
    engine, as the figure's loop did) rather than the sweep's per-point seed, so the figure's
    numbers are those of its former loop."""
    return sweep(lambda point, _seed: run_point(point), grid, seed=0, cache=False, progress=False, **options)


def stationary_grid(run_point, grid: dict, *, after: float):
    """``sweep_runs`` with the stationary level averaged over ``t >= after``."""
    return sweep_runs(run_point, grid, after=after)


def levels(ds, **sel) -> np.ndarray:
    """``(n, 2)`` array of ``[mean, s.e.]`` stationary levels along the one grid axis left after ``sel``."""
    at = ds.sel(sel)  # a dict: an axis may be called "method", one of sel's own keywords
    return np.stack([at["stationary"].values, at["stationary_stderr"].values], axis=-1)


def points_with_ci(ax, x, levels, fmt="o", **kw):
    """Plot ``levels[:, 0]`` with 1.96 s.e. bars (``levels[:, 1]``); returns the colour used."""
    m, se = np.asarray(levels).T
    (ln,) = ax.plot(x, m, fmt, **kw)
    ax.errorbar(x, m, yerr=1.96 * se, fmt="none", color=ln.get_color())
    return ln.get_color()
