"""Figures for fits: target | reconstruction | error, every method's error maps on one colour
scale, and PSNR curves. Files are written atomically; figures are built without pyplot."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ..files import new_figure, save_figure

__all__ = ["new_figure", "abs_error", "error_scale", "error_maps_figure", "save_error_maps",
           "save_comparison", "save_psnr_curves", "save_rank_dynamics"]

_ERROR_CMAP = "inferno"  # every |error| map's


def abs_error(target: np.ndarray, recon: np.ndarray) -> np.ndarray:
    """``|recon - target|``, the reconstruction clipped to ``[0, 1]`` as it is shown, mean over
    channels: ``(H, W, c)`` images -> ``(H, W)`` float64."""
    return np.abs(np.clip(recon, 0, 1).astype(np.float64) - target).mean(axis=-1)


def error_scale(target: np.ndarray, recons: Mapping[str, np.ndarray] | list[np.ndarray], *,
                percentile: float = 99.0) -> float:
    """One top for every method's |error| colour scale: the largest of their ``percentile``-th
    percentiles (a few outlier pixels do not wash out the rest; brighter ones saturate).

    Examples:
        >>> t = np.zeros((4, 4, 1))
        >>> error_scale(t, {"a": t + 0.1, "b": t + 0.5}, percentile=100)
        0.5
    """
    maps = recons.values() if isinstance(recons, Mapping) else recons
    return max([float(np.percentile(abs_error(target, r), percentile)) for r in maps] + [1e-6])


def error_maps_figure(target: np.ndarray, recons: Mapping[str, np.ndarray], *,
                      titles: Mapping[str, str] | None = None, vmax: float | None = None):
    """The target, then each method's reconstruction (top row) and |error| (bottom row, mean
    over channels), every error map on one colour scale ``[0, vmax]`` with one colour bar, so
    methods compare by eye.

    Args:
        target: ``(H, W, c)`` image in ``[0, 1]``.
        recons: method -> its ``(H, W, c)`` reconstruction, in display order.
        titles: method -> its column title (default: the method).
        vmax: the scale's top (default: :func:`error_scale`).

    Returns:
        The ``matplotlib.figure.Figure`` (not saved; :func:`save_error_maps` saves one).
    """
    vmax = error_scale(target, recons) if vmax is None else vmax
    show = (lambda a: a[..., 0]) if target.shape[-1] == 1 else (lambda a: a)
    cols = len(recons) + 1
    fig = new_figure((1.7 * cols + 0.6, 3.9))
    axes = fig.subplots(2, cols, squeeze=False)
    pixels = {"interpolation": "nearest"}  # the fitted pixels as they are (and small PNGs)
    axes[0, 0].imshow(show(target), cmap="gray", vmin=0, vmax=1, **pixels)
    axes[0, 0].set_title("target", fontsize=9)
    im = None
    for k, (method, recon) in enumerate(recons.items(), start=1):
        axes[0, k].imshow(show(np.clip(recon, 0, 1)), cmap="gray", vmin=0, vmax=1, **pixels)
        axes[0, k].set_title((titles or {}).get(method, method), fontsize=9)
        im = axes[1, k].imshow(abs_error(target, recon), cmap=_ERROR_CMAP, vmin=0, vmax=vmax,
                               **pixels)
    axes[1, 0].text(0.5, 0.5, "|error|\n(one scale)", ha="center", va="center", fontsize=9,
                    transform=axes[1, 0].transAxes)
    for ax in axes.flat:
        ax.set_axis_off()
    if im is not None:  # a bar end that points: brighter pixels than vmax saturate
        over = any(abs_error(target, r).max() > vmax for r in recons.values())
        fig.colorbar(im, ax=axes[1, -1], fraction=0.046, extend="max" if over else "neither")
    return fig


def save_error_maps(target: np.ndarray, recons: Mapping[str, np.ndarray], path: str | Path, *,
                    titles: Mapping[str, str] | None = None, vmax: float | None = None,
                    dpi: int = 100) -> Path:
    """Save :func:`error_maps_figure` (same arguments) as a PNG; returns ``path``."""
    return save_figure(error_maps_figure(target, recons, titles=titles, vmax=vmax), path,
                       dpi=dpi)


def save_comparison(target: np.ndarray, recon: np.ndarray, path: str | Path, *,
                    title: str = "", error_max: float | None = None) -> Path:
    """Save target | reconstruction | absolute error (mean over channels) side by side.

    Args:
        target, recon: ``(H, W, c)`` images in ``[0, 1]``.
        title: the figure's title.
        error_max: the top of the |error| colour scale; None: this error's maximum. Give
            several methods' figures one :func:`error_scale` to compare them by eye.
    """
    err = abs_error(target, recon)  # (H, W)
    top = max(float(err.max()), 1e-6) if error_max is None else error_max
    show = (lambda a: a[..., 0]) if target.shape[-1] == 1 else (lambda a: a)
    fig = new_figure((10.5, 3.8))
    axes = fig.subplots(1, 3)
    axes[0].imshow(show(target), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("target")
    axes[1].imshow(show(np.clip(recon, 0, 1)), cmap="gray", vmin=0, vmax=1)
    axes[1].set_title("reconstruction")
    im = axes[2].imshow(err, cmap=_ERROR_CMAP, vmin=0, vmax=top)
    axes[2].set_title("|error|" if error_max is None else "|error| (scale shared by methods)")
    fig.colorbar(im, ax=axes[2], fraction=0.046, extend="max" if err.max() > top else "neither")
    for ax in axes:
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, dpi=110)


def save_psnr_curves(histories: dict[str, list[dict]], path: str | Path, *,
                     title: str = "PSNR during training") -> Path:
    """Plot PSNR (dB) against step for each named history (``FitResult.history``)."""
    fig = new_figure((6.0, 4.0))
    ax = fig.subplots()
    for name, hist in histories.items():
        ax.plot([h["step"] for h in hist], [h["psnr"] for h in hist], label=name, lw=1.6)
    ax.set_xlabel("step")
    ax.set_ylabel("PSNR (dB)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    return save_figure(fig, path, dpi=110)


def save_rank_dynamics(tracks: dict[str, list[dict]], path: str | Path, *,
                       title: str = "Rank dynamics during training") -> Path:
    """Plot, per method (a row), the effective rank of the features each dense layer reads and
    each NTK block's share of the trace, against the step (``FitResult.track`` records)."""
    rows = max(1, len(tracks))
    fig = new_figure((11.0, 3.2 * rows))
    axes = fig.subplots(rows, 2, squeeze=False)
    for (method, track), (a, b) in zip(tracks.items(), axes):
        steps = [t["step"] for t in track]
        names = [lay["name"] for lay in track[0]["layers"]] if track else []
        for k, name in enumerate(names):
            label = f"layer {k + 1} ({name})"
            a.plot(steps, [t["layers"][k]["features"]["effective"] for t in track], lw=1.6,
                   label=label)
            b.plot(steps, [t["layers"][k]["ntk"]["share"] for t in track], lw=1.6, label=label)
        a.set(xlabel="step", ylabel="effective rank of [H, 1] read",
              title=f"{method}: features each layer reads")
        b.set(xlabel="step", ylabel="share of tr(Theta)", ylim=(0, 1),
              title=f"{method}: NTK block trace shares")
        for ax in (a, b):
            ax.grid(alpha=0.3)
        a.legend(fontsize=7)
    fig.suptitle(title)
    return save_figure(fig, path, dpi=110)
