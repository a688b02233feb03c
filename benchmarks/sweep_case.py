"""The ``sweep`` case of ``python -m benchmarks``: ``methods.sweep`` over 16 points of about 0.5 s
each (SGD, Gaussian noise, diagonal quadratic, d = 32, one engine thread per point; the number of
steps is calibrated on the machine to 0.5 s a point, ``calibrated_steps``), on threads
and on a dask.distributed ``LocalCluster`` of processes, with 1 and 2 workers, in the same run.

Rows (all timed in interleaved rounds after a warm-up sweep that compiles or loads the kernel in
every worker): ``threads-1``, ``threads-2`` (``workers=1, 2``), ``dask-1proc``, ``dask-2proc``
(``LocalCluster(n_workers=1|2, threads_per_worker=1, processes=True)``, created with dask's
worker profiler off and its background work quieted, ``methods.sweep.DASK_COMPUTE_CONFIG``), and
``dask-1proc-profiler``, ``dask-2proc-profiler`` (the same clusters with dask's defaults: what they cost).
Each cluster exists only while its own row runs: created and warmed up before the row's timing,
closed after it. (Until stop 25 all four clusters stayed up through every round; their idle
background and their schedulers, in this process, loaded the two-worker rows most, whose
processes had no core to spare: threads 1 -> 2 measured 1.56x with them alive and 1.82x without,
on the same machine within an hour.) The rows a target compares (``threads-n`` and
``dask-nproc``) run back to back, threads first in even rounds and dask first in odd ones (ABBA),
so each round gives a paired ratio in which the machine's slow drift cancels. Reported: the median
and the range of the rounds' wall times, the ratios of the medians, and the medians of the paired
per-round ratios; ``x engine`` is the median against ``threads-1``.
Targets: ``dask-1proc / dask-2proc >= 1.7`` and ``dask-2proc / threads-2 - 1 < 5%``. Beside the
wall times, the CPU seconds of this process (the client, and a LocalCluster's scheduler) plus
those of the worker processes: dask's overhead in CPU, which the load of other programs on a
shared machine disturbs much less than wall time (a speed-up, though, needs free cores); and
dask's fixed cost per point, from 16 points of almost no compute (dask against threads).
"""
from __future__ import annotations

import time

import numpy as np

from methods.sweep import DASK_COMPUTE_CONFIG

POINTS = 16
POINT_SECONDS = 0.5  # the point size: steps are calibrated to it (calibrated_steps)


def _point(p, seed, *, steps, paths, d):
    from methods import landscapes as L, noise as N, optimizers as O, simulate

    f = L.DiagonalQuadratic(np.linspace(1.0, 4.0, d))
    return simulate(f, O.SGD(lr=p["lr"]), N.Gaussian(1.0), x0=1.0, steps=steps, paths=paths, seed=seed,
                    threads=1)


def _cpu_seconds(client=None) -> float:
    """CPU seconds used so far by this process (which hosts the scheduler of a LocalCluster) plus,
    with ``client``, by its worker processes: overhead measured in CPU, which other load on a
    shared machine disturbs much less than wall time."""
    total = time.process_time()
    if client is not None:
        total += sum(client.run(_own_cpu).values())
    return total


def _own_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def calibrated_steps(paths: int, d: int, seconds: float = POINT_SECONDS, probe: int = 1000) -> int:
    """The number of steps that makes one point take about ``seconds`` on this machine (one engine
    thread; the best of two timed runs of ``probe`` steps after a compiling one), so that the case
    measures dask against points of the issue's size whatever the machine's speed."""
    _point({"lr": 0.01}, 0, steps=probe, paths=paths, d=d)
    best = np.inf
    for _ in range(2):
        t0 = time.perf_counter()
        _point({"lr": 0.01}, 0, steps=probe, paths=paths, d=d)
        best = min(best, time.perf_counter() - t0)
    return max(1, int(round(probe * seconds / best)))


def case_sweep(a):
    import contextlib
    import functools

    import dask
    from distributed import Client, LocalCluster

    from methods import sweep

    d, paths = 32, a.paths
    tiny = functools.partial(_point, {"lr": 0.01}, 0, steps=10, paths=64, d=d)
    tiny()
    steps = int(getattr(a, "sweep_steps", 0) or 0) or calibrated_steps(paths, d)
    fn = functools.partial(_point, steps=steps, paths=paths, d=d)
    grid = {"lr": list(np.linspace(0.005, 0.02, POINTS))}
    warm = {"lr": grid["lr"][:2]}
    sweep(fn, warm, seed=0, cache=False, workers=2, progress=False)

    @contextlib.contextmanager
    def cluster(n, quiet):
        """A LocalCluster of ``n`` worker processes that exists only while its row runs (an idle
        cluster's background, and its scheduler in this process, would load the other rows), warmed
        up: every worker compiles or loads the kernel before timing."""
        with dask.config.set(DASK_COMPUTE_CONFIG if quiet else {}):  # the "-profiler" rows: dask's defaults
            lc = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(lc)
        try:
            client.run(tiny)
            sweep(fn, warm, seed=0, cache=False, client=client, progress=False)
            yield client
        finally:
            client.close()
            lc.close()

    # row: (workers, quiet) -- quiet None: threads; True: DASK_COMPUTE_CONFIG; False: dask's defaults
    # the rows that a target compares run next to each other, in ABBA order over the rounds (threads
    # first in even rounds, dask first in odd ones), so that each round gives a paired ratio in which
    # the machine's slow drift cancels
    rows = {"threads-1": (1, None), "dask-1proc": (1, True), "threads-2": (2, None), "dask-2proc": (2, True),
            "dask-1proc-profiler": (1, False), "dask-2proc-profiler": (2, False)}
    pairs = [("threads-1", "dask-1proc"), ("threads-2", "dask-2proc")]
    tail = [k for k in rows if not any(k in pr for pr in pairs)]
    times = {k: [] for k in rows}
    cpu = {k: [] for k in rows}
    results = {}
    for r in range(max(1, a.repeat // 2 + 1)):
        order = [k for pr in pairs for k in (pr if r % 2 == 0 else pr[::-1])] + tail
        for k in order:
            n, quiet = rows[k]
            with contextlib.nullcontext(None) if quiet is None else cluster(n, quiet) as client:
                c0 = _cpu_seconds(client)
                t0 = time.perf_counter()
                results[k] = sweep(fn, grid, seed=0, cache=False, progress=False,
                                   **({"workers": n} if client is None else {"client": client}))
                times[k].append(time.perf_counter() - t0)
                cpu[k].append(_cpu_seconds(client) - c0)
    # fixed cost per point: 16 points of a few microseconds of compute, dask (2 processes) against threads
    tiny_fn = functools.partial(_point, steps=10, paths=64, d=d)
    tiny_t = {"threads-2": [], "dask-2proc": []}
    with cluster(2, True) as client:
        for _ in range(3):
            for k in tiny_t:
                t0 = time.perf_counter()
                sweep(tiny_fn, grid, seed=0, cache=False, progress=False,
                      **({"client": client} if k.startswith("dask") else {"workers": 2}))
                tiny_t[k].append(time.perf_counter() - t0)
    ref = results["threads-1"]
    identical = all(results[k].identical(ref) for k in results)
    med = {k: float(np.median(v)) for k, v in times.items()}
    out = []
    for k, v in times.items():
        out.append({"case": "sweep (16 points)", "impl": k, "ns_per_update": med[k] / (POINTS * paths * steps * d) * 1e9,
                    "seconds": med[k], "seconds_min": min(v), "seconds_max": max(v), "rounds": len(v),
                    "d": d, "paths": paths, "steps": steps, "x_rng_floor": float("nan"),
                    "x_engine": med[k] / med["threads-1"], "cpu_seconds": float(np.median(cpu[k]))})
    def per_round(num, den):
        """The median over the rounds of ``num / den`` within each round (the dask/threads pairs ran
        back to back; the 1 -> 2 workers ratio pairs two rows of the same round)."""
        return float(np.median(np.array(times[num]) / np.array(times[den])))

    paired_over2 = per_round("dask-2proc", "threads-2") - 1
    paired_over1 = per_round("dask-1proc", "threads-1") - 1
    paired_speed = per_round("dask-1proc", "dask-2proc")
    speed = med["dask-1proc"] / med["dask-2proc"]
    speed_prof = med["dask-1proc-profiler"] / med["dask-2proc-profiler"]
    over2_prof = med["dask-2proc-profiler"] / med["threads-2"] - 1
    over2 = med["dask-2proc"] / med["threads-2"] - 1
    over1 = med["dask-1proc"] / med["threads-1"] - 1
    spread = "; ".join(f"{k} {med[k]:.2f} s [{min(v):.2f}, {max(v):.2f}]" for k, v in times.items())
    best = {k: min(v) for k, v in times.items()}
    cmed = {k: float(np.median(v)) for k, v in cpu.items()}
    cpu_over = {n: cmed[f"dask-{n}proc"] / cmed[f"threads-{n}"] - 1 for n in (1, 2)}
    per_point = (min(tiny_t["dask-2proc"]) - min(tiny_t["threads-2"])) / POINTS
    out.append({"case": "sweep (16 points)", "impl": "summary", "ns_per_update": None,
                "tiny_seconds": {k: min(v) for k, v in tiny_t.items()}, "dask_seconds_per_point": per_point,
                "speedup_dask_1_to_2": speed, "dask_overhead_2": over2, "dask_overhead_1": over1,
                "speedup_dask_1_to_2_paired": paired_speed, "dask_overhead_2_paired": paired_over2,
                "dask_overhead_1_paired": paired_over1,
                "speedup_dask_1_to_2_profiler": speed_prof, "dask_overhead_2_profiler": over2_prof,
                "point_seconds": med["threads-1"] / POINTS, "identical": identical,
                "speedup_best": best["dask-1proc"] / best["dask-2proc"], "cpu_seconds": cmed,
                "dask_cpu_overhead_1": cpu_over[1], "dask_cpu_overhead_2": cpu_over[2],
                "dask_overhead_2_best": best["dask-2proc"] / best["threads-2"] - 1,
                "skipped": (f"1 -> 2 workers (dask processes) {speed:.2f}x; dask overhead vs threads "
                            f"{100 * over2:+.1f}% (2 workers), {100 * over1:+.1f}% (1 worker); with dask's profiler on "
                            f"{speed_prof:.2f}x and {100 * over2_prof:+.1f}%; medians of the rounds' paired ratios: "
                            f"{paired_speed:.2f}x, {100 * paired_over2:+.1f}% (2 workers), {100 * paired_over1:+.1f}% (1); "
                            f"{med['threads-1'] / POINTS:.2f} s a point; best rounds: "
                            f"{best['dask-1proc'] / best['dask-2proc']:.2f}x, "
                            f"{100 * (best['dask-2proc'] / best['threads-2'] - 1):+.1f}%; CPU seconds (this process + workers) "
                            f"dask vs threads {100 * cpu_over[1]:+.1f}% (1 worker), {100 * cpu_over[2]:+.1f}% (2); "
                            f"dask's fixed cost {1e3 * per_point:.1f} ms a point (16 tiny points: threads "
                            f"{min(tiny_t['threads-2']):.3f} s, dask {min(tiny_t['dask-2proc']):.3f} s, best of 3), "
                            f"{100 * per_point / (med['threads-1'] / POINTS):.1f}% of a point here; "
                            f"datasets identical: {identical}; "
                            f"median [min, max] of {len(times['threads-1'])} rounds: {spread}")})
    return out
