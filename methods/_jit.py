"""The numba decorators the package uses for kernels.

``error_model='numpy'`` lets division by zero give inf/NaN (which the engine counts as
divergence) instead of raising, and avoids a branch per division in the hot loop.
``nogil`` lets the engine run chunks of paths on several threads at once.

* ``kernel``: every compiled function;
* ``inline_kernel``: small functions inlined at numba's IR level into the engines' loops
  (a call per iteration with array arguments costs more than its body);
* ``ChunkKernel``: an engine's hot loop, compiled without reference counting when it can be;
* ``each_row``: a compiled loop that samples a noise model or a compressor ``size`` times.
"""
import threading
import types

from numba import njit
from numba.core.dispatcher import Dispatcher
from numba.core.errors import NumbaError

kernel = njit(nogil=True, error_model="numpy", cache=False)
inline_kernel = njit(nogil=True, error_model="numpy", cache=False, inline="always")
kernel_without_nrt = njit(nogil=True, error_model="numpy", cache=False, _nrt=False)

_ROW_LOOPS: dict = {}


def each_row(fn):
    """A kernel ``loop(rng, a, b, c, e, out)`` that calls ``fn(rng, a, b, c, e, out[i])`` for
    every row ``i`` of ``out`` (one per ``fn``): how noise models and compressors are sampled
    from Python, ``size`` draws in one compiled call."""
    if fn not in _ROW_LOOPS:

        @kernel
        def loop(rng, a, b, c, e, out):
            for i in range(out.shape[0]):
                fn(rng, a, b, c, e, out[i])

        _ROW_LOOPS[fn] = loop
    return _ROW_LOOPS[fn]


class ChunkKernel:
    """An engine's hot loop (one chunk of paths), compiled without reference counting when it can be.

    numba increfs every array handed to an inlined function that contains a loop and cannot
    prune those atomic increments in the engines' loops; they cost about 0.3 ns per scalar
    update (10-15% of the EM benchmark). Compiled with ``_nrt=False`` there are none. Such a
    kernel, and everything compiled into it, must not allocate, so its callers pass every
    buffer in. A composition that does allocate somewhere (a full diffusion's eigendecomposition,
    a user's kernel) fails to compile without NRT; it then runs, from that call on, as the same
    kernel compiled with NRT: the two give identical numbers. ``on_fallback`` is called then
    (the on-disk cache remembers it, so that later processes skip the failing attempt).
    """

    def __init__(self, fn, on_fallback=None):
        self.fast = kernel_without_nrt(fn)
        self.safe = kernel(fn)
        self.py_func = fn
        self.on_fallback = on_fallback
        self._active = self.fast
        self._first = threading.Lock()  # the first call decides (once, not once per thread)
        self._decided = False

    def use_nrt(self):
        """Run the NRT build from now on (the composition is known to allocate)."""
        self._active = self.safe

    @property
    def stats(self):
        """numba's cache statistics of the compiled form in use."""
        return self._active.stats

    def __call__(self, *args):
        if not self._decided:
            with self._first:
                if not self._decided:
                    result = self._call(args)
                    self._decided = True
                    return result
        return self._call(args)

    def _call(self, args):
        if self._active is self.fast:
            try:
                return self.fast(*args)
            except (NumbaError, KeyError):  # raised while compiling, before anything ran (a
                # chunk kernel cannot raise once running); KeyError: a numba without ``_nrt``
                self._active = self.safe
                _forget_failures(self.py_func)
                if self.on_fallback is not None:
                    self.on_fallback()
        return self.safe(*args)


def _forget_failures(fn):
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
