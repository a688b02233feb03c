"""The one numba decorator the package uses for kernels.

``error_model='numpy'`` lets division by zero give inf/NaN (which the engine counts as
divergence) instead of raising, and avoids a branch per division in the hot loop.
``nogil`` lets the engine run chunks of paths on several threads at once.
"""
from numba import njit

kernel = njit(nogil=True, error_model="numpy", cache=False)

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

# Small leaf functions whose array arguments must not cross a call boundary: numba would
# reference-count the array (atomic increments) around every non-inlined call in a hot loop.
inline_kernel = njit(nogil=True, error_model="numpy", cache=False, inline="always")
