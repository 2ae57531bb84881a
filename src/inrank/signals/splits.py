"""Train / held-out splits of a signal's points, for generalisation (not memorisation) tests.

The held-out-pixel protocol of Tancik et al. (NeurIPS 2020, "Fourier features let networks
learn high frequency functions"): train on the even sub-grid (every other sample along every
axis) and evaluate on all samples and on the held-out ones.
"""
from __future__ import annotations

import torch

from .. import validation as _checks
from ..errors import InputError

__all__ = ["subgrid_mask"]


def subgrid_mask(shape: tuple[int, ...], *, stride: int = 2, offset: int = 0) -> torch.Tensor:
    """The training mask of a regular sub-grid: samples whose every index is ``offset`` mod ``stride``.

    Works for any grid dimension d (audio ``(T,)``, images ``(H, W)``, volumes ``(X, Y, Z)``);
    points are in the row-major order of :func:`inrank.grid_coords`.

    Args:
        shape: grid shape ``(n_1, ..., n_d)``, e.g. ``signal.shape``.
        stride: keep every ``stride``-th sample along each axis (2: the even sub-grid).
        offset: the first kept index along each axis, ``0 <= offset < stride``.

    Returns:
        mask: ``(N,)`` bool, True on the training points; ``~mask`` are the held-out points.
        The training set has ``prod(ceil((n_k - offset) / stride))`` points.

    Examples:
        >>> subgrid_mask((4, 4)).reshape(4, 4).int().tolist()[:2]
        [[1, 0, 1, 0], [0, 0, 0, 0]]
        >>> int(subgrid_mask((5, 4)).sum())
        6
    """
    shape = tuple(_checks.positive_int("grid size", n) for n in shape)
    stride = _checks.positive_int("stride", stride)
    offset = _checks.non_negative_int("offset", offset)
    if offset >= stride:
        raise InputError(f"offset must be in [0, stride) = [0, {stride}), got {offset}")
    axes = [torch.arange(n) % stride == offset for n in shape]
    mask = axes[0]
    for keep in axes[1:]:
        mask = mask[..., None] & keep  # outer AND, row-major
    return mask.reshape(-1)
