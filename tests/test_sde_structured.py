"""Structured diffusions of the SGD-type SDEs (``sde.sgd``): diagonal minus rank one (rand-k over
diagonal noise), a constant dense Cholesky factor (``GaussianCov``) and the general per-step
Cholesky. Each must give the Euler-Maruyama increment the law ``N(0, dt s^2 eta/N Sigma~(x))``:

* exactly: the factor ``G`` a kernel applies (its columns ``G e_k``) satisfies ``G G^T = Sigma~``
  against ``Sigma~`` computed here from its definition (law of total covariance, arXiv 2502.17009's
  DCSGD SDE, derived here), to rounding;
* in law: the one-step sample covariance of ``sde.integrate`` equals ``dt eta/N Sigma~(x0)``
  entry by entry within 4 standard errors (two-sided), and the stationary mean and second moments
  of the rand-k DCSGD SDE agree with the former symmetric-square-root (eigh) kernel's;
* bit for bit across thread counts.
"""
import math

import numpy as np
import pytest

import sde
from methods import compressors as C
from methods import landscapes as L
from methods import noise as N
from methods import optimizers as O
from sde import sgd as SG

D = 5
LAM = np.linspace(1.0, 3.0, D)
X0 = np.linspace(-1.0, 1.5, D)


def _cov3(d, agents):
    rng = np.random.default_rng(11)
    out = []
    for _ in range(agents):
        A = rng.standard_normal((d, d)) / math.sqrt(d)
        out.append(0.3 * A @ A.T + 0.1 * np.eye(d))
    return np.array(out)


CASES = {
    # name: (optimizer, noise, expected structure)
    "randk-gauss": (O.DCSGD(lr=0.02, agents=4, compressor=C.RandK(k=2)), N.Gaussian(np.array([0.5, 1.0, 0.7, 1.3])[:, None]),
                    "diag+rank1"),
    "randk-affine": (O.DCSGD(lr=0.02, agents=3, compressor=C.RandK(k=(1, 2, 3))), N.AffineVariance(sigma0=0.4, sigma1=0.6),
                     "diag+rank1"),
    "randk-noiseless": (O.DCSGD(lr=0.02, agents=2, compressor=C.RandK(k=1)), N.Gaussian(0.0), "diag+rank1"),
    "dsgd-cov": (O.DSGD(lr=0.02, agents=3), N.GaussianCov(_cov3(D, 3)), "dense-constant"),
    "bernoulli-cov": (O.DCSGD(lr=0.02, agents=3, compressor=C.Bernoulli(p=(0.5, 0.25, 0.8))), N.GaussianCov(_cov3(D, 3)),
                      "dense"),
    "randk-cov": (O.DCSGD(lr=0.02, agents=2, compressor=C.RandK(k=2)), N.GaussianCov(_cov3(D, 2)), "dense"),
}


def _sigma_tilde(opt, noise, x):
    """``Sigma~(x) = mean_i [S_i(x) + omega_i E_i(g g^T + S_i(x))]`` from its definition (the
    noise's per-agent covariance at ``||g||``; ``E_i`` the compressor's covariance map)."""
    g = LAM * x
    d, n = g.size, opt.agents
    S = noise.covariance(d, n, grad_norm=float(np.linalg.norm(g))) if isinstance(noise, N.AffineVariance) \
        else noise.covariance(d, n)
    form, om = opt.compressor.covariance_form(d, n)
    om = np.zeros(n) if form == "zero" else np.asarray(om, dtype=float)
    out = np.zeros((d, d))
    for i in range(n):
        M = np.outer(g, g) + S[i]
        Dm = np.diag(np.diag(M))
        E = {"zero": 0.0 * M, "diagonal": Dm, "randk": Dm - (M - Dm) / (d - 1)}[form]
        out += S[i] + om[i] * E
    return out / n


def _model(name, diffusion=None):
    opt, noise, _ = CASES[name]
    return SG._build(L.DiagonalQuadratic(LAM), opt, noise, "classic", diffusion)


def _factor(model, x):
    """The factor ``G`` the model's diffusion kernel applies at ``x`` (columns ``G e_k``, s = 1)."""
    kern = {"diag+rank1": SG._diffuse_rank1, "dense-constant": SG._diffuse_dense_constant,
            "dense": SG._diffuse_cholesky, "eigh": SG._diffuse_eigh}[model.diffusion]
    d = x.size
    work = np.zeros(model.work_size)
    work[:d] = LAM * x  # the drift leaves grad f(X) there
    p = np.ascontiguousarray(model.params)
    G = np.zeros((d, d))
    for k in range(d):
        out = np.zeros(d)
        kern(0.0, x.copy(), 1.0, p, np.zeros(1), np.eye(d)[k], work, out)
        G[:, k] = out
    return G / math.sqrt(p[0] / p[1])


@pytest.mark.parametrize("name", list(CASES))
def test_structure_is_chosen(name):
    assert _model(name).diffusion == CASES[name][2]


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("forced", [None, "dense", "eigh"])
def test_factor_is_exact(name, forced):
    """``G G^T = Sigma~`` to rounding at a few points (also on the boundary ``1 - c |u|^2 = 0`` of
    the rank-one factor: rand-k without noise), for the chosen structure and the generic paths."""
    opt, noise, _ = CASES[name]
    m = _model(name, forced)
    for x in (X0, 0.3 * X0[::-1], np.array([0.0, 1.0, -2.0, 0.0, 0.5])):
        G = _factor(m, x)
        want = _sigma_tilde(opt, noise, x)
        np.testing.assert_allclose(G @ G.T, want, rtol=0, atol=1e-12 * np.abs(want).max())


def test_refuses_forcing_a_diagonal_model():
    with pytest.raises(ValueError, match="diffusion"):
        SG._build(L.DiagonalQuadratic(LAM), O.SGD(lr=0.1), N.Gaussian(1.0), "classic", "dense")


@pytest.mark.parametrize("name", ["randk-gauss", "randk-affine", "dsgd-cov", "randk-cov"])
def test_one_step_covariance(name):
    """Monte Carlo: one step from x0, ``Cov X_1 = dt eta/N Sigma~(x0)`` (dt = eta), every entry within
    4 s.e. (Gaussian increments: ``Var(Z_a Z_b) = C_aa C_bb + C_ab^2``)."""
    opt, noise, _ = CASES[name]
    m = _model(name)
    n = 40_000
    r = sde.integrate(m, x0=X0, t_end=opt.lr, paths=n, seed=21, save_at=[1], record_iterates=True)
    X1 = r.iterates[-1]
    want = opt.lr * opt.lr / opt.agents * _sigma_tilde(opt, noise, X0)
    got = np.cov(X1.T)
    se = np.sqrt((np.outer(np.diag(want), np.diag(want)) + want**2) / n)
    z = (got - want) / se
    assert np.all(np.abs(z) < 4.0), f"{name}: max |z| = {np.abs(z).max():.2f}"


def test_randk_stationary_matches_eigh_reference():
    """The rand-k DCSGD SDE's stationary E f and E x_j^2 with the rank-one factor and with the former
    symmetric square root (eigh) agree within 4 s.e. of their difference (independent seeds)."""
    f = L.DiagonalQuadratic([1.0, 2.0, 3.0, 0.5])
    opt = O.DCSGD(lr=0.05, agents=4, compressor=C.RandK(k=1))
    nz = N.Gaussian(0.8)
    new = SG._build(f, opt, nz, "classic")
    ref = SG._build(f, opt, nz, "classic", "eigh")
    assert new.diffusion == "diag+rank1"
    kw = dict(x0=0.5, t_end=20.0, paths=512, save_every=10, record_iterates=True)
    a = sde.integrate(new, seed=31, **kw)
    b = sde.integrate(ref, seed=32, **kw)
    for obs in ["loss", "x_0", "x2_0", "x2_2", "x2_3"]:
        va, sa = a.time_average(obs, after=4.0)
        vb, sb = b.time_average(obs, after=4.0)
        assert abs(va - vb) < 4 * math.hypot(sa, sb), f"{obs}: {va:.5g} vs eigh {vb:.5g} (s.e. {math.hypot(sa, sb):.2g})"


@pytest.mark.parametrize("name", ["randk-gauss", "dsgd-cov", "bernoulli-cov"])
def test_bit_identical_across_threads(name):
    m = _model(name)
    runs = [sde.integrate(m, x0=X0, t_end=40 * m.time_per_step, paths=300, seed=5, save_every=8, threads=t)
            for t in (1, 2)]
    assert runs[0].loss.tobytes() == runs[1].loss.tobytes()
    assert runs[0].grad_norm.tobytes() == runs[1].grad_norm.tobytes()


@pytest.mark.parametrize("name", ["randk-gauss", "dsgd-cov", "bernoulli-cov"])
def test_structured_kernels_compile_without_nrt(name):
    """No allocation in the structured paths: the chunk kernel runs its NRT-free build."""
    from methods._jit import kernel_without_nrt
    from sde.integrate import _kernel_for

    if kernel_without_nrt is None:
        pytest.skip("this numba has no NRT-free compilation")
    m = _model(name)
    sde.integrate(m, x0=X0, t_end=2 * m.time_per_step, paths=4, seed=0)
    ck = _kernel_for(m)
    assert ck._active is ck.fast
