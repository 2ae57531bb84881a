"""Rank dynamics during training (issue 17): relu, relu+rei, pe and siren on the 64 px
astronaut, 3 x 256, each method at its registry lr, with ``track_every`` records of every
layer's feature ranks and NTK-block shares; the tracking's overhead against the training time
(and against a fit without tracking, interleaved).

    python benchmarks/training/rank_dynamics.py [--steps 1000 --every 100]

Writes benchmarks/results/rank_dynamics.{json,md,png}.
"""
from __future__ import annotations

import sys as _sys
from pathlib import Path as _Path

_sys.path.insert(0, str(_Path(__file__).resolve().parents[1]))  # benchmarks/_tuned_w128.py
import _tuned_w128  # noqa: E402,F401  # its committed results: table1's 3 x 128 tuned values

import argparse
import time
from pathlib import Path

import inrank
from inrank.files import write_json, write_text
from inrank.report.figures import save_rank_dynamics
from inrank.report.machine import machine, machine_line
from inrank.report.tables import markdown_table

OUT = Path(__file__).resolve().parents[1] / "results"  # benchmarks/results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--points", type=int, default=512)
    ap.add_argument("--methods", default="relu,relu+rei,pe,siren")
    args = ap.parse_args()
    sig = inrank.load_image("astronaut", size=64)
    rows, tracks = [], {}
    for m in args.methods.split(","):
        walls = {}
        for tracked in (False, True):
            model = inrank.build(m, 2, 3, width=256, depth=3, seed=0)
            t0 = time.perf_counter()
            res = inrank.fit(model, sig, steps=args.steps, lr=inrank.preset(m).lr,
                             progress=False, track_every=args.every if tracked else None,
                             track_points=args.points)
            walls[tracked] = (time.perf_counter() - t0, res)
        res = walls[True][1]
        tracks[m] = res.track
        train = res.seconds_per_step * args.steps
        rows.append({"method": m, "psnr": res.final_psnr, "train_seconds": train,
                     "track_seconds": res.track_seconds, "overhead": res.track_seconds / train,
                     "wall_tracked": walls[True][0], "wall_plain": walls[False][0],
                     "track": res.track})
        print(m, f"{res.final_psnr:.2f} dB, tracking {100 * rows[-1]['overhead']:.1f}%", flush=True)
    save_rank_dynamics(tracks, OUT / "rank_dynamics.png",
                       title=f"astronaut 64 px, 3 x 256: every {args.every} steps on "
                             f"{args.points} points")
    info = machine()
    table = markdown_table(
        ["method", "PSNR (dB)", "training (s)", "tracking (s)", "overhead",
         "layer-3 input eff. rank, step 0 -> end", "layer-1 NTK share, step 0 -> end"],
        [[r["method"], f"{r['psnr']:.2f}", f"{r['train_seconds']:.1f}",
          f"{r['track_seconds']:.1f}", f"{100 * r['overhead']:.1f}%",
          f"{r['track'][0]['layers'][2]['features']['effective']:.1f} -> "
          f"{r['track'][-1]['layers'][2]['features']['effective']:.1f}",
          f"{r['track'][0]['layers'][0]['ntk']['share']:.3f} -> "
          f"{r['track'][-1]['layers'][0]['ntk']['share']:.3f}"] for r in rows])
    lines = ["# Rank dynamics during training", "",
             f"Astronaut 64 px, 3 x 256, {args.steps} full-batch Adam steps at each method's "
             f"registry lr; `fit(track_every={args.every}, track_points={args.points})`. Overhead = "
             "tracking time / training time of the same fit. Command: `python "
             f"benchmarks/training/rank_dynamics.py --steps {args.steps} --every {args.every}`.", "",
             machine_line(info), "", table, "", "![rank dynamics](rank_dynamics.png)"]
    write_json(OUT / "rank_dynamics.json", {"machine": info, **vars(args), "rows": rows})
    write_text(OUT / "rank_dynamics.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
