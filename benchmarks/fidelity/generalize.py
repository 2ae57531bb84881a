"""Held-out-pixel generalisation (Tancik et al. 2020 protocol): train on the even pixel sub-grid
(every other row and column), report PSNR on the training pixels, the held-out pixels and all.

    python benchmarks/fidelity/generalize.py [--size 96 --steps 800 --width 128 --depth 3]

Writes benchmarks/results/generalize.{json,md}.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/_tables.py
from inrank.bench.tasks import run_generalize  # noqa: E402
from _tables import run_jobs, task_arguments, task_signals, write_results  # noqa: E402


def main() -> None:
    args = task_arguments("generalize", __doc__, "images", ("size",))
    torch.set_num_threads(1)
    signals = task_signals("generalize", args.signals, size=args.size)
    rows = run_jobs(run_generalize, signals, args.methods.split(","), steps=args.steps,
                    width=args.width, depth=args.depth, seed=0)
    cols = [("signal", "image", ""), ("method", "method", ""), ("train_psnr", "train PSNR", ".2f"),
            ("test_psnr", "held-out PSNR", ".2f"), ("psnr", "all-pixel PSNR", ".2f"),
            ("seconds_per_step", "s/step", ".3f")]
    shape = "x".join(map(str, signals[0].shape))
    write_results("generalize", "Generalisation to held-out pixels", rows, cols,
                  {"images": args.signals, "grid": shape, "train": "even sub-grid (1/4 of pixels)",
                   "steps": args.steps, "width": args.width, "depth": args.depth,
                   "lr": "preset default", "seed": 0, "batch": "full"},
                  "PSNR in dB (peak 1). Held-out = the 3/4 of pixels not in the even sub-grid.")


if __name__ == "__main__":
    main()
