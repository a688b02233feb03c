import numpy as np
import pytest

from methods import compressors as C
from conftest import assert_mc_close

X = np.array([1.5, -0.5, 2.0, 0.0, -3.0, 0.7])
UNBIASED = [C.Identity(), C.RandK(2), C.RandK(6), C.Bernoulli(0.3), C.QSGD(1), C.QSGD(4)]


@pytest.mark.parametrize("comp", UNBIASED, ids=repr)
def test_unbiased_and_omega(comp):
    n = 100_000
    y = comp(X, rng=0, size=n)
    err = y - X
    se = err.std(0, ddof=1) / np.sqrt(n) + 1e-300
    if comp.omega(X.size) == 0:
        np.testing.assert_array_equal(y, np.broadcast_to(X, y.shape))
        return
    assert_mc_close(y.mean(0)[se > 1e-200], X[se > 1e-200], se[se > 1e-200], z=4.5, what="E C(x)")
    sq = (err**2).sum(1)
    bound = comp.omega(X.size) * (X @ X)
    mean_sq, se_sq = sq.mean(), sq.std(ddof=1) / np.sqrt(n)
    if comp.omega_exact:
        assert_mc_close(mean_sq, bound, se_sq, what="E||C(x)-x||^2 = omega ||x||^2")
    else:
        assert mean_sq <= bound + 4 * se_sq


@pytest.mark.parametrize("comp", [C.RandK(2), C.Bernoulli(0.3)], ids=repr)
def test_exact_covariance(comp):
    n = 200_000
    y = comp(X, rng=1, size=n)
    cov = comp.covariance(X)
    emp = np.cov(y.T)
    # se of each covariance entry from the fourth moments of the draws
    c = y - X
    se = np.sqrt(np.var(c[:, :, None] * c[:, None, :], axis=0) / n) + 1e-12
    assert_mc_close(emp, cov, se, z=4.5, what="compressor covariance")
    assert np.trace(cov) == pytest.approx(comp.omega(X.size) * (X @ X))


def test_randk_keeps_exactly_k():
    y = C.RandK(3)(X + 10.0, rng=2, size=1000)
    assert np.all((y != 0).sum(1) == 3)


def test_biased_contrasts():
    np.testing.assert_array_equal(C.Sign()(X), np.sign(X))
    np.testing.assert_allclose(C.Sign(scaled=True)(X), np.abs(X).mean() * np.sign(X))
    np.testing.assert_array_equal(C.TopK(2)(X), [0, 0, 2.0, 0, -3.0, 0])
    assert C.Sign().omega(6) is None and not C.TopK(2).unbiased


@pytest.mark.parametrize("bad,match", [
    (lambda: C.RandK(0), "k"),
    (lambda: C.RandK(7).pack(6), "k must be <= d"),
    (lambda: C.Bernoulli(0.0), "p"),
    (lambda: C.Bernoulli(1.5), "p"),
    (lambda: C.QSGD(0), "s"),
    (lambda: C.resolve("gzip"), "compressor"),
])
def test_bad_parameters_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_topk_selects_like_a_stable_sort_in_place():
    """Top-k (quickselect on the index scratch) against a stable argsort of -|x|: random vectors with
    ties (values on a coarse grid, either sign) and every k; the scratch stays a permutation and the
    result does not depend on the permutation it held on entry. A NaN counts as the largest."""
    from methods import rng as R

    gen = np.random.default_rng(0)
    kern = C.TopK(1).kernels.compress
    for _ in range(200):
        d = int(gen.integers(1, 40))
        x = gen.integers(-4, 5, size=d) * 0.5
        k = int(gen.integers(1, d + 1))
        want = np.zeros(d)
        idx = np.argsort(-np.abs(x), kind="stable")[:k]
        want[idx] = x[idx]
        iwork = gen.permutation(d).astype(np.int64)
        out = np.empty(d)
        kern(R.from_user(0), x, np.array([float(k)]), 0, np.zeros(0), iwork, out)
        np.testing.assert_array_equal(out, want)
        assert sorted(iwork) == list(range(d))
    y = np.empty(3)
    kern(R.from_user(0), np.array([1.0, np.nan, -3.0]), np.array([1.0]), 0, np.zeros(0), np.arange(3), y)
    assert np.isnan(y[1]) and y[0] == 0.0 and y[2] == 0.0
