"""Generators of the documentation site's figures, data files and generated Markdown blocks.

Run through ``python docs/make_figures.py``; each module has one job:

- :mod:`docgen.from_results`: figures drawn from committed files under ``benchmarks/results/``;
- :mod:`docgen.live`: small diagnoses computed on the spot (seconds);
- :mod:`docgen.gallery`: the demo's reconstructions and error maps (``inrank demo``'s code path);
- :mod:`docgen.patterns`: the synthetic test patterns' figure and table;
- :mod:`docgen.report`: a screenshot of the ``table1`` report, rebuilt from its run records;
- :mod:`docgen.blocks`: the ``<!-- generated: NAME -->`` blocks of the pages, from data files;
- :mod:`docgen.griffe_names`: a griffe extension for the ``a, b: ...`` argument lines of the
  project's docstrings.
"""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

__all__ = ["DOCS", "ROOT", "FIGURES", "DATA", "RESULTS", "ARCHIVE", "preset_record"]

DOCS = Path(__file__).resolve().parents[1]
ROOT = DOCS.parent
FIGURES = DOCS / "figures"
DATA = DOCS / "data"
RESULTS = ROOT / "benchmarks" / "results"
ARCHIVE = ROOT / "benchmarks" / "archive"  # superseded benchmarks, their results in results/


def preset_record(name: str) -> dict:
    """What a method ran with, for a data file: its lr, configuration and tuning record (the
    registry applies ``src/inrank/nn/tuned.json`` when it exists)."""
    from inrank import preset

    p = preset(name)
    return {"lr": p.lr, "config": asdict(p.config), "tuned": p.tuned}
