"""methods.elementary: the branch-free tanh against numpy's (libm) to its stated bound."""
import numpy as np

from conftest import elementwise_against


def test_tanh_against_numpy():
    """Relative error below TANH_MAX_REL_ERROR (2e-15) on a dense grid of [-25, 25] (the clamp at
    20 and the small-argument switch at 1e-8 inside it), +-[1e-310, 25] geometrically (subnormals
    included), and 0, -0 (sign kept), +-inf (+-1), NaN (NaN)."""
    from methods.elementary import TANH_MAX_REL_ERROR, tanh

    g = np.geomspace(1e-310, 25.0, 200_001)
    x = np.concatenate([np.linspace(-25, 25, 1_000_001), g, -g, [1e-8, -1e-8, 20.0, 0.0, -0.0, np.inf, -np.inf]])
    out, rel = elementwise_against(tanh, x, np.tanh(x))
    assert TANH_MAX_REL_ERROR == 2e-15 and rel.max() < TANH_MAX_REL_ERROR, (rel.max(), x[rel.argmax()])
    assert out[-2] == 1.0 and out[-1] == -1.0
