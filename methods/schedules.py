"""Learning-rate schedules ``eta_k``: the step at iteration ``k`` is ``lr * eta_k``.

SDE time stays ``t = k * lr`` (spec l0l1 1.2); the SDE models scale drift and diffusion
by ``eta_t``. Kernel signature:

    ``factor(k, grad, direction, p) -> float``

``grad`` is the exact gradient at ``x_k`` and ``direction`` the aggregated stochastic
direction the optimizer is about to use (only the normalised schedule looks at them).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _checks
from ._jit import inline_kernel, kernel


class Schedule:
    """Base class."""

    def pack(self) -> np.ndarray:
        return np.zeros(0)

    def kernel_key(self):
        return type(self).__name__

    def factor_kernel(self):
        return type(self)._factor

    def __call__(self, k, grad=None, direction=None) -> float:
        """``eta_k`` from Python (``grad``/``direction`` only matter for ``GradNormalized``)."""
        k = _checks.integer("k", k)
        g = np.zeros(1) if grad is None else np.asarray(grad, dtype=float)
        v = g if direction is None else np.asarray(direction, dtype=float)
        return float(self.factor_kernel()(k, g, v, self.pack()))


@inline_kernel
def _constant(k, g, v, p):
    return 1.0


@dataclass(frozen=True)
class Constant(Schedule):
    """``eta_k = 1``."""

    _factor = staticmethod(_constant)


@kernel
def _invsqrt(k, g, v, p):
    return 1.0 / math.sqrt(k + 1.0)


@dataclass(frozen=True)
class InvSqrt(Schedule):
    """``eta_k = 1 / sqrt(k + 1)`` (spec l0l1 1.2: the standard schedule used for DSignSGD)."""

    _factor = staticmethod(_invsqrt)


@kernel
def _inv(k, g, v, p):
    return 1.0 / (k + 1.0) ** p[0]


@dataclass(frozen=True)
class Inverse(Schedule):
    """``eta_k = 1 / (k + 1)^power`` (default ``power = 1``)."""

    power: float = 1.0
    _factor = staticmethod(_inv)

    def __post_init__(self):
        _checks.positive("power", self.power)

    def pack(self):
        return np.array([float(self.power)])


@kernel
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

    def pack(self):
        return np.array([float(self.total), float(self.final)])


@kernel
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

    def pack(self):
        return np.array([float(self.every), float(self.gamma)])


@kernel
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

    The normalisation that the (L0,L1) paper shows D(C)SGD needs (spec l0l1 section 3,
    Theorem 4.2 "Eq. 15"). ``source="stochastic"`` uses the aggregated stochastic
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

    def kernel_key(self):
        return ("GradNormalized", type(self.base).__name__)

    def factor_kernel(self):
        return _gradnorm_with(type(self.base) if self.base is not None else Constant)

    def pack(self):
        return np.array([self.c, self.a, self.b, 1.0, 0.0 if self.source == "stochastic" else 1.0])

    @classmethod
    def theorem_4_2(cls, *, L0, L1, d, agents=1, omega=0.0, sigma0=0.0, sigma1=0.0, epsilon=0.5,
                    source="stochastic", base=None) -> "GradNormalized":
        """The step ceiling of spec l0l1 Theorem 4.2 turned into a schedule (DERIVED).

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


def _gradnorm_with(base_cls):
    if base_cls not in _GN:
        base = base_cls._factor

        @kernel
        def factor(k, g, v, p):
            return base(k, g, v, p) * _gradnorm(k, g, v, p)

        _GN[base_cls] = factor
    return _GN[base_cls]


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
