"""The ``machine-scaling`` case of ``python -m benchmarks``: what a second core gives to two
processes on this machine, independently of dask and of the sweep machinery.

The ``sweep`` case's target (1 -> 2 dask workers >= 1.7x) can only hold where the machine itself
gives two processes about that much. Three workloads are timed in interleaved rounds, the same
total work on 1 process and split over 2 (spawned, started together); the speed-up is ``t1 / t2``:

* ``integer-chain``: a 64-bit multiply-add recurrence (integer units only, no memory), 4 units of
  about 0.65 s;
* ``fp-vector``: a vectorised multiply-add over 64 doubles (FMA throughput), 4 units;
* ``engine-points``: the ``sweep`` case's 16 points (``methods.simulate``, SGD, d = 32, ``paths``
  paths, the steps of about 0.5 s a point, ``sweep_case.calibrated_steps``, or ``--sweep-steps``;
  one thread), one after another as a sweep worker runs them: the sweep's work without dask or the
  thread pool.

A speed-up for ``engine-points`` well below 2 while ``integer-chain`` gets about 2 says that the
cores are shared with other load in ways a pure recurrence does not feel (another tenant on the
same physical core, shared caches); it is then the machine that caps the sweep's speed-up.
"""
from __future__ import annotations

import time

import numpy as np


UNITS = {"integer-chain": 4, "fp-vector": 4, "engine-points": 16}  # total work, split over the processes


def _workload(name, paths, steps):
    """``(warm-up, unit)`` callables of workload ``name`` (built in the process that runs them)."""
    if name == "engine-points":
        from benchmarks.sweep_case import _point

        return (lambda: _point({"lr": 0.01}, 0, steps=50, paths=64, d=32),
                lambda: _point({"lr": 0.01}, 1, steps=steps, paths=paths, d=32))
    import numba

    if name == "integer-chain":
        @numba.njit(nogil=True)
        def chain(n):
            x = 1
            for _ in range(n):
                x = (x * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFF
            return x

        return (lambda: chain(10), lambda: chain(3_000_000_000))

    @numba.njit(nogil=True)
    def fma_loop(n):
        a = np.ones(64)
        for _ in range(n):
            for j in range(64):
                a[j] = a[j] * 0.9999 + 1e-4
        return a.sum()

    return (lambda: fma_loop(10), lambda: fma_loop(100_000_000))


def _child(name, paths, steps, units, start, out):
    warm, unit = _workload(name, paths, steps)
    warm()
    start.wait()
    t0 = time.perf_counter()
    for _ in range(units):
        unit()
    out.put(time.perf_counter() - t0)


def _run(ctx, name, paths, steps, n):
    """Wall time of the workload's units split over ``n`` processes started together."""
    start = ctx.Event()
    out = ctx.Queue()
    procs = [ctx.Process(target=_child, args=(name, paths, steps, UNITS[name] // n, start, out)) for _ in range(n)]
    for p in procs:
        p.start()
    time.sleep(0.5)  # let every child import and warm up (its own timing starts at the event)
    start.set()
    times = [out.get() for _ in procs]
    for p in procs:
        p.join()
    return max(times)


def case_machine_scaling(a):
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    paths = a.paths
    from .sweep_case import calibrated_steps

    steps = int(getattr(a, "sweep_steps", 0) or 0) or calibrated_steps(paths, 32)  # the sweep case's points
    names = tuple(UNITS)
    rounds = max(2, a.repeat // 2 + 1)
    t = {(nm, n): [] for nm in names for n in (1, 2)}
    for _ in range(rounds):
        for nm in names:
            for n in (1, 2):
                t[(nm, n)].append(_run(ctx, nm, paths, steps, n))
    out, summary = [], []
    for nm in names:
        ratios = [t1 / t2 for t1, t2 in zip(t[(nm, 1)], t[(nm, 2)])]
        med = float(np.median(ratios))
        out.append({"case": "machine-scaling", "impl": nm, "ns_per_update": None, "speedups": ratios,
                    "seconds_1": t[(nm, 1)], "seconds_2": t[(nm, 2)],
                    "skipped": f"1 -> 2 processes: median {med:.2f}x, rounds {', '.join(f'{r:.2f}' for r in ratios)}; "
                               f"1 process {np.median(t[(nm, 1)]):.2f} s, 2 processes {np.median(t[(nm, 2)]):.2f} s"})
        summary.append(f"{nm} {med:.2f}x")
    out.append({"case": "machine-scaling", "impl": "summary", "ns_per_update": None,
                "skipped": "median 1 -> 2 processes: " + "; ".join(summary)})
    return out
