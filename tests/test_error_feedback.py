"""EF21, Clip, Clip21, normalized EF21 and Clip21-SGD2M against plain-numpy references (through
``Optimizer.step`` to 1e-12, the engine bit for bit against ``Optimizer.step``), per-agent state with
several agents, the heterogeneous-agents oracle ``noise.Shift``, bad parameters named before anything
is compiled, and bit-identical results for any thread count."""
import numpy as np
import pytest

from conftest import assert_mc_close
from methods import compressors as C
from methods import engine
from methods import landscapes as L
from methods import noise as N
from methods import optimizers as O
from methods import simulate
from methods.component import Shape

LAM = np.array([1.0, 2.0, 3.0, 0.5, 1.5])
X0 = np.array([1.0, -2.0, 0.5, 3.0, -1.0])
AGENTS = 4  # a power of two: the engine's sum * (1/N) and step's sum / N round alike
SHIFT = np.array([[1.0, -2.0, 0.5, 0.3, 0.0], [-1.5, 1.0, 0.25, -0.2, 0.7],
                  [0.5, 0.5, -1.0, 0.4, -0.3], [0.0, 0.5, 0.25, -0.5, -0.4]])


# ------------------------------------------------------------------ numpy references
def topk_ref(w, k):
    t = np.zeros_like(w)
    idx = np.argsort(-np.abs(w), kind="stable")[:k]
    t[idx] = w[idx]
    return t


def clip_ref(w, c):
    n = np.sqrt(np.sum(w * w))
    return (c / n if n > c else 1.0) * w


def sign_ref(w, _):
    return np.sign(w)


def ef21_reference(inner, params, x0, lr, steps, *, beta=1.0, server="sgd", server_beta=1.0):
    """EF21 per agent around ``inner(w, param_a)`` on f = 1/2 sum lam x^2 with agent a's oracle
    grad f(x) + SHIFT[a], in plain numpy: returns the iterates and the final per-agent (g, m) and the
    server momentum."""
    x = np.array(x0, float)
    g = np.zeros((AGENTS, x.size))
    m = np.zeros((AGENTS, x.size))
    M = np.zeros(x.size)
    xs = [x.copy()]
    for _ in range(steps):
        v = np.zeros_like(x)
        for a in range(AGENTS):
            o = LAM * x + SHIFT[a]
            if beta != 1.0:
                m[a] = (1.0 - beta) * m[a] + beta * o
                o = m[a]
            g[a] = g[a] + inner(o - g[a], params[a])
            v += g[a]
        v /= AGENTS
        if server == "sgd":
            x = x - lr * v
        elif server == "normalized":
            x = x - lr * v / np.sqrt(np.sum(v * v))
        else:  # heavy ball, torch's SGD kernel with mu = 1 - server_beta, dampening mu
            mu = 1.0 - server_beta
            M = M * mu + (1.0 - mu) * v
            x = x + (-lr) * M
        xs.append(x.copy())
    return np.array(xs), g, m, M


def _step_run(opt, steps):
    """The same run through ``Optimizer.step`` (exact gradients plus the agents' shifts)."""
    f = L.DiagonalQuadratic(LAM)
    x, state, xs = X0.copy(), None, [X0.copy()]
    for k in range(steps):
        x, state = opt.step(x, f.gradient(x)[None, :] + SHIFT, state, k)
        xs.append(x)
    return np.array(xs), state


def _engine_run(opt, steps, noise=None, paths=3, **kw):
    f = L.DiagonalQuadratic(LAM)
    return simulate(f, opt, N.Shift(SHIFT) if noise is None else noise, x0=X0, steps=steps, paths=paths, seed=0,
                    record_iterates=True, save_every=1, **kw)


def _rel(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300)


CASES = [  # (optimizer, numpy inner, per-agent params, reference options)
    ("ef21-topk", O.EF21SGD(lr=0.1, agents=AGENTS, compressor=C.TopK(k=(1, 2, 1, 3))), topk_ref, (1, 2, 1, 3), {}),
    ("ef21-sign", O.EF21SGD(lr=0.02, agents=AGENTS, compressor=C.Sign()), sign_ref, (0,) * 4, {}),
    ("clip21", O.Clip21SGD(lr=0.1, clip=(0.5, 1.0, 0.25, 2.0), agents=AGENTS), clip_ref, (0.5, 1.0, 0.25, 2.0), {}),
    ("normalized-ef21", O.NormalizedEF21(lr=0.01, agents=AGENTS, compressor=C.TopK(2)), topk_ref, (2,) * 4,
     {"server": "normalized"}),
    ("clip21-sgd2m", O.Clip21SGD2M(lr=0.05, clip=0.5, beta=0.3, server_beta=0.6, agents=AGENTS), clip_ref,
     (0.5,) * 4, {"beta": 0.3, "server": "heavy_ball", "server_beta": 0.6}),
]


@pytest.mark.parametrize("name,opt,inner,params,ref_kw", CASES, ids=[c[0] for c in CASES])
def test_step_matches_numpy_and_engine_matches_step(name, opt, inner, params, ref_kw):
    steps = 60
    lr = opt.lr
    ref_x, ref_g, ref_m, ref_M = ef21_reference(inner, params, X0, lr, steps, **ref_kw)
    xs, state = _step_run(opt, steps)
    assert _rel(xs, ref_x) <= 1e-12, _rel(xs, ref_x)
    # per-agent state: each agent's memory g_i (and client momentum m_i) in its own block
    (so, s), (co, c), total = opt.layout(LAM.size)
    d = LAM.size
    assert c.per == "agent" and c.size == (3 if ref_kw.get("beta", 1.0) != 1.0 else 2) * d
    assert total == s.size + AGENTS * c.size
    for a in range(AGENTS):
        blk = state[co + a * c.size: co + (a + 1) * c.size]
        np.testing.assert_allclose(blk[:d], ref_g[a], rtol=1e-12, atol=1e-13)
        if c.size == 3 * d:
            np.testing.assert_allclose(blk[2 * d:], ref_m[a], rtol=1e-12, atol=1e-13)
    assert len({tuple(state[co + a * c.size: co + a * c.size + d]) for a in range(AGENTS)}) == AGENTS
    if ref_kw.get("server") == "heavy_ball":
        np.testing.assert_allclose(state[so:so + d], ref_M, rtol=1e-12, atol=1e-13)
    # the engine runs the same compiled kernels: bit for bit, every path
    run = _engine_run(opt, steps)
    for p in range(3):
        np.testing.assert_array_equal(run.iterates[:, p, :], xs)


def test_ef21_converges_where_topk_stalls_and_classic_ef_differs():
    """Heterogeneous agents, no noise: top-k alone stalls away from the minimiser 0 of the average;
    EF21 around the same top-k reaches it (to rounding)."""
    plain = _engine_run(O.DCSGD(lr=0.1, agents=AGENTS, compressor=C.TopK(1)), 3000, paths=1)
    ef21 = _engine_run(O.EF21SGD(lr=0.1, agents=AGENTS, compressor=C.TopK(1)), 3000, paths=1)
    assert np.max(np.abs(plain.iterates[-1, 0])) > 0.1
    assert np.max(np.abs(ef21.iterates[-1, 0])) < 1e-10


def test_clip_compressor_and_clip21_name():
    x = np.array([3.0, 4.0])
    np.testing.assert_allclose(C.Clip(1.0)(x), [0.6, 0.8], rtol=1e-15)
    np.testing.assert_array_equal(C.Clip(10.0)(x), x)
    np.testing.assert_array_equal(C.Clip(1.0)(np.zeros(2)), [0.0, 0.0])
    np.testing.assert_allclose(C.Clip((1.0, 2.0))(x, agent=1), [1.2, 1.6], rtol=1e-15)
    assert C.Clip21(0.5) == C.EF21(C.Clip(0.5)) and not C.Clip(1.0).unbiased
    assert isinstance(C.resolve("clip"), C.Clip)
    # per-agent clipping in DCSGD: each agent clips its own output, the server averages
    opt = O.DCSGD(lr=0.1, agents=2, compressor=C.Clip((0.5, 3.0)))
    g = np.array([[3.0, 4.0], [3.0, 4.0]])
    x, _ = opt.step(np.zeros(2), g)
    np.testing.assert_allclose(x, -0.1 * (np.array([0.3, 0.4]) + np.array([1.8, 2.4])) / 2, rtol=1e-15)


def test_ef21_state_sequence_from_python():
    """``EF21(Identity())`` from Python, rows applied in sequence on one state: g <- g + (x - g) = x;
    a given state block is updated in place."""
    comp = C.EF21(C.Identity())
    assert comp.state(Shape(5)).size == 10 and C.EF21(C.Identity(), beta=0.5).state(Shape(5)).size == 15
    rows = comp(X0, size=3)
    np.testing.assert_array_equal(rows, np.broadcast_to(X0, (3, 5)))
    st = np.zeros(10)
    out = C.EF21(C.TopK(1))(X0, state=st)
    np.testing.assert_array_equal(out, [0, 0, 0, 3.0, 0])
    np.testing.assert_array_equal(st[:5], out)


def test_dp_noise_law():
    """With ``dp_sigma = s`` and the identity inner compressor each row is ``x + s xi`` (g_n = x + s xi_n):
    mean x and variance s^2 per coordinate, two-sided within 4 s.e."""
    s, n = 0.7, 40_000
    rows = C.EF21(C.Identity(), dp_sigma=s)(X0, rng=5, size=n)
    assert_mc_close(rows.mean(0), X0, s / np.sqrt(n), what="E g")
    assert_mc_close(rows.var(0, ddof=1), s**2, s**2 * np.sqrt(2 / (n - 1)), what="Var g")


def test_shift_oracle_per_agent_and_with_inner_noise():
    nz = N.Shift(SHIFT)
    grad = LAM * X0
    for a in range(AGENTS):
        np.testing.assert_array_equal(nz.sample(grad, agent=a, agents=AGENTS), grad + SHIFT[a])
    noisy = N.Shift(SHIFT, inner=N.Gaussian(0.5))
    draws = noisy.sample(grad, agent=2, agents=AGENTS, rng=1, size=20_000)
    assert_mc_close(draws.mean(0), grad + SHIFT[2], 0.5 / np.sqrt(20_000), what="E shifted oracle")
    assert nz.key() != noisy.key() and not nz.finite_variance


def test_bit_identical_for_any_thread_count():
    f = L.DiagonalQuadratic(LAM)
    for opt, nz in [(O.EF21SGD(lr=0.05, agents=AGENTS, compressor=C.TopK(2)), N.Shift(SHIFT, inner=N.StudentT(3.0))),
                    (O.Clip21SGD2M(lr=0.05, clip=0.5, beta=0.5, agents=AGENTS, dp_sigma=0.1), N.Gaussian(0.3)),
                    (O.NormalizedEF21(lr=0.01, agents=2, compressor=C.RandK(2)), N.Gaussian(0.3))]:
        a, b = (simulate(f, opt, nz, x0=X0, steps=200, paths=150, seed=3, threads=t) for t in (1, 2))
        np.testing.assert_array_equal(a.loss, b.loss)


@pytest.mark.parametrize("bad,name", [
    (lambda: C.Clip(0.0), "c"), (lambda: C.Clip(-1.0), "c"), (lambda: C.Clip((1.0, np.nan)), "c"),
    (lambda: C.EF21(C.TopK(1), beta=0.0), "beta"), (lambda: C.EF21(C.TopK(1), beta=1.5), "beta"),
    (lambda: C.EF21(C.TopK(1), dp_sigma=-0.1), "dp_sigma"), (lambda: C.EF21(C.EF21(C.TopK(1))), "inner"),
    (lambda: C.EF21(C.ErrorFeedback(C.TopK(1))), "inner"), (lambda: C.EF21("gzip"), "compressor"),
    (lambda: O.Clip21SGD2M(server_beta=0.0), "server_beta"), (lambda: O.Clip21SGD2M(beta=2.0), "beta"),
    (lambda: O.Clip21SGD2M(clip=0.0), "c"), (lambda: O.Clip21SGD(clip=-1.0), "c"),
    (lambda: O.EF21SGD(lr=0.0), "lr"), (lambda: O.NormalizedEF21(agents=0), "agents"),
    (lambda: N.Shift(np.ones((2, 3))), "shift"), (lambda: N.Shift(np.zeros(3)), "shift"),
    (lambda: N.Shift(SHIFT, inner="gauss"), "inner"), (lambda: N.Shift(SHIFT, inner=N.Shift(SHIFT)), "inner"),
])
def test_bad_parameters_are_named(bad, name):
    with pytest.raises(ValueError, match=name):
        bad()


def test_bad_shapes_are_refused_before_compiling():
    f = L.DiagonalQuadratic(LAM)
    before = len(engine._KERNELS)
    with pytest.raises(ValueError, match="shift"):
        simulate(f, O.EF21SGD(lr=0.1, agents=2), N.Shift(SHIFT), x0=1.0, steps=5, paths=2)
    with pytest.raises(ValueError, match="k"):
        simulate(f, O.EF21SGD(lr=0.1, agents=AGENTS, compressor=C.TopK(9)), N.Shift(SHIFT), x0=1.0, steps=5, paths=2)
    with pytest.raises(ValueError, match="compressor"):
        O.EF21SGD(lr=0.1, agents=AGENTS, compressor=C.Clip((1.0, 2.0)))
    assert len(engine._KERNELS) == before


def test_names_and_keys():
    assert isinstance(O.make("ef21", lr=0.1), O.SGD) and isinstance(O.make("clip21_sgd2m"), O.HeavyBall)
    assert isinstance(O.make("normalized_ef21").compressor, C.EF21)
    k1, k2 = C.EF21(C.TopK(1)).key(), C.EF21(C.RandK(1)).key()
    assert k1 != k2 and k1 == C.EF21(C.TopK(3), beta=0.5).key()  # parameters never recompile
    assert C.EF21(C.TopK(1)).key() != C.ErrorFeedback(C.TopK(1)).key()


def test_no_sde_model_for_compressor_memory():
    """The SDE models of this package are Markov in x: a compressor with per-agent memory has none,
    and ``sde.kinds`` / ``sde.model`` say so by name."""
    import sde

    for opt in (O.EF21SGD(lr=0.01, agents=2), O.Clip21SGD(lr=0.01), O.Clip21SGD2M(lr=0.01),
                O.DCSGD(lr=0.01, agents=2, compressor=C.ErrorFeedback(C.TopK(1)))):
        with pytest.raises(ValueError, match="per-agent memory"):
            sde.kinds(opt)
        with pytest.raises(ValueError, match="optimizer"):
            sde.model(opt, L.DiagonalQuadratic(LAM), N.Gaussian(1.0))
    assert sde.kinds(O.DCSGD(lr=0.01, agents=2, compressor=C.RandK(1)))[0] == "classic"


def test_per_agent_clipping_without_memory():
    """DCSGD with ``Clip(c)`` per agent (no memory): ``Optimizer.step`` against numpy to 1e-12 and the
    engine bit for bit, with one clipping level per agent."""
    cs = (0.5, 1.0, 0.25, 2.0)
    opt = O.DCSGD(lr=0.1, agents=AGENTS, compressor=C.Clip(cs))
    assert opt.compressor.state(Shape(5)).size == 0
    x, ref = X0.copy(), [X0.copy()]
    for _ in range(60):
        x = x - 0.1 * np.mean([clip_ref(LAM * x + SHIFT[a], cs[a]) for a in range(AGENTS)], axis=0)
        ref.append(x)
    xs, _ = _step_run(opt, 60)
    assert _rel(xs, np.array(ref)) <= 1e-12
    run = _engine_run(opt, 60)
    np.testing.assert_array_equal(run.iterates[:, 1, :], xs)


def test_ef21_topk_fused_update_equals_the_composition_bit_for_bit():
    """EF21 around top-k fuses the memory update into the selection for small k (``compressors.
    _ef21_topk_update``): against the composition, ``w = v - g``, top-k of ``w`` by ``TopK``'s own
    kernel, ``g + topk(w)``, on random states with ties, signed zeros, infinities and NaN, every k
    (fused or not): the memory and the message agree bit for bit and the index scratch stays a
    permutation."""
    from methods import rng as R

    gen = np.random.default_rng(1)
    topk = C.TopK(1).kernels.compress
    ef21 = C.EF21(C.TopK(1)).kernels.compress
    specials = np.array([0.0, -0.0, np.inf, -np.inf, np.nan])
    for trial in range(3000):
        d = int(gen.integers(1, 48))
        v, g = (gen.integers(-4, 5, size=d) * 0.5 for _ in range(2))
        if trial % 3 == 0:  # sprinkle signed zeros, infinities and NaN into v and g
            for a in (v, g):
                hit = gen.random(d) < 0.15
                a[hit] = gen.choice(specials, size=int(hit.sum()))
        k = int(gen.integers(0, d + 1))
        t = np.empty(d)
        with np.errstate(invalid="ignore"):  # inf - inf
            w = v - g
            topk(R.from_user(0), w, np.array([float(k)]), 0, np.zeros(0), np.arange(d), t)
            want_g = g + t
        state = np.concatenate([g, np.zeros(d)])
        out, iwork = np.empty(d), gen.permutation(d).astype(np.int64)
        ef21(R.from_user(0), v, np.array([float(k), 1.0, 0.0]), 0, state, iwork, out)
        assert np.array_equal(state[:d].view(np.int64), want_g.view(np.int64)), (d, k, v, g)
        assert np.array_equal(out.view(np.int64), want_g.view(np.int64))
        assert sorted(iwork) == list(range(d))
