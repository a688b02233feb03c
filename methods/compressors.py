"""Compressors ``C(x)`` applied by each agent to its stochastic gradient.

Unbiased ones satisfy ``E C(x) = x`` and ``E ||C(x) - x||^2 <= omega ||x||^2``
(arXiv 2502.17009, the unbiased-compressor assumption); ``omega(d)`` gives the constant (exact where known, see
``omega_exact``). Sign and top-k are biased and are here for contrast (``omega`` is
``None``). Each parameter (``k``, ``p``, ``s``) is a scalar shared by all agents or a
sequence with one value per agent (heterogeneous compression, arXiv 2502.17009:
``omega_bar`` and ``mean(omega sigma^2)`` enter the theory). Every compressor is a component
(``methods.component``); kernel signature:

    ``compress(rng, v, p, agent, state, iwork, out)``   with ``p`` one value per agent

``state`` is the agent's own state block (empty for stateless compressors; error feedback
keeps its memory there). Wrappers hold an inner compressor and compose its key and state:
``ErrorFeedback`` (classic EF) and ``EF21`` (``g_i <- g_i + C(v_i - g_i)``, arXiv 2106.05203);
``Clip(c)`` is norm clipping at each agent and ``Clip21(c) = EF21(Clip(c))`` (arXiv 2305.18929).

``iwork`` is an int64 scratch vector of length ``d`` the engine keeps per chunk; it must
hold a permutation of ``0..d-1`` on entry (rand-k reshuffles it in place).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from typing import Callable, NamedTuple

from . import _checks, rng as _rng
from ._jit import each_row, inline_kernel, kernel
from .elementary import f64_bits as _f64_bits
from .component import (Component, Shape, State, check_state_size, check_user_kernels, init_block, shape_of,
                        store_user_params)


def _per_agent_values(name, value, *, integer=False, lo=None, hi=None, closed_hi=True):
    """Validate a scalar or a 1-D sequence of per-agent values; returns a float array."""
    a = np.atleast_1d(np.asarray(value, dtype=float))
    if a.ndim != 1 or a.size == 0 or not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be a finite scalar or a 1-D sequence with one value per agent, got {value!r}")
    if integer and np.any(a != np.round(a)):
        raise ValueError(f"{name} must hold integers, got {value!r}")
    if lo is not None and np.any(a <= lo):
        raise ValueError(f"{name} must be > {lo}, got {value!r}")
    if hi is not None and np.any(a > hi if closed_hi else a >= hi):
        raise ValueError(f"{name} must be {'<=' if closed_hi else '<'} {hi}, got {value!r}")
    return a


def _ks_at_most_d(comp, d, agents):
    """Per-agent ``k`` of a keep-k compressor, refused by name when some ``k > d``."""
    ks = comp.values(agents)
    if np.any(ks > d):
        raise ValueError(f"k must be <= d = {d}, got k = {comp.k}")
    return ks


class CompressorKernels(NamedTuple):
    """A compressor's compiled functions.

    * ``compress(rng, v, p, agent, state, iwork, out)``: writes ``C_agent(v)`` into ``out``
      (``p``: the packed parameters, one value per agent for the built-in ones; ``state``: the
      agent's state block; ``iwork``: an int64 permutation of ``0..d-1``, see the module);
    * ``init(state, p)``: sets one agent's state block at the start of every path, or ``None``
      (zeros; stateless compressors have an empty block).
    """

    compress: Callable  # compress(rng, v, p, agent, state, iwork, out)
    init: Callable | None = None  # init(state, p) of one agent's block (None: zeros)


class Compressor(Component):
    """Base class (a component of ``methods.component``'s protocol). ``_param`` names the
    per-agent parameter (None: no parameter). Stateful compressors (error feedback) keep one
    state block per agent, given by ``state(shape)``."""

    unbiased: bool = True
    omega_exact: bool = True
    _param: str | None = None
    _init = None

    @property
    def kernels(self) -> CompressorKernels:
        """``CompressorKernels(compress, init)``: the compiled ``compress`` and state ``init``
        (built-in compressors: the class's ``_compress`` and ``_init``)."""
        return CompressorKernels(type(self)._compress, type(self)._init)

    def values(self, agents: int) -> np.ndarray:
        """The per-agent parameter, shape ``(agents,)`` (zeros for parameter-free compressors)."""
        if self._param is None:
            return np.zeros(agents)
        a = np.atleast_1d(np.asarray(getattr(self, self._param), dtype=float))
        if a.size == 1:
            return np.full(agents, a[0])
        if a.size != agents:
            raise ValueError(f"{self._param} has {a.size} per-agent values but agents = {agents}")
        return a.copy()

    @property
    def n_values(self) -> int:
        """How many agents the parameter names (1 when shared)."""
        return 1 if self._param is None else np.atleast_1d(np.asarray(getattr(self, self._param))).size

    def pack(self, shape, agents=None) -> np.ndarray:
        """Parameters for ``Shape(d, agents, steps)`` (or ``pack(d, agents)``): one value per agent."""
        shape = shape_of(shape, agents)
        return np.ascontiguousarray(self._pack(shape.d, shape.agents), dtype=np.float64)

    def _pack(self, d: int, agents: int) -> np.ndarray:
        return self.values(agents)

    def compress_kernel(self):
        """The compiled ``compress`` (the name before the component protocol)."""
        return self.kernels.compress

    def _omega_of(self, value, d):  # pragma: no cover - abstract
        raise NotImplementedError

    def omegas(self, d: int, agents: int) -> np.ndarray | None:
        """``omega_i`` of every agent, or ``None`` for biased compressors."""
        if not self.unbiased:
            return None
        return np.array([self._omega_of(v, d) for v in self.pack(d, agents)])

    def omega(self, d: int):
        """``omega`` (a float when shared by all agents, else one per agent; ``None`` if biased)."""
        om = self.omegas(d, self.n_values)
        if om is None:
            return None
        return float(om[0]) if om.size == 1 else om

    def covariance(self, x, agent: int = 0) -> np.ndarray:
        """``Cov_xi(C_xi(x))`` for a fixed input (used by SDE diffusions)."""
        raise NotImplementedError(f"{type(self).__name__} has no closed-form covariance")

    def covariance_form(self, d: int, agents: int):
        """How ``Cov C_i(x)`` depends on ``x``, for the SDE builders: ``("zero", None)``,
        ``("diagonal", w)`` for ``w_i diag(x^2)``, ``("randk", w)`` for
        ``w_i [diag(x^2) - (x x^T - diag(x^2)) / (d - 1)]`` (``w`` one per agent), or ``None``
        when there is no closed form."""
        return None

    def __call__(self, x, *, rng=None, size: int | None = None, agent: int = 0, state=None) -> np.ndarray:
        """Compress ``x`` (``size`` independent times) from Python, as agent ``agent``.

        A stateful compressor starts from its initial state, or from ``state`` (that agent's
        block, updated in place after each draw)."""
        x = _checks.finite_array("x", x, ndim=1)
        agents = self.n_values
        agent = _checks.integer("agent", agent)
        if agent >= agents and agents > 1:
            raise ValueError(f"agent must be < {agents}, got {agent}")
        p = self.pack(x.size, max(agents, agent + 1))
        st = self.state(Shape(x.size, max(agents, agent + 1)))
        if state is None:
            state = init_block(st, p)
        elif np.shape(state) != (st.size,):
            raise ValueError(f"state must have shape ({st.size},), got {np.shape(state)}")
        rng = _rng.from_user(rng)
        n = 1 if size is None else _checks.integer("size", size, minimum=1)
        out = np.empty((n, x.size))
        each_row(self.kernels.compress)(rng, (x, p, agent, state, np.arange(x.size, dtype=np.int64)), out)
        return out[0] if size is None else out


@kernel
def _identity(rng, v, p, agent, state, iwork, out):
    for j in range(v.shape[0]):
        out[j] = v[j]


@dataclass(frozen=True)
class Identity(Compressor):
    """``C(x) = x``; ``omega = 0`` (DCSGD reduces to DSGD)."""

    _compress = staticmethod(_identity)

    def _omega_of(self, value, d):
        return 0.0

    def covariance_form(self, d, agents):
        """``("zero", None)``: a deterministic map."""
        return ("zero", None)

    def covariance(self, x, agent=0):
        """The zero ``(d, d)`` matrix."""
        x = np.asarray(x, dtype=float)
        return np.zeros((x.size, x.size))


@kernel
def _randk(rng, v, p, agent, state, iwork, out):
    d = v.shape[0]
    k = int(p[agent])
    scale = d / k
    for j in range(d):
        out[j] = 0.0
    # partial Fisher-Yates: the first k entries of any permutation, shuffled, are a
    # uniform k-subset
    for i in range(k):
        r = i + _rng.integers(rng, d - i)
        t = iwork[i]
        iwork[i] = iwork[r]
        iwork[r] = t
        out[iwork[i]] = scale * v[iwork[i]]


@dataclass(frozen=True)
class RandK(Compressor):
    """Keep ``k`` of ``d`` coordinates chosen uniformly without replacement, scale ``d/k``.

    ``omega = d/k - 1`` (tight). Covariance (derived here and Monte Carlo checked):
    ``(d/k - 1) [diag(x^2) - (x x^T - diag(x^2)) / (d - 1)]``.
    """

    k: int | tuple = 1
    _compress = staticmethod(_randk)
    _param = "k"

    def __post_init__(self):
        _per_agent_values("k", self.k, integer=True, lo=0)

    def _pack(self, d, agents):
        return _ks_at_most_d(self, d, agents)

    def _omega_of(self, k, d):
        return d / k - 1.0

    def covariance_form(self, d, agents):
        """``("randk", omega)`` with ``omega_i = d / k_i - 1``."""
        return ("randk", self.omegas(d, agents))

    def covariance(self, x, agent=0):
        """``(d/k - 1) [diag(x^2) - (x x^T - diag(x^2)) / (d - 1)]`` with agent ``agent``'s ``k``
        (zero for ``d = 1``), derived here from ``P(j kept) = k/d`` and
        ``P(i and j kept) = k (k - 1) / (d (d - 1))``."""
        x = np.asarray(x, dtype=float)
        d = x.size
        k = self.pack(d, max(self.n_values, agent + 1))[agent]
        if d == 1:
            return np.zeros((1, 1))
        D = np.diag(x * x)
        return (d / k - 1.0) * (D - (np.outer(x, x) - D) / (d - 1))


@kernel
def _bernoulli(rng, v, p, agent, state, iwork, out):
    q = p[agent]
    for j in range(v.shape[0]):
        out[j] = v[j] / q if _rng.uniform(rng) < q else 0.0


@dataclass(frozen=True)
class Bernoulli(Compressor):
    """Keep each coordinate independently with probability ``p``, scaled by ``1/p``.

    ``omega = 1/p - 1``; covariance ``omega diag(x^2)`` (derived here).
    """

    p: float | tuple = 0.5
    _compress = staticmethod(_bernoulli)
    _param = "p"

    def __post_init__(self):
        _per_agent_values("p", self.p, lo=0.0, hi=1.0)

    def _omega_of(self, p, d):
        return 1.0 / p - 1.0

    def covariance_form(self, d, agents):
        """``("diagonal", omega)`` with ``omega_i = 1 / p_i - 1``."""
        return ("diagonal", self.omegas(d, agents))

    def covariance(self, x, agent=0):
        """``(1/p - 1) diag(x^2)`` with agent ``agent``'s ``p`` (coordinates are kept
        independently, so off-diagonal terms vanish)."""
        x = np.asarray(x, dtype=float)
        p = self.values(max(self.n_values, agent + 1))[agent]
        return (1.0 / p - 1.0) * np.diag(x * x)


@kernel
def _qsgd(rng, v, p, agent, state, iwork, out):
    s = p[agent]
    d = v.shape[0]
    nrm = 0.0
    for j in range(d):
        nrm += v[j] * v[j]
    nrm = math.sqrt(nrm)
    if nrm == 0.0:
        for j in range(d):
            out[j] = 0.0
        return
    for j in range(d):
        a = abs(v[j])
        r = s * a / nrm
        lvl = math.floor(r)
        if _rng.uniform(rng) < r - lvl:
            lvl += 1.0
        sg = 1.0 if v[j] > 0 else (-1.0 if v[j] < 0 else 0.0)
        out[j] = nrm * sg * lvl / s


@dataclass(frozen=True)
class QSGD(Compressor):
    """Random dithering / QSGD with ``s`` levels (Alistarh et al. 2017).

    ``C(x)_j = ||x|| sign(x_j) xi_j / s`` with ``xi_j`` the stochastic rounding of
    ``s |x_j| / ||x||``. Unbiased; ``omega = min(d/s^2, sqrt(d)/s)`` is an upper bound
    (``omega_exact = False``).
    """

    s: int | tuple = 1
    _compress = staticmethod(_qsgd)
    omega_exact = False
    _param = "s"

    def __post_init__(self):
        _per_agent_values("s", self.s, integer=True, lo=0)

    def _omega_of(self, s, d):
        return min(d / s**2, math.sqrt(d) / s)


@kernel
def _sign(rng, v, p, agent, state, iwork, out):
    d = v.shape[0]
    scale = 1.0
    if p[agent] != 0.0:
        l1 = 0.0
        for j in range(d):
            l1 += abs(v[j])
        scale = l1 / d
    for j in range(d):
        x = v[j]
        # NaN stays NaN so divergence is still seen
        out[j] = scale if x > 0 else (-scale if x < 0 else (0.0 if x == 0 else x))


@dataclass(frozen=True)
class Sign(Compressor):
    """``sign(x)`` coordinate-wise (``sign(0) = 0``); biased. ``scaled=True`` gives
    ``||x||_1 / d * sign(x)``. As the transform of SignSGD / DSignSGD it is unscaled."""

    scaled: bool = False
    _compress = staticmethod(_sign)
    unbiased = False

    def _pack(self, d, agents):
        return np.full(agents, 1.0 if self.scaled else 0.0)


@inline_kernel
def _ranks_before(v, a, b):
    """Whether coordinate ``a`` ranks before ``b`` for top-k: larger ``|v|`` first (NaN as the
    largest, so that a diverging path stays NaN), ties to the lower index (a stable order)."""
    x = abs(v[a])
    y = abs(v[b])
    if x != x:
        x = math.inf
    if y != y:
        y = math.inf
    return x > y or (x == y and a < b)


_ABS_MASK = 0x7FFFFFFFFFFFFFFF  # clears the sign bit; also above every magnitude key
_INF_BITS = 0x7FF0000000000000  # the bits of inf; a NaN's magnitude bits are larger


@inline_kernel
def _magnitude_key(x):
    """The bits of ``|x|`` as an int64 (a NaN as ``inf``), whose integer order is the order of the
    magnitudes (non-negative floats order as their bit patterns)."""
    b = _f64_bits(x) & _ABS_MASK
    return _INF_BITS if b > _INF_BITS else b


@inline_kernel
def _magnitude_keys(v, keys):
    """``keys[j] = _magnitude_key(v_j)``; returns the largest key. Integer keys make every later
    pass over them branch-free and vectorised (no NaN semantics in the comparisons)."""
    hi = -1
    for j in range(v.shape[0]):
        b = _magnitude_key(v[j])
        keys[j] = b
        hi = b if b > hi else hi
    return hi


@inline_kernel
def _key_level(keys, m, t):
    """The key level of the ``m``-th ranked coordinate (largest key first), ``0 <= m < d``, from the
    largest key ``t``: one branch-free pass per distinct key among the ``m`` largest, each counting
    the keys equal to the level and finding the next level below, until the levels reached hold
    ``m`` keys. Returns ``(t, need, c)``: the level, how many of the ``c`` keys equal to it are kept
    (those with the lowest indices: ties to the lower index); every key above ``t`` is kept."""
    d = keys.shape[0]
    above = 0  # keys above the level t
    while True:
        c = 0
        nt = -1
        for j in range(d):
            x = keys[j]
            c += x == t
            y = x if x < t else -1
            nt = y if y > nt else nt
        if above + c >= m:
            break
        above += c
        t = nt
    return t, m - above, c


def _selected_pass(apply):
    """The last pass of the key-level selection, ``write(d, v, keys, t, need, c, g, out)`` after
    ``_key_level``: each coordinate's kept value, ``v_j`` or ``0.0``, goes to ``apply(j, s, g, out)``,
    and ``keys`` (the engine's index scratch) is set back to ``0..d-1``; branch-free when every key
    at the level ``t`` is kept, else the ``need`` lowest-indexed of them. ``d`` is the caller's
    (the input's length: a bound taken from a slice of the state, ``w.shape[0]``, measured 30%
    slower in EF21)."""

    @inline_kernel
    def write(d, v, keys, t, need, c, g, out):
        if need == c:
            for j in range(d):
                apply(j, v[j] if keys[j] >= t else 0.0, g, out)
                keys[j] = j
        else:
            for j in range(d):
                x = keys[j]
                if x == t:
                    s = v[j] if need > 0 else 0.0
                    need -= 1
                else:
                    s = v[j] if x > t else 0.0
                apply(j, s, g, out)
                keys[j] = j

    return write


@inline_kernel
def _store(j, s, g, out):  # top-k: out_j = the kept value
    out[j] = s


@inline_kernel
def _add_to_memory(j, s, g, out):  # EF21 around top-k: g_j += the kept value, the agent sends g
    g[j] += s
    out[j] = g[j]


_write_selected = _selected_pass(_store)
_add_selected = _selected_pass(_add_to_memory)


@inline_kernel
def _by_key_levels(k, d):
    """Whether top-k of ``d`` selects by key levels (``_key_level``): ``k <= min(16, d - k)``."""
    return k <= 16 and k <= d - k


@inline_kernel
def _keep_largest(v, m, keys, t, out):
    """``out = v`` on the ``m`` coordinates that rank first (largest key, ties to the lower index),
    0 elsewhere, for ``0 <= m < d``; ``t`` is the largest key (``_key_level``); then one pass
    writes ``out`` and sets ``keys`` (the engine's index scratch) back to ``0..d-1``."""
    t, need, c = _key_level(keys, m, t)
    _write_selected(v.shape[0], v, keys, t, need, c, out, out)


@inline_kernel
def _magnitude(v, j):
    """``|v_j|``, a NaN as ``inf`` (so that a diverging path stays NaN)."""
    x = abs(v[j])
    return math.inf if x != x else x


@inline_kernel
def _select_smallest(v, m, iwork):
    """``iwork[:m]``: the ``m`` coordinates that rank last (smallest ``|v|``, ties to the higher index,
    a NaN as the largest), in one scan with a sorted buffer of ``m``: ``O(d)`` predictable
    comparisons plus ``O(m log(d/m))`` insertions on average. ``iwork`` is a scratch here (the
    caller restores the permutation)."""
    d = v.shape[0]
    n = 0
    last = 0.0  # |v| of iwork[m - 1], the largest kept, once the buffer is full
    for j in range(d):
        x = _magnitude(v, j)
        if n == m:
            # j is later than every index in the buffer: a tie displaces (ties rank last at the higher index)
            if x > last:
                continue
            pos = m - 1
        else:
            pos = n
            n += 1
        while pos > 0:
            if x <= _magnitude(v, iwork[pos - 1]):
                iwork[pos] = iwork[pos - 1]
                pos -= 1
            else:
                break
        iwork[pos] = j
        if n == m:
            last = _magnitude(v, iwork[m - 1])


@kernel
def _topk(rng, v, p, agent, state, iwork, out):
    # the k coordinates that rank first (larger |v|, ties to the lower index, NaN largest), without
    # allocating. The order is strict, so the selected set does not depend on iwork's content on entry.
    # Small k: integer magnitude keys in iwork and one branch-free pass per distinct key level; small
    # d - k: one scan with a sorted buffer of the d - k to drop in iwork (measured faster there than
    # the key levels); then iwork is reset to 0..d-1, a permutation again. Otherwise quickselect on
    # the permutation iwork (deterministic pivots).
    d = v.shape[0]
    k = int(p[agent])
    if k >= d:
        for j in range(d):
            out[j] = v[j]
        return
    if _by_key_levels(k, d):
        _keep_largest(v, k, iwork, _magnitude_keys(v, iwork), out)  # resets iwork to 0..d-1
        return
    if d - k <= 16:  # drop the d - k that rank last
        for j in range(d):
            out[j] = v[j]
        _select_smallest(v, d - k, iwork)
        for i in range(d - k):
            out[iwork[i]] = 0.0
        for j in range(d):
            iwork[j] = j
        return
    for j in range(d):
        out[j] = 0.0
    lo = 0
    hi = d - 1
    while lo < hi:
        mid = (lo + hi) // 2
        piv = iwork[mid]
        iwork[mid] = iwork[hi]
        iwork[hi] = piv
        store = lo
        for i in range(lo, hi):
            if _ranks_before(v, iwork[i], piv):
                t = iwork[i]
                iwork[i] = iwork[store]
                iwork[store] = t
                store += 1
        iwork[hi] = iwork[store]
        iwork[store] = piv
        if store == k - 1:
            break
        if store > k - 1:
            hi = store - 1
        else:
            lo = store + 1
    for i in range(k):
        out[iwork[i]] = v[iwork[i]]


@dataclass(frozen=True)
class TopK(Compressor):
    """Keep the ``k`` largest-magnitude coordinates (deterministic, biased); ties go to the lower
    index (a NaN counts as the largest). Selected without allocating: for ``k <= min(16, d - k)``,
    integer keys of the magnitudes (their bit patterns) and one branch-free, vectorised pass over
    them per distinct magnitude among the ``k`` largest, ``O(k d)``; for ``d - k < k`` with
    ``d - k <= 16`` one scan with a sorted buffer of the ``d - k`` to drop; else quickselect on the engine's index
    scratch, ``O(d)`` on average.

    Contractive: ``||C(x) - x||^2 <= (1 - k/d) ||x||^2``.
    """

    k: int | tuple = 1
    _compress = staticmethod(_topk)
    unbiased = False
    _param = "k"

    def __post_init__(self):
        _per_agent_values("k", self.k, integer=True, lo=0)

    def _pack(self, d, agents):
        return _ks_at_most_d(self, d, agents)

    def contraction(self, d) -> np.ndarray:
        """The contraction factor ``delta_i = 1 - k_i / d`` of every agent, shape ``(agents,)``:
        ``||C(x) - x||^2 <= delta_i ||x||^2``, since the ``d - k`` dropped squares are the
        smallest and so average at most ``||x||^2 / d`` (attained when all ``|x_j|`` are equal)."""
        return 1.0 - self.values(self.n_values) / d


# --------------------------------------------------------------- wrappers and user code
_EF_KERNELS: dict = {}


def _error_feedback_kernels(inner):
    """``compress`` and ``init`` of error feedback around ``inner``'s kernels (one pair per inner)."""
    if inner in _EF_KERNELS:
        return _EF_KERNELS[inner]
    compress_inner, init_inner = inner

    @kernel
    def compress(rng, v, p, agent, state, iwork, out):
        # state = [e (d) | w = e + v (d)]; the inner compressor is stateless
        d = v.shape[0]
        e = state[:d]
        w = state[d:2 * d]
        for j in range(d):
            w[j] = e[j] + v[j]
        compress_inner(rng, w, p, agent, state[:0], iwork, out)
        for j in range(d):
            e[j] = w[j] - out[j]

    @kernel
    def init(state, p):  # e_i = 0 (the inner compressor is stateless)
        for j in range(state.shape[0]):
            state[j] = 0.0

    _EF_KERNELS[inner] = (compress, init)
    return _EF_KERNELS[inner]


class _AroundInner:
    """What a compressor wrapped around ``self.inner`` delegates to it: its key (as the one child)
    and its per-agent parameter."""

    def children(self):
        """``(inner,)``: the inner compressor's key composes into this one's."""
        return (self.inner,)

    @property
    def n_values(self):
        """The inner compressor's ``n_values``."""
        return self.inner.n_values

    def values(self, agents):
        """The inner compressor's per-agent parameter."""
        return self.inner.values(agents)

    def _set_inner(self, what):
        """Resolve ``inner`` (a name or a compressor); a stateful one is refused (its state would clash)."""
        inner = resolve(self.inner)
        if inner.state(Shape(1)).size:
            raise ValueError(f"inner: {what} around a stateful compressor is not supported")
        object.__setattr__(self, "inner", inner)


@dataclass(frozen=True)
class ErrorFeedback(_AroundInner, Compressor):
    """Error feedback around any compressor ``inner`` (Seide et al. 2014; Karimireddy et al. 2019):

    ``w_i = e_i + g_i``,  ``t_i = C_i(w_i)``,  ``e_i <- w_i - t_i``,  ``e_i = 0`` at the start,

    with one memory ``e_i`` per agent (the per-agent state of ``methods.component``), so biased
    compressors (``TopK``, ``Sign``) stop losing what they drop. Its parameters are the inner
    compressor's; it is biased whenever the step it sends is (``unbiased = False``).
    """

    inner: Compressor = None
    unbiased = False

    def __post_init__(self):
        self._set_inner("error feedback")

    @property
    def kernels(self):
        """The error-feedback ``compress`` and ``init`` built around the inner compressor's
        kernels (one compiled pair per inner ``compress``)."""
        return CompressorKernels(*_error_feedback_kernels(tuple(self.inner.kernels)))

    def _pack(self, d, agents):
        return self.inner._pack(d, agents)

    def state(self, shape):
        """``2 d`` floats per agent: the memory ``e_i`` and the scratch ``w_i = e_i + g_i``,
        both zero at the start of a path."""
        return State(2 * shape.d, "agent", self.kernels.init)


@kernel
def _clip(rng, v, p, agent, state, iwork, out):
    c = p[agent]
    n = 0.0
    for j in range(v.shape[0]):
        n += v[j] * v[j]
    n = math.sqrt(n)
    s = c / n if n > c else 1.0  # NaN stays NaN (n > c is False), inf gives NaN
    for j in range(v.shape[0]):
        out[j] = s * v[j]


@dataclass(frozen=True)
class Clip(Compressor):
    """Norm clipping ``clip_c(x) = min(1, c / ||x||) x`` (``clip_c(0) = 0``), deterministic and biased.

    ``c > 0`` is shared or one value per agent. As a compressor it is per-agent clipping in a
    distributed method (DCSGD with ``Clip(c)``: each agent clips its own oracle output before the
    server averages, the "Clip-SGD" baseline of arXiv 2305.18929); inside ``EF21`` it is Clip21
    (``Clip21(c)``). Unlike ``TopK`` it is not contractive for a fixed constant: ``||clip_c(x) -
    x|| = max(0, ||x|| - c)``, which the EF21 analysis of Clip21 handles (arXiv 2305.18929).
    """

    c: float | tuple = 1.0
    _compress = staticmethod(_clip)
    unbiased = False
    _param = "c"

    def __post_init__(self):
        _per_agent_values("c", self.c, lo=0.0)


_EF21_KERNELS: dict = {}


@inline_kernel
def _ef21_topk_update(v, k, g, w, keys, out):
    """EF21 around top-k where top-k selects by key levels (``_by_key_levels``): ``w = v - g`` with
    the magnitude keys of ``w`` in the same pass, the key levels (``_key_level``), then
    ``g += topk(w)``, ``out = g`` and ``keys`` reset to ``0..d-1`` in one pass (``_add_selected``, the
    last pass of ``_keep_largest`` with ``g += s``, ``out = g`` for its store).
    The same numbers as the composition (``_topk`` into ``out``, then ``g += out``, ``out = g``):
    each ``g_j`` gets the same addend, ``w_j`` or ``0.0``, and the same selection (ties to the
    lower index, NaN as the largest)."""
    d = v.shape[0]
    hi = -1
    for j in range(d):
        x = v[j] - g[j]
        w[j] = x
        b = _magnitude_key(x)
        keys[j] = b
        hi = b if b > hi else hi
    t, need, c = _key_level(keys, k, hi)
    _add_selected(d, w, keys, t, need, c, g, out)


def _ef21_kernels(inner):
    """``compress`` and ``init`` of EF21 around ``inner``'s kernels (one pair per inner). Around
    ``TopK`` with small ``k`` (and neither momentum nor DP noise) the memory update is fused into
    the selection (``_ef21_topk_update``; the same numbers)."""
    if inner in _EF21_KERNELS:
        return _EF21_KERNELS[inner]
    compress_inner, init_inner = inner
    fuse_topk = compress_inner is _topk

    @kernel
    def compress(rng, v, p, agent, state, iwork, out):
        # p = [inner's parameters..., beta, dp_sigma]; state = [g (d) | w (d) | m (d), when beta != 1]
        d = v.shape[0]
        n = p.shape[0] - 2
        beta = p[n]
        sig = p[n + 1]
        g = state[:d]
        w = state[d:2 * d]
        if fuse_topk and beta == 1.0 and sig == 0.0:
            k = int(p[agent])
            if _by_key_levels(k, d):
                _ef21_topk_update(v, k, g, w, iwork, out)
                return
        if beta != 1.0:
            m = state[2 * d:3 * d]
            for j in range(d):
                m[j] = (1.0 - beta) * m[j] + beta * v[j]
                w[j] = m[j] - g[j]
        else:
            for j in range(d):
                w[j] = v[j] - g[j]
        compress_inner(rng, w, p[:n], agent, state[:0], iwork, out)
        if sig != 0.0:
            for j in range(d):
                g[j] += out[j] + sig * _rng.normal(rng)
                out[j] = g[j]
        else:
            for j in range(d):
                g[j] += out[j]
                out[j] = g[j]

    @kernel
    def init(state, p):  # g_i = 0 (and m_i = 0); the inner compressor is stateless
        for j in range(state.shape[0]):
            state[j] = 0.0

    _EF21_KERNELS[inner] = (compress, init)
    return _EF21_KERNELS[inner]


@dataclass(frozen=True)
class EF21(_AroundInner, Compressor):
    """EF21 error feedback around any compressor ``inner`` (Richtarik, Sokolov, Fatkhullin, arXiv 2106.05203):

    ``g_i <- g_i + C_i(v_i - g_i)``, agent ``i`` sends ``g_i`` (the server's ``v = mean_i g_i``),

    with one memory ``g_i`` per agent (the per-agent state of ``methods.component``), ``v_i`` the
    agent's oracle output and ``C_i`` the inner compressor (biased ones included: ``TopK``,
    ``Sign``, ``Clip``). Start: ``g_i = 0`` before the first step, so the first step sends
    ``g_i^0 = C_i(v_i(x^0))``, the paper's initialisation; with the method's order (step with
    ``g^t``, then ``g_i^{t+1} = g_i^t + C(grad_i(x^{t+1}) - g_i^t)``) the iterates are the
    paper's exactly (derived here from the two orderings).

    Options (both off by default; used by ``optimizers.Clip21SGD2M``):

    * ``beta`` in (0, 1]: client momentum before the error feedback, ``m_i <- (1 - beta) m_i +
      beta v_i`` (``m_i = 0`` at the start), then ``g_i <- g_i + C_i(m_i - g_i)`` (Clip21-SGD2M,
      arXiv 2502.11682, as its abstract and this issue describe it; the form is our reading,
      "derived"). ``beta = 1``: no momentum (``m_i = v_i``).
    * ``dp_sigma >= 0``: Gaussian noise on the increment, ``g_i <- g_i + C_i(.) + dp_sigma xi``,
      ``xi ~ N(0, I)`` (the local-DP variant of arXiv 2502.11682; our reading, "derived").

    Parameters of the inner compressor work as there (per agent); EF21 is biased
    (``unbiased = False``). ``Clip21(c)`` is ``EF21(Clip(c))``.
    """

    inner: Compressor = None
    beta: float = 1.0
    dp_sigma: float = 0.0
    unbiased = False

    def __post_init__(self):
        self._set_inner("EF21")
        object.__setattr__(self, "beta", _checks.in_interval("beta", self.beta, 0.0, 1.0, closed_lo=False,
                                                             closed_hi=True))
        object.__setattr__(self, "dp_sigma", _checks.positive("dp_sigma", self.dp_sigma, allow_zero=True))

    @property
    def kernels(self):
        """The EF21 ``compress`` and ``init`` built around the inner compressor's kernels (one
        compiled pair per inner ``compress``)."""
        return CompressorKernels(*_ef21_kernels(tuple(self.inner.kernels)))

    def _pack(self, d, agents):
        return np.concatenate([np.asarray(self.inner._pack(d, agents), dtype=np.float64), [self.beta, self.dp_sigma]])

    def state(self, shape):
        """Per agent: the memory ``g_i`` and a scratch ``v_i - g_i`` (``2 d`` floats), plus the
        client momentum ``m_i`` when ``beta < 1`` (``3 d``); all zero at the start of a path."""
        return State((2 if self.beta == 1.0 else 3) * shape.d, "agent", self.kernels.init)


def Clip21(c=1.0) -> EF21:
    """Clip21 (Khirirat et al., arXiv 2305.18929): ``EF21(Clip(c))``, i.e.
    ``g_i <- g_i + clip_c(v_i - g_i)`` per agent, ``g_i = 0`` at the start (see ``EF21``)."""
    return EF21(Clip(c))


def _adapt_custom_compress(user):
    @kernel
    def compress(rng, v, p, agent, state, iwork, out):
        user(rng, v, p, agent, state, out)

    return compress


_CUSTOM: dict = {}


@dataclass(frozen=True, eq=False)
class Custom(Compressor):
    """A compressor from the user's own numba ``@njit`` function (e.g. in a notebook cell).

    ``compress(rng, v, p, agent, state, out)`` writes agent ``agent``'s compressed ``v`` into
    ``out``; ``p`` is the float vector ``params`` (index it by ``agent`` for per-agent values),
    ``state`` the agent's own block of ``state_size`` floats (``state_size`` an int, or a
    callable of ``d``), set by ``init(state, p)`` at the start of every path (zeros without
    one). Draw random numbers with ``methods.rng``. ``unbiased`` and ``omega`` (a float) are
    declarations the theory uses. Compiled code is keyed by the function itself.
    """

    compress_fn: Callable = None
    params: tuple | np.ndarray = ()
    state_size: int | Callable = 0
    init: Callable | None = None
    unbiased: bool = False
    omega_value: float | None = None
    name: str = "custom"

    def __post_init__(self):
        check_user_kernels(self, {"compress_fn": self.compress_fn}, {"init": self.init})
        store_user_params(self)
        check_state_size("state_size", self.state_size)

    @property
    def kernels(self):
        """The protocol ``compress`` wrapped around ``compress_fn`` (one wrapper per user
        function) and the user's ``init``."""
        if self.compress_fn not in _CUSTOM:
            _CUSTOM[self.compress_fn] = _adapt_custom_compress(self.compress_fn)
        return CompressorKernels(_CUSTOM[self.compress_fn], self.init)

    def _pack(self, d, agents):
        return np.array(self.params, dtype=np.float64)

    def state(self, shape):
        """``state_size`` floats per agent (``state_size(d)`` when it is a callable), set by
        ``init``."""
        size = self.state_size(shape.d) if callable(self.state_size) else self.state_size
        return State(_checks.integer("state_size", size), "agent", self.init)

    def _omega_of(self, value, d):
        if self.omega_value is None:
            raise ValueError("omega_value: this custom compressor declares no omega")
        return float(self.omega_value)

    def omegas(self, d, agents):
        """The declared ``omega_value`` for every agent, or ``None`` unless declared unbiased."""
        if not self.unbiased:
            return None
        return np.full(agents, self._omega_of(None, d))


_BY_NAME = {"identity": Identity, "randk": RandK, "bernoulli": Bernoulli, "qsgd": QSGD, "sign": Sign, "topk": TopK,
            "clip": Clip}


def resolve(compressor) -> Compressor:
    """A ``Compressor`` instance, a name from ``identity, randk, bernoulli, qsgd, sign,
    topk, clip`` (default parameters), or ``None`` (identity)."""
    if compressor is None:
        return Identity()
    if isinstance(compressor, Compressor):
        return compressor
    if isinstance(compressor, str):
        _checks.one_of("compressor", compressor.lower(), _BY_NAME)
        return _BY_NAME[compressor.lower()]()
    raise ValueError(f"compressor must be a methods.compressors object or a name, got {compressor!r}")


from .agent_momentum import AgentMomentum  # noqa: E402,F401  (momentum at each agent; a wrapper like EF21)
