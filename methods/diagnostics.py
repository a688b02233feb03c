"""Gradient-noise diagnostics: numpy arrays in, so samples from any framework work.

Write ``Z_k = g_k - grad f(x_k)`` for noise samples (rows of an ``(N, d)`` array) and ``grad f(x_k)``
for the exact gradients where they were taken.

* ``hill(x, k)``: the Hill estimator of the tail index of ``|x|`` (Hill 1975) from its ``k`` largest
  values, ``alpha = k / sum_{i<k} log(x_(i) / x_(k))`` (order statistics decreasing), with its
  asymptotic standard error ``alpha / sqrt(k)``. For an exact Pareto tail ``k / alpha_hat`` is
  Gamma(k, 1/alpha) distributed.
* ``block_tail_index(Z, m)``: the estimator of Mohammadi, Mohammadpour and Ogata (2015) in the
  multivariate form Simsekli, Sagun and Gurbuzbalaban use for SGD noise (arXiv 1901.06053, Section 4):
  with ``N = m K`` samples cut into ``K`` blocks of ``m`` and ``Y_j`` the block sums,
  ``1/alpha_hat = (mean_j log ||Y_j|| - mean_i log ||Z_i||) / log m``. For i.i.d. symmetric
  alpha-stable samples (any ``alpha``, Gaussian ``alpha = 2``) ``||Y|| = m^(1/alpha) ||Z||`` in law, so
  ``1/alpha_hat`` is unbiased for ``1/alpha`` (derived here).
* ``affine_variance(noise, grads)``: ``(sigma0, sigma1)`` of ``Var Z = (sigma0^2 + sigma1^2 ||grad f||^2) I``
  (the affine-variance assumption of arXiv 2506.00181, Theorem 4.2) by ordinary least squares of
  ``||Z_k||^2 = d sigma0^2 + d sigma1^2 ||grad f(x_k)||^2``, with the OLS standard errors of the two
  coefficients.
* ``sde_validity_ratio(noise, grads)``: ``tr Cov Z / ||grad f||^2`` per point (the quantity Li, Malladi
  and Arora, arXiv 2102.12470, compare to decide whether the SDE view applies).
* ``student_t_fit(noise)``: per-coordinate Student-t maximum likelihood (``scipy.stats.t.fit``, location
  fixed at 0 by default): ``nu`` and scale per coordinate.
* ``alpha_stable_fit(noise)``: per-coordinate symmetric alpha-stable fit (``scipy.stats.levy_stable``,
  McCulloch's quantile method, ``beta`` and location fixed at 0).
* ``bootstrap(stat, data)``: percentile bootstrap confidence interval of any of them (rows resampled).
* ``to_noise(...)``: the ``methods.noise`` model the measured statistics describe.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from . import _checks


class Estimate(NamedTuple):
    """An estimate ``value`` with its standard error ``stderr`` (``nan`` where none is available)."""
    value: float
    stderr: float


def _rows(name, a, ndim_max=2):
    a = _checks.finite_array(name, a)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] < 2:
        raise ValueError(f"{name} must be a 1-D or 2-D array with at least 2 rows, got shape {a.shape}")
    return a


def hill(x, k: int | None = None) -> Estimate:
    """Hill's tail-index estimate of ``|x|`` (1-D, or the norms of the rows of a 2-D array) from its
    ``k`` largest values (default ``sqrt(N)``), with the asymptotic s.e. ``alpha / sqrt(k)``."""
    a = _rows("x", x)
    r = np.linalg.norm(a, axis=1) if a.shape[1] > 1 else np.abs(a[:, 0])
    N = r.size
    k = int(math.sqrt(N)) if k is None else _checks.integer("k", k, minimum=1)
    if k >= N:
        raise ValueError(f"k must be < the number of samples {N}, got {k}")
    top = np.sort(r)[::-1][:k + 1]
    if top[k] <= 0:
        raise ValueError("x: the (k+1)-th largest magnitude is 0; lower k")
    alpha = k / np.sum(np.log(top[:k] / top[k]))
    return Estimate(float(alpha), float(alpha / math.sqrt(k)))


def block_tail_index(Z, m: int | None = None) -> float:
    """The block estimator (Mohammadi et al. 2015; multivariate form of arXiv 1901.06053): ``alpha_hat``
    from ``N`` rows cut into blocks of ``m`` (default ``floor(sqrt(N))``; trailing rows dropped)."""
    a = _rows("Z", Z)
    N = a.shape[0]
    m = int(math.sqrt(N)) if m is None else _checks.integer("m", m, minimum=2)
    K = N // m
    if m < 2 or K < 1:
        raise ValueError(f"m = {m} needs 2 <= m <= N = {N}")
    a = a[:K * m]
    Y = a.reshape(K, m, a.shape[1]).sum(axis=1)
    with np.errstate(divide="ignore"):
        ly = np.log(np.linalg.norm(Y, axis=1)).mean()
        lx = np.log(np.linalg.norm(a, axis=1)).mean()
    inv = (ly - lx) / math.log(m)
    return float(1.0 / inv) if inv > 0 else float("inf")


class AffineFit(NamedTuple):
    """The affine-variance fit ``E||noise||^2 = d (sigma0^2 + sigma1^2 ||grad f||^2)``: ``sigma0``, ``sigma1`` and their standard errors."""
    sigma0: float
    sigma1: float
    intercept: Estimate  # d sigma0^2
    slope: Estimate      # d sigma1^2


def affine_variance(noise, grads) -> AffineFit:
    """Fit ``||Z_k||^2 = a + b ||grad f(x_k)||^2`` by least squares; ``sigma0 = sqrt(max(a, 0)/d)``,
    ``sigma1 = sqrt(max(b, 0)/d)``. ``grads``: ``(N, d)`` exact gradients or ``(N,)`` their norms."""
    Z = _rows("noise", noise)
    G = _checks.finite_array("grads", grads)
    N, d = Z.shape
    gn2 = (G**2).sum(axis=1) if G.ndim == 2 else G**2
    if gn2.shape != (N,):
        raise ValueError(f"grads must have {N} rows (one per noise sample), got shape {G.shape}")
    y = (Z**2).sum(axis=1)
    X = np.column_stack([np.ones(N), gn2])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    res = y - X @ coef
    s2 = res @ res / max(N - 2, 1)
    cov = s2 * np.linalg.pinv(X.T @ X)
    a, b = coef
    return AffineFit(math.sqrt(max(a, 0.0) / d), math.sqrt(max(b, 0.0) / d), Estimate(float(a), float(np.sqrt(cov[0, 0]))),
                     Estimate(float(b), float(np.sqrt(cov[1, 1]))))


def sde_validity_ratio(noise, grads) -> float:
    """``tr Cov Z / ||grad f||^2`` from noise samples ``(N, d)`` taken at one point with exact gradient ``grads (d,)``."""
    Z = _rows("noise", noise)
    g = _checks.finite_array("grads", grads, ndim=1)
    if g.shape[0] != Z.shape[1]:
        raise ValueError(f"grads must have {Z.shape[1]} entries, got {g.shape[0]}")
    return float(np.trace(np.atleast_2d(np.cov(Z.T))) / (g @ g))


class StudentFit(NamedTuple):
    """Per-coordinate Student-t fits (``scipy.stats.t.fit``, location 0): degrees of freedom ``nu`` and ``scale``."""
    nu: np.ndarray
    scale: np.ndarray


def student_t_fit(noise, *, loc: float | None = 0.0) -> StudentFit:
    """Per-coordinate Student-t maximum likelihood fit (``scipy.stats.t.fit``); ``loc=None`` fits the location too."""
    from scipy import stats

    Z = _rows("noise", noise)
    nu, sc = [], []
    for col in Z.T:
        fit = stats.t.fit(col) if loc is None else stats.t.fit(col, floc=float(loc))
        nu.append(fit[0])
        sc.append(fit[-1])
    return StudentFit(np.array(nu), np.array(sc))


class StableFit(NamedTuple):
    """Per-coordinate symmetric alpha-stable fits (McCulloch quantiles, scipy): tail index ``alpha`` and S1 ``scale``."""
    alpha: np.ndarray
    scale: np.ndarray


def alpha_stable_fit(noise) -> StableFit:
    """Per-coordinate symmetric alpha-stable fit (McCulloch's quantile estimator in scipy; ``beta = 0``,
    ``loc = 0``); the scale in scipy's S1 convention, as ``methods.noise.AlphaStable`` uses."""
    from scipy import stats

    Z = _rows("noise", noise)
    al, sc = [], []
    for col in Z.T:
        a, b, l, s = stats.levy_stable._fitstart(col)  # McCulloch (1986) quantile estimates
        al.append(min(max(a, 0.1), 2.0))
        sc.append(s)
    return StableFit(np.array(al), np.array(sc))


def bootstrap(stat: Callable, *data, reps: int = 200, level: float = 0.95, seed: int = 0):
    """Percentile bootstrap interval ``(lo, hi)`` of ``stat(*data)``: the rows of every array in ``data``
    resampled together, ``reps`` times."""
    reps = _checks.integer("reps", reps, minimum=10)
    _checks.in_interval("level", level, 0.0, 1.0, closed_lo=False)
    arrs = [np.asarray(a) for a in data]
    if not arrs:
        raise ValueError("data: give at least one array")
    N = arrs[0].shape[0]
    if any(a.shape[0] != N for a in arrs):
        raise ValueError("data: all arrays must have the same number of rows")
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(reps):
        idx = rng.integers(0, N, N)
        v = stat(*[a[idx] for a in arrs])
        vals.append(v.value if isinstance(v, Estimate) else v)
    vals = np.asarray(vals, dtype=float)
    q = (1 - level) / 2
    return float(np.quantile(vals, q)), float(np.quantile(vals, 1 - q))


def to_noise(*, affine: AffineFit | None = None, student: StudentFit | None = None, stable: StableFit | None = None,
             batch: int = 1):
    """The ``methods.noise`` model the measured statistics describe (give exactly one): ``AffineVariance``,
    ``StudentT`` (the median ``nu``, per-coordinate scales) or ``AlphaStable`` (the median ``alpha``)."""
    from . import noise as N

    given = [v is not None for v in (affine, student, stable)]
    if sum(given) != 1:
        raise ValueError("give exactly one of affine, student, stable")
    if affine is not None:
        return N.AffineVariance(sigma0=affine.sigma0, sigma1=affine.sigma1, batch=batch)
    if student is not None:
        return N.StudentT(nu=float(np.median(student.nu)), sigma=np.asarray(student.scale), batch=batch)
    return N.AlphaStable(alpha=float(np.median(stable.alpha)), scale=np.asarray(stable.scale), batch=batch)
