"""A small multilayer perceptron as a finite-sum landscape, with its own backpropagation in numba.

``MLP(A, y, hidden=(32,), activation="tanh", reg=1e-4)`` (exported as ``methods.landscapes.MLP``)
is the classifier ``f(x) = (1/n) sum_i f_i(x) + reg/2 ||x||^2`` with ``K`` classes and

    ``a_0 = a_i`` (the sample's standardised features, ``m`` of them),
    ``a_l = sigma(u_l)``, ``u_l = W_l^T a_{l-1} + b_l``  for the hidden layers ``l = 1..L``,
    ``z = W_{L+1}^T a_L + b_{L+1}`` (``K`` logits),  ``f_i = logsumexp(z) - z_{y_i}``

(softmax cross-entropy; ``sigma`` is ``tanh`` or ``relu``; weight decay ``reg`` on every parameter,
biases included). Labels are mapped to ``0..K-1`` in sorted order.

Parameter vector ``x`` (``d = sum_l (n_{l-1} + 1) n_l`` entries, ``n_0 = m``, ``n_1..n_L = hidden``,
``n_{L+1} = K``): for ``l = 1..L+1`` in order, ``W_l`` as an ``n_{l-1} x n_l`` matrix, row major (the
``a @ W`` convention; a ``torch.nn.Linear`` holds ``W_l^T``), then ``b_l`` (``n_l``). ``unflatten``
and ``flatten`` convert.

Compiled per-sample kernels (the contract of ``methods.finite_sum``: ``grad_add``, ``sample_grad``,
``batch_grad``, with ``grad`` the sum of ``grad_add`` over ``0..n-1`` in order times ``1/n`` plus
``reg x``, so a full batch in index order is bit-identical to the exact gradient):

* the loss and ``grad_add``: a forward pass and backpropagation (``delta_{L+1} = softmax(z) - e_y``,
  ``delta_l = (W_{l+1} delta_{l+1}) * sigma'(u_l)``, ``grad W_l = a_{l-1} delta_l^T``, ``grad b_l = delta_l``);
* ``hvp``: the exact Hessian-vector product by Pearlmutter's R-operator (forward-over-reverse,
  Pearlmutter 1994, "Fast exact multiplication by the Hessian", Neural Computation 6(1)), written out by hand: the forward
  pass carries ``R{u_l} = V_l^T a_{l-1} + W_l^T R{a_{l-1}} + c_l`` (``(V_l, c_l)`` the direction's
  blocks), ``R{a_l} = sigma'(u_l) R{u_l}``; the output ``R{delta_{L+1}} = (diag(s) - s s^T) R{z}``;
  the backward pass ``R{delta_l} = (V_{l+1} delta_{l+1} + W_{l+1} R{delta_{l+1}}) sigma'(u_l) +
  (W_{l+1} delta_{l+1}) sigma''(u_l) R{u_l}`` and ``R{grad W_l} = R{a_{l-1}} delta_l^T + a_{l-1} R{delta_l}^T``;
* ``hess``: dense, column ``j`` the HVP with ``e_j`` (``d`` HVPs over all samples: small ``d`` only).

The per-sample working space (activations, deltas and their R-images, ``4 (sum hidden + K)``
numbers, four samples' of it in ``rows_add``) lives on the stack frame of the per-sample kernel
(``methods._numba_compat.stack_array``, a size fixed when the kernels are compiled, one compiled set
per power-of-two size bucket): the hot path allocates nothing, so it runs inside the engines' loops
compiled without reference counting, and the per-sample kernels themselves are compiled without it
(``methods._jit.leaf_kernel``).

Speed without changing a bit (every result equals the plain loop's: each number gets the same
floating-point operations in the same order):

* a layer's forward pass adds eight rows of ``W`` per pass over its outputs (``_affine``), so the
  pass over the outputs vectorises and each output is loaded and stored once per eight products;
* ``rows_add`` (batch and full gradients, the engines' save points) runs four samples' forward and
  backward passes, then adds their four gradients to ``out`` in one pass (``_accumulate4``), sample
  order kept for every entry; ``grad_add`` is ``rows_add`` over one sample.

Smoothness: the ``(L0, L1)`` of an MLP are not known in closed form; ``L0``, ``L1`` are a
**numerical estimate** (``smoothness_estimate``): ``||H(x)||_2`` by power iteration with exact HVPs
and ``||grad f(x)||`` at points along a gradient-descent run from ``init()``, a least-squares slope
``L1 >= 0`` of ``||H||`` against ``||grad f||`` and ``L0`` the smallest intercept that puts every
sampled point under the line ``L0 + L1 ||grad f||``. It is an estimate on those points, not a bound
(derived here). ``f_star = 0`` is the infimum of the cross-entropy (a lower bound on the minimum,
which is not known; the engines record ``f(x) - 0``).

``init(seed)`` gives a starting point: Glorot-uniform weights (``U(-a, a)``,
``a = sqrt(6 / (n_{l-1} + n_l))``, Glorot and Bengio 2010) and zero biases. From ``x = 0`` the weights
get zero gradient (every hidden unit is 0 and so is every weight behind it) and gradient descent
never breaks the symmetry between the hidden units: only the output biases would learn.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import _checks
from ._jit import inline_kernel, leaf_kernel
from ._numba_compat import stack_array
from .elementary import tanh
from .finite_sum import HEAD, FiniteSum, _assemble, _Classifier

ACTIVATIONS = {"tanh": 0, "relu": 1}
MAX_UNITS = 2048  # sum(hidden) + K: a sample's stack scratch is 4 * this many doubles at most (64 KiB;
# rows_add holds four samples' at once: 256 KiB at most)
# params tail after [n, K, reg, m, A (n m), y (n)]: [L, activation, tot = sum(hidden) + K, hidden (L)]


# ------------------------------------------------------------------ per-sample pieces
@inline_kernel
def _act(u, kind):
    if kind == 0:
        return tanh(u)  # methods.elementary: branch-free, so the layer's loop of them vectorises
    return u if u > 0.0 else 0.0


@inline_kernel
def _dact(a, kind):
    """sigma'(u) from a = sigma(u)."""
    if kind == 0:
        return 1.0 - a * a
    return 1.0 if a > 0.0 else 0.0


@inline_kernel
def _d2act(a, kind):
    """sigma''(u) from a = sigma(u) (relu: 0 almost everywhere)."""
    if kind == 0:
        return -2.0 * a * (1.0 - a * a)
    return 0.0


@inline_kernel
def _tail(p):
    n = int(p[0])
    m = int(p[3])
    return HEAD + n * m + n


@inline_kernel
def _layer(p, t0, l):
    """(n_in, n_out, offset of W_l in x, offset of layer l's block in the scratch) for l = 0..L (0-based)."""
    L = int(p[t0])
    nin = int(p[3])
    woff = 0
    aoff = 0
    for q in range(l):
        nout = int(p[1]) if q == L else int(p[t0 + 3 + q])
        woff += nin * nout + nout
        aoff += nout
        nin = nout
    nout = int(p[1]) if l == L else int(p[t0 + 3 + l])
    return nin, nout, woff, aoff


@inline_kernel
def _layer_input(p, i, l, aoff, nin, buf):
    """Layer ``l``'s input ``a_{l-1}``: sample ``i``'s features for the first layer, else the
    activations before ``aoff`` in ``buf``."""
    m = int(p[3])
    if l == 0:
        return p[HEAD + i * m:HEAD + i * m + m]
    return buf[aoff - nin:aoff]


@inline_kernel
def _rows8(x, r, nout):
    """Eight consecutive rows of a row-major weight matrix in ``x``, the first starting at ``x[r]`` (views)."""
    return (x[r:r + nout], x[r + nout:r + 2 * nout], x[r + 2 * nout:r + 3 * nout], x[r + 3 * nout:r + 4 * nout],
            x[r + 4 * nout:r + 5 * nout], x[r + 5 * nout:r + 6 * nout], x[r + 6 * nout:r + 7 * nout],
            x[r + 7 * nout:r + 8 * nout])


@inline_kernel
def _affine(x, woff, nin, nout, a_in, u):
    """``u = W^T a_in + b`` for the layer whose ``nin x nout`` weights ``W`` start at ``x[woff]`` (row
    major) with the biases ``b`` right after them: each ``u_j`` is summed from ``b_j`` over
    ``k = 0, 1, ..., nin - 1`` in that order. Eight rows of ``W`` are added in one pass over ``u``
    (one load and store of ``u_j`` per eight products instead of per one; the pass over ``j``
    vectorises), each ``u_j`` still getting its additions one by one in order ``k``: the same bits as a
    row at a time."""
    bo = woff + nin * nout
    uu = u[:nout]
    bl = x[bo:bo + nout]
    for j in range(nout):
        uu[j] = bl[j]
    k = 0
    while k + 8 <= nin:
        r = woff + k * nout
        c0 = a_in[k]
        c1 = a_in[k + 1]
        c2 = a_in[k + 2]
        c3 = a_in[k + 3]
        c4 = a_in[k + 4]
        c5 = a_in[k + 5]
        c6 = a_in[k + 6]
        c7 = a_in[k + 7]
        w0, w1, w2, w3, w4, w5, w6, w7 = _rows8(x, r, nout)
        for j in range(nout):
            uu[j] = (((((((uu[j] + w0[j] * c0) + w1[j] * c1) + w2[j] * c2) + w3[j] * c3) + w4[j] * c4)
                      + w5[j] * c5) + w6[j] * c6) + w7[j] * c7
        k += 8
    while k < nin:
        c = a_in[k]
        wr = x[woff + k * nout:woff + (k + 1) * nout]
        for j in range(nout):
            uu[j] += wr[j] * c
        k += 1


@inline_kernel
def _forward(x, i, p, buf):
    """The activations ``a_l`` into ``buf`` (layer by layer; the output block holds the softmax ``s``).
    Returns the loss ``logsumexp(z) - z_y``. (Inner loops run over slices, whose indices numba knows to
    be non-negative: no wraparound test per access, and they vectorise.)"""
    t0 = _tail(p)
    L = int(p[t0])
    kind = int(p[t0 + 1])
    m = int(p[3])
    nin = m
    woff = 0
    aoff = 0
    for l in range(L + 1):
        nout = int(p[1]) if l == L else int(p[t0 + 3 + l])
        bo = woff + nin * nout
        u = buf[aoff:aoff + nout]
        a_in = _layer_input(p, i, l, aoff, nin, buf)
        _affine(x, woff, nin, nout, a_in, u)
        if l < L:
            for j in range(nout):
                u[j] = _act(u[j], kind)
        woff = bo + nout
        aoff += nout
        nin = nout
    K = nin
    z = buf[aoff - K:aoff]
    zmax = -np.inf
    for j in range(K):
        if z[j] > zmax:
            zmax = z[j]
    se = 0.0
    for j in range(K):
        se += math.exp(z[j] - zmax)
    lse = zmax + math.log(se)
    y = int(p[HEAD + int(p[0]) * m + i])
    loss = lse - z[y]
    for j in range(K):
        z[j] = math.exp(z[j] - lse)
    return loss


@inline_kernel
def _forward_r(x, v, i, p, buf):
    """After ``_forward``: the R-images ``R{u_l}`` along ``v`` into ``buf``'s second quarter."""
    t0 = _tail(p)
    L = int(p[t0])
    kind = int(p[t0 + 1])
    tot = int(p[t0 + 2])
    m = int(p[3])
    nin = m
    woff = 0
    aoff = 0
    for l in range(L + 1):
        nout = int(p[1]) if l == L else int(p[t0 + 3 + l])
        bo = woff + nin * nout
        ru = buf[tot + aoff:tot + aoff + nout]
        cl = v[bo:bo + nout]
        for j in range(nout):
            ru[j] = cl[j]
        a_in = _layer_input(p, i, l, aoff, nin, buf)
        for k in range(nin):
            c = a_in[k]
            vr = v[woff + k * nout:woff + (k + 1) * nout]
            for j in range(nout):
                ru[j] += vr[j] * c
        if l > 0:
            ru_in = buf[tot + aoff - nin:tot + aoff]
            for k in range(nin):  # W_l^T R{a_{l-1}}, R{a} = sigma'(u) R{u}
                rc = _dact(a_in[k], kind) * ru_in[k]
                wr = x[woff + k * nout:woff + (k + 1) * nout]
                for j in range(nout):
                    ru[j] += wr[j] * rc
        woff = bo + nout
        aoff += nout
        nin = nout


@inline_kernel
def _deltas(x, i, w, p, buf):
    """After ``_forward``: the backpropagated deltas, scaled by ``w``, into ``buf``'s third quarter
    (``delta_{L+1} = w (softmax(z) - e_y)``, then ``delta_l = (W_{l+1} delta_{l+1}) sigma'(u_l)`` down
    to the first hidden layer)."""
    t0 = _tail(p)
    L = int(p[t0])
    kind = int(p[t0 + 1])
    tot = int(p[t0 + 2])
    m = int(p[3])
    K = int(p[1])
    so = tot - K
    y = int(p[HEAD + int(p[0]) * m + i])
    D = 2 * tot
    s = buf[so:tot]
    dz = buf[D + so:D + tot]
    for j in range(K):
        dz[j] = w * (s[j] - (1.0 if j == y else 0.0))
    for l in range(L, 0, -1):
        nin, nout, woff, aoff = _layer(p, t0, l)
        dl = buf[D + aoff:D + aoff + nout]
        a_in = buf[aoff - nin:aoff]
        # dp_k = sigma'(a_k) sum_j W[k, j] dl_j, each sum added in the order j = 0, 1, ... from 0.0:
        # eight of them side by side in registers (eight independent chains, each reading its row of
        # W in order), the rest one at a time; the same bits either way
        dp = buf[D + aoff - nin:D + aoff]
        k0 = 0
        while k0 + 8 <= nin:
            r = woff + k0 * nout
            w0, w1, w2, w3, w4, w5, w6, w7 = _rows8(x, r, nout)
            s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = 0.0
            for j in range(nout):
                c = dl[j]
                s0 += w0[j] * c
                s1 += w1[j] * c
                s2 += w2[j] * c
                s3 += w3[j] * c
                s4 += w4[j] * c
                s5 += w5[j] * c
                s6 += w6[j] * c
                s7 += w7[j] * c
            dp[k0] = s0
            dp[k0 + 1] = s1
            dp[k0 + 2] = s2
            dp[k0 + 3] = s3
            dp[k0 + 4] = s4
            dp[k0 + 5] = s5
            dp[k0 + 6] = s6
            dp[k0 + 7] = s7
            k0 += 8
        for k in range(k0, nin):
            t = 0.0
            wr = x[woff + k * nout:woff + (k + 1) * nout]
            for j in range(nout):
                t += wr[j] * dl[j]
            dp[k] = t
        for k in range(nin):
            dp[k] = dp[k] * _dact(a_in[k], kind)


@inline_kernel
def _row(idx, by_index, q):
    """The sample at row ``q`` of a pass: ``idx[q]`` (float64 holding indices), or ``q`` itself."""
    return int(idx[q]) if by_index else q


@inline_kernel
def _accumulate(p, i, buf, out):
    """After ``_deltas``: ``out += grad`` of one sample, layer by layer (``grad b_l = delta_l``,
    ``grad W_l = a_{l-1} delta_l^T``)."""
    t0 = _tail(p)
    L = int(p[t0])
    D = 2 * int(p[t0 + 2])
    for l in range(L + 1):
        nin, nout, woff, aoff = _layer(p, t0, l)
        bo = woff + nin * nout
        dl = buf[D + aoff:D + aoff + nout]
        a_in = _layer_input(p, i, l, aoff, nin, buf)
        ob = out[bo:bo + nout]
        for j in range(nout):
            ob[j] += dl[j]
        for k in range(nin):
            c = a_in[k]
            orow = out[woff + k * nout:woff + (k + 1) * nout]
            for j in range(nout):
                orow[j] += c * dl[j]


@inline_kernel
def _accumulate4(p, i0, i1, i2, i3, bufs, size, out):
    """After ``_deltas`` of four samples (their scratch the four ``size`` blocks of ``bufs``): ``out +=``
    their gradients, each element getting the four additions in sample order, exactly as four
    ``_accumulate`` calls would give them (the same bits), in one pass over ``out`` instead of four."""
    t0 = _tail(p)
    L = int(p[t0])
    D = 2 * int(p[t0 + 2])
    b0 = bufs[0:size]
    b1 = bufs[size:2 * size]
    b2 = bufs[2 * size:3 * size]
    b3 = bufs[3 * size:4 * size]
    for l in range(L + 1):
        nin, nout, woff, aoff = _layer(p, t0, l)
        bo = woff + nin * nout
        d0 = b0[D + aoff:D + aoff + nout]
        d1 = b1[D + aoff:D + aoff + nout]
        d2 = b2[D + aoff:D + aoff + nout]
        d3 = b3[D + aoff:D + aoff + nout]
        a0 = _layer_input(p, i0, l, aoff, nin, b0)
        a1 = _layer_input(p, i1, l, aoff, nin, b1)
        a2 = _layer_input(p, i2, l, aoff, nin, b2)
        a3 = _layer_input(p, i3, l, aoff, nin, b3)
        ob = out[bo:bo + nout]
        for j in range(nout):
            ob[j] = (((ob[j] + d0[j]) + d1[j]) + d2[j]) + d3[j]
        for k in range(nin):
            c0 = a0[k]
            c1 = a1[k]
            c2 = a2[k]
            c3 = a3[k]
            orow = out[woff + k * nout:woff + (k + 1) * nout]
            for j in range(nout):
                orow[j] = (((orow[j] + c0 * d0[j]) + c1 * d1[j]) + c2 * d2[j]) + c3 * d3[j]


@inline_kernel
def _backward_r(x, v, i, p, buf, out):
    """After ``_forward`` and ``_forward_r``: ``out += R{grad h_i} = H_i v`` (the deltas and their R-images
    in ``buf``'s last two quarters)."""
    t0 = _tail(p)
    L = int(p[t0])
    kind = int(p[t0 + 1])
    tot = int(p[t0 + 2])
    m = int(p[3])
    K = int(p[1])
    so = tot - K
    y = int(p[HEAD + int(p[0]) * m + i])
    D = 2 * tot
    RD = 3 * tot
    s = buf[so:tot]
    dz = buf[D + so:D + tot]
    for j in range(K):
        dz[j] = s[j] - (1.0 if j == y else 0.0)
    rz = buf[tot + so:2 * tot]
    rdz = buf[RD + so:RD + tot]
    sr = 0.0  # R{s} = (diag(s) - s s^T) R{z}
    for j in range(K):
        sr += s[j] * rz[j]
    for j in range(K):
        rdz[j] = s[j] * (rz[j] - sr)
    for l in range(L, -1, -1):
        nin, nout, woff, aoff = _layer(p, t0, l)
        bo = woff + nin * nout
        dl = buf[D + aoff:D + aoff + nout]
        rdl = buf[RD + aoff:RD + aoff + nout]
        a_in = _layer_input(p, i, l, aoff, nin, buf)
        ob = out[bo:bo + nout]
        for j in range(nout):
            ob[j] += rdl[j]
        ru_in = buf[tot + aoff - nin:tot + aoff]
        for k in range(nin):
            c = a_in[k]
            rc = 0.0 if l == 0 else _dact(c, kind) * ru_in[k]
            orow = out[woff + k * nout:woff + (k + 1) * nout]
            for j in range(nout):
                orow[j] += rdl[j] * c + dl[j] * rc
        if l > 0:
            dp = buf[D + aoff - nin:D + aoff]
            rdp = buf[RD + aoff - nin:RD + aoff]
            for k in range(nin):
                wr = x[woff + k * nout:woff + (k + 1) * nout]
                vr = v[woff + k * nout:woff + (k + 1) * nout]
                t = 0.0
                rt = 0.0
                for j in range(nout):
                    t += wr[j] * dl[j]
                    rt += vr[j] * dl[j] + wr[j] * rdl[j]
                a = a_in[k]
                rdp[k] = rt * _dact(a, kind) + t * _d2act(a, kind) * ru_in[k]
                dp[k] = t * _dact(a, kind)


_KERNELS: dict = {}


def _kernels_for(size: int):
    """The landscape and per-sample kernels with a stack scratch of ``size`` doubles (compiled once per size)."""
    if size in _KERNELS:
        return _KERNELS[size]
    size4 = 4 * size  # four samples' scratch (rows_add)

    # compiled once each and called (not inlined): a sample's work (thousands of operations) dwarfs
    # a call, and every kernel that uses them would otherwise compile the network again. Without
    # reference counting (``leaf_kernel``): with it, the slices of a sample's pass cost about a third of
    # the pass
    @leaf_kernel
    def loss(x, i, p):
        buf = stack_array(size)
        return _forward(x, i, p, buf)

    @leaf_kernel
    def rows_add(x, idx, lo, hi, w, p, s, out):
        """``out += w grad h_i`` and ``s += h_i`` for the rows ``q = lo..hi-1`` in order (sample
        ``idx[q]``, or ``q`` itself when ``idx`` is empty); returns ``s``. Four samples at a time share
        one pass over ``out`` (``_accumulate4``): the same bits as ``loss_grad_add`` row by row."""
        bufs = stack_array(size4)
        by_index = idx.shape[0] > 0
        q = lo
        while q < hi:
            cnt = min(4, hi - q)  # not a constant: one compiled copy of the sample's pass, not four
            for b in range(cnt):
                i = _row(idx, by_index, q + b)
                buf = bufs[b * size:(b + 1) * size]
                s += _forward(x, i, p, buf)
                _deltas(x, i, w, p, buf)
            if cnt == 4:
                _accumulate4(p, _row(idx, by_index, q), _row(idx, by_index, q + 1), _row(idx, by_index, q + 2),
                             _row(idx, by_index, q + 3), bufs, size, out)
            else:
                for b in range(cnt):
                    _accumulate(p, _row(idx, by_index, q + b), bufs[b * size:(b + 1) * size], out)
            q += cnt
        return s

    # one sample: rows_add over a one-entry index (one compiled copy of the network's passes)
    @leaf_kernel
    def grad_add(x, i, w, p, out):
        one = stack_array(1)
        one[0] = i
        rows_add(x, one, 0, one.shape[0], w, p, 0.0, out)  # (hi not a literal: one compiled rows_add)

    @leaf_kernel
    def hvp_add(x, v, i, p, out):
        buf = stack_array(size)
        _forward(x, i, p, buf)
        _forward_r(x, v, i, p, buf)
        _backward_r(x, v, i, p, buf, out)

    _KERNELS[size] = _assemble(loss, grad_add, hvp_add, None, rows_add)  # hess from d HVPs
    return _KERNELS[size]


def _scratch_size(units: int) -> int:
    s = 64
    while s < 4 * units:
        s *= 2
    return s


# ------------------------------------------------------------------ the landscape
@dataclass(frozen=True, eq=False)
class MLP(_Classifier, FiniteSum):
    """Softmax cross-entropy of a ``tanh``/``relu`` MLP with ``len(hidden)`` hidden layers on the rows of
    ``A`` (labels ``y``); see the module docstring for the model, the layout of ``x`` and the estimated
    ``(L0, L1)``. ``seed``: the default seed of ``init``."""

    A: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    hidden: tuple = (32,)
    activation: str = "tanh"
    reg: float = 1e-4
    seed: int = 0
    intercept = False  # biases are parameters of every layer

    def __post_init__(self):
        A, y, labels = self._design_and_labels(exactly_two=False)
        hidden = (self.hidden,) if isinstance(self.hidden, (int, np.integer)) else self.hidden
        try:
            hidden = tuple(hidden)
        except TypeError:
            hidden = ()
        if not hidden or any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty tuple of positive integer widths, got {self.hidden!r}")
        hidden = tuple(int(h) for h in hidden)
        _checks.one_of("activation", self.activation, set(ACTIVATIONS))
        reg = _checks.positive("reg", self.reg, allow_zero=True)
        _checks.integer("seed", self.seed)
        K = labels.size
        units = sum(hidden) + K
        if units > MAX_UNITS:
            raise ValueError(f"hidden: sum(hidden) + K = {units} exceeds {MAX_UNITS} (the per-sample scratch lives on "
                             "the stack)")
        object.__setattr__(self, "hidden", hidden)
        self._set(A, np.searchsorted(labels, y).astype(float), K, reg)
        tail = [float(len(hidden)), float(ACTIVATIONS[self.activation]), float(units)] + [float(h) for h in hidden]
        object.__setattr__(self, "_params", np.concatenate([self._params, tail]))
        lk, sk = _kernels_for(_scratch_size(units))
        object.__setattr__(self, "kernels", lk)
        object.__setattr__(self, "sample_kernels", sk)
        object.__setattr__(self, "_smooth", None)

    @classmethod
    def from_dataset(cls, data, *, hidden=(32,), activation: str = "tanh", reg: float = 1e-4, seed: int = 0):
        """This MLP on the training split of ``data`` (``data.X``, ``data.y``)."""
        return cls(data.X, data.y, hidden=hidden, activation=activation, reg=reg, seed=seed)

    # ---------------------------------------------------------------- shapes
    @property
    def widths(self) -> tuple:
        """``(n_0, n_1, ..., n_{L+1})``: inputs, hidden widths, classes."""
        return (self.A_.shape[1],) + tuple(self.hidden) + (self.K_,)

    @property
    def d(self):
        """The number of parameters ``sum_l (n_{l-1} + 1) n_l``."""
        w = self.widths
        return int(sum((w[l - 1] + 1) * w[l] for l in range(1, len(w))))

    def unflatten(self, x) -> list:
        """``[(W_1, b_1), ..., (W_{L+1}, b_{L+1})]`` from ``x`` (``W_l`` of shape ``(n_{l-1}, n_l)``; views)."""
        x = self._x(x)
        out, off, w = [], 0, self.widths
        for l in range(1, len(w)):
            W = x[off:off + w[l - 1] * w[l]].reshape(w[l - 1], w[l])
            off += w[l - 1] * w[l]
            out.append((W, x[off:off + w[l]]))
            off += w[l]
        return out

    def flatten(self, layers) -> np.ndarray:
        """The inverse of ``unflatten``."""
        x = np.concatenate([np.concatenate([np.asarray(W, float).ravel(), np.asarray(b, float).ravel()])
                            for W, b in layers])
        return self._x(x).copy()

    def init(self, seed: int | None = None) -> np.ndarray:
        """A Glorot-uniform starting point (``U(-a, a)``, ``a = sqrt(6 / (n_in + n_out))``; zero biases)."""
        rng = np.random.default_rng(self.seed if seed is None else _checks.integer("seed", seed))
        w = self.widths
        layers = []
        for l in range(1, len(w)):
            a = math.sqrt(6.0 / (w[l - 1] + w[l]))
            layers.append((rng.uniform(-a, a, (w[l - 1], w[l])), np.zeros(w[l])))
        return self.flatten(layers)

    # ---------------------------------------------------------------- predictions
    def logits(self, x, X) -> np.ndarray:
        """The network's logits ``z`` for the rows of ``X`` (NumPy forward pass)."""
        a = self._features(X)
        layers = self.unflatten(x)
        act = np.tanh if self.activation == "tanh" else (lambda u: np.maximum(u, 0.0))
        for l, (W, b) in enumerate(layers):
            a = a @ W + b
            if l < len(layers) - 1:
                a = act(a)
        return a

    def predict(self, x, X) -> np.ndarray:
        """The predicted label of each row of ``X`` (the largest logit)."""
        return self.labels[np.argmax(self.logits(x, X), axis=1)]

    # ---------------------------------------------------------------- smoothness (estimated)
    def hessian_norm(self, x, *, iters: int = 100, tol: float = 1e-7, seed: int = 0) -> float:
        """``||H(x)||_2`` by power iteration with exact HVPs (the largest ``|eigenvalue|``; an estimate from below)."""
        x = self._x(x)
        iters = _checks.integer("iters", iters, minimum=1)
        v = np.random.default_rng(seed).standard_normal(self.d)
        v /= np.linalg.norm(v)
        lam = 0.0
        for _ in range(iters):
            hv = self.hvp(x, v)
            new = float(np.linalg.norm(hv))
            if new == 0.0:
                return 0.0
            v = hv / new
            if abs(new - lam) <= tol * new:
                return new
            lam = new
        return lam

    def smoothness_estimate(self, *, steps: int = 200, lr: float = 0.5, points: int = 11, x0=None,
                            iters: int = 100) -> dict:
        """The estimated ``(L0, L1)`` (see the module docstring): ``points`` points evenly spaced along
        ``steps`` of gradient descent with step ``lr`` from ``x0`` (default ``init()``). Returns ``L0``,
        ``L1`` and the sampled ``grad_norm`` and ``hess_norm``."""
        steps = _checks.integer("steps", steps, minimum=0)
        points = _checks.integer("points", points, minimum=2)
        lr = _checks.positive("lr", lr)
        x = self.init() if x0 is None else self._x(x0).copy()
        at = set(np.linspace(0, steps, points).round().astype(int).tolist())
        g_n, h_n = [], []
        for k in range(steps + 1):
            g = self.gradient(x)
            if k in at:
                g_n.append(float(np.linalg.norm(g)))
                h_n.append(self.hessian_norm(x, iters=iters))
            x = x - lr * g
        g_n, h_n = np.array(g_n), np.array(h_n)
        if np.ptp(g_n) > 0:
            L1 = max(0.0, float(np.polyfit(g_n, h_n, 1)[0]))
        else:
            L1 = 0.0
        L0 = float(np.max(h_n - L1 * g_n))
        return {"L0": L0, "L1": L1, "grad_norm": g_n, "hess_norm": h_n, "estimate": True}

    def _smoothness(self):
        if self._smooth is None:
            object.__setattr__(self, "_smooth", self.smoothness_estimate())
        return self._smooth

    @property
    def L0(self):
        """Estimated (not a bound): ``smoothness_estimate()``'s ``L0`` with its defaults, computed once."""
        return self._smoothness()["L0"]

    @property
    def L1(self):
        """Estimated (not a bound): ``smoothness_estimate()``'s ``L1`` with its defaults, computed once."""
        return self._smoothness()["L1"]

    @property
    def f_star(self):
        """0: the infimum of the cross-entropy, a lower bound on the minimum (which is not known)."""
        return 0.0
