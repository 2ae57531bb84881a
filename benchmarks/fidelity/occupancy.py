"""3-D occupancy: the task presets on the Stanford bunny and armadillo (BCE on logits).

    python -m benchmarks.fidelity.occupancy [--steps 500 --width 128 --depth 3 --jobs 2]

The ``occupancy`` suite's runs (:data:`inrank.bench.tasks.TASK_SUITES`: 20,000 samples labelled
by the generalized winding number, batches of 4,096, IoU on a 48^3 grid of cell centres), each
method at its registry lr with Adam, seed 0, through the runner (records under
benchmarks/results/occupancy/runs/, resumable). Needs inrank[mesh]. Writes
benchmarks/results/occupancy.{json,md}.
"""
from __future__ import annotations

import sys

from inrank.bench.tasks import TASK_SUITES

from benchmarks.fidelity.task_frame import (task_markdown, task_parser, task_records,
                                            task_rows, task_runs)
from benchmarks.frame import write_result

COLUMNS = [("signal", "mesh", ""), ("method", "method", ""), ("grid_iou", "grid IoU", ".4f"),
           ("iou", "sample IoU", ".4f"), ("accuracy", "sample accuracy", ".4f"),
           ("seconds_per_step", "s/step", ".3f")]


def main(argv: list[str] | None = None) -> int:
    args = task_parser("occupancy", __doc__, "meshes").parse_args(argv)
    proto = TASK_SUITES["occupancy"]
    runs = task_runs("occupancy", args)
    rows = task_rows(runs, task_records("occupancy", runs, args.jobs),
                     ("accuracy", "iou", "grid_iou"))
    write_result("occupancy", {
        "protocol": {"meshes": args.signals, "n_points": proto["n_points"],
                     "sampling": "50% surface + N(0, 0.01^2 or 0.05^2), 50% uniform in [-1,1]^3",
                     "steps": args.steps, "batch": proto["batch_size"], "width": args.width,
                     "depth": args.depth, "lr": "preset default", "optimizer": "adam",
                     "seed": 0, "grid": f"{proto['resolution']}^3 cell centres"},
        "rows": rows}, lambda p: task_markdown(
            "3-D occupancy", p, COLUMNS,
            "Grid IoU: IoU of logit > 0 against the winding-number inside of the mesh on the "
            "dense grid (the held-out measure). Sample IoU/accuracy: on the training points."))
    return 0


if __name__ == "__main__":
    sys.exit(main())
