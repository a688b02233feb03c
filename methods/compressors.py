"""Compressors ``C(x)`` applied by each agent to its stochastic gradient.

Unbiased ones satisfy ``E C(x) = x`` and ``E ||C(x) - x||^2 <= omega ||x||^2``
(spec compression 1.4); ``omega(d)`` gives the constant (exact where known, see
``omega_exact``). Sign and top-k are biased and are here for contrast (``omega`` is
``None``). Kernel signature:

    ``compress(rng, v, p, iwork, out)``

``iwork`` is an int64 scratch vector of length ``d`` the engine keeps per chunk; it must
hold a permutation of ``0..d-1`` on entry (rand-k reshuffles it in place).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import _checks
from ._jit import kernel


class Compressor:
    """Base class."""

    unbiased: bool = True
    omega_exact: bool = True

    def pack(self, d: int) -> np.ndarray:
        return np.zeros(0)

    def omega(self, d: int) -> float | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def covariance(self, x) -> np.ndarray:
        """``Cov_xi(C_xi(x))`` for a fixed input (used by SDE diffusions)."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form covariance")

    def kernel_key(self):
        return type(self).__name__

    def compress_kernel(self):
        return type(self)._compress

    def __call__(self, x, *, rng=None, size: int | None = None) -> np.ndarray:
        """Compress ``x`` (``size`` independent times) from Python."""
        x = _checks.finite_array("x", x, ndim=1)
        p = self.pack(x.size)
        rng = np.random.default_rng(rng)
        n = 1 if size is None else _checks.integer("size", size, minimum=1)
        out = np.empty((n, x.size))
        _compress_loop(self.compress_kernel())(rng, x, p, np.arange(x.size, dtype=np.int64), out)
        return out[0] if size is None else out


_LOOPS: dict = {}


def _compress_loop(compress):
    if compress not in _LOOPS:

        @kernel
        def loop(rng, x, p, iwork, out):
            for i in range(out.shape[0]):
                compress(rng, x, p, iwork, out[i])

        _LOOPS[compress] = loop
    return _LOOPS[compress]


@kernel
def _identity(rng, v, p, iwork, out):
    for j in range(v.shape[0]):
        out[j] = v[j]


@dataclass(frozen=True)
class Identity(Compressor):
    """``C(x) = x``; ``omega = 0`` (DCSGD reduces to DSGD)."""

    _compress = staticmethod(_identity)

    def omega(self, d):
        return 0.0

    def covariance(self, x):
        x = np.asarray(x, dtype=float)
        return np.zeros((x.size, x.size))


@kernel
def _randk(rng, v, p, iwork, out):
    d = v.shape[0]
    k = int(p[0])
    scale = d / k
    for j in range(d):
        out[j] = 0.0
    # partial Fisher-Yates: the first k entries of any permutation, shuffled, are a
    # uniform k-subset
    for i in range(k):
        r = i + rng.integers(0, d - i)
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

    k: int = 1
    _compress = staticmethod(_randk)

    def __post_init__(self):
        _checks.integer("k", self.k, minimum=1)

    def _check_d(self, d):
        if self.k > d:
            raise ValueError(f"k must be <= d = {d}, got k = {self.k}")

    def pack(self, d):
        self._check_d(d)
        return np.array([float(self.k)])

    def omega(self, d):
        self._check_d(d)
        return d / self.k - 1.0

    def covariance(self, x):
        x = np.asarray(x, dtype=float)
        d = x.size
        self._check_d(d)
        if d == 1:
            return np.zeros((1, 1))
        D = np.diag(x * x)
        return (d / self.k - 1.0) * (D - (np.outer(x, x) - D) / (d - 1))


@kernel
def _bernoulli(rng, v, p, iwork, out):
    q = p[0]
    for j in range(v.shape[0]):
        out[j] = v[j] / q if rng.random() < q else 0.0


@dataclass(frozen=True)
class Bernoulli(Compressor):
    """Keep each coordinate independently with probability ``p``, scaled by ``1/p``.

    ``omega = 1/p - 1``; covariance ``omega diag(x^2)`` (spec compression 1.4).
    """

    p: float = 0.5
    _compress = staticmethod(_bernoulli)

    def __post_init__(self):
        _checks.in_interval("p", self.p, 0.0, 1.0, closed_lo=False, closed_hi=True)

    def pack(self, d):
        return np.array([float(self.p)])

    def omega(self, d):
        return 1.0 / self.p - 1.0

    def covariance(self, x):
        x = np.asarray(x, dtype=float)
        return self.omega(x.size) * np.diag(x * x)


@kernel
def _qsgd(rng, v, p, iwork, out):
    s = p[0]
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
        if rng.random() < r - lvl:
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

    s: int = 1
    _compress = staticmethod(_qsgd)
    omega_exact = False

    def __post_init__(self):
        _checks.integer("s", self.s, minimum=1)

    def pack(self, d):
        return np.array([float(self.s)])

    def omega(self, d):
        return min(d / self.s**2, math.sqrt(d) / self.s)


@kernel
def _sign(rng, v, p, iwork, out):
    d = v.shape[0]
    scale = 1.0
    if p[0] != 0.0:
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

    def pack(self, d):
        return np.array([1.0 if self.scaled else 0.0])

    def omega(self, d):
        return None


@kernel
def _topk(rng, v, p, iwork, out):
    k = int(p[0])
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

    k: int = 1
    _compress = staticmethod(_topk)
    unbiased = False

    def __post_init__(self):
        _checks.integer("k", self.k, minimum=1)

    def pack(self, d):
        if self.k > d:
            raise ValueError(f"k must be <= d = {d}, got k = {self.k}")
        return np.array([float(self.k)])

    def omega(self, d):
        return None

    def contraction(self, d) -> float:
        return 1.0 - self.k / d


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
