"""The numba decorators the package uses for kernels.

``error_model='numpy'`` lets division by zero give inf/NaN (which the engine counts as
divergence) instead of raising, and avoids a branch per division in the hot loop.
``nogil`` lets the engine run chunks of paths on several threads at once.

* ``kernel``: every compiled function;
* ``inline_kernel``: small functions inlined at numba's IR level into the engines' loops
  (a call per iteration with array arguments costs more than its body);
* ``leaf_kernel``: an allocation-free function called (not inlined) in a hot loop, compiled
  without reference counting when it can be;
* ``ChunkKernel``: an engine's hot loop, compiled without reference counting when it can be;
* ``each_row``: a compiled loop that samples a noise model or a compressor ``size`` times.
"""
import threading

from numba import njit
from numba.core.errors import NumbaError

from . import _numba_compat

kernel = njit(nogil=True, error_model="numpy", cache=False)
inline_kernel = njit(nogil=True, error_model="numpy", cache=False, inline="always")
kernel_without_nrt = _numba_compat.njit_without_nrt(nogil=True, error_model="numpy", cache=False)  # None: switched off
# a compiled function that allocates nothing and is called, not inlined, many times per step (a
# per-sample gradient): without reference counting where the internals are on, as the engines' loops
# are (each call of an NRT build increfs and decrefs its array arguments and every slice it takes)
leaf_kernel = (kernel_without_nrt if kernel_without_nrt is not None and _numba_compat.STACK_ARRAY_ON_STACK
               else kernel)  # (scratch from np.empty allocates: the reference-counted build then)

_ROW_LOOPS: dict = {}


def each_row(fn):
    """A kernel ``loop(rng, args, out)`` that calls ``fn(rng, *args, out[i])`` for every row
    ``i`` of ``out`` (one per ``fn``; ``args`` a tuple of 5 (compressors) or 7 (noise models)
    arguments): how noise models and compressors are sampled from Python, ``size`` draws in
    one compiled call. (numba cannot forward ``*args`` to an inlined function, hence the
    explicit unpacking.)"""
    if fn not in _ROW_LOOPS:

        @kernel
        def loop(rng, args, out):
            if len(args) == 5:
                a, b, c, e, f = args
                for i in range(out.shape[0]):
                    fn(rng, a, b, c, e, f, out[i])
            else:
                a, b, c, e, f, h, m = args
                for i in range(out.shape[0]):
                    fn(rng, a, b, c, e, f, h, m, out[i])

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
        self.safe = kernel(fn)
        self.fast = kernel_without_nrt(fn) if kernel_without_nrt is not None else self.safe
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
        if self._active is self.fast and self.fast is not self.safe:
            try:
                return self.fast(*args)
            except (NumbaError, KeyError):  # raised while compiling, before anything ran (a
                # chunk kernel cannot raise once running); KeyError: a numba without ``_nrt``
                self._active = self.safe
                _numba_compat.forget_failures(self.py_func)
                if self.on_fallback is not None:
                    self.on_fallback()
        return self.safe(*args)
