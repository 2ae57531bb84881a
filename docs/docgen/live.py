"""Small diagnoses computed on the spot (seconds on a CPU): per-layer rank bars and NTK block
spectra of several methods at init, drawn by :mod:`inrank.diagnosis.figures`, and their
numbers in ``docs/data/diagnosis.json`` (read by :mod:`docgen.blocks`)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import inrank
from inrank import files
from inrank.diagnosis.figures import plot_rank_bars, plot_spectra
from inrank.report import machine

from . import DATA, FIGURES, preset_record

__all__ = ["DiagnosisSettings", "diagnose_methods", "make_live_figures"]


@dataclass(frozen=True)
class DiagnosisSettings:
    """What the live diagnosis measures: models at init on an image's pixel grid."""

    image: str = "astronaut"
    """A scikit-image sample name or an image file; only its pixel grid (the coordinates)
    matters."""
    size: int = 32
    """Short side in pixels: N = size^2 points for a square image."""
    width: int = 128
    """Units per hidden layer, D."""
    depth: int = 3
    """Hidden layers, L (the model has L + 1 dense layers)."""
    seed: int = 0
    """Seed of every model's init."""
    methods: tuple[str, ...] = ("relu", "relu+rei-kink", "relu+rei", "pe", "rff", "siren", "bn",
                                "bn-all")
    """Presets in the rank bars, in display order."""
    spectra_methods: tuple[str, ...] = ("relu", "relu+rei", "pe", "siren")
    """Presets whose NTK block spectra are drawn (one panel each)."""


def diagnose_methods(settings: DiagnosisSettings) -> tuple[inrank.Signal, list[inrank.Diagnosis]]:
    """The signal and one :class:`inrank.Diagnosis` per method (features, gradients, NTK
    blocks and the whole NTK, dense float64), in ``settings.methods`` order."""
    signal = inrank.load_image(settings.image, size=settings.size)
    diags = []
    for name in settings.methods:
        model = inrank.build(name, signal.in_dim, signal.out_dim, width=settings.width,
                             depth=settings.depth, seed=settings.seed)
        diags.append(inrank.diagnose(model, signal.coords))
    return signal, diags


def make_live_figures(settings: DiagnosisSettings = DiagnosisSettings(), *,
                      out: Path = FIGURES, data: Path = DATA / "diagnosis.json") -> list[Path]:
    """Write ``rank_bars.png``, ``ntk_spectra.png`` and the data file; return them."""
    signal, diags = diagnose_methods(settings)
    out.mkdir(parents=True, exist_ok=True)
    written = [plot_rank_bars(diags, out / "rank_bars.png"),
               plot_spectra([d for d in diags if d.label in settings.spectra_methods],
                            out / "ntk_spectra.png")]
    payload = {
        "command": "python docs/make_figures.py --only live",
        "settings": asdict(settings),
        "signal": {"name": signal.name, "height": signal.shape[0], "width": signal.shape[1],
                   "n_points": signal.coords.shape[0]},
        "machine": machine(),
        "presets": {m: preset_record(m) for m in settings.methods},
        "diagnoses": [d.to_dict() for d in diags],
    }
    written.append(files.write_json(data, payload))
    return written
