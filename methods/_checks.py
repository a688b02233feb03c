"""Argument checks shared by every component.

Each check raises ``ValueError`` whose message starts with the argument's name, and
runs in plain Python, so bad input is refused before anything is compiled.
"""
from __future__ import annotations

import numbers

import numpy as np


def positive(name: str, value, *, allow_zero: bool = False) -> float:
    """A finite real number > 0 (or >= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be finite and {bound}, got {value!r}")
    return v


def real(name: str, value) -> float:
    """A finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def in_interval(name: str, value, lo: float, hi: float, *, closed_lo=True, closed_hi=False) -> float:
    """A real number in the interval between ``lo`` and ``hi``."""
    v = real(name, value)
    ok_lo = v >= lo if closed_lo else v > lo
    ok_hi = v <= hi if closed_hi else v < hi
    if not (ok_lo and ok_hi):
        lb = "[" if closed_lo else "("
        rb = "]" if closed_hi else ")"
        raise ValueError(f"{name} must lie in {lb}{lo}, {hi}{rb}, got {value!r}")
    return v


def integer(name: str, value, *, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return v


def finite_array(name: str, value, *, ndim: int | None = None, positive_entries=False) -> np.ndarray:
    """A float64 array with finite entries (and, optionally, a fixed number of dimensions)."""
    try:
        a = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of real numbers ({exc})") from None
    if ndim is not None and a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must contain only finite numbers (NaN or inf found)")
    if positive_entries and np.any(a <= 0):
        raise ValueError(f"{name} must contain only entries > 0")
    return a


def per_agent_table(name: str, value, agents: int, d: int, *, positive_entries=True, allow_zero=False) -> np.ndarray:
    """Broadcast a per-agent parameter to shape ``(agents, d)``.

    Accepted shapes follow numpy broadcasting against ``(agents, d)``: a scalar (every
    agent, every coordinate), ``(d,)`` (per coordinate, shared), ``(agents, 1)`` (per
    agent, isotropic) or ``(agents, d)``.
    """
    a = finite_array(name, value)
    try:
        table = np.array(np.broadcast_to(a, (agents, d)), dtype=np.float64)
    except ValueError:
        raise ValueError(
            f"{name} of shape {a.shape} does not broadcast to (agents, d) = ({agents}, {d}); "
            "use a scalar, (d,), (agents, 1) or (agents, d)"
        ) from None
    if positive_entries:
        bad = table < 0 if allow_zero else table <= 0
        if np.any(bad):
            raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} everywhere")
    return table


def one_of(name: str, value, choices) -> str:
    """One of a fixed set of names."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value
