"""Determinism, divergence accounting, memory and bad input of methods.simulate."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from methods import compressors as C, engine, landscapes as L, noise as N, optimizers as O, schedules as S, simulate

F = L.DiagonalQuadratic([1.0, 2.0, 4.0])


@pytest.mark.parametrize("opt,nz", [
    (O.SGD(lr=0.01), N.Gaussian(1.0)),
    (O.DCSGD(lr=0.01, agents=3, compressor=C.RandK(1)), N.StudentT(1.0, 0.5)),
    (O.AdamW(lr=0.01), N.AlphaStable(1.5, 0.3)),
], ids=["sgd", "dcsgd", "adamw"])
def test_bit_identical_for_any_thread_count(opt, nz):
    runs = [simulate(F, opt, nz, x0=1.0, steps=300, paths=300, seed=42, threads=t) for t in (1, 2, 3)]
    for r in runs[1:]:
        np.testing.assert_array_equal(r.loss, runs[0].loss)
        np.testing.assert_array_equal(r.grad_norm, runs[0].grad_norm)
    again = simulate(F, opt, nz, x0=1.0, steps=300, paths=300, seed=42)
    np.testing.assert_array_equal(again.loss, runs[0].loss)
    other = simulate(F, opt, nz, x0=1.0, steps=300, paths=300, seed=43)
    assert not np.array_equal(other.loss, runs[0].loss)


def test_numba_num_threads_environment():
    """The same seed gives the same bytes under NUMBA_NUM_THREADS=1 and =2 (fresh processes)."""
    code = textwrap.dedent("""
        import hashlib, numpy as np
        from methods import landscapes as L, noise as N, optimizers as O, simulate
        r = simulate(L.Quartic(4), O.DSignSGD(lr=0.01, agents=2), N.StudentT(1.0), x0=0.5, steps=200, paths=200, seed=9)
        print(hashlib.sha256(r.loss.tobytes()).hexdigest())
    """)
    out = []
    for n in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=n)
        out.append(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout)
    assert out[0] == out[1] and len(out[0].strip()) == 64


def test_paths_are_prefix_stable_and_independent():
    a = simulate(F, O.SGD(lr=0.01), N.Gaussian(1.0), x0=1.0, steps=100, paths=100, seed=1)
    b = simulate(F, O.SGD(lr=0.01), N.Gaussian(1.0), x0=1.0, steps=100, paths=300, seed=1)
    np.testing.assert_array_equal(a.loss, b.loss[:, :100])
    # different paths are different streams: no two final losses coincide
    assert np.unique(b.loss[-1]).size == b.paths


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("finite_sum", [False, True])
def test_first_observation_is_shared_and_gradient_descent_is_exact(threads, finite_sum):
    """Every path starts at x0, so the core evaluates f and grad f there once per chunk and copies them
    to the chunk's other paths, whose first step then reads the copied gradient. Exact gradients
    (noise=None; a quartic, and least squares on iris through its one-pass value_grad): every path
    must be bit-identical to the first, and match a NumPy loop of x <- x - lr grad f(x) (f, grad f
    from the landscape's kernels) to rounding."""
    if finite_sum:
        from methods import finite_sum as FS
        f = L.LeastSquares.from_dataset(FS.load("iris"), reg=1e-3)
    else:
        f = L.Quartic(d=5)
    x0 = np.linspace(-1.0, 1.5, f.d)
    lr, steps = 0.05, 40
    # 150 paths: three chunks (methods.parallel.CHUNK = 64), each with its own first path
    run = simulate(f, O.SGD(lr=lr), None, x0=x0, steps=steps, paths=150, seed=0, save_every=1, threads=threads)
    for col in range(1, 150):
        np.testing.assert_array_equal(run.loss[:, col], run.loss[:, 0])
        np.testing.assert_array_equal(run.grad_norm[:, col], run.grad_norm[:, 0])
    x, ref = x0.copy(), []
    for _ in range(steps + 1):
        ref.append(f.f(x) - f.f_star)
        x = x - lr * f.gradient(x)
    np.testing.assert_allclose(run.loss[:, 0], ref, rtol=1e-12, atol=1e-15)


def test_divergence_is_counted_and_excluded():
    """GD on a parabola diverges iff eta > 2/lambda; with lambda = 4 and eta = 0.6 every
    path blows up, with a per-path random start only some do."""
    f = L.DiagonalQuadratic([4.0])
    r = simulate(f, O.SGD(lr=0.6), N.Gaussian(0.1), x0=1.0, steps=2000, paths=64, seed=0)
    assert r.diverged == 64 and np.isnan(r.mean()).all() and np.isinf(r.median()[-1])
    # quartic GD: x_{k+1} = x (1 - eta x^2) diverges from |x0| > sqrt(2/eta)-ish; Cauchy noise
    # kicks some paths out
    r = simulate(L.Quartic(1), O.SGD(lr=0.1), N.StudentT(1.0, 0.05), x0=1.0, steps=300, paths=512, seed=0)
    assert 0 < r.diverged < r.paths
    alive = r.loss[:, r.alive]
    np.testing.assert_allclose(r.mean(), alive.mean(1))
    assert np.all(np.isfinite(r.mean()))
    assert np.all(np.isinf(r.loss[-1, ~r.alive]))
    assert np.all(r.diverged_at[~r.alive] > 0)


def test_blowup_threshold():
    r = simulate(L.Quartic(1), O.SGD(lr=0.1), N.StudentT(1.0, 0.05), x0=1.0, steps=300, paths=512, seed=0, blowup=10.0)
    r_inf = simulate(L.Quartic(1), O.SGD(lr=0.1), N.StudentT(1.0, 0.05), x0=1.0, steps=300, paths=512, seed=0)
    assert r.diverged >= r_inf.diverged


def test_normalised_dcsgd_survives_where_plain_dcsgd_diverges():
    """Spec l0l1 5.1/5.4 (derived): on the quartic under rand-k compression a fixed step
    blows up from a far start, while the Theorem-4.2 gradient-norm normalisation does not."""
    f = L.Quartic(4)
    # rand-1 scales a kept coordinate by d = 4: x_j <- x_j (1 - 4 lr x_j^2) blows up once
    # 4 lr x_j^2 > 2; from x0 = 3 with lr = 0.1 noise pushes some paths over
    plain = simulate(f, O.DCSGD(lr=0.1, agents=2, compressor=C.RandK(1)), N.Gaussian(0.1), x0=3.0, steps=500,
                     paths=128, seed=0)
    sched = S.GradNormalized.theorem_4_2(L0=3, L1=3, d=4, agents=2, omega=3.0, sigma0=0.1)
    normed = simulate(f, O.DCSGD(lr=1.0, agents=2, compressor=C.RandK(1), schedule=sched), N.Gaussian(0.1),
                      x0=3.0, steps=500, paths=128, seed=0)
    assert plain.diverged > 32 and normed.diverged == 0
    assert normed.median()[-1] < normed.median()[0]


def test_memory_is_per_path_scalars_by_default():
    r = simulate(F, O.SGD(lr=0.01), N.Gaussian(1.0), x0=1.0, steps=1000, paths=64, seed=0, save_every=100)
    assert r.iterates is None and r.loss.shape == (11, 64)
    np.testing.assert_allclose(r.t, np.arange(0, 1001, 100) * 0.01)
    with pytest.raises(ValueError, match="record_iterates"):
        r.observable("x_0")


def test_statistics_helpers():
    r = simulate(F, O.SGD(lr=0.01), N.Gaussian(1.0), x0=1.0, steps=200, paths=500, seed=0)
    lo, hi = r.ci()
    assert np.all(lo <= r.mean()) and np.all(r.mean() <= hi)
    q = r.quantile("loss", [0.1, 0.5, 0.9])
    assert q.shape == (3, len(r.t)) and np.all(q[0] <= q[2])
    assert "diverged: 0 of 500" in repr(r)


class _Boom(Exception):
    pass


BAD = [
    (lambda: simulate(F, O.SGD(lr=0.1), None, x0=[1.0, 2.0], steps=10), "x0 must have length"),
    (lambda: simulate(F, O.SGD(lr=0.1), None, x0=[1.0, np.nan, 0.0], steps=10), "x0 must be finite"),
    (lambda: simulate(F, O.SGD(lr=0.1), None, x0=1.0, steps=0), "steps"),
    (lambda: simulate(F, O.SGD(lr=0.1), None, x0=1.0, steps=10, paths=0), "paths"),
    (lambda: simulate(F, O.SGD(lr=0.1), None, x0=1.0, steps=10, seed=-1), "seed"),
    (lambda: simulate(F, O.SGD(lr=0.1), None, x0=1.0, steps=10, save_every=0), "save_every"),
    (lambda: simulate(F, O.SGD(lr=0.1), None, x0=1.0, steps=10, threads=0), "threads"),
    (lambda: simulate(F, O.DCSGD(lr=0.1, compressor=C.RandK(5)), None, x0=1.0, steps=10), "k must be <= d"),
    (lambda: simulate(F, O.DSGD(lr=0.1, agents=2), N.Gaussian(np.ones((3, 3))), x0=1.0, steps=10), "sigma"),
    (lambda: simulate(F, "adam", None, x0=1.0, steps=10), "optimizer"),
    (lambda: simulate("quartic", O.SGD(lr=0.1), None, x0=1.0, steps=10), "landscape"),
    (lambda: simulate(F, O.SGD(lr=0.1), "cauchy", x0=1.0, steps=10), "noise"),
    (lambda: simulate(F, O.SGD(lr=0.1, schedule="warmup"), None, x0=1.0, steps=10), "schedule"),
]


@pytest.mark.parametrize("call,match", BAD, ids=[m for _, m in BAD])
def test_bad_input_is_refused_before_compilation(monkeypatch, call, match):
    def boom(*a, **k):
        raise _Boom("compilation started")

    monkeypatch.setattr(engine, "chunk_kernel", boom)
    monkeypatch.setattr(engine, "_KERNELS", {})
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("shape,dtype", [(4, np.uint64), ((5, 3), np.float64), (0, np.float64), (7, np.int64)])
def test_private_buffers_share_no_cache_line(shape, dtype):
    """Per-chunk buffers keep 128 bytes of their own allocation on either side (no false sharing
    between the threads that write them every step)."""
    from methods.parallel import private_empty

    a = private_empty(shape, dtype)
    assert a.shape == np.empty(shape).shape and a.dtype == dtype and a.flags.c_contiguous
    if a.size == 0:  # nothing to share (numpy points an empty view at its base's start)
        return
    base = a.base
    while base.base is not None:
        base = base.base
    start = a.ctypes.data - base.ctypes.data
    assert start >= 128 and base.nbytes - start - a.nbytes >= 128
