"""Finite-sum landscapes ``f(x) = (1/n) sum_i f_i(x)`` on data, with compiled per-sample gradients.

Three models, each a ``methods.landscapes.Landscape`` (exported there as ``LeastSquares``,
``FiniteSumLogistic`` and ``SoftmaxRegression``) whose data travel in ``params()``, so every
oracle sees them through ``lp``. With rows ``a_i`` (features, plus a column of ones when
``intercept``) and ``reg >= 0``:

* ``LeastSquares``: ``f_i = 1/2 (a_i^T x - b_i)^2 + reg/2 ||x||^2``;
  ``(L0, L1) = (lambda_max(A^T A / n) + reg, 0)``, ``f_star`` in closed form (ridge normal equations);
* ``FiniteSumLogistic``: labels ``y_i in {-1, +1}``, ``f_i = log(1 + exp(-y_i a_i^T x)) + reg/2 ||x||^2``;
  ``(L0, L1) = (lambda_max(A^T A) / (4 n) + reg, 0)`` (the logistic curvature is at most 1/4);
* ``SoftmaxRegression``: ``K`` classes, ``x`` is the ``K x m`` weight matrix flattened row by row,
  ``f_i = log sum_k exp(w_k^T a_i) - w_{y_i}^T a_i + reg/2 ||x||^2``;
  ``(L0, L1) = (lambda_max(A^T A) / (2 n) + reg, 0)`` (the softmax Hessian ``diag(s) - s s^T`` has norm
  at most 1/2; Boehning 1992's bound, derived here for this constant).

All three are L-smooth, so ``L1 = 0`` is exact. ``f_star`` of the two classifiers is found by
L-BFGS on construction (an estimate of the infimum when ``reg = 0`` and the data are separable).

Compiled kernels beside the landscape's four (``value, grad, hvp, hess``), in ``sample_kernels``:

* ``grad_add(x, i, w, p, out)``: ``out += w * grad h_i(x)`` with ``h_i = f_i - reg/2 ||x||^2`` the data term;
* ``sample_grad(x, i, p, out)``: ``out = grad f_i(x)``;
* ``batch_grad(x, idx, count, p, out)``: ``out = (1/count) sum_{b < count} grad f_{idx[b]}(x)``
  (``idx`` float64 holding sample indices).

``grad`` is ``batch_grad`` over ``0..n-1`` in order, with the same arithmetic (sum of ``grad_add``
with ``w = 1``, times ``1/n``, plus ``reg x``): a full batch taken in index order is bit-identical
to the exact gradient. ``kernels.value_grad`` gives ``value``'s and ``grad``'s bits in one pass over
the samples (the engines' save points). A landscape may process several samples per pass
(``_assemble``'s ``rows_add``, the MLP's) as long as each entry of ``out`` gets the same additions
in the same order as the per-sample loop.

Parameter layout (``params()``): ``[n, K, reg, m, A (n*m, row major), y (n)]``.

Data: ``load(name)`` reads a data set bundled with scikit-learn (``"digits"``, ``"breast_cancer"``,
``"wine"``, ``"iris"``, ``"diabetes"``; they ship inside the package, nothing is downloaded) or
``Dataset.from_arrays`` wraps the user's arrays; features are standardised on the training split and a
held-out split is kept for ``accuracy``. ``shards(labels, agents, how)`` splits the training indices among
agents: ``"iid"``, ``"label"`` (sorted by label, contiguous blocks) or ``"dirichlet"`` (per-class
proportions ``~ Dirichlet(alpha)``, the heterogeneous split of Hsu et al., arXiv 1909.06335).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import numpy as np

from . import _checks
from ._jit import inline_kernel, kernel, leaf_kernel
from .landscapes import Landscape, LandscapeKernels, hess_from_hvp

HEAD = 4  # [n, K, reg, m]


class SampleKernels(NamedTuple):
    """The per-sample kernels of a finite sum: ``grad_add(x, i, w, p, out)`` (``out += w grad f_i(x)``), ``sample_grad(x, i, p, out)`` and ``batch_grad(x, idx, count, p, out)`` (the mean over ``idx[:count]``)."""
    grad_add: Callable     # grad_add(x, i, w, p, out): out += w * grad h_i(x)  (data term)
    sample_grad: Callable  # sample_grad(x, i, p, out): out = grad f_i(x)
    batch_grad: Callable   # batch_grad(x, idx, count, p, out): out = mean over idx[:count] of grad f_i(x)


# ------------------------------------------------------------------ the per-sample models
@inline_kernel
def _softplus(z):
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


@inline_kernel
def _sigmoid(z):
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@inline_kernel
def _dot_row(x, i, p, m, off):
    """``a_i^T x[off:off+m]``."""
    base = HEAD + i * m
    z = 0.0
    for j in range(m):
        z += p[base + j] * x[off + j]
    return z


# least squares: h_i = 1/2 (a_i^T x - b_i)^2
@inline_kernel
def _ls_loss(x, i, p):
    n = int(p[0])
    m = int(p[3])
    r = _dot_row(x, i, p, m, 0) - p[HEAD + n * m + i]
    return 0.5 * r * r


@inline_kernel
def _ls_grad_add(x, i, w, p, out):
    n = int(p[0])
    m = int(p[3])
    base = HEAD + i * m
    c = w * (_dot_row(x, i, p, m, 0) - p[HEAD + n * m + i])
    for j in range(m):
        out[j] += c * p[base + j]


@inline_kernel
def _ls_hvp_add(x, v, i, p, out):
    m = int(p[3])
    base = HEAD + i * m
    c = _dot_row(v, i, p, m, 0)
    for j in range(m):
        out[j] += c * p[base + j]


@inline_kernel
def _ls_hess_add(x, i, p, out):
    m = int(p[3])
    base = HEAD + i * m
    for a in range(m):
        for b in range(m):
            out[a, b] += p[base + a] * p[base + b]


# logistic: h_i = softplus(-y_i a_i^T x)
@inline_kernel
def _lg_loss(x, i, p):
    n = int(p[0])
    m = int(p[3])
    return _softplus(-p[HEAD + n * m + i] * _dot_row(x, i, p, m, 0))


@inline_kernel
def _lg_grad_add(x, i, w, p, out):
    n = int(p[0])
    m = int(p[3])
    base = HEAD + i * m
    y = p[HEAD + n * m + i]
    c = w * (-y * _sigmoid(-y * _dot_row(x, i, p, m, 0)))
    for j in range(m):
        out[j] += c * p[base + j]


@inline_kernel
def _lg_hvp_add(x, v, i, p, out):
    m = int(p[3])
    base = HEAD + i * m
    s = _sigmoid(_dot_row(x, i, p, m, 0))
    c = s * (1.0 - s) * _dot_row(v, i, p, m, 0)
    for j in range(m):
        out[j] += c * p[base + j]


@inline_kernel
def _lg_hess_add(x, i, p, out):
    m = int(p[3])
    base = HEAD + i * m
    s = _sigmoid(_dot_row(x, i, p, m, 0))
    c = s * (1.0 - s)
    for a in range(m):
        for b in range(m):
            out[a, b] += c * p[base + a] * p[base + b]


# softmax: h_i = logsumexp_k(w_k^T a_i) - w_{y_i}^T a_i, x = W (K x m) row major. No scratch: the
# logits are recomputed (an allocation would keep the engines' loops off their no-NRT build)
@inline_kernel
def _sm_lse(x, i, p, K, m):
    zmax = -np.inf
    for k in range(K):
        z = _dot_row(x, i, p, m, k * m)
        if z > zmax:
            zmax = z
    s = 0.0
    for k in range(K):
        s += math.exp(_dot_row(x, i, p, m, k * m) - zmax)
    return zmax + math.log(s)


@inline_kernel
def _sm_loss(x, i, p):
    n = int(p[0])
    K = int(p[1])
    m = int(p[3])
    y = int(p[HEAD + n * m + i])
    return _sm_lse(x, i, p, K, m) - _dot_row(x, i, p, m, y * m)


@inline_kernel
def _sm_grad_add(x, i, w, p, out):
    n = int(p[0])
    K = int(p[1])
    m = int(p[3])
    y = int(p[HEAD + n * m + i])
    base = HEAD + i * m
    lse = _sm_lse(x, i, p, K, m)
    for k in range(K):
        c = math.exp(_dot_row(x, i, p, m, k * m) - lse)
        if k == y:
            c -= 1.0
        c *= w
        for j in range(m):
            out[k * m + j] += c * p[base + j]


@inline_kernel
def _sm_hvp_add(x, v, i, p, out):
    # H_i v = ((diag(s) - s s^T) (V a_i)) a_i^T with V = v as K x m
    K = int(p[1])
    m = int(p[3])
    base = HEAD + i * m
    lse = _sm_lse(x, i, p, K, m)
    sv = 0.0  # s^T (V a_i)
    for k in range(K):
        sv += math.exp(_dot_row(x, i, p, m, k * m) - lse) * _dot_row(v, i, p, m, k * m)
    for k in range(K):
        sk = math.exp(_dot_row(x, i, p, m, k * m) - lse)
        c = sk * (_dot_row(v, i, p, m, k * m) - sv)
        for j in range(m):
            out[k * m + j] += c * p[base + j]


@inline_kernel
def _sm_hess_add(x, i, p, out):
    K = int(p[1])
    m = int(p[3])
    base = HEAD + i * m
    lse = _sm_lse(x, i, p, K, m)
    for k in range(K):
        sk = math.exp(_dot_row(x, i, p, m, k * m) - lse)
        for l in range(K):
            sl = math.exp(_dot_row(x, i, p, m, l * m) - lse)
            c = (sk if k == l else 0.0) - sk * sl
            for a in range(m):
                for b in range(m):
                    out[k * m + a, l * m + b] += c * p[base + a] * p[base + b]


# ------------------------------------------------------------------ generic assembly
def _assemble(loss, grad_add, hvp_add, hess_add, rows_add=None):
    """The landscape kernels and the per-sample kernels of ``f = (1/n) sum_i h_i + reg/2 ||x||^2``
    (``hess_add=None``: the dense Hessian from ``d`` Hessian-vector products, ``landscapes.hess_from_hvp``).
    ``rows_add(x, idx, lo, hi, w, p, s, out) -> s``: for the rows ``q = lo..hi-1`` in order (sample
    ``idx[q]``, or ``q`` when ``idx`` is empty) ``out += w grad h_i`` and ``s += h_i``, the same bits
    as ``loss`` and ``grad_add`` row by row (a landscape that processes several samples at once, the
    MLP's; then the full and batch gradients use it too; ``None``: that loop)."""
    blocked = rows_add is not None
    if rows_add is None:
        @inline_kernel
        def rows_add(x, idx, lo, hi, w, p, s, out):
            by_index = idx.shape[0] > 0
            for q in range(lo, hi):
                i = int(idx[q]) if by_index else q
                s += loss(x, i, p)
                grad_add(x, i, w, p, out)
            return s

    @leaf_kernel
    def value(x, p):
        n = int(p[0])
        s = 0.0
        for i in range(n):
            s += loss(x, i, p)
        r2 = 0.0
        for j in range(x.shape[0]):
            r2 += x[j] * x[j]
        return s / n + 0.5 * p[2] * r2

    @inline_kernel
    def _finish(x, p, inv, out):
        reg = p[2]
        for j in range(x.shape[0]):
            out[j] = out[j] * inv + reg * x[j]

    @leaf_kernel
    def grad(x, p, out):
        n = int(p[0])
        for j in range(x.shape[0]):
            out[j] = 0.0
        if blocked:
            rows_add(x, p[0:0], 0, n, 1.0, p, 0.0, out)  # (no index array: the rows in order)
        else:
            for i in range(n):
                grad_add(x, i, 1.0, p, out)
        _finish(x, p, 1.0 / n, out)

    @leaf_kernel
    def value_grad(x, p, out):
        n = int(p[0])
        for j in range(x.shape[0]):
            out[j] = 0.0
        s = rows_add(x, p[0:0], 0, n, 1.0, p, 0.0, out)
        r2 = 0.0
        for j in range(x.shape[0]):
            r2 += x[j] * x[j]
        _finish(x, p, 1.0 / n, out)
        return s / n + 0.5 * p[2] * r2

    @leaf_kernel
    def batch_grad(x, idx, count, p, out):
        for j in range(x.shape[0]):
            out[j] = 0.0
        if blocked:
            rows_add(x, idx, 0, count, 1.0, p, 0.0, out)
        else:
            for b in range(count):
                grad_add(x, int(idx[b]), 1.0, p, out)
        _finish(x, p, 1.0 / count, out)

    @leaf_kernel
    def sample_grad(x, i, p, out):
        for j in range(x.shape[0]):
            out[j] = 0.0
        grad_add(x, i, 1.0, p, out)
        _finish(x, p, 1.0, out)

    @leaf_kernel
    def hvp(x, v, p, out):
        n = int(p[0])
        for j in range(x.shape[0]):
            out[j] = 0.0
        for i in range(n):
            hvp_add(x, v, i, p, out)
        inv = 1.0 / n
        for j in range(x.shape[0]):
            out[j] = out[j] * inv + p[2] * v[j]

    @leaf_kernel
    def hess(x, p, out):
        n = int(p[0])
        d = x.shape[0]
        out[:, :] = 0.0
        for i in range(n):
            hess_add(x, i, p, out)
        inv = 1.0 / n
        for a in range(d):
            for b in range(d):
                out[a, b] *= inv
            out[a, a] += p[2]

    return LandscapeKernels(value, grad, hvp, hess if hess_add is not None else hess_from_hvp(hvp),
                            value_grad=value_grad), \
        SampleKernels(grad_add, sample_grad, batch_grad)


_LS = _assemble(_ls_loss, _ls_grad_add, _ls_hvp_add, _ls_hess_add)
_LG = _assemble(_lg_loss, _lg_grad_add, _lg_hvp_add, _lg_hess_add)
_SM = _assemble(_sm_loss, _sm_grad_add, _sm_hvp_add, _sm_hess_add)


# ------------------------------------------------------------------ data
@dataclass(frozen=True, eq=False)
class Dataset:
    """A training split ``(X, y)`` and a held-out split ``(X_test, y_test)``, features (and, for
    regression, targets) standardised with the training split's mean and standard deviation
    (constant columns are left centred)."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    name: str = "arrays"
    task: str = "classification"  # or "regression"

    @classmethod
    def from_arrays(cls, X, y, *, test_fraction: float = 0.25, seed: int = 0, standardize: bool = True,
                    task: str = "classification", name: str = "arrays") -> "Dataset":
        """Split the user's ``X (n, m)``, ``y (n,)`` (stratified by label for classification)."""
        X = _checks.finite_array("X", X, ndim=2)
        y = _checks.finite_array("y", y, ndim=1)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have {X.shape[0]} entries (one per row of X), got {y.shape[0]}")
        _checks.in_interval("test_fraction", test_fraction, 0.0, 1.0)
        _checks.one_of("task", task, {"classification", "regression"})
        rng = np.random.default_rng(_checks.integer("seed", seed))
        n = X.shape[0]
        test = np.zeros(n, bool)
        if task == "classification":
            for c in np.unique(y):
                idx = rng.permutation(np.flatnonzero(y == c))
                test[idx[:int(round(test_fraction * idx.size))]] = True
        else:
            test[rng.permutation(n)[:int(round(test_fraction * n))]] = True
        Xtr, Xte = X[~test], X[test]
        if Xtr.shape[0] < 2:
            raise ValueError("test_fraction leaves fewer than 2 training rows")
        if standardize:
            mu = Xtr.mean(axis=0)
            sd = Xtr.std(axis=0)
            sd[sd == 0] = 1.0
            Xtr, Xte = (Xtr - mu) / sd, (Xte - mu) / sd
        ytr, yte = y[~test].copy(), y[test].copy()
        if standardize and task == "regression":  # targets too (training mean and standard deviation)
            mu, sd = ytr.mean(), ytr.std()
            sd = sd if sd > 0 else 1.0
            ytr, yte = (ytr - mu) / sd, (yte - mu) / sd
        return cls(np.ascontiguousarray(Xtr), ytr, np.ascontiguousarray(Xte), yte, name, task)

    @property
    def classes(self) -> np.ndarray:
        """The distinct labels of a classification data set, sorted."""
        return np.unique(np.concatenate([self.y, self.y_test]))


_BUNDLED = {"digits": "classification", "breast_cancer": "classification", "wine": "classification",
            "iris": "classification", "diabetes": "regression"}


def load(name: str, *, test_fraction: float = 0.25, seed: int = 0, standardize: bool = True,
         classes=None) -> Dataset:
    """A data set bundled with scikit-learn (nothing is downloaded): ``digits`` (1797 x 64, 10 classes),
    ``breast_cancer`` (569 x 30, 2), ``wine`` (178 x 13, 3), ``iris`` (150 x 4, 3), ``diabetes``
    (442 x 10, regression). ``classes``: keep only these labels (e.g. ``(0, 1)`` of digits for a
    binary problem). Needs the ``data`` extra (scikit-learn)."""
    _checks.one_of("name", name, set(_BUNDLED))
    try:
        from sklearn import datasets
    except ImportError:  # pragma: no cover - the extra is in the test environment
        raise ImportError("methods.finite_sum.load needs scikit-learn: pip install 'sde-workbench[data]'") from None
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    if classes is not None:
        keep = np.isin(y, np.asarray(classes))
        if not keep.any():
            raise ValueError(f"classes {classes!r} match no label of {name}")
        X, y = X[keep], y[keep]
    return Dataset.from_arrays(X, y.astype(float), test_fraction=test_fraction, seed=seed, standardize=standardize,
                               task=_BUNDLED[name], name=name)


def shards(labels, agents: int, how: str = "iid", *, alpha: float = 0.5, seed: int = 0) -> list[np.ndarray]:
    """Split ``range(len(labels))`` among ``agents``: a list of sorted index arrays, together a partition.

    ``"iid"``: a random permutation cut into near-equal blocks; ``"label"``: indices sorted by label
    (ties at random), cut into near-equal contiguous blocks (each agent sees few classes);
    ``"dirichlet"``: for every class, its indices are dealt to agents in proportions
    ``~ Dirichlet(alpha * 1)`` (smaller ``alpha``: more heterogeneous; Hsu et al., arXiv 1909.06335).
    Every agent gets at least one index (``ValueError`` otherwise).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.size == 0:
        raise ValueError("labels must be a non-empty 1-D array")
    agents = _checks.integer("agents", agents, minimum=1)
    _checks.one_of("how", how, {"iid", "label", "dirichlet"})
    n = labels.size
    if agents > n:
        raise ValueError(f"agents = {agents} exceeds the {n} samples")
    rng = np.random.default_rng(_checks.integer("seed", seed))
    if how == "iid":
        out = np.array_split(rng.permutation(n), agents)
    elif how == "label":
        order = np.lexsort((rng.random(n), labels))
        out = np.array_split(order, agents)
    else:
        alpha = _checks.positive("alpha", alpha)
        parts = [[] for _ in range(agents)]
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            cuts = (np.cumsum(rng.dirichlet(np.full(agents, alpha)))[:-1] * idx.size).astype(int)
            for a, block in enumerate(np.split(idx, cuts)):
                parts[a].append(block)
        out = [np.concatenate(p) for p in parts]
    out = [np.sort(np.asarray(s, dtype=np.int64)) for s in out]
    if any(s.size == 0 for s in out):
        raise ValueError(f"how={how!r} left an agent without samples (raise alpha or lower agents)")
    return out


# ------------------------------------------------------------------ the landscapes
def _design(X, intercept):
    X = _checks.finite_array("A", X, ndim=2)
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"A must be a non-empty 2-D array, got shape {X.shape}")
    if intercept:
        X = np.column_stack([X, np.ones(X.shape[0])])
    return np.ascontiguousarray(X, dtype=np.float64)


class FiniteSum(Landscape):
    """Base of the finite-sum landscapes: the data in ``params()``, the per-sample kernels in
    ``sample_kernels``, Python helpers ``sample_gradients`` and ``accuracy``."""

    sample_kernels: SampleKernels
    A_: np.ndarray
    y_: np.ndarray
    K_: int = 1

    @classmethod
    def from_dataset(cls, data: "Dataset", *, reg: float | None = None, intercept: bool = True):
        """This landscape on the training split of ``data`` (``data.X``, ``data.y``); ``reg``
        defaults to the class's own default."""
        kw = {} if reg is None else {"reg": reg}
        return cls(data.X, data.y, intercept=intercept, **kw)

    @property
    def d(self):
        """The dimension: one weight per (standardised) feature, plus the intercept (softmax: per class)."""
        return self.A_.shape[1] * self.K_

    @property
    def n(self) -> int:
        """The number of samples ``n`` in ``f = (1/n) sum_i f_i``."""
        return self.A_.shape[0]

    def params(self):
        return self._params

    def _set(self, A, y, K, reg):
        object.__setattr__(self, "A_", A)
        object.__setattr__(self, "y_", np.ascontiguousarray(y, dtype=np.float64))
        object.__setattr__(self, "K_", int(K))
        object.__setattr__(self, "_params", np.concatenate([[float(A.shape[0]), float(K), float(reg),
                                                             float(A.shape[1])], A.ravel(), self.y_]))

    def sample_gradients(self, x, rows=None) -> np.ndarray:
        """``grad f_i(x)`` for every sample (or ``rows``), shape ``(n, d)``: the compiled ``sample_grad``."""
        x = self._x(x)
        rows = np.arange(self.n) if rows is None else np.asarray(rows, dtype=np.int64)
        out = np.empty((rows.size, self.d))
        for r, i in enumerate(rows):
            self.sample_kernels.sample_grad(x, int(i), self._params, out[r])
        return out

    def _fit_fstar(self):
        from scipy.optimize import minimize

        res = minimize(lambda x: self.kernels.value(x, self._params), np.zeros(self.d), jac=self.gradient,
                       method="L-BFGS-B", options={"gtol": 1e-11, "ftol": 1e-15, "maxiter": 20_000})
        object.__setattr__(self, "_fstar", float(res.fun))
        object.__setattr__(self, "x_star", np.asarray(res.x))

    @property
    def f_star(self):
        """The minimum value (closed form for least squares, L-BFGS for the classifiers), computed once."""
        return self._fstar

    def _features(self, X):
        X = _checks.finite_array("X", X, ndim=2)
        if self.intercept:
            X = np.column_stack([X, np.ones(X.shape[0])])
        if X.shape[1] != self.A_.shape[1]:
            raise ValueError(f"X must have {self.A_.shape[1] - int(self.intercept)} columns, got "
                             f"{X.shape[1] - int(self.intercept)}")
        return X


@dataclass(frozen=True, eq=False)
class LeastSquares(FiniteSum):
    """``f(x) = (1/n) sum_i 1/2 (a_i^T x - b_i)^2 + reg/2 ||x||^2`` (see the module docstring)."""

    A: np.ndarray = field(repr=False)
    b: np.ndarray = field(repr=False)
    reg: float = 0.0
    intercept: bool = False
    kernels = _LS[0]
    sample_kernels = _LS[1]

    def __post_init__(self):
        A = _design(self.A, self.intercept)
        b = _checks.finite_array("b", self.b, ndim=1)
        if b.shape[0] != A.shape[0]:
            raise ValueError(f"b must have {A.shape[0]} entries, got {b.shape[0]}")
        reg = _checks.positive("reg", self.reg, allow_zero=True)
        self._set(A, b, 1, reg)
        M = A.T @ A / A.shape[0] + reg * np.eye(A.shape[1])
        if np.linalg.eigvalsh(M).min() <= 1e-12 * max(1.0, np.linalg.eigvalsh(M).max()):
            raise ValueError("A: A^T A / n + reg I is singular; use reg > 0 (the minimiser is not unique)")
        xs = np.linalg.solve(M, A.T @ b / A.shape[0])
        object.__setattr__(self, "x_star", xs)
        object.__setattr__(self, "_fstar", float(self.kernels.value(xs, self._params)))

    @property
    def L0(self):
        """``lambda_max(A^T A / n) + reg`` (exact: the Hessian is constant; ``L1 = 0``)."""
        return float(np.linalg.eigvalsh(self.A_.T @ self.A_ / self.n).max() + self.reg)

    L1 = 0.0

    def predict(self, x, X) -> np.ndarray:
        """The model's prediction at parameters ``x`` for the rows of ``X`` (raw features, standardised here)."""
        return self._features(X) @ self._x(x)


class _Classifier:
    """What the classification finite sums share: the design matrix and labels checked (the sorted
    distinct labels kept as ``labels``) and the held-out accuracy of their ``predict``."""

    def _design_and_labels(self, exactly_two: bool):
        A = _design(self.A, self.intercept)
        y = _checks.finite_array("y", self.y, ndim=1)
        if y.shape[0] != A.shape[0]:
            raise ValueError(f"y must have {A.shape[0]} entries, got {y.shape[0]}")
        labels = np.unique(y)
        if exactly_two and labels.size != 2:
            raise ValueError(f"y must hold exactly two labels, got {labels.size}")
        if labels.size < 2:
            raise ValueError("y must hold at least two labels")
        object.__setattr__(self, "labels", labels)
        return A, y, labels

    def accuracy(self, x, X, y) -> float:
        """Fraction of rows of ``X`` classified as ``y`` (e.g. the held-out split)."""
        return float(np.mean(self.predict(x, X) == np.asarray(y)))


@dataclass(frozen=True, eq=False)
class FiniteSumLogistic(_Classifier, FiniteSum):
    """``f(x) = (1/n) sum_i log(1 + exp(-y_i a_i^T x)) + reg/2 ||x||^2``, ``y_i in {-1, +1}``
    (two distinct labels are mapped to -1, +1 in sorted order)."""

    A: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    reg: float = 1e-2
    intercept: bool = False
    kernels = _LG[0]
    sample_kernels = _LG[1]

    def __post_init__(self):
        A, y, labels = self._design_and_labels(exactly_two=True)
        self._set(A, np.where(y == labels[1], 1.0, -1.0), 1, _checks.positive("reg", self.reg, allow_zero=True))
        self._fit_fstar()

    @property
    def L0(self):
        """``lambda_max(A^T A) / (4 n) + reg`` (the logistic curvature is at most 1/4; ``L1 = 0``)."""
        return float(np.linalg.eigvalsh(self.A_.T @ self.A_).max() / (4 * self.n) + self.reg)

    L1 = 0.0

    def predict(self, x, X) -> np.ndarray:
        """The model's prediction at parameters ``x`` for the rows of ``X`` (raw features, standardised here)."""
        return np.where(self._features(X) @ self._x(x) >= 0, self.labels[1], self.labels[0])


@dataclass(frozen=True, eq=False)
class SoftmaxRegression(_Classifier, FiniteSum):
    """Multinomial logistic regression: ``x`` is the ``K x m`` weight matrix (row major),
    ``f_i = logsumexp(W a_i) - (W a_i)_{y_i}``, plus ``reg/2 ||x||^2``. Labels are mapped to
    ``0..K-1`` in sorted order (``K`` = number of distinct labels)."""

    A: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    reg: float = 1e-2
    intercept: bool = False
    kernels = _SM[0]
    sample_kernels = _SM[1]

    def __post_init__(self):
        A, y, labels = self._design_and_labels(exactly_two=False)
        self._set(A, np.searchsorted(labels, y).astype(float), labels.size,
                  _checks.positive("reg", self.reg, allow_zero=True))
        self._fit_fstar()

    @property
    def L0(self):
        """``lambda_max(A^T A) / (2 n) + reg`` (Bohning's bound on the softmax Hessian, derived here; ``L1 = 0``)."""
        return float(np.linalg.eigvalsh(self.A_.T @ self.A_).max() / (2 * self.n) + self.reg)

    L1 = 0.0

    def predict(self, x, X) -> np.ndarray:
        """The model's prediction at parameters ``x`` for the rows of ``X`` (raw features, standardised here)."""
        W = self._x(x).reshape(self.K_, self.A_.shape[1])
        return self.labels[np.argmax(self._features(X) @ W.T, axis=1)]
