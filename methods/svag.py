"""SVAG: stochastic variance amplified gradient (Li, Malladi and Arora, arXiv 2102.12470).

SVAG is the researchers' device for testing an SDE prediction on a real problem: a family of
discrete methods indexed by ``l >= 1`` whose law converges to the SDE as ``l -> inf``, while
``l = 1`` is the plain method.

**The oracle** (``SVAG(inner, l)``, exported as ``methods.noise.SVAG``): each call draws two
independent outputs ``g_1, g_2`` of the inner oracle at the same point and returns

    ``g = (1 + sqrt(2l - 1))/2 g_1 + (1 - sqrt(2l - 1))/2 g_2``

(arXiv 2102.12470, Sec. 4, Eq. of the SVAG oracle). The weights sum to 1 and their squares to
``l``, so ``E g = E g_1`` and ``Cov g = l Cov g_1`` exactly (mean preserved, covariance times
``l``). ``l = 1`` makes the weights ``(1, 0)``: the kernel then draws once and returns the inner
draw unchanged, so a run is bit-identical to the inner oracle's. Any inner noise model works
whose successive draws are independent given ``x``: the laws of ``methods.noise`` and
``Minibatch`` with or without replacement (the partial Fisher-Yates draw of a fresh ``B``-subset
is uniform whatever the permutation it starts from). Random reshuffling is refused: the two
draws of one step would be consecutive, disjoint batches of one epoch.

**The rescaled method** (``scale(optimizer, l)``):

* SGD / DSGD (no compressor): ``eta -> eta / l``, ``l`` times as many steps, oracle ``SVAG(inner,
  l)`` (arXiv 2102.12470, Definition 4.1; Theorem 4.3: weak convergence to the SGD SDE with the
  oracle's covariance, rate ``O(1/l)``). The SDE time of one step is ``eta / l``, so the horizon
  ``steps * eta`` is unchanged;
* RMSprop / Adam (one agent, no compressor): ``eta -> eta / l``, ``1 - beta_i -> (1 - beta_i) /
  l^2``, ``eps -> eps l``, ``l^2`` times as many steps, oracle ``SVAG(inner, l^2)`` (weights with
  ``sqrt(2 l^2 - 1)``): the variant used by the adaptive-SDE line (Malladi et al., arXiv
  2205.10287, Sec. 5 and its code, whose SDEs have time ``t = k eta^2``; the companion
  experiments of arXiv 2411.15958 follow it). Provenance: UNSURE (recalled from that code, not
  seen in a paper's text; its rate of convergence is not stated here).

Schedules other than ``Constant`` are refused (they count iterations, which SVAG rescales).
``simulate(landscape, optimizer, noise, l, x0=..., steps=...)`` runs the rescaled method for the
original method's ``steps`` and saves at the original iteration indices (``save_at`` counts them),
returning a ``Run`` whose ``step`` and ``t`` are those of the original method.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _checks
from ._jit import kernel
from .component import Shape, State, shape_of
from .noise import Noise, NoiseKernels

_KERNELS: dict = {}
_HEAD = 4  # p = [w1, w2, n_inner, inner state size, inner params]


def weights(l: float) -> tuple[float, float]:
    """``((1 + sqrt(2l - 1))/2, (1 - sqrt(2l - 1))/2)``: sum 1, sum of squares ``l``."""
    l = _check_l(l)
    a = math.sqrt(2.0 * l - 1.0)
    return (1.0 + a) / 2.0, (1.0 - a) / 2.0


def _check_l(l) -> float:
    if isinstance(l, bool) or not isinstance(l, (int, float, np.integer, np.floating)) or not math.isfinite(l) or l < 1:
        raise ValueError(f"l must be a finite number >= 1, got {l!r}")
    return float(l)


def _kernels_for(inner_sample, inner_init):
    key = (inner_sample, inner_init)
    if key in _KERNELS:
        return _KERNELS[key]

    @kernel
    def sample(rng, x, g, gn2, lp, p, agent, state, out):
        n = int(p[2])
        ns = int(p[3])
        ip = p[_HEAD:_HEAD + n]
        inner_sample(rng, x, g, gn2, lp, ip, agent, state[:ns], out)
        w2 = p[1]
        if w2 != 0.0:  # l > 1: a second, independent draw (l = 1 returns the inner draw untouched)
            d = g.shape[0]
            tmp = state[ns:ns + d]
            inner_sample(rng, x, g, gn2, lp, ip, agent, state[:ns], tmp)
            w1 = p[0]
            for j in range(d):
                out[j] = w1 * out[j] + w2 * tmp[j]

    init = None
    if inner_init is not None:

        @kernel
        def init(state, p):
            n = int(p[2])
            ns = int(p[3])
            inner_init(state[:ns], p[_HEAD:_HEAD + n])

    _KERNELS[key] = NoiseKernels(sample, init)
    return _KERNELS[key]


@dataclass(frozen=True, eq=False)
class SVAG(Noise):
    """The SVAG oracle around ``inner``: ``g = w1 g_1 + w2 g_2`` of two independent inner draws,
    ``w = ((1 +- sqrt(2l - 1))/2)``; ``E g = E g_1``, ``Cov g = l Cov g_1`` (see the module)."""

    inner: Noise = None
    l: float = 1.0

    def __post_init__(self):
        from .minibatch import Minibatch

        if not isinstance(self.inner, Noise):
            raise ValueError(f"inner must be a methods.noise model, got {self.inner!r}")
        object.__setattr__(self, "l", _check_l(self.l))
        if isinstance(self.inner, Minibatch) and self.inner.reshuffle:
            raise ValueError("inner: random reshuffling gives two disjoint batches of one epoch, not independent "
                             "draws; use replacement=True or sampling without replacement")

    @property
    def weights(self) -> tuple[float, float]:
        """The combination weights ``(w1, w2)``."""
        return weights(self.l)

    @property
    def kernels(self) -> NoiseKernels:
        """The combining ``sample`` around the inner model's (one compiled kernel per inner kernel
        pair) and an ``init`` that sets the inner model's block (``None`` when it has none)."""
        ik = self.inner.kernels
        return _kernels_for(ik.sample, ik.init)

    def children(self):
        """``(inner,)``: its key composes into this one's."""
        return (self.inner,)

    @property
    def uses_grad_norm(self):
        """The inner model's ``uses_grad_norm``."""
        return self.inner.uses_grad_norm

    def structure(self):
        """``(uses_grad_norm, "svag")``."""
        return (self.uses_grad_norm, "svag")

    @property
    def batch(self):
        """The inner model's batch size."""
        return self.inner.batch

    @property
    def needs_full_grad(self):
        """Whether the oracle reads the exact gradient: the inner model's."""
        return getattr(self.inner, "needs_full_grad", True)

    def check_landscape(self, landscape):
        """The inner model's landscape check (a minibatch oracle indexes the landscape's data)."""
        check = getattr(self.inner, "check_landscape", None)
        if check is not None:
            check(landscape)

    def state(self, shape):
        """Per agent: the inner model's block, then ``d`` floats for the second draw."""
        shape = shape_of(shape)
        st = self.inner.state(shape)
        if st.size and st.per != "agent":
            raise ValueError("inner: a noise model's state must be per agent")
        init = self.kernels.init
        return State(st.size + shape.d, "agent", init)

    def _pack(self, d, agents):
        shape = Shape(d, agents)
        ip = self.inner.pack(shape)
        w1, w2 = self.weights
        return np.concatenate([[w1, w2, float(ip.size), float(self.inner.state(shape).size)], ip])

    # ------------------------------------------------------------ second moments
    @property
    def finite_variance(self):
        """The inner model's."""
        return self.inner.finite_variance

    def covariance(self, d, agents, grad_norm=0.0):
        """``l`` times the inner model's covariance (``None`` if infinite)."""
        c = self.inner.covariance(d, agents, grad_norm)
        return None if c is None else self.l * np.asarray(c, dtype=float)

    def covariance_parts(self, d, agents):
        """``l`` times the inner model's parts ``(S, B)``."""
        parts = self.inner.covariance_parts(d, agents)
        return None if parts is None else (self.l * parts[0], self.l * parts[1])

    def covariance_at(self, x, agent: int = 0, agents: int = 1) -> np.ndarray:
        """``l`` times the inner oracle's covariance at ``x`` (a point-dependent inner model such as
        ``Minibatch``), else ``l`` times its constant covariance."""
        at = getattr(self.inner, "covariance_at", None)
        if at is not None:
            return self.l * at(x, agent, agents)
        x = np.asarray(x, dtype=float)
        return self.covariance(x.size, agents)[agent]

    def sample(self, grad=None, *, x=None, agent: int = 0, agents: int = 1, rng=None, size=None, landscape=None):
        """Draw ``size`` SVAG outputs from Python (a ``Minibatch`` inner model supplies its landscape and
        ignores ``grad``, as ``Minibatch.sample``)."""
        own = getattr(self.inner, "landscape", None)
        if own is not None:
            x = np.zeros(own.d) if x is None else x
            grad = np.zeros(own.d) if grad is None else grad
            landscape = own if landscape is None else landscape
        return super().sample(grad, x=x, agent=agent, agents=agents, rng=rng, size=size, landscape=landscape)


class Scaled(NamedTuple):
    """``scale(optimizer, l)``: the rescaled ``optimizer``, the factor ``steps`` on the number of
    iterations, and the ``noise_l`` of the SVAG oracle (``l`` for SGD, ``l^2`` for RMSprop/Adam)."""

    optimizer: object
    steps: int
    noise_l: float
    provenance: str


def scale(optimizer, l) -> Scaled:
    """The SVAG rescaling of ``optimizer`` (module docstring): SGD/DSGD ``eta / l``, steps ``x l``,
    oracle ``SVAG(., l)``; RMSprop/Adam ``eta / l``, ``1 - beta_i -> (1 - beta_i)/l^2``,
    ``eps -> eps l``, steps ``x l^2``, oracle ``SVAG(., l^2)``. ``l`` must be an integer >= 1 (the step
    counts must be whole). ``l = 1`` returns the optimizer itself."""
    from . import compressors as C
    from . import optimizers as O
    from . import schedules as S

    if isinstance(l, bool) or not isinstance(l, (int, np.integer)):
        raise ValueError(f"l must be an integer >= 1 (the rescaled step counts must be whole), got {l!r}")
    l = int(l)
    if l < 1:
        raise ValueError(f"l must be an integer >= 1, got {l}")
    if not isinstance(optimizer, O.Optimizer):
        raise ValueError(f"optimizer must be a methods.optimizers object, got {optimizer!r}")
    if not isinstance(optimizer.schedule, S.Constant):
        raise ValueError("optimizer: SVAG rescales the iteration count; only a Constant schedule is supported, got "
                         f"{optimizer.schedule!r}")
    if not isinstance(optimizer.compressor, C.Identity):
        raise ValueError("optimizer: SVAG is defined here for SGD, DSGD, RMSprop and Adam without a compressor")
    if type(optimizer) is O.SGD:
        opt = optimizer if l == 1 else dataclasses.replace(optimizer, lr=optimizer.lr / l)
        return Scaled(opt, l, float(l), "recovered")
    if isinstance(optimizer, (O.Adam, O.RMSprop)):
        if optimizer.agents != 1:
            raise ValueError("optimizer: SVAG for RMSprop/Adam is single-agent here (agents = 1)")
        if l == 1:
            return Scaled(optimizer, 1, 1.0, "unsure")
        L2 = l * l
        if isinstance(optimizer, O.Adam):
            b1, b2 = optimizer.betas
            opt = dataclasses.replace(optimizer, lr=optimizer.lr / l, eps=optimizer.eps * l,
                                      betas=(1.0 - (1.0 - b1) / L2, 1.0 - (1.0 - b2) / L2))
        else:
            opt = dataclasses.replace(optimizer, lr=optimizer.lr / l, eps=optimizer.eps * l,
                                      alpha=1.0 - (1.0 - optimizer.alpha) / L2)
        return Scaled(opt, L2, float(L2), "unsure")
    raise ValueError(f"optimizer: SVAG is defined here for SGD, DSGD, RMSprop and Adam, got {type(optimizer).__name__}")


def simulate(landscape, optimizer, noise, l, *, x0, steps: int, save_at=None, save_every=None, **kw):
    """``methods.simulate`` of the SVAG-rescaled method (``scale``) with the oracle ``SVAG(noise,
    noise_l)`` for ``steps`` iterations of the original method (``steps * scaled.steps`` of the
    rescaled one); ``save_at`` / ``save_every`` count original iterations. The returned ``Run`` has
    the original iteration indices in ``step`` and the original method's times ``t = step * time
    per step``; ``config["svag"]`` records ``l`` and the rescaling."""
    from . import engine, noise as _noise
    from .core import save_grid
    from .timegrid import TimeGrid

    sc = scale(optimizer, l)
    steps = _checks.integer("steps", steps, minimum=1)
    saves = save_grid(steps, save_every, save_at)
    nz = SVAG(_noise.resolve(noise), sc.noise_l)
    run = engine.simulate(landscape, sc.optimizer, nz, x0=x0, steps=steps * sc.steps, save_at=saves * sc.steps, **kw)
    config = dict(run.config, svag={"l": int(l), "steps_factor": sc.steps, "noise_l": sc.noise_l,
                                    "provenance": sc.provenance, "base_optimizer": optimizer})
    div = np.where(run.diverged_at >= 0, run.diverged_at // sc.steps, run.diverged_at)
    return dataclasses.replace(run, step=saves, t=TimeGrid(optimizer.lr).times(saves), diverged_at=div, config=config)
