"""Results as ``xarray.Dataset`` and netCDF files (needs the ``sweep`` extra: xarray, h5netcdf).

* ``run_to_xarray(run)`` (``Run.to_xarray``): variables ``loss``, ``grad_norm`` (time, path),
  ``diverged_at`` (path), ``iterates`` (time, path, coordinate) when recorded; coordinates
  ``t`` (time), ``step`` (time); attributes ``seed``, ``engine`` and the configuration (each
  entry's ``repr``, as JSON). ``run_from_xarray`` rebuilds the ``Run`` (configuration as those
  strings).
* ``comparison_to_xarray(cmp)`` (``sde.Comparison.to_xarray``): the same with a leading
  ``member`` dimension: ``discrete``, then each SDE kind.
* ``save(ds, path)`` writes netCDF-4 through h5netcdf, atomically (temporary file, then
  rename); ``load(path)`` reads it fully into memory and closes the file. Neither pickles: a
  results file holds numbers, strings and attributes, so opening one never runs code.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np

ENGINE = "h5netcdf"


def _xr():
    try:
        import xarray as xr
    except ImportError as exc:  # pragma: no cover - the sweep extra is part of the test extra
        raise ImportError("xarray is needed here: pip install 'sde-workbench[sweep]'") from exc
    return xr


def _config_json(config: dict) -> str:
    return json.dumps({str(k): repr(v) for k, v in (config or {}).items()}, sort_keys=True)


def _seed_attr(seed):
    return int(seed) if isinstance(seed, (int, np.integer)) else repr(seed)


def run_to_xarray(run):
    """A ``Run`` as a Dataset (see the module docstring)."""
    xr = _xr()
    data = {"loss": (("time", "path"), np.asarray(run.loss)),
            "grad_norm": (("time", "path"), np.asarray(run.grad_norm)),
            "diverged_at": (("path",), np.asarray(run.diverged_at, dtype=np.int64))}
    if run.iterates is not None:
        data["iterates"] = (("time", "path", "coordinate"), np.asarray(run.iterates))
    ds = xr.Dataset(data, coords={"t": ("time", np.asarray(run.t, dtype=float)),
                                  "step": ("time", np.asarray(run.step, dtype=np.int64))})
    ds["loss"].attrs["long_name"] = "f(x) - f_star per path (+inf after divergence)"
    ds["grad_norm"].attrs["long_name"] = "||grad f(x)|| per path (+inf after divergence)"
    ds["diverged_at"].attrs["long_name"] = "first step whose save point was non-finite or above blowup; -1 if never"
    ds.attrs.update({"engine": str(run.engine), "seed": _seed_attr(run.seed), "config": _config_json(run.config)})
    return ds


def run_from_xarray(ds):
    """The ``Run`` stored by ``run_to_xarray`` (its configuration as the stored strings)."""
    from .run import Run

    seed = ds.attrs.get("seed")
    return Run(t=ds["t"].values, step=ds["step"].values, loss=ds["loss"].values, grad_norm=ds["grad_norm"].values,
               diverged_at=ds["diverged_at"].values, seed=int(seed) if isinstance(seed, (int, np.integer)) else seed,
               config=json.loads(ds.attrs.get("config", "{}")),
               iterates=ds["iterates"].values if "iterates" in ds else None, engine=str(ds.attrs.get("engine", "")))


def comparison_to_xarray(cmp):
    """A comparison (``discrete`` run and ``sde`` dict of runs) as one Dataset with a ``member``
    dimension; every member must have the same save points and number of paths."""
    xr = _xr()
    names = ["discrete"] + [str(k) for k in cmp.sde]
    runs = [cmp.discrete] + list(cmp.sde.values())
    shapes = {r.loss.shape for r in runs}
    if len(shapes) != 1:
        raise ValueError(f"cmp: members have different (save points, paths) shapes {sorted(shapes)}")
    parts = [run_to_xarray(r).drop_vars(["t", "step"]) for r in runs]
    for p in parts:
        p.attrs = {}
    ds = xr.concat(parts, dim="member").assign_coords(member=names)
    ds = ds.assign_coords(t=("time", np.asarray(cmp.discrete.t, dtype=float)),
                          step=("time", np.asarray(cmp.discrete.step, dtype=np.int64)))
    ds["seed"] = ("member", np.array([_seed_attr(r.seed) for r in runs], dtype=np.int64))
    ds.attrs["config"] = _config_json(cmp.discrete.config)
    return ds


def save(ds, path) -> Path:
    """Write ``ds`` to netCDF-4 at ``path`` atomically (h5netcdf engine)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine=ENGINE, invalid_netcdf=False)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load(path):
    """Read a netCDF file written by ``save`` fully into memory (the file is closed on return)."""
    xr = _xr()
    with xr.open_dataset(path, engine=ENGINE) as ds:
        return ds.load()
