"""A screenshot of a bench suite's HTML report as the library writes it now, rebuilt from the
committed run records (no fitting) and taken by headless Chromium
(``benchmarks/render_report.py``; Debian's ``chromium`` package)."""
from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

from . import FIGURES, RESULTS, ROOT

__all__ = ["report_screenshot"]


def _render_report():
    spec = importlib.util.spec_from_file_location("render_report",
                                                  ROOT / "benchmarks" / "render_report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def report_screenshot(suite: str = "table1", out: Path = FIGURES / "bench_report.png", *,
                      width: int = 1100, height: int = 1500) -> Path:
    """Rebuild ``suite``'s report from ``benchmarks/results/bench/SUITE/runs`` in a temporary
    folder and screenshot its top ``height`` pixels at ``width`` into ``out``. Refuses (rather
    than training) when a run of the suite has no committed record."""
    from inrank.bench import expand, run_suite
    from inrank.bench import suite as get_suite
    from inrank.bench.runner import load_records

    records = RESULTS / "bench" / suite
    runs = expand(get_suite(suite))
    missing = len(runs) - len(load_records(records, runs))
    if missing:
        raise RuntimeError(f"{missing} of {len(runs)} runs of {suite} have no record under "
                           f"{records}/runs (run the suite first)")
    shot = _render_report()
    with tempfile.TemporaryDirectory(prefix="inrank-report-") as tmp:
        folder = Path(tmp) / suite
        shutil.copytree(records / "runs", folder / "runs")
        page = run_suite(suite, out=folder, progress=False).files["html"]
        shot.screenshot(Path(page), out, width=width, height=height)
    shot.shrink(out)
    return out
