"""Held-out-pixel generalisation (Tancik et al. 2020 protocol): train on the even pixel sub-grid
(every other row and column), report PSNR on the training pixels, the held-out pixels and all.

    python benchmarks/generalize.py [--size 96 --steps 800 --width 128 --depth 3]

Writes benchmarks/results/generalize.{json,md}.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inrank  # noqa: E402
from inrank.tasks import TASK_METHODS, run_generalize  # noqa: E402
from _tables import run_jobs, write_results  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", default="kodim05,kodim23")
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--width", type=int, default=128)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--methods", default=",".join(TASK_METHODS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    signals = [inrank.load_image(DATA / "kodak" / f"{n}.png", size=args.size)
               for n in args.images.split(",")]
    rows = run_jobs(run_generalize, signals, args.methods.split(","), steps=args.steps,
                    width=args.width, depth=args.depth, seed=0)
    cols = [("signal", "image", ""), ("method", "method", ""), ("train_psnr", "train PSNR", ".2f"),
            ("test_psnr", "held-out PSNR", ".2f"), ("psnr", "all-pixel PSNR", ".2f"),
            ("seconds_per_step", "s/step", ".3f")]
    shape = "x".join(map(str, signals[0].shape))
    write_results("generalize", "Generalisation to held-out pixels", rows, cols,
                  {"images": args.images, "grid": shape, "train": "even sub-grid (1/4 of pixels)",
                   "steps": args.steps, "width": args.width, "depth": args.depth,
                   "lr": "preset default", "seed": 0, "batch": "full"},
                  "PSNR in dB (peak 1). Held-out = the 3/4 of pixels not in the even sub-grid.")


if __name__ == "__main__":
    main()
