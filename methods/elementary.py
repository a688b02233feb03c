"""Elementary functions for numba kernels, written without branches so that a loop of them
vectorises (a libm call per element does not).

``fma(a, b, c)``: ``a b + c`` rounded once (LLVM's ``llvm.fma.f64``); ``f64_bits(x)`` and
``bits_f64(b)``: a float64's 64 bits as an int64 and back (bit casts). ``int_of_integral(k)`` and
``float_of_int(i)``: an integral float64 ``|k| < 2^51`` as an int64, and an int64 ``|i| < 2^51`` as a
float64, exactly, through the bits of ``k + 1.5 * 2^52`` (whose unit in the last place is 1): plain
integer and floating adds, so that they vectorise without AVX-512 (x86's packed conversions between
float64 and int64, ``vcvttpd2qq``/``vcvtqq2pd``, are AVX-512DQ; on AVX2 LLVM converts lane by lane).

``tanh(x)``: with ``a = min(|x|, 20)`` (``tanh 20 = 1`` in double precision),

    ``em = expm1(-2a)``:  the Taylor polynomial of ``expm1`` to degree 11 at ``w = -2a / 256``
    (``|w| <= 0.157``: the remainder is about ``3e-18`` relative), then eight doublings
    ``em <- em (em + 2)`` (``expm1(2w) = expm1(w) (expm1(w) + 2)``; for ``em`` in ``(-1, 0]``
    there is no cancellation and a relative error is carried on with a factor
    ``(2 em + 2) / (em + 2) <= 1``, so the sixteen roundings add up rather than multiply);

    ``tanh a = -em / (2 + em)``,

and the sign of ``x`` copied on; ``|x| < 1e-8`` returns ``x`` (``tanh x = x (1 - x^2/3 + ...)``: a
relative error below ``4e-17``, and no underflow of ``w`` for subnormal ``x``); NaN gives NaN.
Derived here (the doubling formula is elementary). Maximum relative error against numpy's
``tanh`` (libm): stated ``TANH_MAX_REL_ERROR = 2e-15`` (measured 1.1e-15 at small ``|x|``, e.g. ``x = 0.148``;
about twenty roundings in all bound it near 2.2e-15, so the stated bound is empirical);
``tests/test_elementary.py`` asserts it on a dense grid of ``[-25, 25]``, on ``+-[1e-310, 25]``
geometrically and at ``0``, ``+-inf``, NaN. In a loop it costs about a fifth of libm's ``tanh``.
"""
from __future__ import annotations

import math

from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

from ._jit import inline_kernel

TANH_MAX_REL_ERROR = 2e-15  # the bound stated in the docstring and asserted by the tests

# 1 / (k + 1)!, k = 0..10: expm1(w) = w P(w), P(w) = sum_k w^k / (k + 1)!
(_F0, _F1, _F2, _F3, _F4, _F5, _F6, _F7, _F8, _F9, _F10) = [1.0 / math.factorial(k + 1) for k in range(11)]


@intrinsic
def fma(typingctx, a, b, c):
    """``a b + c`` rounded once (LLVM's ``llvm.fma.f64``: one instruction where the CPU has FMA,
    and vectorised with the loop around it; numba does not contract ``a * b + c`` itself)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


@intrinsic
def f64_bits(typingctx, x):
    """The 64 bits of a float64 as an int64 (a bit cast, no conversion)."""
    if not isinstance(x, types.Float) or x.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def bits_f64(typingctx, b):
    """The float64 whose 64 bits are the int64 ``b`` (a bit cast, no conversion)."""
    if not isinstance(b, types.Integer) or b.bitwidth != 64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


_MAGIC = 6755399441055744.0  # 1.5 * 2^52: ulp 1, and k + _MAGIC keeps its exponent for |k| < 2^51
_MAGIC_BITS = 0x4338000000000000


@inline_kernel
def int_of_integral(k):
    """``int(k)`` for an integral float64 with ``|k| < 2^51`` (exact; module docstring)."""
    return f64_bits(k + _MAGIC) - _MAGIC_BITS


@inline_kernel
def float_of_int(i):
    """``float(i)`` for an int64 with ``|i| < 2^51`` (exact; module docstring)."""
    return bits_f64(i + _MAGIC_BITS) - _MAGIC


@inline_kernel
def tanh(x):
    """The hyperbolic tangent, branch-free (module docstring); relative error below ``2e-15``."""
    a = min(abs(x), 20.0)
    w = a * (-2.0 / 256.0)
    w2 = w * w
    w4 = w2 * w2
    w8 = w4 * w4
    # P(w) by Estrin's scheme (short dependency chains)
    q0 = fma(fma(_F3, w, _F2), w2, fma(_F1, w, _F0))
    q1 = fma(fma(_F7, w, _F6), w2, fma(_F5, w, _F4))
    q2 = fma(fma(_F10, w, _F9), w, _F8)
    em = w * fma(q2, w8, fma(q1, w4, q0))
    em = em * (em + 2.0)
    em = em * (em + 2.0)
    em = em * (em + 2.0)
    em = em * (em + 2.0)
    em = em * (em + 2.0)
    em = em * (em + 2.0)
    em = em * (em + 2.0)
    em = em * (em + 2.0)
    t = -em / (2.0 + em)
    t = a if a < 1e-8 else t
    t = math.copysign(t, x)
    return x if x != x else t
