"""Learning-rate schedules ``eta_k``: the step at iteration ``k`` is ``lr * eta_k``.

SDE time stays ``t = k * lr`` (as in arXiv 2506.00181); the SDE models scale drift and diffusion
by ``eta_t``. Kernel signature:

    ``factor(k, grad, direction, p) -> float``

``grad`` is the exact gradient at ``x_k`` and ``direction`` the aggregated stochastic
direction the optimizer is about to use (only the normalised schedule looks at them).
Every schedule is a component (``methods.component``); ``schedules.Custom`` takes the user's own
``@njit`` factor. The built-in factors compile inline into the engines' step loops (as calls,
once a step with their three arrays, they cost SGD with ``Cosine`` about 3 ns per update at
d = 8 on one thread, stop 26; the same numbers either way).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from typing import Callable, NamedTuple

from . import _checks
from ._jit import inline_kernel
from .component import Component, check_user_kernels, store_user_params


class ScheduleKernels(NamedTuple):
    """A schedule's compiled function: ``factor(k, grad, direction, p) -> eta_k``."""

    factor: Callable  # factor(k, grad, direction, p) -> float


class Schedule(Component):
    """Base class (a stateless component of ``methods.component``'s protocol)."""

    @property
    def kernels(self) -> ScheduleKernels:
        """``ScheduleKernels(factor)`` (built-in schedules: the class's ``_factor``)."""
        return ScheduleKernels(type(self)._factor)

    def pack(self, shape=None) -> np.ndarray:
        """The parameters (a schedule's do not depend on the problem shape)."""
        return np.ascontiguousarray(self._pack(), dtype=np.float64)

    def _pack(self) -> np.ndarray:
        return np.zeros(0)

    def factor_kernel(self):
        """The compiled ``factor`` (the name before the component protocol)."""
        return self.kernels.factor

    def __call__(self, k, grad=None, direction=None) -> float:
        """``eta_k`` from Python (``grad``/``direction`` only matter for ``GradNormalized``)."""
        k = _checks.integer("k", k)
        g = np.zeros(1) if grad is None else np.asarray(grad, dtype=float)
        v = g if direction is None else np.asarray(direction, dtype=float)
        return float(self.kernels.factor(k, g, v, self.pack()))


@inline_kernel
def _constant(k, g, v, p):
    return 1.0


@dataclass(frozen=True)
class Constant(Schedule):
    """``eta_k = 1``."""

    _factor = staticmethod(_constant)


@inline_kernel
def _invsqrt(k, g, v, p):
    return 1.0 / math.sqrt(k + 1.0)


@dataclass(frozen=True)
class InvSqrt(Schedule):
    """``eta_k = 1 / sqrt(k + 1)`` (arXiv 2506.00181: the standard schedule of its DSignSGD experiments)."""

    _factor = staticmethod(_invsqrt)


@inline_kernel
def _inv(k, g, v, p):
    return 1.0 / (k + 1.0) ** p[0]


@dataclass(frozen=True)
class Inverse(Schedule):
    """``eta_k = 1 / (k + 1)^power`` (default ``power = 1``)."""

    power: float = 1.0
    _factor = staticmethod(_inv)

    def __post_init__(self):
        _checks.positive("power", self.power)

    def _pack(self):
        return np.array([float(self.power)])


@inline_kernel
def _cosine(k, g, v, p):
    total = p[0]
    final = p[1]
    kk = min(float(k), total)
    return final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * kk / total))


@dataclass(frozen=True)
class Cosine(Schedule):
    """``eta_k = final + (1 - final) (1 + cos(pi min(k, total) / total)) / 2``."""

    total: int = 1000
    final: float = 0.0
    _factor = staticmethod(_cosine)

    def __post_init__(self):
        _checks.integer("total", self.total, minimum=1)
        _checks.in_interval("final", self.final, 0.0, 1.0, closed_hi=True)

    def _pack(self):
        return np.array([float(self.total), float(self.final)])


@inline_kernel
def _step(k, g, v, p):
    return p[1] ** (k // int(p[0]))


@dataclass(frozen=True)
class Step(Schedule):
    """``eta_k = gamma^floor(k / every)``."""

    every: int = 100
    gamma: float = 0.1
    _factor = staticmethod(_step)

    def __post_init__(self):
        _checks.integer("every", self.every, minimum=1)
        _checks.in_interval("gamma", self.gamma, 0.0, 1.0, closed_lo=False, closed_hi=True)

    def _pack(self):
        return np.array([float(self.every), float(self.gamma)])


@inline_kernel
def _gradnorm(k, g, v, p):
    c = p[0]
    a = p[1]
    b = p[2]
    base = p[3]
    src = v if p[4] == 0.0 else g
    s = 0.0
    for j in range(src.shape[0]):
        s += src[j] * src[j]
    return base * c / (a + b * math.sqrt(s))


@dataclass(frozen=True)
class GradNormalized(Schedule):
    """``eta_k = base_k * c / (a + b ||g_k||)``: gradient-norm normalisation.

    The normalisation that the (L0,L1) paper shows D(C)SGD needs (arXiv 2506.00181,
    Theorem 4.2, Eq. 15). ``source="stochastic"`` uses the aggregated stochastic
    direction, ``"oracle"`` the exact gradient (the paper's exact implementable rule
    is NOT RECOVERED: both are offered, stochastic is the default). ``base`` is another
    schedule multiplied in (default constant).
    """

    c: float = 1.0
    a: float = 1.0
    b: float = 1.0
    source: str = "stochastic"
    base: Schedule | None = None

    def __post_init__(self):
        _checks.positive("c", self.c)
        _checks.positive("a", self.a)
        _checks.positive("b", self.b, allow_zero=True)
        _checks.one_of("source", self.source, {"stochastic", "oracle"})
        if self.base is not None and not isinstance(self.base, (Constant, InvSqrt)):
            raise ValueError("base must be None, Constant() or InvSqrt()")

    @property
    def kernels(self):
        """The factor ``base_k * c / (a + b ||g_k||)``, one compiled kernel per base schedule."""
        base = self.base if self.base is not None else Constant()
        return ScheduleKernels(_gradnorm_with(base.kernels.factor))

    def children(self):
        """The ``base`` schedule, when one is given (its key composes into this one's)."""
        return () if self.base is None else (self.base,)

    def _pack(self):
        return np.array([self.c, self.a, self.b, 1.0, 0.0 if self.source == "stochastic" else 1.0])

    @classmethod
    def theorem_4_2(cls, *, L0, L1, d, agents=1, omega=0.0, sigma0=0.0, sigma1=0.0, epsilon=0.5,
                    source="stochastic", base=None) -> "GradNormalized":
        """The step ceiling of arXiv 2506.00181 Theorem 4.2 (Eq. 15) turned into a schedule (DERIVED here).

        ``eta eta_k = 2 epsilon / (a + b ||g||)`` with ``a = L0 (1 + A/N) + L1 d B / N``,
        ``b = L1 (1 + A/N)``, ``A = omega_bar + d (mean(sigma1^2 omega) + mean(sigma1^2))``,
        ``B = mean(sigma0^2) + mean(sigma0^2 omega)``; ``omega``, ``sigma0``, ``sigma1``
        are scalars or one per agent. Use with ``lr = 1``.
        """
        N = _checks.integer("agents", agents, minimum=1)
        d = _checks.integer("d", d, minimum=1)
        L0 = _checks.positive("L0", L0)
        L1 = _checks.positive("L1", L1, allow_zero=True)
        om = np.broadcast_to(np.asarray(omega, dtype=float), (N,))
        s0 = np.broadcast_to(np.asarray(sigma0, dtype=float), (N,))
        s1 = np.broadcast_to(np.asarray(sigma1, dtype=float), (N,))
        A = om.mean() + d * ((s1**2 * om).mean() + (s1**2).mean())
        B = (s0**2).mean() + (s0**2 * om).mean()
        a = L0 * (1 + A / N) + L1 * d * B / N
        b = L1 * (1 + A / N)
        return cls(c=2 * _checks.positive("epsilon", epsilon), a=a, b=b, source=source, base=base)


_GN: dict = {}


def _gradnorm_with(base):
    """``base_k * c / (a + b ||g||)`` for a parameter-free base factor (one kernel per base)."""
    if base not in _GN:

        @inline_kernel
        def factor(k, g, v, p):
            return base(k, g, v, p) * _gradnorm(k, g, v, p)

        _GN[base] = factor
    return _GN[base]


@dataclass(frozen=True, eq=False)
class Custom(Schedule):
    """A schedule from the user's own numba ``@njit`` function ``factor(k, grad, direction, p)``
    returning ``eta_k`` (``grad``: the exact gradient at ``x_k``; ``direction``: the aggregated
    stochastic direction; ``p``: the float vector ``params``). The SDE models evaluate it with
    ``grad = direction`` = the exact gradient. Compiled code is keyed by the function itself."""

    factor_fn: Callable = None
    params: tuple | np.ndarray = ()
    name: str = "custom"

    def __post_init__(self):
        check_user_kernels(self, {"factor_fn": self.factor_fn})
        store_user_params(self)

    @property
    def kernels(self):
        """``ScheduleKernels(factor_fn)``: the user's function, called as it is."""
        return ScheduleKernels(self.factor_fn)

    def _pack(self):
        return np.array(self.params, dtype=np.float64)


_BY_NAME = {"constant": Constant, "inv_sqrt": InvSqrt, "inverse": Inverse, "cosine": Cosine, "step": Step}


def resolve(schedule) -> Schedule:
    """A ``Schedule``, ``None`` (constant) or a name: constant, inv_sqrt, inverse, cosine, step."""
    if schedule is None:
        return Constant()
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str):
        _checks.one_of("schedule", schedule, _BY_NAME)
        return _BY_NAME[schedule]()
    raise ValueError(f"schedule must be a methods.schedules object or a name, got {schedule!r}")
