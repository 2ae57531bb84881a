"""Pictures of a fitted clip: an animated side-by-side preview (target | reconstruction |
|error|, frame by frame) and a strip of a few frames with their PSNR.

Clips are ``(T, H, W, c)`` float arrays in ``[0, 1]`` (``Signal.to_image`` of a video); the
|error| is :func:`~inrank.report.figures.abs_error` on one colour scale for every frame
(:func:`~inrank.report.figures.error_scale`). Files are written atomically.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..files import atomic_write, save_figure
from .figures import abs_error, error_scale, new_figure

__all__ = ["save_video_preview", "save_frame_strip", "preview_frames"]

_ERROR_CMAP = "inferno"  # as every |error| map of inrank.report.figures
_GAP = 2                  # white pixels between the panels


def _check(target: np.ndarray, recon: np.ndarray) -> None:
    if target.ndim != 4 or target.shape != recon.shape:
        raise InputError(f"target and recon must be clips (T, H, W, c) of one shape, got "
                         f"{target.shape} and {recon.shape}")


def _rgb(clip: np.ndarray) -> np.ndarray:
    """``(..., c)`` in ``[0, 1]`` -> ``(..., 3)`` (gray repeated), clipped."""
    clip = np.clip(clip, 0.0, 1.0)
    return np.repeat(clip, 3, axis=-1) if clip.shape[-1] == 1 else clip[..., :3]


def preview_frames(target: np.ndarray, recon: np.ndarray, *, min_height: int = 128,
                   vmax: float | None = None) -> np.ndarray:
    """The preview's frames: target | reconstruction | |error| side by side, enlarged by
    pixel repetition so a frame is at least ``min_height`` pixels tall.

    Args:
        target, recon: ``(T, H, W, c)`` clips in ``[0, 1]``.
        min_height: the least frame height shown.
        vmax: the top of the |error| colour scale (default: :func:`error_scale` over the clip).

    Returns:
        ``(T, k H, k (3 W + 4), 3)`` uint8 frames (two 2-pixel white gaps).

    Examples:
        >>> clip = np.zeros((2, 4, 6, 3))
        >>> preview_frames(clip, clip + 0.1, min_height=8).shape
        (2, 8, 44, 3)
    """
    from matplotlib import colormaps

    _check(target, recon)
    t, h, w, _ = target.shape
    vmax = error_scale(target, [recon]) if vmax is None else vmax
    k = max(1, -(-min_height // h))
    gap = np.ones((h, _GAP, 3))
    out = np.empty((t, k * h, k * (3 * w + 2 * _GAP), 3), dtype=np.uint8)
    for i in range(t):  # frame by frame: only the uint8 clip is whole
        err = colormaps[_ERROR_CMAP](np.clip(abs_error(target[i], recon[i]) / vmax, 0, 1))
        row = np.concatenate([_rgb(target[i]), gap, _rgb(recon[i]), gap, err[..., :3]], axis=1)
        out[i] = np.round(np.repeat(np.repeat(row, k, axis=0), k, axis=1) * 255)  # (kH, kW', 3)
    return out


def save_video_preview(target: np.ndarray, recon: np.ndarray, path: str | Path, *,
                       fps: float | None = None, min_height: int = 128) -> Path:
    """Save :func:`preview_frames` as an animated GIF that loops (``fps`` default 10, at most
    50: GIF's delays are whole hundredths of a second).

    Returns:
        ``path``.
    """
    import imageio.v3 as iio

    frames = preview_frames(target, recon, min_height=min_height)
    rate = min(50.0, fps or 10.0)
    return atomic_write(path, lambda tmp: iio.imwrite(
        tmp, frames, extension=".gif", duration=round(1000 / rate), loop=0))


def save_frame_strip(target: np.ndarray, recon: np.ndarray, path: str | Path, *,
                     count: int = 6, labels: Sequence[int] | None = None,
                     psnrs: Sequence[float] | None = None, title: str = "") -> Path:
    """Save a strip of ``count`` evenly spaced frames: target (top row), reconstruction and
    |error| (bottom row, one colour scale with its bar).

    Args:
        target, recon: ``(T, H, W, c)`` clips in ``[0, 1]``.
        count: frames shown (all if the clip has fewer).
        labels: each frame's number in the source (default ``0 .. T - 1``).
        psnrs: each frame's PSNR (dB), shown in the column titles.
        title: the figure's title.

    Returns:
        ``path``.
    """
    _check(target, recon)
    t, h, w, _ = target.shape
    picks = np.unique(np.linspace(0, t - 1, min(count, t)).round().astype(int))
    vmax = error_scale(target, [recon])
    width = min(14.0, 1.9 * len(picks) * w / h + 0.8)                   # inches
    panel = (width - 0.8) / len(picks) * h / w                          # a frame's height
    fig = new_figure((width, 3 * panel + 0.8))
    axes = fig.subplots(3, len(picks), squeeze=False)
    im = None
    for col, i in enumerate(picks):
        name = f"frame {labels[i] if labels is not None else i}"
        axes[0, col].set_title(name if psnrs is None else f"{name}: {psnrs[i]:.1f} dB",
                               fontsize=8)
        axes[0, col].imshow(_rgb(target[i]), interpolation="nearest")
        axes[1, col].imshow(_rgb(recon[i]), interpolation="nearest")
        im = axes[2, col].imshow(abs_error(target[i], recon[i]), cmap=_ERROR_CMAP, vmin=0,
                                 vmax=vmax, interpolation="nearest")
    for row, text in enumerate(("target", "reconstruction", "|error|")):
        axes[row, 0].text(-0.08, 0.5, text, rotation=90, ha="right", va="center", fontsize=8,
                          transform=axes[row, 0].transAxes)
    for ax in axes.flat:
        ax.set_axis_off()
    fig.colorbar(im, ax=axes[2, -1], fraction=0.046)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, dpi=100)
