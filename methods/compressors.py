"""Compressors ``C(x)`` applied by each agent to its stochastic gradient.

Unbiased ones satisfy ``E C(x) = x`` and ``E ||C(x) - x||^2 <= omega ||x||^2``
(spec compression 1.4); ``omega(d)`` gives the constant (exact where known, see
``omega_exact``). Sign and top-k are biased and are here for contrast (``omega`` is
``None``). Each parameter (``k``, ``p``, ``s``) is a scalar shared by all agents or a
sequence with one value per agent (heterogeneous compression, spec compression 1.6:
``omega_bar`` and ``mean(omega sigma^2)`` enter the theory). Kernel signature:

    ``compress(rng, v, p, agent, iwork, out)``   with ``p`` one value per agent

``iwork`` is an int64 scratch vector of length ``d`` the engine keeps per chunk; it must
hold a permutation of ``0..d-1`` on entry (rand-k reshuffles it in place).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _checks, rng as _rng
from ._jit import each_row, kernel


def _per_agent_values(name, value, *, integer=False, lo=None, hi=None, closed_hi=True):
    """Validate a scalar or a 1-D sequence of per-agent values; returns a float array."""
    a = np.atleast_1d(np.asarray(value, dtype=float))
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite scalar or a 1-D sequence with one value per agent, got {value!r}")
    if integer and np.any(a != np.round(a)):
        raise ValueError(f"{name} must hold integers, got {value!r}")
    if lo is not None and np.any(a <= lo):
        raise ValueError(f"{name} must be > {lo}, got {value!r}")
    if hi is not None and np.any(a > hi if closed_hi else a >= hi):
        raise ValueError(f"{name} must be {'<=' if closed_hi else '<'} {hi}, got {value!r}")
    return a


def _ks_at_most_d(comp, d, agents):
    """Per-agent ``k`` of a keep-k compressor, refused by name when some ``k > d``."""
    ks = comp.values(agents)
    if np.any(ks > d):
        raise ValueError(f"k must be <= d = {d}, got k = {comp.k}")
    return ks


class Compressor:
    """Base class. ``_param`` names the per-agent parameter (None: no parameter)."""

    unbiased: bool = True
    omega_exact: bool = True
    _param: str | None = None

    def values(self, agents: int) -> np.ndarray:
        """The per-agent parameter, shape ``(agents,)`` (zeros for parameter-free compressors)."""
        if self._param is None:
            return np.zeros(agents)
        a = np.atleast_1d(np.asarray(getattr(self, self._param), dtype=float))
        if a.size == 1:
            return np.full(agents, a[0])
        if a.size != agents:
            raise ValueError(f"{self._param} has {a.size} per-agent values but agents = {agents}")
        return a.copy()

    @property
    def n_values(self) -> int:
        """How many agents the parameter names (1 when shared)."""
        return 1 if self._param is None else np.atleast_1d(np.asarray(getattr(self, self._param))).size

    def pack(self, d: int, agents: int = 1) -> np.ndarray:
        return self.values(agents)

    def _omega_of(self, value, d):  # pragma: no cover - abstract
        raise NotImplementedError

    def omegas(self, d: int, agents: int) -> np.ndarray | None:
        """``omega_i`` of every agent, or ``None`` for biased compressors."""
        if not self.unbiased:
            return None
        return np.array([self._omega_of(v, d) for v in self.pack(d, agents)])

    def omega(self, d: int):
        """``omega`` (a float when shared by all agents, else one per agent; ``None`` if biased)."""
        om = self.omegas(d, self.n_values)
        if om is None:
            return None
        return float(om[0]) if om.size == 1 else om

    def covariance(self, x, agent: int = 0) -> np.ndarray:
        """``Cov_xi(C_xi(x))`` for a fixed input (used by SDE diffusions)."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form covariance")

    def kernel_key(self):
        return type(self).__name__

    def compress_kernel(self):
        return type(self)._compress

    def __call__(self, x, *, rng=None, size: int | None = None, agent: int = 0) -> np.ndarray:
        """Compress ``x`` (``size`` independent times) from Python, as agent ``agent``."""
        x = _checks.finite_array("x", x, ndim=1)
        agents = self.n_values
        agent = _checks.integer("agent", agent)
        if agent >= agents and agents > 1:
            raise ValueError(f"agent must be < {agents}, got {agent}")
        p = self.pack(x.size, max(agents, agent + 1))
        rng = _rng.from_user(rng)
        n = 1 if size is None else _checks.integer("size", size, minimum=1)
        out = np.empty((n, x.size))
        each_row(self.compress_kernel())(rng, x, p, agent, np.arange(x.size, dtype=np.int64), out)
        return out[0] if size is None else out


@kernel
def _identity(rng, v, p, agent, iwork, out):
    for j in range(v.shape[0]):
        out[j] = v[j]


@dataclass(frozen=True)
class Identity(Compressor):
    """``C(x) = x``; ``omega = 0`` (DCSGD reduces to DSGD)."""

    _compress = staticmethod(_identity)

    def _omega_of(self, value, d):
        return 0.0

    def covariance(self, x, agent=0):
        x = np.asarray(x, dtype=float)
        return np.zeros((x.size, x.size))


@kernel
def _randk(rng, v, p, agent, iwork, out):
    d = v.shape[0]
    k = int(p[agent])
    scale = d / k
    for j in range(d):
        out[j] = 0.0
    # partial Fisher-Yates: the first k entries of any permutation, shuffled, are a
    # uniform k-subset
    for i in range(k):
        r = i + _rng.integers(rng, d - i)
        t = iwork[i]
        iwork[i] = iwork[r]
        iwork[r] = t
        out[iwork[i]] = scale * v[iwork[i]]


@dataclass(frozen=True)
class RandK(Compressor):
    """Keep ``k`` of ``d`` coordinates chosen uniformly without replacement, scale ``d/k``.

    ``omega = d/k - 1`` (tight). Covariance (spec compression 1.4, derived and MC-checked):
    ``(d/k - 1) [diag(x^2) - (x x^T - diag(x^2)) / (d - 1)]``.
    """

    k: int | tuple = 1
    _compress = staticmethod(_randk)
    _param = "k"

    def __post_init__(self):
        _per_agent_values("k", self.k, integer=True, lo=0)

    def pack(self, d, agents=1):
        return _ks_at_most_d(self, d, agents)

    def _omega_of(self, k, d):
        return d / k - 1.0

    def covariance(self, x, agent=0):
        x = np.asarray(x, dtype=float)
        d = x.size
        k = self.pack(d, max(self.n_values, agent + 1))[agent]
        if d == 1:
            return np.zeros((1, 1))
        D = np.diag(x * x)
        return (d / k - 1.0) * (D - (np.outer(x, x) - D) / (d - 1))


@kernel
def _bernoulli(rng, v, p, agent, iwork, out):
    q = p[agent]
    for j in range(v.shape[0]):
        out[j] = v[j] / q if _rng.uniform(rng) < q else 0.0


@dataclass(frozen=True)
class Bernoulli(Compressor):
    """Keep each coordinate independently with probability ``p``, scaled by ``1/p``.

    ``omega = 1/p - 1``; covariance ``omega diag(x^2)`` (spec compression 1.4).
    """

    p: float | tuple = 0.5
    _compress = staticmethod(_bernoulli)
    _param = "p"

    def __post_init__(self):
        _per_agent_values("p", self.p, lo=0.0, hi=1.0)

    def _omega_of(self, p, d):
        return 1.0 / p - 1.0

    def covariance(self, x, agent=0):
        x = np.asarray(x, dtype=float)
        p = self.values(max(self.n_values, agent + 1))[agent]
        return (1.0 / p - 1.0) * np.diag(x * x)


@kernel
def _qsgd(rng, v, p, agent, iwork, out):
    s = p[agent]
    d = v.shape[0]
    nrm = 0.0
    for j in range(d):
        nrm += v[j] * v[j]
    nrm = math.sqrt(nrm)
    if nrm == 0.0:
        for j in range(d):
            out[j] = 0.0
        return
    for j in range(d):
        a = abs(v[j])
        r = s * a / nrm
        lvl = math.floor(r)
        if _rng.uniform(rng) < r - lvl:
            lvl += 1.0
        sg = 1.0 if v[j] > 0 else (-1.0 if v[j] < 0 else 0.0)
        out[j] = nrm * sg * lvl / s


@dataclass(frozen=True)
class QSGD(Compressor):
    """Random dithering / QSGD with ``s`` levels (Alistarh et al. 2017).

    ``C(x)_j = ||x|| sign(x_j) xi_j / s`` with ``xi_j`` the stochastic rounding of
    ``s |x_j| / ||x||``. Unbiased; ``omega = min(d/s^2, sqrt(d)/s)`` is an upper bound
    (``omega_exact = False``).
    """

    s: int | tuple = 1
    _compress = staticmethod(_qsgd)
    omega_exact = False
    _param = "s"

    def __post_init__(self):
        _per_agent_values("s", self.s, integer=True, lo=0)

    def _omega_of(self, s, d):
        return min(d / s**2, math.sqrt(d) / s)


@kernel
def _sign(rng, v, p, agent, iwork, out):
    d = v.shape[0]
    scale = 1.0
    if p[agent] != 0.0:
        l1 = 0.0
        for j in range(d):
            l1 += abs(v[j])
        scale = l1 / d
    for j in range(d):
        x = v[j]
        # NaN stays NaN so divergence is still seen
        out[j] = scale if x > 0 else (-scale if x < 0 else (0.0 if x == 0 else x))


@dataclass(frozen=True)
class Sign(Compressor):
    """``sign(x)`` coordinate-wise (``sign(0) = 0``); biased. ``scaled=True`` gives
    ``||x||_1 / d * sign(x)``. As the transform of SignSGD / DSignSGD it is unscaled."""

    scaled: bool = False
    _compress = staticmethod(_sign)
    unbiased = False

    def pack(self, d, agents=1):
        return np.full(agents, 1.0 if self.scaled else 0.0)


@kernel
def _topk(rng, v, p, agent, iwork, out):
    k = int(p[agent])
    order = np.argsort(-np.abs(v))
    for j in range(v.shape[0]):
        out[j] = 0.0
    for i in range(k):
        out[order[i]] = v[order[i]]


@dataclass(frozen=True)
class TopK(Compressor):
    """Keep the ``k`` largest-magnitude coordinates (deterministic, biased).

    Contractive: ``||C(x) - x||^2 <= (1 - k/d) ||x||^2``.
    """

    k: int | tuple = 1
    _compress = staticmethod(_topk)
    unbiased = False
    _param = "k"

    def __post_init__(self):
        _per_agent_values("k", self.k, integer=True, lo=0)

    def pack(self, d, agents=1):
        return _ks_at_most_d(self, d, agents)

    def contraction(self, d) -> np.ndarray:
        return 1.0 - self.values(self.n_values) / d


_BY_NAME = {"identity": Identity, "randk": RandK, "bernoulli": Bernoulli, "qsgd": QSGD, "sign": Sign, "topk": TopK}


def resolve(compressor) -> Compressor:
    """A ``Compressor`` instance, a name from ``identity, randk, bernoulli, qsgd, sign,
    topk`` (default parameters), or ``None`` (identity)."""
    if compressor is None:
        return Identity()
    if isinstance(compressor, Compressor):
        return compressor
    if isinstance(compressor, str):
        _checks.one_of("compressor", compressor.lower(), _BY_NAME)
        return _BY_NAME[compressor.lower()]()
    raise ValueError(f"compressor must be a methods.compressors object or a name, got {compressor!r}")
