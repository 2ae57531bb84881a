"""Where a fit's time goes at the user's scale, on the device at hand (issue 39 items 2-3).

    python -m benchmarks.gpu.fit_speed --out OUT [--dry-run] [--size 512 --steps 30 --rounds 3]

kodim01 (``--size``: the short side; 512 is Kodak's full 768 x 512), 3 x 256, full batch, Adam
at each method's tuned Adam lr for width 256, per method (``--methods``): (a) a hand-written
loop (the model ``inrank.build`` makes, ``torch.optim.Adam``, the MSE, nothing else); (b)
``inrank.fit`` eager and (c) ``inrank.fit(compile=True)``, their ms/step read off the fit's
own training clock (``history[*]["train_seconds"]``) between the first evaluation and the
last, the first compiled call's wall time beside; (d) on CUDA, the hand step captured whole in
one CUDA graph (``torch.cuda.graph``, Adam ``capturable=True``) and ``inrank.fit`` in bf16;
(e) ``inrank.fit_many`` over ``--many`` landscape Kodak images against as many separate fits.
Every variant starts from the same init; medians of ``--rounds`` interleaved rounds (order
alternating), ``--steps`` timed steps each after ``--warm`` untimed ones, synchronised on CUDA.

Beside them: the FLOP floor (a step's FLOPs, ``inrank.train.flops.step_flops``, over the
GEMM rate measured here: float32, and bf16 on CUDA); ``inrank.fit``'s costs outside the step,
each timed alone (an evaluation pass, a best-state copy, the final SSIM; the rest of the call
as the remainder; rank tracking is off by default and not counted) and projected onto fits of
``--project`` steps at the default evaluation cadence; the time ``inrank.fit`` (eager) takes
to reach ``--targets`` dB, at most ``--target-seconds`` per method. ``--budget`` bounds the
script: a stage that would not fit is skipped and named in the result. ``--dry-run``: a 32 px
image, 3 timed steps, one round, width 64, on any device (the check that every stage runs).
Writes ``OUT/NAME.json`` and ``OUT/NAME.md`` (``--name``).
"""
from __future__ import annotations

import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

import inrank
from inrank.files import write_json
from inrank.nn.registry import preset
from inrank.report.machine import machine
from inrank.train.flops import gemm_rate, step_flops

from benchmarks.frame import DATA, command, options, parser, rerender, write_result
from benchmarks.gpu.fit_speed_report import BF16, COMPILED, FIT, GRAPH, HAND, render
from benchmarks.gpu.fit_timers import (fit_call, fit_parts, graph_ms, hand_ms, landscape,
                                       many_vs_separate, time_to)


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, device="cuda" if torch.cuda.is_available() else "cpu",
                data=DATA / "kodak", threads=None, render=True)
    ap.add_argument("--out", type=Path, required=True, help="folder for NAME.json and NAME.md")
    ap.add_argument("--name", default="fit_speed")
    ap.add_argument("--dry-run", action="store_true", help="every stage at tiny size")
    ap.add_argument("--size", type=int, default=512, help="kodim01's short side (512: full)")
    ap.add_argument("--methods", default="relu+rei,siren,pe")
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--steps", type=int, default=30, help="timed steps per round (30)")
    ap.add_argument("--warm", type=int, default=5, help="untimed steps first (5)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--compile", default="all", help="methods to compile: all, none, or first")
    ap.add_argument("--many", type=int, default=8, help="images for fit_many (8)")
    ap.add_argument("--many-steps", type=int, default=20)
    ap.add_argument("--targets", default="25,30", help="PSNR targets, dB (25,30)")
    ap.add_argument("--target-seconds", type=float, default=20.0, help="per method (20)")
    ap.add_argument("--project", default="1000,5000", help="fit lengths to project onto")
    ap.add_argument("--budget", type=float, default=240.0, help="seconds for everything (240)")
    a = ap.parse_args(argv)
    if a.render:
        rerender(a.name, render, folder=a.out)
        return 0
    if a.dry_run:
        a.size, a.steps, a.warm, a.rounds, a.width, a.many_steps = 32, 3, 2, 1, 64, 2
        a.compile, a.target_seconds, a.many = "first", 1.0, 2
    if a.threads:
        torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore", message=".*accept_worse=True.*")  # short fits below the mean
    t_start, device = time.perf_counter(), torch.device(a.device)
    left = lambda: a.budget - (time.perf_counter() - t_start)  # noqa: E731
    methods = [m for m in a.methods.split(",") if m]
    signal = inrank.load_image(a.data / "kodim01.png", size=a.size)
    x, y = signal.coords.to(device), signal.values.to(device)
    cuda = device.type == "cuda"
    gemm_size = 8192 if cuda else (256 if a.dry_run else 1024)
    gemm = {"float32": gemm_rate(size=gemm_size, device=str(device))}
    if cuda:
        gemm["bfloat16"] = gemm_rate(dtype=torch.bfloat16, size=gemm_size, device="cuda")
    pay = {"benchmark": a.name, "machine": machine(), "options": options(a), "dry_run": a.dry_run,
           "command": command(__file__, *argv_of(argv)), "device": str(device),
           "image": "kodim01", "shape": list(signal.shape), "points": len(signal),
           "gemm_size": gemm_size, "gemm_flops": gemm,
           "float32_matmul_precision": torch.get_float32_matmul_precision(),
           "methods": {}, "many": None, "skipped": [], "errors": []}
    save = lambda: write_json(a.out / f"{a.name}.json", pay)  # noqa: E731  (partial results)
    skip = lambda what, why: pay["skipped"].append(f"{what}: {why}")  # noqa: E731
    if not cuda:
        skip(f"{GRAPH} and {BF16}", "CUDA only (no CUDA device here)")
    per_method = 0.55 * a.budget / len(methods)
    for i, m in enumerate(methods):
        lr = preset(m).lr_for("adam", width=a.width)["lr"]
        build = lambda m=m: inrank.build(m, 2, 3, width=a.width, depth=a.depth, seed=0,  # noqa: E731
                                         optimizer="adam").to(device)
        row = {"lr": lr, "step_gflop": step_flops(build(), len(signal)) / 1e9, "ms": {},
               "fit_calls": [], "rounds": 0}
        pay["methods"][m] = row
        row["floor_ms"] = {k: row["step_gflop"] * 1e9 / r * 1e3 for k, r in gemm.items()}
        runs = {HAND: lambda: hand_ms(build(), x, y, lr, a.steps, a.warm, device),
                FIT: lambda: _fit(row, build(), signal, lr, a, device)}
        if a.compile == "all" or (a.compile == "first" and i == 0):
            t0 = time.perf_counter()
            try:
                fit_call(build(), signal, lr, 1, 1, device, compile=True)
                row["compile_first_call_s"] = time.perf_counter() - t0
                runs[COMPILED] = lambda: fit_call(build(), signal, lr, a.steps, a.warm, device,
                                                  compile=True)["ms"]
            except Exception as exc:  # noqa: BLE001 - a failure is a result here
                pay["errors"].append(f"{m} {COMPILED}: {type(exc).__name__}: {exc}"[:400])
        else:
            skip(f"{m} {COMPILED}", f"--compile {a.compile}")
        if cuda:
            runs[GRAPH] = lambda: graph_ms(build(), x, y, lr, a.steps, a.warm, device)
            runs[BF16] = lambda: fit_call(build(), signal, lr, a.steps, a.warm, device,
                                          precision="bf16", check_steps=0)["ms"]
        deadline = t_start + (i + 1) * per_method
        for r in range(a.rounds):
            t0 = time.perf_counter()
            for name in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
                try:
                    row["ms"].setdefault(name, []).append(runs[name]())
                except Exception as exc:  # noqa: BLE001
                    pay["errors"].append(f"{m} {name}: {type(exc).__name__}: {exc}"[:400])
                    runs.pop(name)
            row["rounds"] = r + 1
            if r + 1 < a.rounds and time.perf_counter() + (time.perf_counter() - t0) > deadline:
                skip(f"{m} rounds {r + 2}-{a.rounds}", "budget")
                break
        model = build()
        _fit(row, model, signal, lr, a, device)
        row["parts"] = fit_parts(model, signal, device)
        print(f"{m}: " + ", ".join(f"{k} {statistics.median(v):.2f} ms"
                                   for k, v in row["ms"].items()), file=sys.stderr, flush=True)
        save()
    if left() > 0.3 * a.budget or a.dry_run:
        try:
            sigs = landscape(a.data, a.size, a.many)
            pay["many"] = many_vs_separate(methods[0], sigs, pay["methods"][methods[0]]["lr"], a,
                                           device, 1 if a.dry_run else 2)
        except Exception as exc:  # noqa: BLE001
            pay["errors"].append(f"fit_many: {type(exc).__name__}: {exc}"[:400])
    else:
        skip("fit_many", f"budget ({left():.0f} s left)")
    save()
    targets = [float(t) for t in a.targets.split(",") if t]
    for i, m in enumerate(methods):
        row = pay["methods"][m]
        seconds = min(a.target_seconds, left() / (len(methods) - i) - 5)
        if seconds <= 0 and not a.dry_run:
            skip(f"{m} time to target", f"budget ({left():.0f} s left)")
            continue
        try:
            fit_ms = statistics.median(row["ms"][FIT])
            steps = max(a.warm, int(max(seconds, 0.0) * 1e3 / fit_ms)) if not a.dry_run else 4
            row["time_to"] = time_to(inrank.build(m, 2, 3, width=a.width, depth=a.depth, seed=0,
                                                  optimizer="adam"), signal, row["lr"], targets,
                                     steps, device)
        except Exception as exc:  # noqa: BLE001
            pay["errors"].append(f"{m} time to target: {type(exc).__name__}: {exc}"[:400])
    pay["seconds"] = time.perf_counter() - t_start
    write_result(a.name, pay, render, folder=a.out)
    return 1 if pay["errors"] else 0


def _fit(row: dict, model, signal, lr: float, a, device) -> float:
    """An eager ``inrank.fit`` call, its details kept in ``row["fit_calls"]``; its ms/step."""
    call = fit_call(model, signal, lr, a.steps, a.warm, device)
    row["fit_calls"].append(call)
    return call["ms"]


def argv_of(argv: list[str] | None) -> list[str]:
    return list(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
