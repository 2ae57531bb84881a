"""Figures for fits: target | reconstruction | error, and PSNR curves. Files are written
atomically; figures are built without pyplot."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files import save_figure

__all__ = ["new_figure", "save_comparison", "save_psnr_curves", "save_rank_dynamics"]


def new_figure(figsize: tuple[float, float]):
    """A ``matplotlib.figure.Figure`` with constrained layout, outside pyplot: drawing it
    switches no backend and leaves no global figure state (safe in notebooks)."""
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def save_comparison(target: np.ndarray, recon: np.ndarray, path: str | Path, *,
                    title: str = "") -> Path:
    """Save target | reconstruction | absolute error (mean over channels) side by side.

    Args:
        target, recon: ``(H, W, c)`` images in ``[0, 1]``.
    """
    err = np.abs(recon.astype(np.float64) - target).mean(axis=-1)
    show = (lambda a: a[..., 0]) if target.shape[-1] == 1 else (lambda a: a)
    fig = new_figure((10.5, 3.8))
    axes = fig.subplots(1, 3)
    axes[0].imshow(show(target), cmap="gray", vmin=0, vmax=1)
    axes[0].set_title("target")
    axes[1].imshow(show(np.clip(recon, 0, 1)), cmap="gray", vmin=0, vmax=1)
    axes[1].set_title("reconstruction")
    im = axes[2].imshow(err, cmap="inferno", vmin=0, vmax=max(float(err.max()), 1e-6))
    axes[2].set_title("|error|")
    fig.colorbar(im, ax=axes[2], fraction=0.046)
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
