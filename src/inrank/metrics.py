"""Reconstruction metrics, accumulated in float64 after a shape check."""
from __future__ import annotations

import math

import numpy as np
import torch

from .errors import InputError, InputTypeError
from .validation import positive_int

__all__ = ["mse", "psnr", "mean_psnr", "ssim", "snr", "frame_psnr", "frame_ssim"]


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
        pred, target: arrays or tensors of the same shape, in any layout: flat values
            ``(N, c)`` (a :class:`~inrank.signals.Signal`'s) or images ``(H, W, c)`` give the
            same number, the mean being over all elements (unlike :func:`ssim`, which needs
            the grid).
        data_range: the peak value (1 for images in [0, 1]).

    Examples:
        >>> round(psnr(torch.zeros(4), torch.full((4,), 0.1)), 6)
        20.0
    """
    err = mse(pred, target)
    if err == 0:
        return math.inf
    if not math.isfinite(err):  # an overflowed prediction: no signal left (NaN stays NaN)
        return -math.inf if err == math.inf else math.nan
    ratio = data_range ** 2 / err
    return 10.0 * (math.log10(ratio) if ratio > 0 else 2 * math.log10(data_range) - math.log10(err))


def mean_psnr(signal, *, data_range: float | None = None) -> float:
    """The PSNR in dB of the mean predictor: each channel's mean predicted everywhere.

    The constant with the least squared error, so the baseline a fit must beat ("never ends
    below the signal's mean"): ``10 log10(data_range^2 / mean_c var_c)``, ``var_c`` the
    population variance of channel ``c``.

    Args:
        signal: a :class:`~inrank.signals.Signal` (any object with ``values (N, c)`` and a
            ``meta`` dict), or the values ``(N, c)`` themselves.
        data_range: the peak; None: ``signal.meta["data_range"]``, else 1 (images in [0, 1]),
            as the training loop's PSNR reads it.

    Returns:
        The PSNR in dB (``inf`` for a constant signal).

    Examples:
        >>> from inrank.signals import Signal
        >>> sig = Signal.from_image(np.array([[0.0, 1.0]]))  # mean 0.5, MSE 0.25
        >>> round(mean_psnr(sig), 4)
        6.0206
    """
    values = signal if isinstance(signal, torch.Tensor) else getattr(signal, "values", None)
    if not isinstance(values, torch.Tensor) or values.ndim != 2:
        raise InputTypeError(f"mean_psnr takes a Signal (values (N, c)), got "
                             f"{type(signal).__name__}")
    if data_range is None:
        data_range = float(getattr(signal, "meta", {}).get("data_range", 1.0))
    v = values.detach().to(torch.float64)                       # (N, c)
    return psnr(v.mean(dim=0, keepdim=True).expand_as(v), v, data_range=data_range)


def ssim(pred, target, *, data_range: float = 1.0, shape: tuple[int, int] | None = None) -> float:
    """Structural similarity of two images (scikit-image, Wang et al. 2004, 7 x 7 window,
    shrunk to fit images smaller than 7 px; NaN when a side is under 3 px).

    SSIM compares local windows, so it needs the pixel grid: flat values are accepted only
    with their grid ``shape``. A 2-D input is a gray image ``(H, W)``; one shaped like flat
    values (at most 4 columns, more than 4 rows) is refused rather than scored as a strip.

    Args:
        pred, target: arrays or tensors of the same shape: images ``(H, W)`` or
            ``(H, W, c)``; with ``shape``, flat values ``(N, c)`` or ``(N,)`` in row-major
            (C) order, as a :class:`~inrank.signals.Signal` holds them.
        data_range: the peak value (1 for images in [0, 1]).
        shape: the grid ``(H, W)`` of flat values, e.g. ``signal.shape``; None for images.

    Returns:
        The mean SSIM over pixels (and channels), a float.

    Raises:
        ValueError (InputError): the shapes differ, flat values come without ``shape``, or
            ``shape`` does not match their number of rows.

    Examples:
        >>> img = np.linspace(0, 1, 8 * 8 * 3).reshape(8, 8, 3)
        >>> ssim(img, img)
        1.0
        >>> ssim(img.reshape(64, 3), img.reshape(64, 3), shape=(8, 8))
        1.0
    """
    from skimage.metrics import structural_similarity

    p, t = (_numpy64(a) for a in (pred, target))
    if p.shape != t.shape:
        raise InputError(f"pred and target shapes differ: {p.shape} vs {t.shape}")
    if shape is not None:
        p, t = (_grid(a, shape) for a in (p, t))
    elif p.ndim not in (2, 3) or (p.ndim == 2 and p.shape[1] <= 4 < p.shape[0]):
        raise InputError(
            f"ssim needs images (H, W) or (H, W, c), got shape {p.shape}, which looks like flat "
            "values (N, c); pass shape=(H, W) (e.g. signal.shape), or a narrow gray image as "
            "(H, W, 1)")
    if p.ndim == 3 and p.shape[2] == 1:
        p, t = p[..., 0], t[..., 0]
    win = min(7, *p.shape[:2])
    win = win if win % 2 == 1 else win - 1
    if win < 3:
        return float("nan")
    return float(structural_similarity(p, t, data_range=data_range, win_size=win,
                                       channel_axis=-1 if p.ndim == 3 else None))


def _numpy64(a) -> np.ndarray:
    """An array or tensor (any device, with or without grad) as float64 numpy."""
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu()
    return np.asarray(a, dtype=np.float64)


def _grid(a: np.ndarray, shape) -> np.ndarray:
    """Flat values ``(N, c)`` or ``(N,)`` -> an image ``(H, W, c)``, ``N = H W``."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise InputTypeError(f"shape must be a grid (H, W), got {shape!r}; pass signal.shape")
    h, w = (positive_int("shape", n) for n in shape)
    if a.ndim not in (1, 2) or h * w != a.shape[0]:
        raise InputError(f"shape={tuple(shape)} must be the grid (H, W) of flat values (N, c) "
                         f"with N = H * W; got values of shape {a.shape}")
    return a.reshape(h, w, -1)  # (H, W, c)


def frame_psnr(pred, target, *, shape: tuple[int, int, int], data_range: float = 1.0) -> list[float]:
    """:func:`psnr` of each frame of a clip (dB).

    Args:
        pred, target: the same shape: clips ``(T, H, W, c)``, or flat values ``(N, c)`` in
            row-major order over the grid ``shape`` (a video :class:`~inrank.signals.Signal`'s).
        shape: the grid ``(T, H, W)``, e.g. ``signal.shape``.
        data_range: the peak value (1 for frames in [0, 1]).

    Returns:
        ``T`` floats, frame by frame.

    Examples:
        >>> clip = np.zeros((2, 4, 4, 3))
        >>> [round(v, 6) for v in frame_psnr(clip + [[[[0.1]]], [[[0.01]]]], clip, shape=(2, 4, 4))]
        [20.0, 40.0]
    """
    p, t = (_frames(a, shape) for a in _pair(pred, target))
    return [psnr(a, b, data_range=data_range) for a, b in zip(p, t)]


def frame_ssim(pred, target, *, shape: tuple[int, int, int], data_range: float = 1.0) -> list[float]:
    """:func:`ssim` of each frame of a clip (its mean is a video's SSIM).

    Args:
        pred, target: as :func:`frame_psnr`'s.
        shape: the grid ``(T, H, W)``.
        data_range: the peak value.

    Returns:
        ``T`` floats, frame by frame.

    Examples:
        >>> clip = np.linspace(0, 1, 2 * 8 * 8 * 3).reshape(2, 8, 8, 3)
        >>> frame_ssim(clip, clip, shape=(2, 8, 8))
        [1.0, 1.0]
    """
    p, t = (_frames(a.cpu().numpy(), shape) for a in _pair(pred, target))
    return [ssim(a, b, data_range=data_range) for a, b in zip(p, t)]


def _frames(a, shape):
    """A clip ``(T, H, W, c)`` or flat values ``(N, c)`` / ``(N,)`` -> frames ``(T, H, W, c)``."""
    if not isinstance(shape, (tuple, list)) or len(shape) != 3:
        raise InputTypeError(f"shape must be a clip's grid (T, H, W), got {shape!r}; pass "
                             "signal.shape")
    t, h, w = (positive_int("shape", n) for n in shape)
    n = t * h * w
    if a.shape[:3] == (t, h, w) and a.ndim == 4:
        return a
    if a.ndim not in (1, 2) or a.shape[0] != n:
        raise InputError(f"shape={tuple(shape)} must be the grid (T, H, W) of a clip "
                         f"(T, H, W, c) or of flat values (N, c) with N = T * H * W = {n}; got "
                         f"values of shape {tuple(a.shape)}")
    return a.reshape(t, h, w, -1)  # (T, H, W, c)


def snr(pred, target) -> float:
    """Signal-to-noise ratio in dB: ``10 log10(sum target^2 / sum (pred - target)^2)``."""
    p, t = _pair(pred, target)
    noise = float(((p - t) ** 2).sum())
    return math.inf if noise == 0 else 10.0 * math.log10(float((t ** 2).sum()) / noise)
