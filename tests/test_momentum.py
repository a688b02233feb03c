"""SGDM and heavy ball: PyTorch's torch.optim.SGD to 1e-12, the engine, bad input; the SGDM SDE
against the exact Gaussian law of the discrete chain on quadratics."""
import math
import zlib

import numpy as np
import pytest

from methods import landscapes as L, noise as N, optimizers as O, simulate

try:  # the test extra installs torch's CPU build; without it only the torch cross-checks skip
    import torch
except ImportError:  # pragma: no cover
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed (pip install '.[test]')")

COMBOS = [
    dict(momentum=0.9),
    dict(momentum=0.5, dampening=0.3),
    dict(momentum=0.9, nesterov=True),
    dict(momentum=0.8, weight_decay=0.05),
    dict(momentum=0.7, dampening=0.1, weight_decay=0.2),
    dict(momentum=0.95, nesterov=True, weight_decay=0.01),
    dict(momentum=0.0),
]


def _rel(a, b):
    """Relative error in the max norm (a coordinate crossing zero makes an elementwise ratio meaningless)."""
    return np.max(np.abs(a - b)) / np.max(np.abs(b))


def _torch_stream(x0, grads, lr, kw):
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr, foreach=False, **kw)
    out = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        out.append(p.detach().numpy().copy())
    buf = opt.state[p].get("momentum_buffer")
    return np.array(out), (None if buf is None else buf.numpy().copy())


@needs_torch
@pytest.mark.parametrize("kw", COMBOS, ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_sgdm_step_matches_torch_on_random_gradient_streams(kw):
    rng = np.random.default_rng(zlib.crc32(repr(sorted(kw.items())).encode()))  # deterministic per combination
    x0 = rng.normal(size=7)
    grads = [rng.standard_t(3.0, size=7) * 2.0 for _ in range(200)]
    xs_t, buf_t = _torch_stream(x0, grads, 0.01, kw)
    opt = O.SGDM(lr=0.01, **kw)
    x, state = x0, None
    for k, g in enumerate(grads):
        x, state = opt.step(x, g, state, k)
        assert _rel(x, xs_t[k]) <= 1e-12, (k, _rel(x, xs_t[k]))
    if buf_t is not None:
        assert _rel(state[:7], buf_t) <= 1e-12
    assert state[7] == 1.0


def test_first_step_rule_follows_the_state_not_k():
    """torch copies the gradient into a fresh buffer whatever the step count: a run started at
    k = 5 from a fresh state does the same as one started at k = 0."""
    opt = O.SGDM(lr=0.1, momentum=0.9, dampening=0.5)
    x = np.array([1.0, -1.0])
    g = np.array([2.0, 3.0])
    a = opt.step(x, g, None, 0)
    b = opt.step(x, g, None, 5)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_allclose(a[0], x - 0.1 * g, rtol=1e-15)  # b_1 = g, no dampening on the copy


@needs_torch
@pytest.mark.parametrize("kw", [COMBOS[1], COMBOS[2], COMBOS[4]], ids=["damp", "nesterov", "damp_wd"])
def test_sgdm_in_simulate_matches_torch_on_a_quadratic(kw):
    """Exact gradients on f = 1/2 sum lambda_j (x_j - c_j)^2: the gradient stream is known, so
    torch's trajectory (gradients from its own iterate) can be replayed step by step."""
    lam = np.array([0.5, 1.0, 3.0])
    c = np.array([1.0, -2.0, 0.5])
    f = L.DiagonalQuadratic(lam, center=c)
    lr, steps = 0.05, 300
    run = simulate(f, O.SGDM(lr=lr, **kw), None, x0=[2.0, 1.0, -1.0], steps=steps, paths=3, seed=0,
                   save_every=1, record_iterates=True)
    p = torch.tensor([2.0, 1.0, -1.0], dtype=torch.float64, requires_grad=True)
    topt = torch.optim.SGD([p], lr=lr, foreach=False, **kw)
    ref = [p.detach().numpy().copy()]
    lt, ct = torch.tensor(lam, dtype=torch.float64), torch.tensor(c, dtype=torch.float64)
    for _ in range(steps):
        p.grad = lt * (p.detach() - ct)  # the engine's gradient, lambda_j (x_j - c_j)
        topt.step()
        ref.append(p.detach().numpy().copy())
    ref = np.array(ref)
    for i in range(3):
        assert _rel(run.iterates[:, i, :], ref) <= 1e-12


@needs_torch
def test_heavy_ball_is_torch_sgd_with_scaled_lr():
    """``HeavyBall(lr, beta)`` = ``torch.optim.SGD(lr (1 - beta), momentum=beta)`` (exact arithmetic;
    the roundings differ, so 1e-12 relative)."""
    rng = np.random.default_rng(5)
    x0 = rng.normal(size=5)
    grads = [rng.normal(size=5) for _ in range(300)]
    hb = O.HeavyBall.from_rho(lr=0.02, rho=5.0)
    assert hb.beta == pytest.approx(0.9) and hb.rho == pytest.approx(5.0)
    xs_t, buf_t = _torch_stream(x0, grads, 0.02 * (1 - hb.beta), dict(momentum=hb.beta))
    x, state = x0, None
    for k, g in enumerate(grads):
        x, state = hb.step(x, g, state, k)
        assert _rel(x, xs_t[k]) <= 1e-12
    np.testing.assert_allclose(state[:5], (1 - hb.beta) * buf_t, rtol=1e-12)


def test_server_momentum_with_agents():
    """agents > 1: one buffer at the server, fed the average of the agents' gradients."""
    rng = np.random.default_rng(2)
    G = [rng.normal(size=(4, 3)) for _ in range(20)]
    a, b = O.SGDM(lr=0.1, momentum=0.9, agents=4), O.SGDM(lr=0.1, momentum=0.9)
    xa = xb = np.zeros(3)
    sa = sb = None
    for k, g in enumerate(G):
        xa, sa = a.step(xa, g, sa, k)
        xb, sb = b.step(xb, g.mean(axis=0), sb, k)
    np.testing.assert_allclose(xa, xb, rtol=1e-14, atol=1e-16)
    assert sa.shape == (4,)


def test_bit_identical_for_any_thread_count():
    f = L.DiagonalQuadratic([1.0, 2.0, 4.0])
    runs = [simulate(f, O.SGDM(lr=0.01, momentum=0.9, nesterov=True), N.StudentT(3.0, 0.5), x0=1.0, steps=200,
                     paths=200, seed=4, threads=t) for t in (1, 2)]
    np.testing.assert_array_equal(runs[0].loss, runs[1].loss)


@pytest.mark.parametrize("kw,name", [
    (dict(momentum=1.0), "momentum"), (dict(momentum=-0.1), "momentum"), (dict(dampening=1.5), "dampening"),
    (dict(weight_decay=-1.0), "weight_decay"), (dict(nesterov=1), "nesterov"),
    (dict(nesterov=True, dampening=0.1), "nesterov"), (dict(nesterov=True, momentum=0.0), "nesterov"),
    (dict(lr=0.0), "lr"),
])
def test_sgdm_bad_parameters(kw, name):
    with pytest.raises(ValueError, match=name):
        O.SGDM(**{"lr": 0.1, **kw})


def test_heavy_ball_bad_parameters_and_names():
    with pytest.raises(ValueError, match="beta"):
        O.HeavyBall(lr=0.1, beta=1.0)
    with pytest.raises(ValueError, match="rho"):
        O.HeavyBall.from_rho(lr=0.1, rho=20.0)
    assert isinstance(O.make("sgdm", lr=0.1, momentum=0.5), O.SGDM)
    assert isinstance(O.make("heavy_ball", lr=0.1, beta=0.5), O.HeavyBall)
    assert O.SGDM(lr=0.1, momentum=0.75, dampening=0.5).effective_lr == pytest.approx(0.2)
    assert math.isclose(O.HeavyBall(lr=0.3).effective_lr, 0.3)


# ---------------------------------------------------------------------------- the SGDM SDE
import sde  # noqa: E402
from sde import momentum as SM  # noqa: E402

SDE_COMBOS = [O.SGDM(lr=0.004, momentum=0.9), O.SGDM(lr=0.002, momentum=0.8, dampening=0.5, weight_decay=0.3),
              O.HeavyBall.from_rho(lr=0.01, rho=5.0), O.SGDM(lr=0.003, momentum=0.9, nesterov=True)]


@pytest.mark.parametrize("opt", SDE_COMBOS, ids=["sgdm", "damp_wd", "heavy_ball", "nesterov"])
def test_closed_forms_of_the_stationary_laws(opt):
    """Sanity of the linear algebra (both sides are closed forms): the continuous Lyapunov solution
    is kappa1 lr sigma^2 / (2 L) for kappa0 = 0, and the discrete Lyapunov solution is the sympy-derived
    heavy-ball formula."""
    lam, var = 2.0, 0.7
    Ps = SM.stationary_covariance_sde(opt, lam, var)
    Pd = SM.stationary_covariance_discrete(opt, lam, var)
    rho, k1, k0 = SM.coefficients(opt)
    L = lam + opt.weight_decay
    if k0 == 0.0:
        assert Ps[0, 0] == pytest.approx(k1 * opt.lr * var / (2 * L), rel=1e-12)
        assert Ps[1, 1] == pytest.approx(rho * opt.lr * var / 2, rel=1e-12) and abs(Ps[0, 1]) < 1e-12 * Ps[0, 0]
        beta = opt.beta if isinstance(opt, O.HeavyBall) else opt.momentum
        assert Pd[0, 0] == pytest.approx(SM.heavy_ball_stationary_variance(opt.effective_lr, beta, L, var), rel=1e-12)


@pytest.mark.parametrize("opt", SDE_COMBOS, ids=["sgdm", "damp_wd", "heavy_ball", "nesterov"])
def test_sde_matches_the_exact_discrete_law_to_first_order(opt):
    """The model error of the stationary Var x is first order: at fixed momentum it halves when lr
    halves (ratio 2 +- 5%), and for the non-nesterov forms it is exactly e/(1 - e),
    e = L h (1 - beta) / (2 (1 + beta))."""
    lam, var = 3.0, 1.0
    def gap(o):
        return SM.stationary_covariance_discrete(o, lam, var)[0, 0] / SM.stationary_covariance_sde(o, lam, var)[0, 0] - 1
    g1 = gap(opt)
    if isinstance(opt, O.HeavyBall):  # fixed beta (not fixed rho) for the halving
        half = O.HeavyBall(lr=opt.lr / 2, beta=opt.beta)
    else:
        half = O.SGDM(lr=opt.lr / 2, momentum=opt.momentum, dampening=opt.dampening, nesterov=opt.nesterov,
                      weight_decay=opt.weight_decay)
    assert 1.9 <= g1 / gap(half) <= 2.1
    if SM.coefficients(opt)[2] == 0.0:
        beta = opt.beta if isinstance(opt, O.HeavyBall) else opt.momentum
        e = (lam + opt.weight_decay) * opt.effective_lr * (1 - beta) / (2 * (1 + beta))
        assert g1 == pytest.approx(e / (1 - e), rel=1e-9)


LAMS, SIGMAS = np.array([1.0, 4.0]), np.array([1.0, 0.5])


def _exact_time_average(run, after, A, B, s0, first=None):
    """Exact E[mean over the save points t >= after of x_k^2] for a linear chain."""
    steps = int(run.step[-1])
    mean, cov = SM.moments_discrete(A, B, s0, steps, first=first)
    ks = run.step[run.t >= after]
    return float(np.mean(cov[ks, 0, 0] + mean[ks, 0] ** 2)), mean, cov


@pytest.mark.parametrize("opt", [SDE_COMBOS[1], SDE_COMBOS[3]], ids=["damp_wd", "nesterov"])
def test_discrete_sgdm_matches_its_exact_gaussian_law(opt):
    """methods.simulate against the exact law of the AR(2) chain (torch's first step included),
    two-sided within 4 s.e.: the stationary time average of x_j^2 and the transient mean at k = 40."""
    f = L.DiagonalQuadratic(LAMS)
    steps = 3000
    run = simulate(f, opt, N.Gaussian(SIGMAS), x0=1.0, steps=steps, paths=2048, seed=11, save_every=20,
                   record_iterates=True)
    after = run.t[-1] / 2
    for j in range(2):
        A, B = SM.discrete_system(opt, LAMS[j], SIGMAS[j] ** 2)
        first = SM.discrete_system(opt, LAMS[j], SIGMAS[j] ** 2, first=True)
        want, mean, _ = _exact_time_average(run, after, A, B, [1.0, 0.0], first=first)
        got, se = run.time_average(f"x2_{j}", after=after)
        assert abs(got - want) <= 4 * se, (j, got, want, se)
        i40 = int(np.flatnonzero(run.step == 40)[0])
        m, s = run.mean(f"x_{j}")[i40], run.stderr(f"x_{j}")[i40]
        assert abs(m - mean[40, 0]) <= 4 * s, (j, m, mean[40, 0], s)


def test_sgdm_sde_simulation_against_its_scheme_and_closed_form():
    """sde.integrate (refine 4) against the exact law of its own scheme (two-sided, 4 s.e.), and
    against the SDE's continuous closed form within 4 s.e. plus the scheme's exact bias; the
    discrete chain's exact gap to the SDE is the model error e/(1 - e) (previous test)."""
    opt = SDE_COMBOS[1]
    f = L.DiagonalQuadratic(LAMS)
    m = sde.model(opt, f, N.Gaussian(SIGMAS))
    assert m.provenance == "derived" and sde.kinds(opt) == ["classic"]
    steps, refine = 3000, 4
    run = sde.integrate(m, x0=1.0, t_end=steps * opt.lr, paths=2048, seed=12, refine=refine, save_every=20,
                        record_iterates=True)
    after = run.t[-1] / 2
    for j in range(2):
        A, B = SM.scheme_system(opt, LAMS[j], SIGMAS[j] ** 2, refine)
        want, _, cov = _exact_time_average(run, after, A, B, [1.0, 0.0])
        got, se = run.time_average(f"x2_{j}", after=after)
        assert abs(got - want) <= 4 * se, (j, got, want, se)
        cont = SM.stationary_covariance_sde(opt, LAMS[j], SIGMAS[j] ** 2)[0, 0]
        bias = abs(want - cont)
        assert bias < 0.01 * cont  # the scheme's own error at dt = lr/4 (exact number, stated)
        assert abs(got - cont) <= 4 * se + bias


def test_sgdm_sde_bad_input():
    f = L.DiagonalQuadratic([1.0])
    with pytest.raises(ValueError, match="noise"):
        sde.model(O.SGDM(lr=0.01), f, N.StudentT(2.0))
    with pytest.raises(ValueError, match="kind"):
        sde.model(O.SGDM(lr=0.01), f, N.Gaussian(1.0), kind="corrected")
    with pytest.raises(ValueError, match="optimizer"):
        sde.model(O.SGDM(lr=0.01, compressor="sign"), f, N.Gaussian(1.0))
    with pytest.raises(ValueError, match="lam"):
        SM.stationary_covariance_sde(O.SGDM(lr=0.01), -1.0, 1.0)


def test_sgdm_sde_bit_identical_for_any_thread_count():
    m = sde.model(SDE_COMBOS[1], L.DiagonalQuadratic(LAMS), N.Gaussian(SIGMAS))
    a, b = (sde.integrate(m, x0=1.0, t_end=0.4, paths=200, seed=7, threads=t) for t in (1, 2))
    np.testing.assert_array_equal(a.loss, b.loss)


# ------------------------------------------------------------------ momentum at each agent
from methods import compressors as C  # noqa: E402


@needs_torch
@pytest.mark.parametrize("kw", [dict(momentum=0.9), dict(momentum=0.5, dampening=0.3),
                                dict(momentum=0.9, nesterov=True)],
                         ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()))
def test_agent_momentum_is_torch_sgd_momentum_at_every_agent(kw):
    """Each agent's buffer follows torch.optim.SGD on its own gradient stream: with the identity
    compressor and one torch optimizer per agent (lr = 1 on a scratch parameter, so its step is the
    agent's direction d_i), the server direction is the mean of the torch directions to 1e-12."""
    agents, d = 3, 5
    rng = np.random.default_rng(11)
    grads = rng.standard_t(3.0, size=(100, agents, d))
    opt = O.DCSGD(lr=0.01, agents=agents, compressor=C.AgentMomentum(C.Identity(), **kw))
    x, state = np.zeros(d), None
    ps = [torch.zeros(d, dtype=torch.float64, requires_grad=True) for _ in range(agents)]
    tos = [torch.optim.SGD([p], lr=1.0, foreach=False, **kw) for p in ps]
    for k in range(grads.shape[0]):
        x_new, state = opt.step(x, grads[k], state, k)
        dirs = []
        for p, to, g in zip(ps, tos, grads[k]):
            before = p.detach().numpy().copy()
            p.grad = torch.tensor(g, dtype=torch.float64)
            to.step()
            dirs.append(before - p.detach().numpy())
        ref = x - 0.01 * np.mean(dirs, axis=0)
        assert _rel(x_new, ref) <= 1e-12, k
        x = x_new


def test_agent_momentum_one_agent_is_sgdm_bit_for_bit_and_many_agents_agree_with_server_momentum():
    f = L.DiagonalQuadratic([1.0, 2.0, 4.0])
    nz = N.Gaussian(0.5)
    kw = dict(x0=1.0, steps=300, paths=64, seed=3, record_iterates=True, save_every=50)
    for mkw in (dict(momentum=0.9), dict(momentum=0.9, nesterov=True), dict(momentum=0.6, dampening=0.2)):
        a = simulate(f, O.SGDM(lr=0.01, **mkw), nz, **kw)
        b = simulate(f, O.SGD(lr=0.01, compressor=C.AgentMomentum(C.Identity(), **mkw)), nz, **kw)
        assert np.array_equal(a.iterates, b.iterates), mkw
    # 4 agents, no compression: the agents' buffers average to the server's (linear), up to rounding
    a = simulate(f, O.SGDM(lr=0.01, momentum=0.9, agents=4), nz, **kw)
    b = simulate(f, O.DCSGD(lr=0.01, agents=4, compressor=C.AgentMomentum(C.Identity(), momentum=0.9)), nz, **kw)
    assert np.max(np.abs(a.iterates - b.iterates)) <= 1e-12 * np.max(np.abs(a.iterates))
    # with rand-k the two placements differ (each agent compresses its own momentum), and the
    # per-agent buffers stay separate: thread count does not change the bits
    opt = O.DCSGD(lr=0.01, agents=4, compressor=C.AgentMomentum(C.RandK(1), momentum=0.9))
    c1 = simulate(f, opt, nz, threads=1, **kw)
    c2 = simulate(f, opt, nz, threads=2, **kw)
    assert np.array_equal(c1.iterates, c2.iterates)
    server = simulate(f, O.SGDM(lr=0.01, momentum=0.9, agents=4, compressor=C.RandK(1)), nz, **kw)
    assert not np.allclose(server.iterates, c1.iterates)
    assert np.all(np.isfinite(c1.loss))


def test_agent_momentum_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="momentum"):
        C.AgentMomentum(C.Identity(), momentum=1.0)
    with pytest.raises(ValueError, match="dampening"):
        C.AgentMomentum(C.Identity(), dampening=1.5)
    with pytest.raises(ValueError, match="nesterov"):
        C.AgentMomentum(C.Identity(), momentum=0.9, dampening=0.1, nesterov=True)
    with pytest.raises(ValueError, match="inner"):
        C.AgentMomentum(C.EF21(C.TopK(1)))
