"""Audio fitting: the task presets on short clips of bach.wav and counting.wav (SIREN's clips).

    python -m benchmarks.fidelity.audio [--lrs 3.16e-5,1e-4,3.16e-4,1e-3,3.16e-3,1e-2 --steps 300]

The ``audio`` suite's runs (:data:`inrank.bench.tasks.TASK_SUITES`: 0.25 s clips, each from where
it is loud: bach at 1.0 s, counting at 0.4 s; counting at 1.0 s is near-silent, RMS 0.0016),
Adam, seed 0, through the runner (records under benchmarks/results/audio/runs/, resumable).
Frequency scales follow the clip length (inrank.bench.tasks: SIREN omega0 = 3000 T / 7, RFF
sigma = 500 T, PE octaves to ~2 kHz). With ``--lrs`` every method runs at each lr of the grid
and each clip is reported at the lr that was best on the other clips. Writes
benchmarks/results/audio.{json,md}.
"""
from __future__ import annotations

import statistics
import sys

from inrank.bench.tasks import TASK_SUITES, task_overrides, task_signal

from benchmarks.fidelity.task_frame import (task_markdown, task_parser, task_records,
                                            task_rows, task_runs)
from benchmarks.frame import DATA, command, write_result


def cross_select(rows: list[dict]) -> list[dict]:
    """Each (clip, method) at the lr that gave the method the best SNR on the *other* clips
    (mean over them): no clip's reported number chose its own lr."""
    clips = list(dict.fromkeys(r["signal"] for r in rows))
    out = []
    for clip in clips:
        for method in dict.fromkeys(r["method"] for r in rows):
            grid = [r for r in rows if r["method"] == method]
            lrs = sorted({r["lr"] for r in grid})
            others = [c for c in clips if c != clip] or [clip]
            score = {lr: statistics.fmean(r["snr"] for r in grid
                                          if r["lr"] == lr and r["signal"] in others)
                     for lr in lrs}
            lr = max(score, key=score.get)
            row = next(r for r in grid if r["signal"] == clip and r["lr"] == lr)
            out.append({**row, "lr_chosen_on": ",".join(others),
                        "lr_edge": "edge" if lr in (lrs[0], lrs[-1]) else "-"})
    return out


def main(argv: list[str] | None = None) -> int:
    ap = task_parser("audio", __doc__, "clips")
    ap.add_argument("--lrs", default="", help="comma-separated lr grid: each clip is reported "
                    "at the lr that was best on the other clips (default: each method's "
                    "registry lr)")
    args = ap.parse_args(argv)
    lrs = [float(x) for x in args.lrs.split(",") if x]
    runs = [r for lr in lrs for r in task_runs("audio", args, lr=lr)] or task_runs("audio", args)
    grid = task_rows(runs, task_records("audio", runs, args.jobs), ("snr",))
    signals = {name: task_signal("audio", name, DATA) for name in args.signals.split(",")}
    for row in grid:
        over = task_overrides(row["method"], signals[row["signal"]])
        row["overrides"] = ";".join(f"{k}={v:g}" for k, v in over.items())
    rows = cross_select(grid) if lrs else grid
    cols = [("signal", "clip", ""), ("method", "method", ""), ("psnr", "PSNR", ".2f"),
            ("snr", "SNR", ".2f"), ("lr", "lr", ".3g"), ("overrides", "overrides", "")]
    if lrs:
        cols += [("lr_chosen_on", "lr chosen on", ""), ("lr_edge", "lr at grid edge", "")]
    proto = TASK_SUITES["audio"]
    payload = {"protocol": {
        "clips": args.signals, "duration": proto["duration"],
        "offsets_s": ";".join(f"{k}={v}" for k, v in proto["offset"].items()),
        "samples": len(next(iter(signals.values()))), "steps": args.steps, "width": args.width,
        "depth": args.depth, "lr": (f"grid {args.lrs}, each clip at the lr best on the other "
                                    "clip" if lrs else "preset default"),
        "optimizer": "adam", "seed": 0, "batch": "full"}, "rows": rows}
    if lrs:
        payload["grid"] = grid
    notes = ("PSNR in dB with peak-to-peak 2 (audio in [-1, 1]); SNR = 10 log10(sum y^2 / "
             "sum (y_hat - y)^2) in dB. PSNR looks high for quiet clips; SNR is the informative "
             "column (0 dB = predicting silence). Command: `"
             + command(__file__, *(["--lrs", args.lrs] if lrs else [])) + "`.")
    write_result("audio", payload, lambda p: task_markdown("Audio fitting", p, cols, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
