"""The NTK block of a learned encoding's table (a dense feature grid or a hash grid,
:mod:`inrank.nn.grids`): the part of the empirical NTK that belongs to the table's entries.

A grid's output at level ``l`` is ``e_l(x_i) = sum_j W_l[i, j] T_l[j, :]``, with ``W_l`` the
``(N, E)`` interpolation weights (a hash grid's colliding corners add into one column). The
Jacobian of the model's outputs w.r.t. ``T_l`` is ``W_l[i, j] G_l[i, a, f]``, with ``G_l[i, a, :]
= d f_a(x_i) / d e_l(x_i)`` the head's per-sample gradient at the encoding's output, so the block
factorises like a dense layer's (:mod:`inrank.diagnosis.ntk`), one term per level:

    Theta_table = sum_l (W_l W_l^T) o (G_l G_l^T)

The table's "input factor" is the Gram of the interpolation weights: two points share kernel
only where their cells share corners (or, hashed, colliding entries). There is no inlet
collapse: ``W_l`` has the rank of the cells the data touches, not ``d + 1``.
"""
from __future__ import annotations

import warnings

import torch
from torch import nn

from .. import validation as _checks
from ..errors import InputError
from .factors import frozen_copy, no_tf32
from .ntk import OUTPUTS

__all__ = ["has_table", "encoding_gradients", "interpolation_gram", "table_ntk_block"]


def has_table(model: nn.Module) -> bool:
    """Whether ``model.encoding`` is a learned table with explicit interpolation weights
    (``corner_weights``, :mod:`inrank.nn.grids`)."""
    return callable(getattr(getattr(model, "encoding", None), "corner_weights", None))


def encoding_gradients(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``G[i, a, :] = d f_a(x_i) / d e(x_i)``: per-sample gradients of the outputs w.r.t. the
    encoding's output, from ``c`` backward passes through a zero probe added to it (each
    sample's outputs depend on its own encoding row only; BatchNorm in eval mode).

    Args:
        model: a model with ``.encoding`` (eval mode, as :func:`frozen_copy` gives it).
        x: ``(N, d)``.

    Returns:
        ``(N, c, m)``, ``m = model.encoding.out_dim``.
    """
    probe: dict[str, torch.Tensor] = {}

    def hook(mod, inputs, out):
        probe["p"] = torch.zeros_like(out, requires_grad=True)
        return out + probe["p"]

    handle = model.encoding.register_forward_hook(hook)
    try:
        with torch.enable_grad():
            y = model(x)
            grads = [torch.autograd.grad(y[:, a].sum(), probe["p"], retain_graph=a < y.shape[1] - 1)[0]
                     for a in range(y.shape[1])]
    finally:
        handle.remove()
    return torch.stack(grads, dim=1)  # (N, c, m)


def interpolation_gram(idx: torch.Tensor, w: torch.Tensor, rows: int) -> torch.Tensor:
    """``W W^T`` ``(N, N)`` of the sparse interpolation weights of one level.

    Args:
        idx: ``(N, K)`` table rows each point reads (repeats add up).
        w: ``(N, K)`` their weights.
        rows: E, the table's rows.

    Examples:
        >>> interpolation_gram(torch.tensor([[0, 1], [1, 2]]), torch.tensor([[0.5, 0.5], [1.0, 0.0]]), 3)
        tensor([[0.5000, 0.5000],
                [0.5000, 1.0000]])
    """
    n, k = idx.shape
    at = torch.stack([torch.arange(n, device=idx.device).repeat_interleave(k), idx.reshape(-1)])
    W = torch.sparse_coo_tensor(at, w.reshape(-1), (n, rows),
                                check_invariants=False).coalesce()        # (N, E), sums repeats
    with warnings.catch_warnings():  # torch's one-off "sparse CSR support is in beta" note
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse.mm(W, W.t()).to_dense()


def table_ntk_block(model: nn.Module, coords: torch.Tensor, *, outputs: str = "trace",
                    dtype: torch.dtype = torch.float64, batchnorm: str = "batch") -> torch.Tensor:
    """The NTK block of ``model.encoding``'s table, ``sum_l (W_l W_l^T) o (G_l G_l^T)``.

    Args:
        model: a model whose ``encoding`` is a :class:`~inrank.nn.grids.DenseGrid` or
            :class:`~inrank.nn.grids.HashGrid` (e.g. ``inrank.build("hashgrid", ...)``); not
            modified (a ``dtype`` copy is used).
        coords: ``(N, d)``.
        outputs: ``"trace"`` -> ``(N, N)`` (summed over outputs); ``"full"`` -> ``(N c, N c)``,
            index ``i * c + a``, as :func:`inrank.diagnosis.ntk.layerwise_ntk`.
        dtype: compute dtype; TF32 off.
        batchnorm: BatchNorm statistics, as :func:`~inrank.diagnosis.ntk.layerwise_ntk`.

    Returns:
        The block, ``(N, N)`` or ``(N c, N c)``.

    Examples:
        >>> import inrank
        >>> m = inrank.build("grid", 2, 3, width=8, depth=1, grid_resolution=4)
        >>> table_ntk_block(m, torch.rand(6, 2) * 2 - 1).shape
        torch.Size([6, 6])
    """
    _checks.one_of("outputs", outputs, OUTPUTS)
    if not has_table(model):
        raise InputError(f"{type(model).__name__} has no learned table encoding (model.encoding "
                         "with corner_weights: inrank.build('grid'/'hashgrid', ...)); its NTK "
                         "blocks are the dense layers' (inrank.layerwise_ntk)")
    m, x = frozen_copy(model, coords, batchnorm, dtype)
    with no_tf32():
        G = encoding_gradients(m, x)                                       # (N, c, L F)
        idx, w = m.encoding.corner_weights(x)                              # (N, L, K) each
        n, c, width = G.shape
        levels = idx.shape[1]
        feats = width // levels
        rows = m.encoding.table_rows().shape[0]
        out = torch.zeros((n, n) if outputs == "trace" else (n, c, n, c), dtype=dtype,
                          device=x.device)
        for level in range(levels):
            gram = interpolation_gram(idx[:, level], w[:, level], rows)     # (N, N)
            g = G[:, :, level * feats:(level + 1) * feats]                 # (N, c, F)
            if outputs == "trace":
                out += gram * (g.reshape(n, -1) @ g.reshape(n, -1).T)
            else:
                gg = (g.reshape(n * c, feats) @ g.reshape(n * c, feats).T).view(n, c, n, c)
                out += gg * gram[:, None, :, None]
    return out if outputs == "trace" else out.view(n * c, n * c)
