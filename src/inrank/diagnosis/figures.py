"""Figures of :class:`inrank.diagnosis.Diagnosis` results: per-layer rank bars, NTK block spectra,
and the inlet rank against width. Files are written atomically; figures are built without pyplot (no backend is switched)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputTypeError
from ..files import new_figure, save_figure
from .rank import RankMeasures

__all__ = ["plot_diagnosis", "plot_rank_bars", "plot_spectra", "plot_rank_vs_width"]


def _bars(ax, diags, what: str) -> None:
    width = 0.8 / max(len(diags), 1)
    for m, d in enumerate(diags):
        layers = [lay for lay in d.layers if (lay.features if what == "features" else lay.ntk)]
        vals = [(lay.features if what == "features" else lay.ntk).at(d.rtols[0])
                for lay in layers]
        ax.bar(np.array([lay.index for lay in layers]) + (m - (len(diags) - 1) / 2) * width,
               vals, width=width, label=d.label)
    ax.set_xticks(sorted({lay.index for d in diags for lay in d.layers}))
    ax.set_xlabel("dense layer")
    ax.set_ylabel(f"numerical rank (rtol {diags[0].rtols[0]:g})")
    ax.set_title("features [H_l, 1]" if what == "features" else "NTK block Theta_l")
    ax.grid(alpha=0.3, axis="y")


def _spectra(ax, diag) -> None:
    for lay in diag.layers:
        if lay.spectrum is None:
            continue
        ev = lay.spectrum.numpy()
        ev = ev[ev > 0]
        ax.loglog(np.arange(1, ev.size + 1), ev, lw=1.4, label=f"layer {lay.index}")
    ax.set_xlabel("index")
    ax.set_ylabel("eigenvalue")
    ax.set_title(f"{diag.label}: NTK block spectra")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def plot_diagnosis(diag, path: str | Path | None = None, *, ax: Any = None) -> Any:
    """One model: feature and NTK ranks per layer, block spectra, and trace shares (the figure
    of :meth:`inrank.diagnosis.Diagnosis.plot`, which documents ``path`` and ``ax``).

    Returns:
        The ``matplotlib.figure.Figure``.
    """
    if ax is not None:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise InputTypeError(f"ax must be a matplotlib Axes (or None for a new figure), "
                                 f"got {type(ax).__name__}")
        _layer_ranks(ax, diag)
        fig = _root_figure(ax)
    else:
        fig = _three_panels(diag)
    if path is not None:
        save_figure(fig, path, dpi=110)
    return fig


def _three_panels(diag):
    has_ntk = any(lay.ntk for lay in diag.layers)
    fig = new_figure((14 if has_ntk else 5, 4))
    axes = fig.subplots(1, 3 if has_ntk else 1, squeeze=False)
    _bars(axes[0, 0], [diag], "features")
    if has_ntk:
        _bars(axes[0, 1], [diag], "ntk")
        _spectra(axes[0, 2], diag)
        ax2 = axes[0, 1].twinx()
        ax2.plot([lay.index for lay in diag.layers], [lay.ntk_share for lay in diag.layers],
                 "k.--", label="share of trace")
        ax2.set_ylabel("share of tr(Theta)")
        ax2.set_ylim(0, 1)
    fig.suptitle(f"{diag.label}, N = {diag.n_points}")
    return fig


def _layer_ranks(ax, diag) -> None:
    """Numerical ranks per dense layer at the first rtol: features and NTK blocks side by side."""
    rtol = diag.rtols[0]
    series = [("features [H_l, 1]", [(lay.index, lay.features) for lay in diag.layers]),
              ("NTK block Theta_l", [(lay.index, lay.ntk) for lay in diag.layers])]
    series = [(name, [(i, m.at(rtol)) for i, m in pts if m]) for name, pts in series]
    series = [(name, pts) for name, pts in series if pts]
    width = 0.8 / len(series)
    for k, (name, pts) in enumerate(series):
        ax.bar(np.array([i for i, _ in pts]) + (k - (len(series) - 1) / 2) * width,
               [v for _, v in pts], width=width, label=name)
    ax.set_xticks([lay.index for lay in diag.layers])
    ax.set_xlabel("dense layer")
    ax.set_ylabel(f"numerical rank (rtol {rtol:g})")
    ax.set_title(f"{diag.label}, N = {diag.n_points}")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)


def _root_figure(ax):
    """The top-level ``Figure`` holding ``ax`` (through any subfigures)."""
    from matplotlib.figure import SubFigure

    fig = ax.figure
    while isinstance(fig, SubFigure):
        fig = fig.figure
    return fig


def plot_rank_bars(diags: list, path: str | Path) -> Path:
    """Several models side by side: numerical rank of features and of NTK blocks per layer."""
    has_ntk = any(lay.ntk for d in diags for lay in d.layers)
    fig = new_figure((12 if has_ntk else 6, 4))
    axes = fig.subplots(1, 2 if has_ntk else 1, squeeze=False)
    _bars(axes[0, 0], diags, "features")
    if has_ntk:
        _bars(axes[0, 1], diags, "ntk")
    axes[0, 0].legend(fontsize=8)
    return save_figure(fig, path, dpi=110)


def plot_spectra(diags: list, path: str | Path) -> Path:
    """One panel per model: the eigenvalues of each NTK block."""
    fig = new_figure((4.2 * len(diags), 3.8))
    axes = fig.subplots(1, len(diags), squeeze=False)
    for ax, d in zip(axes[0], diags):
        _spectra(ax, d)
    return save_figure(fig, path, dpi=110)


def plot_rank_vs_width(ranks: dict[str, dict[int, RankMeasures]], path: str | Path, *,
                       rtol: float = 1e-3) -> Path:
    """Rank of ``[H_1, 1]`` against width, one line per method.

    Args:
        ranks: method -> width -> :class:`RankMeasures` (a ``LayerDiagnosis.features``).
        rtol: which numerical rank to plot (dashed), next to the exact rank (solid).
    """
    fig = new_figure((6, 4))
    ax = fig.subplots()
    widths = sorted({w for per in ranks.values() for w in per})
    for i, (method, per) in enumerate(ranks.items()):
        ws = sorted(per)
        color = f"C{i}"
        ax.plot(ws, [per[w].exact for w in ws], "o-", color=color, label=f"{method} exact")
        ax.plot(ws, [per[w].at(rtol) for w in ws], "s--", color=color,
                label=f"{method} @{rtol:g}")
    ax.plot(widths, [w + 1 for w in widths], ":", color="gray", label="D + 1")
    ax.set_xscale("log", base=2)
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.set_xlabel("width D")
    ax.set_ylabel("rank of [H_1, 1]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    return save_figure(fig, path, dpi=110)
