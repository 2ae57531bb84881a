"""The field's Kodak protocol on one GPU, sized to a time budget (issue 14).

    PYTHONPATH=src python3 -m benchmarks.fidelity.kodak_gpu --data DATA --out OUT [--budget 660]

Protocol: Kodak at full size (768 x 512), 3 x 256, full-batch steps with Adam and with Muon
(``--optimizers``; the optimiser column of issue 25) at the registry's tuned values (scaled to
width 256 by the width rule), seed 0, methods relu, relu+rei, relu+rei-kink, pe, rff, siren, bn, through the batched
executor (one batched pass per method and image shape). The script first times 30 steps of each
method on one image, then chooses what fits the budget: kodim01-08 first (the subset the IGA /
FR-INR tables report), at up to 5000 steps; with time to spare, more images (kodim09-24); what
was cut is written in ``OUT/plan.json`` and ``results.md``. Results: ``OUT/results.{csv,json,md}``.
"""
from __future__ import annotations

import json
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
                   optimizer: str = "adam") -> float:
    """Seconds per full-batch step of ``method`` with ``optimizer`` on one Kodak image (30
    steps after 5 warm-up)."""
    t0 = time.perf_counter()
    folder = out / "timing" / optimizer
    run_suite("kodak", methods=[method], images=["kodim01"], steps=35, size=size, seeds=[0],
              out=folder, data=data, device=device, progress=False, plots=False,
              optimizers=[optimizer])
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    rec = json.loads(next((folder / "runs").glob(f"{method.replace('+', '-')}_*.json")).read_text())
    return rec["metrics"]["seconds_per_step"] or (time.perf_counter() - t0) / 35


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, device="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--data", type=Path, required=True, help="folder holding kodak/")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--budget", type=float, default=660.0, help="seconds for the table (660)")
    ap.add_argument("--size", type=int, default=None, help="short side (full size); a CPU check")
    ap.add_argument("--optimizers", default="adam,muon",
                    help="comma list: each method with each, at its tuned lrs (adam,muon)")
    args = ap.parse_args(argv)
    optimizers = [o for o in args.optimizers.split(",") if o]
    t_start = time.perf_counter()
    per_step = {f"{m} ({o})": _time_per_step(m, args.data, args.size, args.device, args.out, o)
                for o in optimizers for m in METHODS}
    left = args.budget - (time.perf_counter() - t_start)
    cost = sum(per_step.values())  # one image, one step, every method
    images = list(KODAK[:8])
    steps = int(min(FULL_STEPS, left * 0.85 / (cost * len(images))))
    while steps >= FULL_STEPS and len(images) < len(KODAK):  # time to spare: more images
        images.append(KODAK[len(images)])
        steps = int(min(FULL_STEPS, left * 0.85 / (cost * len(images))))
    steps = max(steps - steps % 50, 50)
    plan = {"machine": machine(), "device": args.device, "seconds_per_step": per_step,
            "budget_s": args.budget, "images": images, "steps": steps, "methods": list(METHODS),
            "optimizers": optimizers,
            "cut": (f"steps {steps} of the protocol's {FULL_STEPS}" if steps < FULL_STEPS else "")
            + (f"; images kodim01-{len(images):02d} of 24" if len(images) < 24 else "")}
    write_json(args.out / "plan.json", plan)
    print(json.dumps(plan, indent=1), flush=True)
    res = run_suite("kodak", methods=list(METHODS), images=images, steps=steps, size=args.size,
                    seeds=[0], out=args.out, data=args.data, device=args.device,
                    executor="batched", progress=False, optimizers=optimizers)
    plan["seconds"] = time.perf_counter() - t_start
    write_json(args.out / "plan.json", plan)
    print(res.files["md"].read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
