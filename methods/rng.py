"""The package's random number generator: xoshiro256++ with a 256-layer ziggurat, inlined.

Why not ``numpy.random.Generator``: numba calls its bit generator through a function
pointer and draws normals at about 10 ns each, which set the floor of every Monte Carlo
loop here. These functions compile inline into the loops that use them, so a normal costs
a few ns and the surrounding arithmetic overlaps with it.

State: a ``uint64`` array of 4 words (``new_state``), one per chunk of paths, seeded from a
``numpy.random.SeedSequence`` so that streams of different chunks and seeds are independent.
The draws themselves work on the state held as a tuple of 4 scalars (``*_t`` functions, which
return the new state): a loop that keeps it in registers never stores it between draws.
``draw(s, ...)`` wrappers load and store the array for a single draw; ``fill_normal`` and
``fill_student_t`` fill a vector with the state held in registers (the fast path).

* Bits: xoshiro256++ (Blackman and Vigna 2019, period ``2^256 - 1``; passes BigCrush).
* ``uniform``: the top 53 bits, ``k / 2^53`` in ``[0, 1)``.
* ``integers(s, n)``: unbiased on ``[0, n)`` by Lemire's multiply-and-reject on 32-bit words
  (``n < 2^32``).
* ``normal``: ziggurat (Marsaglia and Tsang 2000) with 256 layers of equal area whose edges
  are computed below from the density (not copied from a table); the layer index, the sign
  and a 53-bit signed uniform come from one 64-bit draw; the tail beyond ``r`` uses Marsaglia's
  exponential rejection, so the law is exact (to double rounding).
* ``exponential``: ``-log(1 - U)``; ``gamma``: Marsaglia-Tsang (shape < 1 via ``U^(1/a)``).
* ``student_t(T)``, ``T = student_t_table(nu)`` (Cauchy at ``nu = 1``): a
  ziggurat of its own, 256 equal-area layers under the t density built like the normal's (one
  table per ``nu``, cached); the wedges test the density (by multiplications for integer
  ``nu <= 64``), the tail beyond the last layer is an exact Lomax rejection (``student_t_t``);
  ``nu >= NU_MIN = 0.05``. A draw costs about what a normal draw does (medians of three runs of
  ``python -m benchmarks samplers``: t(3) 0.96x, Cauchy 1.15x, t(0.5) 1.8x; the former
  ``N / sqrt(2 G(nu/2) / nu)`` was 6.5x at ``nu = 3``). Compile
  the loops that draw without reference counting, as the engines do: numba otherwise counts a
  reference to the table on every draw.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from scipy import optimize, special

from ._jit import inline_kernel, kernel

LAYERS = 256


def _normal_f(x):
    return math.exp(-0.5 * x * x)


def _normal_f_inv(y):
    return math.sqrt(-2.0 * math.log(y))


def _normal_tail(r):
    return math.sqrt(math.pi / 2) * special.erfc(r / math.sqrt(2))


_NORMAL = (_normal_f, _normal_f_inv, _normal_tail)  # exp(-x^2/2), its inverse, int_r^inf


def _layer_edges(r: float, density=_NORMAL) -> tuple[np.ndarray, float]:
    """Edges ``x[0] > x[1] = r > ... > x[LAYERS] = 0`` of equal-area layers under a symmetric
    density ``f`` decreasing on ``x >= 0`` with ``f(0) = 1``; ``density = (f, f_inv, tail)``,
    ``tail(r) = int_r^inf f`` (default: ``exp(-x^2/2)``).

    Layer ``i`` is the box ``[0, x[i]] x [f(x[i]), f(x[i+1])]`` (for ``i = 0`` the base strip
    together with the tail beyond ``r``, ``x[0] = v / f(r)``). Returns the edges and ``v``,
    the common area. The top of the last layer misses ``f = 1`` unless ``r`` is the root of
    ``_top_gap``.
    """
    f, f_inv, tail = density
    v = r * f(r) + tail(r)
    x = np.empty(LAYERS + 1)
    x[0] = v / f(r)
    x[1] = r
    for i in range(1, LAYERS - 1):
        # a trial r far from the root can run out of height early (x[i] = 0): keep x = 0 above
        y = f(x[i]) + v / x[i] if x[i] > 0.0 else 2.0
        x[i + 1] = f_inv(y) if y < 1.0 else 0.0
    x[LAYERS] = 0.0
    return x, v


def _top_gap(r: float, density=_NORMAL) -> float:
    x, v = _layer_edges(r, density)
    top = x[LAYERS - 1]
    return top * (1.0 - density[0](top)) - v


def _ziggurat_tables():
    r = optimize.brentq(_top_gap, 3.0, 4.0, xtol=1e-15, rtol=4 * np.finfo(float).eps)
    x, _ = _layer_edges(r)
    fx = np.exp(-0.5 * x * x)
    return r, x, fx


ZIG_R, ZIG_X, ZIG_F = _ziggurat_tables()
_U53 = 1.0 / 9007199254740992.0  # 2^-53
_U52 = 2.0 * _U53
# the ziggurat's fast path reads one interleaved table: ZIG_FAST[2i] = ZIG_X[i] 2^-52 (a power-of-two
# scaling, exact: the draw's arithmetic and bits are those of (k + 1/2) 2^-52 ZIG_X[i]) and
# ZIG_FAST[2i + 1] = ZIG_X[i + 1]. One table base instead of two arrays and a constant leaves the
# register allocator room to keep the generator's four state words in registers inside the engines'
# loops (measured: the EM chunk kernel had spilled one of them to the stack).
ZIG_FAST = np.empty(2 * LAYERS)
ZIG_FAST[0::2] = ZIG_X[:LAYERS] * _U52
ZIG_FAST[1::2] = ZIG_X[1:LAYERS + 1]


# Student-t ziggurat: one table of T_SIZE floats per nu, [nu, r, fast (2 LAYERS, laid out as ZIG_FAST),
# f(x_0), ..., f(x_LAYERS)], built from the t density like the normal's (``student_t_table``)
T_FAST = 2
T_F = T_FAST + 2 * LAYERS
T_SIZE = T_F + LAYERS + 1
T_INT_POWER = 64  # integer nu up to this: the density by multiplications (_student_density_at)
NU_MIN = 0.05  # below, r overflows toward 1e154 (nu ~ 0.014) and a t draw exceeds 1e308 with probability ~1e-17 at 0.05


def _student_density(nu: float):
    """``(f, f_inv, tail)`` of the unnormalised ``t(nu)`` density ``f(x) = (1 + x^2/nu)^(-(nu+1)/2)``
    (``f(0) = 1``, in the form the kernel evaluates), its inverse on ``(0, 1]`` and
    ``tail(r) = int_r^inf f = sqrt(nu) B(nu/2, 1/2) P(T > r)``."""
    a = -0.5 * (nu + 1.0)
    c = math.sqrt(nu) * special.beta(0.5 * nu, 0.5)

    def f(x):
        return math.exp(a * math.log1p(x * x / nu))

    def f_inv(y):
        return math.sqrt(nu * math.expm1(math.log(y) / a))

    def tail(r):
        return c * special.stdtr(nu, -r)

    return f, f_inv, tail


@functools.lru_cache(maxsize=64)
def _student_table(nu: float) -> np.ndarray:
    density = _student_density(nu)
    lo = 0.5  # bracket the root of the top gap: r grows like v^(-1/nu) for heavy tails
    while _top_gap(lo, density) > 0.0:
        lo *= 0.5
    hi = lo
    while _top_gap(hi, density) < 0.0:
        lo, hi = hi, 2.0 * hi
    r = optimize.brentq(_top_gap, lo, hi, args=(density,), xtol=1e-15 * hi, rtol=4 * np.finfo(float).eps)
    x, _ = _layer_edges(r, density)
    table = np.empty(T_SIZE)
    table[0] = nu
    table[1] = r
    table[T_FAST:T_F:2] = x[:LAYERS] * _U52
    table[T_FAST + 1:T_F:2] = x[1:LAYERS + 1]
    table[T_F:] = [density[0](t) for t in x]  # exp/log1p; the kernel's integer-nu products agree to ~1e-15
    table.flags.writeable = False
    return table


def student_t_table(nu: float) -> np.ndarray:
    """The ziggurat table of ``t(nu)``, ``nu >= NU_MIN = 0.05`` (read-only, ``T_SIZE`` floats; cached per ``nu``):
    256 equal-area layers under ``(1 + x^2/nu)^(-(nu+1)/2)``, their edges solved from the density
    as for the normal (the tail area from scipy's ``stdtr``), for ``student_t`` and ``fill_student_t``."""
    nu = float(nu)
    if not nu >= NU_MIN or not math.isfinite(nu):
        raise ValueError(f"nu must be a finite number >= {NU_MIN} (the Student-t ziggurat's range), got {nu}")
    return _student_table(nu)


def _never_zero(s: np.ndarray) -> np.ndarray:
    if not s.any():  # the one state xoshiro256++ cannot leave
        s[0] = 1
    return s


def new_state(seed_sequence: np.random.SeedSequence) -> np.ndarray:
    """A fresh 4-word xoshiro256++ state from a ``SeedSequence`` (never all zero)."""
    return _never_zero(seed_sequence.generate_state(4, np.uint64))


def states(seed: int, n: int) -> list[np.ndarray]:
    """``n`` independent states spawned from ``SeedSequence(seed)``."""
    return [new_state(c) for c in np.random.SeedSequence(seed).spawn(n)]


def from_user(rng) -> np.ndarray:
    """A state from what a user passes as ``rng``: ``None`` (fresh entropy), an integer seed,
    a ``SeedSequence``, a ``numpy.random.Generator`` (4 words drawn from it) or a state array."""
    if isinstance(rng, np.ndarray) and rng.dtype == np.uint64 and rng.shape == (4,):
        return rng
    if isinstance(rng, np.random.Generator):
        return _never_zero(rng.integers(0, 2**64, size=4, dtype=np.uint64, endpoint=False))
    if isinstance(rng, np.random.SeedSequence):
        return new_state(rng)
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0):
        return new_state(np.random.SeedSequence(rng))
    raise ValueError(f"rng must be None, a seed >= 0, a SeedSequence, a numpy Generator or a "
                     f"methods.rng state, got {rng!r}")


# ------------------------------------------------------------ tuple-state core
@kernel
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@kernel
def next_t(st):
    """xoshiro256++: ``(next 64-bit output, new state)``."""
    s0, s1, s2, s3 = st
    result = _rotl(s0 + s3, 23) + s0
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    return result, (s0, s1, s2, s3)


@kernel
def uniform_t(st):
    """``U ~ Uniform[0, 1)`` on the 2^53 grid."""
    u, st = next_t(st)
    return float(u >> np.uint64(11)) * _U53, st


@kernel
def integers_t(st, n):
    """Uniform integer on ``[0, n)``, ``1 <= n < 2^32``, unbiased (Lemire's rejection)."""
    nn = np.uint64(n)
    u, st = next_t(st)
    m = (u >> np.uint64(32)) * nn
    low = m & np.uint64(0xFFFFFFFF)
    if low < nn:
        thresh = (np.uint64(0x100000000) - nn) % nn
        while low < thresh:
            u, st = next_t(st)
            m = (u >> np.uint64(32)) * nn
            low = m & np.uint64(0xFFFFFFFF)
    return np.int64(m >> np.uint64(32)), st


@kernel
def exponential_t(st):
    """``E ~ Exp(1)`` as ``-log(1 - U)``."""
    u, st = uniform_t(st)
    return -math.log1p(-u), st


@kernel
def _normal_slow_t(st, i, a):
    # |z| = a fell outside layer i's inner rectangle: returns |Z|, or -1 to draw again
    if i == 0:  # tail beyond r: Marsaglia's exponential rejection
        while True:
            e1, st = exponential_t(st)
            e2, st = exponential_t(st)
            e1 /= ZIG_R
            if 2.0 * e2 > e1 * e1:
                return ZIG_R + e1, st
    u, st = uniform_t(st)
    if ZIG_F[i] + u * (ZIG_F[i + 1] - ZIG_F[i]) < math.exp(-0.5 * a * a):
        return a, st
    return -1.0, st


@kernel
def normal_t(st):
    """``Z ~ N(0, 1)`` by the ziggurat.

    One draw gives the layer ``i`` (low 8 bits) and a signed uniform on the symmetric grid
    ``(k + 1/2) 2^-52``, ``k`` in ``[-2^52, 2^52)`` (top 53 bits, arithmetic shift), so the
    sign needs no branch (a random branch costs more than the rest of the draw).
    """
    while True:
        u, st = next_t(st)
        i = np.int64(u & np.uint64(0xFF))
        z = (float(np.int64(u) >> np.int64(11)) + 0.5) * ZIG_FAST[2 * i]
        lim = ZIG_FAST[2 * i + 1]
        if z < lim and z > 0.0 - lim:  # |z| < lim without a sign-mask constant (0 - lim, not -lim)
            return z, st
        a = abs(z)
        a, st = _normal_slow_t(st, i, a)
        if a >= 0.0:
            return math.copysign(a, z), st


@inline_kernel
def gamma_t(st, a):
    """``G ~ Gamma(a, 1)``, ``a > 0`` (Marsaglia and Tsang 2000; ``a < 1`` boosted by ``U^(1/a)``)."""
    boost = 1.0
    if a < 1.0:
        u, st = uniform_t(st)
        boost = math.exp(math.log1p(-u) / a)  # U^(1/a), U in (0, 1]
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        z, st = normal_t(st)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        u, st = uniform_t(st)
        u = 1.0 - u  # (0, 1]
        z2 = z * z
        if u < 1.0 - 0.0331 * z2 * z2:  # squeeze: accepts most draws without a log
            return boost * d * v, st
        if math.log(u) < 0.5 * z2 + d - d * v + d * math.log(v):
            return boost * d * v, st


@inline_kernel
def _student_density_at(a, nu):
    """``f(a) = (1 + a^2/nu)^(-(nu+1)/2)``: for an integer ``nu <= T_INT_POWER`` by ``(nu + 1) // 2``
    multiplications (and a square root when ``nu`` is even; up to 32 roundings at ``nu = 64``,
    harmless in a rejection test), else by ``exp`` and ``log1p``; the wedge tests of the
    ziggurat (rare: 1.5-5% of the draws, 7% at ``nu = 0.3``)."""
    b = 1.0 + a * a / nu
    if nu == math.floor(nu) and nu <= T_INT_POWER:
        n = int(nu) + 1
        p = 1.0
        for _ in range(n // 2):
            p *= b
        if n % 2 == 1:
            p *= math.sqrt(b)
        return 1.0 / p
    return math.exp(-0.5 * (nu + 1.0) * math.log1p(a * a / nu))


@kernel
def _student_slow_t(st, i, a, nu, r, f_lo, f_hi):
    # |z| = a fell outside layer i's inner rectangle of the t(nu) ziggurat (f_lo, f_hi: f at the
    # layer's edges): returns |T|, or -1 to draw again. Scalars only: a call without reference
    # counting, and the fast path's loop stays small enough to keep the generator in registers.
    if i == 0:  # the tail beyond r (see student_t_t): a Lomax proposal, accepted w.p. (L(x) / s(x))^(nu + 1)
        s0 = math.sqrt(1.0 + r * r / nu)  # finite for nu >= NU_MIN (r^2/nu <= 2e93; it overflows near nu = 0.014)
        m0 = r / (nu * s0)
        while True:
            u, st = uniform_t(st)
            x = r + (s0 / m0) * math.expm1(-math.log1p(-u) / nu)  # 1 - u in (0, 1]
            w, st = uniform_t(st)
            q = 1.0 / x  # (L(x) / s(x))^2 in 1/x, finite for x = inf: L(x) = s0 + m0 (x - r), s0 - m0 r = 1 / s0
            q = (q / s0 + m0) ** 2 / (q * q + 1.0 / nu)
            if w < math.exp(0.5 * (nu + 1.0) * math.log(q)):
                return x, st
    u, st = uniform_t(st)
    if f_lo + u * (f_hi - f_lo) < _student_density_at(a, nu):
        return a, st
    return -1.0, st


@inline_kernel
def student_t_t(st, T):
    """``T ~ t(nu)`` by the ziggurat of ``T = student_t_table(nu)``: the fast path is the normal's
    (one 64-bit draw gives the layer and a signed uniform); the wedges test the t density. The tail
    beyond ``r``: with ``s(x) = sqrt(1 + x^2/nu)`` (convex) and its tangent at ``r``,
    ``L(x) = s0 + m0 (x - r)``, ``f = s^-(nu+1) <= L^-(nu+1)``, a Lomax law (tail index ``nu``,
    scale ``s0 / m0``) drawn by inversion, ``x = r + (s0/m0) (U^(-1/nu) - 1)``, and accepted with
    probability ``(L(x)/s(x))^(nu+1)``: exact. It is Marsaglia's exponential tail of the normal's
    ziggurat when ``r^2 << nu`` and a Pareto law when ``r^2 >> nu`` (heavy tails), both accepted
    mostly."""
    while True:
        u, st = next_t(st)
        i = np.int64(u & np.uint64(0xFF))
        z = (float(np.int64(u) >> np.int64(11)) + 0.5) * T[T_FAST + 2 * i]
        lim = T[T_FAST + 2 * i + 1]
        if z < lim and z > 0.0 - lim:
            return z, st
        a = abs(z)
        a, st = _student_slow_t(st, i, a, T[0], T[1], T[T_F + i], T[T_F + i + 1])
        if a >= 0.0:
            return math.copysign(a, z), st


# ------------------------------------------------------------ array-state draws
# (numba cannot inline a closure that forwards ``*args``, hence one factory per arity)
def _summary(core) -> str:
    """The first line of a core draw's docstring, without its final period."""
    return (core.__doc__ or "").strip().splitlines()[0].rstrip(".")


def _on_array(core):
    @inline_kernel
    def draw(s):
        x, st = core((s[0], s[1], s[2], s[3]))
        s[0], s[1], s[2], s[3] = st
        return x

    # the dispatcher's and its Python function's docstring (autodoc and help read either)
    draw.__doc__ = draw.py_func.__doc__ = (f"{_summary(core)}: one draw of ``{core.__name__}`` from the state "
                                           "array ``s`` (4 uint64 words, advanced in place).")
    return draw


def _on_array_with(core):
    @inline_kernel
    def draw(s, a):
        x, st = core((s[0], s[1], s[2], s[3]), a)
        s[0], s[1], s[2], s[3] = st
        return x

    draw.__doc__ = draw.py_func.__doc__ = (f"{_summary(core)}: one draw of ``{core.__name__}`` (with its "
                                           "parameter) from the state array ``s`` (4 uint64 words, advanced in place).")
    return draw


uniform = _on_array(uniform_t)
exponential = _on_array(exponential_t)
normal = _on_array(normal_t)
integers = _on_array_with(integers_t)
gamma = _on_array_with(gamma_t)
student_t = _on_array_with(student_t_t)


@inline_kernel
def fill_normal(s, out):
    """``out[:]`` = independent standard normals, state held in registers."""
    st = (s[0], s[1], s[2], s[3])
    for j in range(out.shape[0]):
        z, st = normal_t(st)
        out[j] = z
    s[0], s[1], s[2], s[3] = st


@inline_kernel
def fill_student_t(s, T, out):
    """``out[:] = `` independent ``t(nu)`` variates (``T = student_t_table(nu)``), state held in registers."""
    st = (s[0], s[1], s[2], s[3])
    for j in range(out.shape[0]):
        z, st = student_t_t(st, T)
        out[j] = z
    s[0], s[1], s[2], s[3] = st
