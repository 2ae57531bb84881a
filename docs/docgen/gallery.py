"""The gallery: the demo's reconstructions and error maps, one per method.

It runs the code path of ``inrank demo`` (:func:`inrank.bench.demo.compare_methods`, then
:func:`inrank.bench.demo.write_demo_html` into a temporary folder), copies the demo's
per-method figures (target | reconstruction | error) and its PSNR curves into
``docs/figures/gallery/``, draws one overview with a shared error scale, and writes the
numbers of the demo's table to ``docs/data/gallery.json`` (read by :mod:`docgen.blocks`).
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from inrank import files, load_image
from inrank.bench.demo import DemoRow, compare_methods, write_demo_html
from inrank.nn.registry import tuned_network
from inrank.report import machine, new_figure

from . import DATA, FIGURES, preset_record

__all__ = ["GallerySettings", "make_gallery", "save_overview", "file_stem"]


_NET = tuned_network()  # inrank demo's defaults: where the registry's lrs were tuned


@dataclass(frozen=True)
class GallerySettings:
    """What the gallery fits: ``inrank demo``'s defaults, with two more methods."""

    image: str = "astronaut"
    """A scikit-image sample name or an image file."""
    size: int = _NET["size"]
    """Short side in pixels."""
    steps: int = _NET["steps"]
    """Full-batch Adam steps per method (each at its preset's lr, as the demo)."""
    width: int = _NET["width"]
    """Units per hidden layer, D."""
    depth: int = _NET["depth"]
    """Hidden layers, L."""
    seed: int = 0
    """Seed of every model's init."""
    methods: tuple[str, ...] = ("relu", "relu+rei", "pe", "rff", "siren", "bn")
    """Presets to compare, in display order."""


def file_stem(method: str) -> str:
    """The demo's file stem of a method (``relu+rei`` -> ``relu_rei``)."""
    return method.replace("+", "_")


def save_overview(target: np.ndarray, rows: list[DemoRow], path: Path) -> Path:
    """One figure: the target, then each method's reconstruction (top) and absolute error
    (bottom, mean over channels, one colour scale for every method).

    Args:
        target: ``(H, W, c)`` image in ``[0, 1]``.
        rows: the demo's rows; ``row.image`` is the ``(H, W, c)`` reconstruction.
        path: the PNG to write.
    """
    errors = [np.abs(np.clip(r.image, 0, 1).astype(np.float64) - target).mean(axis=-1)
              for r in rows]  # each (H, W)
    vmax = max(max(float(np.percentile(e, 99)) for e in errors), 1e-6)
    show = (lambda a: a[..., 0]) if target.shape[-1] == 1 else (lambda a: a)
    cols = len(rows) + 1
    fig = new_figure((1.7 * cols + 0.6, 3.9))
    axes = fig.subplots(2, cols, squeeze=False)
    pixels = {"interpolation": "nearest"}  # the fitted pixels as they are (and small PNGs)
    axes[0, 0].imshow(show(target), cmap="gray", vmin=0, vmax=1, **pixels)
    axes[0, 0].set_title("target", fontsize=9)
    for k, (row, err) in enumerate(zip(rows, errors), start=1):
        axes[0, k].imshow(show(np.clip(row.image, 0, 1)), cmap="gray", vmin=0, vmax=1, **pixels)
        axes[0, k].set_title(f"{row.method}\n{row.psnr:.1f} dB", fontsize=9)
        im = axes[1, k].imshow(err, cmap="inferno", vmin=0, vmax=vmax, **pixels)
    axes[1, 0].text(0.5, 0.5, "|error|\n(one scale)", ha="center", va="center", fontsize=9,
                    transform=axes[1, 0].transAxes)
    for ax in axes.flat:
        ax.set_axis_off()
    fig.colorbar(im, ax=axes[1, -1], fraction=0.046)
    return files.save_figure(fig, path, dpi=100)


def make_gallery(settings: GallerySettings = GallerySettings(), *,
                 out: Path = FIGURES / "gallery", data: Path = DATA / "gallery.json",
                 progress: bool = False) -> list[Path]:
    """Fit every method as ``inrank demo`` does and write the gallery's figures and data.

    Returns:
        The files written.
    """
    signal = load_image(settings.image, size=settings.size)
    rows = compare_methods(signal, settings.methods, steps=settings.steps,
                           width=settings.width, depth=settings.depth, seed=settings.seed,
                           progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        write_demo_html(rows, signal, tmp)
        names = [f"{file_stem(r.method)}_comparison.png" for r in rows] + ["psnr_curves.png"]
        for name in names:
            written.append(Path(shutil.copyfile(Path(tmp) / name, out / name)))
    target = signal.to_image(signal.values)  # (H, W, c)
    written.append(save_overview(target, rows, out / "overview.png"))
    payload = {
        "command": "python docs/make_figures.py --only gallery",
        "settings": asdict(settings),
        "signal": {"name": signal.name, "height": signal.shape[0], "width": signal.shape[1]},
        "machine": machine(),
        "presets": {m: preset_record(m) for m in settings.methods},
        "rows": [{"method": r.method, "psnr": r.psnr, "ssim": r.ssim,
                  "seconds_per_step": r.seconds_per_step, "rank_exact": r.rank_exact,
                  "rank_numerical": r.rank_numerical, "width": r.width} for r in rows],
    }
    written.append(files.write_json(data, payload))
    return written
