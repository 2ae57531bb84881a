"""The forward pass of B coordinate MLPs with stacked weights, as batched matrix products.

For ``CoordinateMLP`` s without BatchNorm that share their forward configuration, layer ``l`` of
all B models is one ``torch.baddbmm(b (B, 1, out), h (B, n, in), W^T (B, in, out))``; the
encodings' own ``encode`` (positional, random Fourier) and the activations act on the stacked
tensors. This
is what ``vmap(functional_call)`` computes, with fewer dispatches; other models (BatchNorm-free
ones of any kind, and coordinate MLPs on a learned feature grid or hash grid, whose lookups
``vmap`` batches) fall back to ``vmap``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ..nn.encodings import FourierFeatures, PositionalEncoding
from ..nn.mlp import CoordinateMLP

__all__ = ["FORWARD_FIELDS", "stacked_forward"]

#: The MLPConfig fields that decide a forward pass (the init fields do not).
FORWARD_FIELDS = ("in_dim", "out_dim", "width", "depth", "activation", "omega0", "hidden_omega0",
                  "sigma", "encoding", "pe_octaves", "pe_include_input", "rff_features",
                  "batchnorm")


def stacked_forward(models: Sequence[nn.Module]) -> Callable[[dict, torch.Tensor], torch.Tensor] | None:
    """A function ``f(params, x (B, n, d)) -> (B, n, c)`` over stacked parameters (the names
    of ``model.named_parameters()`` and buffers, each ``(B, ...)``), or None when the models
    are not plain coordinate MLPs of one forward configuration, or read a learned encoding
    (a grid's table lookup: then use ``vmap``)."""
    if not all(isinstance(m, CoordinateMLP) for m in models):
        return None
    configs = {tuple(getattr(m.config, f) for f in FORWARD_FIELDS) for m in models}
    first = models[0]
    if len(configs) != 1 or first.config.batchnorm != "none" \
            or first.config.encoding not in ("none", "pe", "rff"):
        return None
    acts = list(first.acts)
    depth = len(first.linears)
    enc = first.encoding

    def encode(p: dict, x: torch.Tensor) -> torch.Tensor:  # the encodings' own forward
        if isinstance(enc, PositionalEncoding):
            return enc.encode(x, p["encoding.freqs"], include_input=enc.include_input)
        if isinstance(enc, FourierFeatures):
            return enc.encode(x, p["encoding.B"])                        # (B, n, 2m)
        return x

    def forward(p: dict, x: torch.Tensor) -> torch.Tensor:
        h = encode(p, x)
        for k in range(depth):
            w, b = p[f"linears.{k}.weight"], p[f"linears.{k}.bias"]   # (B, out, in), (B, out)
            h = torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))     # (B, n, out)
            if k < depth - 1:
                h = acts[k](h)
        return h

    return forward
