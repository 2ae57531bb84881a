"""``inrank tune SUITE``: choose every method's lr and knob on the suite's calibration images."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .args import names, positive_int

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..bench import executors, suite, suites

    tunable = [n for n in suites() if suite(n).calibration]
    p.add_argument("suite", choices=tunable, metavar="SUITE", help=", ".join(tunable))
    p.add_argument("--methods", nargs="+", default=None, metavar="NAME",
                   help="methods to tune (the suite's)")
    p.add_argument("--images", nargs="+", default=None, metavar="IMAGE",
                   help="calibration images (the suite's; never its test images)")
    p.add_argument("--steps", type=positive_int, default=None, help="steps per tuning run")
    p.add_argument("--out", type=Path, default=None, help="output folder (inrank-out/tune/SUITE)")
    p.add_argument("--save-tuned", type=Path, default=None, metavar="PATH",
                   help="also write the tuned values to PATH (src/inrank/nn/tuned.json is the "
                   "file the registry reads)")
    p.add_argument("--executor", default="local", choices=executors(), help="as inrank bench")
    p.add_argument("--jobs", type=positive_int, default=2, help="processes executor: workers (2)")
    p.add_argument("--data", type=Path, default=None, help="folder holding kodak/")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (auto)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")


def run(args: argparse.Namespace) -> int:
    from ..bench.tuning import tune_suite
    from ..report.tables import markdown_table

    res = tune_suite(args.suite, methods=names(args.methods), images=names(args.images),
                     steps=args.steps, out=args.out, save=args.save_tuned,
                     executor=args.executor, jobs=args.jobs, data=args.data,
                     device=args.device, progress=not args.no_progress)
    rows = []
    for method, t in res.tuned.items():
        knob = ", ".join(f"{k}={v:g}" for k, v in t["config"].items()) or "-"
        edges = [k for k, v in t["edge"].items() if v]
        rows.append([method, f"{t['lr']:g}", knob, ", ".join(edges) or "-"])
    print(markdown_table(["method", "lr", "knob", "at a grid edge"], rows))
    print(f"inrank tune {args.suite}: {res.ran} run(s) done, {res.skipped} already finished "
          f"-> {res.path}", file=sys.stderr)
    return 0
