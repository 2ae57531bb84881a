"""Batched fits against sequential ones, in the two regimes that matter (issue 16):

* compute-bound: B Kodak images at 32 x 48 (1,536 points), 3 x 256, B = 1, 8, 24;
* many small signals: B crops of 32 x 32 (1,024 points) from Kodak, 3 x 64, B = 1, 16, 64.

Per B: ``inrank.fit_many`` (its default number of models per pass) against B separate
``inrank.fit`` calls, interleaved rounds, medians of per-round ratios; the achieved GFLOP/s of
each (training-step FLOPs counted from the architecture, ``inrank.train.flops``) beside the
rate of a 1024^3 float32 matrix product on this machine (the practical limit).

    python -m benchmarks.speed.batched_fit [--steps 50 --rounds 5]

Writes benchmarks/results/batched_fit.{json,md}.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import inrank
from inrank.report.machine import machine, machine_line
from inrank.report.tables import markdown_table
from inrank.train.batched import CPU_PASS_FLOPS, default_chunk, fit_many
from inrank.train.flops import gemm_rate, step_flops

from benchmarks.frame import DATA, command, options, parser, write_result
REGIMES = {"compute-bound": {"width": 256, "batches": (1, 8, 24), "kind": "kodak32"},
           "many small signals": {"width": 64, "batches": (1, 16, 64), "kind": "crops32"}}


def _signals(kind: str, data: Path) -> list:
    out = []
    if kind == "kodak32":  # 24 images, portrait ones transposed so all share one shape
        for i in range(1, 25):
            s = inrank.load_image(data / f"kodim{i:02d}.png", size=32)
            img = s.to_image(s.values)
            out.append(inrank.Signal.from_image(img.transpose(1, 0, 2) if img.shape[0] > img.shape[1]
                                                else img, name=s.name))
        return out
    for i in range(1, 25):  # three 32 x 32 crops of each image at 64 px short side
        sig = inrank.load_image(data / f"kodim{i:02d}.png", size=64)
        img = sig.to_image(sig.values)
        img = img.transpose(1, 0, 2) if img.shape[0] > img.shape[1] else img     # (64, 96, 3)
        out += [inrank.Signal.from_image(np.ascontiguousarray(img[16:48, 32 * k:32 * k + 32]),
                                         name=f"kodim{i:02d}-{k}") for k in range(3)]
    return out


def table(rows: list[dict]) -> str:
    """The Markdown table of the ``rows`` of ``batched_fit.json``."""
    return markdown_table(
        ["regime", "B", "models per pass", "batched ms / signal-step",
         "sequential ms / signal-step", "speed-up (median)", "min", "max", "batched GFLOP/s",
         "sequential GFLOP/s"],
        [[r["regime"], str(r["B"]), str(r["chunk"]), f"{r['batched_ms']:.3f}",
          f"{r['sequential_ms']:.3f}", f"{r['speedup_median']:.2f}x", f"{r['speedup_min']:.2f}x",
          f"{r['speedup_max']:.2f}x", f"{r['batched_gflops']:.1f}", f"{r['sequential_gflops']:.1f}"]
         for r in rows], align="lrrrrrrrrr")


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, steps=50, data=DATA / "kodak")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--method", default="relu")
    ap.add_argument("--depth", type=int, default=3)
    args = ap.parse_args(argv)
    rate = gemm_rate()
    rows = []
    for regime, spec in REGIMES.items():
        signals = _signals(spec["kind"], args.data)
        width, n = spec["width"], len(signals[0])
        model = inrank.build(args.method, 2, 3, width=width, depth=args.depth)
        flops = step_flops(model, n)
        kw = dict(steps=args.steps, lr=1e-3, width=width, depth=args.depth, progress=False,
                  eval_every=args.steps)

        def batched(b: int) -> float:
            t0 = time.perf_counter()
            fit_many(args.method, signals[:b], **kw)
            return (time.perf_counter() - t0) / (b * args.steps)

        def sequential(b: int) -> float:
            t0 = time.perf_counter()
            for s in signals[:b]:
                m = inrank.build(args.method, 2, 3, width=width, depth=args.depth)
                inrank.fit(m, s, steps=args.steps, lr=1e-3, progress=False, eval_every=args.steps)
            return (time.perf_counter() - t0) / (b * args.steps)

        batched(2), sequential(1)  # warm-up
        for b in spec["batches"]:
            t_b, t_s = [], []
            for r in range(args.rounds):
                order = [(t_b, batched), (t_s, sequential)]
                for out, fn in (order if r % 2 == 0 else order[::-1]):
                    out.append(fn(b))
            ratios = [s / q for s, q in zip(t_s, t_b)]
            row = {"regime": regime, "B": b, "points": n, "width": width,
                   "chunk": min(b, default_chunk(model, n, torch.device("cpu"))),
                   "batched_ms": statistics.median(t_b) * 1e3,
                   "sequential_ms": statistics.median(t_s) * 1e3,
                   "speedup_median": statistics.median(ratios), "speedup_min": min(ratios),
                   "speedup_max": max(ratios), "batched_gflops": flops / statistics.median(t_b) / 1e9,
                   "sequential_gflops": flops / statistics.median(t_s) / 1e9,
                   "batched_all": t_b, "sequential_all": t_s}
            rows.append(row)
            print(f"{regime} B={b}: {row['speedup_median']:.2f}x", file=sys.stderr, flush=True)
    info = machine()
    lines = ["# Batched fitting: fit_many against sequential fits", "",
             f"{args.method}, {args.depth} hidden layers, {args.steps} full-batch Adam steps per fit, "
             f"{args.rounds} interleaved rounds per B; ms per signal-step are medians, speed-ups "
             "the median (min, max) of per-round ratios. Models per pass: "
             f"`inrank.train.batched.default_chunk` (a pass does up to {CPU_PASS_FLOPS / 1e9:g} GFLOP of training work; "
             "one model per pass is the separate fit itself). GFLOP/s: training-step FLOPs counted "
             "from the architecture (`inrank.train.flops.step_flops`) over the time; a 1024^3 "
             f"float32 matrix product reaches {rate / 1e9:.1f} GFLOP/s here "
             f"({torch.get_num_threads()} threads), the practical limit. Command: "
             f"`{command(__file__, '--steps', args.steps, '--rounds', args.rounds)}`.",
             "", machine_line(info), "", table(rows)]
    write_result("batched_fit", {"benchmark": "batched_fit", "machine": info,
                                 "gemm_gflops": rate / 1e9, **options(args), "rows": rows},
                 "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
