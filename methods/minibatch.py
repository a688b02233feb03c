"""The minibatch oracle of a finite-sum landscape: ``g = (1/B) sum_{i in S} grad f_i(x)``.

``Minibatch(landscape, batch=B, replacement=False, reshuffle=False, shards=None)`` is a noise
model (``methods.noise``, exported there as ``noise.Minibatch``) for the finite-sum landscapes of
``methods.finite_sum``. Agent ``a`` draws its batch ``S`` from its shard ``I_a`` (``shards``: one
index array per agent, e.g. from ``finite_sum.shards``; ``None``: every agent uses all ``n``
samples), ``n_a = |I_a|``:

* ``replacement=False`` (default): ``S`` a uniformly random ``B``-subset of ``I_a``, drawn afresh
  every step (a partial Fisher-Yates shuffle of the agent's permutation, ``O(B)``);
  ``B = n_a`` takes the whole shard in index order, so a full batch is bit-identical to the
  exact gradient (``noise=None``) on one agent holding all samples;
* ``replacement=True``: ``B`` independent uniform draws from ``I_a``;
* ``reshuffle=True``: random reshuffling: at the start of every epoch the agent's shard is
  permuted afresh and cut into consecutive batches of ``B`` (the last one of an epoch holds the
  ``n_a mod B`` left over when ``B`` does not divide ``n_a``), so every sample is visited exactly
  once per epoch of ``ceil(n_a / B)`` steps.

Mean and covariance of one step (the classical finite-population results; e.g. Cochran 1977, and
arXiv 1511.06251's SME for SGD on a finite sum): ``E g = grad f_{I_a}(x)`` and

    ``Cov g = c(n_a, B) Cov_{i in I_a} grad f_i(x)``,  ``Cov_i = (1/n_a) sum_i (g_i - gbar)(g_i - gbar)^T``

(the population covariance of the per-sample gradients), with ``c = (n_a - B) / (B (n_a - 1))``
without replacement (also the per-step law of random reshuffling when ``B`` divides ``n_a``; the
correlation between the steps of one epoch is not part of it) and ``c = 1 / B`` with replacement.
``c_factor`` gives it; ``covariance_at(x)`` and ``factor_at(x)`` give ``Cov g`` and a ``d x n_a``
factor of it.

State (per agent, ``methods.component``): ``[ready, position, permutation (max n_a), scratch (B)]``;
zeros at the start of a path, the kernel fills the permutation with the agent's shard on its first
call. The kernel reads the landscape's ``batch_grad`` (compiled in), and the data through ``lp``:
run it on the same landscape it was built with. ``sde_rows`` / ``sde_seed`` only concern the SDE model
(``sde.finite_sum``): its covariance factor from a fixed subsample of rows.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _checks, rng as _rng
from ._jit import inline_kernel
from .component import State, shape_of
from .noise import Noise, NoiseKernels

_SAMPLERS: dict = {}
_OFF = 4  # p = [B, mode, agents, m_max, offsets (agents), sizes (agents), indices (sum n_a)]
WITHOUT, WITH, RESHUFFLE = 0, 1, 2


def _sampler_for(batch_grad):
    if batch_grad in _SAMPLERS:
        return _SAMPLERS[batch_grad]

    @inline_kernel
    def sample(rng, x, g, gn2, lp, p, agent, state, out):
        B = int(p[0])
        mode = int(p[1])
        A = int(p[2])
        mmax = int(p[3])
        off = int(p[_OFF + agent])
        na = int(p[_OFF + A + agent])
        idx0 = _OFF + 2 * A + off
        if mode == 1:
            scratch = state[2 + mmax:2 + mmax + B]
            for b in range(B):
                scratch[b] = p[idx0 + _rng.integers(rng, na)]
            batch_grad(x, scratch, B, lp, out)
            return
        perm = state[2:2 + mmax]
        if state[0] == 0.0:  # first call of the path: the agent's shard, in index order
            for q in range(na):
                perm[q] = p[idx0 + q]
            state[0] = 1.0
            state[1] = float(na)  # reshuffling: start with a fresh epoch
        if mode == 0:
            if B < na:  # a uniform B-subset: the first B places of a partial Fisher-Yates shuffle
                for b in range(B):
                    j = b + _rng.integers(rng, na - b)
                    tmp = perm[b]
                    perm[b] = perm[j]
                    perm[j] = tmp
            batch_grad(x, perm, B, lp, out)
        else:
            pos = int(state[1])
            if pos >= na:  # a new epoch: a fresh uniform permutation (Fisher-Yates)
                for q in range(na - 1):
                    j = q + _rng.integers(rng, na - q)
                    tmp = perm[q]
                    perm[q] = perm[j]
                    perm[j] = tmp
                pos = 0
            cnt = min(B, na - pos)
            batch_grad(x, perm[pos:pos + cnt], cnt, lp, out)
            state[1] = float(pos + cnt)

    _SAMPLERS[batch_grad] = sample
    return sample


def c_factor(n: int, batch: int, replacement: bool) -> float:
    """``c(n, B)`` with ``Cov g = c Cov_i grad f_i`` (``Cov_i`` the population covariance; see the module)."""
    if replacement:
        return 1.0 / batch
    return 0.0 if n == 1 else (n - batch) / (batch * (n - 1))


@dataclass(frozen=True, eq=False)
class Minibatch(Noise):
    """Minibatch sampling of a finite-sum landscape (see the module docstring for the law)."""

    landscape: object = None
    batch: int = 1
    replacement: bool = False
    reshuffle: bool = False
    shards: tuple | None = field(default=None, repr=False)
    sde_rows: int | None = None  # the SDE's covariance factor: a fixed subsample of rows per agent (None: all)
    sde_seed: int = 0
    needs_full_grad = False  # the oracle never reads the exact gradient the engine hands it

    def __post_init__(self):
        from .finite_sum import FiniteSum

        if not isinstance(self.landscape, FiniteSum):
            raise ValueError(f"landscape must be a methods.finite_sum landscape, got {self.landscape!r}")
        _checks.integer("batch", self.batch, minimum=1)
        if self.sde_rows is not None:
            _checks.integer("sde_rows", self.sde_rows, minimum=2)
        _checks.integer("sde_seed", self.sde_seed)
        if self.replacement and self.reshuffle:
            raise ValueError("reshuffle: random reshuffling draws without replacement; set replacement=False")
        n = self.landscape.n
        if self.shards is not None:
            sh = []
            for s in self.shards:
                s = np.asarray(s)
                if s.ndim != 1 or s.size == 0 or not np.issubdtype(s.dtype, np.integer):
                    raise ValueError("shards must be non-empty 1-D integer index arrays, one per agent")
                if s.min() < 0 or s.max() >= n or np.unique(s).size != s.size:
                    raise ValueError(f"shards: indices must be distinct and in [0, {n})")
                sh.append(np.sort(s).astype(np.int64))
            if not sh:
                raise ValueError("shards must hold one index array per agent")
            object.__setattr__(self, "shards", tuple(sh))
        if not self.replacement:
            small = min(self.shard_sizes(len(self.shards) if self.shards else 1))
            if self.batch > small:
                raise ValueError(f"batch = {self.batch} exceeds the smallest shard ({small} samples) without "
                                 "replacement")

    def check_landscape(self, landscape):
        """The engine runs the oracle on ``landscape``'s data (``lp``): it must be the one the oracle was
        built with (its sample indices address that data; compiled code does not bounds-check)."""
        if landscape is not self.landscape:
            raise ValueError("noise: the minibatch oracle was built on another landscape than the one simulated")

    @property
    def mode(self) -> int:
        """The sampling mode code of the kernel: with replacement, without, or reshuffled by epochs."""
        return WITH if self.replacement else (RESHUFFLE if self.reshuffle else WITHOUT)

    @property
    def kernels(self) -> NoiseKernels:
        return NoiseKernels(_sampler_for(self.landscape.sample_kernels.batch_grad), None)

    def children(self):
        return (self.landscape,)

    def structure(self):
        return (self.uses_grad_norm, "minibatch")

    def shard(self, agent: int, agents: int = 1) -> np.ndarray:
        """Agent ``agent``'s sample indices."""
        if self.shards is None:
            return np.arange(self.landscape.n)
        if agents != len(self.shards):
            raise ValueError(f"shards: {len(self.shards)} index arrays for agents = {agents}")
        return self.shards[agent]

    def shard_sizes(self, agents: int) -> list[int]:
        """The number of samples in each agent's shard."""
        return [self.shard(a, agents).size for a in range(agents)]

    def state(self, shape):
        shape = shape_of(shape)
        return State(2 + max(self.shard_sizes(shape.agents)) + self.batch, "agent", None)

    def _pack(self, d, agents):
        if d != self.landscape.d:
            raise ValueError(f"noise: the minibatch oracle's landscape has d = {self.landscape.d}, the problem d = {d}")
        sh = [self.shard(a, agents) for a in range(agents)]
        sizes = np.array([s.size for s in sh], dtype=float)
        offsets = np.concatenate([[0.0], np.cumsum(sizes)[:-1]])
        return np.concatenate([[float(self.batch), float(self.mode), float(agents), sizes.max()], offsets, sizes,
                               np.concatenate(sh).astype(float)])

    def sample(self, grad=None, *, x=None, agent: int = 0, agents: int = 1, rng=None, size=None, landscape=None):
        """Draw ``size`` oracle outputs at ``x`` from Python (``grad`` is ignored: the oracle is the
        batch mean). Successive draws in one call share the agent's state (an epoch of reshuffling
        spans them)."""
        x = np.zeros(self.landscape.d) if x is None else x
        grad = np.zeros(self.landscape.d) if grad is None else grad
        return super().sample(grad, x=x, agent=agent, agents=agents, rng=rng, size=size,
                              landscape=self.landscape if landscape is None else landscape)

    # ---------------------------------------------------------------- second moments
    def c(self, agent: int = 0, agents: int = 1) -> float:
        """The covariance factor ``c(n, B)``: ``(n - B) / (B (n - 1))`` without replacement, ``1 / B`` with (``n`` the agent's shard size)."""
        return c_factor(self.shard(agent, agents).size, self.batch, self.replacement)

    def factor_at(self, x, agent: int = 0, agents: int = 1, rows=None) -> np.ndarray:
        """``G (d x r)`` with ``G G^T = Cov g`` at ``x``: ``G = sqrt(c / n_a) [g_i - gbar]_{i in I_a}``
        (exact). ``rows``: a subset ``R`` of the shard (``r`` rows) gives the estimate
        ``G = sqrt(c (n_a - 1) / (n_a (r - 1))) [g_i - gbar_R]_{i in R}`` (the sample covariance of the
        rows, unbiased for the population covariance's ``n_a / (n_a - 1)`` multiple, rescaled)."""
        shard = self.shard(agent, agents)
        rows = shard if rows is None else np.asarray(rows, dtype=np.int64)
        G = self.landscape.sample_gradients(x, rows)
        G -= G.mean(axis=0)
        n, r = shard.size, rows.size
        scale = 1.0 / n if r == n else (n - 1) / (n * max(r - 1, 1))
        return G.T * np.sqrt(self.c(agent, agents) * scale)

    def covariance_at(self, x, agent: int = 0, agents: int = 1) -> np.ndarray:
        """``Cov g = c(n_a, B) Cov_{i in I_a} grad f_i(x)`` (exact, ``d x d``)."""
        G = self.factor_at(x, agent, agents)
        return G @ G.T

    def covariance(self, d, agents, grad_norm=0.0):
        raise ValueError("noise: the minibatch covariance depends on the point; use covariance_at(x) (the SGD "
                         "SDE models take it through sde.model)")

    def covariance_parts(self, d, agents):
        raise ValueError("noise: the minibatch covariance depends on the point, not only on ||grad f||; only the "
                         "SGD-type SDE models take it (sde.model with an SGD optimizer)")
