"""One Monte Carlo result reduced to its statistics: the unit a parameter sweep stores.

``summarize(result)`` takes a ``Run`` or a comparison (anything with a ``discrete`` ``Run`` and
a ``sde`` dict of kind -> ``Run``, such as ``sde.Comparison``; duck-typed, so ``methods`` does
not import ``sde``) and returns a dict of plain numpy arrays (numbers and unicode strings only,
so it is stored in ``.npz`` without pickle):

* ``t``, ``step`` (n_save,): the first member's save times ``t = k * lr`` and indices;
* per member (the run, or ``discrete`` then each SDE kind), at every save point: ``mean`` and
  ``stderr`` over non-diverged paths (``Run.mean``, ``Run.stderr``), ``median`` and
  ``quantile`` over all paths with diverged ones as ``+inf`` (``Run.quantile``), ``diverged``
  = number of paths that have diverged at or before that save point (``diverged_at <= step``);
* per member: ``paths``, and the stationary level ``stationary`` with its standard error
  ``stationary_stderr`` (``Run.time_average``: per-path time average over the save points
  with ``t >= after``, default the last ``1 - burn_in`` of the run, then mean and s.e. across
  non-diverged paths).

Members shorter than the longest are padded (NaN; ``diverged`` -1).
"""
from __future__ import annotations

import numpy as np

from .run import Run


def is_run(obj) -> bool:
    """Whether ``obj`` is a ``methods.Run`` (or quacks like one: ``t``, ``step``, ``diverged_at``, ``time_average``)."""
    return isinstance(obj, Run) or all(hasattr(obj, a) for a in ("t", "step", "diverged_at", "time_average"))


def is_comparison(obj) -> bool:
    """Whether ``obj`` is an ``sde.Comparison`` (duck-typed: a ``discrete`` run and a dict of SDE runs; ``methods`` never imports ``sde``)."""
    return hasattr(obj, "discrete") and isinstance(getattr(obj, "sde", None), dict) and is_run(obj.discrete)


def members(result) -> tuple[str, list[tuple[str, Run]]]:
    """``("run", [("run", run)])`` or ``("comparison", [("discrete", run), (kind, run), ...])``."""
    if is_comparison(result):
        return "comparison", [("discrete", result.discrete)] + [(str(k), r) for k, r in result.sde.items()]
    if is_run(result):
        return "run", [("run", result)]
    raise ValueError(f"result must be a methods.Run or a comparison (sde.Comparison), got {type(result).__name__}")


def diverged_by(run, step=None) -> np.ndarray:
    """Number of paths diverged at or before each save step."""
    step = run.step if step is None else step
    div = np.sort(np.asarray(run.diverged_at)[np.asarray(run.diverged_at) >= 0])
    return np.searchsorted(div, np.asarray(step), side="right").astype(np.int64)


def summarize(result, *, observable: str = "loss", quantiles=(0.1, 0.25, 0.75, 0.9), burn_in: float = 0.5,
              after: float | None = None) -> dict:
    """The statistics of ``result`` as a dict of arrays (see the module docstring)."""
    kind, mem = members(result)
    qs = np.asarray(quantiles, dtype=float).reshape(-1)
    T = max(len(r.t) for _, r in mem)
    M, Q = len(mem), qs.size

    def pad(a, fill):
        a = np.asarray(a)
        out = np.full(a.shape[:-1] + (T,), fill, dtype=a.dtype)
        out[..., :a.shape[-1]] = a
        return out

    rec = {
        "kind": np.array(kind), "members": np.array([m for m, _ in mem]),
        "t": pad(np.asarray(mem[0][1].t, dtype=float), np.nan),
        "step": pad(np.asarray(mem[0][1].step, dtype=np.int64), -1),
        "mean": np.empty((M, T)), "stderr": np.empty((M, T)), "median": np.empty((M, T)),
        "quantile": np.empty((M, Q, T)), "diverged": np.empty((M, T), dtype=np.int64),
        "paths": np.empty(M, dtype=np.int64), "stationary": np.empty(M), "stationary_stderr": np.empty(M),
    }
    for j, (_, r) in enumerate(mem):
        rec["mean"][j] = pad(r.mean(observable), np.nan)
        rec["stderr"][j] = pad(r.stderr(observable), np.nan)
        rec["median"][j] = pad(r.median(observable), np.nan)
        if Q:
            rec["quantile"][j] = pad(np.asarray(r.quantile(observable, qs), dtype=float).reshape(Q, -1), np.nan)
        rec["diverged"][j] = pad(diverged_by(r), -1)
        rec["paths"][j] = r.paths
        rec["stationary"][j], rec["stationary_stderr"][j] = r.time_average(observable, after=after, burn_in=burn_in)
    return rec

