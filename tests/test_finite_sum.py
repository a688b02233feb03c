"""Finite-sum landscapes on real data, the minibatch oracle, and the SDE with the minibatch covariance.

Monte Carlo tolerances are 4 standard errors, two-sided; exact statements are tested exactly."""
import numpy as np
import pytest

import sde
from conftest import assert_mc_close
from methods import finite_sum as F
from methods import landscapes as L
from methods import noise as N
from methods import optimizers as O
from methods import simulate
from methods.minibatch import c_factor


@pytest.fixture(scope="module")
def diabetes():
    return L.LeastSquares.from_dataset(F.load("diabetes"), reg=0.0)


@pytest.fixture(scope="module")
def onehot():
    """A = I_n, b = 1: grad f_i(0) = -e_i, so a batch mean at 0 shows the batch's index set."""
    n = 20
    return L.LeastSquares(np.eye(n), np.ones(n))


# ------------------------------------------------------------------ data and landscapes
def test_bundled_data_standardised_and_split():
    ds = F.load("wine", test_fraction=0.25, seed=3)
    assert ds.X.shape[1] == 13 and ds.X.shape[0] + ds.X_test.shape[0] == 178
    np.testing.assert_allclose(ds.X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(ds.X.std(axis=0), 1.0, rtol=1e-12)
    for c in ds.classes:  # stratified: each class keeps its share of the held-out split within one row
        share = np.mean(ds.y_test == c) - np.mean(np.concatenate([ds.y, ds.y_test]) == c)
        assert abs(share) <= 1.0 / ds.X_test.shape[0] + 1e-12
    with pytest.raises(ValueError, match="name"):
        F.load("mnist")
    with pytest.raises(ValueError, match="y"):
        F.Dataset.from_arrays(np.zeros((5, 2)), np.zeros(4))


@pytest.mark.parametrize("how", ["iid", "label", "dirichlet"])
def test_shards_partition_the_samples(how):
    labels = np.repeat(np.arange(5), 40)
    sh = F.shards(labels, 4, how, alpha=0.3, seed=1)
    assert len(sh) == 4
    allidx = np.sort(np.concatenate(sh))
    np.testing.assert_array_equal(allidx, np.arange(labels.size))  # a partition
    if how in ("iid", "label"):
        assert {s.size for s in sh} == {50}
    if how == "label":  # contiguous blocks of the label order: each agent sees at most 2 of the 5 classes
        assert max(np.unique(labels[s]).size for s in sh) <= 2
    with pytest.raises(ValueError, match="how"):
        F.shards(labels, 2, "random")


def _landscapes():
    bc = F.load("breast_cancer")
    wine = F.load("wine")
    return [L.LeastSquares.from_dataset(F.load("diabetes"), reg=0.0),
            L.FiniteSumLogistic.from_dataset(bc, reg=1e-2),
            L.SoftmaxRegression.from_dataset(wine, reg=1e-2)]


def test_per_sample_gradients_derivatives_and_declared_smoothness():
    """grad f = mean_i grad f_i (the compiled sample_grad), grad and H v against central differences
    (error O(h^2) + O(eps / h): tolerance 1e-6 relative at h = 1e-5), H v = H @ v, and the declared
    (L0, L1 = 0) bounds ||H(x)|| at random points and at the minimiser."""
    rng = np.random.default_rng(0)
    for f in _landscapes():
        for x in (0.3 * rng.standard_normal(f.d), f.x_star):
            G = f.sample_gradients(x)
            g = f.gradient(x)
            np.testing.assert_allclose(G.mean(axis=0), g, rtol=1e-12, atol=1e-13 * np.abs(G).max())  # cancellation at x*
            h = 1e-5
            E = np.eye(f.d)
            fd = np.array([(f.f(x + h * E[j]) - f.f(x - h * E[j])) / (2 * h) for j in range(f.d)])
            np.testing.assert_allclose(fd, g, rtol=1e-6, atol=1e-6 * max(1.0, np.abs(g).max()))
            v = rng.standard_normal(f.d)
            np.testing.assert_allclose(f.hvp(x, v), f.hessian(x) @ v, rtol=1e-12, atol=1e-12)
            fdh = (f.gradient(x + h * v) - f.gradient(x - h * v)) / (2 * h)
            np.testing.assert_allclose(fdh, f.hvp(x, v), rtol=1e-6, atol=1e-6 * np.abs(fdh).max())
            assert f.l0l1_ratio(x) <= 1.0 + 1e-12
        assert f.L1 == 0.0
    ls = _landscapes()[0]  # least squares: L0 = lambda_max(H) exactly, and the minimiser is stationary
    assert ls.l0l1_ratio(ls.x_star) == pytest.approx(1.0, rel=1e-12)
    assert np.linalg.norm(ls.gradient(ls.x_star)) < 1e-12


def test_accuracy_on_held_out_split():
    wine = F.load("wine")
    f = L.SoftmaxRegression.from_dataset(wine, reg=1e-2)
    acc = f.accuracy(f.x_star, wine.X_test, wine.y_test)
    assert 0.9 <= acc <= 1.0  # wine is nearly linearly separable
    assert f.accuracy(np.zeros(f.d), wine.X_test, wine.y_test) < 0.5  # ties go to class 0
    with pytest.raises(ValueError, match="X"):
        f.accuracy(f.x_star, wine.X_test[:, :5], wine.y_test)


def test_bad_input_names_the_argument(diabetes):
    with pytest.raises(ValueError, match="b"):
        L.LeastSquares(np.ones((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="y"):
        L.FiniteSumLogistic(np.ones((4, 2)), np.arange(4.0))
    with pytest.raises(ValueError, match="landscape"):
        N.Minibatch(L.DiagonalQuadratic([1.0]), batch=1)
    with pytest.raises(ValueError, match="batch"):
        N.Minibatch(diabetes, batch=diabetes.n + 1)
    with pytest.raises(ValueError, match="reshuffle"):
        N.Minibatch(diabetes, batch=2, replacement=True, reshuffle=True)
    with pytest.raises(ValueError, match="shards"):
        N.Minibatch(diabetes, batch=2, shards=[np.array([0, 0, 1])])


# ------------------------------------------------------------------ the minibatch oracle
@pytest.mark.parametrize("problem", ["least_squares", pytest.param("mlp", marks=pytest.mark.slow)])  # mlp: ~14 s cold
def test_full_batch_without_replacement_is_gradient_descent_bit_for_bit(diabetes, problem):
    """B = n without replacement takes all samples in index order with the exact gradient's own
    arithmetic: the discrete engine's losses and gradient norms are bit-identical to noise=None
    (least squares on diabetes, and the MLP of methods.mlp on iris from its Glorot start)."""
    if problem == "mlp":
        f = L.MLP.from_dataset(F.load("iris"), hidden=(5,), reg=1e-3)
        opt, x0, steps, drop = O.SGD(lr=0.5), f.init(), 200, 0.2
    else:
        f, opt, x0, steps, drop = diabetes, O.SGD(lr=0.2), np.full(diabetes.d, 0.5), 300, 1e-3
    gd = simulate(f, opt, None, x0=x0, steps=steps, paths=3, seed=4)
    mb = simulate(f, opt, N.Minibatch(f, batch=f.n), x0=x0, steps=steps, paths=3, seed=4)
    np.testing.assert_array_equal(mb.loss, gd.loss)
    np.testing.assert_array_equal(mb.grad_norm, gd.grad_norm)
    assert gd.loss[-1, 0] < drop * gd.loss[0, 0]  # and it is an actual descent


@pytest.mark.parametrize("name", ["least-squares", "logistic", "softmax", "mlp"])
def test_one_pass_kernels_keep_the_bits_of_the_per_sample_loop(name):
    """Exact: ``value_grad`` (the engines' save points: f and grad f in one pass over the samples)
    returns ``value``'s bits and writes ``grad``'s; ``grad`` and ``batch_grad`` (the MLP's: four samples
    a pass) equal the loop of the per-sample ``grad_add`` in index order times 1/count plus reg x, bit for
    bit, for batch sizes 1..9 with repeated indices."""
    data = F.load("iris")
    f = {"least-squares": lambda: L.LeastSquares(data.X, data.y.astype(float), reg=1e-3),
         "logistic": lambda: L.FiniteSumLogistic(data.X, (data.y > 0).astype(float), reg=1e-3),
         "softmax": lambda: L.SoftmaxRegression.from_dataset(data, reg=1e-3),
         "mlp": lambda: L.MLP.from_dataset(data, hidden=(5, 3), reg=1e-3)}[name]()
    rng = np.random.default_rng(1)
    x = f.init(3) if name == "mlp" else rng.standard_normal(f.d)
    p = f.params()
    sk, lk = f.sample_kernels, f.kernels

    def composed(rows):
        acc = np.zeros(f.d)
        for i in rows:
            sk.grad_add(x, int(i), 1.0, p, acc)
        return acc * (1.0 / len(rows)) + f.reg * x

    g = np.empty(f.d)
    lk.grad(x, p, g)
    np.testing.assert_array_equal(g, composed(range(f.n)))
    vg = np.empty(f.d)
    assert lk.value_grad(x, p, vg) == lk.value(x, p)
    np.testing.assert_array_equal(vg, g)
    out = np.empty(f.d)
    for count in range(1, 10):
        idx = rng.integers(0, f.n, count).astype(float)
        idx[count // 2] = idx[0]
        sk.batch_grad(x, idx, count, p, out)
        np.testing.assert_array_equal(out, composed(idx))


@pytest.mark.parametrize("replacement", [False, True])
def test_oracle_mean_is_gradient_and_covariance_is_c_times_cov(diabetes, replacement):
    """E g = grad f(x) and Cov g = c(n, B) Cov_i grad f_i(x), c = (n - B)/(B (n - 1)) without
    replacement and 1/B with: every mean coordinate and covariance entry within 4 s.e. (s.e. of a
    covariance entry from the sample's own fourth moments), and the trace rejects the other mode's c
    (B = 100 of n = 332 makes the two c differ by 30%)."""
    B, P = 100, 60_000
    x = np.random.default_rng(0).standard_normal(diabetes.d) * 0.5
    nz = N.Minibatch(diabetes, batch=B, replacement=replacement)
    S = nz.sample(x=x, size=P, rng=3)
    g = diabetes.gradient(x)
    C = nz.covariance_at(x)
    G = diabetes.sample_gradients(x)
    pop = np.cov(G.T, bias=True)
    np.testing.assert_allclose(C, c_factor(diabetes.n, B, replacement) * pop, rtol=1e-10, atol=1e-14)
    assert_mc_close(S.mean(axis=0), g, np.sqrt(np.diag(C) / P), what="minibatch mean")
    Z = S - g
    prod = Z[:, :, None] * Z[:, None, :]
    iu = np.triu_indices(diabetes.d)
    emp = prod.mean(axis=0)[iu]
    se = prod.std(axis=0)[iu] / np.sqrt(P)
    assert_mc_close(emp, C[iu], se, what="minibatch covariance entries")
    tr = (Z**2).sum(axis=1)
    tr_se = tr.std() / np.sqrt(P)
    assert_mc_close(tr.mean(), np.trace(C), tr_se, what="trace")
    other = c_factor(diabetes.n, B, not replacement) * np.trace(pop)
    assert abs(tr.mean() - other) > 8 * tr_se


def test_random_reshuffling_visits_every_sample_once_per_epoch(onehot):
    """n = 20, B = 6: epochs of 4 steps (6, 6, 6, 2); the batch means at x = 0 are -(1/|S|) 1_S, so
    each epoch's batches are disjoint and cover all samples (exact), and epochs differ (random)."""
    n, B = onehot.n, 6
    nz = N.Minibatch(onehot, batch=B, reshuffle=True)
    rows = nz.sample(x=np.zeros(n), size=5 * 4, rng=11)
    sizes = [6, 6, 6, 2]
    epochs = []
    for e in range(5):
        cover = np.zeros(n)
        sets = []
        for s in range(4):
            r = rows[4 * e + s]
            member = r != 0
            assert member.sum() == sizes[s]
            np.testing.assert_array_equal(r[member], -1.0 / sizes[s])
            cover += member
            sets.append(tuple(np.flatnonzero(member)))
        np.testing.assert_array_equal(cover, 1.0)
        epochs.append(tuple(sets))
    assert len(set(epochs)) == 5


def test_batches_without_replacement_are_distinct_and_shards_are_respected(onehot):
    n = onehot.n
    rows = N.Minibatch(onehot, batch=5).sample(x=np.zeros(n), size=200, rng=2)
    np.testing.assert_array_equal((rows != 0).sum(axis=1), 5)  # 5 distinct indices, each weight 1/5
    np.testing.assert_array_equal(rows[rows != 0], -0.2)
    counts = (rows != 0).sum(axis=0)  # each index in a batch w.p. B/n = 1/4: 200 draws, mean 50, sd 6.1
    assert_mc_close(counts, 50.0, np.sqrt(200 * 0.25 * 0.75), what="inclusion counts")
    sh = [np.arange(0, 8), np.arange(8, 20)]
    nz = N.Minibatch(onehot, batch=3, replacement=True, shards=sh)
    for a in range(2):
        r = nz.sample(x=np.zeros(n), agent=a, agents=2, size=100, rng=a)
        outside = np.setdiff1d(np.arange(n), sh[a])
        assert np.all(r[:, outside] == 0) and np.all(r[:, sh[a]] <= 0)
        np.testing.assert_allclose(r.sum(axis=1), -1.0, rtol=1e-14)


def test_shards_run_in_the_discrete_engine_and_the_sde(diabetes):
    """DSGD with two equal iid shards: both engines run it, and the SDE refuses unequal shards."""
    sh = F.shards(np.zeros(diabetes.n), 2, "iid", seed=0)
    nz = N.Minibatch(diabetes, batch=8, shards=sh)
    opt = O.SGD(lr=0.05, agents=2)
    run = simulate(diabetes, opt, nz, x0=np.zeros(diabetes.d), steps=100, paths=64, seed=0)
    m = sde.model(opt, diabetes, nz)
    srun = sde.integrate(m, x0=np.zeros(diabetes.d), t_end=100 * 0.05, paths=64, seed=0)
    assert run.diverged == 0 and srun.diverged == 0
    assert run.mean()[-1] < 0.1 * run.mean()[0] and srun.mean()[-1] < 0.1 * srun.mean()[0]
    bad = N.Minibatch(diabetes, batch=8, shards=[np.arange(100), np.arange(100, diabetes.n)])
    with pytest.raises(ValueError, match="shards"):
        sde.model(opt, diabetes, bad)


# ------------------------------------------------------------------ the SDE with the minibatch covariance
def test_sde_one_step_increment_covariance_is_the_minibatch_covariance(diabetes):
    """From a fixed x, one Euler-Maruyama step over dt = lr: X_1 - x ~ N(-lr grad f, lr^2 Sigma(x)) with
    Sigma = c Cov_i grad f_i: each entry within 4 s.e. (Gaussian increments: Var of an empirical
    covariance entry (S_aa S_bb + S_ab^2) / P)."""
    lr, P = 0.05, 30_000
    x = np.random.default_rng(0).standard_normal(diabetes.d) * 0.5
    nz = N.Minibatch(diabetes, batch=8)
    m = sde.model(O.SGD(lr=lr), diabetes, nz)
    assert m.noise_dim == diabetes.n and "Cov_i" in m.formula
    r = sde.integrate(m, x0=x, t_end=lr, paths=P, seed=2, record_iterates=True, save_every=1)
    X1 = r.iterates[-1]
    S = lr**2 * nz.covariance_at(x)
    mean = x - lr * diabetes.gradient(x)
    assert_mc_close(X1.mean(axis=0), mean, np.sqrt(np.diag(S) / P), what="one-step mean")
    iu = np.triu_indices(diabetes.d)
    D = X1 - mean
    emp = (D.T @ D / P)[iu]
    se = np.sqrt((np.outer(np.diag(S), np.diag(S)) + S**2) / P)[iu]
    assert_mc_close(emp, S[iu], se, what="one-step covariance")


def _moments(f, nz, lr, steps, x0, dt, sigma_scale):
    """Exact E f(X_k) - f* of the linear recursion m' = m - dt (H m - q), P' = E[(X - dt grad f)(..)^T]
    + sigma_scale E Sigma(X): with dt = lr and sigma_scale = lr^2 the discrete SGD chain on least
    squares (and EM at dt = lr), with dt = lr / r and sigma_scale = lr dt the EM chain of the SDE.
    Sigma(x) = (c/n) sum_i u_i u_i^T, u_i = M_i x - v_i (linear in x), so the recursion closes."""
    A, b, n, d = f.A_, f.y_, f.n, f.d
    H0 = A.T @ A / n
    H = H0 + f.reg * np.eye(d)
    q = A.T @ b / n
    M = A[:, :, None] * A[:, None, :] - H0
    v = A * b[:, None] - q
    Mt = M.transpose(0, 2, 1)
    c = c_factor(n, nz.batch, nz.replacement)
    m = x0.copy()
    P2 = np.outer(x0, x0)
    T = np.eye(d) - dt * H
    e = dt * q
    sub = int(round(lr / dt))
    out = []
    for k in range(steps + 1):
        out.append(0.5 * np.trace(H @ P2) - q @ m + b @ b / (2 * n) - f.f_star)
        for _ in range(sub):
            Mm = M @ m
            ES = ((M @ P2 @ Mt).sum(axis=0) - Mm.T @ v - v.T @ Mm + v.T @ v) * c / n
            Tm = T @ m
            P2 = T @ P2 @ T.T + np.outer(Tm, e) + np.outer(e, Tm) + np.outer(e, e) + sigma_scale * ES
            m = Tm + e
    return np.array(out)


def test_sde_tracks_minibatch_sgd_within_mc_and_stated_model_error(diabetes):
    """Least squares, B = 8, lr = 0.05, 100 steps. (a) discrete SGD's mean loss equals its exact moment
    recursion within 4 s.e.; (b) the SDE integrated with dt = lr / 2 equals its own exact EM
    recursion within 4 s.e. (checks drift and diffusion factor); (c) the SDE tracks SGD within the
    combined 4 s.e. plus the stated model error |L_EM(dt) - L_SGD| from the recursions, which is
    small (under 5% of the loss: the weak O(lr) error). (EM at dt = lr has the discrete chain's
    exact first two moments on least squares, so its agreement would hold by construction.)"""
    lr, steps, P = 0.05, 100, 2000  # the SDE costs O(n d) a step (n = 332 rows): kept small
    x0 = np.full(diabetes.d, 0.5)
    nz = N.Minibatch(diabetes, batch=8)
    opt = O.SGD(lr=lr)
    saves = np.arange(0, steps + 1, 20)
    d_run = simulate(diabetes, opt, nz, x0=x0, steps=steps, paths=P, seed=5, save_at=saves)
    s_run = sde.integrate(sde.model(opt, diabetes, nz), x0=x0, t_end=steps * lr, paths=P, seed=6, refine=2,
                          save_at=saves)
    L_disc = _moments(diabetes, nz, lr, steps, x0, lr, lr**2)[saves]
    L_sde = _moments(diabetes, nz, lr, steps, x0, lr / 2, lr * lr / 2)[saves]
    assert_mc_close(d_run.mean()[1:], L_disc[1:], d_run.stderr()[1:], what="SGD vs its exact recursion")
    assert_mc_close(s_run.mean()[1:], L_sde[1:], s_run.stderr()[1:], what="SDE (EM, dt = lr/2) vs its recursion")
    model_err = np.abs(L_sde - L_disc)
    assert np.all(model_err[1:] < 0.05 * L_disc[1:])
    se = np.hypot(d_run.stderr(), s_run.stderr())
    assert np.all(np.abs(s_run.mean() - d_run.mean())[1:] <= 4 * se[1:] + model_err[1:])


def test_sde_row_subsample_and_refusals(diabetes):
    nz = N.Minibatch(diabetes, batch=8, sde_rows=50, sde_seed=1)
    m = sde.model(O.SGD(lr=0.05), diabetes, nz, kind="corrected")
    assert m.noise_dim == 50 and "subsample of 50 rows" in m.formula and m.provenance == "derived"
    with pytest.raises(ValueError, match="kind"):
        sde.model(O.SGD(lr=0.05), diabetes, nz, kind="levy")
    other = L.LeastSquares.from_dataset(F.load("diabetes", seed=1))
    with pytest.raises(ValueError, match="noise"):
        sde.model(O.SGD(lr=0.05), other, nz)
    with pytest.raises(ValueError, match="noise"):
        nz.covariance_parts(diabetes.d, 1)
    with pytest.raises(ValueError, match="noise"):
        simulate(other, O.SGD(lr=0.05), nz, x0=0.0, steps=2, paths=2)
