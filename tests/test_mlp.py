"""The MLP finite-sum landscape (methods.mlp): backpropagation and the R-operator HVP against finite
differences and torch, both engines, the minibatch oracle's mean, argument checks, and learning on digits.

Every MLP here has sum(hidden) + K <= 16, so all share one compiled kernel set (one scratch size)."""
import numpy as np
import pytest

import sde
from conftest import assert_mc_close
from methods import finite_sum as F
from methods import landscapes as L
from methods import noise as N
from methods import optimizers as O


@pytest.fixture(scope="module")
def iris():
    return F.load("iris")


@pytest.fixture(scope="module")
def nets(iris):
    return [L.MLP.from_dataset(iris, hidden=(5,), reg=1e-3),
            L.MLP.from_dataset(iris, hidden=(4, 3), reg=1e-3, seed=2)]


def test_layout_and_initialisation(nets):
    f1, f2 = nets
    assert f1.d == (4 + 1) * 5 + (5 + 1) * 3 and f2.d == (4 + 1) * 4 + (4 + 1) * 3 + (3 + 1) * 3
    x = f2.init()
    layers = f2.unflatten(x)
    assert [W.shape for W, _ in layers] == [(4, 4), (4, 3), (3, 3)]
    np.testing.assert_array_equal(f2.flatten(layers), x)
    np.testing.assert_array_equal(f2.init(), x)  # deterministic
    assert not np.array_equal(f2.init(1), x)
    for (W, b), (nin, nout) in zip(layers, [(4, 4), (4, 3), (3, 3)]):
        assert np.all(b == 0) and np.abs(W).max() <= np.sqrt(6 / (nin + nout))
    # the compiled forward pass is the NumPy one: f at x is the mean cross-entropy plus reg/2 ||x||^2
    z = f2.logits(x, f2.A_)
    lse = np.log(np.exp(z - z.max(1, keepdims=True)).sum(1)) + z.max(1)
    ce = np.mean(lse - z[np.arange(f2.n), f2.y_.astype(int)])
    assert f2.f(x) == pytest.approx(ce + 0.5e-3 * x @ x, rel=1e-13)


def test_gradient_and_hvp_against_finite_differences(nets):
    """Central differences at h = 1e-5 (error O(h^2) + O(eps/h)): gradient and H v to 1e-6 relative;
    the dense Hessian from HVPs equals H v to rounding; grad f = mean_i grad f_i (the compiled sample_grad)."""
    rng = np.random.default_rng(0)
    h = 1e-5
    for f in nets:
        for x in (f.init(), f.init(5) + 0.3 * rng.standard_normal(f.d)):
            g = f.gradient(x)
            E = np.eye(f.d)
            fd = np.array([(f.f(x + h * E[j]) - f.f(x - h * E[j])) / (2 * h) for j in range(f.d)])
            np.testing.assert_allclose(fd, g, rtol=1e-6, atol=1e-6 * np.abs(g).max())
            v = rng.standard_normal(f.d)
            hv = f.hvp(x, v)
            fdh = (f.gradient(x + h * v) - f.gradient(x - h * v)) / (2 * h)
            np.testing.assert_allclose(fdh, hv, rtol=1e-6, atol=1e-6 * np.abs(fdh).max())
            H = f.hessian(x)
            np.testing.assert_allclose(H @ v, hv, rtol=1e-12, atol=1e-12 * np.abs(hv).max())
            np.testing.assert_allclose(H, H.T, atol=1e-12 * np.abs(H).max())
            G = f.sample_gradients(x)
            np.testing.assert_allclose(G.mean(axis=0), g, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_loss_and_gradient_match_torch(iris, activation):
    """The same weights in a torch network (float64): loss and gradient agree to 1e-12."""
    torch = pytest.importorskip("torch")
    f = L.MLP.from_dataset(iris, hidden=(4, 3), activation=activation, reg=1e-3)
    x = f.init(3) + 0.1 * np.random.default_rng(1).standard_normal(f.d)
    ps = [(torch.tensor(W, dtype=torch.float64, requires_grad=True), torch.tensor(b, dtype=torch.float64,
                                                                                  requires_grad=True))
          for W, b in f.unflatten(x)]
    a = torch.tensor(f.A_)
    act = torch.tanh if activation == "tanh" else torch.relu
    for l, (W, b) in enumerate(ps):
        a = a @ W + b
        if l < len(ps) - 1:
            a = act(a)
    loss = torch.nn.functional.cross_entropy(a, torch.tensor(f.y_).long())
    loss = loss + 0.5e-3 * sum((W**2).sum() + (b**2).sum() for W, b in ps)
    loss.backward()
    g = np.concatenate([np.concatenate([W.grad.numpy().ravel(), b.grad.numpy().ravel()]) for W, b in ps])
    assert abs(loss.item() - f.f(x)) <= 1e-12
    np.testing.assert_allclose(f.gradient(x), g, rtol=0, atol=1e-12)


def _reference_sample_grad(f, x, i):
    """grad h_i by the plain per-sample loops in Python floats, in the order the compiled kernels
    promise: u_j = b_j + W[0, j] a_0 + W[1, j] a_1 + ... (left to right), tanh, softmax through
    exp(z_j - lse); delta_{L+1} = s - e_y, dp_k = (0 + W[k, 0] dl_0 + W[k, 1] dl_1 + ...) (1 - a_k^2);
    each gradient entry a single product. ``tanh`` is the package's (methods.elementary)."""
    import math

    from methods.elementary import tanh

    layers = f.unflatten(x)
    acts = [list(map(float, f.A_[i]))]
    for l, (W, b) in enumerate(layers):
        a_in = acts[-1]
        u = []
        for j in range(W.shape[1]):
            s = float(b[j])
            for k in range(W.shape[0]):
                s = s + float(W[k, j]) * a_in[k]
            u.append(s)
        acts.append([tanh(v) for v in u] if l < len(layers) - 1 else u)
    z = acts[-1]
    zmax = max(z)
    se = 0.0
    for v in z:
        se = se + math.exp(v - zmax)
    lse = zmax + math.log(se)
    y = int(f.y_[i])
    dl = [math.exp(v - lse) - (1.0 if j == y else 0.0) for j, v in enumerate(z)]
    grads = [None] * len(layers)
    for l in range(len(layers) - 1, -1, -1):
        W, _ = layers[l]
        a_in = acts[l]
        grads[l] = (np.array([[a_in[k] * dl[j] for j in range(W.shape[1])] for k in range(W.shape[0])]), np.array(dl))
        if l > 0:
            dp = []
            for k in range(W.shape[0]):
                s = 0.0
                for j in range(W.shape[1]):
                    s = s + float(W[k, j]) * dl[j]
                dp.append(s * (1.0 - a_in[k] * a_in[k]))
            dl = dp
    return f.flatten(grads)


def test_backpropagation_equals_the_plain_loops_bit_for_bit():
    """Exact: on wine (13 features) with hidden = (8, 5) every blocked path of methods.mlp runs: the
    forward pass's eight rows at a time and its remainder, the deltas' eight sums at a time and the
    rest, four samples per pass over the gradient and the leftovers. grad_add of single samples equals
    ``_reference_sample_grad`` (plain Python loops in the promised order) bit for bit, and batch_grad
    over 7 samples (a block of four, then three) equals their reference gradients summed in order."""
    f = L.MLP.from_dataset(F.load("wine"), hidden=(8, 5), reg=1e-3)
    x = f.init(5)
    p = f.params()
    rows = [0, 17, 3, 3, 40, 99, 12]
    refs = [_reference_sample_grad(f, x, i) for i in rows]
    out = np.empty(f.d)
    for i, ref in zip(rows, refs):
        out[:] = 0.0
        f.sample_kernels.grad_add(x, i, 1.0, p, out)
        np.testing.assert_array_equal(out, ref)
    acc = np.zeros(f.d)
    for ref in refs:
        acc = acc + ref
    f.sample_kernels.batch_grad(x, np.array(rows, dtype=float), len(rows), p, out)
    np.testing.assert_array_equal(out, acc * (1.0 / len(rows)) + f.reg * x)


def test_minibatch_mean_is_the_gradient(nets):
    """Exact: the mean of the n single-sample batches is grad f (the batch kernel's own arithmetic);
    Monte Carlo: 20000 draws of B = 8 without replacement, every coordinate within 4 s.e. of grad f
    (s.e. from the exact minibatch covariance c(n, B) Cov_i)."""
    f = nets[1]
    x = f.init(7)
    p = f.params()
    one = np.empty(f.d)
    acc = np.zeros(f.d)
    for i in range(f.n):
        f.sample_kernels.batch_grad(x, np.array([float(i)]), 1, p, one)
        acc += one
    np.testing.assert_allclose(acc / f.n, f.gradient(x), rtol=1e-12, atol=1e-14)
    nz = N.Minibatch(f, batch=8)
    P = 20_000
    S = nz.sample(x=x, size=P, rng=4)
    se = np.sqrt(np.diag(nz.covariance_at(x)) / P)
    assert_mc_close(S.mean(axis=0), f.gradient(x), se, what="MLP minibatch mean")


def test_both_engines_run_the_mlp(nets):
    """``sde.compare`` runs minibatch SGD and both SDE kinds on the MLP (all descend, none diverges); and
    one Euler step of the SDE (classic and corrected) over dt = lr from a fixed
    x, same seed): the classic mean is x - lr grad f within 4 s.e., and with the same normals the
    corrected kind differs from the classic one by exactly (lr^2 / 2) H grad f (the drift term over dt = lr, through
    the MLP's HVP; to rounding)."""
    f = nets[0]
    x0 = f.init()
    lr, P = 0.1, 4000
    nz = N.Minibatch(f, batch=8)
    opt = O.SGD(lr=lr)
    cmp = sde.compare(f, opt, nz, x0=x0, steps=100, paths=32, seed=0, kinds=("classic", "corrected"))
    for run in (cmp.discrete, cmp.sde["classic"], cmp.sde["corrected"]):
        assert run.diverged == 0 and run.mean()[-1] < 0.9 * run.mean()[0]
    ends = {}
    for kind in ("classic", "corrected"):
        m = sde.model(opt, f, nz, kind=kind)
        r = sde.integrate(m, x0=x0, t_end=lr, paths=P, seed=3, record_iterates=True, save_every=1)
        ends[kind] = r.iterates[-1]
    g = f.gradient(x0)
    se = np.sqrt(lr**2 * np.diag(nz.covariance_at(x0)) / P)
    assert_mc_close(ends["classic"].mean(axis=0), x0 - lr * g, se, what="one SDE step")
    shift = 0.5 * lr**2 * f.hvp(x0, g)
    np.testing.assert_allclose(ends["corrected"] - ends["classic"], np.broadcast_to(shift, (P, f.d)),
                               rtol=1e-6, atol=1e-9 * np.abs(shift).max())


def test_bad_arguments_name_the_argument(iris):
    X, y = iris.X, iris.y
    for hidden in [(), (0,), (3, -1), "a", (2.5,)]:
        with pytest.raises(ValueError, match="hidden"):
            L.MLP(X, y, hidden=hidden)
    with pytest.raises(ValueError, match="hidden"):
        L.MLP(X, y, hidden=(3000,))
    with pytest.raises(ValueError, match="activation"):
        L.MLP(X, y, activation="sigmoid")
    with pytest.raises(ValueError, match="reg"):
        L.MLP(X, y, reg=-1.0)
    with pytest.raises(ValueError, match="y"):
        L.MLP(X, y[:-1])
    with pytest.raises(ValueError, match="y"):
        L.MLP(X, np.zeros(len(y)))
    f = L.MLP(X, y, hidden=(5,))
    with pytest.raises(ValueError, match="x"):
        f.gradient(np.zeros(f.d + 1))
    with pytest.raises(ValueError, match="lr"):
        f.smoothness_estimate(lr=0.0)


def test_smoothness_is_an_estimate(nets):
    """Power iteration gives ||H||_2 (against the dense Hessian's spectral norm, 1e-5 relative); the
    estimated (L0, L1) puts every sampled point under L0 + L1 ||grad f|| (by construction: a sanity
    check, not evidence of a bound) and is labelled an estimate."""
    f = nets[0]
    x = f.init(1)
    assert f.hessian_norm(x) == pytest.approx(np.linalg.norm(f.hessian(x), 2), rel=1e-5)
    est = f.smoothness_estimate(steps=40, points=5)
    assert est["estimate"] and est["L1"] >= 0 and est["L0"] > 0
    assert np.all(est["hess_norm"] <= est["L0"] + est["L1"] * est["grad_norm"] + 1e-12)
    assert "stimate" in type(f).L0.__doc__ and "stimate" in type(f).L1.__doc__


def test_test_accuracy_on_digits_rises_above_chance():
    """Digits (10 classes, chance 0.1): 150 full-batch GD steps from the Glorot start reach held-out
    accuracy above 0.6 (the start is near chance)."""
    ds = F.load("digits")
    f = L.MLP.from_dataset(ds, hidden=(6,), reg=1e-4)
    x = f.init()
    acc0 = f.accuracy(x, ds.X_test, ds.y_test)
    x1 = x.copy()
    for _ in range(150):
        x1 -= 0.5 * f.gradient(x1)
    acc1 = f.accuracy(x1, ds.X_test, ds.y_test)
    assert acc0 < 0.3 and acc1 > 0.6
    assert f.f(x1) < 0.5 * f.f(x)
