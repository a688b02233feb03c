"""``Run``: the one result type of both engines (discrete optimizer and SDE).

Per-path scalar observables at save points on the SDE time grid ``t = k * lr``, the
divergence record, the configuration and the seed. Means and standard errors exclude
diverged paths and say how many there were; medians and quantiles use every path,
with diverged ones counted as ``+inf`` (heavy tails make means misleading).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats


@dataclass(frozen=True, eq=False)
class Run:
    """The result of a run of either engine: per-path observables at the save points.

    Fields (``n_save`` save points, ``paths`` Monte Carlo paths, dimension ``d``):

    * ``t``: ``(n_save,)`` save times in SDE units, ``t = k * lr`` (Malladi's adaptive
      models: ``k * lr^2``, see ``SDEModel.time_per_step``);
    * ``step``: ``(n_save,)`` the iteration index ``k`` of each save point (an SDE run counts
      iterations of ``time_per_step`` each, whatever its ``refine``);
    * ``loss``: ``(n_save, paths)`` ``f(x) - f_star``, ``+inf`` from divergence on;
    * ``grad_norm``: ``(n_save, paths)`` ``||grad f(x)||``, ``+inf`` from divergence on;
    * ``diverged_at``: ``(paths,)`` the first step whose save point was non-finite or above
      the blow-up level, ``-1`` for a path that never diverged;
    * ``seed``: the integer seed of the run (drawn from fresh entropy when ``None`` was given);
    * ``config``: what was run (landscape, optimizer or model, noise, grid), for the record;
    * ``iterates``: ``(n_save, paths, d)`` when requested (``record_iterates=True``), NaN after
      divergence, else ``None``;
    * ``engine``: ``"discrete"``, or ``"sde:<kind>"`` for an SDE model of that kind.

    Means, standard deviations and standard errors use the non-diverged paths only (and the
    count ``diverged`` says how many were left out); medians and quantiles use every path,
    a diverged one counted as ``+inf``.
    """

    t: np.ndarray            # (n_save,) save times in SDE units
    step: np.ndarray         # (n_save,) iteration (or SDE step) index of each save point
    loss: np.ndarray         # (n_save, paths) f(x) - f_star; +inf after divergence
    grad_norm: np.ndarray    # (n_save, paths) ||grad f(x)||; +inf after divergence
    diverged_at: np.ndarray  # (paths,) first step whose save point was non-finite (or above the blow-up level); -1 if never
    seed: object
    config: dict = field(default_factory=dict)
    iterates: np.ndarray | None = None  # (n_save, paths, d) when requested; NaN after divergence
    engine: str = "discrete"

    # ------------------------------------------------------------------ basic facts
    @property
    def paths(self) -> int:
        """Number of Monte Carlo paths (diverged ones included)."""
        return self.loss.shape[1]

    @property
    def alive(self) -> np.ndarray:
        """Mask of paths that never diverged."""
        return self.diverged_at < 0

    @property
    def diverged(self) -> int:
        """Number of diverged paths."""
        return int(np.count_nonzero(self.diverged_at >= 0))

    @property
    def diverged_fraction(self) -> float:
        """``diverged / paths``."""
        return self.diverged / self.paths

    def observable(self, name: str) -> np.ndarray:
        """``(n_save, paths)`` array of ``"loss"``, ``"grad_norm"``, ``"grad_norm_sq"`` or
        ``"x_j"`` / ``"x2_j"`` (coordinate j of the iterate / its square; needs iterates)."""
        if name == "loss":
            return self.loss
        if name == "grad_norm":
            return self.grad_norm
        if name == "grad_norm_sq":
            return self.grad_norm**2
        if name.startswith(("x_", "x2_")):
            if self.iterates is None:
                raise ValueError(f"observable {name!r} needs iterates: rerun with record_iterates=True")
            head, j = name.split("_", 1)
            j = int(j)
            if not 0 <= j < self.iterates.shape[2]:
                raise ValueError(f"observable {name!r}: coordinate out of range")
            xj = self.iterates[:, :, j]
            return xj if head == "x" else xj * xj
        raise ValueError(f"observable must be loss, grad_norm, grad_norm_sq, x_j or x2_j; got {name!r}")

    # ------------------------------------------------------------------ statistics
    def _alive(self, name):
        return self.observable(name)[:, self.alive]

    def mean(self, name: str = "loss") -> np.ndarray:
        """Mean over non-diverged paths at every save point (NaN if all diverged)."""
        a = self._alive(name)
        return a.mean(axis=1) if a.shape[1] else np.full(a.shape[0], np.nan)

    def std(self, name: str = "loss") -> np.ndarray:
        """Sample standard deviation (``ddof = 1``) over non-diverged paths at every save point
        (NaN with fewer than two)."""
        a = self._alive(name)
        return a.std(axis=1, ddof=1) if a.shape[1] > 1 else np.full(a.shape[0], np.nan)

    def stderr(self, name: str = "loss") -> np.ndarray:
        """Monte Carlo standard error of ``mean`` (non-diverged paths)."""
        n = int(self.alive.sum())
        return self.std(name) / np.sqrt(n) if n > 1 else np.full(len(self.t), np.nan)

    def ci(self, name: str = "loss", level: float = 0.95):
        """Normal-approximation confidence band ``(low, high)`` for the mean."""
        z = stats.norm.ppf(0.5 + level / 2)
        m, s = self.mean(name), self.stderr(name)
        return m - z * s, m + z * s

    def median(self, name: str = "loss") -> np.ndarray:
        """Median over all paths at every save point, diverged ones counted as ``+inf``."""
        return self.quantile(name, 0.5)

    def quantile(self, name: str = "loss", q=0.5) -> np.ndarray:
        """Quantile(s) over all paths, diverged ones counted as +inf."""
        a = self.observable(name).copy()
        a[:, ~self.alive] = np.inf
        return _quantile_with_inf(a, q)

    def time_average(self, name: str = "loss", *, after: float | None = None, burn_in: float = 0.5):
        """Stationary level: per path, the average over save points with ``t >= after``
        (default: the last ``1 - burn_in`` of the run); returns ``(mean, stderr)`` across
        non-diverged paths (paths are independent, so the standard error is honest even
        though save points within a path are correlated)."""
        if after is None:
            after = self.t[0] + burn_in * (self.t[-1] - self.t[0])
        sel = self.t >= after
        if not np.any(sel):
            raise ValueError("after is beyond the last save point")
        per_path = self._alive(name)[sel].mean(axis=0)
        n = per_path.size
        if n < 2:
            return float(per_path.mean()) if n else float("nan"), float("nan")
        return float(per_path.mean()), float(per_path.std(ddof=1) / np.sqrt(n))

    def at(self, t: float) -> int:
        """Index of the save point nearest to time ``t``."""
        return int(np.argmin(np.abs(self.t - t)))

    # ------------------------------------------------------------------ export
    def to_xarray(self):
        """This run as an ``xarray.Dataset`` (``methods.xarray_io.run_to_xarray``; save it with
        ``methods.xarray_io.save``, a netCDF file that ``load`` and ``run_from_xarray`` read back)."""
        from .xarray_io import run_to_xarray

        return run_to_xarray(self)

    # ------------------------------------------------------------------ display
    def summary(self) -> str:
        """A few lines for the reader (also the ``repr``): paths, save points, time range and
        seed; the final loss's mean +- standard error and median; how many paths diverged; the
        configuration."""
        m = self.mean("loss")[-1]
        s = self.stderr("loss")[-1]
        med = self.median("loss")[-1]
        lines = [
            f"Run[{self.engine}]: {self.paths} paths, {len(self.t)} save points, t in [{self.t[0]:.4g}, {self.t[-1]:.4g}], seed={self.seed}",
            f"  final loss: mean {m:.6g} +- {s:.2g} (s.e., {int(self.alive.sum())} paths), median {med:.6g}",
            f"  diverged: {self.diverged} of {self.paths}",
        ]
        for k, v in self.config.items():
            lines.append(f"  {k}: {v!r}")
        return "\n".join(lines)

    def __repr__(self):
        return self.summary()

    def _repr_html_(self):
        import html

        return "<pre>" + html.escape(self.summary()) + "</pre>"


def _quantile_with_inf(a: np.ndarray, q) -> np.ndarray:
    """Linear-interpolation quantiles along axis 1 (numpy's default rule) where ``+inf``
    entries stay ``+inf`` instead of turning interpolations into NaN."""
    qs = np.atleast_1d(np.asarray(q, dtype=float))
    if np.any((qs < 0) | (qs > 1)):
        raise ValueError(f"q must lie in [0, 1], got {q!r}")
    s = np.sort(a, axis=1)
    n = s.shape[1]
    pos = qs * (n - 1)
    i = np.floor(pos).astype(int)
    w = pos - i
    lower = s[:, i]
    upper = s[:, np.minimum(i + 1, n - 1)]
    with np.errstate(invalid="ignore"):
        mid = np.where(np.isinf(upper), np.inf, lower + w * (upper - lower))
    out = np.where(w == 0, lower, mid).T
    return out[0] if np.ndim(q) == 0 else out
