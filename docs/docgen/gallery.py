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
from inrank.nn.registry import preset
from inrank.nn.tuned_state import tuned_network
from inrank.report import machine
from inrank.report.figures import save_error_maps

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
    """Full-batch steps per method (each with its default optimiser at its preset's lr, as
    the demo)."""
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
    (bottom, mean over channels, one colour scale for every method): the demo page's
    ``errors.png`` (:func:`inrank.report.figures.save_error_maps`).

    Args:
        target: ``(H, W, c)`` image in ``[0, 1]``.
        rows: the demo's rows; ``row.image`` is the ``(H, W, c)`` reconstruction.
        path: the PNG to write.
    """
    return save_error_maps(target, {r.method: r.image for r in rows}, path,
                           titles={r.method: f"{r.method}\n{r.psnr:.1f} dB" for r in rows})


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
                  "rank_numerical": r.rank_numerical, "width": r.width,
                  "optimizer": r.optimizer,
                  "lrs": preset(r.method).lr_for(r.optimizer, width=r.width)} for r in rows],
    }
    written.append(files.write_json(data, payload))
    return written
