"""Gradient-noise models: the oracle ``g_i = grad f(x) + Z_i`` of agent ``i``.

Each model is a frozen dataclass and a component (``methods.component``): ``pack(shape)``
validates and flattens its parameters for the compiled kernel

    ``sample(rng, x, grad, grad_norm_sq, lp, p, agent, state, out)``:  ``out = grad + Z_agent``

which sees the point ``x`` and the landscape's parameters ``lp`` (so noise may depend on the
point or on a data set), the agent's own state block, and ``grad_norm_sq = ||grad||^2``
(computed only for models with ``uses_grad_norm``). ``noise.Custom`` builds one from the
user's own ``@njit`` function.

Scales broadcast against ``(agents, d)`` with numpy rules: a scalar, ``(d,)`` (per
coordinate, shared by agents), ``(agents, 1)`` (per agent) or ``(agents, d)``.

``Minibatch`` (``methods.minibatch``) is the oracle of a finite-sum landscape (``methods.finite_sum``):
the mean of the per-sample gradients over a sampled batch.

Batch size ``B`` (all models; the convention is derived here): the oracle is the average of ``B``
independent draws. For Gaussian and affine-variance noise this is exactly a scale
``1/sqrt(B)``; for symmetric alpha-stable noise exactly ``B^(1/alpha - 1)`` (Cauchy:
no reduction); Student-t is not closed under averaging, so ``B`` draws are averaged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from typing import Callable, NamedTuple

from . import _checks, rng as _rng
from ._jit import each_row, inline_kernel, kernel
from .component import Component, Shape, State, check_user_kernels, init_block, shape_of, store_user_params


class NoiseKernels(NamedTuple):
    """A noise model's compiled functions.

    * ``sample(rng, x, grad, grad_norm_sq, lp, p, agent, state, out)``: writes the oracle
      output ``grad + Z_agent`` at the point ``x`` into ``out`` (``lp``: the landscape's packed
      parameters, ``p``: the model's, ``state``: the agent's block);
    * ``init(state, p)``: sets one agent's state block at the start of every path, or ``None``
      (zeros; the built-in models are stateless).
    """

    sample: Callable  # sample(rng, x, grad, grad_norm_sq, lp, p, agent, state, out)
    init: Callable | None = None  # init(state, p) for a stateful model (None: zeros)


class Noise(Component):
    """Base class of the gradient-noise models (the oracle of ``methods.component``'s protocol).

    Subclasses give a compiled ``_sample`` and ``_pack(d, agents)``; a stateful one also
    ``state(shape)`` (one block per agent, e.g. a data-set permutation) and ``_init``.
    """

    batch: int = 1
    uses_grad_norm = False  # whether the kernel reads its grad_norm_sq argument
    _init = None

    @property
    def kernels(self) -> NoiseKernels:
        """``NoiseKernels(sample, init)``: the compiled ``sample`` and state ``init`` (built-in
        models: the class's ``_sample`` and ``_init``)."""
        return NoiseKernels(type(self)._sample, type(self)._init)

    def structure(self):
        """``(uses_grad_norm,)``: whether the engine computes ``||grad||^2`` for the kernel."""
        return (self.uses_grad_norm,)

    def pack(self, shape, agents=None) -> np.ndarray:
        """Parameters for a problem of shape ``Shape(d, agents, steps)`` (or ``pack(d, agents)``)."""
        shape = shape_of(shape, agents)
        return np.ascontiguousarray(self._pack(shape.d, shape.agents), dtype=np.float64)

    def _pack(self, d: int, agents: int) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def sample_kernel(self):
        """The compiled ``sample`` (the name before the component protocol)."""
        return self.kernels.sample

    @property
    def finite_variance(self) -> bool:
        """Whether ``E ||Z||^2 < inf`` (``covariance`` then returns a matrix, not ``None``)."""
        return True

    def covariance(self, d: int, agents: int, grad_norm: float = 0.0) -> np.ndarray | None:
        """Per-agent noise covariance, shape ``(agents, d, d)``; ``None`` if infinite."""
        raise NotImplementedError

    def covariance_parts(self, d: int, agents: int):
        """``(S, B)`` with the per-agent covariance ``S_i + B_i ||grad f(x)||^2 I`` (``S``:
        ``(agents, d, d)``, ``B``: ``(agents,)``), or ``None`` if the covariance is infinite:
        how the SDE builders take a noise model's covariance at any point."""
        cov = self.covariance(d, agents)
        return None if cov is None else (np.asarray(cov, dtype=float), np.zeros(agents))

    def diagonal_std(self, d: int, agents: int) -> np.ndarray | None:
        """Per-agent, per-coordinate scale ``(agents, d)`` of a model with independent
        coordinates and no dependence on the point (Gaussian: its standard deviation; heavy
        tails: the scale of ``sign_law``), or ``None``. What the SDE builders use for additive
        diagonal noise."""
        return None

    def sign_law(self):
        """``(law, nu)`` of the coordinates for the sign SDE's expectation ``E sign(g + Z)``:
        ``(0, inf)`` Gaussian, ``(1, nu)`` Student-t (Cauchy: ``nu = 1``), or ``None``."""
        return None

    def affine_variance(self, agents: int):
        """``(sigma0, sigma1)`` per agent for ``Var Z = (sigma0^2 + sigma1^2 ||grad f||^2) I``, or ``None``."""
        return None

    def sample(self, grad, *, x=None, agent: int = 0, agents: int = 1, rng=None, size: int | None = None,
               landscape=None) -> np.ndarray:
        """Draw ``size`` oracle outputs ``grad + Z_agent`` from Python (tests, notebooks).

        ``x`` (default zeros) and ``landscape`` (its packed parameters) reach models whose
        noise depends on the point or on data; the built-in laws ignore them.
        """
        grad = _checks.finite_array("grad", grad, ndim=1)
        d = grad.size
        x = np.zeros(d) if x is None else _checks.finite_array("x", x, ndim=1)
        if x.shape != (d,):
            raise ValueError(f"x must have shape ({d},), got {x.shape}")
        p = self.pack(Shape(d, agents))
        agent = _checks.integer("agent", agent)
        if agent >= agents:
            raise ValueError(f"agent must be < agents={agents}, got {agent}")
        rng = _rng.from_user(rng)
        n = 1 if size is None else _checks.integer("size", size, minimum=1)
        out = np.empty((n, d))
        lp = np.zeros(0) if landscape is None else np.ascontiguousarray(landscape.params(), dtype=np.float64)
        st = self.state(Shape(d, agents))
        state = init_block(st, p)
        each_row(self.kernels.sample)(rng, (x, grad, float(grad @ grad), lp, p, agent, state), out)
        return out[0] if size is None else out


def _batch(batch) -> int:
    return _checks.integer("batch", batch, minimum=1)


# ---------------------------------------------------------------------------- Gaussian
@inline_kernel
def _gauss_sample(rng, x, g, gn2, lp, p, agent, state, out):
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

    def _pack(self, d, agents):
        return self.table(d, agents).ravel()

    def covariance(self, d, agents, grad_norm=0.0):
        """``diag(sigma^2) / B`` for every agent, ``(agents, d, d)``."""
        t = self.table(d, agents)
        return np.stack([np.diag(row**2) for row in t])

    def diagonal_std(self, d, agents):
        """``sigma / sqrt(B)``, ``(agents, d)`` (the ``table``)."""
        return self.table(d, agents)

    def sign_law(self):
        """``(0, inf)``: Gaussian coordinates, ``E sign(g + Z_j) = erf(g / (sqrt2 sigma_j))``."""
        return (0, math.inf)


@kernel
def _gausscov_sample(rng, x, g, gn2, lp, p, agent, state, out):
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
        """``C / B`` broadcast to ``(agents, d, d)``; a ``ValueError`` when ``C`` does not match
        ``d`` or ``agents``."""
        c = np.asarray(self.cov, dtype=float)
        if c.shape[-1] != d:
            raise ValueError(f"cov must be {d} x {d} to match the landscape, got {c.shape}")
        if c.ndim == 3 and c.shape[0] != agents:
            raise ValueError(f"cov has {c.shape[0]} agent blocks but agents={agents}")
        return np.broadcast_to(c, (agents, d, d)) / self.batch

    def _pack(self, d, agents):
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
def _student_sample(rng, x, g, gn2, lp, p, agent, state, out):
    # p = [nu, B, scales (agents*d), the ziggurat table of t(nu) (rng.T_SIZE)]
    B = int(p[1])
    d = g.shape[0]
    base = 2 + agent * d
    T = p[p.shape[0] - _rng.T_SIZE:]
    if B == 1:
        _rng.fill_student_t(rng, T, out)
    else:
        for j in range(d):
            z = 0.0
            for b in range(B):
                z += _rng.student_t(rng, T)
            out[j] = z / B
    for j in range(d):
        out[j] = g[j] + p[base + j] * out[j]


@dataclass(frozen=True, eq=False)
class StudentT(Noise):
    """``Z_j = sigma_j T_j`` with i.i.d. Student-t coordinates, ``nu >= 0.05`` degrees of freedom
    (``rng.NU_MIN``, the sampler's range).

    ``nu = 1`` is Cauchy (no mean); ``nu <= 2`` has infinite variance. Independent
    coordinates (as in arXiv 2502.17009 and arXiv 2506.00181; multivariate-t is the UNSURE alternative, not
    implemented). Batch ``B``: the average of ``B`` independent draws (exact).
    """

    nu: float = 1.0
    sigma: float | np.ndarray = 1.0
    batch: int = 1
    _sample = staticmethod(_student_sample)

    def __post_init__(self):
        _checks.positive("nu", self.nu)
        if not self.nu >= _rng.NU_MIN:
            raise ValueError(f"nu must be >= {_rng.NU_MIN} (the Student-t sampler's range), got {self.nu}")
        _checks.finite_array("sigma", self.sigma)
        if np.any(np.asarray(self.sigma, dtype=float) < 0):
            raise ValueError("sigma must be >= 0 everywhere")
        _batch(self.batch)

    @property
    def finite_variance(self):
        """``nu > 2`` (the variance of ``t(nu)`` is ``nu / (nu - 2)``)."""
        return self.nu > 2

    def table(self, d, agents):
        """Per-agent, per-coordinate scale ``sigma_j`` of one draw, ``(agents, d)`` (not a
        standard deviation; the batch is averaged in the kernel, not folded in here)."""
        return _checks.per_agent_table("sigma", self.sigma, agents, d, allow_zero=True)

    def _pack(self, d, agents):
        return np.concatenate([[float(self.nu), float(self.batch)], self.table(d, agents).ravel(),
                               _rng.student_t_table(self.nu)])

    def diagonal_std(self, d, agents):
        """The scale ``sigma_j`` of the Student-t coordinates (one draw; not a standard deviation)."""
        return self.table(d, agents)

    def sign_law(self):
        """``(1, nu)``: Student-t coordinates, ``E sign(g + Z_j) = 2 F_nu(g / sigma_j) - 1``
        (one draw; an average of ``B > 1`` draws only for Cauchy, ``nu = 1``, whose average is
        again Cauchy of the same scale)."""
        if self.batch != 1 and self.nu != 1.0:
            raise ValueError("noise: the sign (or clipped) drift of an average of Student-t draws has no closed form; use batch=1 "
                             "(or nu = 1, whose average is again Cauchy)")
        return (1, float(self.nu))

    def covariance(self, d, agents, grad_norm=0.0):
        """``diag(sigma^2) nu / (nu - 2) / B`` for ``nu > 2``, else ``None``."""
        if not self.finite_variance:
            return None
        t = self.table(d, agents) ** 2 * self.nu / (self.nu - 2) / self.batch
        return np.stack([np.diag(row) for row in t])


# ---------------------------------------------------------------------- affine variance
@kernel
def _affine_sample(rng, x, g, gn2, lp, p, agent, state, out):
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
    """``Z ~ N(0, (sigma0^2 + sigma1^2 ||grad f(x)||^2) I / B)`` (arXiv 2506.00181, the affine-variance assumption of Theorem 4.2).

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

    def _pack(self, d, agents):
        return np.concatenate([self._per_agent("sigma0", agents), self._per_agent("sigma1", agents), [float(self.batch)]])

    def affine_variance(self, agents):
        """``(sigma0, sigma1)``, each of shape ``(agents,)`` (one draw; the batch is not folded in)."""
        return self._per_agent("sigma0", agents), self._per_agent("sigma1", agents)

    def covariance_parts(self, d, agents):
        """``S_i = sigma0_i^2 I / B`` and ``B_i = sigma1_i^2 / B``."""
        s0 = self._per_agent("sigma0", agents)
        s1 = self._per_agent("sigma1", agents)
        return np.stack([np.eye(d) * v for v in s0**2 / self.batch]), s1**2 / self.batch

    def covariance(self, d, agents, grad_norm=0.0):
        """``(sigma0_i^2 + sigma1_i^2 grad_norm^2) I / B`` at a point where ``||grad f|| = grad_norm``."""
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
def _stable_sample(rng, x, g, gn2, lp, p, agent, state, out):
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
        """Only ``alpha = 2`` (Gaussian); every ``alpha < 2`` has infinite variance."""
        return self.alpha == 2.0

    def table(self, d, agents):
        """Per-agent, per-coordinate S1 scale ``c_j B^(1/alpha - 1)`` of the oracle (batch folded
        in), ``(agents, d)``."""
        t = _checks.per_agent_table("scale", self.scale, agents, d, allow_zero=True)
        return t * float(self.batch) ** (1.0 / self.alpha - 1.0)

    def _pack(self, d, agents):
        return np.concatenate([[float(self.alpha)], self.table(d, agents).ravel()])

    def diagonal_std(self, d, agents):
        """The S1 scale ``c_j`` of the stable coordinates, batch folded in (not a standard deviation)."""
        return self.table(d, agents)

    def sign_law(self):
        """``(1, 1)`` for ``alpha = 1`` (Cauchy is Student-t with ``nu = 1``), else ``None``."""
        return (1, 1.0) if self.alpha == 1.0 else None  # Cauchy is Student-t with nu = 1

    def covariance(self, d, agents, grad_norm=0.0):
        """``2 diag(c^2)`` for ``alpha = 2`` (a Gaussian of variance ``2 c^2``), else ``None``."""
        if not self.finite_variance:
            return None
        t = 2.0 * self.table(d, agents) ** 2
        return np.stack([np.diag(row) for row in t])


@dataclass(frozen=True, eq=False)
class NoNoise(Gaussian):
    """Exact gradients (``sigma = 0``): full-batch gradient descent."""

    sigma: float = 0.0


# ------------------------------------------------------- heterogeneous agents: a fixed shift
_SHIFT_KERNELS: dict = {}


def _shift_kernels(inner):
    """``sample`` of ``Shift`` around ``inner``'s sample kernel (``None``: exact gradients)."""
    if inner in _SHIFT_KERNELS:
        return _SHIFT_KERNELS[inner]
    exact = inner is None
    inner_sample = _exact_sample if exact else inner

    @kernel
    def sample(rng, x, g, gn2, lp, p, agent, state, out):
        # p = [n_inner, inner's parameters (n_inner), shift table (agents, d) row by row]
        d = g.shape[0]
        n = int(p[0])
        if exact:
            for j in range(d):
                out[j] = g[j]
        else:
            inner_sample(rng, x, g, gn2, lp, p[1:1 + n], agent, state, out)
        base = 1 + n + agent * d
        for j in range(d):
            out[j] += p[base + j]

    _SHIFT_KERNELS[inner] = sample
    return sample


@kernel
def _exact_sample(rng, x, g, gn2, lp, p, agent, state, out):  # placeholder of Shift without inner noise
    for j in range(g.shape[0]):
        out[j] = g[j]


@dataclass(frozen=True, eq=False)
class Shift(Noise):
    """Heterogeneous agents by a fixed per-agent shift: agent ``i``'s oracle is
    ``grad f(x) + b_i + Z_i`` (``Z_i`` from ``inner``, a noise model, or none: ``inner=None``).

    Agent ``i`` then sees the landscape ``f_i(x) = f(x) + <b_i, x>``, and with ``sum_i b_i = 0``
    (required here: the columns of ``shift`` sum to zero, up to rounding) the agents' average
    ``(1/N) sum_i f_i = f`` keeps ``f``'s minimiser and value, so the losses the engine records
    are those of the average landscape. The minimiser of agent ``i``'s own ``f_i`` differs
    (``grad f(x) = -b_i``): the heterogeneous-data setting of distributed methods (this device
    is derived here; e.g. the EF21 experiments of arXiv 2106.05203 use quadratics with different
    minimisers). ``shift`` has shape ``(agents, d)``; the run's ``agents`` must equal its rows.

    No SDE model takes it: the shift is a per-agent drift, not noise (``covariance`` is that of
    ``inner``, but the SDE builders would drop the shift, so ``finite_variance`` is ``False``).
    """

    shift: np.ndarray = None
    inner: Noise | None = None

    def __post_init__(self):
        b = _checks.finite_array("shift", self.shift, ndim=2)
        scale = float(np.max(np.abs(b))) if b.size else 0.0
        if b.shape[0] > 1 and np.max(np.abs(b.sum(axis=0))) > 1e-12 * max(scale, 1.0) * b.shape[0]:
            raise ValueError(f"shift: its rows must sum to zero (sum_i b_i = 0), got column sums {b.sum(axis=0)}")
        if self.inner is not None and not isinstance(self.inner, Noise):
            raise ValueError(f"inner must be a methods.noise model or None, got {self.inner!r}")
        if isinstance(self.inner, Shift):
            raise ValueError("inner: a Shift inside a Shift is not supported (add the tables)")
        object.__setattr__(self, "shift", b)

    @property
    def kernels(self) -> NoiseKernels:
        """The shifted ``sample`` around the inner model's (one compiled kernel per inner
        ``sample``) and the inner model's ``init``."""
        if self.inner is None:
            return NoiseKernels(_shift_kernels(None), None)
        ik = self.inner.kernels
        return NoiseKernels(_shift_kernels(ik.sample), ik.init)

    def children(self):
        """``(inner,)`` when there is one: its key composes into this one's."""
        return () if self.inner is None else (self.inner,)

    @property
    def uses_grad_norm(self):
        """The inner model's ``uses_grad_norm`` (``False`` without one)."""
        return False if self.inner is None else self.inner.uses_grad_norm

    def structure(self):
        """``(uses_grad_norm,)`` as the inner model's."""
        return (self.uses_grad_norm,)

    def state(self, shape):
        """The inner model's state (none without one)."""
        return State() if self.inner is None else self.inner.state(shape)

    @property
    def needs_full_grad(self):
        """Whether the oracle reads the exact gradient: ``True`` without inner noise, else the inner's."""
        return True if self.inner is None else getattr(self.inner, "needs_full_grad", True)

    def check_landscape(self, landscape):
        """The inner model's landscape check (a minibatch oracle indexes the landscape's data)."""
        check = None if self.inner is None else getattr(self.inner, "check_landscape", None)
        if check is not None:
            check(landscape)

    def _pack(self, d, agents):
        if self.shift.shape != (agents, d):
            raise ValueError(f"shift must have shape (agents, d) = ({agents}, {d}), got {self.shift.shape}")
        inner = np.zeros(0) if self.inner is None else self.inner.pack(Shape(d, agents))
        return np.concatenate([[float(inner.size)], inner, self.shift.ravel()])

    @property
    def finite_variance(self):
        """``False``: no SDE model of this package takes a per-agent shift (see the class docstring)."""
        return False

    def covariance(self, d, agents, grad_norm=0.0):
        """``None``: no SDE model of this package takes a per-agent shift."""
        return None


# ------------------------------------------------------------------ user-defined
def _adapt_custom_sample(user):
    """The protocol kernel around a user's ``sample(rng, x, grad, lp, p, agent, state, out)``."""

    @kernel
    def sample(rng, x, g, gn2, lp, p, agent, state, out):
        user(rng, x, g, lp, p, agent, state, out)

    return sample


_CUSTOM_SAMPLERS: dict = {}


@dataclass(frozen=True, eq=False)
class Custom(Noise):
    """A noise model from the user's own numba ``@njit`` function (e.g. in a notebook cell).

    ``sample(rng, x, grad, lp, p, agent, state, out)`` writes the oracle output
    ``grad + Z`` of agent ``agent`` at the point ``x`` into ``out``; ``lp`` are the
    landscape's packed parameters (a data set lives there), ``p`` the float vector
    ``params`` given here (the same for every agent; index it by ``agent`` for per-agent
    values), ``state`` the agent's own block of ``state_size`` floats (set by ``init(state, p)``
    at the start of every path, zeros without one). Draw random numbers with
    ``methods.rng`` (``normal(rng)``, ``uniform(rng)``, ``integers(rng, n)``, ``fill_normal``).
    ``covariance(d, agents, grad_norm)`` (a Python callable, optional) lets the SDE models use
    it. Redefining the function and building a new ``Custom`` takes effect at once: compiled
    code is keyed by the function itself, never by a name.
    """

    sample_fn: Callable
    params: tuple | np.ndarray = ()
    state_size: int = 0
    init: Callable | None = None
    covariance_fn: Callable | None = None
    name: str = "custom"

    def __post_init__(self):
        check_user_kernels(self, {"sample_fn": self.sample_fn}, {"init": self.init})
        store_user_params(self)
        _checks.integer("state_size", self.state_size)
        if self.covariance_fn is not None and not callable(self.covariance_fn):
            raise ValueError(f"covariance_fn must be callable or None, got {self.covariance_fn!r}")

    @property
    def kernels(self) -> NoiseKernels:
        """The protocol ``sample`` wrapped around ``sample_fn`` (one wrapper per user function)
        and the user's ``init``."""
        if self.sample_fn not in _CUSTOM_SAMPLERS:
            _CUSTOM_SAMPLERS[self.sample_fn] = _adapt_custom_sample(self.sample_fn)
        return NoiseKernels(_CUSTOM_SAMPLERS[self.sample_fn], self.init)

    def state(self, shape):
        """``state_size`` floats per agent, set by ``init`` (zeros without one)."""
        return State(self.state_size, "agent", self.init)

    def structure(self):
        """``(uses_grad_norm, stateful)``: whether the kernel reads ``||grad||^2`` and has state."""
        return (self.uses_grad_norm, self.state_size > 0)

    def _pack(self, d, agents):
        return np.array(self.params, dtype=np.float64)

    @property
    def finite_variance(self):
        """Declared by giving ``covariance_fn`` (without one the variance is taken as unknown)."""
        return self.covariance_fn is not None

    def covariance(self, d, agents, grad_norm=0.0):
        """``covariance_fn(d, agents, grad_norm)`` as a float array, or ``None`` without one."""
        return None if self.covariance_fn is None else np.asarray(self.covariance_fn(d, agents, grad_norm), float)


def resolve(noise) -> Noise:
    """Accept a ``Noise`` instance or ``None`` (exact gradients)."""
    if noise is None:
        return NoNoise()
    if not isinstance(noise, Noise):
        raise ValueError(f"noise must be a methods.noise model or None, got {noise!r}")
    return noise


# the minibatch oracle of a finite-sum landscape (defined in methods.minibatch)
from .minibatch import Minibatch  # noqa: E402,F401
# the SVAG oracle around any noise model (defined in methods.svag; Li, Malladi and Arora, arXiv 2102.12470)
from .svag import SVAG  # noqa: E402,F401
# the Gaussian twin of a minibatch oracle (defined in methods.minibatch_gaussian)
from .minibatch_gaussian import GaussianMinibatch  # noqa: E402,F401
