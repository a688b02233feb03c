"""Deterministic parallel Monte Carlo over paths.

Paths are cut into fixed chunks of ``CHUNK`` paths. Chunk ``c`` draws from its own
xoshiro256++ stream (``methods.rng``) seeded by ``SeedSequence(seed).spawn(n_chunks)[c]``; compiled,
GIL-free kernels run the chunks on a thread pool. Which thread runs which chunk never
changes the numbers, so a seed gives bit-identical results for any thread count, and the
first ``n`` paths of a run are the same whatever the total number of paths.
"""
from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from . import _checks, rng

CHUNK = 64
_PAD = 128  # bytes either side of a private buffer: two cache lines (the adjacent-line prefetcher pairs them)


def private_empty(shape, dtype=np.float64) -> np.ndarray:
    """An uninitialised array that shares no cache line with any other allocation.

    The engines' chunk kernels write small per-chunk buffers (the iterate, the noise vector,
    the generator state) every step. Small numpy arrays allocated by two threads at about the
    same time can sit on one cache line, which then moves between the cores at every write
    (false sharing): measured 8-10% of the EM benchmark on 2 threads. (About 1 us a call:
    it runs a few times per chunk of paths.)"""
    flat = type(shape) is int
    n = shape if flat else math.prod(shape)
    pad = -(-_PAD // np.dtype(dtype).itemsize)  # whole elements covering _PAD bytes
    a = np.empty(n + 2 * pad, dtype)[pad:pad + n]
    return a if flat else a.reshape(shape)


def default_threads() -> int:
    """Numba's thread count (``NUMBA_NUM_THREADS``, default: the number of cores)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def resolve_seed(seed) -> int:
    """An integer seed >= 0; ``None`` draws fresh entropy (recorded in the result)."""
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    return _checks.integer("seed", seed, minimum=0)


def chunk_bounds(paths: int) -> list[tuple[int, int]]:
    """The chunks ``[lo, hi)`` of ``CHUNK`` consecutive paths covering ``0..paths-1`` (the last
    one may be shorter); chunk ``c`` starts at path ``c * CHUNK``."""
    return [(lo, min(lo + CHUNK, paths)) for lo in range(0, paths, CHUNK)]


def run_chunks(work, paths: int, seed: int, threads: int | None = None, progress=None) -> None:
    """Call ``work(rng, lo, hi)`` for every chunk ``[lo, hi)`` of paths, in parallel.

    ``work`` must call a nogil compiled kernel to run in parallel. ``progress`` is an
    optional callable invoked once per finished chunk.
    """
    bounds = chunk_bounds(paths)
    seqs = np.random.SeedSequence(seed).spawn(len(bounds))
    threads = default_threads() if threads is None else _checks.integer("threads", threads, minimum=1)

    def one(c):
        lo, hi = bounds[c]
        state = private_empty(4, np.uint64)
        state[:] = rng.new_state(seqs[c])
        work(state, lo, hi)
        if progress is not None:
            progress()

    if threads == 1 or len(bounds) == 1:
        for c in range(len(bounds)):
            one(c)
        return
    # one task per thread, each taking the next chunk until none is left (``next`` on a shared
    # counter is atomic under the GIL): a future per chunk cost about 17 us of Python each
    counter = itertools.count()

    def worker():
        c = next(counter)
        while c < len(bounds):
            one(c)
            c = next(counter)

    workers = min(threads, len(bounds))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for fut in [pool.submit(worker) for _ in range(workers)]:
            fut.result()
