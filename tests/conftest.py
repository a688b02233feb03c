"""Shared helpers: Monte Carlo tolerances are multiples of a standard error."""
import numpy as np

Z = 4.0  # default tolerance: 4 standard errors (two-sided p ~ 6e-5 per comparison)


def assert_mc_close(measured, expected, se, z=Z, what=""):
    """|measured - expected| <= z * se, elementwise, with a readable message."""
    measured, expected, se = np.broadcast_arrays(np.asarray(measured, float), np.asarray(expected, float),
                                                 np.asarray(se, float))
    zs = np.abs(measured - expected) / se
    assert np.all(zs <= z), (
        f"{what}: measured {measured} vs expected {expected}, se {se}, z-scores {zs} (limit {z})"
    )
    return zs


def elementwise_against(fn, x, ref):
    """Apply the scalar numba function ``fn`` to every element of ``x`` in a compiled loop (as the
    engines' kernels do: ``error_model='numpy'``, where a loop of branch-free functions vectorises)
    and return ``(out, rel)``: the values and their relative errors against ``ref`` (``x`` holds no NaN;
    NaN in, NaN out is checked separately); the signs must match ``ref``'s (odd functions keep -0)."""
    from numba import njit

    @njit(error_model="numpy")
    def many(x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])

    out = np.empty_like(x)
    many(x, out)
    rel = np.abs(out - ref) / np.maximum(np.abs(ref), 1e-320)
    assert np.array_equal(np.signbit(out), np.signbit(ref)), "signs differ from the reference"
    nan = np.array([np.nan])
    many(nan, nan)
    assert np.isnan(nan[0]), "NaN must give NaN"
    return out, rel
