"""SVAG (Li, Malladi and Arora, arXiv 2102.12470): the oracle's mean and covariance, the rescaling, l = 1.

Monte Carlo tolerances are 4 standard errors, two-sided; exact statements are tested exactly."""
import numpy as np
import pytest

from conftest import assert_mc_close
from methods import finite_sum as F
from methods import landscapes as L
from methods import noise as N
from methods import optimizers as O
from methods import simulate, svag


@pytest.fixture(scope="module")
def diabetes():
    return L.LeastSquares.from_dataset(F.load("diabetes"), reg=0.0)


@pytest.mark.parametrize("l", [1, 2, 4, 8, 2.5])
def test_weights_preserve_the_mean_and_multiply_the_variance_by_l(l):
    w1, w2 = svag.weights(l)
    assert w1 + w2 == pytest.approx(1.0, abs=1e-15)
    assert w1 * w1 + w2 * w2 == pytest.approx(l, rel=1e-14)


def test_combined_minibatch_gradient_has_the_mean_and_l_times_the_covariance(diabetes):
    """At a fixed x: E g = grad f and Cov g = l c(n, B) Cov_i grad f_i (l = 4, B = 8 without
    replacement): every mean coordinate and covariance entry within 4 s.e. (entry s.e. from the sample's
    fourth moments), and the trace rejects l = 1's covariance (a factor 4)."""
    l, P = 4, 40_000
    x = np.random.default_rng(0).standard_normal(diabetes.d) * 0.5
    mb = N.Minibatch(diabetes, batch=8)
    nz = N.SVAG(mb, l)
    S = nz.sample(x=x, size=P, rng=3)
    g = diabetes.gradient(x)
    C = l * mb.covariance_at(x)
    np.testing.assert_allclose(nz.covariance_at(x), C, rtol=1e-14)
    assert_mc_close(S.mean(axis=0), g, np.sqrt(np.diag(C) / P), what="SVAG mean")
    Z = S - g
    prod = Z[:, :, None] * Z[:, None, :]
    iu = np.triu_indices(diabetes.d)
    assert_mc_close(prod.mean(axis=0)[iu], C[iu], prod.std(axis=0)[iu] / np.sqrt(P), what="SVAG covariance")
    tr = (Z**2).sum(axis=1)
    assert abs(tr.mean() - np.trace(C) / l) > 8 * tr.std() / np.sqrt(P)


def test_combined_gaussian_gradient_covariance_exact_and_sampled():
    nz = N.SVAG(N.Gaussian(0.5), 8)
    np.testing.assert_allclose(nz.covariance(3, 1)[0], 8 * 0.25 * np.eye(3), rtol=1e-14)
    S = nz.sample(np.ones(3), size=40_000, rng=1)
    assert_mc_close(S.mean(axis=0), 1.0, np.sqrt(2.0 / 40_000), what="mean")
    v = S.var(axis=0)
    assert_mc_close(v, 2.0, 2.0 * np.sqrt(2.0 / 40_000), what="variance")  # Gaussian: Var(s^2) = 2 sigma^4


def test_l_equal_one_reproduces_the_plain_method_bit_for_bit(diabetes):
    x0 = np.full(diabetes.d, 0.5)
    mb = N.Minibatch(diabetes, batch=8)
    opt = O.SGD(lr=0.05)
    plain = simulate(diabetes, opt, mb, x0=x0, steps=60, paths=70, seed=3)
    wrapped = simulate(diabetes, opt, N.SVAG(mb, 1), x0=x0, steps=60, paths=70, seed=3)
    helper = svag.simulate(diabetes, opt, mb, 1, x0=x0, steps=60, paths=70, seed=3)
    for r in (wrapped, helper):
        np.testing.assert_array_equal(r.loss, plain.loss)
        np.testing.assert_array_equal(r.grad_norm, plain.grad_norm)
        np.testing.assert_array_equal(r.t, plain.t)
    adam = O.Adam(lr=0.01)
    assert svag.scale(adam, 1).optimizer is adam and svag.scale(opt, 1).optimizer is opt


def test_rescaling_of_sgd_and_adam_and_the_run_on_the_original_grid(diabetes):
    sc = svag.scale(O.SGD(lr=0.08, agents=2), 4)
    assert sc.optimizer.lr == 0.02 and sc.steps == 4 and sc.noise_l == 4.0 and sc.optimizer.agents == 2
    a = svag.scale(O.Adam(lr=0.01, betas=(0.9, 0.99), eps=1e-8), 2)
    assert a.optimizer.lr == 0.005 and a.steps == 4 and a.noise_l == 4.0 and a.provenance == "unsure"
    np.testing.assert_allclose(1 - np.array(a.optimizer.betas), [0.1 / 4, 0.01 / 4], rtol=1e-12)
    assert a.optimizer.eps == pytest.approx(2e-8)
    r = svag.scale(O.RMSprop(lr=0.01, alpha=0.99), 3).optimizer
    assert r.lr == pytest.approx(0.01 / 3) and 1 - r.alpha == pytest.approx(0.01 / 9)
    run = svag.simulate(diabetes, O.SGD(lr=0.05), N.Minibatch(diabetes, batch=8), 4, x0=0.5, steps=40, paths=16,
                        seed=0, save_at=np.array([0, 20, 40]))
    np.testing.assert_array_equal(run.step, [0, 20, 40])
    np.testing.assert_allclose(run.t, [0.0, 1.0, 2.0])
    assert run.config["svag"]["steps_factor"] == 4 and run.diverged == 0


def test_bad_input_names_the_argument(diabetes):
    mb = N.Minibatch(diabetes, batch=8)
    for bad in (0.5, 0, -1, float("nan")):
        with pytest.raises(ValueError, match="l must"):
            N.SVAG(mb, bad)
    with pytest.raises(ValueError, match="l must"):
        svag.scale(O.SGD(lr=0.1), 0)
    with pytest.raises(ValueError, match="l must"):
        svag.scale(O.SGD(lr=0.1), 1.5)
    with pytest.raises(ValueError, match="inner"):
        N.SVAG(N.Minibatch(diabetes, batch=8, reshuffle=True), 2)
    with pytest.raises(ValueError, match="inner"):
        N.SVAG(None, 2)
    with pytest.raises(ValueError, match="optimizer"):
        svag.scale(O.SignSGD(lr=0.1), 2)
    with pytest.raises(ValueError, match="optimizer"):
        svag.scale(O.SGD(lr=0.1, schedule="inv_sqrt"), 2)
