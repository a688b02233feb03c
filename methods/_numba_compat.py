"""Every use of numba's private internals, in one module, behind one switch.

The package runs on numba's public API alone; four private pieces make it faster, and all
of them live here:

1. ``njit(_nrt=False)``: chunk kernels compiled without reference counting (no atomic
   increments in the hot loops; about 10-15% of the EM benchmark), ``methods._jit.ChunkKernel``;
2. ``Dispatcher._compiler._failed_cache``: cleared when such a build fails, so the
   reference-counted build of the same kernel can type its callees again (``forget_failures``);
3. ``numba.core.caching`` (``_CacheLocator``, ``CompileResultCacheImpl``, ``FunctionCache``) and
   ``Dispatcher._cache``: the on-disk kernel cache keyed by the package sources
   (``methods._cache``);
4. ``numba.np.arrayobj.make_array`` / ``populate_array``: ``stack_array(n)``, scratch arrays on the
   stack for per-sample kernels that need working space (``methods.mlp``'s backpropagation).

``SDE_WORKBENCH_NUMBA_INTERNALS=off`` (or ``0``, ``false``, ``no``) turns all four off: every
kernel is compiled the public way (with reference counting) and the on-disk cache is off.
Results are identical either way; only speed and first-call latency change. The tested
numba range is pinned in ``pyproject.toml``; a numba without these internals falls back to
the public path by itself (each use catches the failure).
"""
from __future__ import annotations

import os
import types

from numba import njit
from numba.core.dispatcher import Dispatcher

ENABLED = os.environ.get("SDE_WORKBENCH_NUMBA_INTERNALS", "on").strip().lower() not in ("0", "off", "false", "no")


def njit_without_nrt(**options):
    """``njit`` compiling without numba's reference counting (private option ``_nrt``), or
    ``None`` when the internals are switched off."""
    if not ENABLED:
        return None
    return njit(_nrt=False, **options)


def forget_failures(fn):
    """numba remembers that a callee failed to type (here: for want of NRT) and would refuse
    it to the NRT build too; forget those failures so that the callee is compiled again."""
    for d in _compiled_callees(fn, {}).values():
        failed = getattr(getattr(d, "_compiler", None), "_failed_cache", None)
        if failed is not None:
            failed.clear()


def _compiled_callees(fn, seen):
    """The numba dispatchers ``fn`` calls, directly or not: those it captures in its closure
    and those it names as globals (``f(...)`` or ``module.f(...)``)."""
    names = fn.__code__.co_names
    found = [c for c in map(_cell, fn.__closure__ or ()) if isinstance(c, Dispatcher)]
    for name in names:
        obj = fn.__globals__.get(name)
        if isinstance(obj, Dispatcher):
            found.append(obj)
        elif isinstance(obj, types.ModuleType):
            found += [a for a in (getattr(obj, n, None) for n in names) if isinstance(a, Dispatcher)]
    for d in found:
        if id(d) not in seen:
            seen[id(d)] = d
            _compiled_callees(d.py_func, seen)
    return seen


def _cell(c):
    try:
        return c.cell_contents
    except ValueError:  # an empty cell
        return None


def caching_module():
    """``numba.core.caching`` (private), or ``None`` when the internals are switched off."""
    if not ENABLED:
        return None
    from numba.core import caching

    return caching


def attach_cache(dispatcher, cache) -> None:
    """Give ``dispatcher`` the on-disk cache ``cache`` (numba's private ``_cache`` slot)."""
    dispatcher._cache = cache


def _make_stack_array():
    """``stack_array(n)``: a float64 scratch array of ``n`` (a compile-time integer constant)
    elements on the stack of the compiled function it is lowered into (one ``alloca`` in that
    function's entry block, so a call inside a loop does not grow the stack), without numba's
    allocator: usable in the chunk kernels compiled without reference counting. It uses numba's
    private ``numba.np.arrayobj`` (``make_array``, ``populate_array``) to build the array view;
    switched off (or where those are missing) it is ``np.empty(n)`` (the same numbers, an
    allocation per call, and the kernels that use it then run their reference-counted build)."""
    import numpy as np
    from numba import types

    def fallback():
        @njit(inline="always")
        def stack_array(n):
            return np.empty(n)

        return stack_array

    if not ENABLED:
        return fallback()
    try:
        from llvmlite import ir
        from numba.extending import intrinsic
        from numba.np.arrayobj import make_array, populate_array
    except ImportError:  # pragma: no cover - a numba without these internals
        return fallback()

    @intrinsic
    def stack_array(typingctx, size):
        if not isinstance(size, types.IntegerLiteral):
            return None
        n = int(size.literal_value)
        arrty = types.Array(types.float64, 1, "C")

        def codegen(context, builder, signature, args):
            with builder.goto_entry_block():
                ptr = builder.alloca(ir.DoubleType(), size=ir.Constant(ir.IntType(64), n))
            ary = make_array(arrty)(context, builder)
            intp = context.get_value_type(types.intp)
            populate_array(ary, data=ptr, shape=[ir.Constant(intp, n)], strides=[ir.Constant(intp, 8)],
                           itemsize=ir.Constant(intp, 8), meminfo=None)
            return ary._getvalue()

        return arrty(size), codegen

    return stack_array


stack_array = _make_stack_array()
# True for the intrinsic; False for the np.empty fallback (an njit function: it allocates)
STACK_ARRAY_ON_STACK = not hasattr(stack_array, "py_func")
