"""``SDEModel``: the compiled one-step map of an SDE plus what it models and where it comes from.

A model's state ``y`` holds the iterate ``X`` first (``y[:d]``) and any auxiliary processes
after it (``V`` for RMSprop, ``M, V`` for Adam). Its kernel

    ``step(t, y, dt, dw, s, p, lp, work)``

advances ``y`` in place over ``[t, t + dt]`` given the Brownian increment ``dw`` (already
scaled by ``sqrt(dt)``, length ``noise_dim``), the schedule factor ``s = eta_t``, the model
parameters ``p``, the landscape parameters ``lp`` and a scratch vector ``work``.
``euler_maruyama(drift, diffuse)`` builds the standard scheme ``y += b dt + G dw`` from a
drift ``drift(t, y, s, p, lp, work, out)`` and a diffusion applied to the increment,
``diffuse(t, y, s, p, lp, dw, work, out)`` (``out += G dw``).
"""
from __future__ import annotations

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
    source: str                 # spec section the formulas come from
    formula: str                # the SDE, human readable
    y0_tail: np.ndarray = field(default_factory=lambda: np.zeros(0))  # initial auxiliary state
    finite_time_blowup_ok: bool = False

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
        def step(t, y, dt, dw, s, p, lp, work):
            n = y.shape[0]
            b = work[:n]
            gdw = work[n:2 * n]
            rest = work[2 * n:]
            for j in range(n):
                gdw[j] = 0.0
            drift(t, y, s, p, lp, rest, b)
            diffuse(t, y, s, p, lp, dw, rest, gdw)
            for j in range(n):
                y[j] += b[j] * dt + gdw[j]

        _EM[key] = step
    return _EM[key]
