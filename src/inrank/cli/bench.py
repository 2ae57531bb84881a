"""``inrank bench SUITE``: run a benchmark suite (resumable) and write its tables and report."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .args import names, positive_float, positive_int

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..bench import executors, suite, suites
    from ..train.precision import PRECISIONS

    p.description = "Run a benchmark suite. Suites: " + "; ".join(
        f"{n}: {suite(n).summary}" for n in suites())
    p.add_argument("suite", choices=suites(), metavar="SUITE", help=", ".join(suites()))
    p.add_argument("--methods", nargs="+", default=None, metavar="NAME",
                   help="methods (presets or variants), space or comma separated (suite's own)")
    p.add_argument("--images", nargs="+", default=None, metavar="IMAGE",
                   help="Kodak names (kodim01), scikit-image samples or paths (suite's own)")
    p.add_argument("--steps", type=positive_int, default=None, help="Adam steps per run (suite's)")
    p.add_argument("--seeds", type=int, nargs="+", default=None, help="seeds (suite's)")
    p.add_argument("--widths", type=positive_int, nargs="+", default=None, help="widths (suite's)")
    p.add_argument("--size", type=positive_int, default=None, help="short side in px (suite's)")
    p.add_argument("--out", type=Path, default=None, help="output folder (inrank-out/bench/SUITE)")
    p.add_argument("--executor", default="local", choices=executors(),
                   help="local (one by one), processes (--jobs worker processes), batched "
                   "(fit_many groups) or ray (tasks) (local)")
    p.add_argument("--precision", default="float32", choices=PRECISIONS,
                   help="every fit's forward-pass precision (float32)")
    p.add_argument("--jobs", type=positive_int, default=2,
                   help="processes executor: worker processes (2)")
    p.add_argument("--address", default=None,
                   help="ray executor: auto or HOST:PORT of a running cluster (a local Ray instance)")
    p.add_argument("--data", type=Path, default=None,
                   help="folder holding kodak/ ($INRANK_DATA, else ../shared/data)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (auto)")
    p.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads")
    p.add_argument("--save-tuned", type=Path, default=None, metavar="PATH",
                   help="lr sweeps: also write the best lr per method to PATH in the registry's "
                   "format (src/inrank/nn/tuned.json is the file the registry reads)")
    p.add_argument("--lr-multipliers", type=positive_float, nargs="+", default=None, metavar="X",
                   help="lr grid as multiples of each method's base lr (suite's; lr-sweep: 1/3 1 3)")
    p.add_argument("--report-image", default=None, help="image shown in the HTML report")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    p.add_argument("--no-plots", action="store_true", help="write tables and HTML, skip figures")


def run(args: argparse.Namespace) -> int:
    from ..bench import run_suite, suite, write_tuned
    from ..errors import InputError

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    grid = args.lr_multipliers or suite(args.suite).lr_multipliers
    if args.save_tuned is not None and len(set(grid)) == 1:
        raise InputError(f"--save-tuned needs an lr sweep; suite {args.suite!r} has one lr per "
                         "method (use: inrank bench lr-sweep --save-tuned PATH)")
    out = args.out or Path("inrank-out/bench") / args.suite
    res = run_suite(args.suite, methods=names(args.methods), images=names(args.images),
                    steps=args.steps, seeds=args.seeds, widths=args.widths, size=args.size,
                    out=out, progress=not args.no_progress, executor=args.executor,
                    data=args.data, device=args.device,
                    report_image=args.report_image, plots=not args.no_plots,
                    lr_multipliers=args.lr_multipliers, address=args.address, jobs=args.jobs,
                    precision=args.precision)
    if args.save_tuned is not None:
        import json

        write_tuned(json.loads(res.files["best_lr"].read_text()), args.save_tuned)
    print(f"inrank bench {args.suite}: {res.ran} run(s) done, {res.skipped} already finished "
          f"-> {out}/", file=sys.stderr)
    print(res.files["md"].read_text(encoding="utf-8"))
    print(f"report: {res.files['html']}", file=sys.stderr)
    return 0
