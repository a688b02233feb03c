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
* ``exponential``: ``-log(1 - U)``; ``gamma``: Marsaglia-Tsang (shape < 1 via ``U^(1/a)``);
  ``student_t(nu)``: ``N / sqrt(2 G(nu/2) / nu)``; for ``nu = 1`` (Cauchy) the ratio of two
  independent normals ``N1 / N2``, the same law (``2 G(1/2) = N2^2`` is chi-square with one
  degree of freedom, and ``N1 / |N2|`` and ``N1 / N2`` are both standard Cauchy), at about two
  normal draws instead of a gamma draw.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from ._jit import inline_kernel, kernel

LAYERS = 256


def _layer_edges(r: float) -> tuple[np.ndarray, float]:
    """Edges ``x[0] > x[1] = r > ... > x[LAYERS] = 0`` of equal-area layers under ``exp(-x^2/2)``.

    Layer ``i`` is the box ``[0, x[i]] x [f(x[i]), f(x[i+1])]`` (for ``i = 0`` the base strip
    together with the tail beyond ``r``, ``x[0] = v / f(r)``). Returns the edges and ``v``,
    the common area. The top of the last layer misses ``f = 1`` unless ``r`` is the root of
    ``_top_gap``.
    """
    def f(x):
        return math.exp(-0.5 * x * x)

    v = r * f(r) + math.sqrt(math.pi / 2) * special.erfc(r / math.sqrt(2))
    x = np.empty(LAYERS + 1)
    x[0] = v / f(r)
    x[1] = r
    for i in range(1, LAYERS - 1):
        # a trial r far from the root can run out of height early (x[i] = 0): keep x = 0 above
        y = f(x[i]) + v / x[i] if x[i] > 0.0 else 2.0
        x[i + 1] = math.sqrt(-2.0 * math.log(y)) if y < 1.0 else 0.0
    x[LAYERS] = 0.0
    return x, v


def _top_gap(r: float) -> float:
    x, v = _layer_edges(r)
    top = x[LAYERS - 1]
    return top * (1.0 - math.exp(-0.5 * top * top)) - v


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
def student_t_t(st, nu):
    """``T ~ t(nu)``, ``nu > 0``: ``N / sqrt(2 G(nu/2) / nu)``; ``nu = 1``: ``N1 / N2`` (standard
    Cauchy, exact; a zero denominator, an event of probability zero, is redrawn)."""
    z, st = normal_t(st)
    if nu == 1.0:
        while True:
            w, st = normal_t(st)
            if w != 0.0:
                return z / w, st
    g, st = gamma_t(st, 0.5 * nu)
    return z / math.sqrt(2.0 * g / nu), st


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
def fill_student_t(s, nu, out):
    """``out[:] = `` independent ``t(nu)`` variates, state held in registers."""
    st = (s[0], s[1], s[2], s[3])
    for j in range(out.shape[0]):
        z, st = student_t_t(st, nu)
        out[j] = z
    s[0], s[1], s[2], s[3] = st
