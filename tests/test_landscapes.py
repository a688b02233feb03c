import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from numba import njit

from methods import landscapes as L


def _all(d=3):
    return [
        L.DiagonalQuadratic(np.array([1.0, 2.0, 4.0])[:d] if d <= 3 else np.linspace(1, 4, d)),
        L.Quadratic.random(d, condition=20.0, seed=1),
        L.Quartic(d),
        L.SumCosh(d),
        L.NormPower(d),
        L.NormPower(d, q=3.0),
        L.LogisticRegression(d=d, n_samples=50, seed=2),
    ]


@pytest.mark.parametrize("f", _all(), ids=lambda f: type(f).__name__)
def test_derivatives_match_finite_differences(f):
    rng = np.random.default_rng(0)
    for _ in range(5):
        x = rng.normal(size=f.d)
        v = rng.normal(size=f.d)
        h = 1e-6
        fd_grad = np.array([(f.f(x + h * e) - f.f(x - h * e)) / (2 * h) for e in np.eye(f.d)])
        g = f.gradient(x)
        np.testing.assert_allclose(g, fd_grad, rtol=1e-6, atol=1e-6 * (1 + np.abs(g).max()))
        H = f.hessian(x)
        fd_hess = np.array([(f.gradient(x + h * e) - f.gradient(x - h * e)) / (2 * h) for e in np.eye(f.d)]).T
        np.testing.assert_allclose(H, fd_hess, rtol=1e-5, atol=1e-5 * (1 + np.abs(H).max()))
        np.testing.assert_allclose(f.hvp(x, v), H @ v, rtol=1e-12, atol=1e-12 * (1 + np.abs(H).max()))
        np.testing.assert_allclose(H, H.T, atol=1e-12)


@pytest.mark.parametrize("f", _all(), ids=lambda f: type(f).__name__)
def test_coordinate_gradient_of_separable_landscapes(f):
    """``coord_grad(x_j, j, p)`` (the engines' fused path) equals the vector gradient exactly;
    landscapes that are not separable do not declare one."""
    cg = f.kernels.coord_grad
    if not isinstance(f, (L.DiagonalQuadratic, L.Quartic, L.SumCosh)):
        assert cg is None
        return
    rng = np.random.default_rng(3)
    p = f.params()
    for _ in range(5):
        x = rng.normal(scale=2.0, size=f.d)
        np.testing.assert_array_equal([cg(x[j], j, p) for j in range(f.d)], f.gradient(x))


def test_diagonal_quadratic_with_a_center():
    f = L.DiagonalQuadratic([1.0, 3.0], center=[0.5, -2.0])
    x = np.array([1.5, 1.0])
    assert f.f(x) == 0.5 * (1.0 * 1.0 + 3.0 * 9.0)
    np.testing.assert_array_equal(f.gradient(x), [1.0, 9.0])
    np.testing.assert_array_equal(f.hessian(x), np.diag([1.0, 3.0]))
    np.testing.assert_array_equal(f.hvp(x, np.array([2.0, 1.0])), [2.0, 3.0])


@pytest.mark.parametrize("f", _all(), ids=lambda f: type(f).__name__)
@settings(max_examples=60, deadline=None)
@given(x=st.lists(st.floats(-6, 6), min_size=3, max_size=3), scale=st.sampled_from([1e-3, 1e-1, 1.0, 3.0]))
def test_declared_l0l1_holds(f, x, scale):
    """||H(x)|| <= L0 + L1 ||grad f(x)|| at random points, near 0 and far out."""
    assert f.l0l1_ratio(scale * np.array(x)) <= 1.0 + 1e-9


def test_not_l_smooth_examples_are_unbounded():
    """Quartic, cosh and ||x||^4 have no global L: the Hessian norm grows without bound."""
    for f in (L.Quartic(2), L.SumCosh(2), L.NormPower(2)):
        h = [np.linalg.norm(f.hessian(np.full(2, r)), 2) for r in (1.0, 10.0)]
        assert h[1] > 50 * h[0]


def test_minimum_values():
    assert L.SumCosh(4).f(np.zeros(4)) == L.SumCosh(4).f_star == 4
    lr = L.LogisticRegression(d=3, n_samples=100, seed=0)
    # f_star really is the minimum: gradient vanishes there and random points are higher
    from scipy.optimize import minimize
    res = minimize(lr.f, np.zeros(3), jac=lr.gradient, method="BFGS", options={"gtol": 1e-12})
    assert abs(res.fun - lr.f_star) < 1e-10
    rng = np.random.default_rng(0)
    assert all(lr.f(rng.normal(size=3)) > lr.f_star for _ in range(20))


def test_custom_landscape_from_njit_functions():
    @njit
    def value(x):
        return np.sum(np.cosh(x)) + x[0] ** 4

    @njit
    def grad(x, out):
        for j in range(x.shape[0]):
            out[j] = np.sinh(x[j])
        out[0] += 4 * x[0] ** 3

    f = L.Custom(value=value, grad=grad, d=3, f_star=3.0)
    ref = L.SumCosh(3)
    x = np.array([0.3, -0.7, 1.1])
    assert f.f(x) == pytest.approx(ref.f(x) + x[0] ** 4)
    H = f.hessian(x)  # from the central-difference HVP
    expect = ref.hessian(x)
    expect[0, 0] += 12 * x[0] ** 2
    np.testing.assert_allclose(H, expect, rtol=1e-6, atol=1e-7)


def test_custom_separable_landscape_with_a_coordinate_gradient():
    """A Custom landscape with ``coord_grad`` takes the fused path of the SGD SDE and gives the
    numbers of the same landscape without it."""
    import sde
    from methods import noise as N, optimizers as O

    @njit
    def value(x):
        return np.sum(x ** 4) / 4 + np.sum(x ** 2) / 2

    @njit
    def grad(x, out):
        for j in range(x.shape[0]):
            out[j] = x[j] ** 3 + x[j]

    @njit
    def coord_grad(xj, j):
        return xj ** 3 + xj

    fused = L.Custom(value=value, grad=grad, d=3, coord_grad=coord_grad)
    plain = L.Custom(value=value, grad=grad, d=3)
    assert fused.kernels.coord_grad is not None and plain.kernels.coord_grad is None
    runs = [sde.integrate(sde.model(O.SGD(lr=0.05), f, N.Gaussian(0.5)), x0=0.7, t_end=1.0, paths=70, seed=2,
                          record_iterates=True) for f in (fused, plain)]
    np.testing.assert_array_equal(runs[0].iterates, runs[1].iterates)


@pytest.mark.parametrize("bad,match", [
    (lambda: L.DiagonalQuadratic([1.0, -1.0]), "lambdas"),
    (lambda: L.DiagonalQuadratic([1.0, np.nan]), "lambdas"),
    (lambda: L.Quadratic([[1.0, 2.0], [0.0, 1.0]]), "H must be symmetric"),
    (lambda: L.Quadratic([[1.0, 0.0], [0.0, -1.0]]), "H must be positive definite"),
    (lambda: L.Quartic(0), "d"),
    (lambda: L.NormPower(2, q=1.5), "q"),
    (lambda: L.LogisticRegression(flip=0.7), "flip"),
    (lambda: L.Custom(value=lambda x: 0.0, grad=lambda x, o: None, d=1), "value must be a numba"),
    (lambda: L.Custom(value=njit(lambda x: 0.0), grad=njit(lambda x, o: None), d=1, coord_grad=lambda xj, j: xj),
     "coord_grad must be a numba"),
])
def test_bad_parameters_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()
