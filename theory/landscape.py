"""Landscapes from sympy expressions, and (L0,L1) constants.

``from_sympy(expr, symbols)`` differentiates ``expr`` symbolically, prints value, gradient and
Hessian as straight-line Python (common subexpressions shared), compiles them with numba and
returns a ``methods.landscapes.Custom`` usable by both engines.

``l0l1_constant(landscape, L1, ...)`` gives the smallest ``L0`` for a chosen ``L1`` on a region:
``sup ||H(x)|| - L1 ||grad f(x)||``. It is exact when sympy can maximise the 1-D expression
(``exact=True``, polynomials in one variable), otherwise a documented numerical supremum over
random points in the box ``[-radius, radius]^d`` (a lower estimate of the true supremum).
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp
from numba import njit

from methods import landscapes as L


def _codegen(name, args, outputs, kind):
    """Straight-line source for ``value(x)`` (kind="scalar") or ``name(x, out)``."""
    repl, reduced = sp.cse(outputs, optimizations="basic")
    lines = [f"def {name}({', '.join(args)}):"]
    for s, e in repl:
        lines.append(f"    {s} = {sp.pycode(e, fully_qualified_modules=True)}")
    if kind == "scalar":
        lines.append(f"    return {sp.pycode(reduced[0], fully_qualified_modules=True)}")
    elif kind == "vector":
        for i, e in enumerate(reduced):
            lines.append(f"    out[{i}] = {sp.pycode(e, fully_qualified_modules=True)}")
    else:  # matrix, outputs flattened row-major
        n = int(round(math.sqrt(len(reduced))))
        for i, e in enumerate(reduced):
            lines.append(f"    out[{i // n}, {i % n}] = {sp.pycode(e, fully_qualified_modules=True)}")
    return "\n".join(lines)


def _compile(src, name):
    ns = {"math": math}
    exec(compile(src, f"<sympy landscape {name}>", "exec"), ns)
    return njit(ns[name])


def from_sympy(expr, symbols, *, L0=float("nan"), L1=float("nan"), f_star=0.0, name="sympy") -> L.Custom:
    """A landscape from ``expr`` in ``symbols`` (a list of sympy symbols ``x_1..x_d``)."""
    symbols = list(symbols)
    if not symbols:
        raise ValueError("symbols must list at least one variable")
    if not isinstance(expr, sp.Expr):
        raise ValueError(f"expr must be a sympy expression, got {expr!r}")
    extra = expr.free_symbols - set(symbols)
    if extra:
        raise ValueError(f"expr has symbols not in symbols: {sorted(map(str, extra))}")
    d = len(symbols)
    xs = sp.symbols(f"_x0:{d}", real=True)
    e = expr.subs(dict(zip(symbols, xs)), simultaneous=True)
    grad = [sp.diff(e, v) for v in xs]
    hess = [sp.diff(gi, v) for gi in grad for v in xs]
    unpack = [f"    {v} = x[{i}]" for i, v in enumerate(xs)]

    def with_unpack(src):
        head, body = src.split("\n", 1) if "\n" in src else (src, "")
        return "\n".join([head] + unpack + ([body] if body else []))

    value_fn = _compile(with_unpack(_codegen("value", ["x"], [e], "scalar")), "value")
    grad_fn = _compile(with_unpack(_codegen("grad", ["x", "out"], grad, "vector")), "grad")
    hess_fn = _compile(with_unpack(_codegen("hess", ["x", "out"], hess, "matrix")), "hess")
    land = L.Custom(value=value_fn, grad=grad_fn, hess=hess_fn, d=d, L0=L0, L1=L1, f_star=f_star, name=name)
    object.__setattr__(land, "expr", expr)
    return land


def l0l1_constant(landscape, L1: float, *, radius: float = 3.0, n: int = 20_000, seed: int = 0,
                  exact: bool = False) -> float:
    """Smallest ``L0`` with ``||H|| <= L0 + L1 ||grad f||`` on the region (see module docstring)."""
    if exact:
        expr = getattr(landscape, "expr", None)
        if expr is None or len(expr.free_symbols) != 1:
            raise ValueError("exact=True needs a one-variable landscape built by from_sympy")
        (t,) = expr.free_symbols
        t = sp.Symbol(t.name, real=True)
        ex = expr.subs({list(expr.free_symbols)[0]: t})
        g = sp.diff(ex, t)
        h = sp.diff(ex, t, 2)
        best = -sp.oo
        for sign in (1, -1):  # on each side of g = 0, |g| is a polynomial
            region = sp.solve_univariate_inequality(sign * g >= 0, t, relational=False)
            target = sp.Abs(h) - L1 * sign * g
            best = sp.Max(best, sp.maximum(target, t, region))
        return float(best)
    rng = np.random.default_rng(seed)
    pts = rng.uniform(-radius, radius, size=(n, landscape.d))
    lk = landscape.kernels
    worst = _sup_kernel(lk.grad, lk.hess)(pts, float(L1), landscape.params())
    return float(max(worst, 0.0))


_SUPS: dict = {}


def _sup_kernel(grad, hess):
    """Compiled ``max_x ||H(x)||_2 - L1 ||grad f(x)||`` over the rows of ``pts`` (memoised per landscape kernels)."""
    key = (grad, hess)
    if key not in _SUPS:

        @njit(nogil=True)
        def sup(pts, L1, p):
            d = pts.shape[1]
            g = np.empty(d)
            H = np.empty((d, d))
            worst = -np.inf
            for i in range(pts.shape[0]):
                x = pts[i].copy()
                grad(x, p, g)
                hess(x, p, H)
                worst = max(worst, np.linalg.norm(H, 2) - L1 * np.linalg.norm(g))
            return worst

        _SUPS[key] = sup
    return _SUPS[key]
