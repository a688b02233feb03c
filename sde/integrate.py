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
from methods._jit import inline_kernel
from methods.core import check_run_options, chunk_kernel, initial_point, run_model, save_grid
from methods.landscapes import value_and_grad
from methods.parallel import private_empty
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


def sde_model(step, value_grad, grad, factor, needs_grad, stable, refined):
    """An ``SDEModel``'s step as a model of the Monte Carlo core (``methods.core``): ``(start,
    advance, observe)`` over the chunk tuple ``m`` of ``_buffers``. One iteration is ``sub``
    scheme steps of ``dt`` (``refined``: ``sub > 1``; refine = 1, the default, compiles without
    the inner loop, whose mere presence cost about 0.3 ns per update on one thread)."""

    @inline_kernel
    def start(m):
        x, g, y, y0, work, z, sub, dt, p, lp, sp, alpha, f_star = m
        for j in range(y0.shape[0]):
            y[j] = y0[j]

    @inline_kernel
    def advance(rng, k, observed, m):
        x, g, y, y0, work, z, sub, dt, p, lp, sp, alpha, f_star = m
        if needs_grad:
            grad(x, lp, g)
        s = factor(k, g, g, sp)
        if not refined:
            _increments(rng, z, stable, alpha)
            step(k * dt, y, dt, z, s, p, lp, work)
        else:
            for r in range(sub):
                _increments(rng, z, stable, alpha)
                step((k * sub + r) * dt, y, dt, z, s, p, lp, work)

    @inline_kernel
    def observe(m):
        x, g, y, y0, work, z, sub, dt, p, lp, sp, alpha, f_star = m
        return value_grad(x, lp, g) - f_star

    return start, advance, observe


def _buffers(model, y0, refine, dt, p, lp, sp):
    """One chunk's model tuple: private buffers (their own cache lines) and the parameters."""
    d = model.d
    y = private_empty(y0.size)
    return (y[:d], private_empty(d), y, y0, private_empty(model.work_size), private_empty(model.noise_dim),
            int(refine), float(dt), p, lp, sp, float(model.driving_alpha), float(model.landscape.f_star))


def _kernel_for(model: SDEModel, refine: int = 1):
    lk = model.landscape.kernels
    sched = model.optimizer.schedule
    needs_grad = isinstance(sched, GradNormalized)
    stable = model.driving_alpha < 2.0
    refined = refine > 1
    key = (model.key, model.step, lk.value, lk.grad, lk.value_grad, sched.key(), needs_grad, stable, refined)
    with _LOCK:
        if key not in _KERNELS:
            vg = value_and_grad(lk)
            _KERNELS[key] = chunk_kernel(*sde_model(model.step, vg, lk.grad, sched.kernels.factor, needs_grad,
                                                    stable, refined))
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
    dt = h / refine
    p = model.params if model.params_for is None else model.params_for(steps * refine, dt)
    p = np.ascontiguousarray(p, dtype=np.float64)
    run_chunk = _kernel_for(model, refine)
    loss, gn, xs, div = run_model(run_chunk, lambda: _buffers(model, y0, refine, dt, p, lp, sp), saves=saves,
                                  paths=paths, d=d, seed=seed, threads=threads, blowup=blowup,
                                  record_iterates=record_iterates)
    config = {"model": f"{model.method} [{model.kind}] ({model.provenance}; {model.source})",
              "formula": model.formula, "landscape": model.landscape, "optimizer": model.optimizer,
              "noise": model.noise, "x0": x0, "refine": refine, "dt": dt}
    return Run(t=grid.times(saves), step=saves, loss=loss, grad_norm=gn, diverged_at=div, seed=seed, config=config,
               iterates=xs, engine=f"sde:{model.kind}")
