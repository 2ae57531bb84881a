"""``inrank tune SUITE``: choose every method's lr and knob on the suite's calibration images.

The options are :func:`~inrank.bench.tuning.tune_suite`'s. ``OUT/config.json`` holds the
command's resolved configuration (``inrank tune --config OUT/config.json`` reruns, that is
resumes, it).
"""
from __future__ import annotations

import sys
from pathlib import Path

from jsonargparse import Namespace

from .. import files as _io
from ..bench import executors, suite, suites
from ..bench.tuning import tune_suite
from ..report.tables import markdown_table
from .args import Parser, add_options, picked

__all__ = ["add_arguments", "run", "TUNING"]

#: :func:`~inrank.bench.tuning.tune_suite`'s options (``name`` is the positional ``suite``,
#: ``save`` the option ``save_tuned``).
TUNING = {"methods": "methods", "images": "images", "steps": "steps", "save_tuned": "save",
          "executor": "executor", "jobs": "jobs", "data": "data", "device": "device",
          "progress": "progress", "optimizer": "optimizer", "replace_tuned": "replace_saved"}


def add_arguments(p: Parser) -> None:
    tunable = [n for n in suites() if suite(n).calibration]
    add_options(p, tune_suite, {"suite": "name"}, positional=["suite"],
                choices={"suite": tunable}, help={"suite": ", ".join(tunable)})
    add_options(p, tune_suite, TUNING, choices={"executor": executors(),
                                                "optimizer": ("adam", "muon")},
                help={"methods": "methods to tune; null: the suite's",
                      "optimizer": "adam: every lr and knob; muon: Muon's lr (Adam's lr and "
                                   "the knob as tuned)",
                      "replace_tuned": "write --save-tuned anew with only these methods "
                                       "(default: merge into it)",
                      "images": "calibration images (never the suite's test images); "
                                "null: the suite's",
                      "steps": "steps per tuning run; null: the suite's",
                      "executor": "as inrank bench", "jobs": "processes executor: workers",
                      "device": '"auto", "cpu" or "cuda" (as inrank bench)',
                      "progress": "progress bars on stderr (as inrank bench)",
                      "data": "folder holding kodak/"})
    add_options(p, tune_suite, ["out"],
                help={"out": "output folder; null: inrank-out/tune/SUITE"})


def run(args: Namespace, config: dict) -> int:
    out = Path(args.out or Path("inrank-out/tune") / args.suite)
    _io.write_json(out / "config.json", config)
    options = {TUNING[k]: v for k, v in picked(args, TUNING).items()}
    res = tune_suite(args.suite, **options, out=out)
    rows = []
    for method, t in res.tuned.items():
        t = t.get("muon", t)
        knob = ", ".join(f"{k}={v:g}" for k, v in t["config"].items()) or "-"
        edges = [k for k, v in t["edge"].items() if v]
        muon = [f"{t['muon_lr']:g}"] if args.optimizer == "muon" else []
        rows.append([method, f"{t['lr']:g}", *muon, knob, ", ".join(edges) or "-"])
    head = ["method", "lr"] + (["muon_lr"] if args.optimizer == "muon" else [])
    print(markdown_table(head + ["knob", "at a grid edge"], rows))
    print(f"inrank tune {args.suite}: {res.ran} run(s) done, {res.skipped} already finished "
          f"-> {res.path}", file=sys.stderr)
    return 0
