"""Discrete optimizers and their Monte Carlo engine (knows nothing of SDEs).

    from methods import landscapes, noise, compressors, optimizers, schedules, simulate
"""
from . import compressors, landscapes, noise, optimizers, schedules
from .engine import simulate
from .parallel import CHUNK
from .run import Run

__all__ = ["compressors", "landscapes", "noise", "optimizers", "schedules", "simulate", "Run", "CHUNK"]
