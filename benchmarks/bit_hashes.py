"""Hashes of the engines' results on a fixed set of configurations: ``python -m benchmarks.bit_hashes``.

A refactor that must keep the bits prints the same table before and after. Every optimizer,
compressor, noise law, schedule, landscape family and SDE kind appears at least once, plus
several agents, recorded iterates and a divergence. Each row hashes (sha256, first 12 hex
digits) the loss, gradient-norm, divergence and (when recorded) iterate arrays of a run.
"""
from __future__ import annotations

import hashlib
import sys

import numpy as np

from methods import compressors as C
from methods import landscapes as L
from methods import noise as N
from methods import optimizers as O
from methods import schedules as S
from methods import simulate


def digest(run) -> str:
    h = hashlib.sha256()
    for a in (run.loss, run.grad_norm, run.diverged_at, run.iterates):
        if a is not None:
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:12]


def _small_data():
    """Fixed small data for the finite-sum rows: a least-squares problem (12 x 4), a 3-class MLP
    problem (15 x 3, one hidden layer of 4) and 4 heterogeneous agents' quadratics (d = 4)."""
    rng = np.random.default_rng(11)
    ls = L.LeastSquares(rng.normal(size=(12, 4)), rng.normal(size=12))
    mlp = L.MLP(rng.normal(size=(15, 3)), np.arange(15) % 3, hidden=(4,))
    het = L.PerAgent.quadratics(rng.uniform(0.5, 3.0, (4, 4)), rng.normal(size=(4, 4)))
    return ls, mlp, het


def discrete_cases():
    q = L.DiagonalQuadratic([1.0, 2.0, 4.0, 0.5])
    g = N.Gaussian(0.5)
    yield "sgd-gauss-quad", q, O.SGD(lr=0.05), g, {}
    yield "sgd-none-quartic", L.Quartic(d=3), O.SGD(lr=0.01), None, {}
    yield "sgd-cov-quadratic", L.Quadratic(np.array([[2.0, 0.3], [0.3, 1.0]])), O.SGD(lr=0.05), \
        N.GaussianCov(np.array([[1.0, 0.2], [0.2, 0.5]])), {}
    yield "signsgd-student", q, O.SignSGD(lr=0.01), N.StudentT(nu=1.0, sigma=0.5), {}
    yield "dsignsgd-invsqrt", q, O.DSignSGD(lr=0.02, agents=4, schedule=S.InvSqrt()), N.StudentT(nu=3.0, sigma=0.5), {}
    yield "dsgd-affine", q, O.DSGD(lr=0.02, agents=3), N.AffineVariance(sigma0=0.5, sigma1=0.3), {}
    yield "dcsgd-randk", q, O.DCSGD(lr=0.02, agents=4, compressor=C.RandK(k=2)), g, {"record_iterates": True}
    yield "dcsgd-bernoulli", q, O.DCSGD(lr=0.02, agents=4, compressor=C.Bernoulli(p=(0.5, 0.25, 1.0, 0.125))), g, {}
    yield "dcsgd-qsgd", q, O.DCSGD(lr=0.02, agents=2, compressor=C.QSGD(s=2)), g, {}
    yield "dcsgd-topk", q, O.DCSGD(lr=0.02, agents=2, compressor=C.TopK(k=1)), g, {}
    shift = N.Shift(np.array([[0.5, -1.0, 0.25, 0.0], [-0.5, 1.0, -0.25, 0.0]]), inner=g)
    yield "ef21-topk-shift", q, O.EF21SGD(lr=0.02, agents=2, compressor=C.TopK(k=1)), shift, {}
    yield "nef21-clip", q, O.NormalizedEF21(lr=0.02, agents=2, compressor=C.Clip(0.5)), g, {}
    yield "clip21-sgd2m-dp", q, O.Clip21SGD2M(lr=0.02, clip=0.5, beta=0.5, agents=2, dp_sigma=0.1), g, {}
    yield "sgd-stable", q, O.SGD(lr=0.01), N.AlphaStable(alpha=1.5, scale=0.3), {}
    yield "normsgd-cosine", q, O.NormalizedSGD(lr=0.02, schedule=S.Cosine(total=60)), g, {}
    yield "clipped-step", L.SumCosh(d=4), O.ClippedSGD(lr=0.05, clip=0.5, schedule=S.Step(every=20, gamma=0.5)), g, {}
    yield "sgd-inverse", L.NormPower(d=3, q=4.0), O.SGD(lr=0.01, schedule=S.Inverse(power=0.5)), g, {}
    yield "dcsgd-gradnorm", q, O.DCSGD(lr=1.0, agents=2, compressor=C.RandK(k=2),
                                       schedule=S.GradNormalized(c=0.1, a=1.0, b=1.0)), g, {}
    yield "sgd-gradnorm-oracle", q, O.SGD(lr=1.0, schedule=S.GradNormalized(c=0.1, source="oracle", base=S.InvSqrt())), g, {}
    yield "rmsprop", q, O.RMSprop(lr=0.01, alpha=0.9), g, {}
    yield "rmspropw", q, O.RMSpropW(lr=0.01, alpha=0.9, weight_decay=0.1), g, {}
    yield "adam", q, O.Adam(lr=0.01), g, {}
    yield "adamw", q, O.AdamW(lr=0.01, weight_decay=0.1), g, {"record_iterates": True}
    yield "adam-l2", q, O.Adam(lr=0.01, weight_decay=0.1), g, {}
    yield "logreg", L.LogisticRegression(d=3), O.SGD(lr=0.1), g, {}
    yield "diverges", q, O.SGD(lr=0.6), g, {"blowup": 1e6}
    # momentum, error feedback around top-k (k > 1), federated and finite-sum rows (added in stop 23)
    yield "sgdm-nesterov-wd", q, O.SGDM(lr=0.02, momentum=0.9, nesterov=True, weight_decay=0.01), g, {}
    yield "heavyball", q, O.HeavyBall(lr=0.02, beta=0.8), g, {}
    yield "dcsgd-agentmom-topk2", q, O.DCSGD(lr=0.02, agents=3, compressor=C.AgentMomentum(C.TopK(k=2), momentum=0.5)), \
        g, {}
    yield "dcsgd-ef-topk2", q, O.DCSGD(lr=0.02, agents=3, compressor=C.ErrorFeedback(C.TopK(k=2))), g, {}
    ls, mlp, het = _small_data()
    yield "localsgd-m-of-n", het, O.LocalSGD(lr=0.02, local_steps=3, agents=4, clients_per_round=2, lr_server=0.8), g, {}
    yield "localsgd-bernoulli", het, O.LocalSGD(lr=0.02, local_steps=2, agents=4, participation=0.5), g, {}
    yield "ls-minibatch-reshuffle", ls, O.SGD(lr=0.05), N.Minibatch(ls, batch=4, reshuffle=True), {}
    yield "mlp-minibatch-repl", mlp, O.SGD(lr=0.05), N.Minibatch(mlp, batch=3, replacement=True), {}


def sde_cases():
    import sde

    q = L.DiagonalQuadratic([1.0, 2.0, 4.0, 0.5])
    g = N.Gaussian(0.5)
    for kind in sde.kinds(O.SGD(lr=0.05)):
        if kind != "levy":
            yield f"sde-sgd-{kind}", sde.model(O.SGD(lr=0.05), q, g, kind=kind), {}
    yield "sde-sgd-levy", sde.model(O.SGD(lr=0.01), q, N.AlphaStable(alpha=1.5, scale=0.3), kind="levy"), {}
    yield "sde-dcsgd-randk", sde.model(O.DCSGD(lr=0.02, agents=4, compressor=C.RandK(k=2)), q, g), {}
    yield "sde-dcsgd-bern-corr", sde.model(O.DCSGD(lr=0.02, agents=2, compressor=C.Bernoulli(p=0.5)), q, g,
                                           kind="corrected"), {}
    yield "sde-sgd-quartic-sched", sde.model(O.SGD(lr=0.01, schedule=S.InvSqrt()), L.Quartic(d=3), g), {}
    yield "sde-sgd-gradnorm", sde.model(O.SGD(lr=1.0, schedule=S.GradNormalized(c=0.05)), q, g), {}
    yield "sde-sgd-cov", sde.model(O.SGD(lr=0.05), L.Quadratic(np.array([[2.0, 0.3], [0.3, 1.0]])),
                                   N.GaussianCov(np.array([[1.0, 0.2], [0.2, 0.5]]))), {}
    for kind in sde.kinds(O.DSignSGD(lr=0.02, agents=4)):
        yield f"sde-dsign-{kind}", sde.model(O.DSignSGD(lr=0.02, agents=4), q, g, kind=kind), {}
    yield "sde-sign-student", sde.model(O.SignSGD(lr=0.01), q, N.StudentT(nu=3.0, sigma=0.5)), {}
    # one agent through the vector gradient (a non-separable landscape), Gaussian, Cauchy and
    # non-integer t laws, and the phase kinds (rows added at stop 26)
    qc = L.Quadratic(np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]]))
    yield "sde-sign-gauss", sde.model(O.SignSGD(lr=0.01), q, g), {}
    yield "sde-sign-gauss-dense", sde.model(O.SignSGD(lr=0.01), qc, g), {}
    yield "sde-sign-cauchy", sde.model(O.SignSGD(lr=0.01), q, N.StudentT(nu=1.0, sigma=0.5)), {}
    yield "sde-sign-t2.5", sde.model(O.SignSGD(lr=0.01), q, N.StudentT(nu=2.5, sigma=0.5)), {}
    for kind in ("phase1", "phase2", "phase3"):
        yield f"sde-sign-{kind}", sde.model(O.SignSGD(lr=0.01), q, g, kind=kind), {}
    for kind in sde.kinds(O.Adam(lr=0.01)):
        yield f"sde-adam-{kind}", sde.model(O.Adam(lr=0.01), q, g, kind=kind), {"record_iterates": True}
        wd = 0.1 if kind == "classic" else 0.0  # Malladi's SDEs have no weight decay
        yield f"sde-rmspropw-{kind}", sde.model(O.RMSpropW(lr=0.01, alpha=0.9, weight_decay=wd), q, g, kind=kind), {}
    yield "sde-adamw-refine", sde.model(O.AdamW(lr=0.01, weight_decay=0.1), q, g), {"refine": 2}
    yield "sde-sgdm", sde.model(O.SGDM(lr=0.02, momentum=0.9), q, g), {}
    yield "sde-coordclipped-student", sde.model(O.CoordinateClippedSGD(lr=0.02, clip=0.5), q,
                                                N.StudentT(nu=2.5, sigma=0.5)), {}
    yield "sde-coordclipped-gauss", sde.model(O.CoordinateClippedSGD(lr=0.02, clip=0.5), q, N.Gaussian(0.5)), {}
    ls, _, _ = _small_data()
    yield "sde-ls-minibatch", sde.model(O.SGD(lr=0.05), ls, N.Minibatch(ls, batch=4, sde_rows=8)), {}


def main(argv=None) -> int:
    import sde

    rows = []
    for name, f, opt, noise, kw in discrete_cases():
        run = simulate(f, opt, noise, x0=1.0, steps=60, paths=130, seed=7, save_every=7, **kw)
        rows.append((name, digest(run)))
        print(f"{name:24s} {rows[-1][1]}", flush=True)
    for name, m, kw in sde_cases():
        run = sde.integrate(m, x0=1.0, t_end=60 * m.time_per_step, paths=130, seed=7, save_every=7, **kw)
        rows.append((name, digest(run)))
        print(f"{name:24s} {rows[-1][1]}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
