"""Euler-Maruyama integration of an ``SDEModel`` over many paths: ``integrate(model, ...)``.

One optimizer iteration is ``model.time_per_step`` of SDE time (``lr``; ``lr^2`` for
Malladi's models). The default step is one SDE step per iteration, ``dt = time_per_step``;
``refine=m`` takes ``m`` steps of ``dt / m``. Save points are iteration indices, exactly as in
``methods.simulate``, so ``Run.t`` and ``Run.step`` line up with the discrete run and the two
overlay by subtraction. Brownian increments come from the same chunked, per-chunk-seeded
generators as the discrete engine: a seed gives bit-identical results for any thread count.
The schedule factor ``s = eta_k`` is held over iteration ``k`` (for ``GradNormalized`` it is
evaluated at the exact gradient). Models with ``driving_alpha < 2`` are driven by symmetric
alpha-stable variates (Chambers-Mallows-Stuck) instead of normals; their step scales them by
``dt^(1/alpha)``.
"""
from __future__ import annotations

import threading

import numpy as np

from methods import _checks
from methods._cache import cached_kernel
from methods._jit import inline_kernel
from methods.parallel import private_empty
from methods.engine import check_run_options, initial_point, run_paths, save_grid, store_save_point
from methods.run import Run
from methods.timegrid import TimeGrid
from methods.noise import _cms
from methods.rng import fill_normal
from methods.schedules import GradNormalized

from .base import SDEModel

_KERNELS: dict = {}
_LOCK = threading.Lock()


@inline_kernel
def _increments(rng, z, stable, alpha):
    """The driving variates of one step: standard normals, or symmetric alpha-stable ones."""
    if stable:
        for q in range(z.shape[0]):
            z[q] = _cms(rng, alpha)
    else:
        fill_normal(rng, z)


def _build(step, value, grad, factor, needs_grad, stable, refined):
    @cached_kernel
    def run_chunk(rng, y0, d, steps, sub, save_steps, dt, f_star, blowup, p, lp, sp, y, work, z, g,
                  alpha, out_loss, out_gn, out_x, out_div, record_x):
        # buffers come from the caller: a chunk kernel allocates nothing (methods._jit.ChunkKernel)
        n = y0.shape[0]
        P = out_loss.shape[1]
        n_save = save_steps.shape[0]
        x = y[:d]  # the iterate
        for i in range(P):
            for j in range(n):
                y[j] = y0[j]
            out_div[i] = -1
            k = 0
            # the steps between two save points run in a loop with no save-point test
            for si in range(n_save):
                stop = save_steps[si]
                while k < stop:
                    if needs_grad:
                        grad(x, lp, g)
                    s = factor(k, g, g, sp)
                    # refine = 1 (the default) compiles without the inner loop: its mere presence
                    # cost about 0.3 ns per update on one thread
                    if not refined:
                        _increments(rng, z, stable, alpha)
                        step(k * dt, y, dt, z, s, p, lp, work)
                    else:
                        for r in range(sub):
                            _increments(rng, z, stable, alpha)
                            step((k * sub + r) * dt, y, dt, z, s, p, lp, work)
                    k += 1
                grad(x, lp, g)
                if store_save_point(si, i, k, x, g, value(x, lp) - f_star, blowup, out_loss, out_gn, out_x,
                                    out_div, record_x):
                    break

    return run_chunk


def _kernel_for(model: SDEModel, refine: int = 1):
    lk = model.landscape.kernels
    sched = model.optimizer.schedule
    needs_grad = isinstance(sched, GradNormalized)
    stable = model.driving_alpha < 2.0
    refined = refine > 1
    key = (model.key, model.step, lk.value, lk.grad, sched.key(), needs_grad, stable, refined)
    with _LOCK:
        if key not in _KERNELS:
            _KERNELS[key] = _build(model.step, lk.value, lk.grad, sched.kernels.factor, needs_grad, stable, refined)
        return _KERNELS[key]


def integrate(model: SDEModel, *, x0, t_end: float, paths: int = 1024, seed=0, refine: int | None = None,
              dt: float | None = None, save_every: int | None = None, save_at=None, record_iterates: bool = False,
              blowup: float = np.inf, threads: int | None = None) -> Run:
    """Integrate ``model`` from ``x0`` to ``t_end`` with Euler-Maruyama, ``paths`` paths.

    ``t_end`` must be a whole number of iterations (``t_end / model.time_per_step``);
    ``refine`` SDE steps are taken per iteration (``dt = time_per_step / refine``; default 1),
    or give ``dt`` itself, which must divide ``time_per_step``;
    ``save_every`` / ``save_at`` count iterations, as in ``methods.simulate``.
    """
    if not isinstance(model, SDEModel):
        raise ValueError(f"model must be an sde.SDEModel (from sde.model(...)), got {model!r}")
    grid = TimeGrid(model.time_per_step)
    h = grid.time_per_step
    if dt is not None:
        if refine is not None:
            raise ValueError("dt and refine are exclusive: give one")
        dt = _checks.positive("dt", dt)
        try:
            refine = TimeGrid(dt).steps(h)
        except ValueError:
            raise ValueError(f"dt = {dt} must divide the time per iteration {h:g} (lr, or lr^2 for Malladi's "
                             "models)") from None
    refine = 1 if refine is None else _checks.integer("refine", refine, minimum=1)
    steps = grid.steps(t_end)
    paths, seed, threads, blowup = check_run_options(paths, seed, threads, blowup)
    d = model.d
    x0 = initial_point(x0, d)
    y0 = model.initial_state(x0)
    saves = save_grid(steps, save_every, save_at)
    lp = np.ascontiguousarray(model.landscape.params(), dtype=np.float64)
    sp = model.optimizer.schedule.pack()
    p = np.ascontiguousarray(model.params, dtype=np.float64)
    run_chunk = _kernel_for(model, refine)
    dt = h / refine

    def call(rng, cl, cg, cx, cd):
        run_chunk(rng, y0, d, steps, refine, saves, dt, model.landscape.f_star, blowup, p, lp, sp,
                  private_empty(y0.size), private_empty(model.work_size), private_empty(model.noise_dim),
                  private_empty(d),
                  model.driving_alpha, cl, cg, cx, cd, record_iterates)

    loss, gn, xs, div = run_paths(call, n_save=saves.size, paths=paths, d=d, seed=seed, threads=threads,
                                  record_iterates=record_iterates)
    config = {"model": f"{model.method} [{model.kind}] ({model.provenance}; {model.source})",
              "formula": model.formula, "landscape": model.landscape, "optimizer": model.optimizer,
              "noise": model.noise, "x0": x0, "refine": refine, "dt": dt}
    return Run(t=grid.times(saves), step=saves, loss=loss, grad_norm=gn, diverged_at=div, seed=seed, config=config,
               iterates=xs, engine=f"sde:{model.kind}")
