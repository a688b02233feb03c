"""Gradient-noise models: the oracle ``g_i = grad f(x) + Z_i`` of agent ``i``.

Each model is a frozen dataclass; ``pack(d, agents)`` validates and flattens its
parameters for the compiled kernel

    ``sample(rng, grad, grad_norm_sq, p, agent, out)``:  ``out = grad + Z_agent``

Scales broadcast against ``(agents, d)`` with numpy rules: a scalar, ``(d,)`` (per
coordinate, shared by agents), ``(agents, 1)`` (per agent) or ``(agents, d)``.

Batch size ``B`` (all models; spec compression 1.2): the oracle is the average of ``B``
independent draws. For Gaussian and affine-variance noise this is exactly a scale
``1/sqrt(B)``; for symmetric alpha-stable noise exactly ``B^(1/alpha - 1)`` (Cauchy:
no reduction); Student-t is not closed under averaging, so ``B`` draws are averaged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _checks, rng as _rng
from ._jit import each_row, inline_kernel, kernel


class Noise:
    """Base class."""

    batch: int = 1
    uses_grad_norm = False  # whether the kernel reads its grad_norm_sq argument

    def pack(self, d: int, agents: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def kernel_key(self):
        return type(self).__name__

    def sample_kernel(self):
        return type(self)._sample

    @property
    def finite_variance(self) -> bool:
        return True

    def covariance(self, d: int, agents: int, grad_norm: float = 0.0) -> np.ndarray | None:
        """Per-agent noise covariance, shape ``(agents, d, d)``; ``None`` if infinite."""
        raise NotImplementedError

    def sample(self, grad, *, agent: int = 0, agents: int = 1, rng=None, size: int | None = None) -> np.ndarray:
        """Draw ``size`` oracle outputs ``grad + Z_agent`` from Python (tests, notebooks)."""
        grad = _checks.finite_array("grad", grad, ndim=1)
        d = grad.size
        p = self.pack(d, agents)
        agent = _checks.integer("agent", agent)
        if agent >= agents:
            raise ValueError(f"agent must be < agents={agents}, got {agent}")
        rng = _rng.from_user(rng)
        n = 1 if size is None else _checks.integer("size", size, minimum=1)
        out = np.empty((n, d))
        each_row(self.sample_kernel())(rng, grad, float(grad @ grad), p, agent, out)
        return out[0] if size is None else out


def _batch(batch) -> int:
    return _checks.integer("batch", batch, minimum=1)


# ---------------------------------------------------------------------------- Gaussian
@inline_kernel
def _gauss_sample(rng, g, gn2, p, agent, out):
    # draw first in a tight loop, then one vectorisable pass (measured faster than
    # interleaving the arithmetic with the generator calls). Inlined into the engine's chunk
    # kernel (no reference counts there): a call per iteration cost about 0.25 ns per update
    d = g.shape[0]
    base = agent * d
    _rng.fill_normal(rng, out)
    for j in range(d):
        out[j] = g[j] + p[base + j] * out[j]


@dataclass(frozen=True, eq=False)
class Gaussian(Noise):
    """``Z ~ N(0, diag(sigma^2) / B)``: isotropic (scalar ``sigma``) or diagonal.

    ``sigma`` is the per-coordinate standard deviation of one sample; it broadcasts to
    ``(agents, d)`` so every agent may have its own scale.
    """

    sigma: float | np.ndarray = 1.0
    batch: int = 1
    _sample = staticmethod(_gauss_sample)

    def __post_init__(self):
        _checks.finite_array("sigma", self.sigma)
        if np.any(np.asarray(self.sigma, dtype=float) < 0):
            raise ValueError("sigma must be >= 0 everywhere")
        _batch(self.batch)

    def table(self, d, agents) -> np.ndarray:
        """Per-agent, per-coordinate standard deviation of the oracle, ``(agents, d)``."""
        return _checks.per_agent_table("sigma", self.sigma, agents, d, allow_zero=True) / math.sqrt(self.batch)

    def pack(self, d, agents):
        return self.table(d, agents).ravel()

    def covariance(self, d, agents, grad_norm=0.0):
        t = self.table(d, agents)
        return np.stack([np.diag(row**2) for row in t])


@kernel
def _gausscov_sample(rng, g, gn2, p, agent, out):
    # p = (agents, d, d) lower Cholesky factors, flattened. z drawn into out, then
    # out = g + L z computed from the last row up, so z[0..j] is still intact.
    d = g.shape[0]
    base = agent * d * d
    _rng.fill_normal(rng, out)
    for j in range(d - 1, -1, -1):
        acc = 0.0
        for l in range(j + 1):
            acc += p[base + j * d + l] * out[l]
        out[j] = g[j] + acc


@dataclass(frozen=True, eq=False)
class GaussianCov(Noise):
    """``Z ~ N(0, C / B)`` with a full covariance ``C``: ``(d, d)`` shared or ``(agents, d, d)``."""

    cov: np.ndarray
    batch: int = 1
    _sample = staticmethod(_gausscov_sample)

    def __post_init__(self):
        c = _checks.finite_array("cov", self.cov)
        if c.ndim not in (2, 3) or c.shape[-1] != c.shape[-2]:
            raise ValueError(f"cov must have shape (d, d) or (agents, d, d), got {c.shape}")
        if not np.allclose(c, np.swapaxes(c, -1, -2)):
            raise ValueError("cov must be symmetric")
        _batch(self.batch)

    def covariance(self, d, agents, grad_norm=0.0):
        c = np.asarray(self.cov, dtype=float)
        if c.shape[-1] != d:
            raise ValueError(f"cov must be {d} x {d} to match the landscape, got {c.shape}")
        if c.ndim == 3 and c.shape[0] != agents:
            raise ValueError(f"cov has {c.shape[0]} agent blocks but agents={agents}")
        return np.broadcast_to(c, (agents, d, d)) / self.batch

    def pack(self, d, agents):
        covs = self.covariance(d, agents)
        out = np.empty((agents, d, d))
        for i, c in enumerate(covs):
            w = np.linalg.eigvalsh(c)
            if w.min() < -1e-12 * max(1.0, w.max()):
                raise ValueError("cov must be positive semi-definite")
            try:
                out[i] = np.linalg.cholesky(c)
            except np.linalg.LinAlgError:  # semi-definite: symmetric square root, still lower-usable via full loop
                raise ValueError("cov must be positive definite (Cholesky failed)") from None
        return out.ravel()


# ------------------------------------------------------------------------ Student-t
@kernel
def _student_sample(rng, g, gn2, p, agent, out):
    # p = [nu, B, scales (agents*d)]
    nu = p[0]
    B = int(p[1])
    d = g.shape[0]
    base = 2 + agent * d
    if B == 1:
        _rng.fill_student_t(rng, nu, out)
    else:
        for j in range(d):
            z = 0.0
            for b in range(B):
                z += _rng.student_t(rng, nu)
            out[j] = z / B
    for j in range(d):
        out[j] = g[j] + p[base + j] * out[j]


@dataclass(frozen=True, eq=False)
class StudentT(Noise):
    """``Z_j = sigma_j T_j`` with i.i.d. Student-t coordinates, ``nu > 0`` degrees of freedom.

    ``nu = 1`` is Cauchy (no mean); ``nu <= 2`` has infinite variance. Independent
    coordinates (spec compression 1.3; multivariate-t is the UNSURE alternative, not
    implemented). Batch ``B``: the average of ``B`` independent draws (exact).
    """

    nu: float = 1.0
    sigma: float | np.ndarray = 1.0
    batch: int = 1
    _sample = staticmethod(_student_sample)

    def __post_init__(self):
        _checks.positive("nu", self.nu)
        _checks.finite_array("sigma", self.sigma)
        if np.any(np.asarray(self.sigma, dtype=float) < 0):
            raise ValueError("sigma must be >= 0 everywhere")
        _batch(self.batch)

    @property
    def finite_variance(self):
        return self.nu > 2

    def table(self, d, agents):
        return _checks.per_agent_table("sigma", self.sigma, agents, d, allow_zero=True)

    def pack(self, d, agents):
        return np.concatenate([[float(self.nu), float(self.batch)], self.table(d, agents).ravel()])

    def covariance(self, d, agents, grad_norm=0.0):
        if not self.finite_variance:
            return None
        t = self.table(d, agents) ** 2 * self.nu / (self.nu - 2) / self.batch
        return np.stack([np.diag(row) for row in t])


# ---------------------------------------------------------------------- affine variance
@kernel
def _affine_sample(rng, g, gn2, p, agent, out):
    # p = [s0 (agents), s1 (agents), B]
    n = (p.shape[0] - 1) // 2
    B = p[p.shape[0] - 1]
    s0 = p[agent]
    s1 = p[n + agent]
    std = math.sqrt((s0 * s0 + s1 * s1 * gn2) / B)
    _rng.fill_normal(rng, out)
    for j in range(g.shape[0]):
        out[j] = g[j] + std * out[j]


@dataclass(frozen=True, eq=False)
class AffineVariance(Noise):
    """``Z ~ N(0, (sigma0^2 + sigma1^2 ||grad f(x)||^2) I / B)`` (spec l0l1 A3.2).

    ``sigma0``, ``sigma1``: scalars or one per agent. The paper's experiment E1 uses
    ``sigma0 = 0``.
    """

    sigma0: float | np.ndarray = 0.0
    sigma1: float | np.ndarray = 1.0
    batch: int = 1
    _sample = staticmethod(_affine_sample)
    uses_grad_norm = True

    def __post_init__(self):
        for nm in ("sigma0", "sigma1"):
            a = _checks.finite_array(nm, getattr(self, nm))
            if a.ndim > 1 or np.any(a < 0):
                raise ValueError(f"{nm} must be a scalar or a 1-D array (one per agent) of values >= 0")
        _batch(self.batch)

    def _per_agent(self, name, agents):
        a = np.asarray(getattr(self, name), dtype=float)
        try:
            return np.array(np.broadcast_to(a, (agents,)))
        except ValueError:
            raise ValueError(f"{name} of shape {a.shape} does not match agents={agents}") from None

    def pack(self, d, agents):
        return np.concatenate([self._per_agent("sigma0", agents), self._per_agent("sigma1", agents), [float(self.batch)]])

    def covariance(self, d, agents, grad_norm=0.0):
        s0 = self._per_agent("sigma0", agents)
        s1 = self._per_agent("sigma1", agents)
        var = (s0**2 + s1**2 * grad_norm**2) / self.batch
        return np.stack([v * np.eye(d) for v in var])


# --------------------------------------------------------------- symmetric alpha-stable
@kernel
def _cms(rng, alpha):
    """Standard symmetric alpha-stable draw (Chambers-Mallows-Stuck, beta = 0, S1 scale 1)."""
    v = math.pi * (_rng.uniform(rng) - 0.5)
    if alpha == 1.0:
        return math.tan(v)
    w = _rng.exponential(rng)
    return (math.sin(alpha * v) / math.cos(v) ** (1.0 / alpha)) * (math.cos(v - alpha * v) / w) ** ((1.0 - alpha) / alpha)


@kernel
def _stable_sample(rng, g, gn2, p, agent, out):
    # p = [alpha, scales (agents*d)] with the batch factor already folded into the scales
    alpha = p[0]
    d = g.shape[0]
    base = 1 + agent * d
    for j in range(d):
        out[j] = g[j] + p[base + j] * _cms(rng, alpha)


@dataclass(frozen=True, eq=False)
class AlphaStable(Noise):
    """Symmetric alpha-stable coordinates ``Z_j = scale_j S_j``, ``0 < alpha <= 2``.

    Chambers-Mallows-Stuck sampler; ``scale`` is the S1 scale ``c`` (``alpha = 1``:
    Cauchy with scale ``c``; ``alpha = 2``: Gaussian with variance ``2 c^2``, scipy's
    ``levy_stable`` convention). Batch ``B`` multiplies the scale by ``B^(1/alpha - 1)``
    (exact: the mean of B i.i.d. SaS(c) is SaS(c B^(1/alpha - 1))).
    """

    alpha: float = 1.5
    scale: float | np.ndarray = 1.0
    batch: int = 1
    _sample = staticmethod(_stable_sample)

    def __post_init__(self):
        _checks.in_interval("alpha", self.alpha, 0.0, 2.0, closed_lo=False, closed_hi=True)
        _checks.finite_array("scale", self.scale)
        if np.any(np.asarray(self.scale, dtype=float) < 0):
            raise ValueError("scale must be >= 0 everywhere")
        _batch(self.batch)

    @property
    def finite_variance(self):
        return self.alpha == 2.0

    def table(self, d, agents):
        t = _checks.per_agent_table("scale", self.scale, agents, d, allow_zero=True)
        return t * float(self.batch) ** (1.0 / self.alpha - 1.0)

    def pack(self, d, agents):
        return np.concatenate([[float(self.alpha)], self.table(d, agents).ravel()])

    def covariance(self, d, agents, grad_norm=0.0):
        if not self.finite_variance:
            return None
        t = 2.0 * self.table(d, agents) ** 2
        return np.stack([np.diag(row) for row in t])


@dataclass(frozen=True, eq=False)
class NoNoise(Gaussian):
    """Exact gradients (``sigma = 0``): full-batch gradient descent."""

    sigma: float = 0.0


def resolve(noise) -> Noise:
    """Accept a ``Noise`` instance or ``None`` (exact gradients)."""
    if noise is None:
        return NoNoise()
    if not isinstance(noise, Noise):
        raise ValueError(f"noise must be a methods.noise model or None, got {noise!r}")
    return noise
