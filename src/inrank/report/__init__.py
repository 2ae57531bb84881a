"""Reports: the one Markdown table writer, result files (CSV / JSON / Markdown), figures, HTML
pages (bench report and demo), the machine description, and the outputs of a fit (images,
audio, meshes, video)."""
from __future__ import annotations

from .figures import new_figure, save_comparison, save_psnr_curves
from .machine import machine, machine_line
from .results import flat_row, results_markdown, write_report
from .tables import Table, markdown_table, to_markdown

__all__ = ["markdown_table", "to_markdown", "Table", "new_figure", "save_comparison",
           "save_psnr_curves", "flat_row", "results_markdown", "write_report", "machine",
           "machine_line"]
