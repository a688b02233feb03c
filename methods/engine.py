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

import threading

import numpy as np

from . import _checks
from . import compressors as _compressors
from . import landscapes as _landscapes
from . import noise as _noise
from . import optimizers as _optimizers
from .component import Shape
from .core import check_run_options, chunk_kernel, initial_point, run_model, save_grid
from .parallel import private_empty
from .run import Run
from .timegrid import TimeGrid
from ._jit import inline_kernel

_KERNELS: dict = {}
_KERNELS_LOCK = threading.Lock()


def _blocks_init(block_init, placeholder):
    """``init_blocks(state, offset, size, agents, p)``: each agent's block of ``size`` floats from
    ``offset`` set by ``block_init(block, p)``, or zeroed when ``block_init`` is ``None``
    (``placeholder`` is a compiled function of the same signature, never called then)."""
    zero = block_init is None
    fn = placeholder if zero else block_init

    @inline_kernel
    def init_blocks(state, offset, size, agents, p):
        for a in range(agents):
            b = state[offset + a * size:offset + (a + 1) * size]
            if zero:
                for j in range(size):
                    b[j] = 0.0
            else:
                fn(b, p)

    return init_blocks


def observe_model(value_grad):
    """``observe(m)`` of the discrete models (``discrete_model``, ``methods.federated.local_model``):
    ``grad f(x)`` into ``g`` and ``f(x) - f_star`` returned, over the chunk tuple of ``_buffers``
    (``value_grad`` from ``landscapes.value_and_grad``)."""

    @inline_kernel
    def observe(m):
        x, g, gi, ti, v, x0, state, server, comp0, noise0, layout, iwork, lp, npar, cp, op, sp, agents, lr, f_star = m
        return value_grad(x, lp, g) - f_star

    return observe


def discrete_model(value_grad, grad, sample, compress, factor, update, init, comp_init, noise_init, fused, needs_gn2,
                   skip_grad=False, hetero=False, agent_grad=None):
    """The discrete method as a model of the Monte Carlo core (``methods.core``): ``(start,
    advance, observe)`` over the chunk tuple ``m`` of ``_buffers``. ``fused``: one agent,
    identity compressor (the oracle output is the direction, no copy). ``needs_gn2``: the noise
    reads ||grad f||^2. ``comp_init`` / ``noise_init``: the per-agent state inits (``None``: zeros).
    ``skip_grad``: neither the oracle nor the schedule reads the exact gradient (a minibatch oracle
    under a built-in schedule other than ``GradNormalized``): it is computed only at save points.
    ``hetero``: agents with their own objectives (``landscapes.PerAgent``): agent ``a``'s oracle sees
    its own gradient ``agent_grad(x, lp, a, out) = grad f_a(x)`` (and its ``||.||^2``) instead of ``g``.

    The path's flat state holds the server's block, then each agent's compressor block, then each
    agent's noise block (``layout`` = their sizes); every component sees only its own block."""
    init_comp_blocks = _blocks_init(comp_init, init)
    init_noise_blocks = _blocks_init(noise_init, init)
    agent_grad = _landscapes._no_agent_grad if agent_grad is None else agent_grad

    @inline_kernel
    def start(m):
        x, g, gi, ti, v, x0, state, server, comp0, noise0, layout, iwork, lp, npar, cp, op, sp, agents, lr, f_star = m
        for j in range(x.shape[0]):
            x[j] = x0[j]
        init(server, op)
        ss = layout[0]
        cs = layout[1]
        ns = layout[2]
        init_comp_blocks(state, ss, cs, agents, cp)
        init_noise_blocks(state, ss + agents * cs, ns, agents, npar)

    @inline_kernel
    def advance(rng, k, observed, m):
        x, g, gi, ti, v, x0, state, server, comp0, noise0, layout, iwork, lp, npar, cp, op, sp, agents, lr, f_star = m
        d = x.shape[0]
        if not observed and not skip_grad:
            grad(x, lp, g)
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
            ss = layout[0]
            cs = layout[1]
            ns = layout[2]
            no = ss + agents * cs
            for j in range(d):
                v[j] = 0.0
            for a in range(agents):
                if hetero:  # agent a's own gradient grad f_a(x), in ti until compress
                    agent_grad(x, lp, a, ti)
                    gn2a = 0.0
                    if needs_gn2:
                        for j in range(d):
                            gn2a += ti[j] * ti[j]
                    sample(rng, x, ti, gn2a, lp, npar, a, state[no + a * ns:no + (a + 1) * ns], gi)
                else:
                    sample(rng, x, g, gn2, lp, npar, a, state[no + a * ns:no + (a + 1) * ns], gi)
                compress(rng, gi, cp, a, state[ss + a * cs:ss + (a + 1) * cs], iwork, ti)
                for j in range(d):
                    v[j] += ti[j]
            inv_agents = 1.0 / agents
            for j in range(d):
                v[j] *= inv_agents
        lr_k = lr * factor(k, g, v, sp)
        update(x, v, server, k, lr_k, op)

    return start, advance, observe_model(value_grad)


def _schedule_ignores_grad(schedule) -> bool:
    """Whether a schedule's factor never reads the exact gradient (the built-in ones but
    ``GradNormalized``; a user's ``Custom`` schedule may read it)."""
    from . import schedules as S

    if isinstance(schedule, (S.GradNormalized, S.Custom)):
        return False
    return all(_schedule_ignores_grad(c) for c in schedule.children())


def get_kernel(landscape, optimizer, noise):
    """The compiled chunk kernel for this combination (built on first use, then cached). The
    memo key is made of the components' keys (their compiled functions, never class names)."""
    comp = optimizer.compressor
    fused = optimizer.agents == 1 and isinstance(comp, _compressors.Identity)
    needs_gn2 = noise.uses_grad_norm
    skip_grad = (not getattr(noise, "needs_full_grad", True) and not needs_gn2
                 and _schedule_ignores_grad(optimizer.schedule))
    hetero = isinstance(landscape, _landscapes.PerAgent)
    if hetero and optimizer.agents > 1 and _schedule_ignores_grad(optimizer.schedule):
        skip_grad = True  # every agent evaluates its own gradient: grad F(x) (N gradients) only at save points
    local = getattr(optimizer, "local", False)
    key = (landscape.key(), noise.key(), comp.key(), optimizer.rule_key(), optimizer.schedule.key(), fused,
           needs_gn2, skip_grad) + ((hetero, local) if hetero or local else ())
    with _KERNELS_LOCK:
        if key not in _KERNELS:
            lk = landscape.kernels
            ok = optimizer.kernels
            vg = _landscapes.value_and_grad(lk)
            if local:  # local steps (methods.federated): another model of the core
                from .federated import local_model, point_grad_kernel

                pg = (point_grad_kernel(lk.grad, landscape.agent_coord_grad, landscape.agent_params) if hetero
                      else point_grad_kernel(lk.grad, lk.coord_grad))
                model = local_model(vg, lk.grad, noise.kernels.sample, optimizer.schedule.kernels.factor,
                                    ok.update, ok.init, noise.kernels.init, _blocks_init, needs_gn2, pg)
            else:
                model = discrete_model(
                    vg, lk.grad, noise.kernels.sample, comp.kernels.compress, optimizer.schedule.kernels.factor,
                    ok.update, ok.init, comp.kernels.init, noise.kernels.init, fused, needs_gn2, skip_grad, hetero,
                    landscape.agent_grad if hetero else None)
            _KERNELS[key] = chunk_kernel(*model)
        return _KERNELS[key]


def _buffers(d, x0, total_state, layout, agents, lr, f_star, lp, npar, cp, op, sp):
    """One chunk's model tuple: private buffers (their own cache lines) and the parameters."""
    scratch = private_empty((5, d))  # x, grad f(x), one agent's oracle output, its compressed form, the direction
    state = private_empty(total_state)
    ss, cs, ns = (int(v) for v in layout)
    no = ss + agents * cs
    iwork = private_empty(d, np.int64)
    iwork[:] = np.arange(d)  # a permutation of 0..d-1, as the compressors need on entry
    return (scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], x0, state, state[:ss], state[ss:ss + cs],
            state[no:no + ns], layout, iwork, lp, npar, cp, op, sp, int(agents), float(lr), float(f_star))


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
    if getattr(noise, "check_landscape", None) is not None:  # an oracle that indexes the landscape's data
        noise.check_landscape(landscape)
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
    layout = np.array([server.total(agents), comp_state.size if comp_state.per == "agent" else 0, noise_state.size],
                      dtype=np.int64)
    if comp_state.per != "agent" and comp_state.size:
        raise ValueError("optimizer: a compressor's state must be per agent")
    if server.per == "agent" and server.size and not getattr(optimizer, "local", False):
        raise ValueError("optimizer: a per-agent server state needs local steps (methods.federated.LocalSGD)")
    state_size = total + agents * noise_state.size

    run_chunk = get_kernel(landscape, optimizer, noise)
    loss, gn, xs, div = run_model(
        run_chunk, lambda: _buffers(d, x0, state_size, layout, agents, optimizer.lr, landscape.f_star, lp, npar, cp,
                                    op, sp),
        saves=saves, paths=paths, d=d, seed=seed, threads=threads, blowup=blowup, record_iterates=record_iterates)
    config = {"landscape": landscape, "optimizer": optimizer, "noise": noise, "x0": x0, "steps": steps,
              "lr": optimizer.lr}
    return Run(t=TimeGrid(optimizer.lr).times(saves), step=saves, loss=loss, grad_norm=gn, diverged_at=div, seed=seed,
               config=config, iterates=xs, engine="discrete")
