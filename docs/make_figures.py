"""Regenerate the documentation site's figures, data files and generated blocks.

    python docs/make_figures.py                  # everything (about 10 minutes on 2 CPU cores)
    python docs/make_figures.py --only results live blocks   # skip the gallery's fits (seconds)
    python docs/make_figures.py --only report    # the bench report's screenshot (needs chromium)
    python docs/make_figures.py --only patterns  # the synthetic test patterns (a second)

Parts (``--only`` takes any of them; each writes under ``docs/``):

- ``results``: figures drawn from committed files under ``benchmarks/results/`` (no fitting);
- ``live``: small diagnoses computed now (``figures/rank_bars.png``, ``figures/ntk_spectra.png``,
  ``data/diagnosis.json``);
- ``gallery``: ``inrank demo``'s fits, reconstructions and error maps (``figures/gallery/``,
  ``data/gallery.json``);
- ``report``: a headless-Chromium screenshot of the ``table1`` report as the library writes it
  now, rebuilt from the committed run records (``figures/bench_report.png``; Debian's
  ``chromium``);
- ``patterns``: the synthetic test patterns, one panel each (``figures/patterns.png``);
- ``blocks``: the pages' ``<!-- generated: NAME -->`` blocks, from the data files and the
  committed results (always last).
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from docgen import DOCS  # noqa: E402
from docgen.blocks import render_pages  # noqa: E402
from docgen.from_results import make_result_figures  # noqa: E402
from docgen.gallery import GallerySettings, make_gallery  # noqa: E402
from docgen.live import make_live_figures  # noqa: E402
from docgen.patterns import make_pattern_figure  # noqa: E402
from docgen.report import report_screenshot  # noqa: E402

PARTS = ("results", "live", "gallery", "report", "patterns", "blocks")


def _blocks() -> list[Path]:
    stale = render_pages(write=True)
    for item in stale:
        print(f"  updated block {item}")
    return []


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS),
                    help="parts to regenerate (default: all)")
    ap.add_argument("--progress", action="store_true", help="progress bars for the gallery's fits")
    args = ap.parse_args(argv)
    jobs: dict[str, Callable[[], list[Path]]] = {
        "results": make_result_figures,
        "live": make_live_figures,
        "gallery": lambda: make_gallery(GallerySettings(), progress=args.progress),
        "report": lambda: [report_screenshot()],
        "patterns": make_pattern_figure,
        "blocks": _blocks,
    }
    for part in PARTS:
        if part not in args.only:
            continue
        t0 = time.perf_counter()
        print(f"{part} ...", flush=True)
        for path in jobs[part]():
            size = path.stat().st_size / 1024
            print(f"  {path.relative_to(DOCS.parent)} ({size:.0f} KiB)")
        print(f"{part}: {time.perf_counter() - t0:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
