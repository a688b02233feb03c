"""The one numba decorator the package uses for kernels.

``error_model='numpy'`` lets division by zero give inf/NaN (which the engine counts as
divergence) instead of raising, and avoids a branch per division in the hot loop.
``nogil`` lets the engine run chunks of paths on several threads at once.
"""
from numba import njit

kernel = njit(nogil=True, error_model="numpy", cache=False)

# Small leaf functions whose array arguments must not cross a call boundary: numba would
# reference-count the array (atomic increments) around every non-inlined call in a hot loop.
inline_kernel = njit(nogil=True, error_model="numpy", cache=False, inline="always")
