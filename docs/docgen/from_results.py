"""Figures drawn from the committed result files under ``benchmarks/results/`` (no fitting).

Each function reads one result file and draws it with the library's own figure code (or the
benchmark's own plot function), so the site shows exactly what the benchmark measured.
"""
from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

from inrank.diagnosis.figures import plot_rank_vs_width
from inrank.diagnosis.rank import RankMeasures
from inrank.report.figures import save_rank_dynamics

from . import ARCHIVE, FIGURES, RESULTS

__all__ = ["WIDTH_METHODS", "read_result", "inlet_ranks", "rank_vs_width", "rei_ablation",
           "rank_dynamics", "copied", "make_result_figures"]

#: the methods drawn in the rank-against-width figure (``inlet_rank.json`` has more).
WIDTH_METHODS = ("relu", "relu+rei", "pe", "siren", "bn")

#: committed result figures shown as they are: destination name -> source file.
COPIED = {
    "psnr_vs_width.png": ARCHIVE / "results" / "bench" / "width" / "psnr_vs_width.png",
    "rank_optimizers.png": RESULTS / "rank_optimizers.png",
    "grid_rank.png": RESULTS / "grid_rank.png",
}


def read_result(name: str, root: Path = RESULTS) -> dict:
    """A committed result file, ``root / NAME`` (default ``benchmarks/results/``), from JSON."""
    return json.loads((root / name).read_text(encoding="utf-8"))


def inlet_ranks(payload: dict, methods: tuple[str, ...] = WIDTH_METHODS
                ) -> dict[str, dict[int, RankMeasures]]:
    """Method -> width -> rank measures of ``[H_1, 1]`` from ``inlet_rank.json``'s rows."""
    out: dict[str, dict[int, RankMeasures]] = {}
    for row in payload["rows"]:
        if row["method"] in methods:
            h1 = row["H1"]
            numerical = tuple((float(r), n) for r, n in h1["numerical"].items())
            out.setdefault(row["method"], {})[int(row["width"])] = RankMeasures(
                h1["exact"], numerical, h1["effective"])
    return {m: out[m] for m in methods if m in out}


def rank_vs_width(out: Path = FIGURES / "rank_vs_width.png") -> Path:
    """Exact and numerical (rtol 1e-3) rank of ``[H_1, 1]`` against width, per method, at init
    (``inlet_rank.json``: the 48 px astronaut's pixel grid)."""
    return plot_rank_vs_width(inlet_ranks(read_result("inlet_rank.json")), out, rtol=1e-3)


def _benchmark_module(path: Path):
    """A benchmark script imported as a module (they are not a package)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rei_ablation(out: Path = FIGURES / "rei_ablation.png") -> Path:
    """The REI ablation (PSNR against steps; hidden-layer effective ranks at init and trained),
    drawn by the benchmark's own report code from ``rei_ablation.json``."""
    report = _benchmark_module(ARCHIVE / "rei_ablation_report.py")
    return report.plot(read_result("rei_ablation.json", ARCHIVE / "results"), out)


def rank_dynamics(out: Path = FIGURES / "rank_dynamics.png") -> Path:
    """Rank dynamics during training (``rank_dynamics.json``): per method, each layer's input
    effective rank and each NTK block's share of the trace against the step."""
    payload = read_result("rank_dynamics.json")
    tracks = {row["method"]: row["track"] for row in payload["rows"]}
    return save_rank_dynamics(
        tracks, out, title=f"astronaut 64 px, 3 x 256: every {payload['every']} steps on "
                           f"{payload['points']} points")


def copied(out: Path = FIGURES) -> list[Path]:
    """Copy the result figures of :data:`COPIED` into ``out``."""
    return [Path(shutil.copyfile(src, out / name)) for name, src in COPIED.items()]


def make_result_figures(out: Path = FIGURES) -> list[Path]:
    """Every figure of this module; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    return [rank_vs_width(out / "rank_vs_width.png"), rei_ablation(out / "rei_ablation.png"),
            rank_dynamics(out / "rank_dynamics.png"), *copied(out)]
