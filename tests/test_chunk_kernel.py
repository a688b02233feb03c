"""Chunk kernels compile without numba's reference counting when their composition allocates
nothing, and fall back to the NRT build, with identical numbers, when it does (methods._jit)."""
import numpy as np
import numba

import sde
from methods import engine, landscapes as L, noise as N, optimizers as O, simulate
from sde.integrate import _kernel_for


def _allocating_quadratic():
    """The diagonal quadratic with a gradient kernel that goes through a temporary array (needs
    NRT); a fresh kernel each time: one already compiled with NRT would serve both builds."""

    @numba.njit
    def grad(x, p, out):
        d = x.shape[0]
        tmp = np.empty(d)
        for j in range(d):
            tmp[j] = p[2 * j] * (x[j] - p[2 * j + 1])  # interleaved [lambda_j, c_j]
        for j in range(d):
            out[j] = tmp[j]

    class AllocatingQuadratic(L.DiagonalQuadratic):
        kernels = L.DiagonalQuadratic.kernels._replace(grad=grad, coord_grad=None)

    return AllocatingQuadratic


LAM = np.linspace(1.0, 3.0, 5)


def _pair():
    return L.DiagonalQuadratic(LAM), _allocating_quadratic()(LAM)


def test_discrete_engine_falls_back_to_nrt_with_identical_numbers():
    plain, alloc = _pair()
    opt, nz = O.Adam(lr=0.05), N.Gaussian(0.5)
    runs = [simulate(f, opt, nz, x0=1.0, steps=40, paths=130, seed=4, record_iterates=True) for f in (plain, alloc)]
    fast, slow = (engine.get_kernel(f, opt, nz) for f in (plain, alloc))
    assert fast._active is fast.fast  # no allocation anywhere: compiled without NRT
    assert slow._active is slow.safe  # np.empty in the gradient: the NRT build
    np.testing.assert_array_equal(runs[0].loss, runs[1].loss)
    np.testing.assert_array_equal(runs[0].iterates, runs[1].iterates)


def test_sde_engine_falls_back_to_nrt_with_identical_numbers():
    plain, alloc = _pair()
    models = [sde.model(O.SGD(lr=0.05), f, N.Gaussian(0.5), kind="corrected") for f in (plain, alloc)]
    runs = [sde.integrate(m, x0=1.0, t_end=1.0, paths=130, seed=4, refine=2) for m in models]
    fast, slow = (_kernel_for(m, 2) for m in models)
    assert fast._active is fast.fast
    assert slow._active is slow.safe
    np.testing.assert_array_equal(runs[0].loss, runs[1].loss)
    np.testing.assert_array_equal(runs[0].grad_norm, runs[1].grad_norm)
