"""Discrete optimizers, single-node and distributed.

Every optimizer is ``N`` agents (default 1) plus a server:

1. agent ``i`` queries the noisy oracle ``g_i = grad f(x_k) + Z_i`` (its own noise draw),
2. transforms it, ``t_i = C_i(g_i)`` (a compressor; ``Sign`` for sign methods; identity),
3. the server averages, ``v_k = (1/N) sum_i t_i``, and applies its update rule with
   step ``lr * eta_k`` (``eta_k`` from the schedule).

So DSGD is SGD with N agents, DCSGD adds an unbiased compressor and DSignSGD uses the
sign as the transform (the update rules of arXiv 2502.17009 and arXiv 2506.00181); the server
rules are SGD, normalized SGD, clipped SGD, RMSprop(W) and Adam(W).

Server update kernels share one signature,

    ``update(x, v, state, k, lr_k, p)``   (in place on ``x`` and ``state``)
    ``init(state, p)``

and ``Optimizer.step`` runs the same compiled code on one state from Python, so the rules
can be checked against closed forms and reference implementations (PyTorch for Adam).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from typing import Callable, NamedTuple

from . import _checks, rng as _rng
from . import compressors as _compressors
from . import schedules as _schedules
from ._jit import kernel
from .component import Component, Shape, State, check_state_size, check_user_kernels, shape_of, store_user_params


@kernel
def _no_init(state, p):
    pass


@kernel
def _zero_init(state, p):
    for j in range(state.shape[0]):
        state[j] = 0.0


class OptimizerKernels(NamedTuple):
    """A server rule's compiled functions.

    * ``update(x, v, state, k, lr_k, p)``: one step at iteration ``k`` in place on ``x``
      (shape ``(d,)``) and the path's server ``state``, given the aggregated direction ``v``
      and the step ``lr_k = lr * eta_k``;
    * ``init(state, p)``: sets the server state at the start of every path.
    """

    update: Callable  # update(x, v, state, k, lr_k, p), in place on x and state
    init: Callable    # init(state, p)


class Optimizer(Component):
    """Base class: ``lr``, ``schedule``, ``agents``, per-agent ``compressor``; the server rule is
    a component (``methods.component``) holding the compressor and the schedule as children."""

    lr: float
    schedule: _schedules.Schedule
    agents: int
    compressor: _compressors.Compressor
    _init = staticmethod(_no_init)
    local = False  # local steps (methods.federated.LocalSGD): the engine builds another model

    def _validate_common(self):
        object.__setattr__(self, "lr", _checks.positive("lr", self.lr))  # a float: SGD(lr=1) is SGD(lr=1.0)
        _checks.integer("agents", self.agents, minimum=1)
        object.__setattr__(self, "schedule", _schedules.resolve(self.schedule))
        comp = _compressors.resolve(self.compressor)
        if comp.n_values not in (1, self.agents):
            raise ValueError(f"compressor has {comp.n_values} per-agent parameters but agents = {self.agents}")
        object.__setattr__(self, "compressor", comp)

    def _floats(self, *names):
        """Store the named fields as Python floats (validated by the caller)."""
        for nm in names:
            object.__setattr__(self, nm, float(getattr(self, nm)))

    # --- the component protocol
    @property
    def kernels(self) -> OptimizerKernels:
        """``OptimizerKernels(update, init)`` of the server rule (built-in rules: the class's
        ``_update`` and ``_init``)."""
        return OptimizerKernels(type(self)._update, type(self)._init)

    def children(self):
        """``(compressor, schedule)``: their keys compose into the optimizer's ``key()``."""
        return (self.compressor, self.schedule)

    def rule_key(self):
        """The key of the server rule alone (its kernels), without compressor and schedule."""
        return tuple(self.kernels)

    def state_size(self, d: int) -> int:
        """Floats of server state per path."""
        return 0

    def state(self, shape) -> State:
        """The server's per-path state: ``state_size(d)`` floats, set by ``kernels.init``."""
        shape = shape_of(shape)
        return State(self.state_size(shape.d), "path", self.kernels.init)

    def _pack(self) -> np.ndarray:
        return np.zeros(0)

    def _pack_steps(self, steps: int) -> np.ndarray:
        """Per-iteration constants an update can precompute once for all paths (appended)."""
        return np.zeros(0)

    def pack(self, shape=None) -> np.ndarray:
        """The server rule's parameters; for a ``Shape`` with ``steps > 0``, followed by whatever
        per-iteration constants the update precomputes for a run of that many iterations."""
        base = np.ascontiguousarray(self._pack(), dtype=np.float64)
        if shape is None or shape.steps == 0:
            return base
        return np.ascontiguousarray(np.concatenate([base, self._pack_steps(shape.steps)]), dtype=np.float64)

    def pack_for(self, steps: int) -> np.ndarray:
        """``pack`` for a run of ``steps`` iterations (the name before the component protocol)."""
        return self.pack(Shape(1, self.agents, steps))

    def update_kernel(self):
        """The compiled ``update`` (the name before the component protocol)."""
        return self.kernels.update

    def init_kernel(self):
        """The compiled ``init`` (the name before the component protocol)."""
        return self.kernels.init

    def layout(self, d: int):
        """The flat per-path state: ``(server, compressor, total)`` with ``server = (offset, State)``
        and ``compressor = (offset, State)`` (its block for agent ``a`` at ``offset + a * size``)."""
        shape = Shape(d, self.agents)
        s = self.state(shape)
        c = self.compressor.state(shape)
        return (0, s), (s.total(self.agents), c), s.total(self.agents) + c.total(self.agents)

    # --- Python access to the same compiled step
    def init_state(self, d: int) -> np.ndarray:
        """The flat per-path state at the start of a run: the server's, then each agent's
        compressor block."""
        (so, s), (co, c), total = self.layout(d)
        state = np.empty(total)
        for b in range(self.agents if s.per == "agent" else 1):  # a per-agent server state: one block each
            self.kernels.init(state[so + b * s.size:so + (b + 1) * s.size], self.pack())
        cp = self.compressor.pack(d, self.agents)
        for a in range(self.agents):
            blk = state[co + a * c.size: co + (a + 1) * c.size]
            if c.init is None:
                blk[:] = 0.0
            else:
                c.init(blk, cp)
        return state

    def _step_arrays(self, g, x):
        """``step``'s inputs checked: ``g`` as ``(agents, d)`` (a ``(d,)`` vector for one agent), ``x``
        as ``(d,)``, both finite; returns ``(g, x, d)``."""
        g = _checks.finite_array("g", g)
        if g.ndim == 1:
            g = g[None, :]
        if g.ndim != 2 or g.shape[0] != self.agents:
            raise ValueError(f"g must have shape (d,) for one agent or (agents={self.agents}, d), got {g.shape}")
        d = g.shape[1]
        x = _checks.finite_array("x", x, ndim=1)
        if x.shape != (d,):
            raise ValueError(f"x must have shape ({d},), got {x.shape}")
        return g, x, d

    def step(self, x, g, state=None, k: int = 0, *, rng=None, exact_grad=None):
        """One pure step from Python: returns ``(x_next, state_next)``.

        ``g`` is the stochastic gradient, shape ``(d,)`` for one agent or
        ``(agents, d)`` (one row per agent). Random compressors draw from ``rng``.
        ``state`` is the flat state of ``init_state`` (server, then per-agent compressor
        blocks). ``exact_grad`` only matters for a gradient-normalised schedule with
        ``source="oracle"`` (default: the aggregated direction).
        """
        g, x, d = self._step_arrays(g, x)
        (so, s), (co, c), total = self.layout(d)
        state = self.init_state(d) if state is None else np.array(state, dtype=np.float64)
        if state.shape != (total,):
            raise ValueError(f"state must have shape ({total},), got {state.shape}")
        k = _checks.integer("k", k)
        rng = _rng.from_user(rng)
        comp = self.compressor
        direction = np.zeros(d)
        iwork = np.arange(d, dtype=np.int64)
        t = np.empty(d)
        cp = comp.pack(d, self.agents)
        for i, row in enumerate(g):
            comp.kernels.compress(rng, row, cp, i, state[co + i * c.size: co + (i + 1) * c.size], iwork, t)
            direction += t
        direction /= self.agents
        eg = direction if exact_grad is None else np.asarray(exact_grad, dtype=float)
        lr_k = self.lr * self.schedule.kernels.factor(k, eg, direction, self.schedule.pack())
        x_next = x.copy()
        self.kernels.update(x_next, direction, state[so:so + s.size], k, lr_k, self.pack())
        return x_next, state

    def describe(self) -> str:
        """A description of the optimizer: its dataclass ``repr`` (every field, children included)."""
        return repr(self)


# ------------------------------------------------------------------------------ SGD
@kernel
def _sgd_update(x, v, state, k, lr, p):
    for j in range(x.shape[0]):
        x[j] -= lr * v[j]


@dataclass(frozen=True, eq=False)
class SGD(Optimizer):
    """``x_{k+1} = x_k - lr eta_k v_k``, ``v_k`` the (averaged, transformed) stochastic gradient."""

    lr: float = 0.01
    schedule: _schedules.Schedule | str | None = None
    agents: int = 1
    compressor: _compressors.Compressor | str | None = None
    _update = staticmethod(_sgd_update)

    def __post_init__(self):
        self._validate_common()


def DSGD(lr: float = 0.01, agents: int = 1, schedule=None) -> SGD:
    """Distributed SGD: ``x_{k+1} = x_k - (lr eta_k / N) sum_i g_i`` (arXiv 2502.17009)."""
    return SGD(lr=lr, agents=agents, schedule=schedule)


def DCSGD(lr: float = 0.01, agents: int = 1, compressor=None, schedule=None) -> SGD:
    """Distributed compressed SGD: ``x_{k+1} = x_k - (lr eta_k / N) sum_i C_i(g_i)``
    (arXiv 2502.17009, arXiv 2506.00181; no error feedback, no server-side compression)."""
    return SGD(lr=lr, agents=agents, compressor=compressor, schedule=schedule)


def SignSGD(lr: float = 0.01, schedule=None) -> SGD:
    """``x_{k+1} = x_k - lr eta_k sign(g_k)`` with ``sign(0) = 0`` (arXiv 2411.15958)."""
    return SGD(lr=lr, schedule=schedule, compressor=_compressors.Sign())


def DSignSGD(lr: float = 0.01, agents: int = 1, schedule=None) -> SGD:
    """``x_{k+1} = x_k - (lr eta_k / N) sum_i sign(g_i)``: the server averages the signs
    (not a majority vote; arXiv 2506.00181, arXiv 2502.17009)."""
    return SGD(lr=lr, agents=agents, schedule=schedule, compressor=_compressors.Sign())


@kernel
def _normalized_update(x, v, state, k, lr, p):
    n = 0.0
    for j in range(x.shape[0]):
        n += v[j] * v[j]
    n = math.sqrt(n)
    if n == 0.0:
        return
    for j in range(x.shape[0]):
        x[j] -= lr * v[j] / n


@dataclass(frozen=True, eq=False)
class NormalizedSGD(Optimizer):
    """``x_{k+1} = x_k - lr eta_k v_k / ||v_k||`` (no step when ``v_k = 0``).

    The "plain normalized SGD" baseline of the experiments of arXiv 2506.00181 (its exact form is UNSURE).
    """

    lr: float = 0.01
    schedule: _schedules.Schedule | str | None = None
    agents: int = 1
    compressor: _compressors.Compressor | str | None = None
    _update = staticmethod(_normalized_update)

    def __post_init__(self):
        self._validate_common()


@kernel
def _clipped_update(x, v, state, k, lr, p):
    n = 0.0
    for j in range(x.shape[0]):
        n += v[j] * v[j]
    n = math.sqrt(n)
    c = min(1.0, p[0] / n)
    for j in range(x.shape[0]):
        x[j] -= lr * c * v[j]


@dataclass(frozen=True, eq=False)
class ClippedSGD(Optimizer):
    """``x_{k+1} = x_k - lr eta_k min(1, clip / ||v_k||) v_k`` (norm clipping, Zhang et al. 2020)."""

    lr: float = 0.01
    clip: float = 1.0
    schedule: _schedules.Schedule | str | None = None
    agents: int = 1
    compressor: _compressors.Compressor | str | None = None
    _update = staticmethod(_clipped_update)

    def __post_init__(self):
        self._validate_common()
        _checks.positive("clip", self.clip)
        self._floats("clip")

    def _pack(self):
        return np.array([float(self.clip)])


# --------------------------------------------------------------------------- RMSprop
@kernel
def _rms_init(state, p):
    for j in range(state.shape[0]):
        state[j] = p[4]


@kernel
def _rmsprop_update(x, v, state, k, lr, p):
    # p = [alpha, eps, weight_decay, decoupled, v0]; PyTorch order of operations
    alpha = p[0]
    eps = p[1]
    wd = p[2]
    decoupled = p[3] != 0.0
    for j in range(x.shape[0]):
        g = v[j]
        if wd != 0.0:
            if decoupled:
                x[j] *= 1.0 - lr * wd
            else:
                g = g + wd * x[j]
        s = state[j] * alpha + (1.0 - alpha) * g * g
        state[j] = s
        x[j] = x[j] + (-lr) * (g / (math.sqrt(s) + eps))


def _betas_from_rho(lr, rho, name):
    beta = 1.0 - _checks.positive(name, rho) * lr
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"{name} * lr must lie in (0, 1] so that beta = 1 - {name} * lr is in [0, 1), got {rho * lr}")
    return beta


@dataclass(frozen=True, eq=False)
class RMSprop(Optimizer):
    """PyTorch ``torch.optim.RMSprop`` (centered=False, momentum=0):

    ``v_{k+1} = alpha v_k + (1 - alpha) g_k^2``,  ``x_{k+1} = x_k - lr g_k / (sqrt(v_{k+1}) + eps)``,
    eps outside the square root, no bias correction. ``weight_decay`` is coupled L2
    (``g_k <- g_k + wd x_k``); ``RMSpropW`` is the decoupled form. ``v0`` sets
    ``v_0`` (0 or sigma^2; chosen here). Paper parametrisation:
    ``RMSprop.from_rho(lr, rho)`` with ``alpha = 1 - rho lr``.
    """

    lr: float = 0.01
    alpha: float = 0.99
    eps: float = 1e-8
    weight_decay: float = 0.0
    v0: float = 0.0
    schedule: _schedules.Schedule | str | None = None
    agents: int = 1
    compressor: _compressors.Compressor | str | None = None
    _update = staticmethod(_rmsprop_update)
    _init = staticmethod(_rms_init)
    decoupled = False

    def __post_init__(self):
        self._validate_common()
        _checks.in_interval("alpha", self.alpha, 0.0, 1.0)
        _checks.positive("eps", self.eps, allow_zero=True)
        _checks.positive("weight_decay", self.weight_decay, allow_zero=True)
        _checks.positive("v0", self.v0, allow_zero=True)
        self._floats("alpha", "eps", "weight_decay", "v0")

    def state_size(self, d):
        """``d``: the second-moment estimate ``v`` (set to ``v0`` by ``init``)."""
        return d

    def _pack(self):
        return np.array([self.alpha, self.eps, self.weight_decay, 1.0 if self.decoupled else 0.0, self.v0])

    @classmethod
    def from_rho(cls, lr, rho, **kw):
        """Paper parametrisation ``alpha = 1 - rho lr`` (arXiv 2411.15958, its scaling regime)."""
        return cls(lr=lr, alpha=_betas_from_rho(lr, rho, "rho"), **kw)


@dataclass(frozen=True, eq=False)
class RMSpropW(RMSprop):
    """RMSprop with decoupled weight decay (arXiv 2411.15958):
    ``x_{k+1} = x_k - lr g_k / (sqrt(v_{k+1}) + eps) - lr wd x_k``."""

    decoupled = True


# ------------------------------------------------------------------------------ Adam
@kernel
def _adam_bias_corrections(b1, b2, k):
    """``(1 - beta1^(k+1), sqrt(1 - beta2^(k+1)))``, as torch computes them."""
    step = k + 1.0
    return 1.0 - b1**step, math.sqrt(1.0 - b2**step)


@kernel
def _adam_bias_table(b1, b2, steps):
    out = np.empty(2 * steps)
    for k in range(steps):
        out[2 * k], out[2 * k + 1] = _adam_bias_corrections(b1, b2, k)
    return out


@kernel
def _adam_update(x, v, state, k, lr, p):
    # p = [beta1, beta2, eps, weight_decay, decoupled]; state = [m (d), v (d)].
    # torch.optim.Adam/AdamW (single tensor, float64) operation by operation, except that
    # sqrt(v) / sqrt(1 - beta2^(k+1)) is taken as sqrt(v) * (1 / sqrt(1 - beta2^(k+1))): a
    # division per coordinate costs about 0.2 ns per scalar update and the rounding differs by
    # an ulp (torch's own CPU kernels already differ from their formulas by ~1e-13 relative
    # after a few hundred steps; tests compare with torch to 1e-13).
    # p may carry the bias corrections of every iteration after the 5 scalars (pack_for):
    # two powers per path and iteration otherwise cost about 1 ns per scalar update at d = 32
    b1 = p[0]
    b2 = p[1]
    eps = p[2]
    wd = p[3]
    decoupled = p[4] != 0.0
    d = x.shape[0]
    if p.shape[0] >= 7 + 2 * k:
        bc1 = p[5 + 2 * k]
        bc2_sqrt = p[6 + 2 * k]
    else:
        bc1, bc2_sqrt = _adam_bias_corrections(b1, b2, k)
    step_size = lr / bc1
    inv_bc2_sqrt = 1.0 / bc2_sqrt
    w = 1.0 - b1
    if wd == 0.0 and abs(w) < 0.5:  # the common case, as a loop without branches
        for j in range(d):
            g = v[j]
            m = state[j] + w * (g - state[j])
            state[j] = m
            s = state[d + j] * b2 + (1.0 - b2) * g * g
            state[d + j] = s
            x[j] = x[j] + (-step_size) * (m / (math.sqrt(s) * inv_bc2_sqrt + eps))
        return
    for j in range(d):
        g = v[j]
        if wd != 0.0:
            if decoupled:
                x[j] *= 1.0 - lr * wd
            else:
                g = g + wd * x[j]
        m = state[j]
        # torch.lerp(m, g, w)
        if abs(w) < 0.5:
            m = m + w * (g - m)
        else:
            m = g - (g - m) * (1.0 - w)
        state[j] = m
        s = state[d + j] * b2 + (1.0 - b2) * g * g
        state[d + j] = s
        denom = math.sqrt(s) * inv_bc2_sqrt + eps
        x[j] = x[j] + (-step_size) * (m / denom)


@dataclass(frozen=True, eq=False)
class Adam(Optimizer):
    """PyTorch ``torch.optim.Adam`` (amsgrad=False, maximize=False):

    ``m_{k+1} = beta1 m_k + (1 - beta1) g_k``, ``v_{k+1} = beta2 v_k + (1 - beta2) g_k^2``,
    ``x_{k+1} = x_k - lr m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m_{k+1}/(1 - beta1^(k+1))``,
    ``v_hat = v_{k+1}/(1 - beta2^(k+1))`` (eps outside the root, bias correction with
    exponent k+1). ``weight_decay`` is coupled L2; see ``AdamW`` for decoupled decay.
    Paper parametrisation: ``Adam.from_rho(lr, rho1, rho2)`` with ``beta_i = 1 - rho_i lr``.
    """

    lr: float = 0.001
    betas: tuple = (0.9, 0.999)
    eps: float = 1e-8
    weight_decay: float = 0.0
    schedule: _schedules.Schedule | str | None = None
    agents: int = 1
    compressor: _compressors.Compressor | str | None = None
    _update = staticmethod(_adam_update)
    _init = staticmethod(_zero_init)
    decoupled = False

    def __post_init__(self):
        self._validate_common()
        if not isinstance(self.betas, (tuple, list)) or len(self.betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {self.betas!r}")
        _checks.in_interval("betas[0]", self.betas[0], 0.0, 1.0)
        _checks.in_interval("betas[1]", self.betas[1], 0.0, 1.0)
        object.__setattr__(self, "betas", (float(self.betas[0]), float(self.betas[1])))
        _checks.positive("eps", self.eps, allow_zero=True)
        _checks.positive("weight_decay", self.weight_decay, allow_zero=True)
        self._floats("eps", "weight_decay")

    def state_size(self, d):
        """``2 d``: the moments ``[m (d), v (d)]``, both zero at the start."""
        return 2 * d

    def _pack(self):
        return np.array([self.betas[0], self.betas[1], self.eps, self.weight_decay, 1.0 if self.decoupled else 0.0])

    def _pack_steps(self, steps: int) -> np.ndarray:
        """The bias corrections of iterations ``0..steps-1`` (computed once per run by the same
        compiled expression as the update's fallback, so the numbers are identical)."""
        return _adam_bias_table(self.betas[0], self.betas[1], steps)

    @classmethod
    def from_rho(cls, lr, rho1, rho2, **kw):
        """Paper parametrisation ``beta_i = 1 - rho_i lr`` (arXiv 2411.15958, its scaling regime)."""
        return cls(lr=lr, betas=(_betas_from_rho(lr, rho1, "rho1"), _betas_from_rho(lr, rho2, "rho2")), **kw)

    @property
    def rho(self):
        """``(rho1, rho2) = ((1 - beta1)/lr, (1 - beta2)/lr)``."""
        return ((1 - self.betas[0]) / self.lr, (1 - self.betas[1]) / self.lr)


@dataclass(frozen=True, eq=False)
class AdamW(Adam):
    """PyTorch ``torch.optim.AdamW``: Adam with decoupled weight decay
    ``x <- x (1 - lr wd)`` before the Adam step (default ``weight_decay = 0.01``)."""

    weight_decay: float = 0.01
    decoupled = True


# ------------------------------------------------------------------ user-defined
@dataclass(frozen=True, eq=False)
class Custom(Optimizer):
    """A server rule from the user's own numba ``@njit`` functions (e.g. in a notebook cell).

    ``update(x, v, state, k, lr_k, p)`` moves ``x`` in place given the aggregated direction
    ``v``, the iteration ``k`` and the step ``lr_k = lr * eta_k``; ``state`` is the path's block
    of ``state_size`` floats (an int, or a callable of ``d``), set by ``init(state, p)`` at the
    start of every path (zeros without one); ``p`` is the float vector ``params``. Agents,
    compressor and schedule work as for every other optimizer. Compiled code is keyed by the
    functions themselves, so a redefined function takes effect at once.
    """

    update: Callable = None
    init: Callable | None = None
    state_size_: int | Callable = 0
    params: tuple | np.ndarray = ()
    lr: float = 0.01
    schedule: _schedules.Schedule | str | None = None
    agents: int = 1
    compressor: _compressors.Compressor | str | None = None
    name: str = "custom"

    def __post_init__(self):
        self._validate_common()
        check_user_kernels(self, {"update": self.update}, {"init": self.init})
        store_user_params(self)
        check_state_size("state_size_", self.state_size_)

    @property
    def kernels(self):
        """The user's ``update`` and ``init`` (a zeroing ``init`` when none is given)."""
        return OptimizerKernels(self.update, self.init if self.init is not None else _zero_init)

    def state_size(self, d):
        """``state_size_`` (``state_size_(d)`` when it is a callable)."""
        n = self.state_size_(d) if callable(self.state_size_) else self.state_size_
        return _checks.integer("state_size_", n)

    def _pack(self):
        return np.array(self.params, dtype=np.float64)


_BY_NAME = {
    "sgd": SGD, "normalized_sgd": NormalizedSGD, "clipped_sgd": ClippedSGD,
    "rmsprop": RMSprop, "rmspropw": RMSpropW, "adam": Adam, "adamw": AdamW,
    "dsgd": DSGD, "dcsgd": DCSGD, "signsgd": SignSGD, "dsignsgd": DSignSGD,
}


def make(name: str, **kwargs) -> Optimizer:
    """An optimizer by name: sgd, dsgd, dcsgd, signsgd, dsignsgd, normalized_sgd,
    clipped_sgd, rmsprop, rmspropw, adam, adamw, sgdm, heavy_ball, coordinate_clipped_sgd, local_sgd,
    ef21, normalized_ef21, clip21, clip21_sgd2m."""
    _checks.one_of("name", name.lower() if isinstance(name, str) else name, _BY_NAME)
    return _BY_NAME[name.lower()](**kwargs)


from .momentum import SGDM, HeavyBall  # noqa: E402  (momentum server rules, in their own module)
from .clipping import CoordinateClippedSGD  # noqa: E402
from .federated import LocalSGD  # noqa: E402  (local steps and partial participation)
_BY_NAME.update(sgdm=SGDM, heavy_ball=HeavyBall, coordinate_clipped_sgd=CoordinateClippedSGD, local_sgd=LocalSGD)


# ------------------------------------------------- error feedback and clipping at the agents
def EF21SGD(lr: float = 0.01, agents: int = 1, compressor=None, schedule=None) -> SGD:
    """EF21 (arXiv 2106.05203): each agent keeps ``g_i <- g_i + C_i(v_i - g_i)`` and sends ``g_i``;
    the server steps ``x_{k+1} = x_k - lr eta_k (1/N) sum_i g_i``. ``SGD`` with the compressor
    ``compressors.EF21(compressor)`` (default inner compressor: top-1)."""
    inner = _compressors.TopK(1) if compressor is None else compressor
    return SGD(lr=lr, agents=agents, compressor=_compressors.EF21(inner), schedule=schedule)


def NormalizedEF21(lr: float = 0.01, agents: int = 1, compressor=None, schedule=None) -> NormalizedSGD:
    """Normalized EF21, ``||EF21||`` (Khirirat, Sadiev, Riabinin, Gorbunov, Richtarik, arXiv 2410.16871,
    its Section 4): the agents run EF21 (``g_i <- g_i + C_i(v_i - g_i)``) and the server normalises
    the aggregate, ``x_{k+1} = x_k - lr eta_k g_k / ||g_k||``, ``g_k = (1/N) sum_i g_i`` (no step when
    ``g_k = 0``). ``NormalizedSGD`` with ``compressors.EF21(compressor)`` (default inner: top-1)."""
    inner = _compressors.TopK(1) if compressor is None else compressor
    return NormalizedSGD(lr=lr, agents=agents, compressor=_compressors.EF21(inner), schedule=schedule)


def Clip21SGD(lr: float = 0.01, clip: float = 1.0, agents: int = 1, schedule=None) -> SGD:
    """Clip21 (Khirirat et al., arXiv 2305.18929): EF21 with clipping as the compressor,
    ``g_i <- g_i + clip_c(v_i - g_i)``, ``clip_c(y) = min(1, c/||y||) y``, and the server step
    ``x_{k+1} = x_k - lr eta_k (1/N) sum_i g_i``. ``SGD`` with ``compressors.Clip21(clip)``
    (``clip`` shared or one per agent)."""
    return SGD(lr=lr, agents=agents, compressor=_compressors.Clip21(clip), schedule=schedule)


def Clip21SGD2M(lr: float = 0.01, clip: float = 1.0, beta: float = 0.1, server_beta: float | None = None,
                agents: int = 1, dp_sigma: float = 0.0, schedule=None) -> HeavyBall:
    """Clip21-SGD2M (Islamov, Horvath, Lucchi, Richtarik, Gorbunov, arXiv 2502.11682): double momentum,
    error feedback and clipping, as its abstract describes (the exact form is our reading: "derived").

    Agent ``i``: ``m_i <- (1 - beta) m_i + beta v_i`` (client momentum of its oracle output
    ``v_i``), ``g_i <- g_i + clip_c(m_i - g_i) [+ dp_sigma xi_i]`` (Clip21 error feedback,
    optional Gaussian DP noise ``xi_i ~ N(0, I)``), sends ``g_i``; ``m_i = g_i = 0`` at the start.
    Server: ``M <- (1 - server_beta) M + server_beta (1/N) sum_i g_i`` (``M = 0`` at the start),
    ``x_{k+1} = x_k - lr eta_k M``. ``server_beta`` defaults to ``beta``; both lie in (0, 1] (1: no
    momentum on that side). Built as ``HeavyBall(lr, beta=1 - server_beta)`` around the compressor
    ``compressors.EF21(Clip(clip), beta=beta, dp_sigma=dp_sigma)``.
    """
    sb = beta if server_beta is None else server_beta
    sb = _checks.in_interval("server_beta", sb, 0.0, 1.0, closed_lo=False, closed_hi=True)
    comp = _compressors.EF21(_compressors.Clip(clip), beta=beta, dp_sigma=dp_sigma)
    return HeavyBall(lr=lr, beta=1.0 - sb, agents=agents, compressor=comp, schedule=schedule)


_BY_NAME.update(ef21=EF21SGD, normalized_ef21=NormalizedEF21, clip21=Clip21SGD, clip21_sgd2m=Clip21SGD2M)
