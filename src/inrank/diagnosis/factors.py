"""The factors of the layer-wise NTK, per dense layer: ``G_l`` (per-sample output gradients
w.r.t. the layer's pre-activation, ``(N, c, D_l)``) and ``H~_{l-1}`` (its input with a ones
column, ``(N, P_l)``), from one forward and ``c`` backward passes through zero "probe" tensors
added to every dense layer's output, chunk by chunk (see :mod:`inrank.diagnosis.ntk` for the
factorisation and the BatchNorm modes); the frozen model copy they are computed on.
"""
from __future__ import annotations

import contextlib
import copy
from dataclasses import dataclass
from typing import Iterator, Sequence

import torch
from torch import nn
from torch.func import replace_all_batch_norm_modules_

from .. import validation as _checks
from ..errors import InputError, InputTypeError
from ..nn.layers import dense_layers

__all__ = ["NTKFactors", "factor_chunks", "ntk_factors", "frozen_copy", "select_layers",
           "no_tf32", "BATCHNORM_MODES"]

#: ``batchnorm`` choices (``"coupled"``: :func:`jacobian_ntk` only).
BATCHNORM_MODES = ("batch", "running", "coupled")


@dataclass
class NTKFactors:
    """The factors of every selected dense layer's NTK block.

    Attributes:
        G: per layer, ``(N, c, D_l)``: per-sample gradients of the outputs w.r.t. the layer's
            pre-activation ``z_l``.
        H: per layer, ``(N, P_l)``: the layer's input ``H~_{l-1}``, with a ones column last when
            the layer has a bias (``P_l = fan_in + 1``).
        names: the ``nn.Linear`` module names.
    """

    G: list[torch.Tensor]
    H: list[torch.Tensor]
    names: list[str]


@contextlib.contextmanager
def no_tf32():
    """Disable TF32 matmuls/convolutions for the duration (restored afterwards)."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _device(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


def frozen_copy(model: nn.Module, coords: torch.Tensor, batchnorm: str,
              dtype: torch.dtype) -> tuple[nn.Module, torch.Tensor]:
    """A ``dtype`` deep copy of ``model`` whose BatchNorm layers follow ``batchnorm``, and the
    coordinates ``(N, d)`` in ``dtype`` on the model's device. The caller's model is untouched."""
    _checks.one_of("batchnorm", batchnorm, BATCHNORM_MODES)
    if not isinstance(model, nn.Module):
        raise InputTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    coords = _checks.tensor_2d("coords", coords)
    m = copy.deepcopy(model).to(dtype)
    for p in m.parameters():  # kernels are built from explicit Jacobians, never param grads
        p.requires_grad_(False)
    x = coords.detach().to(device=_device(m), dtype=dtype)
    norms = [mod for mod in m.modules() if isinstance(mod, nn.modules.batchnorm._BatchNorm)]
    if batchnorm == "coupled":

        replace_all_batch_norm_modules_(m)  # batch statistics, no running-stat updates
        return m.train(), x
    if batchnorm == "running":
        if any(n.running_mean is None for n in norms):
            raise InputError("batchnorm='running' needs running statistics, but a BatchNorm "
                             "layer has track_running_stats=False; use batchnorm='batch'")
        return m.eval(), x
    if norms:  # "batch": freeze this batch's statistics as the running ones, then eval mode
        stats: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]] = {}

        def grab(mod, inputs):
            z = inputs[0]
            dims = [0] + list(range(2, z.ndim))
            stats[mod] = (z.mean(dims), z.var(dims, unbiased=False))

        handles = [n.register_forward_pre_hook(grab) for n in norms]
        try:
            with torch.no_grad():
                m.train()(x)
        finally:
            for h in handles:
                h.remove()
        for n in norms:
            if n not in stats:
                continue
            n.track_running_stats = True
            n.running_mean, n.running_var = (s.clone() for s in stats[n])
    return m.eval(), x


def select_layers(layers: Sequence[int | str] | None, names: list[str]) -> list[int]:
    """Validate a selection of dense layers: 0-based indices (negative counts from the end) or
    module names; return the sorted 0-based indices (all when ``layers`` is None).

    Examples:
        >>> select_layers([-1, "b"], ["a", "b", "c"])
        [1, 2]
    """
    if layers is None:
        return list(range(len(names)))
    out = []
    for item in layers:
        if isinstance(item, str):
            if item not in names:
                raise InputError(f"unknown layer {item!r}; the dense layers are {names}")
            out.append(names.index(item))
        elif isinstance(item, int) and not isinstance(item, bool) and -len(names) <= item < len(names):
            out.append(item % len(names))
        else:
            raise InputError(f"layer {item!r} out of range: the model has {len(names)} dense "
                             f"layers {names}; pass indices 0..{len(names) - 1} or names")
    if len(set(out)) != len(out):
        raise InputError(f"layers lists a layer twice: {list(layers)}")
    return sorted(out)


def factor_chunks(m: nn.Module, x: torch.Tensor, layers: Sequence[int | str] | None,
                  chunk: int) -> Iterator[tuple[list[str], list[torch.Tensor], list[torch.Tensor]]]:
    """Stream the factors of the selected dense layers of a prepared model (``frozen_copy``'s),
    one chunk of points at a time: yields ``(names, G, H)``, per layer ``G`` ``(n, c, D_l)``
    and ``H`` ``(n, P_l)`` for the chunk's ``n`` points, in ``x``'s dtype. One forward and
    ``c`` backward passes per chunk build every layer's factors at once."""
    dense = dense_layers(m, x)
    keep = select_layers(layers, [n for n, _ in dense])
    mods = [dense[k][1] for k in keep]
    names = [dense[k][0] for k in keep]
    for start in range(0, x.shape[0], chunk):
        xt = x[start:start + chunk]
        ins: dict[nn.Module, torch.Tensor] = {}
        probes: dict[nn.Module, torch.Tensor] = {}

        def hook(mod, inputs, out):
            ins[mod] = inputs[0].detach()
            probes[mod] = torch.zeros_like(out, requires_grad=True)
            return out + probes[mod]

        handles = [mod.register_forward_hook(hook) for mod in mods]
        try:
            with torch.enable_grad():
                y = m(xt)
                if y.ndim != 2:
                    raise InputError(f"model output must be (N, c), got shape {tuple(y.shape)}")
                per_out = [torch.autograd.grad(y[:, a].sum(), [probes[mod] for mod in mods],
                                               retain_graph=a < y.shape[1] - 1, allow_unused=True)
                           for a in range(y.shape[1])]
        finally:
            for h in handles:
                h.remove()
        G, H = [], []
        for k, mod in enumerate(mods):
            g = [torch.zeros_like(probes[mod]) if ga[k] is None else ga[k] for ga in per_out]
            G.append(torch.stack(g, dim=1))  # (n, c, D_l)
            h = ins[mod].reshape(xt.shape[0], -1)
            if mod.bias is not None:
                h = torch.cat([h, torch.ones_like(h[:, :1])], dim=1)  # (n, P_l)
            H.append(h)
        yield names, G, H


def _factors(m: nn.Module, x: torch.Tensor, layers, chunk: int,
             store: torch.dtype) -> NTKFactors:
    G: list[list[torch.Tensor]] = []
    H: list[list[torch.Tensor]] = []
    names: list[str] = []
    for names, g, h in factor_chunks(m, x, layers, chunk):
        G = G or [[] for _ in g]
        H = H or [[] for _ in h]
        for k in range(len(g)):
            G[k].append(g[k].to(store))
            H[k].append(h[k].to(store))
    return NTKFactors([torch.cat(g) for g in G], [torch.cat(h) for h in H], names)


def ntk_factors(model: nn.Module, coords: torch.Tensor, *, dtype: torch.dtype = torch.float64,
                layers: Sequence[int | str] | None = None, batchnorm: str = "batch",
                chunk: int = 4096, store_dtype: torch.dtype | None = None) -> NTKFactors:
    """Compute ``G_l`` and ``H~_{l-1}`` of every selected dense layer (see the module notes).

    Args:
        model: an ``nn.Module`` ``(N, d) -> (N, c)`` built from ``nn.Linear`` layers.
        coords: ``(N, d)``.
        dtype: compute dtype (float64 for reference-grade kernels).
        layers: dense-layer indices or names (default: all).
        batchnorm: ``"batch"`` or ``"running"`` frozen statistics.
        chunk: points per forward/backward pass.
        store_dtype: the dtype the factors are kept in (default ``dtype``); float32 halves the
            memory of a whole-image diagnosis.

    Returns:
        :class:`NTKFactors`; the model is not modified.
    """
    if batchnorm == "coupled":
        raise InputError("batchnorm='coupled' breaks the per-sample factorisation; use "
                         "jacobian_ntk(..., batchnorm='coupled') or 'batch'/'running' here")
    chunk = _checks.positive_int("chunk", chunk)
    m, x = frozen_copy(model, coords, batchnorm, dtype)
    with no_tf32():
        return _factors(m, x, layers, chunk, store_dtype or dtype)
