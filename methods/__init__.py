"""Discrete optimizers and their Monte Carlo engine (knows nothing of SDEs).

    from methods import landscapes, noise, compressors, optimizers, schedules, simulate
    from methods import sweep        # parameter grids on threads or dask, into xarray (methods.sweep)
"""
from . import compressors, landscapes, noise, optimizers, schedules
from .engine import simulate
from .parallel import CHUNK
from .run import Run
from .sweep import sweep

__all__ = ["compressors", "landscapes", "noise", "optimizers", "schedules", "simulate", "sweep", "Run", "CHUNK"]
