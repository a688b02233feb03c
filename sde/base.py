"""``SDEModel``: the compiled one-step map of an SDE plus what it models and where it comes from.

A model's state ``y`` holds the iterate ``X`` first (``y[:d]``) and any auxiliary processes
after it (``V`` for RMSprop, ``M, V`` for Adam). Its kernel

    ``step(t, y, dt, z, s, p, lp, work)``

advances ``y`` in place over ``[t, t + dt]`` given the Brownian increment ``sqrt(dt) z``
(``z`` standard normal, length ``noise_dim``), the schedule factor ``s = eta_t``, the model
parameters ``p``, the landscape parameters ``lp`` and a scratch vector ``work``.
Two builders give the standard scheme ``y += b dt + G sqrt(dt) z``:

* ``euler_maruyama(drift, diffuse)`` from a drift ``drift(t, y, s, p, lp, work, out)`` and a
  diffusion applied to the noise, ``diffuse(t, y, s, p, lp, z, work, out)`` (``out += G z``);
* ``euler_maruyama_diag(drift, coef)`` for diagonal ``G = diag(coef(t, y, s, p, lp, work, out))``,
  combined with the drift in a single pass (the fast path).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from methods._jit import kernel

PROVENANCE = ("recovered", "derived", "unsure")


@dataclass(frozen=True, eq=False)
class SDEModel:
    method: str                 # the discrete method it models, e.g. "DCSGD"
    kind: str                   # e.g. "classic", "second_order", "corrected"
    landscape: object
    noise: object
    optimizer: object
    params: np.ndarray
    step: Callable
    key: tuple                  # what the compiled step depends on (memoisation)
    state_dim: int
    noise_dim: int
    work_size: int
    time_per_step: float        # SDE time of one optimizer iteration (lr, or lr^2 for Malladi)
    provenance: str             # recovered / derived / unsure
    source: str                 # the paper (arXiv id and its numbering, or "derived here") the formulas come from
    formula: str                # the SDE, human readable
    y0_tail: np.ndarray = field(default_factory=lambda: np.zeros(0))  # initial auxiliary state
    driving_alpha: float = 2.0  # < 2: the step is driven by symmetric alpha-stable variates, not normals
    diffusion: str = "diagonal"  # the diffusion's structure: additive, diagonal, diag+rank1, dense-constant, dense

    @property
    def d(self) -> int:
        return self.landscape.d

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def initial_state(self, x0: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(x0, dtype=np.float64), self.y0_tail])

    def __repr__(self):
        return (f"SDEModel({self.method}, kind={self.kind!r}, {self.provenance}; {self.source})\n  {self.formula}")


_EM: dict = {}


def euler_maruyama(drift, diffuse):
    """The Euler-Maruyama step ``y <- y + b(t, y) dt + G(t, y) dw`` (one memoised kernel per pair).

    ``work`` must hold ``2 n`` floats beyond what drift and diffusion use themselves: the
    drift is written to ``work[:n]`` and the noise to ``work[n:2n]`` before ``y`` changes.
    """
    key = (drift, diffuse)
    if key not in _EM:

        @kernel
        def step(t, y, dt, z, s, p, lp, work):
            n = y.shape[0]
            b = work[:n]
            gz = work[n:2 * n]
            rest = work[2 * n:]
            for j in range(n):
                gz[j] = 0.0
            drift(t, y, s, p, lp, rest, b)
            diffuse(t, y, s, p, lp, z, rest, gz)
            sq = math.sqrt(dt)
            for j in range(n):
                y[j] += b[j] * dt + sq * gz[j]

        _EM[key] = step
    return _EM[key]


def euler_maruyama_diag(drift, coef):
    """Euler-Maruyama for a diagonal diffusion ``G = diag(c)``: ``y_j += b_j dt + c_j sqrt(dt) z_j``."""
    key = ("diag", drift, coef)
    if key not in _EM:

        @kernel
        def step(t, y, dt, z, s, p, lp, work):
            n = y.shape[0]
            b = work[:n]
            c = work[n:2 * n]
            rest = work[2 * n:]
            drift(t, y, s, p, lp, rest, b)
            coef(t, y, s, p, lp, rest, c)
            sq = math.sqrt(dt)
            for j in range(n):
                y[j] += b[j] * dt + sq * c[j] * z[j]

        _EM[key] = step
    return _EM[key]
