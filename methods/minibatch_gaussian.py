"""The Gaussian twin of a minibatch oracle: ``g ~ N(grad f_a(x), Sigma_a(x))`` with the minibatch covariance.

``GaussianMinibatch(minibatch)`` (exported as ``methods.noise.GaussianMinibatch``) returns, for agent
``a`` with shard ``I_a`` (``n_a`` samples), the shard gradient plus a Gaussian with exactly the
minibatch oracle's covariance ``Sigma_a(x) = c(n_a, B) Cov_{i in I_a} grad f_i(x)``:

    ``g = grad f_{I_a}(x) + sqrt(c_a / n_a) sum_{i in I_a} (z_i - zbar) grad h_i(x)``,  ``z_i`` i.i.d. N(0, 1)

(``h_i`` the data term; the factor of ``sde.finite_sum``, ``O(n_a d)`` a draw). It has the minibatch
oracle's first two moments at every ``x`` and a Gaussian law: the discrete method driven by it is the
chain that the SDEs with the minibatch covariance assume (they treat minibatch noise as Gaussian, a
central-limit approximation), so comparing a method under ``Minibatch`` and under its twin measures
that approximation's error alone, and comparing the twin-driven method with the SDE measures the weak
(step-size) error alone. Derived here (a diagnostic device).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import rng as _rng
from ._jit import kernel
from .component import State, shape_of
from .noise import Noise, NoiseKernels

_SAMPLERS: dict = {}


def _sampler_for(grad_add, batch_grad):
    key = (grad_add, batch_grad)
    if key in _SAMPLERS:
        return _SAMPLERS[key]

    @kernel
    def sample(rng, x, g, gn2, lp, p, agent, state, out):
        # p = [A, offsets (A), sizes (A), scales (A), indices]
        A = int(p[0])
        off = int(p[1 + agent])
        na = int(p[1 + A + agent])
        sc = p[1 + 2 * A + agent]
        idx = p[1 + 3 * A + off:1 + 3 * A + off + na]
        batch_grad(x, idx, na, lp, out)
        z = state[:na]
        _rng.fill_normal(rng, z)
        zm = 0.0
        for q in range(na):
            zm += z[q]
        zm /= na
        for q in range(na):
            grad_add(x, int(idx[q]), sc * (z[q] - zm), lp, out)

    _SAMPLERS[key] = sample
    return sample


@dataclass(frozen=True, eq=False)
class GaussianMinibatch(Noise):
    """``N(grad f_a(x), Sigma_a(x))`` with ``minibatch``'s covariance at ``x`` (see the module)."""

    minibatch: Noise = None
    needs_full_grad = False

    def __post_init__(self):
        from .minibatch import Minibatch

        if not isinstance(self.minibatch, Minibatch):
            raise ValueError(f"minibatch must be a methods.noise.Minibatch, got {self.minibatch!r}")

    @property
    def landscape(self):
        """The minibatch oracle's landscape."""
        return self.minibatch.landscape

    @property
    def batch(self):
        """The minibatch oracle's batch size."""
        return self.minibatch.batch

    @property
    def kernels(self) -> NoiseKernels:
        sk = self.minibatch.landscape.sample_kernels
        return NoiseKernels(_sampler_for(sk.grad_add, sk.batch_grad), None)

    def children(self):
        return (self.minibatch.landscape,)

    def structure(self):
        return (False, "gaussian-minibatch")

    def check_landscape(self, landscape):
        """As ``Minibatch.check_landscape``: the data must be the oracle's own."""
        self.minibatch.check_landscape(landscape)

    def state(self, shape):
        """Per agent: scratch for the ``n_a`` normals."""
        shape = shape_of(shape)
        return State(max(self.minibatch.shard_sizes(shape.agents)), "agent", None)

    def _pack(self, d, agents):
        mb = self.minibatch
        if d != mb.landscape.d:
            raise ValueError(f"noise: the minibatch oracle's landscape has d = {mb.landscape.d}, the problem d = {d}")
        sh = [mb.shard(a, agents) for a in range(agents)]
        sizes = np.array([s.size for s in sh], dtype=float)
        offsets = np.concatenate([[0.0], np.cumsum(sizes)[:-1]])
        scales = np.array([math.sqrt(mb.c(a, agents) / s.size) for a, s in enumerate(sh)])
        return np.concatenate([[float(agents)], offsets, sizes, scales, np.concatenate(sh).astype(float)])

    def covariance_at(self, x, agent: int = 0, agents: int = 1) -> np.ndarray:
        """The minibatch oracle's ``c(n_a, B) Cov_{i in I_a} grad f_i(x)``."""
        return self.minibatch.covariance_at(x, agent, agents)

    def sample(self, grad=None, *, x=None, agent: int = 0, agents: int = 1, rng=None, size=None, landscape=None):
        """Draw ``size`` outputs at ``x`` from Python (``grad`` is ignored)."""
        f = self.minibatch.landscape
        x = np.zeros(f.d) if x is None else x
        grad = np.zeros(f.d) if grad is None else grad
        return super().sample(grad, x=x, agent=agent, agents=agents, rng=rng, size=size,
                              landscape=f if landscape is None else landscape)

    def covariance(self, d, agents, grad_norm=0.0):
        raise ValueError("noise: the minibatch covariance depends on the point; use covariance_at(x)")

    def covariance_parts(self, d, agents):
        raise ValueError("noise: the minibatch covariance depends on the point; the SDE models take the "
                         "Minibatch oracle itself")
