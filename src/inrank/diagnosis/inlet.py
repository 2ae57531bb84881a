"""The inlet rank: the rank of the first hidden layer's features with a ones column."""
from __future__ import annotations

import torch
from torch import nn

from .rank import exact_rank, numerical_rank

__all__ = ["inlet_rank"]


def inlet_rank(model: nn.Module, coords: torch.Tensor, *, rtol: float = 1e-3) -> tuple[int, int]:
    """Exact and numerical (``rtol``) rank of ``[H_1, 1]``, the first hidden layer's features
    ``(N, D)`` with a ones column: at most ``min(N, D + 1)``. ``model`` exposes
    ``hidden_features(coords)`` (e.g. :class:`~inrank.nn.mlp.CoordinateMLP`); its current
    train/eval mode is used.

    Examples:
        >>> import inrank
        >>> inlet_rank(inrank.build("pe", 2, 1, width=8, depth=1, pe_octaves=10),
        ...            inrank.grid_coords((8, 8)))
        (9, 9)
    """
    h1 = model.hidden_features(coords)[1]
    feats = torch.cat([h1, torch.ones(h1.shape[0], 1, dtype=h1.dtype)], dim=1)
    return exact_rank(feats), numerical_rank(feats, rtol=rtol)
