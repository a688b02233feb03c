"""Momentum at each agent: a compressor wrapper whose per-agent state is the agent's momentum buffer.

``AgentMomentum(inner, momentum, dampening=0, nesterov=False)``: agent ``i`` keeps its own buffer
``b_i`` (the per-agent state of ``methods.component``) and sends the compressed momentum direction,
with ``torch.optim.SGD``'s momentum rule applied to the agent's oracle output ``v_i``:

    b_i = v_i (first step);   b_i <- mu b_i + (1 - tau) v_i   (later steps)
    d_i = v_i + mu b_i (nesterov)   or   d_i = b_i,            agent i sends C_i(d_i)

and the server applies its own rule to ``mean_i C_i(d_i)`` (plain ``SGD``/``DCSGD``: ``x <- x - lr
eta_k mean_i C_i(d_i)``). This is "momentum at each agent", the distributed form beside the server
momentum of ``optimizers.SGDM`` with ``agents > 1`` (one buffer fed with the averaged direction).
Without compression the two agree in exact arithmetic (the buffer update is linear), and with one
agent ``SGD(compressor=AgentMomentum(Identity(), mu))`` is ``SGDM(mu)`` bit for bit; with a
compressor they differ: here each agent compresses its own momentum (the order of
Clip21-SGD2M's client momentum, arXiv 2502.11682, and of the distributed momentum methods of this
line). Weight decay is the server's (the optimizer's) business, not the agent's. Provenance: torch's
definition per agent (recovered for one agent, the distributed composition derived here).

State per agent: ``[b (d), started, d_i (d)]``; ``started`` keeps torch's first-step copy right for a
run resumed at any step.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks
from ._jit import inline_kernel, kernel
from .component import State
from .compressors import Compressor, CompressorKernels, _AroundInner

_KERNELS: dict = {}


@inline_kernel
def torch_momentum(g, b, first, mu, w, nesterov):
    """One coordinate of ``torch.optim.SGD``'s momentum: the new buffer ``b' = g`` (first step) or
    ``mu b + w g`` (``w = 1 - dampening``), and the step direction ``g + mu b'`` (nesterov) or ``b'``.
    Shared by the server rule ``momentum.SGDM`` and ``AgentMomentum``."""
    if first:
        nb = g
    else:
        nb = b * mu + w * g
    if nesterov:
        return nb, g + mu * nb
    return nb, nb


def _momentum_kernels(inner):
    """``compress`` and ``init`` of agent momentum around ``inner``'s kernels (one pair per inner)."""
    if inner in _KERNELS:
        return _KERNELS[inner]
    compress_inner, _ = inner

    @kernel
    def compress(rng, v, p, agent, state, iwork, out):
        # p = [inner's parameters..., momentum, dampening, nesterov]; state = [b (d) | started | d_i (d)]
        d = v.shape[0]
        n = p.shape[0] - 3
        mu = p[n]
        w = 1.0 - p[n + 1]
        nesterov = p[n + 2] != 0.0
        b = state[:d]
        direction = state[d + 1:2 * d + 1]
        first = state[d] == 0.0
        state[d] = 1.0
        for j in range(d):
            b[j], direction[j] = torch_momentum(v[j], b[j], first, mu, w, nesterov)
        compress_inner(rng, direction, p[:n], agent, state[:0], iwork, out)

    @kernel
    def init(state, p):  # b_i = 0, not started
        for j in range(state.shape[0]):
            state[j] = 0.0

    _KERNELS[inner] = (compress, init)
    return _KERNELS[inner]


@dataclass(frozen=True)
class AgentMomentum(_AroundInner, Compressor):
    """Momentum kept at each agent, then the inner compressor (see the module docstring):
    ``b_i <- mu b_i + (1 - dampening) v_i`` (``b_i = v_i`` first), agent ``i`` sends
    ``C_i(b_i)`` (``C_i(v_i + mu b_i)`` with ``nesterov``). ``momentum`` in [0, 1), ``dampening`` in
    [0, 1]; ``nesterov`` needs ``momentum > 0`` and ``dampening = 0``, as in torch."""

    inner: Compressor = None
    momentum: float = 0.9
    dampening: float = 0.0
    nesterov: bool = False
    unbiased = False  # the momentum direction is not an unbiased estimate of the current gradient

    def __post_init__(self):
        self._set_inner("agent momentum")
        object.__setattr__(self, "momentum", _checks.in_interval("momentum", self.momentum, 0.0, 1.0))
        object.__setattr__(self, "dampening",
                           _checks.in_interval("dampening", self.dampening, 0.0, 1.0, closed_hi=True))
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise ValueError(f"nesterov must be True or False, got {self.nesterov!r}")
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov momentum requires momentum > 0 and dampening = 0 (as in torch)")

    @property
    def kernels(self):
        """The momentum ``compress`` and ``init`` built around the inner compressor's kernels (one
        compiled pair per inner ``compress``)."""
        return CompressorKernels(*_momentum_kernels(tuple(self.inner.kernels)))

    def _pack(self, d, agents):
        return np.concatenate([np.asarray(self.inner._pack(d, agents), dtype=np.float64),
                               [self.momentum, self.dampening, 1.0 if self.nesterov else 0.0]])

    def state(self, shape):
        """Per agent ``2 d + 1`` floats: the buffer ``b_i``, the started flag and the scratch
        direction ``d_i``, all zero at the start of a path."""
        return State(2 * shape.d + 1, "agent", self.kernels.init)
