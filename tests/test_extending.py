"""The README's "Extending" example, run as written: a new optimizer and its SDE in two pieces
(here one file), registered with ``sde.register``, checked against the exact OU law."""
import math
from dataclasses import dataclass

import numpy as np
from numba import njit

import sde
from conftest import assert_mc_close
from methods import landscapes as L
from methods import noise as N
from methods import optimizers as O
from methods import simulate
from sde.base import SDEModel, euler_maruyama_diag


# --- file 1 (methods side): SGD with coupled weight decay, x <- x - lr (v + theta x)
@njit
def _wd_update(x, v, state, k, lr, p):
    for j in range(x.shape[0]):
        x[j] -= lr * (v[j] + p[0] * x[j])


@dataclass(frozen=True, eq=False)
class WeightDecaySGD(O.Optimizer):
    """``x_{k+1} = x_k - lr eta_k (v_k + theta x_k)``."""

    lr: float = 0.01
    theta: float = 0.1
    schedule: object = None
    agents: int = 1
    compressor: object = None
    _update = staticmethod(_wd_update)

    def __post_init__(self):
        self._validate_common()
        self._floats("theta")

    def _pack(self):
        return np.array([self.theta])


# --- file 2 (sde side): dX = -s (grad f + theta X) dt + s sqrt(eta) diag(sigma) dW
def _drift_for(grad):
    @njit
    def drift(t, y, s, p, lp, work, out):
        grad(y, lp, out)
        for j in range(y.shape[0]):
            out[j] = -s * (out[j] + p[1] * y[j])
    return drift


@njit
def _coef(t, y, s, p, lp, work, out):
    for j in range(y.shape[0]):
        out[j] = s * math.sqrt(p[0]) * p[2 + j]


def build(landscape, optimizer, noise, kind):
    d = landscape.d
    sd = noise.diagonal_std(d, 1)
    if sd is None or not noise.finite_variance:
        raise ValueError("noise: this model needs independent Gaussian coordinates")
    p = np.concatenate([[optimizer.lr, optimizer.theta], sd[0]])
    drift = _drift_for(landscape.kernels.grad)
    return SDEModel(method="WeightDecaySGD", kind=kind, landscape=landscape, noise=noise, optimizer=optimizer,
                    params=p, step=euler_maruyama_diag(drift, _coef), key=("wd-sgd", landscape.kernels.grad),
                    state_dim=d, noise_dim=d, work_size=2 * d, time_per_step=optimizer.lr, provenance="derived",
                    source="derived here (first-order SME of SGD with coupled weight decay)",
                    formula="dX = -s (grad f + theta X) dt + s sqrt(eta) diag(sigma) dW")


sde.register("weight-decay-sgd", kinds=("classic",), build=build, matches=lambda o: isinstance(o, WeightDecaySGD),
             first=True)


def test_new_method_and_its_sde_run_and_match_the_exact_laws():
    lam, theta, sigma, lr, x0 = 1.0, 0.5, 1.0, 0.05, 2.0
    f, nz, opt = L.DiagonalQuadratic([lam]), N.Gaussian(sigma), WeightDecaySGD(lr=lr, theta=theta)
    a = lam + theta
    steps, paths = 400, 8192
    # discrete: x_{k+1} = (1 - lr a) x_k - lr sigma Z, an AR(1): stationary variance lr sigma^2 / (a (2 - lr a))
    run = simulate(f, opt, nz, x0=x0, steps=steps, paths=paths, seed=3, record_iterates=True,
                   save_at=np.array([steps]))
    x = run.iterates[-1, :, 0]
    var_disc = lr * sigma**2 / (a * (2 - lr * a))
    mean_disc = x0 * (1 - lr * a) ** steps
    assert_mc_close(x.mean(), mean_disc, x.std() / math.sqrt(paths), what="discrete mean")
    assert_mc_close(x.var(), var_disc, var_disc * math.sqrt(2 / paths), what="discrete variance")
    # the SDE: an OU process, stationary variance lr sigma^2 / (2 a), integrated finely (refine = 16)
    assert sde.kinds(opt) == ["classic"]
    m = sde.model(opt, f, nz)
    srun = sde.integrate(m, x0=x0, t_end=steps * lr, paths=paths, seed=4, refine=16, record_iterates=True,
                         save_at=np.array([steps]))
    y = srun.iterates[-1, :, 0]
    var_ou = lr * sigma**2 / (2 * a)
    # EM with dt = lr / 16 has its own O(dt) stationary bias: var_EM = var_ou / (1 - dt a / 2)
    dt = lr / 16
    assert_mc_close(y.var(), var_ou / (1 - dt * a / 2), var_ou * math.sqrt(2 / paths), what="SDE variance")
    assert_mc_close(y.mean(), x0 * (1 - a * dt) ** (16 * steps), y.std() / math.sqrt(paths), what="SDE mean")


def test_readme_extending_block_runs():
    """The README's user-component example runs as written (its numbers are not asserted here:
    the protocol tests check each kind's behaviour)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme.split("## Extending")[1].split("```python")[1].split("```")[0]
    scope = {}
    exec(compile(block, "README.md", "exec"), scope)
    run = scope["run"]
    assert run.diverged == 0 and np.all(np.isfinite(run.loss))
    assert run.median("loss")[-1] < run.median("loss")[0]
