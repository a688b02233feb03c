"""Coordinate-wise clipped SGD, a server rule beside ``optimizers.ClippedSGD`` (norm clipping).

    x_{k+1, j} = x_{k, j} - lr eta_k clip_c(v_{k, j}),   clip_c(y) = max(-c, min(c, y)),

``v_k`` the server's (averaged, transformed) direction. In ``d = 1`` it is ``ClippedSGD``. Unlike
norm clipping it acts on each coordinate alone, so with independent noise coordinates its SDE
factorises coordinate by coordinate (``sde.clipped``).
"""
from __future__ import annotations

from dataclasses import dataclass

from ._jit import kernel
from .optimizers import ClippedSGD


@kernel
def _coordinate_clipped_update(x, v, state, k, lr, p):
    c = p[0]
    for j in range(x.shape[0]):
        x[j] -= lr * max(-c, min(c, v[j]))


@dataclass(frozen=True, eq=False)
class CoordinateClippedSGD(ClippedSGD):
    """``x_{k+1} = x_k - lr eta_k clip_c(v_k)`` coordinate by coordinate (parameters as ``ClippedSGD``)."""

    _update = staticmethod(_coordinate_clipped_update)
