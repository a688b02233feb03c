"""One time grid for both engines: iterations to SDE time and back.

An optimizer iteration is ``h = time_per_step`` of SDE time: ``lr`` for the models of the
three papers (``t = k lr``), ``lr^2`` for Malladi et al.'s adaptive SDEs (``t = k lr^2``). Every
conversion in the package goes through ``TimeGrid``: no other code divides a horizon by a step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks


@dataclass(frozen=True)
class TimeGrid:
    """``t_k = k h`` with ``h = time_per_step`` (a float)."""

    time_per_step: float

    def __post_init__(self):
        object.__setattr__(self, "time_per_step", _checks.positive("time_per_step", self.time_per_step))

    def times(self, steps) -> np.ndarray:
        """SDE times ``k h`` of iteration indices ``steps``."""
        return np.asarray(steps) * self.time_per_step

    def steps(self, t_end, *, name: str = "t_end", rtol: float = 1e-9) -> int:
        """The number of iterations covering ``[0, t_end]``: ``t_end / h``, which must be a whole
        positive number (to ``rtol``); otherwise a ``ValueError`` naming ``name``."""
        t_end = _checks.positive(name, t_end)
        h = self.time_per_step
        steps_f = t_end / h
        steps = int(round(steps_f))
        if steps < 1 or abs(steps_f - steps) > rtol * max(1.0, steps_f):
            raise ValueError(f"{name} = {t_end} must be a positive multiple of the time per iteration {h:g} "
                             f"(got {steps_f:.6g} iterations)")
        return steps

    def horizon(self, steps: int) -> float:
        """The SDE time ``steps * h`` of a run of ``steps`` iterations."""
        return _checks.integer("steps", steps, minimum=0) * self.time_per_step
