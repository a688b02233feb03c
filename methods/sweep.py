"""Parameter sweeps: ``sweep(fn, grid, seed=...)`` runs ``fn`` on every grid point, on threads or
on a dask.distributed cluster, and gathers the statistics into one ``xarray.Dataset``::

    ds = sweep(lambda p, seed: simulate(f, SGD(lr=p["lr"]), Gaussian(p["sigma"]), x0=1.0,
                                        steps=2000, paths=512, seed=seed),
               {"lr": [0.005, 0.01, 0.02], "sigma": [0.5, 1.0, 2.0]}, seed=0)
    ds["stationary"].sel(lr=0.01)

**Grid.** ``grid`` maps parameter names to sequences of values. ``mode="cross"`` (default)
takes every combination (C order: the last name varies fastest); each name is a dimension
with its values as coordinate. ``mode="zip"`` pairs the i-th values (all the same length);
the dimension is ``point`` and each name is a coordinate along it. Point ``i`` is the i-th of
that order; ``fn`` gets ``point`` as a dict of the actual values (any object), the Dataset's
coordinates hold numbers and strings as they are and anything else as its ``repr``. Select
points with a dict, ``ds.sel({"method": "adam"})``, when an axis shares its name with a keyword
of ``Dataset.sel`` (``method``, ``tolerance``, ``drop``): the keyword form would not select.

**Seeds.** Point ``i`` gets ``SeedSequence(seed, spawn_key=(i,))`` (the same as
``SeedSequence(seed).spawn(n)[i]``) and ``fn`` receives its first 63 bits of state as an
``int``: a point's numbers depend only on ``seed`` and its index, never on the backend, the
order of evaluation or the number of workers (the engines are bit-identical for any thread
count). The seeds are the ``point_seed`` variable.

**Result.** ``fn(point, seed)`` returns a ``Run`` or a comparison (``sde.Comparison``: its
``discrete`` run and each SDE kind become a ``member`` dimension). ``methods.summary``
reduces each to statistics of ``observable`` (default ``"loss"``); the Dataset has
dimensions ``(*grid, [member], time)`` (``time`` = save point index; coordinate ``t``, 1-d
when every point shares its save times, else per point and NaN-padded) and variables
``mean``, ``stderr`` (non-diverged paths), ``median``, ``quantiles`` (dimension ``quantile``; over all paths,
diverged = +inf), ``diverged`` (paths diverged by each save point), ``paths``, ``stationary``
and ``stationary_stderr`` (``Run.time_average`` with ``burn_in`` / ``after``), ``point_seed``;
attributes: the root ``seed``, ``mode``, the ``grid`` and configuration (JSON), the package
``version`` and ``source_hash`` (of ``methods/``, ``sde/``, ``theory/``).

**Backends.** Threads by default (``workers`` points at once; the engines release the GIL).
``client=`` a ``distributed.Client`` or a scheduler address (``"tcp://host:8786"``) sends
the points to a dask cluster; ``fn`` must then be picklable by cloudpickle (a lambda or
closure is), and each worker process compiles a kernel once, or loads it from the on-disk
kernel cache (``methods._cache``, keyed by the sources) that processes on one machine share.
For compute-bound points create the cluster with ``threads_per_worker=1`` under
``dask.config.set(DASK_COMPUTE_CONFIG)``, which quiets dask's background work.

**Nothing lost.** With ``cache`` (default: ``$SDE_WORKBENCH_CACHE/sde-workbench/sweeps`` or
``.cache/sde-workbench/sweeps``; ``False`` switches it off) each point's statistics are
written as an ``.npz`` (no pickle) atomically as the point finishes, under a key made of the
sweep's settings, ``fn`` (module, name, bytecode, constants, and the ``repr`` of what it
captures or is bound to), the root seed and the package source hash; a rerun loads finished
points and computes only the rest, so an interrupted or failed sweep resumes. A worker that
dies has its points rescheduled by dask. ``fn`` reading a global that changed is not seen by
the key: pass ``key="..."`` to tell such runs apart, or ``cache=False``.

**Progress.** A tqdm bar over points (``progress=None``: when stderr is a terminal).
"""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import numbers
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path

import numpy as np

from . import _checks
from .parallel import default_threads
from .summary import summarize

_PKGS = ("methods", "sde", "theory")
_RESERVED = {"time", "member", "quantile", "quantiles", "point", "mean", "stderr", "median", "diverged", "paths", "stationary",
             "stationary_stderr", "point_seed", "t", "step"}
_SEED_MASK = (1 << 63) - 1

#: dask settings for compute-bound sweeps on a few cores, to be set (``dask.config.set``) before
#: a ``LocalCluster`` or ``dask worker`` starts. dask's defaults keep background work running in
#: every scheduler, nanny and worker process: each event loop's 20 ms tick (a check for blocked
#: loops), the 0.5 s system monitor, the 0.1 s memory monitor (worker and nanny) and the
#: worker's 10 ms statistical profiler (the dashboard's profile page). Idle, a ``LocalCluster``
#: of 2 worker processes used 0.08-0.10 of a core with only the profiler off, and 0.014-0.02
#: with all of these (15 s measurements on the 2-core development machine): CPU that
#: compute-bound points lose when every core is busy. The memory limits stay on (checked every
#: second instead of every 0.1 s).
DASK_COMPUTE_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",  # read by the nanny's monitor too
}


# ---------------------------------------------------------------------------- provenance
@functools.lru_cache(maxsize=1)
def source_hash() -> str:
    """sha256 (16 hex digits) of every source file of ``methods/``, ``sde/`` and ``theory/``."""
    root = Path(__file__).resolve().parent.parent
    h = hashlib.sha256()
    for pkg in _PKGS:
        for f in sorted((root / pkg).glob("*.py")):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def package_version() -> str:
    """The installed ``sde-workbench`` version (recorded in the attributes of every sweep), or ``"unknown"``."""
    try:
        from importlib.metadata import version

        return version("sde-workbench")
    except Exception:  # running from a source tree that is not installed
        return "unknown"


# ---------------------------------------------------------------------------- grid and seeds
def point_seed(seed: int, index: int) -> int:
    """The seed ``fn`` gets at point ``index``: 63 bits of ``SeedSequence(seed, spawn_key=(index,))``."""
    ss = np.random.SeedSequence(seed, spawn_key=(int(index),))
    return int(ss.generate_state(1, np.uint64)[0]) & _SEED_MASK


def grid_points(grid, mode: str = "cross"):
    """``(names, shape, points)``: the axes, the grid's shape and the list of point dicts."""
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid must be a non-empty mapping of parameter name -> values, got {grid!r}")
    if mode not in ("cross", "zip"):
        raise ValueError(f"mode must be 'cross' or 'zip', got {mode!r}")
    names, values = [], []
    for name, vals in grid.items():
        if not isinstance(name, str) or not name or name in _RESERVED or "/" in name:
            raise ValueError(f"grid: parameter name {name!r} must be a non-empty string without '/', "
                             f"not one of {sorted(_RESERVED)}")
        if isinstance(vals, (str, bytes)) or not hasattr(vals, "__iter__"):
            raise ValueError(f"grid[{name!r}] must be a sequence of values, got {vals!r}")
        vals = list(vals)
        if not vals:
            raise ValueError(f"grid[{name!r}] is empty")
        if mode == "cross":
            labels = [_label(v) for v in vals]
            if len(set(map(repr, labels))) != len(labels):
                raise ValueError(f"grid[{name!r}] has repeated values {vals!r}")
        names.append(name)
        values.append(vals)
    if mode == "cross":
        shape = tuple(len(v) for v in values)
        points = [dict(zip(names, combo)) for combo in itertools.product(*values)]
    else:
        lengths = {n: len(v) for n, v in zip(names, values)}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"grid: mode='zip' needs sequences of one length, got {lengths}")
        shape = (len(values[0]),)
        points = [dict(zip(names, combo)) for combo in zip(*values)]
    return names, shape, points


def _label(v):
    """A coordinate value: numbers and strings as they are, anything else as its repr."""
    if isinstance(v, bool) or isinstance(v, np.bool_):
        return str(bool(v))
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    if isinstance(v, str):
        return v
    return repr(v)


# ---------------------------------------------------------------------------- cache keys
def _fn_key(fn):
    """What identifies ``fn`` across processes: module, name, bytecode, constants, and a key of its
    captured values, defaults and (for ``functools.partial``) bound arguments (arrays by a hash of
    their bytes, functions recursively, anything else by its full ``repr``)."""
    with np.printoptions(threshold=sys.maxsize):
        return _fn_key_inner_(fn)


def _fn_key_inner_(fn, _seen=None):
    seen = set() if _seen is None else _seen
    if id(fn) in seen:  # a function that captures itself
        return ("recursive", getattr(fn, "__qualname__", None))
    seen.add(id(fn))
    _fn_key_inner = functools.partial(_fn_key_inner_, _seen=seen)
    _value_key = functools.partial(_value_key_, _seen=seen)
    if isinstance(fn, functools.partial):
        return ("partial", _fn_key_inner(fn.func), _value_key(fn.args), _value_key(fn.keywords))
    code = getattr(fn, "__code__", None)
    if code is None:
        call = getattr(type(fn), "__call__", None)
        return ("callable", type(fn).__module__, type(fn).__qualname__, repr(fn),
                _fn_key_inner(call) if call is not None and hasattr(call, "__code__") else None)
    cells = tuple(_value_key(c.cell_contents) for c in (fn.__closure__ or ()))
    return ("fn", getattr(fn, "__module__", None), getattr(fn, "__qualname__", None),
            hashlib.sha256(code.co_code).hexdigest(), _consts(code), cells, _value_key(fn.__defaults__),
            _value_key(getattr(fn, "__kwdefaults__", None)))


def _value_key_(v, _seen):
    _value_key = functools.partial(_value_key_, _seen=_seen)
    if isinstance(v, np.ndarray):
        return ("array", v.dtype.str, v.shape, hashlib.sha256(np.ascontiguousarray(v).tobytes()).hexdigest())
    if isinstance(v, (list, tuple)):
        return (type(v).__name__,) + tuple(_value_key(x) for x in v)
    if isinstance(v, dict):
        return ("dict",) + tuple((repr(k), _value_key(x)) for k, x in sorted(v.items(), key=lambda kv: repr(kv[0])))
    if callable(v) and (hasattr(v, "__code__") or isinstance(v, functools.partial)):
        return _fn_key_inner_(v, _seen)
    return repr(v)


def _consts(code):
    out = []
    for c in code.co_consts:
        out.append(("code", c.co_name, hashlib.sha256(c.co_code).hexdigest(), _consts(c)) if hasattr(c, "co_code")
                   else repr(c))
    return tuple(out)


def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=repr).encode()).hexdigest()


def default_cache_dir() -> Path:
    """Where per-point results go by default: ``$SDE_WORKBENCH_CACHE/sde-workbench/sweeps`` (``.cache/`` in the working directory)."""
    return Path(os.environ.get("SDE_WORKBENCH_CACHE", ".cache")) / "sde-workbench" / "sweeps"


def _write_npz(path: Path, rec: dict):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **rec)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _read_npz(path: Path):
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except Exception:  # missing, partial or corrupt: compute the point again
        return None


# ---------------------------------------------------------------------------- one point
def evaluate_point(fn, point: dict, seed: int, options: dict) -> dict:
    """Run ``fn(point, seed)`` and reduce it to ``methods.summary.summarize``'s arrays (this is what
    a worker executes and sends back)."""
    return summarize(fn(point, seed), **options)


# ---------------------------------------------------------------------------- the sweep
def sweep(fn, grid, *, seed, mode: str = "cross", client=None, workers: int | None = None, cache=True,
          key: str | None = None, observable: str = "loss", quantiles=(0.1, 0.25, 0.75, 0.9),
          burn_in: float = 0.5, after: float | None = None, progress: bool | None = None,
          config: dict | None = None):
    """Run ``fn(point, seed)`` on every point of ``grid`` and return an ``xarray.Dataset`` of its
    statistics (see the module docstring for the grid, seeds, variables, backends and cache).

    Parameters
    ----------
    fn: ``fn(point: dict, seed: int) -> Run | Comparison``.
    grid, mode: parameter name -> values; ``"cross"`` (every combination) or ``"zip"``.
    seed: root seed (int >= 0); point ``i`` gets ``point_seed(seed, i)``.
    client: ``None`` (threads), a ``distributed.Client`` or a scheduler address string.
    workers: points run at once on threads (default: ``NUMBA_NUM_THREADS``, at most the points).
    cache: ``True`` (default directory), a directory, or ``False``; ``key`` is added to its key.
    observable, quantiles, burn_in, after: what ``methods.summary.summarize`` computes.
    progress: show a tqdm bar (default: when stderr is a terminal).
    config: extra JSON-serialisable settings recorded in the ``config`` attribute.
    """
    if not callable(fn):
        raise ValueError(f"fn must be callable as fn(point, seed), got {fn!r}")
    seed = _checks.integer("seed", seed, minimum=0)
    if isinstance(grid, Mapping):  # read each sequence once (it may be an iterator)
        grid = {k: (list(v) if hasattr(v, "__iter__") and not isinstance(v, (str, bytes)) else v)
                for k, v in grid.items()}
    names, shape, points = grid_points(grid, mode)
    if not isinstance(observable, str):
        raise ValueError(f"observable must be a string, got {observable!r}")
    qs = [float(_checks.in_interval("quantiles", q, 0.0, 1.0, closed_hi=True)) for q in np.atleast_1d(quantiles)]
    burn_in = _checks.in_interval("burn_in", burn_in, 0.0, 1.0)
    after = None if after is None else _checks.real("after", after)
    if workers is not None:
        workers = _checks.integer("workers", workers, minimum=1)
    if config is not None and not isinstance(config, Mapping):
        raise ValueError(f"config must be a mapping, got {config!r}")
    options = {"observable": observable, "quantiles": tuple(qs), "burn_in": burn_in, "after": after}
    seeds = [point_seed(seed, i) for i in range(len(points))]

    settings = {"mode": mode, "names": names, "seed": seed, "options": options, "key": key,
                "source_hash": source_hash(), "fn": _fn_key(fn)}
    cdir = _cache_dir(cache)
    files = None
    if cdir is not None:
        if " at 0x" in json.dumps(settings["fn"], default=repr):
            warnings.warn("sweep: fn captures an object whose repr names a memory address, so its cache key "
                          "changes in every process and a rerun recomputes; pass key=... and capture plain "
                          "values, or cache=False", RuntimeWarning, stacklevel=2)
        sweep_dir = cdir / _digest(settings)[:20]
        files = [sweep_dir / f"point-{i:06d}-{_digest([repr(p), seeds[i]])[:12]}.npz" for i, p in enumerate(points)]

    records: list = [None] * len(points)
    if files is not None:
        for i, f in enumerate(files):
            records[i] = _read_npz(f) if f.exists() else None
    todo = [i for i, r in enumerate(records) if r is None]

    from tqdm import tqdm

    show = sys.stderr.isatty() if progress is None else bool(progress)
    bar = tqdm(total=len(points), initial=len(points) - len(todo), desc="sweep", unit="point", disable=not show)

    def done(i, rec):
        records[i] = rec
        if files is not None:
            _write_npz(files[i], rec)
        bar.update(1)

    try:
        if todo:
            if client is None:
                _run_threads(fn, points, seeds, options, todo, done, workers)
            else:
                _run_dask(fn, points, seeds, options, todo, done, client)
    finally:
        bar.close()
    attrs = {"seed": seed, "mode": mode, "observable": observable,
             "grid": json.dumps({n: [_label(v) for v in grid[n]] for n in names}),
             "config": json.dumps({**(config or {}), "fn": getattr(fn, "__qualname__", repr(fn)), **options},
                                  sort_keys=True, default=repr),
             "version": package_version(), "source_hash": source_hash()}
    return assemble(names, shape, points, seeds, records, grid={n: list(grid[n]) for n in names}, mode=mode,
                    quantiles=qs, attrs=attrs)


def _cache_dir(cache):
    if cache is True:
        return default_cache_dir()
    if cache is False or cache is None:
        return None
    if isinstance(cache, (str, os.PathLike)):
        return Path(cache)
    raise ValueError(f"cache must be True, False or a directory, got {cache!r}")


def _run_threads(fn, points, seeds, options, todo, done, workers):
    workers = min(len(todo), workers or default_threads())
    errors = []
    lock = threading.Lock()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futs = {pool.submit(evaluate_point, fn, points[i], seeds[i], options): i for i in todo}
        pending = set(futs)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    i = futs[fut]
                    exc = fut.exception()
                    if exc is not None:
                        errors.append((i, exc))
                        continue
                    with lock:
                        done(i, fut.result())
        except BaseException:  # KeyboardInterrupt: drop what has not started; finished points are cached
            for fut in pending:
                fut.cancel()
            raise
    _raise_first(errors, points)


def _run_dask(fn, points, seeds, options, todo, done, client):
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - the sweep extra is part of the test extra
        raise ImportError("client= needs dask.distributed: pip install 'sde-workbench[sweep]'") from exc
    own = isinstance(client, str)
    if own:
        client = Client(client)
    elif not isinstance(client, Client):
        raise ValueError(f"client must be a distributed.Client or a scheduler address, got {client!r}")
    errors = []
    try:
        futs = {client.submit(evaluate_point, fn, points[i], seeds[i], options, pure=False): i for i in todo}
        ac = as_completed(list(futs))
        try:
            for fut in ac:
                i = futs[fut]
                if fut.status == "error":
                    errors.append((i, fut.exception()))
                else:
                    done(i, fut.result())
                fut.release()
        except BaseException:
            for fut in futs:
                fut.cancel()
            raise
    finally:
        if own:
            client.close()
    _raise_first(errors, points)


def _raise_first(errors, points):
    if errors:
        i, exc = min(errors, key=lambda e: e[0])
        if hasattr(exc, "add_note"):
            exc.add_note(f"sweep: point {i} {points[i]!r} failed ({len(errors)} point(s) failed; "
                         "finished points are cached, a rerun computes only the rest)")
        raise exc


# ---------------------------------------------------------------------------- assembly
def assemble(names, shape, points, seeds, records, *, grid, mode, quantiles, attrs):
    """Stack per-point records into the Dataset (points in index order)."""
    import xarray as xr

    kinds = {str(r["kind"]) for r in records}
    mems = {tuple(r["members"].tolist()) for r in records}
    if len(kinds) != 1 or len(mems) != 1:
        raise ValueError(f"fn: every point must return the same kind of result, got {sorted(kinds)} with "
                         f"members {sorted(mems)}")
    kind, members = kinds.pop(), list(mems.pop())
    M, Q = len(members), len(quantiles)
    T = max(r["t"].shape[0] for r in records)
    n = len(records)

    def stack(name, fill, dtype):
        first = records[0][name]
        out = np.full((n,) + first.shape[:-1] + (T,), fill, dtype=dtype)
        for i, r in enumerate(records):
            a = r[name]
            out[(i,) + (slice(None),) * (a.ndim - 1) + (slice(0, a.shape[-1]),)] = a
        return out

    t = stack("t", np.nan, float)
    step = stack("step", -1, np.int64)
    per_time = {"mean": stack("mean", np.nan, float), "stderr": stack("stderr", np.nan, float),
                "median": stack("median", np.nan, float), "diverged": stack("diverged", -1, np.int64)}
    quant = stack("quantile", np.nan, float)
    per_member = {k: np.stack([r[k] for r in records]) for k in ("paths", "stationary", "stationary_stderr")}

    gdims = list(names) if mode == "cross" else ["point"]
    mdim = ["member"] if kind == "comparison" else []
    gshape = tuple(shape)

    def grid_shaped(a, extra_dims):
        a = a.reshape(gshape + a.shape[1:])
        if not mdim:
            a = a[(slice(None),) * len(gshape) + (0,)]
        return (tuple(gdims + mdim + extra_dims), a)

    data = {k: grid_shaped(v, ["time"]) for k, v in per_time.items()}
    data["quantiles"] = grid_shaped(quant, ["quantile", "time"])
    data.update({k: grid_shaped(v, []) for k, v in per_member.items()})
    data["point_seed"] = (tuple(gdims), np.array(seeds, dtype=np.int64).reshape(gshape))

    coords = {"quantile": ("quantile", np.asarray(quantiles, dtype=float))}
    if mdim:
        coords["member"] = ("member", np.array(members))
    if mode == "cross":
        for name in names:
            coords[name] = (name, _coord_array([_label(v) for v in grid[name]]))
    else:
        for name in names:
            coords[name] = ("point", _coord_array([_label(p[name]) for p in points]))
    same_t = all(np.array_equal(t[0], t[i], equal_nan=True) for i in range(1, n))
    if same_t:
        coords["t"] = ("time", t[0])
        coords["step"] = ("time", step[0])
    else:
        coords["t"] = (tuple(gdims + ["time"]), t.reshape(gshape + (T,)))
        coords["step"] = (tuple(gdims + ["time"]), step.reshape(gshape + (T,)))
    ds = xr.Dataset(data, coords=coords, attrs=dict(attrs, kind=kind))
    _describe(ds)
    return ds


def _coord_array(labels):
    if all(isinstance(v, int) for v in labels):
        return np.array(labels, dtype=np.int64)
    if all(isinstance(v, (int, float)) for v in labels):
        return np.array(labels, dtype=float)
    return np.array([str(v) for v in labels])


def _describe(ds):
    obs = ds.attrs["observable"]
    text = {
        "mean": f"mean of {obs} over non-diverged paths",
        "stderr": f"Monte Carlo standard error of the mean of {obs}",
        "median": f"median of {obs} over all paths (diverged = +inf)",
        "quantiles": f"quantiles of {obs} over all paths (diverged = +inf)",
        "diverged": "paths diverged at or before this save point (-1: no such save point)",
        "paths": "number of paths",
        "stationary": f"stationary level of {obs}: per-path time average, mean over non-diverged paths",
        "stationary_stderr": "standard error of the stationary level",
        "point_seed": "seed passed to fn at this point: SeedSequence(seed, spawn_key=(index,)), 63 bits",
    }
    for k, v in text.items():
        ds[k].attrs["long_name"] = v


# ``methods.sweep`` is this function (it hides the module); the grid, seed, result and backend rules are
# in the module docstring: ``sys.modules["methods.sweep"].__doc__``
