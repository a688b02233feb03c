"""Federated methods (methods.federated): per-agent landscapes, LocalSGD with local steps, partial
participation; engine against a NumPy reference on the engine's own random stream, Optimizer.step,
thread counts, the exact fixed point on quadratics, and the refused parameters."""
import numpy as np
import pytest

from conftest import assert_mc_close
from methods import compressors as C
from methods import federated as F
from methods import landscapes as L
from methods import noise as N
from methods import optimizers as O
from methods import rng as R
from methods import schedules as S
from methods import simulate

LAM = np.array([[1.0, 3.0, 0.5], [2.0, 0.5, 1.0], [4.0, 1.0, 2.0], [0.5, 2.0, 3.0]])
CEN = np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 2.0], [0.5, 0.5, -1.0], [-0.5, -1.0, 1.0]])
SIG = np.array([0.3, 0.1, 0.2, 0.4])  # per agent


def _reference(lr, lr_s, tau, steps, x0, stream=None, sigma=None, mode=0, q=0.0):
    """LocalSGD in NumPy, operation by operation as documented (displacements x_i - x, participants
    drawn with methods.rng at each round's first step, agents' normals from the same stream)."""
    n, d = LAM.shape
    x = np.array(x0, float)
    dx = np.zeros((n, d))
    part = np.ones(n, bool)
    for k in range(steps):
        if mode and k % tau == 0:
            need, left = q, float(n)
            for a in range(n):
                u = R.uniform(stream)
                part[a] = (u * left < need) if mode == 1 else (u < q)
                need -= part[a] if mode == 1 else 0
                left -= 1.0
        for a in range(n):
            if not part[a]:
                continue
            v = x + dx[a]
            g = LAM[a] * (v - CEN[a])
            if sigma is not None:
                g = N.Gaussian(sigma[:, None]).sample(g, x=v, agent=a, agents=n, rng=stream)
            dx[a] = dx[a] - lr * g
        if k % tau == tau - 1:
            s, count = np.zeros(d), 0
            for a in range(n):
                if part[a]:
                    s = s + dx[a]
                    count += 1
            if count:
                x = x - lr_s * (-(s * (1.0 / count)))
            dx[:] = 0.0
    return x


@pytest.mark.parametrize("kw,mode,q", [({}, 0, 0.0), ({"clients_per_round": 2}, 1, 2.0),
                                       ({"participation": 0.6}, 2, 0.6)])
def test_engine_matches_numpy_reference_on_its_stream(kw, mode, q):
    f = L.PerAgent.quadratics(LAM, CEN)
    lr, lr_s, tau, steps, seed = 0.05, 0.7, 3, 40, 11
    opt = O.LocalSGD(lr=lr, lr_server=lr_s, local_steps=tau, agents=4, **kw)
    run = simulate(f, opt, N.Gaussian(SIG[:, None]), x0=0.5, steps=steps, paths=3, seed=seed, record_iterates=True,
                   save_at=np.array([steps]))
    ref = _reference(lr, lr_s, tau, steps, np.full(3, 0.5), R.states(seed, 1)[0], SIG, mode, q)
    np.testing.assert_array_equal(run.iterates[-1, 0], ref)
    assert abs(run.loss[-1, 0] - (f.f(ref) - f.f_star)) <= 1e-15 * max(1.0, f.f(ref))


def test_step_matches_engine_and_reference():
    f = L.PerAgent.quadratics(LAM, CEN)
    lr, tau, steps, seed = 0.05, 4, 24, 5
    opt = O.LocalSGD(lr=lr, local_steps=tau, agents=4, lr_server=1.5)
    # full participation, Gaussian noise: the agents' draws from the engine's stream, then step
    st = R.states(seed, 1)[0].copy()
    x, state = np.full(3, -1.0), None
    for k in range(steps):
        pts = opt.local_points(x, opt.init_state(3) if state is None else state)
        G = np.stack([N.Gaussian(SIG[:, None]).sample(f.agent_gradient(pts[a], a), x=pts[a], agent=a, agents=4, rng=st)
                      for a in range(4)])
        x, state = opt.step(x, G, state, k)
    run = simulate(f, opt, N.Gaussian(SIG[:, None]), x0=-1.0, steps=steps, paths=1, seed=seed, record_iterates=True,
                   save_at=np.array([steps]))
    np.testing.assert_array_equal(run.iterates[-1, 0], x)
    # partial participation, exact gradients: step draws each round's participants from rng
    opt = O.LocalSGD(lr=lr, local_steps=tau, agents=4, clients_per_round=3, lr_server=0.8)
    st = R.states(3, 1)[0].copy()
    x, state = np.full(3, -1.0), opt.init_state(3)
    for k in range(steps):
        pts = opt.local_points(x, state)
        x, state = opt.step(x, np.stack([f.agent_gradient(pts[a], a) for a in range(4)]), state, k, rng=st)
        assert opt.participants(state, 3).sum() == 3
    ref = _reference(lr, 0.8, tau, steps, np.full(3, -1.0), R.states(3, 1)[0].copy(), None, 1, 3.0)
    np.testing.assert_array_equal(x, ref)


def test_one_agent_one_local_step_is_sgd_bit_for_bit():
    f = L.DiagonalQuadratic([1.0, 2.0, 4.0])
    a = simulate(f, O.LocalSGD(lr=0.05), N.Gaussian(0.5), x0=1.0, steps=50, paths=100, seed=2, record_iterates=True)
    b = simulate(f, O.SGD(lr=0.05), N.Gaussian(0.5), x0=1.0, steps=50, paths=100, seed=2, record_iterates=True)
    np.testing.assert_array_equal(a.iterates, b.iterates)
    np.testing.assert_array_equal(a.loss, b.loss)
    np.testing.assert_array_equal(a.t, b.t)  # one iteration = one local step = lr of SDE time


def test_one_local_step_is_dsgd_on_per_agent_landscapes():
    f = L.PerAgent.quadratics(LAM, CEN)
    a = simulate(f, O.LocalSGD(lr=0.05, local_steps=1, agents=4), N.Gaussian(0.3), x0=1.0, steps=60, paths=64,
                 seed=4, record_iterates=True)
    b = simulate(f, O.DSGD(lr=0.05, agents=4), N.Gaussian(0.3), x0=1.0, steps=60, paths=64, seed=4,
                 record_iterates=True)
    np.testing.assert_allclose(a.iterates, b.iterates, rtol=0, atol=1e-12)


def test_dsgd_on_per_agent_landscapes_uses_each_agents_gradient():
    """DSGD without noise on heterogeneous quadratics converges to argmin of the mean objective."""
    f = L.PerAgent.quadratics(LAM, CEN)
    r = simulate(f, O.DSGD(lr=0.1, agents=4), None, x0=0.0, steps=600, paths=1, record_iterates=True)
    np.testing.assert_allclose(r.iterates[-1, 0], f.minimiser(), atol=1e-12)
    assert r.loss[-1, 0] < 1e-20 and f.f_star > 0


def test_threads_bit_identical():
    f = L.PerAgent.quadratics(LAM, CEN)
    opt = O.LocalSGD(lr=0.05, local_steps=4, agents=4, participation=0.5)
    runs = [simulate(f, opt, N.Gaussian(0.2), x0=1.0, steps=40, paths=200, seed=9, threads=t, record_iterates=True)
            for t in (1, 2)]
    np.testing.assert_array_equal(runs[0].iterates, runs[1].iterates)
    np.testing.assert_array_equal(runs[0].loss, runs[1].loss)


def test_noise_free_fixed_point_is_the_closed_form():
    """Per coordinate the round map is x -> x + lr_s (mean_i [c_i + a_i^tau (x - c_i)] - x), a_i = 1 - lr lambda_i:
    fixed point sum_i c_i (1 - a_i^tau) / sum_i (1 - a_i^tau), not argmin F when the curvatures differ."""
    f = L.PerAgent.quadratics(LAM, CEN)
    for tau in (1, 5):
        r = simulate(f, O.LocalSGD(lr=0.05, local_steps=tau, agents=4, lr_server=0.9), None, x0=0.0,
                     steps=4000 * tau, paths=1, record_iterates=True, save_at=np.array([4000 * tau]))
        w = 1 - (1 - 0.05 * LAM) ** tau
        np.testing.assert_allclose(r.iterates[-1, 0], (w * CEN).sum(0) / w.sum(0), rtol=0, atol=1e-12)
    assert np.linalg.norm(r.iterates[-1, 0] - f.minimiser()) > 1e-2  # client drift


def test_participation_draws_have_the_stated_law():
    n, m, rounds = 5, 2, 20_000
    st = R.states(1, 1)[0].copy()
    bs = 2
    server = np.zeros(n * bs)
    counts = np.zeros(n)
    for _ in range(rounds):
        F._draw_participants(st, server, n, bs, np.array([1.0, 1.0, 1.0, float(m)]))
        mask = server[bs - 1::bs]
        assert mask.sum() == m
        counts += mask
    p = m / n
    for c in counts:
        assert_mc_close(c / rounds, p, np.sqrt(p * (1 - p) / rounds), what="inclusion frequency")
    tot = 0
    for _ in range(rounds):
        F._draw_participants(st, server, n, bs, np.array([1.0, 1.0, 2.0, 0.3]))
        tot += server[bs - 1::bs].sum()
    assert_mc_close(tot / (rounds * n), 0.3, np.sqrt(0.3 * 0.7 / (rounds * n)), what="Bernoulli participation")


def test_per_agent_landscape_math():
    f = L.PerAgent.quadratics(LAM, CEN)
    x = np.array([0.3, -0.2, 0.7])
    fs = [L.DiagonalQuadratic(LAM[i], center=CEN[i]) for i in range(4)]
    assert abs(f.f(x) - np.mean([g.f(x) for g in fs])) < 1e-14
    np.testing.assert_allclose(f.gradient(x), np.mean([g.gradient(x) for g in fs], 0), atol=1e-14)
    np.testing.assert_allclose(f.hessian(x), np.mean([g.hessian(x) for g in fs], 0), atol=1e-14)
    for i in range(4):
        np.testing.assert_array_equal(f.agent_gradient(x, i), fs[i].gradient(x))
    np.testing.assert_allclose(f.gradient(f.minimiser()), 0.0, atol=1e-14)
    assert f.f_star == pytest.approx(f.f(f.minimiser()))
    assert f.L0 == pytest.approx(np.mean(LAM.max(1))) and f.L1 == 0.0
    q = L.PerAgent([L.Quartic(d=2), L.Quartic(d=2)])
    assert np.isnan(q.L0) and q.f_star == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("make,arg", [
    (lambda: O.LocalSGD(lr_server=0.0), "lr_server"),
    (lambda: O.LocalSGD(local_steps=0), "local_steps"),
    (lambda: O.LocalSGD(agents=3, clients_per_round=4), "clients_per_round"),
    (lambda: O.LocalSGD(agents=3, clients_per_round=0), "clients_per_round"),
    (lambda: O.LocalSGD(agents=3, participation=0.0), "participation"),
    (lambda: O.LocalSGD(agents=3, participation=1.5), "participation"),
    (lambda: O.LocalSGD(agents=3, participation=0.5, clients_per_round=1), "participation"),
    (lambda: O.LocalSGD(agents=2, compressor=C.TopK(1)), "compressor"),
    (lambda: O.LocalSGD(schedule=S.GradNormalized(c=0.1)), "schedule"),
    (lambda: O.LocalSGD(lr=-1.0), "lr"),
    (lambda: L.PerAgent([L.Quadratic(np.eye(2))]), "landscapes"),
    (lambda: L.PerAgent([L.Quartic(d=2), L.SumCosh(d=2)]), "landscapes"),
    (lambda: L.PerAgent([]), "landscapes"),
    (lambda: L.PerAgent.quadratics(np.ones(2), np.zeros((3, 3))), "lambdas"),
])
def test_bad_parameters_name_the_argument(make, arg):
    with pytest.raises(ValueError, match=arg):
        make()


def test_agents_mismatch_is_refused_before_compiling():
    f = L.PerAgent.quadratics(LAM, CEN)
    with pytest.raises(ValueError, match="agents"):
        simulate(f, O.LocalSGD(agents=3), None, x0=0.0, steps=4, paths=1)


def test_no_sde_model_for_local_steps_or_per_agent_landscapes():
    import sde

    with pytest.raises(ValueError, match="optimizer"):
        sde.model(O.LocalSGD(lr=0.01), L.DiagonalQuadratic([1.0]))
    with pytest.raises(ValueError, match="landscape"):
        sde.model(O.DSGD(lr=0.01, agents=4), L.PerAgent.quadratics(LAM, CEN))


def test_make_by_name_and_time_grid():
    opt = O.make("local_sgd", lr=0.02, local_steps=3, agents=2)
    assert isinstance(opt, O.LocalSGD) and opt.lr_client == 0.02
    r = simulate(L.DiagonalQuadratic([1.0]), opt, None, x0=1.0, steps=9, paths=1, save_every=3)
    np.testing.assert_allclose(r.t, 0.02 * r.step)


def test_per_agent_server_state_is_refused_without_local_steps():
    from dataclasses import dataclass
    from methods.component import State

    @dataclass(frozen=True, eq=False)
    class PerAgentRule(O.SGD):
        def state(self, shape):
            return State(shape.d, "agent")

    with pytest.raises(ValueError, match="optimizer"):
        simulate(L.DiagonalQuadratic([1.0]), PerAgentRule(agents=2), None, x0=0.0, steps=2, paths=1)
