"""The component protocol is open: user components from @njit functions, per-agent state,
keys from compiled functions (never class names), float parameters, one time grid."""
from dataclasses import dataclass

import numpy as np
import pytest
from numba import njit

from conftest import assert_mc_close
from methods import compressors as C
from methods import engine
from methods import landscapes as L
from methods import noise as N
from methods import optimizers as O
from methods import rng as R
from methods import schedules as S
from methods import simulate
from methods.component import Shape, State
from methods.timegrid import TimeGrid


# ------------------------------------------------------------------ noise that sees x
@njit
def _multiplicative(rng, x, grad, lp, p, agent, state, out):
    for j in range(grad.shape[0]):
        out[j] = grad[j] + p[0] * x[j] * R.normal(rng)


def test_custom_noise_depends_on_x_exact_second_moment():
    """g = lambda x + s x Z on f = lambda x^2 / 2: x_{k+1} = x_k (1 - lr lambda - lr s Z), so
    E x_k^2 = x0^2 ((1 - lr lambda)^2 + lr^2 s^2)^k exactly."""
    lam, s, lr, x0, steps, paths = 1.0, 2.0, 0.1, 1.0, 40, 20_000
    nz = N.Custom(_multiplicative, params=(s,))
    draws = nz.sample(np.zeros(1), x=np.array([0.5]), rng=3, size=40_000)[:, 0]
    assert_mc_close(draws.var(), (s * 0.5) ** 2, (s * 0.5) ** 2 * np.sqrt(2 / draws.size), what="Var Z at x = 0.5")
    run = simulate(L.DiagonalQuadratic([lam]), O.SGD(lr=lr), nz, x0=x0, steps=steps, paths=paths, seed=1,
                   save_at=np.array([steps]))
    r = (1 - lr * lam) ** 2 + lr**2 * s**2
    expected = 0.5 * lam * x0**2 * r**steps
    assert_mc_close(run.mean()[-1], expected, run.stderr()[-1], what="E f(x_k) under noise proportional to x")


# ------------------------------------------------------------- per-agent compressor state
def _ef_reference(x0, lam, lr, ks, steps):
    """Error feedback with top-k (k per agent), exact gradients, in plain numpy."""
    x = np.array(x0, float)
    e = np.zeros((len(ks), x.size))
    for _ in range(steps):
        g = lam * x
        v = np.zeros_like(x)
        for a, k in enumerate(ks):
            w = e[a] + g
            t = np.zeros_like(w)
            idx = np.argsort(-np.abs(w), kind="stable")[:k]
            t[idx] = w[idx]
            e[a] = w - t
            v += t
        x = x - lr * v / len(ks)
    return x, e


def test_error_feedback_state_per_agent_engine_and_step():
    lam = np.array([1.0, 2.0, 3.0, 0.5])
    x0 = np.array([1.0, -2.0, 0.5, 3.0])
    lr, steps, ks = 0.1, 25, (1, 2)
    opt = O.DCSGD(lr=lr, agents=2, compressor=C.ErrorFeedback(C.TopK(k=ks)))
    (so, s), (co, c), total = opt.layout(4)
    assert c == State(8, "agent", opt.compressor.kernels.init) and total == 2 * 8
    ref_x, ref_e = _ef_reference(x0, lam, lr, ks, steps)
    # through Optimizer.step, carrying the flat state (each agent's memory in its own block)
    x, state = x0.copy(), None
    f = L.DiagonalQuadratic(lam)
    for k in range(steps):
        x, state = opt.step(x, np.stack([f.gradient(x)] * 2), state, k)
    np.testing.assert_allclose(x, ref_x, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(state[co:co + 4], ref_e[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(state[co + 8:co + 12], ref_e[1], rtol=1e-12, atol=1e-14)
    # in the engine: the same iterate, bit for bit (two agents: v * 1/2 is exact)
    run = simulate(f, opt, None, x0=x0, steps=steps, paths=3, seed=0, record_iterates=True, save_at=np.array([steps]))
    np.testing.assert_array_equal(run.iterates[-1], np.broadcast_to(x, (3, 4)))
    # the memory matters: plain top-k goes elsewhere
    plain = simulate(f, O.DCSGD(lr=lr, agents=2, compressor=C.TopK(k=ks)), None, x0=x0, steps=steps, paths=1,
                     record_iterates=True, save_at=np.array([steps]))
    assert np.max(np.abs(plain.iterates[-1, 0] - x)) > 1e-3


def test_error_feedback_is_refused_around_state_and_names_argument():
    with pytest.raises(ValueError, match="inner"):
        C.ErrorFeedback(C.ErrorFeedback(C.TopK(1)))


# ---------------------------------------------------- same-named components never collide
def _drift_noise(c):
    @njit
    def sample(rng, x, g, gn2, lp, p, agent, state, out):
        for j in range(g.shape[0]):
            out[j] = g[j] + c

    @dataclass(frozen=True, eq=False)
    class Drift(N.Noise):
        _sample = staticmethod(sample)

        def _pack(self, d, agents):
            return np.zeros(0)

    return Drift()


def _scaling_compressor(c):
    @njit
    def compress(rng, v, p, agent, state, iwork, out):
        for j in range(v.shape[0]):
            out[j] = c * v[j]

    @dataclass(frozen=True)
    class Scale(C.Compressor):
        _compress = staticmethod(compress)

    return Scale()


def _final_x(f, opt, noise=None, steps=200):
    run = simulate(f, opt, noise, x0=0.5, steps=steps, paths=1, record_iterates=True, save_at=np.array([steps]))
    return float(run.iterates[-1, 0, 0])


def test_same_named_components_give_their_own_results():
    """Noise and landscapes: two components whose compiled functions share a name (a notebook cell
    redefined) compile to their own kernels. The other kinds are the slow test below: the mechanism
    (keys from the kernels) is the same, and each case costs two engine compilations."""
    f = L.DiagonalQuadratic([1.0])
    # noise: GD with a constant bias c converges to -c
    a, b = _final_x(f, O.SGD(lr=0.1), _drift_noise(1.0)), _final_x(f, O.SGD(lr=0.1), _drift_noise(-1.0))
    assert a == pytest.approx(-1.0, abs=1e-6) and b == pytest.approx(1.0, abs=1e-6)

    # landscape: two Custom landscapes whose functions share a name
    def quad(c):
        @njit
        def value(x):
            return 0.5 * (x[0] - c) ** 2

        @njit
        def grad(x, out):
            out[0] = x[0] - c
        return L.Custom(value, grad, d=1)

    assert _final_x(quad(2.0), O.SGD(lr=0.5), steps=60) == pytest.approx(2.0, abs=1e-12)
    assert _final_x(quad(-3.0), O.SGD(lr=0.5), steps=60) == pytest.approx(-3.0, abs=1e-12)


@pytest.mark.slow
def test_same_named_compressors_schedules_and_rules_give_their_own_results():
    f = L.DiagonalQuadratic([1.0])
    # compressor: a scaled step (c = 0 never moves)
    assert _final_x(f, O.DCSGD(lr=0.1, agents=1, compressor=_scaling_compressor(0.0)), steps=5) == 0.5
    assert _final_x(f, O.DCSGD(lr=0.1, agents=1, compressor=_scaling_compressor(1.0)), steps=5) == \
        pytest.approx(0.5 * 0.9**5, rel=1e-14)

    # schedule and server rule: a notebook cell redefined (same function name, new body)
    def schedule(c):
        @njit
        def factor(k, g, v, p):
            return c
        return S.Custom(factor)

    def rule(c):
        @njit
        def update(x, v, state, k, lr, p):
            for j in range(x.shape[0]):
                x[j] -= c * lr * v[j]
        return update

    assert _final_x(f, O.SGD(lr=0.1, schedule=schedule(0.0)), steps=5) == 0.5
    assert _final_x(f, O.SGD(lr=0.1, schedule=schedule(1.0)), steps=5) == pytest.approx(0.5 * 0.9**5, rel=1e-14)
    assert _final_x(f, O.Custom(rule(0.0), lr=0.1), steps=5) == 0.5
    assert _final_x(f, O.Custom(rule(2.0), lr=0.1), steps=5) == pytest.approx(0.5 * 0.8**5, rel=1e-14)


def test_component_keys_come_from_kernels_and_compose():
    ef1, ef2 = C.ErrorFeedback(C.TopK(1)), C.ErrorFeedback(C.RandK(1))
    assert ef1.key() != ef2.key() and ef1.key() == C.ErrorFeedback(C.TopK(2)).key()
    assert C.TopK(1).key() in [ch for ch in ef1.key()[2]]
    g1, g2 = S.GradNormalized(), S.GradNormalized(base=S.InvSqrt())
    assert g1.key() != g2.key()
    assert N.Gaussian(1.0).key() == N.Gaussian(2.0).key()  # parameters never recompile


def test_sgd_int_and_float_lr_share_one_kernel():
    f = L.DiagonalQuadratic([1.0, 2.0])
    o1, o2 = O.SGD(lr=1), O.SGD(lr=1.0)
    assert type(o1.lr) is float and o1.lr == 1.0
    assert type(O.Adam(lr=1, eps=0).eps) is float and type(O.ClippedSGD(clip=1).clip) is float
    k1 = engine.get_kernel(f, o1, N.Gaussian(0.1))
    r1 = simulate(f, o1, N.Gaussian(0.1), x0=0.1, steps=3, paths=2)
    r2 = simulate(f, o2, N.Gaussian(0.1), x0=0.1, steps=3, paths=2)
    assert engine.get_kernel(f, o2, N.Gaussian(0.1)) is k1
    assert len(k1._active.signatures) == 1
    np.testing.assert_array_equal(r1.loss, r2.loss)


def test_shapes_and_state_validation():
    assert N.Gaussian([1.0, 2.0]).pack(Shape(2, 3)).shape == (6,)
    assert C.RandK(2).pack(Shape(4, 2)).tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="state_size"):
        N.Custom(_multiplicative, state_size=-1)
    with pytest.raises(ValueError, match="sample_fn"):
        N.Custom(lambda: None)
    with pytest.raises(ValueError, match="update"):
        O.Custom(update=None)
    with pytest.raises(ValueError, match="state"):
        O.SGD().step(np.zeros(2), np.zeros(2), state=np.zeros(3))


# ------------------------------------------------------------------------ one time grid
def test_time_grid_converts_exactly_and_refuses_fractions():
    g = TimeGrid(0.1)
    assert g.steps(0.7) == 7  # int(0.7 / 0.1) would give 6
    assert g.steps(5.0) == 50 and g.horizon(50) == pytest.approx(5.0)
    with pytest.raises(ValueError, match="t_end"):
        g.steps(0.75)
    with pytest.raises(ValueError, match="T"):
        g.steps(0.05, name="T")


def test_malladi_weak_error_study_runs_the_right_number_of_iterations(monkeypatch):
    """For Malladi's models one iteration is eta^2 of SDE time: over T the discrete method runs
    T / eta^2 iterations and the SDE integrates to T."""
    import methods
    from sde import convergence

    seen = []
    real = methods.simulate

    def recording(*a, **kw):
        seen.append(kw["steps"])
        return real(*a, **kw)

    monkeypatch.setattr(methods, "simulate", recording)
    horizons = []

    def sde_exact(eta, T):
        horizons.append(T)
        return 0.0

    etas, T = [0.2, 0.1, 0.05], 0.04
    convergence.weak_error_vs_eta(lambda e: O.Adam(lr=e), L.DiagonalQuadratic([1.0]), N.Gaussian(0.1), x0=1.0, T=T,
                                  etas=etas, kind="malladi", paths=128, sde_exact=sde_exact)
    assert seen == [round(T / e**2) for e in sorted(etas, reverse=True)] == [1, 4, 16]
    assert horizons == [T] * 3
