"""Render a bench report (``report.html``) in headless Chromium and save a screenshot, to check
that the page renders in a real browser.

    python -m benchmarks.render_report benchmarks/archive/results/bench/quick/report.html \
        [--png benchmarks/archive/results/bench/quick/report_screenshot.png --width 1200 --height 2400]

Needs Debian's ``chromium`` package (``apt-get install -y chromium``). Exits non-zero, saying so,
when Chromium is missing or writes no screenshot.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars")


def find_chromium() -> str | None:
    """Path of a Chromium binary, or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def screenshot(page: Path, png: Path, *, width: int = 1200, height: int = 2400,
               timeout: float = 120.0) -> Path:
    """Screenshot ``page`` (a local HTML file) into ``png`` with headless Chromium."""
    binary = find_chromium()
    if binary is None:
        raise FileNotFoundError("chromium not found; install it: apt-get install -y chromium")
    png = png.resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    with tempfile.TemporaryDirectory(prefix="inrank-chromium-") as profile:
        cmd = [binary, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
               f"--window-size={width},{height}", page.resolve().as_uri()]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if not png.is_file() or png.stat().st_size == 0:
        raise RuntimeError(f"chromium wrote no screenshot (exit {proc.returncode}): "
                           f"{proc.stderr.strip()[-500:]}")
    return png


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("page", type=Path, help="report.html")
    ap.add_argument("--png", type=Path, default=None, help="output (PAGE's folder/report_screenshot.png)")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--height", type=int, default=2400)
    args = ap.parse_args()
    if not args.page.is_file():
        print(f"render_report: no such page: {args.page}", file=sys.stderr)
        return 2
    png = args.png or args.page.with_name("report_screenshot.png")
    try:
        out = screenshot(args.page, png, width=args.width, height=args.height)
    except (FileNotFoundError, RuntimeError, subprocess.TimeoutExpired) as exc:
        print(f"render_report: {exc}", file=sys.stderr)
        return 1
    width, height = shrink(out)
    print(f"{out} {width}x{height}")
    return 0


def shrink(png: Path) -> tuple[int, int]:
    """Rewrite ``png`` as a 256-colour PNG (about 3x smaller); return its size."""
    from PIL import Image

    with Image.open(png) as img:
        img.load()
        small = img.convert("RGB").quantize(colors=256)
    small.save(png, format="PNG", optimize=True)
    return small.size


if __name__ == "__main__":
    sys.exit(main())
