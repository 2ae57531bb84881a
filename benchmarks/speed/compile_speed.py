"""Does ``torch.compile`` speed up a small coordinate MLP's training step on this machine?
(issue 16) Eager against compiled (default mode), the same full-batch Adam step on the 64 px
astronaut, 3 x 256; interleaved rounds, medians; the one-off compile time beside it.

    python -m benchmarks.speed.compile_speed [--steps 100 --rounds 5]

Writes benchmarks/results/compile_speed.{json,md}.
"""
from __future__ import annotations

import statistics
import sys
import time

import torch

import inrank
from inrank.report.machine import machine, machine_line
from inrank.report.tables import markdown_table
from inrank.train.flops import step_flops

from benchmarks.frame import command, options, parser, write_result


def _steps(model, x, y, steps: int) -> float:
    """Seconds per full-batch Adam step (after the first, which compiles)."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step():
        loss = torch.mean((model(x) - y) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = step()
    float(loss.detach())
    return (time.perf_counter() - t0) / steps


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, steps=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--methods", default="relu,siren,pe")
    args = ap.parse_args(argv)
    sig = inrank.load_image("astronaut", size=64)
    rows = []
    for m in args.methods.split(","):
        t_e, t_c = [], []
        t0 = time.perf_counter()
        compiled = torch.compile(inrank.build(m, 2, 3, width=256, depth=3, seed=0))
        _steps(compiled, sig.coords, sig.values, 1)
        compile_s = time.perf_counter() - t0
        for r in range(args.rounds):
            pair = [(t_e, lambda: inrank.build(m, 2, 3, width=256, depth=3, seed=0)),
                    (t_c, lambda: compiled)]
            for out, make in (pair if r % 2 == 0 else pair[::-1]):
                out.append(_steps(make(), sig.coords, sig.values, args.steps))
        ratios = [e / c for e, c in zip(t_e, t_c)]
        flops = step_flops(inrank.build(m, 2, 3, width=256, depth=3), len(sig))
        rows.append({"method": m, "eager_ms": statistics.median(t_e) * 1e3,
                     "compiled_ms": statistics.median(t_c) * 1e3, "compile_s": compile_s,
                     "speedup_median": statistics.median(ratios), "speedup_min": min(ratios),
                     "speedup_max": max(ratios),
                     "eager_gflops": flops / statistics.median(t_e) / 1e9,
                     "compiled_gflops": flops / statistics.median(t_c) / 1e9})
        print(rows[-1], file=sys.stderr, flush=True)
    info = machine()
    lines = ["# torch.compile on a coordinate MLP's training step", "",
             f"Astronaut 64 px (4,096 points), 3 x 256, full-batch Adam, {args.steps} steps per "
             f"round, {args.rounds} interleaved rounds; `torch.compile` default mode. Command: "
             f"`{command(__file__, '--steps', args.steps, '--rounds', args.rounds)}`.",
             "", machine_line(info), "",
             markdown_table(["method", "eager ms/step", "compiled ms/step", "speed-up (median)",
                             "min", "max", "compile time (s)", "eager GFLOP/s",
                             "compiled GFLOP/s"],
                            [[r["method"], f"{r['eager_ms']:.2f}", f"{r['compiled_ms']:.2f}",
                              f"{r['speedup_median']:.2f}x", f"{r['speedup_min']:.2f}x",
                              f"{r['speedup_max']:.2f}x", f"{r['compile_s']:.0f}",
                              f"{r['eager_gflops']:.1f}", f"{r['compiled_gflops']:.1f}"]
                             for r in rows])]
    write_result("compile_speed", {"machine": info, **options(args), "rows": rows},
                 "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
