"""Layer-wise empirical NTK of a coordinate MLP, factorised per dense layer, and a reference.

For a dense layer ``z_l = W_l h_{l-1} + b_l`` (``W_l`` is ``(fan_out, fan_in)`` like
``nn.Linear.weight``) the block of the empirical NTK that belongs to ``(W_l, b_l)`` factorises as

    Theta_l = (G_l G_l^T) o (H~_{l-1} H~_{l-1}^T)

where ``G_l[i, a, :] = d f_a(x_i) / d z_l(x_i)`` are per-sample gradients (``(N, c, D_l)``),
``H~_{l-1} = [h_{l-1}, 1]`` is the layer input with a ones column for the bias and ``o`` is the
element-wise product (Zheng, Saratchandran and Lucey 2026, Sec. 3). ``G`` comes from ``c``
backward passes through zero "probe" tensors added to every dense layer's output: because each
sample's output depends only on its own pre-activations, the gradient of ``sum_i f_a(x_i)`` with
respect to the probe is exactly the per-sample gradient (:mod:`inrank.diagnosis.factors`).

Layout: ``outputs="trace"`` gives ``(N, N)`` blocks ``sum_a Theta[(i, a), (j, a)]``;
``outputs="full"`` gives ``(N c, N c)`` blocks indexed ``i * c + a`` (sample-major).
Only the dense layers' weights and biases count; other parameters (BatchNorm's affine
``gamma, beta``) are held fixed in both :func:`layerwise_ntk` and :func:`jacobian_ntk`.

BatchNorm (see :data:`BATCHNORM_MODES`): in training mode BatchNorm couples the samples of a
batch, which breaks the per-sample factorisation. :func:`layerwise_ntk` therefore uses frozen
statistics: ``"batch"`` (default) normalises with the mean and biased variance of the given
coordinates, held constant, so the forward values equal the training-mode forward on this batch;
``"running"`` uses the module's running statistics (eval mode). The exact batch-coupled kernel
of the training-mode function, ``"coupled"``, is available from :func:`jacobian_ntk` only (small N).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap

from .. import memory
from .. import validation as _checks
from ..nn.layers import dense_layers  # re-exported: the one walk over a model's dense layers
from .factors import (  # noqa: F401
    BATCHNORM_MODES,
    NTKFactors,
    factor_chunks,
    frozen_copy,
    no_tf32,
    ntk_factors,
    select_layers,
)

__all__ = ["LayerwiseNTK", "NTKFactors", "dense_layers", "ntk_factors", "factor_chunks", "layerwise_ntk",
           "jacobian_ntk", "ntk_block", "select_layers", "frozen_copy", "no_tf32", "OUTPUTS",
           "BATCHNORM_MODES"]

#: ``outputs`` choices: the output-trace kernel ``(N, N)`` or the full kernel ``(N c, N c)``.
OUTPUTS = ("trace", "full")
@dataclass
class LayerwiseNTK:
    """Per-layer blocks of the empirical NTK.

    Attributes:
        blocks: one kernel per selected dense layer, in forward order; ``(N, N)`` for
            ``outputs="trace"``, ``(N c, N c)`` for ``"full"``.
        total: the sum of ``blocks``.
        names: the module name of each block's ``nn.Linear`` (e.g. ``"linears.0"``).
        outputs: ``"trace"`` or ``"full"``.
        batchnorm: how BatchNorm statistics were treated.
    """

    blocks: list[torch.Tensor]
    total: torch.Tensor
    names: list[str]
    outputs: str
    batchnorm: str


def ntk_block(G: torch.Tensor, H: torch.Tensor, outputs: str = "trace", *,
              chunk: int = 2048) -> torch.Tensor:
    """One dense layer's NTK block ``(G G^T) o (H H^T)`` from its factors, in chunks of rows.

    Args:
        G: ``(N, c, D)`` per-sample output gradients w.r.t. the layer's pre-activation.
        H: ``(N, P)`` the layer's input with the ones column (``NTKFactors.H``).
        outputs: ``"trace"`` -> ``(N, N)``; ``"full"`` -> ``(N c, N c)``, index ``i * c + a``.
        chunk: rows per chunk.
    """
    n, c, _ = G.shape
    if outputs == "trace":
        Gf = G.reshape(n, -1)  # (N, c D): flattening sums over the outputs
        out = torch.empty(n, n, dtype=G.dtype, device=G.device)
        for s in range(0, n, chunk):
            out[s:s + chunk] = (Gf[s:s + chunk] @ Gf.T) * (H[s:s + chunk] @ H.T)
        return out
    Gf = G.reshape(n * c, -1)  # (N c, D)
    out = torch.empty(n, c, n, c, dtype=G.dtype, device=G.device)
    for s in range(0, n, chunk):
        gg = (Gf[s * c:(s + chunk) * c] @ Gf.T).view(-1, c, n, c)
        out[s:s + chunk] = gg * (H[s:s + chunk] @ H.T)[:, None, :, None]
    return out.view(n * c, n * c)


def _check_blocks(model: nn.Module, coords: torch.Tensor, *, outputs: str, dtype: torch.dtype,
                  layers: Sequence[int | str] | None) -> None:
    """Refuse, before any factor, blocks (one per layer, and their sum) that cannot fit."""
    if not isinstance(model, nn.Module) or not isinstance(coords, torch.Tensor) \
            or coords.ndim != 2:
        return  # ntk_factors says what is wrong
    n = coords.shape[0]
    shapes = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    if shapes:
        memory.check_dense_ntk(
            n, kernels=(len(shapes) if layers is None else len(layers)) + 1, layers=shapes,
            full=outputs == "full", itemsize=torch.empty(0, dtype=dtype).element_size(),
            request=f"layerwise_ntk at N = {n} points",
            alternative="inrank.diagnose(model, coords, solver='matrix-free')")


def layerwise_ntk(model: nn.Module, coords: torch.Tensor, *, outputs: str = "trace",
                  dtype: torch.dtype = torch.float64, layers: Sequence[int | str] | None = None,
                  batchnorm: str = "batch", chunk: int = 2048) -> LayerwiseNTK:
    """The empirical NTK split into one block per dense layer, by the factorisation
    ``Theta_l = (G_l G_l^T) o (H~_{l-1} H~_{l-1}^T)`` (Zheng et al. 2026).

    Args:
        model: an ``nn.Module`` ``(N, d) -> (N, c)`` built from ``nn.Linear`` layers, e.g.
            :func:`inrank.build`; it is not modified (a ``dtype`` copy is used).
        coords: ``(N, d)`` input points.
        outputs: ``"trace"`` -> ``(N, N)`` blocks summed over outputs; ``"full"`` ->
            ``(N c, N c)`` blocks, index ``i * c + a``.
        dtype: compute dtype; TF32 is off throughout.
        layers: dense-layer indices (forward order) or module names; default all.
        batchnorm: ``"batch"`` (this batch's statistics, frozen) or ``"running"``.
        chunk: rows per chunk; memory beyond the output is ``O(chunk * N)``. N = 16384 with
            ``outputs="trace"`` on a depth-3 MLP needs about 10 GiB for the five kernels.

    Returns:
        :class:`LayerwiseNTK` with ``.blocks``, ``.total`` and ``.names``.

    Examples:
        >>> import inrank
        >>> ntk = layerwise_ntk(inrank.build("relu", 2, 3, width=8, depth=2), torch.rand(5, 2))
        >>> len(ntk.blocks), tuple(ntk.total.shape), ntk.names[0]
        (3, (5, 5), 'linears.0')
    """
    _checks.one_of("outputs", outputs, OUTPUTS)
    chunk = _checks.positive_int("chunk", chunk)
    _check_blocks(model, coords, outputs=outputs, dtype=dtype, layers=layers)
    f = ntk_factors(model, coords, dtype=dtype, layers=layers, batchnorm=batchnorm, chunk=chunk)
    with no_tf32():
        blocks = [ntk_block(G, H, outputs, chunk=chunk) for G, H in zip(f.G, f.H)]
    total = blocks[0].clone()
    for b in blocks[1:]:
        total += b
    return LayerwiseNTK(blocks, total, f.names, outputs, batchnorm)


def jacobian_ntk(model: nn.Module, coords: torch.Tensor, *, outputs: str = "trace",
                 dtype: torch.dtype = torch.float64, layers: Sequence[int | str] | None = None,
                 batchnorm: str = "batch") -> LayerwiseNTK:
    """Reference NTK by Jacobian contraction (torch.func), block by block.

    The method of the PyTorch NTK tutorial: per-sample Jacobians ``J_l`` ``(N, c, P_l)`` of the
    outputs w.r.t. each dense layer's weight and bias by ``vmap(jacrev(...))``, then
    ``Theta_l = J_l J_l^T``. Memory is ``O(N c P)``: for small N (tests, benchmarks).

    Args:
        model, coords, outputs, dtype, layers: as :func:`layerwise_ntk`.
        batchnorm: ``"batch"``, ``"running"``, or ``"coupled"``: the exact kernel of the
            training-mode function, whose batch statistics depend on every point (one Jacobian
            of the whole batch instead of per-sample ones).

    Returns:
        :class:`LayerwiseNTK`, laid out as :func:`layerwise_ntk`'s.
    """
    _checks.one_of("outputs", outputs, OUTPUTS)
    m, x = frozen_copy(model, coords, batchnorm, dtype)
    dense = dense_layers(m, x)
    keep = select_layers(layers, [n for n, _ in dense])
    names = [dense[k][0] for k in keep]
    params = {f"{n}.{pn}": p.detach() for n in names
              for pn, p in m.get_submodule(n).named_parameters()}
    with no_tf32():
        if batchnorm == "coupled":
            jac = jacrev(lambda p: functional_call(m, p, (x,)), chunk_size=128)(params)
        else:
            single = lambda p, xi: functional_call(m, p, (xi[None],))[0]  # noqa: E731
            jac = vmap(jacrev(single), in_dims=(None, 0))(params, x)  # (N, c, *shape)
        blocks = []
        for n in names:
            J = torch.cat([v.flatten(2) for k, v in jac.items() if k.rsplit(".", 1)[0] == n], 2)
            if outputs == "trace":
                blocks.append(torch.einsum("iap,jap->ij", J, J))  # (N, N)
            else:
                N, c, _ = J.shape
                blocks.append(torch.einsum("iap,jbp->iajb", J, J).reshape(N * c, N * c))
    total = blocks[0].clone()
    for b in blocks[1:]:
        total += b
    return LayerwiseNTK(blocks, total, names, outputs, batchnorm)

