"""methods.elementary: the branch-free tanh against numpy's (libm) to its stated bound."""
import numpy as np
from numba import njit


def test_tanh_against_numpy():
    """Relative error below TANH_MAX_REL_ERROR (2e-15) on a dense grid of [-25, 25] (the clamp at
    20 and the small-argument switch at 1e-8 inside it), +-[1e-310, 25] geometrically (subnormals
    included), and 0, -0 (sign kept), +-inf (+-1), NaN (NaN)."""
    from methods.elementary import TANH_MAX_REL_ERROR, tanh

    @njit(error_model="numpy")
    def many(x, out):
        for i in range(x.shape[0]):
            out[i] = tanh(x[i])

    g = np.geomspace(1e-310, 25.0, 200_001)
    x = np.concatenate([np.linspace(-25, 25, 1_000_001), g, -g, [1e-8, -1e-8, 20.0, 0.0, -0.0, np.inf, -np.inf]])
    out = np.empty_like(x)
    many(x, out)
    ref = np.tanh(x)
    rel = np.abs(out - ref) / np.maximum(np.abs(ref), 1e-320)
    assert TANH_MAX_REL_ERROR == 2e-15 and rel.max() < TANH_MAX_REL_ERROR, (rel.max(), x[rel.argmax()])
    assert np.array_equal(np.signbit(out), np.signbit(ref))
    assert out[-2] == 1.0 and out[-1] == -1.0
    nan = np.array([np.nan])
    many(nan, nan)
    assert np.isnan(nan[0])
