"""The discrete Monte Carlo engine: ``simulate(landscape, optimizer, noise, ...)``.

The kernel for one combination of landscape, noise, compressor, server rule and
schedule is built once by composing their compiled functions (closure factory) and
memoised on the combination; parameters travel as run-time arrays, so new parameter
values never recompile. Per path and iteration ``k`` it does exactly what
``methods.optimizers`` documents:

    g = grad f(x_k);  g_i = g + Z_i;  t_i = C_i(g_i);  v = mean_i t_i;
    x_{k+1} = update(x_k, v, state, k, lr * eta_k(k, g, v))

and records ``f(x_k) - f_star`` and ``||grad f(x_k)||`` at the save points.
"""
from __future__ import annotations

import math
import threading

import numpy as np

from . import _checks
from . import compressors as _compressors
from . import landscapes as _landscapes
from . import noise as _noise
from . import optimizers as _optimizers
from .parallel import private_empty, resolve_seed, run_chunks
from .component import Shape
from .run import Run
from .timegrid import TimeGrid
from ._cache import cached_kernel
from ._jit import inline_kernel, kernel

_KERNELS: dict = {}
_KERNELS_LOCK = threading.Lock()


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


def _build_kernel(value, grad, sample, compress, factor, update, init, comp_init, noise_init, fused, needs_gn2):
    """Compose one compiled chunk kernel. ``fused``: one agent, identity compressor (the
    oracle output is the direction, no copy). ``needs_gn2``: the noise reads ||grad f||^2.
    ``comp_init`` / ``noise_init``: the per-agent state inits (``None``: zeros)."""
    comp_zero = comp_init is None
    noise_zero = noise_init is None
    comp_init_ = comp_init if comp_init is not None else init  # never called when comp_zero
    noise_init_ = noise_init if noise_init is not None else init

    @cached_kernel
    def run_chunk(rng, x0, steps, save_steps, agents, lr, f_star, blowup, lp, npar, cp, op, sp,
                  scratch, state, layout, iwork, out_loss, out_gn, out_x, out_div, record_x):
        # buffers come from the caller (a chunk kernel allocates nothing, methods._jit.ChunkKernel):
        # scratch (5, d) holds x, grad f(x), one agent's oracle output, its compressed form and the
        # direction; state is one path's flat state, layout = [server size, compressor block size,
        # noise block size] (server first, then each agent's compressor block, then each agent's
        # noise block); iwork = arange(d) for the compressors
        d = x0.shape[0]
        P = out_loss.shape[1]
        n_save = save_steps.shape[0]
        x = scratch[0]
        g = scratch[1]
        gi = scratch[2]
        ti = scratch[3]
        v = scratch[4]
        inv_agents = 1.0 / agents
        ss = layout[0]
        cs = layout[1]
        ns = layout[2]
        co = ss
        no = ss + agents * cs
        server = state[:ss]
        comp0 = state[co:co + cs]
        noise0 = state[no:no + ns]
        for i in range(P):
            for j in range(d):
                x[j] = x0[j]
            init(server, op)
            for a in range(agents):
                cb = state[co + a * cs:co + (a + 1) * cs]
                if comp_zero:
                    for j in range(cs):
                        cb[j] = 0.0
                else:
                    comp_init_(cb, cp)
                nb = state[no + a * ns:no + (a + 1) * ns]
                if noise_zero:
                    for j in range(ns):
                        nb[j] = 0.0
                else:
                    noise_init_(nb, npar)
            out_div[i] = -1
            k = 0
            have_grad = False
            # the iterations between two save points run in a loop with no save-point test
            for si in range(n_save):
                stop = save_steps[si]
                while k < stop:
                    if not have_grad:
                        grad(x, lp, g)
                    have_grad = False
                    gn2 = 0.0
                    if needs_gn2:
                        for j in range(d):
                            gn2 += g[j] * g[j]
                    if fused:
                        sample(rng, x, g, gn2, lp, npar, 0, noise0, v)
                    elif agents == 1:
                        sample(rng, x, g, gn2, lp, npar, 0, noise0, gi)
                        compress(rng, gi, cp, 0, comp0, iwork, v)
                    else:
                        for j in range(d):
                            v[j] = 0.0
                        for a in range(agents):
                            sample(rng, x, g, gn2, lp, npar, a, state[no + a * ns:no + (a + 1) * ns], gi)
                            compress(rng, gi, cp, a, state[co + a * cs:co + (a + 1) * cs], iwork, ti)
                            for j in range(d):
                                v[j] += ti[j]
                        for j in range(d):
                            v[j] *= inv_agents
                    lr_k = lr * factor(k, g, v, sp)
                    update(x, v, server, k, lr_k, op)
                    k += 1
                grad(x, lp, g)
                have_grad = True  # the first iteration after a save point reuses this gradient
                if store_save_point(si, i, k, x, g, value(x, lp) - f_star, blowup, out_loss, out_gn, out_x,
                                    out_div, record_x):
                    break

    return run_chunk


def get_kernel(landscape, optimizer, noise):
    """The compiled chunk kernel for this combination (built on first use, then cached). The
    memo key is made of the components' keys (their compiled functions, never class names)."""
    comp = optimizer.compressor
    fused = optimizer.agents == 1 and isinstance(comp, _compressors.Identity)
    needs_gn2 = noise.uses_grad_norm
    key = (landscape.key(), noise.key(), comp.key(), optimizer.rule_key(), optimizer.schedule.key(), fused,
           needs_gn2)
    with _KERNELS_LOCK:
        if key not in _KERNELS:
            lk = landscape.kernels
            ok = optimizer.kernels
            _KERNELS[key] = _build_kernel(lk.value, lk.grad, noise.kernels.sample, comp.kernels.compress,
                                          optimizer.schedule.kernels.factor, ok.update, ok.init,
                                          comp.kernels.init, noise.kernels.init, fused, needs_gn2)
        return _KERNELS[key]


def _arange(d):
    iwork = private_empty(d, np.int64)
    iwork[:] = np.arange(d)
    return iwork


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


def simulate(landscape, optimizer, noise=None, *, x0, steps: int, paths: int = 1024, seed=0,
             save_every: int | None = None, save_at=None, record_iterates: bool = False,
             blowup: float = np.inf, threads: int | None = None) -> Run:
    """Run ``paths`` independent runs of ``optimizer`` on ``landscape`` with gradient ``noise``.

    Parameters
    ----------
    landscape, optimizer, noise:
        objects from ``methods.landscapes``, ``methods.optimizers``, ``methods.noise``
        (``noise=None``: exact gradients).
    x0:
        starting point, scalar or length-``d`` vector (every path starts there).
    steps:
        number of optimizer iterations; the run covers SDE time ``[0, steps * lr]``.
    paths, seed:
        Monte Carlo size and seed; the same seed gives bit-identical results for any
        thread count (``threads``, default ``NUMBA_NUM_THREADS``).
    save_every / save_at:
        save grid (default about 100 points); 0 and ``steps`` are always saved.
    record_iterates:
        also keep the iterates at save points (``paths * n_save * d`` floats).
    blowup:
        a path whose loss exceeds this level (or is NaN/inf) at a save point is counted
        as diverged and stopped.

    Returns a ``Run`` with ``t = k * lr`` on the save grid.
    """
    if not isinstance(landscape, _landscapes.Landscape):
        raise ValueError(f"landscape must be a methods.landscapes object, got {landscape!r}")
    if not isinstance(optimizer, _optimizers.Optimizer):
        raise ValueError(f"optimizer must be a methods.optimizers object, got {optimizer!r}")
    noise = _noise.resolve(noise)
    steps = _checks.integer("steps", steps, minimum=1)
    paths, seed, threads, blowup = check_run_options(paths, seed, threads, blowup)
    d = landscape.d
    x0 = initial_point(x0, d)
    saves = save_grid(steps, save_every, save_at)
    agents = optimizer.agents
    # pack every parameter (this validates shapes against d and agents) before compiling
    shape = Shape(d, agents, steps)
    lp = landscape.pack(shape)
    npar = noise.pack(shape)
    cp = optimizer.compressor.pack(shape)
    op = optimizer.pack(shape)
    sp = optimizer.schedule.pack(shape)
    (_, server), (_, comp_state), total = optimizer.layout(d)
    noise_state = noise.state(shape)
    if noise_state.per != "agent" and noise_state.size:
        raise ValueError("noise: a noise model's state must be per agent")
    layout = np.array([server.size, comp_state.size if comp_state.per == "agent" else 0, noise_state.size],
                      dtype=np.int64)
    if comp_state.per != "agent" and comp_state.size:
        raise ValueError("optimizer: a compressor's state must be per agent")
    state_size = total + agents * noise_state.size

    run_chunk = get_kernel(landscape, optimizer, noise)

    def call(rng, cl, cg, cx, cd):
        run_chunk(rng, x0, steps, saves, agents, optimizer.lr, landscape.f_star, blowup, lp, npar, cp, op, sp,
                  private_empty((5, d)), private_empty(state_size), layout, _arange(d), cl, cg, cx, cd,
                  record_iterates)

    loss, gn, xs, div = run_paths(call, n_save=saves.size, paths=paths, d=d, seed=seed, threads=threads,
                                  record_iterates=record_iterates)
    config = {"landscape": landscape, "optimizer": optimizer, "noise": noise, "x0": x0, "steps": steps,
              "lr": optimizer.lr}
    return Run(t=TimeGrid(optimizer.lr).times(saves), step=saves, loss=loss, grad_norm=gn, diverged_at=div, seed=seed,
               config=config, iterates=xs, engine="discrete")
