"""A hash grid against the MLPs at equal parameters (issue 37, item 4): ms per step and the
time to reach a PSNR, on a Kodak image on this CPU.

    python -m benchmarks.speed.grid_speed              # after benchmarks.fidelity.grids
    python -m benchmarks.speed.grid_speed --render     # only rewrite the .md from the .json

kodim05 at 96 px short side (144 x 96 = 13,824 points), table1's budget: relu+rei, pe and
siren at 3 x 72 (pe narrower, as table1 matches it), ``grid`` and ``hashgrid`` sized by
:func:`inrank.nn.grid_budget.grid_options_for` to at most 12,589 parameters (the
configurations of benchmarks/fidelity/grids.py). Each at its Adam lr (the MLPs: the registry's
tuned values; the grids: the lr benchmarks.fidelity.grids chose on the calibration images).
Full-batch Adam, ``compile=False``.

- ms per step: ``inrank.fit``'s training clock over ``--steps`` steps, ``--rounds`` rounds
  interleaved across the methods; medians, and the ratio to relu+rei within each round.
- time to a PSNR: one fit of up to ``--max-steps`` steps, evaluated every 1% of them; the
  training seconds until the PSNR first reaches each target (evaluations excluded).
- floor: the dense layers' FLOPs per step (:func:`inrank.train.flops.step_flops`) over this
  machine's float32 GEMM rate. A grid's table lookups (gathers and interpolation weights, no
  products) are not in it: they are bound by memory traffic, not by the GEMM rate.

Writes benchmarks/results/grid_speed.json and .md.
"""
from __future__ import annotations

import json
import statistics
import sys

import inrank
from inrank.bench.catalog import matched_width
from inrank.nn.grid_budget import grid_options_for
from inrank.report.machine import machine_line
from inrank.report.tables import markdown_table
from inrank.train.flops import gemm_rate, step_flops

from benchmarks.frame import DATA, RESULTS, command, parser, rerender, write_result
from benchmarks.gpu.fit_timers import time_to

METHODS = ("relu+rei", "pe", "siren", "grid", "hashgrid")
BUDGET, WIDTH, DEPTH, SIZE = 12_589, 72, 3, 96
GRIDS = RESULTS / "grids.json"


def network(method: str) -> tuple[dict, float, str]:
    """``(build options, Adam lr, where the lr came from)`` of ``method`` at table1's budget."""
    if method in ("grid", "hashgrid"):
        chosen = (json.loads(GRIDS.read_text())["selection"].get(f"adam|{method}|table1")
                  if GRIDS.is_file() else None)
        if chosen is None:
            raise SystemExit(f"grid_speed: no lr chosen for {method} in {GRIDS}; run "
                             "python -m benchmarks.fidelity.grids first")
        return grid_options_for(method, BUDGET), chosen["lr"], "grids.py (calibration images)"
    width = matched_width(method, WIDTH, DEPTH, 0.15)
    lr = inrank.preset(method).lr_for("adam", width=width)["lr"]
    return {"width": width, "depth": DEPTH}, lr, "registry (tuned, width rule)"


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, render=True)
    ap.add_argument("--steps", type=int, default=100, help="timed steps per round (100)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--max-steps", type=int, default=3000)
    ap.add_argument("--targets", default="25,30", help="PSNR targets, dB")
    a = ap.parse_args(argv)
    if a.render:
        rerender("grid_speed", render)
        return 0
    signal = inrank.load_image(DATA / "kodak" / "kodim05.png", size=SIZE)
    nets = {m: network(m) for m in METHODS}
    ms: dict[str, list[float]] = {m: [] for m in METHODS}
    for _ in range(a.rounds):
        for m, (opts, lr, _) in nets.items():
            model = inrank.build(m, 2, 3, seed=0, optimizer="adam", **opts)
            res = inrank.fit(model, signal, steps=a.steps, lr=lr, optimizer="adam",
                             eval_every=a.steps, progress=False, accept_worse=True, compile=False)
            ms[m].append(res.seconds_per_step * 1e3)
    rate = gemm_rate()
    rows = {}
    for m, (opts, lr, source) in nets.items():
        model = inrank.build(m, 2, 3, seed=0, optimizer="adam", **opts)
        flops = step_flops(model, len(signal))
        rows[m] = {"options": opts, "lr": lr, "lr_source": source, "ms": ms[m],
                   "params": sum(p.numel() for p in model.parameters()),
                   "ratio": [x / r for x, r in zip(ms[m], ms["relu+rei"])],
                   "step_gflop": flops / 1e9, "floor_ms": flops / rate * 1e3,
                   **time_to(model, signal, lr, [float(t) for t in a.targets.split(",")],
                             a.max_steps, "cpu")}
    write_result("grid_speed", {"command": command(__file__), "rows": rows, "gemm_rate": rate,
                                "points": len(signal), "steps": a.steps, "rounds": a.rounds},
                 render)
    return 0


def render(p: dict) -> str:
    def reached(r: dict, t: str) -> str:
        hit = r["reached"].get(t)
        return "-" if hit is None else f"{hit['seconds']:.1f} s ({hit['step']} steps)"

    targets = list(next(iter(p["rows"].values()))["reached"])
    body = [[m, f"{r['params']:,}", f"{r['lr']:g}", f"{statistics.median(r['ms']):.2f}",
             f"{statistics.median(r['ratio']):.2f}", f"{r['floor_ms']:.2f}",
             f"{r['best_psnr']:.2f}", *(reached(r, t) for t in targets)]
            for m, r in p["rows"].items()]
    return "\n".join([
        "### A hash grid against the MLPs at equal parameters (issue 37, item 4)", "",
        f"Generated by `{p['command']}`: kodim05 at 96 px ({p['points']:,} points), table1's "
        f"budget (at most 12,589 parameters), full-batch Adam, eager. ms per step: median of "
        f"{p['rounds']} interleaved rounds of {p['steps']} steps, and the per-round ratio to "
        f"relu+rei. Floor: the dense layers' FLOPs over the GEMM rate measured here "
        f"({p['gemm_rate'] / 1e9:.0f} GFLOP/s float32; a grid's lookups are not in it). "
        "Time to a PSNR: training seconds of one fit (evaluations excluded), which stops at "
        f"the last target or after {next(iter(p['rows'].values()))['max_steps']} steps (best "
        "PSNR: the highest it reached by then). "
        + machine_line(p["machine"]), "",
        markdown_table(["method", "params", "lr", "ms/step", "/ relu+rei", "floor (ms)",
                        "best PSNR", *(f"to {t} dB" for t in targets)], body), ""])


if __name__ == "__main__":
    sys.exit(main())
