"""The field's Kodak protocol on one GPU, sized to a time budget (issue 14).

    PYTHONPATH=src python3 -m benchmarks.fidelity.kodak_gpu --data DATA --out OUT [--budget 660]

Protocol: Kodak at full size (768 x 512), 3 x 256, full-batch steps with Adam and with Muon
(``--optimizers``; the optimiser column of issue 25) at the registry's tuned values (scaled to
width 256 by the width rule), seed 0, methods relu, relu+rei, relu+rei-kink, pe, rff, siren, bn, through the batched
executor (one batched pass per method and image shape). The script first times 35 steps of each
method on one image (``--timing-steps``), then chooses what fits the budget: kodim01-08 first
(the subset the IGA / FR-INR tables report), at up to 5000 steps; with time to spare, more
images (kodim09-24); what was cut is written in ``OUT/plan.json`` and ``results.md``. The plan
counts each run's steps and its time outside them (setup, evaluations, SSIM: the timing run's
wall time beyond its steps, its 35 evaluations taken at a third of a step each, plus the
table run's up to 100). Results: ``OUT/results.{csv,json,md}``. ``--max-steps``,
``--max-images``, ``--methods`` and ``--size`` shrink it (``benchmarks/gpu/run_all.sh
--dry-run`` runs it at tiny size on a CPU).
"""
from __future__ import annotations

import json
import re
import statistics
import sys
import time
from pathlib import Path

import torch

from inrank.bench import KODAK, run_suite
from inrank.files import write_json
from inrank.report.machine import machine

from benchmarks.frame import parser

METHODS = ("relu", "relu+rei", "relu+rei-kink", "pe", "rff", "siren", "bn")
FULL_STEPS = 5000


def _time_per_step(method: str, data: Path, size: int | None, device: str, out: Path,
                   optimizer: str = "adam", steps: int = 35) -> tuple[float, float]:
    """Seconds per full-batch step of ``method`` with ``optimizer`` on one Kodak image (a run
    of ``steps``), and the run's seconds outside its steps and evaluations (setup, SSIM, the
    record; an evaluation taken as a third of a step: its forward pass alone)."""
    t0 = time.perf_counter()
    folder = out / "timing" / optimizer
    run_suite("kodak", methods=[method], images=["kodim01"], steps=steps, size=size, seeds=[0],
              out=folder, data=data, device=device, progress=False, plots=False,
              optimizers=[optimizer])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", f"{method}_kodim01")  # as inrank.bench.Run.id spells it
    rec = json.loads(next((folder / "runs").glob(f"{stem}_*.json")).read_text())
    per_step = rec["metrics"]["seconds_per_step"] or (time.perf_counter() - t0) / steps
    evals = len(rec["history"])
    return per_step, max(0.0, rec["wall_seconds"] - (steps + evals / 3) * per_step)


def plan_steps(left: float, per_step: float, fixed: float, images: int, max_steps: int) -> int:
    """The steps per run that fit ``left`` seconds (with 15% to spare) for ``images`` images,
    when one image costs ``per_step`` seconds a step over every method and ``fixed`` seconds
    outside the steps, plus up to 100 evaluations at a third of a step each; a multiple of 50
    from 100 on, at least ``min(50, max_steps)``.

    Examples:
        >>> plan_steps(1000.0, 0.1, 5.0, 8, 5000)
        950
        >>> plan_steps(1.0, 0.1, 5.0, 8, 5000), plan_steps(1e6, 0.1, 5.0, 8, 3)
        (50, 3)
    """
    steps = int((left * 0.85 / images - fixed) / per_step - 100 / 3)
    steps = min(max_steps, steps)
    steps = steps - steps % 50 if steps >= 100 else steps
    return max(steps, min(50, max_steps))


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, device="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--data", type=Path, required=True, help="folder holding kodak/")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--budget", type=float, default=660.0, help="seconds for the table (660)")
    ap.add_argument("--size", type=int, default=None, help="short side (full size); a CPU check")
    ap.add_argument("--optimizers", default="adam,muon",
                    help="comma list: each method with each, at its tuned lrs (adam,muon)")
    ap.add_argument("--methods", default=",".join(METHODS), help="comma list (all seven)")
    ap.add_argument("--max-steps", type=int, default=FULL_STEPS, help="the protocol's (5000)")
    ap.add_argument("--max-images", type=int, default=len(KODAK), help="at most (24)")
    ap.add_argument("--timing-steps", type=int, default=35, help="steps of each timing run (35)")
    args = ap.parse_args(argv)
    optimizers = [o for o in args.optimizers.split(",") if o]
    methods = [m for m in args.methods.split(",") if m]
    t_start = time.perf_counter()
    timed = {f"{m} ({o})": _time_per_step(m, args.data, args.size, args.device, args.out, o,
                                          args.timing_steps)
             for o in optimizers for m in methods}
    per_step = {k: v[0] for k, v in timed.items()}
    left = args.budget - (time.perf_counter() - t_start)
    cost = sum(per_step.values())  # one image, one step, every method
    # one image, outside the steps, every method (the median: the first run holds the start-up)
    fixed = statistics.median(v[1] for v in timed.values()) * len(timed)
    images = list(KODAK[:min(8, args.max_images)])
    steps = plan_steps(left, cost, fixed, len(images), args.max_steps)
    while steps >= args.max_steps and len(images) < min(len(KODAK), args.max_images):
        more = images + [KODAK[len(images)]]  # time to spare: more images
        if plan_steps(left, cost, fixed, len(more), args.max_steps) < args.max_steps:
            break
        images = more
    plan = {"machine": machine(), "device": args.device, "seconds_per_step": per_step,
            "seconds_outside_steps": {k: v[1] for k, v in timed.items()},
            "budget_s": args.budget, "left_after_timing_s": left, "images": images,
            "steps": steps, "methods": methods, "optimizers": optimizers,
            "predicted_s": len(images) * (fixed + (steps + min(steps, 100) / 3) * cost),
            "cut": (f"steps {steps} of the protocol's {FULL_STEPS}" if steps < FULL_STEPS else "")
            + (f"; images kodim01-{len(images):02d} of 24" if len(images) < 24 else "")
            + ("" if len(methods) == len(METHODS) else f"; methods {', '.join(methods)}")}
    write_json(args.out / "plan.json", plan)
    print(json.dumps(plan, indent=1), flush=True)
    res = run_suite("kodak", methods=methods, images=images, steps=steps, size=args.size,
                    seeds=[0], out=args.out, data=args.data, device=args.device,
                    executor="batched", progress=False, optimizers=optimizers)
    plan["seconds"] = time.perf_counter() - t_start
    write_json(args.out / "plan.json", plan)
    print(res.files["md"].read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
