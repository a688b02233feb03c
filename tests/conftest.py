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
