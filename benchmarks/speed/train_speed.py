"""Seconds per step of ``inrank.fit`` against a minimal hand-written PyTorch loop, and of
``relu+rei`` against ``relu``: medians of interleaved runs, with per-round ratios.

    python -m benchmarks.speed.train_speed [--size 64 --steps 200 --rounds 7]

Writes benchmarks/results/train_speed.{json,md}.
"""
from __future__ import annotations

import statistics
import sys
import time

import torch

import inrank
from inrank.report.machine import machine, machine_line
from inrank.report.tables import markdown_table

from benchmarks.frame import command, flags, parser, write_result


def hand_loop(model: torch.nn.Module, coords: torch.Tensor, values: torch.Tensor, steps: int,
              lr: float) -> float:
    """The reference: full-batch Adam on the MSE, nothing else. Returns wall seconds."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss = torch.mean((model(coords) - values) ** 2)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    float(loss.detach())
    return time.perf_counter() - t0


def inrank_fit(model, signal, steps: int, lr: float) -> tuple[float, float]:
    """inrank.fit with its defaults (evaluation every steps // 100 steps).

    Returns:
        (training seconds as ``FitResult`` counts them, i.e. evaluations excluded; wall seconds
        of the whole call, evaluations, SSIM and bookkeeping included).
    """
    t0 = time.perf_counter()
    res = inrank.fit(model, signal, steps=steps, lr=lr, progress=False)
    return res.seconds_per_step * steps, time.perf_counter() - t0


def tables(times: dict[str, list[float]], walls: dict[str, list[float]],
           ratios: dict[str, list[float]]) -> str:
    """The two Markdown tables: seconds per step of each run (training step and whole call, per
    round) and the per-round ratios."""
    steps = markdown_table(
        ["run", "median ms/step (training)", "min", "max", "median ms/step (whole call)"],
        [[k, f"{statistics.median(v) * 1e3:.2f}", f"{min(v) * 1e3:.2f}", f"{max(v) * 1e3:.2f}",
          f"{statistics.median(walls[k]) * 1e3:.2f}"] for k, v in times.items()])
    per_round = markdown_table(
        ["ratio (per round, same round)", "median", "min", "max"],
        [[k, f"{statistics.median(v):.3f}", f"{min(v):.3f}", f"{max(v):.3f}"]
         for k, v in ratios.items()])
    return steps + "\n\n" + per_round


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, steps=200)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=3)
    args = ap.parse_args(argv)
    signal = inrank.load_image("astronaut", size=args.size)
    build = lambda name: inrank.build(name, 2, 3, width=args.width, depth=args.depth, seed=0)  # noqa: E731
    runs = {
        "hand loop (relu)": lambda: (hand_loop(build("relu"), signal.coords, signal.values, args.steps, 1e-3),) * 2,
        "inrank.fit (relu)": lambda: inrank_fit(build("relu"), signal, args.steps, 1e-3),
        "inrank.fit (relu+rei)": lambda: inrank_fit(build("relu+rei"), signal, args.steps, 1e-3),
    }
    for fn in runs.values():  # warm-up
        fn()
    times: dict[str, list[float]] = {k: [] for k in runs}
    walls: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(args.rounds):
        order = list(runs) if r % 2 == 0 else list(reversed(runs))  # interleave, alternate order
        for name in order:
            train, wall = runs[name]()
            times[name].append(train / args.steps)
            walls[name].append(wall / args.steps)
        print(f"round {r + 1}/{args.rounds}: " + ", ".join(f"{k} {v[-1] * 1e3:.1f} ms" for k, v in times.items()),
              file=sys.stderr)
    per_round = lambda a, b: [x / y for x, y in zip(times[a], times[b])]  # noqa: E731
    ratios = {
        "inrank.fit training step / hand loop (relu)": per_round("inrank.fit (relu)", "hand loop (relu)"),
        "relu+rei / relu (inrank.fit training step)": per_round("inrank.fit (relu+rei)", "inrank.fit (relu)"),
        "inrank.fit whole call (with evaluations) / hand loop (relu)":
            [w / h for w, h in zip(walls["inrank.fit (relu)"], times["hand loop (relu)"])],
    }
    info = machine()
    result = {"benchmark": "train_speed", "machine": info, "size": args.size, "steps": args.steps,
              "rounds": args.rounds, "width": args.width, "depth": args.depth,
              "seconds_per_step": {k: {"median": statistics.median(v), "all": v} for k, v in times.items()},
              "wall_seconds_per_step": {k: {"median": statistics.median(v), "all": v} for k, v in walls.items()},
              "ratios": {k: {"median": statistics.median(v), "min": min(v), "max": max(v), "all": v}
                         for k, v in ratios.items()}}
    lines = ["# Training speed: inrank.fit vs a hand-written loop", "",
             f"astronaut {args.size} px, {args.depth} x {args.width} MLP, full-batch Adam, "
             f"{args.steps} steps per run, {args.rounds} interleaved rounds (order alternating). "
             f"Command: `{command(__file__, *flags(args, 'size', 'steps', 'rounds'))}`.",
             "", machine_line(info), "",
             tables(times, walls, ratios)]
    lines += ["", "Training step: the time `inrank.fit` counts in `FitResult.seconds_per_step` (the "
              "optimisation step with its loss check and progress bookkeeping; evaluations excluded). "
              "Whole call: everything `inrank.fit` does, including its periodic evaluation (a full "
              "forward pass every steps // 100 steps), best-state copies and the final SSIM; the "
              "hand loop does nothing but train."]
    write_result("train_speed", result, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
