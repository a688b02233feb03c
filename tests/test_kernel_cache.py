"""The on-disk kernel cache (methods._cache): hits across processes, never stale, never for
user code, and a corrupt entry is recompiled."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from methods import _cache
from methods._jit import each_row

ROOT = Path(__file__).resolve().parent.parent

_RUN = """
import json, time, numpy as np
from methods import landscapes as L, noise as N, optimizers as O, compressors as C, simulate
f = L.DiagonalQuadratic(np.ones(4))
opt = O.DCSGD(lr=0.05, agents=2, compressor=C.RandK(2))
t = time.perf_counter()
r = simulate(f, opt, N.StudentT(3.0), x0=1.0, steps=20, paths=70, seed=3)
t = time.perf_counter() - t
from methods import engine
stats = [k.stats for k in engine._KERNELS.values()]
print(json.dumps({"loss": r.loss.tolist(), "seconds": t,
                  "hits": sum(sum(s.cache_hits.values()) for s in stats),
                  "misses": sum(sum(s.cache_misses.values()) for s in stats)}))
"""


def _run(cache_dir, code=_RUN):
    env = dict(os.environ, SDE_WORKBENCH_NUMBA_CACHE=str(cache_dir))
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1]), res.stderr


def _entries(cache_dir):
    return sorted(p for p in Path(cache_dir).rglob("*") if p.suffix in (".nbi", ".nbc"))


def test_second_process_loads_the_kernel_and_gets_the_same_numbers(tmp_path):
    first, _ = _run(tmp_path)
    files = _entries(tmp_path)
    assert any(p.name.startswith("core.chunk_kernel") for p in files), files
    assert all(p.parent.name == _cache.SOURCE_HASH for p in files)
    assert (first["hits"], first["misses"]) == (0, 1)
    second, _ = _run(tmp_path)
    assert second["loss"] == first["loss"]
    assert (second["hits"], second["misses"]) == (1, 0)  # loaded, not compiled
    assert _entries(tmp_path) == files


def test_corrupt_entries_are_recompiled(tmp_path):
    first, _ = _run(tmp_path)
    for p in _entries(tmp_path):
        p.write_bytes(b"not a numba cache entry")
    again, _ = _run(tmp_path)
    assert again["loss"] == first["loss"]
    assert again["hits"] == 0


def test_cache_can_be_switched_off(tmp_path, monkeypatch):
    monkeypatch.setenv("SDE_WORKBENCH_NUMBA_CACHE", "off")
    assert _cache.cache_dir() is None
    monkeypatch.setenv("SDE_WORKBENCH_NUMBA_CACHE", str(tmp_path))
    assert _cache.cache_dir() == tmp_path / _cache.SOURCE_HASH


def test_keys_name_captured_package_functions_and_refuse_everything_else():
    from methods import noise as N

    gauss = each_row(N.Gaussian._sample).py_func
    student = each_row(N.StudentT._sample).py_func
    a = _cache.stable_key(gauss)
    assert a == _cache.stable_key(gauss)
    assert a != _cache.stable_key(student)  # same closure code, different captured kernel
    assert "_gauss_sample" in repr(a)

    @numba.njit
    def user_fn(x):
        return x

    def run(x):
        return user_fn(x)

    with pytest.raises(_cache._Uncacheable):
        _cache.stable_key(run)
    # a dispatcher around user code gets no cache, and still compiles and runs
    d = numba.njit(run)
    assert not _cache.enable(d)
    assert d(2.0) == 2.0


def test_source_hash_covers_every_package_file():
    h = _cache._package_hash()
    assert h == _cache.SOURCE_HASH
    n = sum(1 for pkg in _cache.PACKAGES for _ in (ROOT / pkg).glob("*.py"))
    assert n > 20


_RUN_FULL_DIFFUSION = """
import json, sys, numpy as np
import sde
from methods import landscapes as L, noise as N, optimizers as O, compressors as C
from sde import sgd
m = sgd._build(L.DiagonalQuadratic(np.linspace(1, 4, 4)), O.DCSGD(lr=0.05, agents=3, compressor=C.RandK(2)),
               N.Gaussian(1.0), "classic", "eigh")
r = sde.integrate(m, x0=1.0, t_end=0.2, paths=20, seed=0)
ks = list(sys.modules["sde.integrate"]._KERNELS.values())
print(json.dumps({"loss": r.loss.tolist(), "nrt": [k._active is k.safe for k in ks],
                  "hits": sum(sum(k.stats.cache_hits.values()) for k in ks),
                  "misses": sum(sum(k.stats.cache_misses.values()) for k in ks)}))
"""


@pytest.mark.slow
def test_a_kernel_that_needs_nrt_is_remembered(tmp_path):
    """The former full-diffusion SDE kernel (kept as a test reference, ``sde.sgd._build(...,
    "eigh")``) allocates (an eigendecomposition per step): its chunk kernel falls back to the NRT build, and the cache remembers that, so the next process loads it directly."""
    first, _ = _run(tmp_path, _RUN_FULL_DIFFUSION)
    assert first["nrt"] == [True]
    assert len(list(Path(tmp_path).rglob("needs-nrt-*"))) == 1
    second, _ = _run(tmp_path, _RUN_FULL_DIFFUSION)
    assert second["nrt"] == [True]
    assert (second["hits"], second["misses"]) == (1, 0)
    assert second["loss"] == first["loss"]
