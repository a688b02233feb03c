"""Momentum server rules: PyTorch's SGD with momentum, and heavy ball in the EMA parametrisation.

Both are server rules of the protocol in ``methods.optimizers``: the server receives the
averaged (transformed) direction ``v_k`` and applies ``update(x, v, state, k, lr_k, p)``.
With ``agents > 1`` the momentum buffer therefore sits at the server (one buffer per path,
fed with ``v_k = (1/N) sum_i C_i(g_i)``): "server momentum". Momentum kept at each agent
(each agent runs its own buffer and sends it, compressed) is the compressor wrapper
``compressors.AgentMomentum`` (``methods.agent_momentum``), whose per-agent state is the buffer.

``SGDM(lr, momentum, dampening, nesterov, weight_decay)``: exactly ``torch.optim.SGD`` with
momentum (maximize=False), operation by operation in float64. With ``mu = momentum``,
``tau = dampening``, ``wd = weight_decay`` and ``g_k = v_k``:

    g_k <- g_k + wd x_k                                   (coupled weight decay, first)
    b_1 = g_0 (first step);  b_{k+1} = mu b_k + (1 - tau) g_k   (later steps)
    d_k = g_k + mu b_{k+1} (nesterov)  or  d_k = b_{k+1}
    x_{k+1} = x_k - lr eta_k d_k

The first-step rule (torch creates the buffer as a copy of the gradient) is kept by a flag
in the state, not by ``k == 0``, so a run resumed from a given state at any ``k`` is right.
State: ``[b (d), started]``.

``HeavyBall(lr, beta)``: the exponential-moving-average parametrisation used in the SDE
literature and for Adam's first moment,

    m_{k+1} = beta m_k + (1 - beta) g_k,   m_0 = 0,      x_{k+1} = x_k - lr eta_k m_{k+1},

with ``HeavyBall.from_rho(lr, rho)`` for ``beta = 1 - rho lr``. Why this form: with
``rho`` held fixed as ``lr -> 0`` the chain is an Euler scheme of an SDE whose coefficients do
not depend on ``lr`` except through the ``sqrt(lr)`` noise scale (``sde.momentum``), the same
scaling as ``Adam.from_rho``. In exact arithmetic ``HeavyBall(lr, beta)`` is
``SGDM(lr (1 - beta), momentum=beta)`` (then ``m = (1 - beta) b``); the two round differently.
Conversely ``SGDM(lr, mu, tau)`` is heavy ball with step ``lr (1 - tau)/(1 - mu)`` and
``beta = mu``, up to torch's first step when ``tau != 0``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _checks
from . import compressors as _compressors
from . import schedules as _schedules
from ._jit import kernel
from .agent_momentum import torch_momentum
from .optimizers import Optimizer, _zero_init


@kernel
def _sgdm_update(x, v, state, k, lr, p):
    # p = [momentum, dampening, nesterov, weight_decay, copy_first]; state = [b (d), started]
    # torch.optim.SGD (_single_tensor_sgd, float64): grad.add(param, alpha=wd);
    # buf = clone(grad) on the first step, else buf.mul_(mu).add_(grad, alpha=1 - dampening);
    # nesterov: grad.add(buf, alpha=mu); param.add_(grad, alpha=-lr)
    mu = p[0]
    w = 1.0 - p[1]
    nesterov = p[2] != 0.0
    wd = p[3]
    d = x.shape[0]
    first = p[4] != 0.0 and state[d] == 0.0
    state[d] = 1.0
    for j in range(d):
        g = v[j]
        if wd != 0.0:
            g = g + wd * x[j]
        state[j], step = torch_momentum(g, state[j], first, mu, w, nesterov)
        x[j] = x[j] + (-lr) * step


class _MomentumBase(Optimizer):
    _update = staticmethod(_sgdm_update)
    _init = staticmethod(_zero_init)

    def state_size(self, d):
        return d + 1


@dataclass(frozen=True, eq=False)
class SGDM(_MomentumBase):
    """PyTorch ``torch.optim.SGD`` with momentum (see the module docstring for the rule).

    ``momentum`` in [0, 1), ``dampening`` in [0, 1], ``weight_decay >= 0`` (coupled L2);
    ``nesterov=True`` needs ``momentum > 0`` and ``dampening = 0``, as in torch.
    """

    lr: float = 0.01
    momentum: float = 0.9
    dampening: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: _schedules.Schedule | str | None = None
    agents: int = 1
    compressor: _compressors.Compressor | str | None = None

    def __post_init__(self):
        self._validate_common()
        object.__setattr__(self, "momentum", _checks.in_interval("momentum", self.momentum, 0.0, 1.0))
        object.__setattr__(self, "dampening",
                           _checks.in_interval("dampening", self.dampening, 0.0, 1.0, closed_hi=True))
        object.__setattr__(self, "weight_decay", _checks.positive("weight_decay", self.weight_decay, allow_zero=True))
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise ValueError(f"nesterov must be True or False, got {self.nesterov!r}")
        if self.nesterov and (self.momentum <= 0.0 or self.dampening != 0.0):
            raise ValueError("nesterov momentum requires momentum > 0 and dampening = 0 (as in torch)")

    def _pack(self):
        return np.array([self.momentum, self.dampening, 1.0 if self.nesterov else 0.0, self.weight_decay, 1.0])

    @property
    def effective_lr(self) -> float:
        """``lr (1 - dampening) / (1 - momentum)``: the step of the equivalent heavy-ball form."""
        return self.lr * (1.0 - self.dampening) / (1.0 - self.momentum)


@dataclass(frozen=True, eq=False)
class HeavyBall(_MomentumBase):
    """Heavy ball, EMA parametrisation: ``m_{k+1} = beta m_k + (1 - beta) g_k`` (``m_0 = 0``),
    ``x_{k+1} = x_k - lr eta_k m_{k+1}``; ``weight_decay`` adds ``wd x_k`` to ``g_k`` first.
    ``HeavyBall.from_rho(lr, rho)``: ``beta = 1 - rho lr``."""

    lr: float = 0.01
    beta: float = 0.9
    weight_decay: float = 0.0
    schedule: _schedules.Schedule | str | None = None
    agents: int = 1
    compressor: _compressors.Compressor | str | None = None

    def __post_init__(self):
        self._validate_common()
        object.__setattr__(self, "beta", _checks.in_interval("beta", self.beta, 0.0, 1.0))
        object.__setattr__(self, "weight_decay", _checks.positive("weight_decay", self.weight_decay, allow_zero=True))

    def _pack(self):
        # the SGDM kernel with dampening = beta and no first-step copy: b = beta b + (1 - beta) g, b_0 = 0
        return np.array([self.beta, self.beta, 0.0, self.weight_decay, 0.0])

    @classmethod
    def from_rho(cls, lr, rho, **kw):
        """``beta = 1 - rho lr`` (``rho lr`` must lie in (0, 1])."""
        _checks.positive("lr", lr)
        beta = 1.0 - _checks.positive("rho", rho) * lr
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"rho * lr must lie in (0, 1] so that beta = 1 - rho * lr is in [0, 1), got {rho * lr}")
        return cls(lr=lr, beta=beta, **kw)

    @property
    def rho(self) -> float:
        """``(1 - beta) / lr``."""
        return (1.0 - self.beta) / self.lr

    @property
    def effective_lr(self) -> float:
        """``lr``: heavy ball in the EMA form is its own heavy-ball step (``SGDM.effective_lr`` is
        ``lr (1 - dampening)/(1 - momentum)``, the step of its equivalent form)."""
        return self.lr
