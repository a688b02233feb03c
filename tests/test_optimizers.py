"""Single steps of every optimizer against closed forms and against PyTorch's definitions."""
import math

import numpy as np
import pytest


from methods import compressors as C, optimizers as O, schedules as S


# ---- reference implementations written from the PyTorch documentation (float64)
def torch_adam_ref(x, grads, lr, betas, eps, wd, decoupled):
    b1, b2 = betas
    m = np.zeros_like(x)
    v = np.zeros_like(x)
    x = x.copy()
    for step, g in enumerate(grads, start=1):
        g = g.copy()
        if wd:
            if decoupled:
                x = x * (1 - lr * wd)
            else:
                g = g + wd * x
        m = m + (1 - b1) * (g - m)  # lerp
        v = v * b2 + (1 - b2) * g * g
        bc1 = 1 - b1**step
        bc2 = 1 - b2**step
        denom = np.sqrt(v) / math.sqrt(bc2) + eps
        x = x + (-(lr / bc1)) * (m / denom)
    return x, m, v


def torch_rmsprop_ref(x, grads, lr, alpha, eps, wd):
    v = np.zeros_like(x)
    x = x.copy()
    for g in grads:
        if wd:
            g = g + wd * x
        v = v * alpha + (1 - alpha) * g * g
        x = x + (-lr) * (g / (np.sqrt(v) + eps))
    return x, v


def run_steps(opt, x, grads, **kw):
    state = None
    for k, g in enumerate(grads):
        x, state = opt.step(x, g, state, k, **kw)
    return x, state


@pytest.fixture
def traj():
    rng = np.random.default_rng(0)
    return rng.normal(size=5), [rng.normal(size=5) * 3 for _ in range(40)]


@pytest.mark.parametrize("cls,wd,decoupled", [(O.Adam, 0.0, False), (O.Adam, 0.1, False), (O.AdamW, 0.1, True)])
def test_adam_matches_pytorch_definition(traj, cls, wd, decoupled):
    x0, grads = traj
    opt = cls(lr=0.01, betas=(0.9, 0.99), eps=1e-8, weight_decay=wd)
    x, state = run_steps(opt, x0, grads)
    xr, m, v = torch_adam_ref(x0, grads, 0.01, (0.9, 0.99), 1e-8, wd, decoupled)
    np.testing.assert_allclose(x, xr, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(state, np.concatenate([m, v]), rtol=1e-14)


@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_rmsprop_matches_pytorch_definition(traj, wd):
    x0, grads = traj
    x, state = run_steps(O.RMSprop(lr=0.01, alpha=0.9, eps=1e-8, weight_decay=wd), x0, grads)
    xr, v = torch_rmsprop_ref(x0, grads, 0.01, 0.9, 1e-8, wd)
    np.testing.assert_allclose(x, xr, rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(state, v, rtol=1e-14)


def test_rmspropw_is_decoupled(traj):
    x0, grads = traj
    lr, wd = 0.01, 0.5
    x, v = x0.copy(), np.zeros(5)
    for g in grads:
        v = 0.9 * v + 0.1 * g * g
        x = x - lr * g / (np.sqrt(v) + 1e-8) - lr * wd * x
    xw, _ = run_steps(O.RMSpropW(lr=lr, alpha=0.9, weight_decay=wd), x0, grads)
    np.testing.assert_allclose(xw, x, rtol=1e-13)


def test_against_pytorch_itself(traj):
    torch = pytest.importorskip("torch")
    x0, grads = traj
    for cls, tcls, kw in [(O.Adam, torch.optim.Adam, dict(betas=(0.9, 0.99), weight_decay=0.1)),
                          (O.AdamW, torch.optim.AdamW, dict(betas=(0.9, 0.99), weight_decay=0.1)),
                          (O.RMSprop, torch.optim.RMSprop, dict(alpha=0.9, weight_decay=0.1))]:
        p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
        topt = tcls([p], lr=0.01, eps=1e-8, foreach=False, **kw)
        for g in grads:
            p.grad = torch.tensor(g, dtype=torch.float64)
            topt.step()
        x, _ = run_steps(cls(lr=0.01, eps=1e-8, **kw), x0, grads)
        np.testing.assert_allclose(x, p.detach().numpy(), rtol=1e-13, atol=1e-15, err_msg=cls.__name__)


def test_adam_bias_corrected_mean_under_constant_gradient():
    """E m_k = (1 - beta1^k) g0 and E v_k = (1 - beta2^k)(g0^2 + sigma^2) (spec adaptive 7.9):
    coordinates are independent replicates of one scalar Adam."""
    n, g0, sigma, b1, b2 = 100_000, 0.7, 2.0, 0.9, 0.99
    rng = np.random.default_rng(1)
    opt = O.Adam(lr=1e-3, betas=(b1, b2))
    x, state = np.zeros(n), None
    for k in range(30):
        x, state = opt.step(x, g0 + sigma * rng.standard_normal(n), state, k)
        m, v = state[:n], state[n:]
        K = k + 1
        m_hat = m / (1 - b1**K)
        assert abs(m_hat.mean() - g0) <= 4 * m_hat.std() / math.sqrt(n)
        ev = (1 - b2**K) * (g0**2 + sigma**2)
        assert abs(v.mean() - ev) <= 4 * v.std() / math.sqrt(n)


def test_paper_parametrisation():
    a = O.Adam.from_rho(lr=0.01, rho1=10.0, rho2=1.0)
    assert a.betas == pytest.approx((0.9, 0.99)) and a.rho == pytest.approx((10.0, 1.0))
    assert O.RMSprop.from_rho(lr=0.01, rho=1.0).alpha == pytest.approx(0.99)
    with pytest.raises(ValueError, match="rho1"):
        O.Adam.from_rho(lr=0.1, rho1=20.0, rho2=1.0)


def test_sgd_family_steps():
    x = np.array([1.0, -2.0])
    g = np.array([3.0, 4.0])
    np.testing.assert_allclose(O.SGD(lr=0.1).step(x, g)[0], x - 0.1 * g)
    np.testing.assert_allclose(O.SignSGD(lr=0.1).step(x, g)[0], x - 0.1 * np.sign(g))
    np.testing.assert_allclose(O.NormalizedSGD(lr=0.1).step(x, g)[0], x - 0.1 * g / 5)
    np.testing.assert_allclose(O.ClippedSGD(lr=0.1, clip=1.0).step(x, g)[0], x - 0.1 * g / 5)
    np.testing.assert_allclose(O.ClippedSGD(lr=0.1, clip=10.0).step(x, g)[0], x - 0.1 * g)


def test_distributed_server_averages():
    x = np.zeros(3)
    G = np.array([[1.0, -2.0, 0.5], [3.0, 1.0, -0.5]])
    np.testing.assert_allclose(O.DSGD(lr=0.1, agents=2).step(x, G)[0], -0.1 * G.mean(0))
    np.testing.assert_allclose(O.DSignSGD(lr=0.1, agents=2).step(x, G)[0], -0.1 * np.sign(G).mean(0))
    # DCSGD with rand-1 compression: each agent keeps one coordinate, scaled by d
    xs = O.DCSGD(lr=1.0, agents=2, compressor=C.RandK(1)).step(x, G, rng=3)[0]
    assert np.count_nonzero(xs) <= 2 and np.all(np.isin(np.round(-xs * 2 / 3, 12), np.round(np.concatenate([G[0], G[1], [0]]), 12)))
    with pytest.raises(ValueError, match="g must have shape"):
        O.DSGD(lr=0.1, agents=3).step(x, G)


def test_schedules():
    assert S.Constant()(7) == 1.0
    assert S.InvSqrt()(3) == pytest.approx(0.5)
    assert S.Inverse()(4) == pytest.approx(0.2)
    assert S.Cosine(total=10)(5) == pytest.approx(0.5) and S.Cosine(total=10)(20) == pytest.approx(0.0)
    assert S.Step(every=10, gamma=0.5)(25) == pytest.approx(0.25)
    gn = S.GradNormalized(c=2.0, a=1.0, b=0.5)
    assert gn(0, direction=np.array([3.0, 4.0])) == pytest.approx(2.0 / (1 + 2.5))
    assert S.GradNormalized(c=1, a=1, b=1, base=S.InvSqrt())(3, direction=np.zeros(2)) == pytest.approx(0.5)
    t = S.GradNormalized.theorem_4_2(L0=3.0, L1=3.0, d=2, agents=4, omega=1.0, sigma0=0.5, sigma1=0.2)
    A = 1.0 + 2 * (0.04 * 1.0 + 0.04)
    B = 0.25 + 0.25
    assert t.a == pytest.approx(3 * (1 + A / 4) + 3 * 2 * B / 4) and t.b == pytest.approx(3 * (1 + A / 4))
    with pytest.raises(ValueError, match="schedule"):
        S.resolve("linear_warmup")


@pytest.mark.parametrize("bad,match", [
    (lambda: O.SGD(lr=0.0), "lr"),
    (lambda: O.SGD(lr=-0.1), "lr"),
    (lambda: O.SGD(lr=float("nan")), "lr"),
    (lambda: O.SGD(agents=0), "agents"),
    (lambda: O.Adam(betas=(1.0, 0.9)), r"betas\[0\]"),
    (lambda: O.Adam(betas=(0.9,)), "betas"),
    (lambda: O.RMSprop(alpha=1.2), "alpha"),
    (lambda: O.ClippedSGD(clip=0.0), "clip"),
    (lambda: O.make("lion"), "name"),
])
def test_bad_parameters_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()
