"""Reconstruction metrics, accumulated in float64 after a shape check."""
from __future__ import annotations

import math

import numpy as np
import torch

from .errors import InputError

__all__ = ["mse", "psnr", "ssim", "snr"]


def _pair(pred, target) -> tuple[torch.Tensor, torch.Tensor]:
    p = torch.as_tensor(np.asarray(pred) if not isinstance(pred, torch.Tensor) else pred)
    t = torch.as_tensor(np.asarray(target) if not isinstance(target, torch.Tensor) else target)
    if p.shape != t.shape:
        raise InputError(f"pred and target shapes differ: {tuple(p.shape)} vs {tuple(t.shape)}")
    return p.detach().to(torch.float64), t.detach().to(torch.float64).to(p.device)


def mse(pred, target) -> float:
    """Mean squared error over all elements (float64)."""
    p, t = _pair(pred, target)
    return float(((p - t) ** 2).mean())


def psnr(pred, target, *, data_range: float = 1.0) -> float:
    """Peak signal-to-noise ratio in dB: ``10 log10(data_range^2 / MSE)``.

    Args:
        pred, target: arrays or tensors of the same shape.
        data_range: the peak value (1 for images in [0, 1]).

    Examples:
        >>> round(psnr(torch.zeros(4), torch.full((4,), 0.1)), 6)
        20.0
    """
    err = mse(pred, target)
    return math.inf if err == 0 else 10.0 * math.log10(data_range ** 2 / err)


def ssim(pred: np.ndarray, target: np.ndarray, *, data_range: float = 1.0) -> float:
    """Structural similarity of two ``(H, W)`` or ``(H, W, c)`` images (scikit-image, Wang et
    al. 2004, 7 x 7 window, shrunk to fit images smaller than 7 px)."""
    from skimage.metrics import structural_similarity

    p, t = (np.asarray(a, dtype=np.float64) for a in (pred, target))
    if p.shape != t.shape:
        raise InputError(f"pred and target shapes differ: {p.shape} vs {t.shape}")
    if p.ndim == 3 and p.shape[2] == 1:
        p, t = p[..., 0], t[..., 0]
    win = min(7, *p.shape[:2])
    win = win if win % 2 == 1 else win - 1
    if win < 3:
        return float("nan")
    return float(structural_similarity(p, t, data_range=data_range, win_size=win,
                                       channel_axis=-1 if p.ndim == 3 else None))


def snr(pred, target) -> float:
    """Signal-to-noise ratio in dB: ``10 log10(sum target^2 / sum (pred - target)^2)``."""
    p, t = _pair(pred, target)
    noise = float(((p - t) ** 2).sum())
    return math.inf if noise == 0 else 10.0 * math.log10(float((t ** 2).sum()) / noise)
