"""Rank dynamics during training: every ``track_every`` steps, the effective and numerical
rank of every dense layer's input features ``[H, 1]`` and each NTK block's share of the trace
and top eigenvalues, on a fixed subsample of the signal's points (exact, dense, at that size)."""
from __future__ import annotations

import torch
from torch import nn

from ..diagnosis import diagnose

__all__ = ["track_point_indices", "rank_snapshot"]


def track_point_indices(n: int, points: int, *, seed: int = 0) -> torch.Tensor:
    """A fixed subsample of ``min(points, n)`` of the ``n`` points, sorted ``(M,)``."""
    if points >= n:
        return torch.arange(n)
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n, generator=g)[:points].sort().values


def rank_snapshot(model: nn.Module, coords: torch.Tensor, step: int, *,
                  rtol: float = 1e-3, top: int = 3) -> dict:
    """One tracking record of ``model`` on ``coords (M, d)`` (float64, the model untouched).

    Returns:
        ``{"step", "layers": [{"name", "features": {"effective", "numerical"},
        "ntk": {"share", "effective", "numerical", "top"}}, ...]}``: ``features`` are those
        the layer reads (``[H_{l-1}, 1]``).
    """
    d = diagnose(model, coords.detach().cpu(), rtols=(rtol,), total=False, solver="dense",
                 chunk=coords.shape[0], gradients=False)
    layers = []
    reads = [d.input_features] + [lay.features for lay in d.layers[:-1]]
    for lay, feats in zip(d.layers, reads):
        layers.append({"name": lay.name,
                       "features": {"effective": feats.effective, "numerical": feats.at(rtol)},
                       "ntk": {"share": lay.ntk_share, "effective": lay.ntk.effective,
                               "numerical": lay.ntk.at(rtol),
                               "top": [float(v) for v in (lay.ntk_top or [])[:top]]}})
    return {"step": step, "layers": layers}
