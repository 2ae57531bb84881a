"""Per-signal throughput of ``inrank.fit_many`` (B INRs in one batched pass) against B
sequential ``inrank.fit`` calls, on Kodak images downsized; medians of interleaved rounds.

    python benchmarks/batched_fit.py [--size 32 --steps 100 --rounds 5 --batches 1,4,8,24]

Writes benchmarks/results/batched_fit.{json,md}.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inrank  # noqa: E402
from inrank.files import write_json, write_text  # noqa: E402
from inrank.report.machine import machine, machine_line  # noqa: E402
from inrank.report.tables import markdown_table  # noqa: E402
from inrank.train.batched import fit_many  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"


def table(rows: list[dict]) -> str:
    """The Markdown table of the ``rows`` of ``batched_fit.json``."""
    return markdown_table(
        ["B", "batched ms / signal-step", "sequential ms / signal-step", "speed-up (median)",
         "min", "max"],
        [[str(r["B"]), f"{r['batched_ms_per_signal_step']:.2f}",
          f"{r['sequential_ms_per_signal_step']:.2f}", f"{r['speedup_median']:.2f}x",
          f"{r['speedup_min']:.2f}x", f"{r['speedup_max']:.2f}x"] for r in rows],
        align="rrrrrr")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=32, help="short side in px")
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--batches", default="1,4,8,24")
    ap.add_argument("--method", default="relu+rei")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak")
    args = ap.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    # all Kodak images at one orientation share a shape; rotate portrait ones so groups are whole
    signals = []
    for i in range(1, 25):
        s = inrank.load_image(args.data / f"kodim{i:02d}.png", size=args.size)
        if s.shape[0] > s.shape[1]:
            img = s.to_image(s.values).transpose(1, 0, 2)
            s = inrank.Signal.from_image(img, name=s.name)
        signals.append(s)
    kw = dict(steps=args.steps, lr=1e-3, width=args.width, depth=args.depth, progress=False)

    def batched(b: int) -> float:
        t0 = time.perf_counter()
        fit_many(args.method, signals[:b], **kw)
        return (time.perf_counter() - t0) / (b * args.steps)

    def sequential(b: int) -> float:
        t0 = time.perf_counter()
        for s in signals[:b]:
            model = inrank.build(args.method, 2, 3, width=args.width, depth=args.depth)
            inrank.fit(model, s, steps=args.steps, lr=1e-3, progress=False)
        return (time.perf_counter() - t0) / (b * args.steps)

    batched(2), sequential(1)  # warm-up
    rows = []
    for b in batches:
        t_b, t_s = [], []
        for r in range(args.rounds):
            pair = [("b", batched), ("s", sequential)] if r % 2 == 0 else [("s", sequential), ("b", batched)]
            for tag, fn in pair:
                (t_b if tag == "b" else t_s).append(fn(b))
        ratios = [s / q for s, q in zip(t_s, t_b)]
        rows.append({"B": b, "batched_ms_per_signal_step": statistics.median(t_b) * 1e3,
                     "sequential_ms_per_signal_step": statistics.median(t_s) * 1e3,
                     "speedup_median": statistics.median(ratios), "speedup_min": min(ratios),
                     "speedup_max": max(ratios), "batched_all": t_b, "sequential_all": t_s})
        print(f"B={b}: speed-up {statistics.median(ratios):.2f}x", file=sys.stderr)
    info = machine()
    h, w = signals[0].shape
    lines = ["# Batched fitting: fit_many vs sequential fit", "",
             f"{args.method}, {args.depth} x {args.width} MLP, Kodak images at {w} x {h} "
             f"(portrait ones transposed so all share a shape), {args.steps} full-batch Adam steps, "
             f"{args.rounds} interleaved rounds per B. Command: `python benchmarks/batched_fit.py "
             f"--size {args.size} --steps {args.steps} --rounds {args.rounds} --batches {args.batches}`.",
             "", machine_line(info), "", table(rows)]
    write_json(OUT / "batched_fit.json", {"benchmark": "batched_fit", "machine": info, **vars(args),
                                          "data": str(args.data), "rows": rows})
    write_text(OUT / "batched_fit.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
