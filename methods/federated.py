"""Federated methods: agents with their own objectives, local steps and partial participation.

**Heterogeneous agents** (``landscapes.PerAgent``). Agent ``i`` minimises its own ``f_i`` (``N``
landscapes of one separable class, e.g. diagonal quadratics with their own curvatures
``lambda_i`` and minimisers ``c_i``), and the global objective is their mean

    F(x) = (1/N) sum_i f_i(x).

The landscape's ``value`` and ``grad`` are those of ``F`` (what the engines record:
``F(x) - F_star`` and ``||grad F(x)||``); the engine's per-agent loop gives agent ``i``'s oracle its
own gradient ``grad f_i`` at the agent's point (``agent_grad``), before the agent's noise. For
diagonal quadratics ``argmin F = sum_i lambda_i c_i / sum_i lambda_i`` coordinate by coordinate
and ``F_star = F(argmin F)`` (closed form); otherwise ``F_star`` is numerical (L-BFGS-B) or given.
With one curvature shared by every agent local steps do not drift on quadratics (the local map
is affine with one linear part, so the average of the agents' fixed points is the server's);
client drift needs different curvatures.

**Local steps** (``optimizers.LocalSGD``, FedAvg with a server step size). Each agent holds its
own iterate ``x_i``; one engine *iteration* ``k`` is one local step of every participating agent:

    x_i <- x_i - lr eta_k g_i(x_i),        g_i(x_i) = grad f_i(x_i) + Z_i (its own noise),

and after every ``tau``-th iteration (``k = tau - 1, 2 tau - 1, ...``) the server communicates:

    x <- x + lr_server * (1/|S|) sum_{i in S} (x_i - x),      then x_i <- x for every agent,

``S`` the round's participants (no update when ``S`` is empty). The server's iterate ``x`` is
what the engine records (``F(x) - F_star`` at save points; between two communications it is the
last round's). Iteration ``k`` is one local step, so a run of ``steps`` iterations is
``steps / tau`` rounds, and the SDE time is ``t = k * lr`` (``Run.t``, ``TimeGrid(lr)``) as for
SGD: one agent, ``tau = 1`` and ``lr_server = 1`` is SGD with step ``lr`` exactly. The server
step is the optimizer's ``update`` kernel (SGD) applied to the pseudo-gradient
``v = -(1/|S|) sum_{i in S} (x_i - x)`` with step ``lr_server`` (the FedOpt form, Reddi et al.,
arXiv 2003.00295).

State: one block per agent of ``d + 1`` floats, ``[x_i - x (d), participates_i]`` (the agent's
displacement from the server iterate, zero at the start of every round, so the state needs no
copy of ``x0``; the agent evaluates its gradient at ``x + (x_i - x)``).

**Partial participation** (per round, drawn at its first local step from the path's generator,
``methods.rng``, so results are bit-identical for any thread count): ``clients_per_round = m``
takes a uniformly random subset of ``m`` of the ``N`` agents without replacement (selection
sampling: agent ``i`` is taken with probability ``(m - taken) / (N - i)``), ``participation = p``
takes each agent independently with probability ``p``; both draw ``N`` uniforms per round. Agents
outside ``S`` do not compute (no gradient, no noise draw) during the round.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks, rng as _rng
from . import compressors as _compressors
from . import schedules as _schedules
from ._jit import inline_kernel, kernel
from .component import State, shape_of
from .optimizers import Optimizer, _sgd_update, _zero_init


# ------------------------------------------------------------------ local steps
@inline_kernel
def draw_participants(rng, server, agents, bs, p):
    """Draw a round's participants into the flags ``server[a * bs + bs - 1]`` (``p[2]``: 1 = ``m``
    of ``N`` without replacement with ``m = p[3]``, 2 = Bernoulli(``p[3]``)); ``N`` uniforms."""
    flag = bs - 1
    if p[2] == 1.0:
        need = p[3]
        left = float(agents)
        for a in range(agents):
            take = _rng.uniform(rng) * left < need
            server[a * bs + flag] = 1.0 if take else 0.0
            if take:
                need -= 1.0
            left -= 1.0
    else:
        q = p[3]
        for a in range(agents):
            server[a * bs + flag] = 1.0 if _rng.uniform(rng) < q else 0.0


def _communicator(update):
    """``communicate(x, v, server, agents, bs, r, p)``: the server's step of round ``r``,
    ``v = -(1/|S|) sum_{i in S} (x_i - x)`` and ``update(x, v, ., r, lr_server = p[0], p)``, then every
    displacement reset to zero (each agent restarts from ``x``; no update when ``S`` is empty)."""

    @inline_kernel
    def communicate(x, v, server, agents, bs, r, p):
        d = x.shape[0]
        partial = p[2] != 0.0
        for j in range(d):
            v[j] = 0.0
        count = 0
        for a in range(agents):
            o = a * bs
            if partial and server[o + d] == 0.0:
                continue
            count += 1
            for j in range(d):
                v[j] += server[o + j]
        if count > 0:
            inv = 1.0 / count
            for j in range(d):
                v[j] = -(v[j] * inv)
            update(x, v, server[0:0], r, p[0], p)
        for a in range(agents):
            o = a * bs
            for j in range(d):
                server[o + j] = 0.0

    return communicate


_COMMUNICATORS: dict = {}


def communicator(update):
    """The compiled ``communicate`` for a server ``update`` (one per update kernel)."""
    if update not in _COMMUNICATORS:
        _COMMUNICATORS[update] = _communicator(update)
    return _COMMUNICATORS[update]


@kernel
def _apply_local(server, o, lr_k, t):
    for j in range(t.shape[0]):
        server[o + j] -= lr_k * t[j]


@inline_kernel
def _no_coord(xj, j, p):
    return 0.0


@inline_kernel
def _whole(p, agent):
    return p


def point_grad_kernel(grad, coord=None, agent_params=None):
    """``point_grad(x, dx, o, lp, agent, v, out)``: the agent's point ``v = x + dx[o:o + d]`` and the
    gradient there, ``out = grad f_agent(v)``, in one pass for separable landscapes (``coord``:
    ``coord_grad(vj, j, q)`` with ``q = agent_params(lp, agent)``, or ``lp`` itself without
    ``agent_params``), else ``grad(v, lp, out)`` after the pass."""
    mode = 0 if coord is None else (1 if agent_params is None else 2)
    coord = _no_coord if coord is None else coord
    agent_params = _whole if agent_params is None else agent_params

    @inline_kernel
    def point_grad(x, dx, o, lp, agent, v, out):
        d = x.shape[0]
        if mode == 0:
            for j in range(d):
                v[j] = x[j] + dx[o + j]
            grad(v, lp, out)
        else:
            q = agent_params(lp, agent)
            for j in range(d):
                vj = x[j] + dx[o + j]
                v[j] = vj
                out[j] = coord(vj, j, q)

    return point_grad


def local_model(value_grad, grad, sample, factor, update, init, noise_init, init_blocks_factory, needs_gn2,
                point_grad):
    """LocalSGD as a model of the Monte Carlo core over the discrete engine's chunk tuple ``m``
    (``methods.engine._buffers``): see the module docstring for the iteration; ``point_grad`` from
    ``point_grad_kernel`` gives an agent's point and its gradient there. The server block
    ``m[7]`` holds one block of ``d + 1`` floats per agent; ``m[4]`` (``v``) holds an agent's point
    ``x + (x_i - x)``, ``m[3]`` its exact gradient there and ``m[2]`` its oracle output."""
    init_server = init_blocks_factory(init, init)
    communicate = communicator(update)
    init_noise = init_blocks_factory(noise_init, init)

    @inline_kernel
    def start(m):
        x, g, gi, ti, v, x0, state, server, comp0, noise0, layout, iwork, lp, npar, cp, op, sp, agents, lr, f_star = m
        for j in range(x.shape[0]):
            x[j] = x0[j]
        d = x.shape[0]
        init_server(state, 0, d + 1, agents, op)
        ss = layout[0]
        cs = layout[1]
        init_noise(state, ss + agents * cs, layout[2], agents, npar)

    @inline_kernel
    def advance(rng, k, observed, m):
        x, g, gi, ti, v, x0, state, server, comp0, noise0, layout, iwork, lp, npar, cp, op, sp, agents, lr, f_star = m
        d = x.shape[0]
        bs = d + 1
        tau = int(op[1])
        partial = op[2] != 0.0
        j0 = k % tau
        if partial and j0 == 0:
            draw_participants(rng, server, agents, bs, op)
        no = layout[0] + agents * layout[1]
        ns = layout[2]
        lr_k = lr * factor(k, g, v, sp)
        for a in range(agents):
            o = a * bs
            if partial and server[o + d] == 0.0:
                continue
            point_grad(x, server, o, lp, a, v, ti)
            gn2 = 0.0
            if needs_gn2:
                for j in range(d):
                    gn2 += ti[j] * ti[j]
            sample(rng, v, ti, gn2, lp, npar, a, state[no + a * ns:no + (a + 1) * ns], gi)
            for j in range(d):
                server[o + j] -= lr_k * gi[j]
        if j0 == tau - 1:
            communicate(x, v, server, agents, bs, k // tau, op)

    from .engine import observe_model  # the engine imports this module lazily (no cycle at import)

    return start, advance, observe_model(value_grad)


@dataclass(frozen=True, eq=False)
class LocalSGD(Optimizer):
    """Local SGD / FedAvg with a server step: ``tau = local_steps`` local SGD steps per agent on its
    own iterate, then ``x <- x + lr_server mean_{i in S} (x_i - x)`` (module docstring).

    ``lr``: the client step (``lr_client`` is the same number; the run's SDE time is ``k * lr``,
    ``k`` counting local steps); ``lr_server > 0`` the server step (1: plain averaging);
    ``local_steps = tau >= 1``; ``agents = N``. Partial participation, at most one of:
    ``clients_per_round = m`` (``1 <= m <= N`` agents per round, uniformly without replacement) or
    ``participation = p`` (each agent independently with probability ``0 < p <= 1``). The schedule
    multiplies the client step (``lr eta_k``); it must not read the gradient (``GradNormalized``
    and ``Custom`` are refused: there is no single gradient per iteration). The agents apply
    their oracle outputs as they are (``compressor`` must be the identity). Heterogeneous agents:
    ``landscapes.PerAgent`` with ``agents = N``.
    """

    lr: float = 0.01
    lr_server: float = 1.0
    local_steps: int = 1
    agents: int = 1
    clients_per_round: int | None = None
    participation: float | None = None
    schedule: _schedules.Schedule | str | None = None
    compressor: _compressors.Compressor | str | None = None
    _update = staticmethod(_sgd_update)
    _init = staticmethod(_zero_init)
    local = True

    def __post_init__(self):
        self._validate_common()
        object.__setattr__(self, "lr_server", _checks.positive("lr_server", self.lr_server))
        object.__setattr__(self, "local_steps", _checks.integer("local_steps", self.local_steps, minimum=1))
        if self.clients_per_round is not None and self.participation is not None:
            raise ValueError("clients_per_round and participation are exclusive: give at most one")
        if self.clients_per_round is not None:
            m = _checks.integer("clients_per_round", self.clients_per_round, minimum=1)
            if m > self.agents:
                raise ValueError(f"clients_per_round must be <= agents = {self.agents}, got {m}")
            object.__setattr__(self, "clients_per_round", m)
        if self.participation is not None:
            object.__setattr__(self, "participation",
                               _checks.in_interval("participation", self.participation, 0.0, 1.0, closed_lo=False,
                                                   closed_hi=True))
        if not isinstance(self.compressor, _compressors.Identity):
            raise ValueError("compressor: LocalSGD applies the oracle outputs as they are; give no compressor")
        if not _schedule_ignores_grad(self.schedule):
            raise ValueError("schedule: LocalSGD's schedule must depend on the iteration only (not GradNormalized "
                             "or Custom)")

    @property
    def lr_client(self) -> float:
        """The client step, ``lr``."""
        return self.lr

    @property
    def mode(self) -> int:
        """Participation: 0 every agent, 1 ``clients_per_round`` of them, 2 Bernoulli(``participation``)."""
        return 0 if self.clients_per_round is None and self.participation is None else (
            1 if self.clients_per_round is not None else 2)

    def rule_key(self):
        """The server rule's kernels and the local-steps structure (a different model of the core)."""
        return (tuple(self.kernels), "local")

    def state(self, shape) -> State:
        """One block of ``d + 1`` floats per agent, ``[x_i - x (d), participates_i]``, zero at the start."""
        shape = shape_of(shape)
        return State(shape.d + 1, "agent", self.kernels.init)

    def _pack(self):
        q = {0: 0.0, 1: float(self.clients_per_round or 0), 2: float(self.participation or 0.0)}[self.mode]
        return np.array([self.lr_server, float(self.local_steps), float(self.mode), q])

    # --- Python access to the same compiled kernels
    def local_points(self, x, state) -> np.ndarray:
        """The agents' iterates ``x_i = x + (x_i - x)``, ``(agents, d)``, in the engine's arithmetic:
        where the stochastic gradients passed to ``step`` are evaluated."""
        x = _checks.finite_array("x", x, ndim=1)
        d = x.size
        blocks = self._blocks(state, d)
        return x[None, :] + blocks[:, :d]

    def participants(self, state, d: int) -> np.ndarray:
        """Which agents take part in the current round, a boolean ``(agents,)`` array."""
        if self.mode == 0:
            return np.ones(self.agents, dtype=bool)
        return self._blocks(state, d)[:, d] != 0.0

    def _blocks(self, state, d):
        state = np.asarray(state, dtype=np.float64)
        if state.shape != ((d + 1) * self.agents,):
            raise ValueError(f"state must have shape ({(d + 1) * self.agents},), got {state.shape}")
        return state.reshape(self.agents, d + 1)

    def step(self, x, g, state=None, k: int = 0, *, rng=None, exact_grad=None):
        """Local step ``k`` from Python: returns ``(x_next, state_next)`` (the same compiled kernels as the engine).

        ``g``: ``(agents, d)`` (``(d,)`` for one agent), row ``i`` the stochastic gradient of agent ``i``
        at its iterate (``local_points(x, state)``). At a round's first step (``k % tau == 0``) with
        partial participation the round's participants are drawn from ``rng`` first (``N``
        uniforms, as in the engine); rows of agents outside the round are ignored. After a
        round's last step the server communicates and ``x_next`` is the new server iterate."""
        g, x, d = self._step_arrays(g, x)
        state = self.init_state(d) if state is None else np.array(state, dtype=np.float64)
        self._blocks(state, d)
        k = _checks.integer("k", k)
        rng = _rng.from_user(rng)
        p = self.pack()
        tau, bs = self.local_steps, d + 1
        if self.mode and k % tau == 0:
            _draw_participants(rng, state, self.agents, bs, p)
        lr_k = self.lr * self.schedule.kernels.factor(k, np.zeros(d), np.zeros(d), self.schedule.pack())
        for a in range(self.agents):
            if self.mode and state[a * bs + d] == 0.0:
                continue
            _apply_local(state, a * bs, lr_k, np.ascontiguousarray(g[a]))
        x_next = x.copy()
        if k % tau == tau - 1:
            _communicate_sgd(x_next, np.empty(d), state, self.agents, bs, k // tau, p)
        return x_next, state


@kernel
def _draw_participants(rng, server, agents, bs, p):
    draw_participants(rng, server, agents, bs, p)


_communicate_sgd = communicator(_sgd_update)


def _schedule_ignores_grad(schedule) -> bool:
    from .engine import _schedule_ignores_grad as ignores

    return ignores(schedule)
