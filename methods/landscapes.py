"""Objective functions ("landscapes") with value, gradient, Hessian and Hessian-vector product.

Every landscape is a frozen dataclass that validates its parameters on construction and
exposes four numba kernels through ``kernels``, all taking the flat float64 parameter
vector ``params()`` as their last input:

* ``value(x, p) -> float``
* ``grad(x, p, out)``: ``out = grad f(x)``
* ``hvp(x, v, p, out)``: ``out = H(x) v``
* ``hess(x, p, out)``: ``out = H(x)`` (dense, ``d x d``)

Finite sums also give ``value_grad(x, p, out) -> float``: ``out = grad f(x)`` and ``f(x)`` returned,
bit for bit what ``grad`` and ``value`` give, in one pass over the samples (for the MLP each sample's
forward pass serves both; the linear models evaluate each sample's loss and gradient side by side);
the engines' save points call it through ``value_and_grad`` (two calls for the others).

Separable landscapes (``f(x) = sum_j f_j(x_j)``) also give ``coord_grad(xj, j, p) -> f_j'(xj)``,
inlined, with ``grad`` built from it: the engines then fold the gradient into their update
loop instead of a separate pass (same arithmetic, bit-identical results). Others leave it
``None``.

Each declares an ``(L0, L1)`` pair for (L0,L1)-smoothness (Zhang et al. 2020),
``||H(x)||_2 <= L0 + L1 ||grad f(x)||_2`` for all ``x``; the test suite checks the
declaration on random points. ``f_star`` is the minimum value; the engine records
``f(x) - f_star``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from . import _checks
from ._jit import inline_kernel, kernel
from .component import Component


class LandscapeKernels(NamedTuple):
    """A landscape's compiled functions, each taking the packed parameters ``p`` last.

    * ``value(x, p) -> float``: ``f(x)``;
    * ``grad(x, p, out)``: ``out = grad f(x)``, shape ``(d,)``;
    * ``hvp(x, v, p, out)``: ``out = H(x) v``;
    * ``hess(x, p, out)``: ``out = H(x)``, dense ``(d, d)``;
    * ``coord_grad(xj, j, p) -> float``: ``d f / d x_j`` from ``x_j`` alone, for separable
      landscapes only (``None`` otherwise);
    * ``value_grad(x, p, out) -> float``: ``out = grad f(x)`` and ``f(x)`` returned, the same bits as
      ``grad`` and ``value``, in one pass (finite sums; ``None`` otherwise: ``value_and_grad`` calls
      the two).
    """

    value: Callable
    grad: Callable
    hvp: Callable
    hess: Callable
    coord_grad: Callable | None = None  # separable landscapes only: d f / d x_j from x_j alone
    value_grad: Callable | None = None  # finite sums: f(x) and grad f(x) in one pass over the samples


_VALUE_AND_GRAD: dict = {}


def value_and_grad(kernels: LandscapeKernels):
    """``vg(x, p, out) -> f(x)`` that also writes ``out = grad f(x)``: the landscape's ``value_grad``
    where it has one, else an inlined ``grad`` then ``value`` (the same bits either way)."""
    if kernels.value_grad is not None:
        return kernels.value_grad
    key = (kernels.value, kernels.grad)
    if key not in _VALUE_AND_GRAD:
        value, grad = key

        @inline_kernel
        def vg(x, p, out):
            grad(x, p, out)
            return value(x, p)

        _VALUE_AND_GRAD[key] = vg
    return _VALUE_AND_GRAD[key]


_HESS_FROM_HVP: dict = {}


def hess_from_hvp(hvp):
    """A dense ``hess(x, p, out)`` from a compiled ``hvp(x, v, p, out)``: column ``j`` of ``H(x)`` is
    ``hvp(x, e_j)`` (``d`` products; for small ``d`` and tests). One compiled kernel per ``hvp``."""
    if hvp in _HESS_FROM_HVP:
        return _HESS_FROM_HVP[hvp]

    @kernel
    def hess(x, p, out):
        d = x.shape[0]
        e = np.zeros(d)
        col = np.empty(d)
        for j in range(d):
            e[j] = 1.0
            hvp(x, e, p, col)
            e[j] = 0.0
            for i in range(d):
                out[i, j] = col[i]

    _HESS_FROM_HVP[hvp] = hess
    return hess


def _grad_from_coords(coord_grad):
    """The vector gradient of a separable landscape: ``out[j] = coord_grad(x[j], j, p)``."""

    @inline_kernel
    def grad(x, p, out):
        for j in range(x.shape[0]):
            out[j] = coord_grad(x[j], j, p)

    return grad


class Landscape(Component):
    """Base class (a component of ``methods.component``'s protocol, stateless): Python-side
    conveniences over the compiled kernels."""

    d: int
    L0: float
    L1: float
    f_star: float = 0.0

    # subclasses provide
    kernels: LandscapeKernels

    def params(self) -> np.ndarray:  # pragma: no cover - abstract
        """The flat float64 parameter vector every kernel takes as ``p`` (its layout is the
        subclass's own; empty for landscapes without parameters)."""
        raise NotImplementedError

    def pack(self, shape=None) -> np.ndarray:
        """``params()`` as a contiguous float64 vector (a landscape's shape is its own ``d``)."""
        if shape is not None and shape.d != self.d:
            raise ValueError(f"landscape has d = {self.d}, the problem d = {shape.d}")
        return np.ascontiguousarray(self.params(), dtype=np.float64)

    def _x(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.shape != (self.d,):
            raise ValueError(f"x must have shape ({self.d},), got {x.shape}")
        return x

    def f(self, x) -> float:
        """f(x)."""
        return float(self.kernels.value(self._x(x), self.params()))

    def gradient(self, x) -> np.ndarray:
        """grad f(x)."""
        out = np.empty(self.d)
        self.kernels.grad(self._x(x), self.params(), out)
        return out

    def hessian(self, x) -> np.ndarray:
        """The dense Hessian H(x)."""
        out = np.empty((self.d, self.d))
        self.kernels.hess(self._x(x), self.params(), out)
        return out

    def hvp(self, x, v) -> np.ndarray:
        """H(x) v."""
        out = np.empty(self.d)
        self.kernels.hvp(self._x(x), self._x(v), self.params(), out)
        return out

    def l0l1_ratio(self, x) -> float:
        """``||H(x)||_2 / (L0 + L1 ||grad f(x)||)``; at most 1 where the declaration holds."""
        h = np.linalg.norm(self.hessian(x), 2)
        return float(h / (self.L0 + self.L1 * np.linalg.norm(self.gradient(x))))


# ----------------------------------------------------------------------------- quadratics
# DiagonalQuadratic's parameters are interleaved, p = [lambda_0, c_0, lambda_1, c_1, ...]: an
# index 2 j (+ 1) is provably non-negative, so numba's negative-index wraparound folds away
# (``p[d + j]`` with a run-time d cost about 0.3 ns per update in the EM loop).
@kernel
def _diagquad_value(x, p):
    s = 0.0
    for j in range(x.shape[0]):
        r = x[j] - p[2 * j + 1]
        s += p[2 * j] * r * r
    return 0.5 * s


@inline_kernel
def _diagquad_coord_grad(xj, j, p):
    return p[2 * j] * (xj - p[2 * j + 1])


_diagquad_grad = _grad_from_coords(_diagquad_coord_grad)


@kernel
def _diagquad_hvp(x, v, p, out):
    for j in range(x.shape[0]):
        out[j] = p[2 * j] * v[j]


@kernel
def _diagquad_hess(x, p, out):
    out[:, :] = 0.0
    for j in range(x.shape[0]):
        out[j, j] = p[2 * j]


@dataclass(frozen=True, eq=False)
class DiagonalQuadratic(Landscape):
    """``f(x) = 1/2 sum_j lambda_j (x_j - c_j)^2`` with all ``lambda_j > 0``.

    L-smooth: ``(L0, L1) = (max lambda, 0)``; minimum 0 at ``c`` (default 0).
    """

    lambdas: np.ndarray
    center: np.ndarray | None = None
    kernels = LandscapeKernels(_diagquad_value, _diagquad_grad, _diagquad_hvp, _diagquad_hess,
                               _diagquad_coord_grad)

    def __post_init__(self):
        lam = _checks.finite_array("lambdas", self.lambdas, ndim=1, positive_entries=True)
        if lam.size == 0:
            raise ValueError("lambdas must not be empty")
        c = np.zeros_like(lam) if self.center is None else _checks.finite_array("center", self.center, ndim=1)
        if c.shape != lam.shape:
            raise ValueError(f"center must have shape {lam.shape}, got {c.shape}")
        object.__setattr__(self, "lambdas", lam)
        object.__setattr__(self, "center", c)

    @property
    def d(self):
        """The dimension, ``len(lambdas)``."""
        return self.lambdas.size

    @property
    def L0(self):
        """``max_j lambda_j`` (the Hessian is constant, ``diag(lambda)``)."""
        return float(self.lambdas.max())

    L1 = 0.0

    def params(self):
        """``[lambda_0, c_0, lambda_1, c_1, ...]``, length ``2 d`` (interleaved, see the kernels)."""
        return np.column_stack([self.lambdas, self.center]).ravel()  # interleaved, see above


@kernel
def _quad_value(x, p):
    d = x.shape[0]
    s = 0.0
    for i in range(d):
        ri = x[i] - p[d * d + i]
        acc = 0.0
        for j in range(d):
            acc += p[i * d + j] * (x[j] - p[d * d + j])
        s += ri * acc
    return 0.5 * s


@kernel
def _quad_grad(x, p, out):
    d = x.shape[0]
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += p[i * d + j] * (x[j] - p[d * d + j])
        out[i] = acc


@kernel
def _quad_hvp(x, v, p, out):
    d = x.shape[0]
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += p[i * d + j] * v[j]
        out[i] = acc


@kernel
def _quad_hess(x, p, out):
    d = x.shape[0]
    for i in range(d):
        for j in range(d):
            out[i, j] = p[i * d + j]


@dataclass(frozen=True, eq=False)
class Quadratic(Landscape):
    """``f(x) = 1/2 (x - c)^T H (x - c)`` with ``H`` symmetric positive definite.

    L-smooth: ``(L0, L1) = (lambda_max(H), 0)``; minimum 0 at ``c`` (default 0).
    """

    H: np.ndarray
    center: np.ndarray | None = None
    kernels = LandscapeKernels(_quad_value, _quad_grad, _quad_hvp, _quad_hess)

    def __post_init__(self):
        H = _checks.finite_array("H", self.H, ndim=2)
        if H.shape[0] != H.shape[1] or H.shape[0] == 0:
            raise ValueError(f"H must be a non-empty square matrix, got shape {H.shape}")
        if not np.allclose(H, H.T, rtol=1e-12, atol=1e-14):
            raise ValueError("H must be symmetric")
        if np.linalg.eigvalsh(H).min() <= 0:
            raise ValueError("H must be positive definite")
        c = np.zeros(H.shape[0]) if self.center is None else _checks.finite_array("center", self.center, ndim=1)
        if c.shape != (H.shape[0],):
            raise ValueError(f"center must have shape ({H.shape[0]},), got {c.shape}")
        object.__setattr__(self, "H", np.ascontiguousarray(0.5 * (H + H.T)))
        object.__setattr__(self, "center", c)

    @property
    def d(self):
        """The dimension, ``H.shape[0]``."""
        return self.H.shape[0]

    @property
    def L0(self):
        """``lambda_max(H)``, the spectral norm of the constant Hessian."""
        return float(np.linalg.eigvalsh(self.H).max())

    L1 = 0.0

    def params(self):
        """``[H (row-major, d*d), c (d)]``, length ``d^2 + d``."""
        return np.concatenate([self.H.ravel(), self.center])

    @classmethod
    def random(cls, d: int, *, condition: float = 10.0, seed: int = 0) -> "Quadratic":
        """A random SPD quadratic with eigenvalues log-spaced in ``[1, condition]``."""
        d = _checks.integer("d", d, minimum=1)
        condition = _checks.positive("condition", condition)
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        eig = np.geomspace(1.0, max(condition, 1.0), d)
        return cls(H=(q * eig) @ q.T)


# ------------------------------------------------------------------- (L0,L1) examples
@kernel
def _quartic_value(x, p):
    s = 0.0
    for j in range(x.shape[0]):
        x2 = x[j] * x[j]
        s += 0.25 * x2 * x2
    return s


@inline_kernel
def _quartic_coord_grad(xj, j, p):
    return xj * xj * xj


_quartic_grad = _grad_from_coords(_quartic_coord_grad)


@kernel
def _quartic_hvp(x, v, p, out):
    for j in range(x.shape[0]):
        out[j] = 3.0 * x[j] * x[j] * v[j]


@kernel
def _quartic_hess(x, p, out):
    out[:, :] = 0.0
    for j in range(x.shape[0]):
        out[j, j] = 3.0 * x[j] * x[j]


@dataclass(frozen=True, eq=False)
class Quartic(Landscape):
    """``f(x) = sum_j x_j^4 / 4``: (L0,L1)-smooth with ``(3, 3)``, not L-smooth.

    ``||H|| = 3 max x_j^2 <= 3 + 3 max |x_j|^3 <= 3 + 3 ||grad f||``. Minimum 0 at 0.
    """

    d: int = 1
    kernels = LandscapeKernels(_quartic_value, _quartic_grad, _quartic_hvp, _quartic_hess,
                               _quartic_coord_grad)
    L0 = 3.0
    L1 = 3.0

    def __post_init__(self):
        _checks.integer("d", self.d, minimum=1)

    def params(self):
        """Empty: ``f`` has no parameters besides ``d``."""
        return np.zeros(0)


@kernel
def _cosh_value(x, p):
    s = 0.0
    for j in range(x.shape[0]):
        s += math.cosh(x[j])
    return s


@inline_kernel
def _cosh_coord_grad(xj, j, p):
    return math.sinh(xj)


_cosh_grad = _grad_from_coords(_cosh_coord_grad)


@kernel
def _cosh_hvp(x, v, p, out):
    for j in range(x.shape[0]):
        out[j] = math.cosh(x[j]) * v[j]


@kernel
def _cosh_hess(x, p, out):
    out[:, :] = 0.0
    for j in range(x.shape[0]):
        out[j, j] = math.cosh(x[j])


@dataclass(frozen=True, eq=False)
class SumCosh(Landscape):
    """``f(x) = sum_j cosh(x_j)``: (L0,L1)-smooth with ``(1, 1)``, not L-smooth.

    ``||H|| = cosh(max |x_j|) <= 1 + sinh(max |x_j|) <= 1 + ||grad f||``. Minimum ``d`` at 0.
    """

    d: int = 1
    kernels = LandscapeKernels(_cosh_value, _cosh_grad, _cosh_hvp, _cosh_hess, _cosh_coord_grad)
    L0 = 1.0
    L1 = 1.0

    def __post_init__(self):
        _checks.integer("d", self.d, minimum=1)

    @property
    def f_star(self):
        """The minimum ``f(0) = d`` (``cosh 0 = 1`` per coordinate)."""
        return float(self.d)

    def params(self):
        """Empty: ``f`` has no parameters besides ``d``."""
        return np.zeros(0)


@kernel
def _normpow_value(x, p):
    r2 = 0.0
    for j in range(x.shape[0]):
        r2 += x[j] * x[j]
    return r2 ** (0.5 * p[0])


@kernel
def _normpow_grad(x, p, out):
    r2 = 0.0
    for j in range(x.shape[0]):
        r2 += x[j] * x[j]
    c = p[0] * r2 ** (0.5 * p[0] - 1.0) if r2 > 0.0 else 0.0
    for j in range(x.shape[0]):
        out[j] = c * x[j]


@kernel
def _normpow_hvp(x, v, p, out):
    # H = q r^(q-2) I + q (q-2) r^(q-4) x x^T
    q = p[0]
    r2 = 0.0
    xv = 0.0
    for j in range(x.shape[0]):
        r2 += x[j] * x[j]
        xv += x[j] * v[j]
    if r2 == 0.0:
        c0 = 2.0 if q == 2.0 else 0.0
        for j in range(x.shape[0]):
            out[j] = c0 * v[j]
        return
    a = q * r2 ** (0.5 * q - 1.0)
    b = q * (q - 2.0) * r2 ** (0.5 * q - 2.0) * xv
    for j in range(x.shape[0]):
        out[j] = a * v[j] + b * x[j]


@kernel
def _normpow_hess(x, p, out):
    q = p[0]
    d = x.shape[0]
    r2 = 0.0
    for j in range(d):
        r2 += x[j] * x[j]
    out[:, :] = 0.0
    if r2 == 0.0:
        if q == 2.0:
            for j in range(d):
                out[j, j] = 2.0
        return
    a = q * r2 ** (0.5 * q - 1.0)
    b = q * (q - 2.0) * r2 ** (0.5 * q - 2.0)
    for i in range(d):
        for j in range(d):
            out[i, j] = b * x[i] * x[j]
        out[i, i] += a


@dataclass(frozen=True, eq=False)
class NormPower(Landscape):
    """``f(x) = ||x||^q`` for ``q >= 2`` (default ``q = 4``): (L0,L1) = ``(q, q - 1)``.

    ``||H|| = q (q-1) r^(q-2)`` and ``||grad f|| = q r^(q-1)``; the bound reduces to
    ``(q-1) r^(q-2) (1 - r) <= 1``, true for all r >= 0. Not L-smooth for q > 2
    (the ``||x||^(2n)`` example of (L0,L1)-smooth functions, Zhang et al. arXiv 1905.11881 and follow-ups; constants derived here). Minimum 0 at 0.
    """

    d: int = 1
    q: float = 4.0
    kernels = LandscapeKernels(_normpow_value, _normpow_grad, _normpow_hvp, _normpow_hess)

    def __post_init__(self):
        _checks.integer("d", self.d, minimum=1)
        q = _checks.real("q", self.q)
        if q < 2.0:
            raise ValueError(f"q must be >= 2, got {self.q!r}")

    @property
    def L0(self):
        """``q`` (see the class docstring for the bound)."""
        return float(self.q)

    @property
    def L1(self):
        """``q - 1`` (see the class docstring for the bound)."""
        return float(self.q - 1.0)

    def params(self):
        """``[q]``."""
        return np.array([float(self.q)])


# ------------------------------------------------------------------ logistic regression
@kernel
def _softplus(z):
    # log(1 + exp(z)), stable
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


@kernel
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@kernel
def _logreg_value(x, p):
    d = x.shape[0]
    n = (p.shape[0] - 1) // (d + 1)
    reg = p[p.shape[0] - 1]
    s = 0.0
    for i in range(n):
        z = 0.0
        for j in range(d):
            z += p[i * d + j] * x[j]
        s += _softplus(-p[n * d + i] * z)
    r2 = 0.0
    for j in range(d):
        r2 += x[j] * x[j]
    return s / n + 0.5 * reg * r2


@kernel
def _logreg_grad(x, p, out):
    d = x.shape[0]
    n = (p.shape[0] - 1) // (d + 1)
    reg = p[p.shape[0] - 1]
    for j in range(d):
        out[j] = reg * x[j]
    for i in range(n):
        y = p[n * d + i]
        z = 0.0
        for j in range(d):
            z += p[i * d + j] * x[j]
        c = -y * _sigmoid(-y * z) / n
        for j in range(d):
            out[j] += c * p[i * d + j]


@kernel
def _logreg_hvp(x, v, p, out):
    d = x.shape[0]
    n = (p.shape[0] - 1) // (d + 1)
    reg = p[p.shape[0] - 1]
    for j in range(d):
        out[j] = reg * v[j]
    for i in range(n):
        z = 0.0
        av = 0.0
        for j in range(d):
            z += p[i * d + j] * x[j]
            av += p[i * d + j] * v[j]
        s = _sigmoid(z)
        c = s * (1.0 - s) * av / n
        for j in range(d):
            out[j] += c * p[i * d + j]


@kernel
def _logreg_hess(x, p, out):
    d = x.shape[0]
    n = (p.shape[0] - 1) // (d + 1)
    reg = p[p.shape[0] - 1]
    out[:, :] = 0.0
    for j in range(d):
        out[j, j] = reg
    for i in range(n):
        z = 0.0
        for j in range(d):
            z += p[i * d + j] * x[j]
        s = _sigmoid(z)
        c = s * (1.0 - s) / n
        for a in range(d):
            for b in range(d):
                out[a, b] += c * p[i * d + a] * p[i * d + b]


@dataclass(frozen=True, eq=False)
class LogisticRegression(Landscape):
    """Regularised logistic loss on synthetic data drawn from ``seed``.

    ``f(x) = (1/n) sum_i log(1 + exp(-y_i a_i^T x)) + reg/2 ||x||^2`` with
    ``a_i ~ N(0, I_d)``, ``y_i = sign(a_i^T w*)`` flipped with probability ``flip``.
    L-smooth: ``(L0, L1) = (lambda_max(A^T A) / (4 n) + reg, 0)``. ``f_star`` is found by
    L-BFGS on construction (``reg > 0`` or label noise keeps the minimiser finite).
    """

    d: int = 5
    n_samples: int = 200
    reg: float = 1e-2
    flip: float = 0.1
    seed: int = 0
    kernels = LandscapeKernels(_logreg_value, _logreg_grad, _logreg_hvp, _logreg_hess)
    _data: np.ndarray = field(init=False, repr=False)
    _fstar: float = field(init=False, repr=False)

    def __post_init__(self):
        _checks.integer("d", self.d, minimum=1)
        _checks.integer("n_samples", self.n_samples, minimum=1)
        _checks.positive("reg", self.reg, allow_zero=True)
        _checks.in_interval("flip", self.flip, 0.0, 0.5)
        _checks.integer("seed", self.seed, minimum=0)
        rng = np.random.default_rng(self.seed)
        A = rng.standard_normal((self.n_samples, self.d))
        w = rng.standard_normal(self.d)
        y = np.sign(A @ w)
        y[y == 0] = 1.0
        y[rng.random(self.n_samples) < self.flip] *= -1.0
        object.__setattr__(self, "_data", np.concatenate([A.ravel(), y, [float(self.reg)]]))
        from scipy.optimize import minimize

        res = minimize(
            lambda x: _logreg_value(x, self._data),
            np.zeros(self.d),
            jac=lambda x: self.gradient(x),
            method="L-BFGS-B",
            options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000},
        )
        object.__setattr__(self, "_fstar", float(res.fun))

    @property
    def f_star(self):
        """The minimum value, computed by L-BFGS-B on construction (gradient tolerance
        ``1e-12``): numerical, not a closed form."""
        return self._fstar

    @property
    def features(self) -> np.ndarray:
        """The design matrix ``A``, shape ``(n_samples, d)``, rows ``a_i ~ N(0, I_d)``."""
        return self._data[: self.n_samples * self.d].reshape(self.n_samples, self.d)

    @property
    def labels(self) -> np.ndarray:
        """The labels ``y_i`` in ``{-1, +1}``, shape ``(n_samples,)``."""
        return self._data[self.n_samples * self.d : -1]

    @property
    def L0(self):
        """``lambda_max(A^T A) / (4 n) + reg``: the logistic loss's second derivative is at
        most ``1/4``, so ``H(x) <= A^T A / (4 n) + reg I`` for every ``x``."""
        A = self.features
        return float(np.linalg.eigvalsh(A.T @ A).max() / (4 * self.n_samples) + self.reg)

    L1 = 0.0

    def params(self):
        """``[A (row-major, n d), y (n), reg]``, length ``n (d + 1) + 1``: the data set travels
        to the kernels (and to noise models, which see it as ``lp``) in this vector."""
        return self._data


# ------------------------------------------------------------------ user-defined
def _adapt_custom(value, grad, hess, hvp, coord_grad=None):
    """Wrap user njit functions (``value(x)``, ``grad(x, out)``, optional ``hess(x, out)``,
    ``hvp(x, v, out)``, ``coord_grad(xj, j)``) into the ``(..., p)`` kernel signatures."""

    @kernel
    def k_value(x, p):
        return value(x)

    @kernel
    def k_grad(x, p, out):
        grad(x, out)

    if hess is not None:

        @kernel
        def k_hess(x, p, out):
            hess(x, out)

    if hvp is not None:

        @kernel
        def k_hvp(x, v, p, out):
            hvp(x, v, out)

    elif hess is not None:

        @kernel
        def k_hvp(x, v, p, out):
            d = x.shape[0]
            h = np.empty((d, d))
            hess(x, h)
            for i in range(d):
                acc = 0.0
                for j in range(d):
                    acc += h[i, j] * v[j]
                out[i] = acc

    else:
        # central difference of the gradient, relative step; approximate (documented)
        @kernel
        def k_hvp(x, v, p, out):
            d = x.shape[0]
            nv = 0.0
            nx = 0.0
            for j in range(d):
                nv += v[j] * v[j]
                nx += x[j] * x[j]
            if nv == 0.0:
                out[:] = 0.0
                return
            h = 6.0554544523933395e-06 * (1.0 + math.sqrt(nx)) / math.sqrt(nv)
            gp = np.empty(d)
            gm = np.empty(d)
            xp = x + h * v
            xm = x - h * v
            grad(xp, gp)
            grad(xm, gm)
            for j in range(d):
                out[j] = (gp[j] - gm[j]) / (2.0 * h)

    if hess is None:
        k_hess = hess_from_hvp(k_hvp)

    k_coord_grad = None
    if coord_grad is not None:

        @inline_kernel
        def k_coord_grad(xj, j, p):
            return coord_grad(xj, j)

    return LandscapeKernels(k_value, k_grad, k_hvp, k_hess, k_coord_grad)


_CUSTOM_KERNELS: dict = {}


@dataclass(frozen=True, eq=False)
class Custom(Landscape):
    """A landscape from the user's own numba ``@njit`` functions.

    ``value(x) -> float`` and ``grad(x, out)`` are required; ``hess(x, out)`` and
    ``hvp(x, v, out)`` are optional (missing ones are derived: the Hessian from the HVP,
    the HVP from the Hessian, or, with neither, by a central difference of the gradient,
    which is approximate). Declare ``L0, L1`` if known (else ``nan``). A separable ``f`` may
    also give ``coord_grad(xj, j) -> d f / d x_j`` (a function of ``x_j`` alone, equal to
    ``grad``'s coordinate ``j``): the engines then fold the gradient into their update loop.
    """

    value: Callable
    grad: Callable
    d: int
    hess: Callable | None = None
    hvp: Callable | None = None
    coord_grad: Callable | None = None
    L0: float = float("nan")
    L1: float = float("nan")
    f_star: float = 0.0
    name: str = "custom"
    kernels: LandscapeKernels = field(init=False, repr=False)

    def __post_init__(self):
        _checks.integer("d", self.d, minimum=1)
        for nm in ("value", "grad", "hess", "hvp", "coord_grad"):
            fn = getattr(self, nm)
            if fn is None and nm in ("hess", "hvp", "coord_grad"):
                continue
            if not hasattr(fn, "py_func"):
                raise ValueError(f"{nm} must be a numba @njit function, got {fn!r}")
        _checks.real("f_star", self.f_star)
        fns = (self.value, self.grad, self.hess, self.hvp, self.coord_grad)
        if fns not in _CUSTOM_KERNELS:  # one set of wrappers per set of user functions
            _CUSTOM_KERNELS[fns] = _adapt_custom(*fns)
        object.__setattr__(self, "kernels", _CUSTOM_KERNELS[fns])

    def params(self):
        """Empty: the user's functions take no parameter vector (their kernels ignore ``p``)."""
        return np.zeros(0)


# ------------------------------------------------------------------ heterogeneous agents (methods.federated)
# p = [p_0 (nb), p_1 (nb), ..., p_{N-1} (nb), nb, N]: agent i's landscape has parameters p_i
def _per_agent_kernels(base):
    """The kernels of ``F = (1/N) sum_i f_i`` and of agent ``i``'s gradient, around a separable base."""
    bvalue, bcoord, bhvp, bhess = base.value, base.coord_grad, base.hvp, base.hess

    @kernel
    def value(x, p):
        n = int(p[p.shape[0] - 1])
        nb = int(p[p.shape[0] - 2])
        s = 0.0
        for i in range(n):
            s += bvalue(x, p[i * nb:(i + 1) * nb])
        return s / n

    @inline_kernel
    def coord_grad(xj, j, p):
        n = int(p[p.shape[0] - 1])
        nb = int(p[p.shape[0] - 2])
        s = 0.0
        for i in range(n):
            s += bcoord(xj, j, p[i * nb:(i + 1) * nb])
        return s / n

    @inline_kernel
    def grad(x, p, out):
        # coord_grad for every j, agents in the outer loop: out[j] accumulates the agents' terms in
        # the same order as coord_grad's sum (bit for bit), with one slice of p per agent, not per
        # agent and coordinate
        n = int(p[p.shape[0] - 1])
        nb = int(p[p.shape[0] - 2])
        d = x.shape[0]
        for j in range(d):
            out[j] = 0.0
        for i in range(n):
            q = p[i * nb:(i + 1) * nb]
            for j in range(d):
                out[j] += bcoord(x[j], j, q)
        for j in range(d):
            out[j] = out[j] / n

    @kernel
    def hvp(x, v, p, out):
        n = int(p[p.shape[0] - 1])
        nb = int(p[p.shape[0] - 2])
        t = np.empty(x.shape[0])
        out[:] = 0.0
        for i in range(n):
            bhvp(x, v, p[i * nb:(i + 1) * nb], t)
            out += t
        out /= n

    @kernel
    def hess(x, p, out):
        n = int(p[p.shape[0] - 1])
        nb = int(p[p.shape[0] - 2])
        t = np.empty(out.shape)
        out[:, :] = 0.0
        for i in range(n):
            bhess(x, p[i * nb:(i + 1) * nb], t)
            out += t
        out /= n

    @inline_kernel
    def agent_grad(x, p, agent, out):
        nb = int(p[p.shape[0] - 2])
        q = p[agent * nb:(agent + 1) * nb]
        for j in range(x.shape[0]):
            out[j] = bcoord(x[j], j, q)

    @inline_kernel
    def agent_params(p, agent):
        nb = int(p[p.shape[0] - 2])
        return p[agent * nb:(agent + 1) * nb]

    return LandscapeKernels(value, grad, hvp, hess, coord_grad), agent_grad, agent_params


@inline_kernel
def _no_agent_grad(x, p, agent, out):
    pass


_PER_AGENT: dict = {}


@dataclass(frozen=True, eq=False)
class PerAgent(Landscape):
    """Agents with their own objectives: agent ``i`` minimises ``landscapes[i]`` (the math: ``methods.federated``).

    ``landscapes``: ``N`` landscapes of one separable class (the same compiled kernels, the same
    parameter length, e.g. ``DiagonalQuadratic`` with their own ``lambdas`` and ``center``). This
    landscape is the global objective ``F = (1/N) sum_i f_i`` (its ``value``, ``grad``, ``f_star``:
    what the engines record); agent ``i``'s oracle sees ``grad f_i`` at its own point (the engine
    calls ``agent_grad`` in its per-agent loop), so every optimizer with ``agents = N`` runs on
    heterogeneous data. ``f_star``: closed form for diagonal quadratics (``minimiser``), else
    L-BFGS-B (numerical) unless given. ``(L0, L1)``: ``(mean L0_i, 0)`` when every ``f_i`` is
    L-smooth, else ``nan`` (an (L0,L1) bound of the ``f_i`` does not bound ``F`` in ``||grad F||``).
    ``PerAgent.quadratics(lambdas, centers)`` builds diagonal quadratics.
    """

    landscapes: tuple
    f_star_: float | None = None
    kernels: LandscapeKernels = field(init=False, repr=False)
    agent_grad: Callable = field(init=False, repr=False)     # agent_grad(x, p, agent, out): grad f_agent(x)
    agent_params: Callable = field(init=False, repr=False)   # agent_params(p, agent): agent's slice of p

    def __post_init__(self):
        ls = tuple(self.landscapes) if isinstance(self.landscapes, (list, tuple)) else None
        if not ls:
            raise ValueError("landscapes must be a non-empty list of methods.landscapes objects, one per agent")
        first = ls[0]
        for f in ls:
            if not isinstance(f, Landscape) or isinstance(f, PerAgent):
                raise ValueError(f"landscapes: every entry must be a (non per-agent) landscape, got {f!r}")
            if tuple(f.kernels) != tuple(first.kernels) or f.d != first.d or f.params().size != first.params().size:
                raise ValueError("landscapes: every agent's landscape must be of one class, dimension and parameter "
                                 "length (one set of compiled kernels)")
        if first.kernels.coord_grad is None:
            raise ValueError("landscapes: per-agent landscapes must be separable (have a coord_grad kernel, e.g. "
                             "DiagonalQuadratic, Quartic, SumCosh)")
        object.__setattr__(self, "landscapes", ls)
        key = tuple(first.kernels)
        if key not in _PER_AGENT:
            _PER_AGENT[key] = _per_agent_kernels(first.kernels)
        kernels, agent_grad, agent_params = _PER_AGENT[key]
        object.__setattr__(self, "kernels", kernels)
        object.__setattr__(self, "agent_grad", agent_grad)
        object.__setattr__(self, "agent_params", agent_params)
        if self.f_star_ is not None:
            object.__setattr__(self, "f_star_", _checks.real("f_star_", self.f_star_))

    @classmethod
    def quadratics(cls, lambdas, centers) -> "PerAgent":
        """Agent ``i`` minimises ``f_i(x) = 1/2 sum_j lambda_ij (x_j - c_ij)^2``: ``centers`` ``(N, d)``,
        ``lambdas`` ``(d,)`` (shared) or ``(N, d)`` (each agent its own curvature)."""
        c = _checks.finite_array("centers", centers, ndim=2)
        lam = _checks.finite_array("lambdas", lambdas, positive_entries=True)
        try:
            lam = np.broadcast_to(lam, c.shape)
        except ValueError:
            raise ValueError(f"lambdas must have shape (d,) or (agents, d) = {c.shape}, got {lam.shape}") from None
        return cls(tuple(DiagonalQuadratic(lam[i].copy(), center=c[i]) for i in range(c.shape[0])))

    @property
    def agents(self) -> int:
        """The number of agents, ``len(landscapes)``."""
        return len(self.landscapes)

    @property
    def d(self):
        """The agents' common dimension."""
        return self.landscapes[0].d

    @property
    def L0(self):
        """``mean_i L0_i`` when every ``L1_i = 0`` (then ``||H_F|| <= mean ||H_i||``), else ``nan``."""
        return float(np.mean([f.L0 for f in self.landscapes])) if self.L1 == 0.0 else float("nan")

    @property
    def L1(self):
        """0 when every agent's landscape is L-smooth (``L1_i = 0``), else ``nan``."""
        return 0.0 if all(f.L1 == 0.0 for f in self.landscapes) else float("nan")

    def minimiser(self) -> np.ndarray | None:
        """``argmin F`` for diagonal quadratics (closed form ``sum_i lambda_i c_i / sum_i lambda_i`` per
        coordinate), else ``None``."""
        if not all(isinstance(f, DiagonalQuadratic) for f in self.landscapes):
            return None
        lam = np.array([f.lambdas for f in self.landscapes])
        c = np.array([f.center for f in self.landscapes])
        return (lam * c).sum(0) / lam.sum(0)

    def agent_gradient(self, x, agent: int) -> np.ndarray:
        """``grad f_agent(x)`` by the compiled ``agent_grad`` (the engine's arithmetic)."""
        agent = _checks.integer("agent", agent)
        if agent >= self.agents:
            raise ValueError(f"agent must be < agents = {self.agents}, got {agent}")
        out = np.empty(self.d)
        self.agent_grad(self._x(x), self.params(), agent, out)
        return out

    @property
    def f_star(self):
        """``min F``: given, or ``F(minimiser)`` (diagonal quadratics), else L-BFGS-B from 0 (numerical)."""
        if self.f_star_ is not None:
            return self.f_star_
        xs = self.minimiser()
        if xs is None:
            from scipy.optimize import minimize

            res = minimize(lambda x: self.f(x), np.zeros(self.d), jac=self.gradient, method="L-BFGS-B",
                           options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10_000})
            return float(res.fun)
        return float(self.f(xs))

    def params(self):
        """``[p_0, ..., p_{N-1}, nb, N]``: every agent's ``params()`` (``nb`` floats each), then ``nb`` and ``N``."""
        ps = [np.ascontiguousarray(f.params(), dtype=np.float64) for f in self.landscapes]
        return np.concatenate(ps + [[float(ps[0].size), float(len(ps))]])

    def pack(self, shape=None) -> np.ndarray:
        """``params()``; the problem's ``agents`` must be this landscape's."""
        if shape is not None and shape.agents != self.agents:
            raise ValueError(f"landscape: PerAgent has {self.agents} agents, the optimizer {shape.agents}")
        return super().pack(shape)

    @property
    def agent_coord_grad(self):
        """The agents' common ``coord_grad(xj, j, q)`` (``q = agent_params(p, agent)``)."""
        return self.landscapes[0].kernels.coord_grad

    def structure(self):
        """``(agent_grad, agent_params, agent_coord_grad)``: the per-agent kernels the engines call."""
        return (self.agent_grad, self.agent_params, self.agent_coord_grad)


# ------------------------------------------------------------------ finite sums on data
# (defined in methods.finite_sum, exported here: least squares, logistic and softmax regression)
from .finite_sum import FiniteSumLogistic, LeastSquares, SoftmaxRegression  # noqa: E402,F401
from .mlp import MLP  # noqa: E402,F401  (a small MLP with its own backpropagation, methods.mlp)
