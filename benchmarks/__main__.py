"""Benchmarks: ``python -m benchmarks [--quick] [--json PATH] [--markdown PATH]``.

Every row of a case is timed in the same run (machines are shared and noisy, so only the
ratios inside one run mean something). The unit is ns per scalar update:
wall time / (paths * steps * d). Each timing is the best of ``--repeat`` rounds after a
warm-up call (compilation is excluded here); the rounds interleave the rows.

Rows:
* ``sde-workbench``: ``methods.simulate`` / ``sde.integrate`` on all threads. Where the peers
  return only the final state (``em-ou``, ``adam-peers``: diffrax, torchsde, torch, JAX) so does
  the engine (``save_at=[steps]``: loss and gradient norm at the start and the end); elsewhere
  it keeps the default grid of 101 save points, as the NumPy loop records losses;
* ``sde-workbench-saves101`` (``em-ou``, ``adam-peers``): the engine with the default grid of
  101 save points (a loss and a gradient norm per path at each), what the saves cost;
* ``sde-workbench-1thread``: the ``sde-workbench`` row on one thread;
* ``rng-floor``: a compiled kernel that only draws the same Gaussian numbers, with the same
  generator (``methods.rng``), vector length, chunking and threads (the cost no Gaussian
  Monte Carlo can go below); ratios ``x RNG floor`` are against this row;
* ``rng-floor-numpy-pcg64``: the same draws from numba's ``numpy.random.Generator(PCG64)``
  (the generator the engine used before ``methods.rng``; context only);
* ``numpy``: a plain vectorised NumPy loop over steps (arrays of paths x d, one thread);
* ``sweep``: ``methods.sweep`` over 16 points of about 0.5 s, threads and dask processes, 1 and
  2 workers (``benchmarks/sweep_case.py``);
* ``hand-fused`` (``em-ou``, ``adam-peers``): the one problem written as a single loop by hand,
  same generator, chunks and threads, no save points: what a kernel specialised to this exact
  problem reaches, i.e. how much of the engine's distance to the floor is generality;
* ``torch-vmap`` (``mlp-minibatch``): the same MLP and minibatch SGD run in PyTorch, the paths'
  parameters stacked and ``torch.func.vmap(torch.func.grad(loss))`` over them, same threads;
* ``sde-workbench-sde`` (``sde-minibatch``): the minibatch-covariance SDE beside the discrete method.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import time

import numpy as np

from methods import compressors as C, landscapes as L, noise as N, optimizers as O, simulate
from methods import rng as _rng
from methods._jit import inline_kernel, kernel, kernel_without_nrt
from methods.noise import _cms
from methods.parallel import default_threads, run_chunks

from .machine_scaling import case_machine_scaling
from .sweep_case import case_sweep


@kernel
def _gauss_floor(rng, n, d):
    z = np.empty(d)
    for _ in range(n):
        _rng.fill_normal(rng, z)


@kernel
def _pcg64_floor(gen, n, d):
    z = np.empty(d)
    for _ in range(n):
        for j in range(d):
            z[j] = gen.standard_normal()


def rng_floor(paths, steps, d, seed=0, threads=None):
    """Draw ``paths * steps`` vectors of ``d`` normals with the engine's chunked generators."""
    run_chunks(lambda rng, lo, hi: _gauss_floor(rng, (hi - lo) * steps, d), paths, seed, threads)


def pcg64_floor(paths, steps, d, seed=0, threads=None):
    """The same draws from numba's ``numpy.random.Generator(PCG64)``, same chunks and threads."""
    def work(state, lo, hi):
        gen = np.random.Generator(np.random.PCG64(int(state[0])))
        _pcg64_floor(gen, (hi - lo) * steps, d)

    run_chunks(work, paths, seed, threads)


@kernel
def _ou_fused(rng, n, steps, A, dt, sq):
    d = A.shape[0]
    y = np.empty(d)
    z = np.empty(d)
    for _ in range(n):
        y[:] = 1.0
        for _ in range(steps):
            _rng.fill_normal(rng, z)
            for j in range(d):
                y[j] += -A[j] * y[j] * dt + sq * z[j]


@kernel
def _adam_fused(rng, n, steps, A, sigma, lr, b1, b2, eps, bias):
    # the engine's arithmetic (bias corrections from a per-run table, one division per coordinate)
    d = A.shape[0]
    x = np.empty(d)
    m = np.empty(d)
    v = np.empty(d)
    z = np.empty(d)
    for _ in range(n):
        x[:] = 1.0
        m[:] = 0.0
        v[:] = 0.0
        for k in range(steps):
            _rng.fill_normal(rng, z)
            step_size = lr / bias[2 * k]
            inv_bc2_sqrt = 1.0 / bias[2 * k + 1]
            for j in range(d):
                g = A[j] * x[j] + sigma * z[j]
                m[j] += (1.0 - b1) * (g - m[j])
                v[j] = v[j] * b2 + (1.0 - b2) * g * g
                x[j] += (-step_size) * (m[j] / (np.sqrt(v[j]) * inv_bc2_sqrt + eps))


def hand_fused_ou(A, s, dt, steps, paths):
    sq = s * np.sqrt(dt)
    run_chunks(lambda rng, lo, hi: _ou_fused(rng, hi - lo, steps, A, dt, sq), paths, 0, None)


def hand_fused_adam(A, sigma, lr, steps, paths):
    bias = O._adam_bias_table(0.9, 0.999, steps)
    run_chunks(lambda rng, lo, hi: _adam_fused(rng, hi - lo, steps, A, sigma, lr, 0.9, 0.999, 1e-8, bias), paths, 0, None)


def floor_rows(paths, steps, d):
    return {"rng-floor": lambda: rng_floor(paths, steps, d),
            "rng-floor-numpy-pcg64": lambda: pcg64_floor(paths, steps, d)}


def numpy_sgd(lam, sigma, lr, x0, paths, steps, seed=0):
    rng = np.random.default_rng(seed)
    x = np.tile(x0, (paths, 1))
    z = np.empty_like(x)
    losses = []
    for k in range(steps):
        rng.standard_normal(out=z)
        x -= lr * (lam * x + sigma * z)
        if k % 5 == 0:
            losses.append(0.5 * (lam * x * x).sum(1))
    return x


def numpy_adam(lam, sigma, lr, x0, paths, steps, seed=0, b1=0.9, b2=0.999, eps=1e-8):
    rng = np.random.default_rng(seed)
    x = np.tile(x0, (paths, 1))
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    for k in range(1, steps + 1):
        g = lam * x + sigma * rng.standard_normal(x.shape)
        m += (1 - b1) * (g - m)
        v = b2 * v + (1 - b2) * g * g
        x -= (lr / (1 - b1**k)) * m / (np.sqrt(v) / np.sqrt(1 - b2**k) + eps)
    return x


def numpy_sgdm(lam, sigma, lr, x0, paths, steps, seed=0, mu=0.9):
    """torch.optim.SGD(momentum=mu) over paths: b_1 = g_0, then b = mu b + g; x -= lr b."""
    rng = np.random.default_rng(seed)
    x = np.tile(x0, (paths, 1))
    b = None
    for k in range(steps):
        g = lam * x + sigma * rng.standard_normal(x.shape)
        b = g if b is None else mu * b + g
        x -= lr * b
    return x


def best_times(fns: dict, repeat: int) -> dict:
    """Best wall time of each callable; rounds interleave the rows so that every row sees
    the same machine conditions (the machines are shared)."""
    for fn in fns.values():
        fn()  # warm-up: compilation and caches
    best = {k: np.inf for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            best[k] = min(best[k], time.perf_counter() - t0)
    return best


def case_quadratic(name, make_opt, numpy_loop, d, paths, steps, repeat):
    lam = np.linspace(1.0, 4.0, d)
    f = L.DiagonalQuadratic(lam)
    nz = N.Gaussian(1.0)
    opt = make_opt()
    x0 = np.ones(d)
    rows = {
        "sde-workbench": lambda: simulate(f, opt, nz, x0=x0, steps=steps, paths=paths, seed=0),
        "sde-workbench-1thread": lambda: simulate(f, opt, nz, x0=x0, steps=steps, paths=paths, seed=0, threads=1),
        **floor_rows(paths, steps, d),
        "numpy": lambda: numpy_loop(lam, 1.0, opt.lr, x0, paths, steps),
    }
    return _table(name, rows, paths, steps, d, repeat)


def case_sgdm(a):
    """SGD with momentum (torch form, mu = 0.9) beside plain SGD in the same run: quadratic, Gaussian noise, d = 32."""
    d, paths, steps = 32, a.paths, a.steps
    lam = np.linspace(1.0, 4.0, d)
    f, nz, x0 = L.DiagonalQuadratic(lam), N.Gaussian(1.0), np.ones(d)
    sgdm, sgd = O.SGDM(lr=0.01, momentum=0.9), O.SGD(lr=0.01)
    rows = {
        "sde-workbench": lambda: simulate(f, sgdm, nz, x0=x0, steps=steps, paths=paths, seed=0),
        "sde-workbench-sgd": lambda: simulate(f, sgd, nz, x0=x0, steps=steps, paths=paths, seed=0),
        **floor_rows(paths, steps, d),
        "numpy": lambda: numpy_sgdm(lam, 1.0, sgdm.lr, x0, paths, steps),
    }
    return _table("sgdm-gauss-quadratic", rows, paths, steps, d, a.repeat)


def _table(name, rows, paths, steps, d, repeat, skipped=()):
    n = paths * steps * d
    out = []
    for impl, t in best_times(rows, repeat).items():
        out.append({"case": name, "impl": impl, "ns_per_update": t / n * 1e9, "seconds": t,
                    "d": d, "paths": paths, "steps": steps})
    floor = next(r["ns_per_update"] for r in out if r["impl"] == "rng-floor")
    ours = next(r["ns_per_update"] for r in out if r["impl"] == "sde-workbench")
    for r in out:
        r["x_rng_floor"] = r["ns_per_update"] / floor
        r["x_engine"] = r["ns_per_update"] / ours
    for impl in skipped:
        out.append({"case": name, "impl": impl, "ns_per_update": None, "skipped": "skipped: not installed (pip install '.[bench]')"})
    return out


# ------------------------------------------------------------------ EM: OU-type SDE
def _diffrax_em(A, s, dt, steps, paths):
    """diffrax Euler over an UnsafeBrownianPath, vmapped over paths; returns a timed callable or None."""
    try:
        import jax
        import jax.numpy as jnp
        import diffrax
        import lineax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    A_j = jnp.asarray(A)
    d = A.size
    sdiag = lineax.DiagonalLinearOperator(jnp.full(d, s))
    t1 = steps * dt

    def one(key):
        bm = diffrax.UnsafeBrownianPath(shape=(d,), key=key)
        terms = diffrax.MultiTerm(diffrax.ODETerm(lambda t, y, a: -A_j * y),
                                  diffrax.ControlTerm(lambda t, y, a: sdiag, bm))
        sol = diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, t1, dt0=dt, y0=jnp.ones(d),
                                  saveat=diffrax.SaveAt(t1=True), max_steps=steps + 1,
                                  adjoint=diffrax.ForwardMode())
        return sol.ys[-1]

    keys = jax.random.split(jax.random.PRNGKey(0), paths)
    f = jax.jit(jax.vmap(one))
    return lambda: f(keys).block_until_ready()


def _torchsde_em(A, s, dt, steps, paths):
    try:
        import torch
        import torchsde
    except ImportError:
        return None
    torch.set_default_dtype(torch.float64)
    At = torch.as_tensor(A)

    class OU(torch.nn.Module):
        noise_type = "diagonal"
        sde_type = "ito"

        def f(self, t, y):
            return -At * y

        def g(self, t, y):
            return torch.full_like(y, s)

    sde_ = OU()
    y0 = torch.ones(paths, A.size)
    ts = torch.tensor([0.0, steps * dt])

    def run():
        with torch.no_grad():
            torchsde.sdeint(sde_, y0, ts, method="euler", dt=dt)

    return run


def numpy_em(A, s, dt, steps, paths, seed=0):
    rng = np.random.default_rng(seed)
    x = np.ones((paths, A.size))
    z = np.empty_like(x)
    sq = s * np.sqrt(dt)
    for _ in range(steps):
        rng.standard_normal(out=z)
        x += -A * x * dt + sq * z
    return x


def case_em_ou(a):
    """OU-type SDE dX = -A X dt + s dW (d = 32): this engine (the classic SGD SDE on a diagonal
    quadratic, whose diffusion is additive), the RNG floor, NumPy, diffrax and torchsde."""
    import sde

    d, paths, steps = 32, a.paths, a.steps
    A = np.linspace(1.0, 4.0, d)
    lr, sigma = 0.01, 5.0  # SGD SDE: diffusion sqrt(lr) * sigma = 0.5
    s = np.sqrt(lr) * sigma
    m = sde.model(O.SGD(lr=lr), L.DiagonalQuadratic(A), N.Gaussian(sigma))
    end = np.array([steps])  # like the peers: the final state only
    rows = {
        "sde-workbench": lambda: sde.integrate(m, x0=1.0, t_end=steps * lr, paths=paths, seed=0, save_at=end),
        "sde-workbench-saves101": lambda: sde.integrate(m, x0=1.0, t_end=steps * lr, paths=paths, seed=0),
        "sde-workbench-1thread": lambda: sde.integrate(m, x0=1.0, t_end=steps * lr, paths=paths, seed=0, save_at=end,
                                                       threads=1),
        **floor_rows(paths, steps, d),
        "numpy": lambda: numpy_em(A, s, lr, steps, paths),
        "hand-fused": lambda: hand_fused_ou(A, s, lr, steps, paths),
    }
    skipped = []
    for name, make in (("diffrax", _diffrax_em), ("torchsde", _torchsde_em)):
        fn = make(A, s, lr, steps, paths)
        if fn is None:
            skipped.append(name)
        else:
            rows[name] = fn
    return _table("em-ou", rows, paths, steps, d, a.repeat, skipped)


# ------------------------------------------------------------------ more cases (issue: benchmarks)
def _torch_adam(lr, d, paths, steps, A, sigma):
    try:
        import torch
    except ImportError:
        return None
    torch.set_default_dtype(torch.float64)
    At = torch.as_tensor(A)

    def run():
        x = torch.ones(paths, d, requires_grad=False)
        p = torch.nn.Parameter(x)
        opt = torch.optim.Adam([p], lr=lr)
        gen = torch.Generator().manual_seed(0)
        for _ in range(steps):
            p.grad = At * p.detach() + sigma * torch.randn(paths, d, generator=gen)
            opt.step()

    return run


def _jax_adam(lr, d, paths, steps, A, sigma):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    A_j = jnp.asarray(A)
    b1, b2, eps = 0.9, 0.999, 1e-8

    def body(carry, k):
        x, m, v, key = carry
        key, sub = jax.random.split(key)
        g = A_j * x + sigma * jax.random.normal(sub, x.shape)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        t = k + 1.0
        x = x - lr * (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + eps)
        return (x, m, v, key), None

    @jax.jit
    def run(key):
        z = jnp.zeros((paths, d))
        (x, *_), _ = jax.lax.scan(body, (jnp.ones((paths, d)), z, z, key), jnp.arange(steps, dtype=jnp.float64))
        return x

    key = jax.random.PRNGKey(0)
    return lambda: run(key).block_until_ready()


def case_adam_peers(a):
    """Adam discrete Monte Carlo (quadratic, Gaussian noise) against torch.optim.Adam batched over
    paths and a hand-written JAX lax.scan loop; the Adam SDE on the same problem."""
    import sde

    d, paths, steps = 32, a.paths, a.steps
    A = np.linspace(1.0, 4.0, d)
    f, nz, opt = L.DiagonalQuadratic(A), N.Gaussian(1.0), O.Adam(lr=0.01)
    m = sde.model(opt, f, nz)
    end = np.array([steps])  # like the peers: the final state only
    rows = {
        "sde-workbench": lambda: simulate(f, opt, nz, x0=1.0, steps=steps, paths=paths, seed=0, save_at=end),
        "sde-workbench-saves101": lambda: simulate(f, opt, nz, x0=1.0, steps=steps, paths=paths, seed=0),
        "sde-workbench-sde": lambda: sde.integrate(m, x0=1.0, t_end=steps * 0.01, paths=paths, seed=0, save_at=end),
        "rng-floor": lambda: rng_floor(paths, steps, d),
        "hand-fused": lambda: hand_fused_adam(A, 1.0, 0.01, steps, paths),
    }
    skipped = []
    for name, make in (("torch.optim.Adam", _torch_adam), ("jax-lax-scan", _jax_adam)):
        fn = make(0.01, d, paths, steps, A, 1.0)
        if fn is None:
            skipped.append(name)
        else:
            rows[name] = fn
    return _table("adam-peers", rows, paths, steps, d, a.repeat, skipped)


def numpy_sign_em(A, sig, lr, steps, paths, seed=0):
    from scipy.special import erf

    rng = np.random.default_rng(seed)
    x = np.ones((paths, A.size))
    sq = np.sqrt(lr)
    for _ in range(steps):
        m = erf(A * x / (np.sqrt(2) * sig))
        x += -m * lr + sq * np.sqrt(np.maximum(1 - m * m, 0)) * sq * rng.standard_normal(x.shape)
    return x


def case_sign_sde(a):
    """SignSGD SDE (Erf drift, sqrt(1 - erf^2) diffusion) on a quadratic. Context rows: the same SDE
    and the discrete method under Student-t(2.5) noise (a non-integer nu: the per-nu table of
    ``sde.special.sign_mean_t_table_for``; issue 16 asks the SDE within 2x of its discrete method)."""
    import sde

    d, paths, steps = 32, a.paths, a.steps
    A = np.linspace(1.0, 4.0, d)
    f = L.DiagonalQuadratic(A)
    m = sde.model(O.SignSGD(lr=0.01), f, N.Gaussian(1.0))
    m_t = sde.model(O.SignSGD(lr=0.01), f, N.StudentT(2.5, 1.0))
    rows = {
        "sde-workbench": lambda: sde.integrate(m, x0=1.0, t_end=steps * 0.01, paths=paths, seed=0),
        "rng-floor": lambda: rng_floor(paths, steps, d),
        "numpy": lambda: numpy_sign_em(A, 1.0, 0.01, steps, paths),
        "sde-workbench-t2.5": lambda: sde.integrate(m_t, x0=1.0, t_end=steps * 0.01, paths=paths, seed=0),
        "discrete-t2.5": lambda: simulate(f, O.SignSGD(lr=0.01), N.StudentT(2.5, 1.0), x0=1.0, steps=steps,
                                          paths=paths, seed=0),
    }
    return _table("sign-sde-erf", rows, paths, steps, d, a.repeat)


def _draw_loop(draw):
    """``loop(rng, n, a, z)``: ``n`` fills of ``z`` by ``draw(st, a) -> (x, st)`` with the state in
    registers, compiled without reference counting as the engines' kernels are (an array handed
    to an inlined loop is otherwise reference-counted on every draw)."""
    def loop(rng, n, a, z):
        st = (rng[0], rng[1], rng[2], rng[3])
        for _ in range(n):
            for j in range(z.shape[0]):
                x, st = draw(st, a)
                z[j] = x
        rng[0], rng[1], rng[2], rng[3] = st

    return (kernel_without_nrt or kernel)(loop)


@inline_kernel
def _normal_draw(st, a):
    return _rng.normal_t(st)


@inline_kernel
def _gamma_t_draw(st, nu):
    """The Student-t sampler before the ziggurat (stop 23): ``N / sqrt(2 G(nu/2) / nu)``, ``N1 / N2`` for ``nu = 1``."""
    z, st = _rng.normal_t(st)
    if nu == 1.0:
        while True:
            w, st = _rng.normal_t(st)
            if w != 0.0:
                return z / w, st
    g, st = _rng.gamma_t(st, 0.5 * nu)
    return z / math.sqrt(2.0 * g / nu), st


def _stable_loop(rng, n, alpha, z):
    for _ in range(n):  # noise._cms reads and writes the state array, as the noise kernel does
        for j in range(z.shape[0]):
            z[j] = _cms(rng, alpha)


_NORMAL_LOOP = _draw_loop(_normal_draw)
_T_LOOP = _draw_loop(_rng.student_t_t)
_GAMMA_T_LOOP = _draw_loop(_gamma_t_draw)
_STABLE_LOOP = (kernel_without_nrt or kernel)(_stable_loop)


def _t_floor(rng, n, T, d):
    _T_LOOP(rng, n, T, np.empty(d))


def case_samplers(a):
    """Cost of one draw of each heavy-tailed law against a standard normal (``x RNG floor``), the
    engines' way (state in registers, no reference counting): the Student-t ziggurat at several
    ``nu`` (``sde-workbench`` is t(3)), the sampler it replaced (normal over the square root of a
    gamma; the ratio of normals for Cauchy) and symmetric alpha-stable (Chambers-Mallows-Stuck).
    Per draw of ``paths * steps * 32`` draws on the engines' chunked generators."""
    d, paths, steps = 32, a.paths, a.steps

    def on_chunks(loop, arg):
        run_chunks(lambda rng, lo, hi: loop(rng, (hi - lo) * steps, arg, np.empty(d)), paths, 0, None)

    rows = {"rng-floor": lambda: on_chunks(_NORMAL_LOOP, 0.0),
            "sde-workbench": lambda: on_chunks(_T_LOOP, _rng.student_t_table(3.0))}
    for nu in (1.0, 0.5, 2.5, 30.0):
        rows[f"student-t nu={nu:g}"] = lambda T=_rng.student_t_table(nu): on_chunks(_T_LOOP, T)
    for nu in (3.0, 1.0):
        rows[f"before: gamma-ratio nu={nu:g}"] = lambda nu=nu: on_chunks(_GAMMA_T_LOOP, nu)
    rows["alpha-stable alpha=1.5"] = lambda: on_chunks(_STABLE_LOOP, 1.5)
    return _table("samplers", rows, paths, steps, d, a.repeat)


def case_dcsgd_heavy(a):
    """DCSGD, rand-1 of d = 32, 8 agents, Student-t(3) noise: per scalar update of x (each
    update costs 8 agents' noise draws); the floor draws the same t variates."""
    d, paths, steps, agents = 32, a.paths, a.steps, 8
    f = L.DiagonalQuadratic(np.linspace(1.0, 4.0, d))
    opt = O.DCSGD(lr=0.01, agents=agents, compressor=C.RandK(1))
    nz = N.StudentT(3.0, 1.0)
    def floor():
        run_chunks(lambda rng, lo, hi: _t_floor(rng, (hi - lo) * steps * agents, _rng.student_t_table(3.0), d), paths, 0, None)

    rows = {"sde-workbench": lambda: simulate(f, opt, nz, x0=1.0, steps=steps, paths=paths, seed=0),
            "rng-floor": floor}
    return _table("dcsgd-randk-8agents-t3", rows, paths, steps, d, a.repeat)


def case_local_sgd(a):
    """LocalSGD (tau = 4 local steps, full participation), 8 heterogeneous agents (diagonal quadratics
    with their own curvatures and minimisers), Gaussian noise, d = 32: per scalar update of the
    agents' iterates counted as for DCSGD, per iteration and coordinate (each iteration costs
    8 agents' gradients and noise draws); the floor draws the same 8 normals per iteration and
    coordinate. ``sde-workbench-homogeneous``: the same on one shared quadratic."""
    d, paths, steps, agents = 32, a.paths, a.steps, 8
    rng = np.random.default_rng(0)
    lam = np.linspace(1.0, 4.0, d) * rng.uniform(0.5, 1.5, (agents, d))
    f = L.PerAgent.quadratics(lam, rng.normal(size=(agents, d)))
    f1 = L.DiagonalQuadratic(np.linspace(1.0, 4.0, d))
    opt = O.LocalSGD(lr=0.01, local_steps=4, agents=agents)
    nz = N.Gaussian(1.0)
    rows = {"sde-workbench": lambda: simulate(f, opt, nz, x0=1.0, steps=steps, paths=paths, seed=0),
            "sde-workbench-homogeneous": lambda: simulate(f1, opt, nz, x0=1.0, steps=steps, paths=paths, seed=0),
            "rng-floor": lambda: rng_floor(paths, steps * agents, d)}
    return _table("local-sgd-tau4-8agents", rows, paths, steps, d, a.repeat)


def case_ef21_topk(a):
    """EF21 with top-k (k = 4 of d = 32), 8 agents, Gaussian noise on a quadratic: per scalar update of x
    (each update costs 8 agents' noise draws and top-k selections); the floor draws the same Gaussians
    (8 per coordinate and step). Context rows: DCSGD with the same top-k (no memory), and EF21 around the
    identity (the memory's cost without the selection)."""
    d, paths, steps, agents = 32, a.paths, a.steps, 8
    f = L.DiagonalQuadratic(np.linspace(1.0, 4.0, d))
    nz = N.Gaussian(1.0)
    ef21 = O.EF21SGD(lr=0.01, agents=agents, compressor=C.TopK(4))
    topk = O.DCSGD(lr=0.01, agents=agents, compressor=C.TopK(4))
    ef21_id = O.EF21SGD(lr=0.01, agents=agents, compressor=C.Identity())
    rows = {"sde-workbench": lambda: simulate(f, ef21, nz, x0=1.0, steps=steps, paths=paths, seed=0),
            "sde-workbench-dcsgd-topk": lambda: simulate(f, topk, nz, x0=1.0, steps=steps, paths=paths, seed=0),
            "sde-workbench-ef21-identity": lambda: simulate(f, ef21_id, nz, x0=1.0, steps=steps, paths=paths, seed=0),
            "rng-floor": lambda: rng_floor(paths, steps * agents, d)}
    return _table("ef21-topk-8agents", rows, paths, steps, d, a.repeat)


def case_dcsgd_randk_sde(a):
    """DCSGD with rand-k (k = d/4), 4 agents, Gaussian noise on a quadratic: its SDE (the classic
    model, diffusion diagonal minus rank one) beside the discrete method, same run, at d in
    {8, 64, 512}; 256 paths, 200 steps (fixed, the sizes of the issue's table). ``x engine`` of
    the ``sde-workbench-sde`` row is the SDE's cost over the discrete method's."""
    import sde

    paths, steps, out = 256, 200, []
    for d in (8, 64, 512):
        f = L.DiagonalQuadratic(np.linspace(1.0, 4.0, d))
        opt = O.DCSGD(lr=0.01, agents=4, compressor=C.RandK(d // 4))
        nz = N.Gaussian(1.0)
        m = sde.model(opt, f, nz)
        rows = {"sde-workbench": lambda: simulate(f, opt, nz, x0=1.0, steps=steps, paths=paths, seed=0),
                "sde-workbench-sde": lambda: sde.integrate(m, x0=1.0, t_end=steps * opt.lr, paths=paths, seed=0),
                "rng-floor": lambda: rng_floor(paths, steps, d)}
        out += _table(f"dcsgd-randk-sde d={d}", rows, paths, steps, d, a.repeat)
    return out


def _sde_row_models(d):
    """The ``sde-rows`` pairs at dimension ``d``: (method, SDE kind, discrete optimizer)."""
    return [("SGD", "classic", O.SGD(lr=0.01)),
            ("SGD", "corrected", O.SGD(lr=0.01)),
            ("DCSGD rand-k", "classic", O.DCSGD(lr=0.01, agents=4, compressor=C.RandK(max(1, d // 4)))),
            ("DCSGD Bernoulli", "classic", O.DCSGD(lr=0.01, agents=4, compressor=C.Bernoulli(p=0.5))),
            ("SignSGD", "classic", O.SignSGD(lr=0.01)),
            ("DSignSGD", "classic", O.DSignSGD(lr=0.01, agents=4)),
            ("Adam", "classic", O.Adam(lr=0.01)),
            ("RMSprop", "classic", O.RMSprop(lr=0.01, alpha=0.9))]


SDE_ROW_SIZES = {8: (2048, 1024), 64: (2048, 128), 512: (512, 64)}  # d: (paths, steps), 2^24 updates a call


def case_sde_rows(a):
    """Every SDE kind beside its discrete method, same run, at d in {8, 64, 512}: SGD classic and
    corrected, DCSGD (4 agents) with rand-k (k = d/4) and with Bernoulli (p = 1/2), SignSGD,
    DSignSGD (4 agents), Adam, RMSprop; quadratic, Gaussian noise, both engines with
    ``save_at=[steps]`` (the final state only). Fixed sizes, 2^24 scalar updates a call
    (``SDE_ROW_SIZES``). Each pair gives a ``discrete`` and an ``sde`` row; ``x engine`` of the
    ``sde`` row is the SDE's cost over its discrete method's (the pair's ratio)."""
    import sde

    out = []
    for d, (paths, steps) in SDE_ROW_SIZES.items():
        f = L.DiagonalQuadratic(np.linspace(1.0, 4.0, d))
        nz = N.Gaussian(1.0)
        end = np.array([steps])
        rows = {"rng-floor": lambda paths=paths, steps=steps, d=d: rng_floor(paths, steps, d)}
        pairs = []
        for label, kind, opt in _sde_row_models(d):
            m = sde.model(opt, f, nz, kind=kind)
            disc, cont = f"{label} discrete", f"{label} sde {kind}"
            if disc not in rows:
                rows[disc] = lambda opt=opt, paths=paths, steps=steps, end=end: simulate(
                    f, opt, nz, x0=1.0, steps=steps, paths=paths, seed=0, save_at=end)
            rows[cont] = lambda m=m, paths=paths, steps=steps, end=end: sde.integrate(
                m, x0=1.0, t_end=steps * m.time_per_step, paths=paths, seed=0, save_at=end)
            pairs.append((disc, cont))
        n = paths * steps * d
        ns = {k: t / n * 1e9 for k, t in best_times(rows, a.repeat).items()}
        ratio = {cont: ns[cont] / ns[disc] for disc, cont in pairs}
        for impl, v in ns.items():
            out.append({"case": f"sde-rows d={d}", "impl": impl, "ns_per_update": v, "seconds": v * n * 1e-9, "d": d,
                        "paths": paths, "steps": steps, "x_rng_floor": v / ns["rng-floor"],
                        "x_engine": ratio.get(impl, 1.0)})
    return out


CLIPPED_SDE_UPDATES = 2**20  # scalar updates a call (the Student-t SDE cost about 250 ns each on stdtr)


def case_clipped_sde(a):
    """Coordinate-clipped SGD (clip 1) and its SDE (``sde.clipped``: drift ``E clip_c(grad + Z)``,
    diffusion its variance, closed forms per coordinate) under Gaussian and Student-t(3) noise on a
    quadratic, the final state only, at d in {8, 64, 512}; ``x engine`` of an ``sde`` row is the
    SDE's cost over the discrete method's (issue 16 asks the clipped means within 2x). The moments
    run vectorised: ``sde.gauss_tails`` (Gaussian), the per-nu tables of ``sde.t_tails`` (Student-t)."""
    import sde
    from methods.clipping import CoordinateClippedSGD

    out = []
    for d in (8, 64, 512):
        f = L.DiagonalQuadratic(np.linspace(1.0, 4.0, d))
        paths = 256  # enough chunks for every thread at every d
        steps = max(8, CLIPPED_SDE_UPDATES // (paths * d))
        end = np.array([steps])
        opt = CoordinateClippedSGD(lr=0.01, clip=1.0)
        rows, pairs = {}, []
        for law, nz in (("gauss", N.Gaussian(1.0)), ("t3", N.StudentT(3.0, 1.0))):
            m = sde.model(opt, f, nz)
            disc, cont = f"clipped {law} discrete", f"clipped {law} sde"
            rows[disc] = lambda nz=nz, paths=paths, steps=steps, end=end: simulate(
                f, opt, nz, x0=1.0, steps=steps, paths=paths, seed=0, save_at=end)
            rows[cont] = lambda m=m, paths=paths, steps=steps, end=end: sde.integrate(
                m, x0=1.0, t_end=steps * m.time_per_step, paths=paths, seed=0, save_at=end)
            pairs.append((disc, cont))
        rows["rng-floor"] = lambda paths=paths, steps=steps, d=d: rng_floor(paths, steps, d)
        n = paths * steps * d
        ns = {k: t / n * 1e9 for k, t in best_times(rows, a.repeat).items()}
        ratio = {cont: ns[cont] / ns[disc] for disc, cont in pairs}
        for impl, v in ns.items():
            out.append({"case": f"clipped-sde d={d}", "impl": impl, "ns_per_update": v, "seconds": v * n * 1e-9,
                        "d": d, "paths": paths, "steps": steps, "x_rng_floor": v / ns["rng-floor"],
                        "x_engine": ratio.get(impl, 1.0)})
    return out


SDE_DIMS = (4, 8, 12, 16, 64, 512)
SDE_DIMS_UPDATES = 2**21  # scalar updates a call


def case_sde_dims(a):
    """How each SDE kind's cost per scalar update depends on d, on one thread (a per-core cost, which
    the ``sde-rows`` case at the default thread count is not): the kinds of ``sde-rows`` and the
    RNG floor at d in ``SDE_DIMS``, ``SDE_DIMS_UPDATES`` updates a call, the best of ``2 * repeat``
    interleaved rounds. ``x engine`` is a row's cost over the same kind's at d = 512; the summary row
    gives max/min over d = 8, 64, 512 (issue 16's flatness measure, target 1.5)."""
    import sde

    fns, sizes = {}, {}
    for d in SDE_DIMS:
        f = L.DiagonalQuadratic(np.linspace(1.0, 4.0, d))
        nz = N.Gaussian(1.0)
        paths = max(8, min(1024, SDE_DIMS_UPDATES // (64 * d)))
        steps = SDE_DIMS_UPDATES // (paths * d)
        end = np.array([steps])
        sizes[d] = (paths, steps)
        fns[("rng-floor", d)] = lambda paths=paths, steps=steps, d=d: rng_floor(paths, steps, d, threads=1)
        for label, kind, opt in _sde_row_models(d):
            m = sde.model(opt, f, nz, kind=kind)
            fns[(f"{label} sde {kind}", d)] = lambda m=m, paths=paths, steps=steps, end=end: sde.integrate(
                m, x0=1.0, t_end=steps * m.time_per_step, paths=paths, seed=0, save_at=end, threads=1)
    best = best_times(fns, 2 * a.repeat)
    ns = {key: t / (sizes[key[1]][0] * sizes[key[1]][1] * key[1]) * 1e9 for key, t in best.items()}
    out, flat = [], []
    for key, v in ns.items():
        impl, d = key
        paths, steps = sizes[d]
        out.append({"case": f"sde-dims d={d} (1 thread)", "impl": impl, "ns_per_update": v, "seconds": best[key],
                    "d": d, "paths": paths, "steps": steps, "x_rng_floor": v / ns[("rng-floor", d)],
                    "x_engine": v / ns[(impl, 512)]})
    for impl in dict.fromkeys(k for k, _ in ns):
        over = [ns[(impl, d)] for d in (8, 64, 512)]
        flat.append(f"{impl} {max(over) / min(over):.2f}")
    out.append({"case": "sde-dims", "impl": "summary", "ns_per_update": None,
                "skipped": "max/min cost over d = 8, 64, 512: " + "; ".join(flat)})
    return out


def case_scaling(a):
    """How time grows with paths, dimension and steps (SGD, Gaussian noise, quadratic)."""
    out = []
    grid = ([("paths", p, 32, 200) for p in (2**8, 2**10, 2**12, 2**14)]
            + [("d", a.paths, dd, 200) for dd in (1, 8, 64, 256, 1024)]
            + [("steps", a.paths, 32, st) for st in (100, 400, 1600)])
    for what, paths, d, steps in grid:
        f = L.DiagonalQuadratic(np.linspace(1.0, 4.0, d))
        fn = lambda: simulate(f, O.SGD(lr=0.01), N.Gaussian(1.0), x0=1.0, steps=steps, paths=paths, seed=0)
        t = best_times({"x": fn}, max(1, a.repeat // 2))["x"]
        value = {"paths": paths, "d": d, "steps": steps}[what]
        out.append({"case": f"scaling {what}={value}", "impl": "sde-workbench", "ns_per_update": t / (paths * steps * d) * 1e9,
                    "seconds": t, "d": d, "paths": paths, "steps": steps, "x_rng_floor": float("nan"),
                    "x_engine": 1.0})
    return out


_LATENCY = """
import time, numpy as np
t0 = time.perf_counter()
from methods import landscapes as L, noise as N, optimizers as O, compressors as C, simulate
t1 = time.perf_counter()
f = L.DiagonalQuadratic(np.ones(8))
simulate(f, O.DCSGD(lr=0.01, agents=2, compressor=C.RandK(2)), N.StudentT(3.0), x0=1.0, steps=10, paths=64, seed=0)
t2 = time.perf_counter()
simulate(f, O.DCSGD(lr=0.02, agents=3, compressor=C.RandK(3)), N.StudentT(4.0), x0=0.5, steps=10, paths=64, seed=1)
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def case_latency(a):
    """First-call latency in fresh processes sharing an empty on-disk kernel cache: import, the
    first call of a new combination (compiles and writes the cache), a second call with new
    parameter values (no recompilation); then the same script in a second process, whose
    first call loads the kernel from the cache."""
    import os
    import subprocess
    import sys
    import tempfile

    out = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SDE_WORKBENCH_NUMBA_CACHE=tmp)
        for label in ("fresh compile", "cached"):
            res = subprocess.run([sys.executable, "-c", _LATENCY], capture_output=True, text=True, check=True, env=env)
            imp, first, again = map(float, res.stdout.split())
            out.append({"case": f"latency ({label})", "impl": "sde-workbench", "ns_per_update": None,
                        "import_s": imp, "first_call_s": first, "new_parameters_s": again,
                        "skipped": f"import {imp:.2f} s; first call {first:.2f} s; new parameters {again:.3f} s"})
    return out


# ------------------------------------------------------------------ real data: the MLP and the minibatch SDE
MLP_SIZES = {"hidden": (32,), "batch": 32, "lr": 0.05, "paths": 128, "steps": 100}  # digits: n = 1347, m = 64, K = 10


def _mlp_digits():
    from methods import finite_sum as F

    return L.MLP.from_dataset(F.load("digits"), hidden=MLP_SIZES["hidden"], reg=1e-4)


def _torch_mlp_minibatch(f, x0, lr, batch, paths, steps, threads):
    """The same network and run in PyTorch: the paths' parameters stacked ``(paths, d)``, one step is
    ``theta -= lr * vmap(grad(loss))(theta, idx)`` with each path's own ``batch`` indices drawn with
    replacement (``torch.randint``), float64, ``torch.set_num_threads(threads)``; or ``None`` without torch."""
    try:
        import torch
        from torch.func import grad, vmap
    except ImportError:
        return None
    torch.set_num_threads(threads)
    X = torch.as_tensor(f.A_, dtype=torch.float64)
    Y = torch.as_tensor(f.y_, dtype=torch.float64).long()
    w, reg, n = f.widths, f.reg, f.n
    act = torch.tanh if f.activation == "tanh" else torch.relu

    def loss(theta, idx):
        a, off = X[idx], 0
        for l in range(1, len(w)):
            W = theta[off:off + w[l - 1] * w[l]].view(w[l - 1], w[l])
            off += w[l - 1] * w[l]
            a = a @ W + theta[off:off + w[l]]
            off += w[l]
            if l < len(w) - 1:
                a = act(a)
        return torch.nn.functional.cross_entropy(a, Y[idx]) + 0.5 * reg * (theta * theta).sum()

    g = vmap(grad(loss))
    theta0 = torch.as_tensor(x0, dtype=torch.float64).repeat(paths, 1)

    def run():
        gen = torch.Generator().manual_seed(0)
        th = theta0.clone()
        with torch.no_grad():
            for _ in range(steps):
                idx = torch.randint(n, (paths, batch), generator=gen)
                th -= lr * g(th, idx)
        return th

    return run


def case_mlp_minibatch(a):
    """Minibatch SGD on a 64-32-10 tanh MLP on digits (n = 1347 training rows, d = 2410, B = 32 drawn
    with replacement, lr = 0.05; ``MLP_SIZES``: 128 paths, 100 steps, fixed), the final state only
    (``save_at=[steps]``), against the same network and run in PyTorch batched over paths with
    ``torch.func.vmap`` (``_torch_mlp_minibatch``, same threads). ``sde-workbench-without-replacement``:
    the engine with batches drawn without replacement (partial Fisher-Yates; context). Unit: ns per
    scalar update of the d parameters; ``x engine`` of the torch row is torch's time over ours."""
    f = _mlp_digits()
    B, lr, paths, steps = MLP_SIZES["batch"], MLP_SIZES["lr"], MLP_SIZES["paths"], MLP_SIZES["steps"]
    x0 = f.init(0)
    opt = O.SGD(lr=lr)
    nz = N.Minibatch(f, batch=B, replacement=True)
    nz_wo = N.Minibatch(f, batch=B)
    end = np.array([steps])
    rows = {
        "sde-workbench": lambda: simulate(f, opt, nz, x0=x0, steps=steps, paths=paths, seed=0, save_at=end),
        "sde-workbench-without-replacement": lambda: simulate(f, opt, nz_wo, x0=x0, steps=steps, paths=paths, seed=0,
                                                              save_at=end),
        "sde-workbench-1thread": lambda: simulate(f, opt, nz, x0=x0, steps=steps, paths=paths, seed=0, save_at=end,
                                                  threads=1),
        "rng-floor": lambda: rng_floor(paths, steps, f.d),
    }
    skipped = []
    fn = _torch_mlp_minibatch(f, x0, lr, B, paths, steps, default_threads())
    if fn is None:
        skipped.append("torch-vmap")
    else:
        rows["torch-vmap"] = fn
    return _table("mlp-minibatch", rows, paths, steps, f.d, a.repeat, skipped)


SDE_MINIBATCH_SIZES = {"mlp-digits": (16, 100), "logistic-breast_cancer": (256, 500)}  # (paths, steps), fixed


def case_sde_minibatch(a):
    """The SDE with the minibatch covariance (classic kind, ``sde.integrate``, dt = lr) beside discrete
    minibatch SGD (``simulate``), same landscape, same run, both with ``save_at=[steps]``; B = 32 without
    replacement, the SDE's covariance factor from R = 4 B = 128 fixed rows (``Minibatch(sde_rows=128)``).
    Two landscapes: the 64-32-10 tanh MLP on digits (n = 1347, d = 2410, lr = 0.05; 16 paths, 100 steps)
    and logistic regression on breast cancer (n = 427, d = 30, lr = 0.1; 256 paths, 500 steps). One SDE
    step evaluates the exact drift grad f (n per-sample gradients) and the factor (R of them), a discrete
    step B of them: per step the SDE does ``(n + R) / B`` times the discrete method's gradient work (46
    for the MLP, 17 for the logistic regression; the ``per-sample-gradient ratio`` line), which bounds
    how close ``x engine`` of the ``sde-workbench-sde`` row (the SDE's time over the discrete method's)
    can come to 1. Both engines also evaluate f and ||grad f|| over all n samples at the two save
    points, which weighs on the discrete row (a few full passes against ``steps * B`` sample gradients)."""
    import sde
    from methods import finite_sum as F

    B, R = 32, 128
    out = []
    for label, (paths, steps) in SDE_MINIBATCH_SIZES.items():
        if label == "mlp-digits":
            f, lr = _mlp_digits(), 0.05
            x0 = f.init(0)
        else:
            f, lr = L.FiniteSumLogistic.from_dataset(F.load("breast_cancer"), reg=1e-2), 0.1
            x0 = np.zeros(f.d)
        nz = N.Minibatch(f, batch=B, sde_rows=R)
        opt = O.SGD(lr=lr)
        m = sde.model(opt, f, nz)
        end = np.array([steps])
        rows = {"sde-workbench": lambda f=f, opt=opt, nz=nz, x0=x0, paths=paths, steps=steps, end=end: simulate(
                    f, opt, nz, x0=x0, steps=steps, paths=paths, seed=0, save_at=end),
                "sde-workbench-sde": lambda m=m, x0=x0, paths=paths, steps=steps, lr=lr, end=end: sde.integrate(
                    m, x0=x0, t_end=steps * lr, paths=paths, seed=0, save_at=end),
                "rng-floor": lambda paths=paths, steps=steps, d=f.d: rng_floor(paths, steps, d)}
        table = _table(f"sde-minibatch {label} (n={f.n}, B={B}, R={R})", rows, paths, steps, f.d, a.repeat)
        table.append({"case": table[0]["case"], "impl": "per-sample-gradient ratio (n + R) / B", "ns_per_update": None,
                      "skipped": f"{(f.n + R) / B:.1f} (an SDE step's gradient work over a discrete step's)"})
        out += table
    return out


CASES = {
    "sgd-gauss-quadratic": lambda a: case_quadratic("sgd-gauss-quadratic", lambda: O.SGD(lr=0.01), numpy_sgd,
                                                   32, a.paths, a.steps, a.repeat),
    "adam-gauss-quadratic": lambda a: case_quadratic("adam-gauss-quadratic", lambda: O.Adam(lr=0.01), numpy_adam,
                                                    32, a.paths, a.steps, a.repeat),
    "sgdm-gauss-quadratic": case_sgdm,
    "em-ou": case_em_ou,
    "sign-sde-erf": case_sign_sde,
    "adam-peers": case_adam_peers,
    "dcsgd-heavy": case_dcsgd_heavy,
    "samplers": case_samplers,  # one draw of each heavy-tailed law against a normal
    "ef21-topk": case_ef21_topk,
    "dcsgd-randk-sde": case_dcsgd_randk_sde,
    "local-sgd": case_local_sgd,
    "sde-rows": case_sde_rows,  # every SDE kind beside its discrete method, d = 8, 64, 512
    "clipped-sde": case_clipped_sde,  # the clipped-SGD SDE beside its discrete method, Gaussian and t(3) noise
    "sde-dims": case_sde_dims,  # every SDE kind on one thread at d = 4 ... 512: the cost's dependence on d
    "scaling": case_scaling,
    "latency": case_latency,
    "sweep": case_sweep,  # methods.sweep: 16 points on threads and dask processes, 1 and 2 workers
    "machine-scaling": case_machine_scaling,  # what a second core gives two processes here (no dask)
    "mlp-minibatch": case_mlp_minibatch,  # minibatch SGD on an MLP on digits against torch.func.vmap over paths
    "sde-minibatch": case_sde_minibatch,  # the minibatch-covariance SDE beside minibatch SGD (MLP, logistic)
}


def markdown(rows, meta):
    lines = [f"Machine: {meta['machine']}, {meta['threads']} threads, numpy {meta['numpy']}, numba {meta['numba']}",
             "", "| case | impl | ns / scalar update | x RNG floor | x engine |", "|---|---|---:|---:|---:|"]
    for r in rows:
        if r["ns_per_update"] is None:
            lines.append(f"| {r['case']} | {r['impl']} | {r['skipped']} | | |")
        else:
            floor = "" if np.isnan(r["x_rng_floor"]) else f"{r['x_rng_floor']:.2f}"
            lines.append(f"| {r['case']} | {r['impl']} | {r['ns_per_update']:.2f} | {floor} | {r['x_engine']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    ap.add_argument("cases", nargs="*", help=f"cases to run (default all): {', '.join(CASES)}")
    ap.add_argument("--paths", type=int, default=2048)
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--sweep-steps", type=int, default=0,
                    help="steps of a sweep point (sweep, machine-scaling; default: calibrated to 0.5 s a point)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats (2)")
    ap.add_argument("--json", metavar="PATH")
    ap.add_argument("--markdown", metavar="PATH")
    a = ap.parse_args(argv)
    if a.quick:
        a.repeat = 2
    unknown = [c for c in a.cases if c not in CASES]
    if unknown:
        ap.error(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    import numba

    meta = {"machine": f"{platform.processor() or platform.machine()} ({platform.system()})",
            "threads": default_threads(), "numpy": np.__version__, "numba": numba.__version__}
    rows = []
    for name in a.cases or CASES:
        rows += CASES[name](a)
    table = markdown(rows, meta)
    print(table)
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"meta": meta, "records": rows}, fh, indent=2)
    if a.markdown:
        with open(a.markdown, "w") as fh:
            fh.write(table + "\n")


if __name__ == "__main__":
    main()
