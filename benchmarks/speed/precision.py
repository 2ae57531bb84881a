"""Speed and PSNR of fits per method and precision (issue 16): float32, bf16 and fp16
autocast on the 64 px astronaut, 3 x 256, full-batch Adam at each method's registry lr (the
3 x 128 tuned values, ``--tuned``).

Per (method, precision): PSNR after the steps (evaluated in float32), the median training
step time over interleaved rounds, the achieved GFLOP/s (training-step FLOPs counted from the
architecture) beside the rate of a 1024^3 matrix product in that dtype on this machine, and the
precision check of ``inrank.fit`` (float32's PSNR gain from the final state).

    python -m benchmarks.speed.precision [--steps 500 --rounds 3 --device cpu]

Writes benchmarks/results/precision[_DEVICE].{json,md} (the CPU's without a suffix).
"""
from __future__ import annotations

import statistics
import sys

import torch

import inrank
from inrank.nn.tuned_state import tuned_values
from inrank.report.machine import machine, machine_line
from inrank.report.tables import markdown_table
from inrank.train.flops import gemm_rate, step_flops

from benchmarks.frame import TUNED_W128, command, options, parser, write_result
DTYPES = {"float32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def table(rows: list[dict], rates: dict) -> str:
    return markdown_table(
        ["method", "precision", "PSNR (dB)", "ms/step (median)", "speed-up vs float32",
         "GFLOP/s", "% of GEMM rate", "float32 gain at the end (dB)"],
        [[r["method"], r["precision"], f"{r['psnr']:.2f}", f"{r['ms']:.2f}",
          f"{r['speedup']:.2f}x", f"{r['gflops']:.1f}",
          f"{100 * r['gflops'] * 1e9 / rates[r['precision']]:.0f}%",
          "-" if r["gain_db"] is None else f"{r['gain_db']:+.2f}"] for r in rows],
        align="llrrrrrr")


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, steps=500, device="cpu", tuned=TUNED_W128)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--methods", default="relu,relu+rei,pe,siren")
    ap.add_argument("--precisions", default="float32,bf16,fp16")
    ap.add_argument("--image", default="astronaut", help="a scikit-image sample or a path")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--name", default="precision", help="results/NAME.{json,md}")
    args = ap.parse_args(argv)
    with tuned_values(args.tuned):
        return _measure(args)


def _measure(args) -> int:
    sig = inrank.load_image(args.image, size=args.size)
    precisions = args.precisions.split(",")
    rates = {p: gemm_rate(dtype=DTYPES[p], device=args.device) for p in precisions}
    times: dict[tuple, list[float]] = {}
    last: dict[tuple, inrank.FitResult] = {}
    for r in range(args.rounds):
        order = [(m, p) for m in args.methods.split(",") for p in precisions]
        for m, p in (order if r % 2 == 0 else order[::-1]):
            model = inrank.build(m, 2, 3, width=args.width, depth=3, seed=0)
            res = inrank.fit(model, sig, steps=args.steps, lr=inrank.preset(m).lr, precision=p,
                             device=args.device, progress=False)
            times.setdefault((m, p), []).append(res.seconds_per_step)
            last[(m, p)] = res
            print(f"round {r} {m} {p}: {res.final_psnr:.2f} dB {res.seconds_per_step * 1e3:.1f} ms",
                  file=sys.stderr, flush=True)
    rows = []
    for (m, p), ts in times.items():
        res, base = last[(m, p)], statistics.median(times[(m, "float32")]) if "float32" in precisions else None
        flops = step_flops(inrank.build(m, 2, 3, width=args.width, depth=3), len(sig))
        check = res.precision_check or {}
        rows.append({"method": m, "precision": p, "psnr": res.final_psnr,
                     "ms": statistics.median(ts) * 1e3, "all_seconds": ts,
                     "speedup": (base / statistics.median(ts)) if base else float("nan"),
                     "gflops": flops / statistics.median(ts) / 1e9,
                     "gain_db": check.get("gain_db"), "check": check or None})
    info = machine()
    suffix = "" if args.device == "cpu" else f"_{args.device.split(':')[0]}"
    lines = [f"# Precision: speed and PSNR per method ({args.device})", "",
             f"{args.image} at {args.size} px short side ({len(sig)} points), 3 x {args.width}, "
             f"{args.steps} full-batch Adam steps at each "
             f"method's registry lr, seed 0; {args.rounds} interleaved rounds, median step times; "
             "PSNR of the last round (evaluated in float32). The last column: from the final "
             "state, the same number of steps continued in float32 against in the fit's precision "
             "(`FitResult.precision_check`). GEMM rates (1024^3 product, this machine): "
             + ", ".join(f"{p} {v / 1e9:.1f} GFLOP/s" for p, v in rates.items())
             + ". Command: `" + command(__file__, "--steps", args.steps, "--rounds", args.rounds,
                                        "--device", args.device)
             + ("" if args.name == "precision" else
                f" --image {args.image} --size {args.size} --width {args.width} --methods "
                f"{args.methods} --precisions {args.precisions} --name {args.name}")
             + "`.", "", machine_line(info), "",
             table(rows, rates)]
    write_result(f"{args.name}{suffix}", {
        "machine": info, **options(args), "gemm_gflops": {p: v / 1e9 for p, v in rates.items()},
        "rows": rows}, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
