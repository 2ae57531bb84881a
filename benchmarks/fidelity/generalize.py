"""Held-out-pixel generalisation (Tancik et al. 2020 protocol): train on the even pixel sub-grid
(every other row and column), report PSNR on the training pixels, the held-out pixels and all.

    python -m benchmarks.fidelity.generalize [--steps 800 --width 128 --depth 3 --jobs 2]

The ``generalize`` suite's runs (:data:`inrank.bench.tasks.TASK_SUITES`: kodim05 and kodim23
at 96 px short side), each method at its registry lr with Adam, seed 0, through the runner
(records under benchmarks/results/generalize/runs/, resumable). Writes
benchmarks/results/generalize.{json,md}.
"""
from __future__ import annotations

import sys

from inrank.bench.tasks import TASK_SUITES

from benchmarks.fidelity.task_frame import (task_markdown, task_parser, task_records,
                                            task_rows, task_runs)
from benchmarks.frame import write_result

COLUMNS = [("signal", "image", ""), ("method", "method", ""), ("train_psnr", "train PSNR", ".2f"),
           ("test_psnr", "held-out PSNR", ".2f"), ("psnr", "all-pixel PSNR", ".2f"),
           ("seconds_per_step", "s/step", ".3f")]


def main(argv: list[str] | None = None) -> int:
    args = task_parser("generalize", __doc__, "images").parse_args(argv)
    runs = task_runs("generalize", args)
    rows = task_rows(runs, task_records("generalize", runs, args.jobs),
                     ("train_psnr", "test_psnr"))
    size = TASK_SUITES["generalize"]["size"]
    write_result("generalize", {
        "protocol": {"images": args.signals, "size": size,
                     "train": "even sub-grid (1/4 of pixels)", "steps": args.steps,
                     "width": args.width, "depth": args.depth, "lr": "preset default",
                     "optimizer": "adam", "seed": 0, "batch": "full"},
        "rows": rows}, lambda p: task_markdown(
            "Generalisation to held-out pixels", p, COLUMNS,
            "PSNR in dB (peak 1). Held-out = the 3/4 of pixels not in the even sub-grid."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
