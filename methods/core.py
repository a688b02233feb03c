"""One Monte Carlo core for both engines: a compiled step on a flat model state, run over
chunks of paths, with one save loop and one divergence rule.

A *model* is what the discrete engine (``methods.engine``) or the SDE integrator
(``sde.integrate``) builds from its components: three inlined kernels over a tuple ``m`` of the
chunk's buffers and parameters, whose first two entries are the iterate ``x`` and a gradient
buffer ``g``:

* ``start(m)``: reset ``m`` to the start of a path (iterate, optimizer and per-agent states),
  drawing nothing: every path starts at the same point, so the observation at iteration 0 is
  evaluated once per chunk and copied to the chunk's other paths (a full pass over the data of a
  finite sum per path saved; the same numbers);
* ``advance(rng, k, observed, m)``: iteration ``k`` (``observed``: ``g`` holds ``grad f(x)``
  already, computed at the save point just before);
* ``observe(m) -> loss``: write ``grad f(x)`` into ``g`` and return ``f(x) - f_star``.

``chunk_kernel(start, advance, observe)`` composes them into the one path loop (compiled
without reference counting where it can be, ``methods._jit.ChunkKernel``, and kept in the
on-disk cache). Save points are iteration indices; a path whose loss is NaN/inf or above
``blowup``, or whose gradient is infinite, at a save point is marked diverged and stopped
(``store_save_point``). ``run_model`` runs a kernel over every chunk of paths
(``methods.parallel``: a seed gives bit-identical results for any thread count).
"""
from __future__ import annotations

import math

import numpy as np

from . import _checks
from ._cache import cached_kernel
from ._jit import inline_kernel, kernel
from .parallel import resolve_seed, run_chunks


@kernel
def _mark_diverged(si, i, k, out_loss, out_gn, out_x, out_div, record_x):
    out_div[i] = k
    for r in range(si, out_loss.shape[0]):
        out_loss[r, i] = np.inf
        out_gn[r, i] = np.inf
        if record_x:
            for j in range(out_x.shape[2]):
                out_x[r, i, j] = np.nan


@inline_kernel
def store_save_point(si, i, k, x, g, loss, blowup, out_loss, out_gn, out_x, out_div, record_x):
    """Record save point ``si`` of path ``i`` (iteration ``k``); if the path has diverged (loss
    NaN/inf or above ``blowup``, or an infinite gradient) mark it, fill the remaining save
    points (+inf; NaN iterates) and return True. Shared by both engines; inlined (a call
    with this many array arguments cost about 0.3 ns per scalar update at 100 saves in 500
    steps), the rare divergence branch is not."""
    gn2 = 0.0
    for j in range(g.shape[0]):
        gn2 += g[j] * g[j]
    out_loss[si, i] = loss
    out_gn[si, i] = math.sqrt(gn2)
    if record_x:
        for j in range(x.shape[0]):
            out_x[si, i, j] = x[j]
    if loss <= blowup and gn2 < np.inf:
        return False
    _mark_diverged(si, i, k, out_loss, out_gn, out_x, out_div, record_x)
    return True


def check_run_options(paths, seed, threads, blowup):
    """Validate the Monte Carlo options both engines share: ``(paths, seed, threads, blowup)``."""
    paths = _checks.integer("paths", paths, minimum=1)
    seed = resolve_seed(seed)
    if threads is not None:
        threads = _checks.integer("threads", threads, minimum=1)
    blowup = float(blowup)
    if not blowup > 0:
        raise ValueError(f"blowup must be > 0, got {blowup}")
    return paths, seed, threads, blowup


def run_paths(call, *, n_save: int, paths: int, d: int, seed: int, threads, record_iterates: bool):
    """Run ``call(rng, loss, grad_norm, iterates, diverged_at)`` on every chunk of paths (each
    with its own contiguous output buffers) and gather the outputs of all paths."""
    loss = np.empty((n_save, paths))
    gn = np.empty((n_save, paths))
    xs = np.empty((n_save, paths, d)) if record_iterates else np.empty((0, 0, 0))
    div = np.empty(paths, dtype=np.int64)

    def work(rng, lo, hi):
        cl = np.empty((n_save, hi - lo))
        cg = np.empty((n_save, hi - lo))
        cx = np.empty((n_save, hi - lo, d)) if record_iterates else xs
        cd = np.empty(hi - lo, dtype=np.int64)
        call(rng, cl, cg, cx, cd)
        loss[:, lo:hi] = cl
        gn[:, lo:hi] = cg
        if record_iterates:
            xs[:, lo:hi] = cx
        div[lo:hi] = cd

    run_chunks(work, paths, seed, threads)
    return loss, gn, (xs if record_iterates else None), div


def chunk_kernel(start, advance, observe):
    """The path loop of one chunk for the model ``(start, advance, observe)`` (module docstring)."""

    @cached_kernel
    def run_chunk(rng, save_steps, blowup, m, out_loss, out_gn, out_x, out_div, record_x, g_start):
        P = out_loss.shape[1]
        n_save = save_steps.shape[0]
        x = m[0]
        g = m[1]
        loss_start = 0.0
        for i in range(P):
            start(m)
            out_div[i] = -1
            k = 0
            observed = False
            # the iterations between two save points run in a loop with no save-point test
            for si in range(n_save):
                stop = save_steps[si]
                while k < stop:
                    advance(rng, k, observed, m)
                    observed = False
                    k += 1
                if k == 0 and i > 0:
                    # every path starts at the same point (start draws nothing): its observation
                    # there is the chunk's first path's, copied instead of evaluated again
                    for j in range(g.shape[0]):
                        g[j] = g_start[j]
                    loss = loss_start
                else:
                    loss = observe(m)
                    if k == 0:
                        for j in range(g.shape[0]):
                            g_start[j] = g[j]
                        loss_start = loss
                observed = True
                if store_save_point(si, i, k, x, g, loss, blowup, out_loss, out_gn, out_x, out_div, record_x):
                    break

    return run_chunk


def run_model(run_chunk, make_buffers, *, saves, paths: int, d: int, seed: int, threads, blowup: float,
              record_iterates: bool):
    """Run ``run_chunk`` over every chunk of paths; ``make_buffers()`` gives a chunk its model
    tuple (fresh private buffers). Returns ``(loss, grad_norm, iterates or None, diverged_at)``."""

    def call(rng, cl, cg, cx, cd):
        m = make_buffers()
        run_chunk(rng, saves, blowup, m, cl, cg, cx, cd, record_iterates, np.empty(m[1].shape[0]))

    return run_paths(call, n_save=saves.size, paths=paths, d=d, seed=seed, threads=threads,
                     record_iterates=record_iterates)


def save_grid(steps: int, save_every=None, save_at=None) -> np.ndarray:
    """Sorted unique save indices in ``[0, steps]``, always holding 0 and ``steps``."""
    if save_at is not None:
        if save_every is not None:
            raise ValueError("save_every and save_at are exclusive: give one")
        s = np.asarray(save_at)
        if s.ndim != 1 or s.size == 0 or not np.issubdtype(s.dtype, np.integer):
            raise ValueError("save_at must be a non-empty 1-D array of integer step indices")
        if s.min() < 0 or s.max() > steps:
            raise ValueError(f"save_at must lie in [0, steps={steps}]")
        s = np.union1d(s, [0, steps])
    else:
        every = max(1, steps // 100) if save_every is None else _checks.integer("save_every", save_every, minimum=1)
        s = np.union1d(np.arange(0, steps + 1, every), [steps])
    return s.astype(np.int64)


def initial_point(x0, d: int) -> np.ndarray:
    """``x0`` as a float64 vector of length ``d`` (a scalar fills every coordinate)."""
    a = np.asarray(x0, dtype=np.float64) if not isinstance(x0, str) else None
    if a is None or a.ndim > 1:
        raise ValueError(f"x0 must be a scalar or a vector of length d = {d}")
    if not np.all(np.isfinite(a)):
        raise ValueError("x0 must be finite (NaN or inf found)")
    if a.ndim == 0:
        return np.full(d, float(a))
    if a.shape != (d,):
        raise ValueError(f"x0 must have length d = {d}, got {a.shape[0]}")
    return a.copy()


