"""Reports: Markdown tables, result files (CSV / JSON / Markdown), figures, HTML pages and
the outputs of a fit (images, audio, meshes)."""
from __future__ import annotations

from .figures import new_figure, save_comparison, save_psnr_curves
from .results import flat_row, results_markdown, write_report

__all__ = ["new_figure", "save_comparison", "save_psnr_curves", "flat_row", "results_markdown",
           "write_report"]
