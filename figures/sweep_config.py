"""Sweep configurations in TOML, for ``sde-workbench sweep CONFIG.toml``.

A configuration names a landscape, an optimizer, a noise and the run settings, and a grid
over any of their fields (dotted paths)::

    [landscape]
    type = "DiagonalQuadratic"        # any constructor of methods.landscapes
    lambdas = [1.0, 2.0, 4.0]         # its keyword arguments

    [optimizer]
    type = "SGD"                      # methods.optimizers (SGD, DCSGD, DSignSGD, Adam, ...)
    lr = 0.01
    schedule = { type = "InvSqrt" }   # nested components: methods.schedules / methods.compressors
    # compressor = { type = "RandK", k = 2 }

    [noise]
    type = "Gaussian"                 # methods.noise
    sigma = 1.0

    [run]
    engine = "simulate"               # or "compare" (discrete beside sde.compare's kinds)
    steps = 1000
    paths = 512
    x0 = 1.0
    # save_every, blowup, threads (engine threads per point), kinds, refine (compare)

    [sweep]
    seed = 0                          # root seed: point i gets SeedSequence(seed, spawn_key=(i,))
    # mode = "cross" | "zip", observable, quantiles, burn_in, after, workers

    [grid]
    "optimizer.lr" = [0.005, 0.01, 0.02]
    "noise.sigma" = [0.5, 1.0, 2.0]

``load(path)`` parses and checks everything (unknown sections and keys, types, every
component of every grid point is constructed, and its shapes checked against the landscape's
dimension and the number of agents) before any compute; a problem raises ``ConfigError``
naming the file, the line and the key. ``point_fn(cfg)`` is the ``fn(point, seed)`` of
``methods.sweep``: a picklable ``functools.partial`` of plain TOML data (so it travels to
dask workers and keys the sweep cache by its contents).
"""
from __future__ import annotations

import copy
import functools
import inspect
import re
import tomllib
from pathlib import Path

SECTIONS = ("landscape", "optimizer", "noise", "run", "sweep", "grid")
COMPONENTS = {"landscape": "landscapes", "optimizer": "optimizers", "noise": "noise",
              "compressor": "compressors", "schedule": "schedules", "base": "schedules"}
_NOT_FROM_CONFIG = {"Landscape", "LandscapeKernels", "Custom", "Noise", "Optimizer", "Compressor", "Schedule"}
RUN_KEYS = {"engine": str, "steps": int, "paths": int, "x0": (int, float, list), "save_every": int,
            "blowup": (int, float), "threads": int, "kinds": list, "refine": int}
SWEEP_KEYS = {"seed": int, "mode": str, "observable": str, "quantiles": list, "burn_in": (int, float),
              "after": (int, float), "workers": int}


class ConfigError(ValueError):
    """A bad sweep configuration: the message names the file, the line and the key."""


# ---------------------------------------------------------------------------- line numbers
def _split_key(text: str) -> list[str]:
    """``a."b.c".d`` -> ``["a", "b.c", "d"]``."""
    parts, cur, quote = [], "", None
    for ch in text.strip():
        if quote:
            if ch == quote:
                quote = None
            else:
                cur += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append(cur.strip())
            cur = ""
        else:
            cur += ch
    parts.append(cur.strip())
    return parts


_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEYLINE = re.compile(r"""^\s*((?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|"[^"]*"|'[^']*'))*)\s*=""")
_INLINE_KEY = re.compile(r"""[{,]\s*([A-Za-z0-9_\-]+|"[^"]*"|'[^']*')\s*=""")


def key_lines(text: str) -> dict[tuple, int]:
    """Map every table header and key (as a tuple path) to its 1-based line number. A simple
    line scanner (TOML's grammar is line-based for headers and keys); keys of inline tables are
    found on their parent's line."""
    out: dict[tuple, int] = {}
    table: tuple = ()
    depth = 0  # open brackets of a multi-line array
    for n, line in enumerate(text.splitlines(), 1):
        if depth == 0:
            m = _HEADER.match(line)
            if m:
                table = tuple(_split_key(m.group(1)))
                out.setdefault(table, n)
                continue
            m = _KEYLINE.match(line)
            if m:
                path = table + tuple(_split_key(m.group(1)))
                out.setdefault(path, n)
                rest = line[m.end():]
                for k in _INLINE_KEY.findall(rest):
                    out.setdefault(path + tuple(_split_key(k)), n)
                depth = max(0, _depth(rest))
        else:
            depth = max(0, depth + _depth(line))
    return out


def _depth(s: str) -> int:
    s = re.sub(r'"[^"]*"|\'[^\']*\'', "", s.split("#", 1)[0])
    return s.count("[") - s.count("]")


# ---------------------------------------------------------------------------- the configuration
class Config:
    """A checked configuration: ``base`` (plain TOML data without ``[grid]`` / ``[sweep]``),
    ``grid`` (dotted path -> values), ``sweep`` options and ``source`` (file name)."""

    def __init__(self, base, grid, sweep, source, lines):
        self.base, self.grid, self.sweep, self.source, self._lines = base, grid, sweep, source, lines

    def line(self, path) -> int | None:
        """The line of the TOML file that sets the key ``path`` (a dotted key such as ``grid.optimizer.lr``), or ``None``."""
        return _find_line(self._lines, path)


def _find_line(lines, path):
    """Line of ``path`` or of its nearest enclosing key; a grid key is found quoted
    (``"optimizer.lr" = ...``) or dotted (``optimizer.lr = ...``)."""
    p = tuple(path)
    while p:
        for q in (p, p[:1] + (".".join(p[1:]),) if len(p) > 2 else p):
            if q in lines:
                return lines[q]
        p = p[:-1]
    return None


def _err(source, lines, path, msg):
    ln = _find_line(lines, path)
    where = f"{source}:{ln}" if ln is not None else source
    return ConfigError(f"{where}: {'.'.join(path)}: {msg}")


def loads(text: str, source: str = "<config>") -> Config:
    """Parse and check a configuration (see the module docstring)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: not valid TOML: {exc}") from None
    lines = key_lines(text)
    for k in data:
        if k not in SECTIONS:
            raise _err(source, lines, (k,), f"unknown section; expected one of {list(SECTIONS)}")
    for k in ("landscape", "optimizer", "run"):
        if k not in data:
            raise ConfigError(f"{source}: missing section [{k}]")
    for k in SECTIONS:
        if k in data and not isinstance(data[k], dict):
            raise _err(source, lines, (k,), "must be a table")
    base = {k: data[k] for k in ("landscape", "optimizer", "noise", "run") if k in data}
    sweep = dict(data.get("sweep", {}))
    plain = functools.partial(_err, source, lines)
    _check_keys(("run",), base["run"], RUN_KEYS, plain)
    _check_keys(("sweep",), sweep, SWEEP_KEYS, plain)
    if "seed" not in sweep:
        raise _err(source, lines, ("sweep",), "needs seed = <int >= 0> (the root seed of the sweep)")
    grid = _flatten(data.get("grid", {}))
    if not grid:
        raise _err(source, lines, ("grid",), "needs at least one entry such as \"optimizer.lr\" = [0.01, 0.02]")
    for path, vals in grid.items():
        parts = tuple(path.split("."))
        gpath = ("grid",) + parts
        if not isinstance(vals, list) or not vals:
            raise _err(source, lines, gpath, f"must be a non-empty array of values, got {vals!r}")
        if parts[0] not in ("landscape", "optimizer", "noise", "run") or len(parts) < 2:
            raise _err(source, lines, gpath, "must name a field as section.field, with section one of "
                                             "landscape, optimizer, noise, run")
    cfg = Config(base, grid, sweep, source, lines)
    _check_sweep_options(cfg)
    _check_points(cfg)
    return cfg


def load(path) -> Config:
    """Read and check the sweep configuration in the TOML file ``path`` (``loads`` on its text); errors name the file, line and key."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    return loads(text, str(path))


def _flatten(d, prefix=()):
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, prefix + (k,)))
        else:
            out[".".join(prefix + (k,))] = v
    return out


def _check_keys(where, table, allowed, err):
    for k, v in table.items():
        if k not in allowed:
            raise err(where + (k,), f"unknown key; expected one of {sorted(allowed)}")
        types = allowed[k] if isinstance(allowed[k], tuple) else (allowed[k],)
        if isinstance(v, bool) or not isinstance(v, types):
            raise err(where + (k,), f"must be {' or '.join(t.__name__ for t in types)}, got {v!r}")


def _check_sweep_options(cfg):
    s, src, ln = cfg.sweep, cfg.source, cfg._lines
    if s["seed"] < 0:
        raise _err(src, ln, ("sweep", "seed"), f"must be >= 0, got {s['seed']}")
    if s.get("mode", "cross") not in ("cross", "zip"):
        raise _err(src, ln, ("sweep", "mode"), f"must be 'cross' or 'zip', got {s['mode']!r}")
    if s.get("mode") == "zip" and len({len(v) for v in cfg.grid.values()}) > 1:
        raise _err(src, ln, ("grid",), "mode = 'zip' needs arrays of one length, got "
                                       f"{ {k: len(v) for k, v in cfg.grid.items()} }")
    for q in s.get("quantiles", []):
        if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q <= 1:
            raise _err(src, ln, ("sweep", "quantiles"), f"must be numbers in [0, 1], got {q!r}")
    if "burn_in" in s and not 0 <= s["burn_in"] < 1:
        raise _err(src, ln, ("sweep", "burn_in"), f"must lie in [0, 1), got {s['burn_in']!r}")
    if "workers" in s and s["workers"] < 1:
        raise _err(src, ln, ("sweep", "workers"), f"must be >= 1, got {s['workers']}")
    if s.get("observable", "loss") not in ("loss", "grad_norm", "grad_norm_sq"):
        raise _err(src, ln, ("sweep", "observable"), f"must be loss, grad_norm or grad_norm_sq, got {s['observable']!r}")


# ---------------------------------------------------------------------------- building components
@functools.lru_cache(maxsize=None)
def constructors(kind: str) -> dict:
    """Public constructors of ``methods.<kind>`` (classes and factory functions)."""
    import importlib

    mod = importlib.import_module(f"methods.{kind}")
    return {n: obj for n, obj in vars(mod).items()
            if n[:1].isupper() and callable(obj) and getattr(obj, "__module__", "") == mod.__name__
            and n not in _NOT_FROM_CONFIG}


def _tuples(v):
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def build(table: dict, kind: str, path: tuple, err):
    """Construct the component described by ``table`` (``type`` plus keyword arguments; nested
    tables for ``compressor`` / ``schedule`` / ``base``). ``err(path, msg)`` makes the error."""
    if not isinstance(table, dict):
        raise err(path, f"must be a table with a type, got {table!r}")
    table = dict(table)
    if "type" not in table:
        raise err(path, f"needs type = one of {sorted(constructors(kind))}")
    name = table.pop("type")
    ctors = constructors(kind)
    if name not in ctors:
        raise err(path + ("type",), f"unknown {kind} {name!r}; choose from {sorted(ctors)}")
    ctor = ctors[name]
    params = inspect.signature(ctor).parameters
    kwargs = {}
    for k, v in table.items():
        if k not in params:
            raise err(path + (k,), f"{name} has no argument {k!r}; it takes {list(params)}")
        kwargs[k] = build(v, COMPONENTS[k], path + (k,), err) if isinstance(v, dict) and k in COMPONENTS \
            else _tuples(v)
    try:
        return ctor(**kwargs)
    except (ValueError, TypeError) as exc:
        bad = next((k for k in kwargs if str(exc).startswith(k)), None)
        raise err(path + ((bad,) if bad else ()), f"{name}: {exc}") from None


def apply_point(base: dict, point: dict) -> dict:
    """``base`` with each dotted path of ``point`` set to its value."""
    cfg = copy.deepcopy(base)
    for path, v in point.items():
        parts = path.split(".")
        node = cfg
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = copy.deepcopy(v)
    return cfg


def components(cfg: dict, err):
    """``(landscape, optimizer, noise, run options)`` of one point's configuration."""
    landscape = build(cfg["landscape"], "landscapes", ("landscape",), err)
    optimizer = build(cfg["optimizer"], "optimizers", ("optimizer",), err)
    noise = build(cfg["noise"], "noise", ("noise",), err) if "noise" in cfg else None
    run = dict(cfg["run"])
    return landscape, optimizer, noise, run


def _check_points(cfg: Config):
    from methods.sweep import grid_points

    mode = cfg.sweep.get("mode", "cross")
    try:
        _, _, points = grid_points(cfg.grid, mode)
    except ValueError as exc:
        raise ConfigError(f"{cfg.source}:{cfg.line(('grid',))}: grid: {exc}") from None
    for point in points:
        def err(path, msg, point=point):
            hit = [k for k in point if tuple(k.split("."))[:len(path)] == tuple(path)[:len(k.split("."))]]
            if hit:  # the problem comes from a grid value: point at the grid line
                return _err(cfg.source, cfg._lines, ("grid",) + tuple(hit[0].split(".")),
                            f"{'.'.join(path)} = {point[hit[0]]!r}: {msg}")
            return _err(cfg.source, cfg._lines, path, msg)

        c = apply_point(cfg.base, point)
        _check_keys(("run",), c["run"], RUN_KEYS, err)  # grid values over run.* too
        landscape, optimizer, noise, run = components(c, err)
        _check_run(c, landscape, optimizer, noise, err)


def _named(exc, table) -> tuple:
    """``(key,)`` when the error message starts with one of ``table``'s keys (the components'
    checks name their argument first), else ``()``."""
    return next(((k,) for k in (table or {}) if str(exc).startswith(k)), ())


def _check_run(cfg, landscape, optimizer, noise, err):
    """What ``methods.simulate`` / ``sde.compare`` check before compiling, here before any compute."""
    import numpy as np

    from methods import noise as N

    run = cfg["run"]
    engine = run.get("engine", "simulate")
    if engine not in ("simulate", "compare"):
        raise err(("run", "engine"), f"must be 'simulate' or 'compare', got {engine!r}")
    for k in ("steps", "paths"):
        if k not in run:
            raise err(("run",), f"needs {k} = <int >= 1>")
        if run[k] < 1:
            raise err(("run", k), f"must be >= 1, got {run[k]}")
    if "x0" not in run:
        raise err(("run",), "needs x0 = <number or array of length d>")
    x0 = np.asarray(run["x0"], dtype=float)
    d = landscape.d
    if x0.ndim > 1 or (x0.ndim == 1 and x0.size != d):
        raise err(("run", "x0"), f"must be a number or an array of length d = {d}, got {run['x0']!r}")
    agents = optimizer.agents
    try:
        N.resolve(noise).pack(d, agents)
    except ValueError as exc:
        raise err(("noise",) + _named(exc, cfg.get("noise")), f"does not fit d = {d}, agents = {agents}: {exc}") from None
    try:
        optimizer.compressor.pack(d, agents)
    except ValueError as exc:
        comp = cfg["optimizer"].get("compressor")
        raise err(("optimizer", "compressor") + _named(exc, comp if isinstance(comp, dict) else None), f"does not fit d = {d}, agents = {agents}: {exc}") from None
    if engine == "compare":
        import sde

        allowed = sde.kinds(optimizer)
        for k in run.get("kinds", ["classic"]):
            if k not in allowed:
                raise err(("run", "kinds"), f"{k!r} is not an SDE kind of this optimizer; choose from {list(allowed)}")
            try:
                sde.model(optimizer, landscape, noise, kind=k)
            except ValueError as exc:
                raise err(("run", "kinds"), f"no {k!r} model here: {exc}") from None
    elif "kinds" in run or "refine" in run:
        raise err(("run", "kinds" if "kinds" in run else "refine"), "only for engine = 'compare'")


def _raise_plain(path, msg):
    return ConfigError(f"{'.'.join(path)}: {msg}")


def run_point(point: dict, seed: int, *, base: dict):
    """One grid point of a configuration: build its components and run ``methods.simulate`` (or
    ``sde.compare``) with ``seed``."""
    c = apply_point(base, point)
    landscape, optimizer, noise, run = components(c, _raise_plain)
    run = dict(run)
    engine = run.pop("engine", "simulate")
    x0 = run.pop("x0")
    x0 = _tuples(x0) if isinstance(x0, list) else x0
    if engine == "compare":
        import sde

        kinds = tuple(run.pop("kinds", ["classic"]))
        return sde.compare(landscape, optimizer, noise, x0=x0, seed=seed, kinds=kinds, **run)
    from methods import simulate

    return simulate(landscape, optimizer, noise, x0=x0, seed=seed, **run)


def point_fn(cfg: Config):
    """``fn(point, seed)`` for ``methods.sweep``: ``run_point`` bound to the configuration's data."""
    return functools.partial(run_point, base=cfg.base)


def sweep_options(cfg: Config) -> dict:
    """Keyword arguments of ``methods.sweep`` from ``[sweep]``."""
    s = dict(cfg.sweep)
    out = {"seed": s.pop("seed"), "mode": s.pop("mode", "cross")}
    if "quantiles" in s:
        out["quantiles"] = tuple(s.pop("quantiles"))
    out.update(s)
    return out
