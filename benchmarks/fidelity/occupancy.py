"""3-D occupancy: the task presets on the Stanford bunny and armadillo (BCE on logits).

    python benchmarks/fidelity/occupancy.py [--n-points 20000 --steps 500 --batch-size 4096 --resolution 48]

Labels by the generalized winding number; IoU on the training samples and on a dense
resolution^3 grid of cell centres. Needs inrank[mesh]. Writes benchmarks/results/occupancy.{json,md}.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/_tables.py
from inrank.bench.tasks import run_occupancy  # noqa: E402
from _tables import run_jobs, task_arguments, task_signals, write_results  # noqa: E402


def main() -> None:
    args = task_arguments("occupancy", __doc__, "meshes", ("n_points", "batch_size", "resolution"))
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    signals = task_signals("occupancy", args.signals, n_points=args.n_points)
    print(f"sampling + labelling: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    rows = run_jobs(run_occupancy, signals, args.methods.split(","), steps=args.steps,
                    width=args.width, depth=args.depth, seed=0, batch_size=args.batch_size,
                    resolution=args.resolution)
    cols = [("signal", "mesh", ""), ("method", "method", ""), ("grid_iou", "grid IoU", ".4f"),
            ("iou", "sample IoU", ".4f"), ("accuracy", "sample accuracy", ".4f"),
            ("seconds_per_step", "s/step", ".3f")]
    write_results("occupancy", "3-D occupancy", rows, cols,
                  {"meshes": args.signals, "n_points": args.n_points,
                   "sampling": "50% surface + N(0, 0.01^2 or 0.05^2), 50% uniform in [-1,1]^3",
                   "steps": args.steps, "batch": args.batch_size, "width": args.width,
                   "depth": args.depth, "lr": "preset default", "seed": 0,
                   "grid": f"{args.resolution}^3 cell centres"},
                  "Grid IoU: IoU of logit > 0 against the winding-number inside of the mesh on the "
                  "dense grid (the held-out measure). Sample IoU/accuracy: on the training points.")


if __name__ == "__main__":
    main()
