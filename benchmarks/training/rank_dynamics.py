"""Rank dynamics during training (issue 17): relu, relu+rei, pe and siren on the 64 px
astronaut, 3 x 256, each method at its registry lr, with ``track_every`` records of every
layer's feature ranks and NTK-block shares; the tracking's overhead against the training time
(and against a fit without tracking, interleaved); the 3 x 128 tuned values (``--tuned``).

    python -m benchmarks.training.rank_dynamics [--steps 1000 --every 100]

Writes benchmarks/results/rank_dynamics.{json,md,png}.
"""
from __future__ import annotations

import sys
import time

import inrank
from inrank.nn.tuned_state import tuned_values
from inrank.report.figures import save_rank_dynamics
from inrank.report.machine import machine, machine_line
from inrank.report.tables import markdown_table

from benchmarks.frame import RESULTS, TUNED_W128, command, options, parser, write_result


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, steps=1000, tuned=TUNED_W128)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--points", type=int, default=512)
    ap.add_argument("--methods", default="relu,relu+rei,pe,siren")
    args = ap.parse_args(argv)
    with tuned_values(args.tuned):
        return _track(args)


def _track(args) -> int:
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
    save_rank_dynamics(tracks, RESULTS / "rank_dynamics.png",
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
             "tracking time / training time of the same fit. Command: "
             f"`{command(__file__, '--steps', args.steps, '--every', args.every)}`.", "",
             machine_line(info), "", table, "", "![rank dynamics](rank_dynamics.png)"]
    write_result("rank_dynamics", {"machine": info, **options(args), "rows": rows},
                 "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
