"""Per-sample gradients of a PyTorch model, for the noise diagnostics (optional extra ``[torch]``).

``per_sample_gradients(model, loss_fn, X, y)`` returns the ``(n, d)`` array of
``grad_theta loss_fn(model(x_i), y_i)`` with ``theta`` all trainable parameters of ``model`` flattened
in ``model.named_parameters()`` order (each tensor row major), computed with ``torch.func``:
``vmap(grad(loss of one sample))`` over the rows, through ``functional_call`` (no ``.backward`` loop,
no model copy). ``minibatch_noise(G, batch, draws)`` turns those rows into draws of the minibatch
noise ``Z = g_B - mean_i g_i`` (batches of ``batch`` rows without replacement), the input of
``methods.diagnostics`` (``block_tail_index``, ``hill``, ``affine_variance``, ``sde_validity_ratio``,
``student_t_fit``, ``to_noise``). Numpy arrays out, float64.

Install with ``pip install 'sde-workbench[torch]'`` (the test extra includes it). The gradients are
those of ``loss_fn`` as written: pass a per-sample loss (``reduction="sum"`` or ``"mean"`` on one
row, which agree) such as ``torch.nn.functional.cross_entropy``.
"""
from __future__ import annotations

import numpy as np

from . import _checks


def _torch():
    try:
        import torch
        from torch import func
    except ImportError as exc:  # pragma: no cover - the message is the point
        raise ImportError("methods.torch_grads needs PyTorch: pip install 'sde-workbench[torch]'") from exc
    return torch, func


def parameter_vector(model) -> np.ndarray:
    """The model's trainable parameters flattened in ``named_parameters()`` order (float64): the
    coordinates of ``per_sample_gradients``' columns."""
    torch, _ = _torch()
    with torch.no_grad():
        return np.concatenate([p.detach().double().reshape(-1).cpu().numpy()
                               for _, p in model.named_parameters() if p.requires_grad])


def per_sample_gradients(model, loss_fn, X, y, *, chunk: int | None = 1024) -> np.ndarray:
    """``grad_theta loss_fn(model(x_i), y_i)`` for every row ``i``: shape ``(n, d)`` (float64), columns
    in ``parameter_vector`` order. ``X``, ``y``: arrays or tensors with ``n`` rows; ``chunk`` rows per
    ``vmap`` call (``None``: all at once)."""
    torch, func = _torch()
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    if not callable(loss_fn):
        raise ValueError("loss_fn must be callable as loss_fn(output, target)")
    Xt = torch.as_tensor(X)
    yt = torch.as_tensor(y)
    if Xt.ndim < 1 or yt.shape[:1] != Xt.shape[:1] or Xt.shape[0] < 1:
        raise ValueError(f"X and y must have the same number of rows (>= 1), got {tuple(Xt.shape)} and {tuple(yt.shape)}")
    if chunk is not None:
        chunk = _checks.integer("chunk", chunk, minimum=1)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params = {n: p.detach() for n, p in model.named_parameters() if p.requires_grad}
    buffers = {n: b.detach() for n, b in model.named_buffers()}
    if not names:
        raise ValueError("model has no trainable parameters")
    dtype = next(iter(params.values())).dtype
    if Xt.is_floating_point():
        Xt = Xt.to(dtype)

    def one(p, xi, yi):
        out = func.functional_call(model, (p, buffers), (xi.unsqueeze(0),))
        return loss_fn(out, yi.unsqueeze(0))

    g = func.vmap(func.grad(one), in_dims=(None, 0, 0))
    n = Xt.shape[0]
    step = n if chunk is None else chunk
    rows = []
    for lo in range(0, n, step):
        grads = g(params, Xt[lo:lo + step], yt[lo:lo + step])
        rows.append(torch.cat([grads[k].reshape(grads[k].shape[0], -1) for k in names], dim=1).double().cpu().numpy())
    return np.concatenate(rows, axis=0)


def minibatch_noise(G, batch: int, draws: int, *, seed: int = 0) -> np.ndarray:
    """``draws`` samples of the minibatch noise ``Z = (1/B) sum_{i in batch} g_i - mean_i g_i`` from the
    per-sample gradients ``G (n, d)`` (batches of ``B = batch`` distinct rows, uniformly at random):
    shape ``(draws, d)``. Its covariance is ``c(n, B) Cov_i g_i``, ``c = (n - B) / (B (n - 1))``."""
    G = _checks.finite_array("G", G, ndim=2)
    n = G.shape[0]
    batch = _checks.integer("batch", batch, minimum=1)
    if batch > n:
        raise ValueError(f"batch must be <= the number of rows {n}, got {batch}")
    draws = _checks.integer("draws", draws, minimum=1)
    rng = np.random.default_rng(seed)
    g = G.mean(axis=0)
    out = np.empty((draws, G.shape[1]))
    for k in range(draws):
        out[k] = G[rng.choice(n, batch, replace=False)].mean(axis=0) - g
    return out
