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
  the drift, the coefficient and the update each one loop over the coordinates.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from methods._jit import inline_kernel

PROVENANCE = ("recovered", "derived", "unsure")


@dataclass(frozen=True, eq=False)
class SDEModel:
    """An SDE model of a discrete method: its compiled step, its parameters and its record.

    Built by ``sde.model(optimizer, landscape, noise, kind=...)`` (the families of
    ``sde.registry``) and run by ``sde.integrate``. The state ``y`` has ``state_dim`` floats,
    the iterate ``X = y[:d]`` first; one step ``step(t, y, dt, z, s, params, lp, work)``
    advances it over ``[t, t + dt]`` with ``noise_dim`` standard normals ``z`` (or symmetric
    alpha-stable variates when ``driving_alpha < 2``) and ``work_size`` floats of scratch.

    Fields besides the step: ``method`` (the discrete method modelled, e.g. ``"DCSGD"``) and
    ``kind`` (``"classic"``, ``"corrected"``, ...); the ``landscape``, ``noise`` and
    ``optimizer`` it was built for; ``params`` (the step's packed parameters); ``key`` (what
    the compiled step depends on, for memoisation); ``time_per_step`` (the SDE time of one
    optimizer iteration: ``lr``, or ``lr^2`` for Malladi et al.'s models); ``provenance``
    (``recovered``, ``derived`` or ``unsure``), ``source`` (the paper by arXiv id and its own
    numbering, or "derived here") and ``formula`` (the SDE, human readable); ``y0_tail`` (the
    initial auxiliary state after ``X``, e.g. ``V_0`` for RMSprop). ``params_for`` (optional:
    ``(n, dt) ->`` the step's parameters for a run of ``n`` scheme steps of ``dt``, ``params``
    followed by per-run tables such as the Adam SDE's bias factors; ``sde.integrate`` hands
    them to the step).
    """

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
    params_for: Callable | None = None  # (n, dt) -> params with per-run tables for n scheme steps of dt

    @property
    def d(self) -> int:
        """The dimension of the iterate ``X`` (the landscape's ``d``; ``state_dim >= d``)."""
        return self.landscape.d

    @property
    def lr(self) -> float:
        """The optimizer's base step ``eta`` (``lr``)."""
        return self.optimizer.lr

    def initial_state(self, x0: np.ndarray) -> np.ndarray:
        """The full initial state ``y_0 = [x0, y0_tail]``, length ``state_dim``."""
        return np.concatenate([np.asarray(x0, dtype=np.float64), self.y0_tail])

    def __repr__(self):
        return (f"SDEModel({self.method}, kind={self.kind!r}, {self.provenance}; {self.source})\n  {self.formula}")


_EM: dict = {}


def euler_maruyama(drift, diffuse):
    """The Euler-Maruyama step ``y <- y + b(t, y) dt + G(t, y) dw`` (one memoised kernel per pair).

    ``work`` must hold ``2 n`` floats beyond what drift and diffusion use themselves: the
    drift is written to ``work[:n]`` and the noise to ``work[n:2n]`` before ``y`` changes.
    Inlined into the Monte Carlo core's path loop, as are the SGD family's drift, diagonal
    coefficient and rank-one diffusion: as calls, with their array arguments, they cost DCSGD
    rand-k's SDE about 8 ns per update at d = 8 (one thread, stop 26; the same numbers either way).
    """
    key = (drift, diffuse)
    if key not in _EM:

        @inline_kernel
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

        @inline_kernel
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
