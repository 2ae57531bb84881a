"""``inrank bench SUITE``: run a benchmark suite (resumable) and write its tables and report.

The options are :func:`inrank.run_suite`'s and :func:`command`'s. ``OUT/command.json`` holds
the command's resolved configuration (``inrank bench --config OUT/command.json`` reruns, that
is resumes, it); ``OUT/config.json`` is the suite's protocol, written by :func:`inrank.run_suite`.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from jsonargparse import Namespace

from .. import files as _io
from .. import validation
from ..bench import executors, run_suite, suite, suites, write_tuned
from ..errors import InputError
from ..train.precision import PRECISIONS
from .args import Parser, add_options, picked

__all__ = ["add_arguments", "run", "command", "SUITE"]

#: :func:`inrank.run_suite`'s options (``name`` is the positional ``suite``).
SUITE = ("methods", "images", "steps", "seeds", "widths", "size", "lr_multipliers", "executor",
         "jobs", "address", "precision", "optimizers", "data", "device", "report_image",
         "progress", "plots", "auto", "batch_size")


def command(*, threads: int | None = None, save_tuned: Path | None = None) -> None:
    """The options of ``inrank bench`` that :func:`inrank.run_suite` does not take.

    Args:
        threads: torch CPU threads.
        save_tuned: lr sweeps: also write the best lr per method to this file in the registry's
            format (src/inrank/nn/tuned.json is the file the registry reads).
    """


def add_arguments(p: Parser) -> None:
    p.description = "Run a benchmark suite. Suites: " + "; ".join(
        f"{n}: {suite(n).summary}" for n in suites())
    add_options(p, run_suite, {"suite": "name"}, positional=["suite"], choices={"suite": suites()},
                help={"suite": ", ".join(suites())})
    add_options(p, run_suite, SUITE, choices={"executor": executors(), "precision": PRECISIONS},
                help={"methods": "methods (presets or variants); null: the suite's",
                      "images": "Kodak names (kodim01), scikit-image samples or paths; "
                                "null: the suite's",
                      "steps": "optimisation steps per run; null: the suite's",
                      "seeds": "seeds; null: the suite's",
                      "widths": "widths; null: the suite's",
                      "optimizers": "optimisers (adam, muon), each method at its tuned lr "
                                    "for each; null: the suite's",
                      "size": "short side in px; null: the suite's",
                      "lr_multipliers": "lr grid as multiples of each method's base lr "
                                        "(null: the suite's; lr-sweep: 0.333 1 3)",
                      "data": "folder holding kodak/ ($INRANK_DATA, else ../shared/data)"})
    add_options(p, run_suite, ["out"], defaults={"out": None},
                help={"out": "output folder; null: inrank-out/bench/SUITE"})
    add_options(p, command, ["threads", "save_tuned"])


def run(args: Namespace, config: dict) -> int:
    if args.threads is not None:

        torch.set_num_threads(validation.positive_int("threads", args.threads))
    grid = args.lr_multipliers or suite(args.suite).lr_multipliers
    if args.save_tuned is not None and len(set(grid)) == 1:
        raise InputError(f"--save-tuned needs an lr sweep; suite {args.suite!r} has one lr per "
                         "method (use: inrank bench lr-sweep --save-tuned PATH)")
    out = Path(args.out or Path("inrank-out/bench") / args.suite)
    _io.write_json(out / "command.json", config)
    res = run_suite(args.suite, **picked(args, SUITE), out=out)
    if args.save_tuned is not None:

        write_tuned(json.loads(res.files["best_lr"].read_text()), args.save_tuned)
    print(f"inrank bench {args.suite}: {res.ran} run(s) done, {res.skipped} already finished "
          f"-> {out}/", file=sys.stderr)
    print(res.files["md"].read_text(encoding="utf-8"))
    print(f"report: {res.files['html']}", file=sys.stderr)
    return 0
