"""Audio fitting: the task presets on short clips of bach.wav and counting.wav (SIREN's clips).

    python benchmarks/fidelity/audio.py [--seconds 0.25 --steps 300 --width 128 --depth 3]

Each clip starts where it is loud (inrank.tasks.TASK_SUITES["audio"]["offset"]: bach 1.0 s,
counting 0.4 s; counting at 1.0 s is near-silent, RMS 0.0016).

Frequency scales follow the clip length (inrank.tasks: SIREN omega0 = 3000 T / 7, RFF
sigma = 500 T, PE octaves to ~2 kHz). Writes benchmarks/results/audio.{json,md}.
"""
from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/_tables.py
from inrank.bench.tasks import TASK_SUITES, run_audio  # noqa: E402
from _tables import OUT, run_jobs, task_arguments, task_signals, write_results  # noqa: E402
from inrank.files import write_json  # noqa: E402

RUNS = OUT / "audio" / "runs"


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


def main() -> None:
    args = task_arguments("audio", __doc__, "clips", ("duration",), extra=lambda ap: ap.add_argument(
        "--lrs", default="", help="comma-separated lr grid: each clip is reported at the lr "
        "that was best on the other clips (default: each method's registry lr)"))
    torch.set_num_threads(1)
    signals = task_signals("audio", args.signals, duration=args.duration)
    offsets = TASK_SUITES["audio"]["offset"]
    methods = args.methods.split(",")
    lrs = [float(x) for x in args.lrs.split(",") if x]
    if lrs:  # one record per fit under results/audio/runs: a rerun or a wider grid resumes
        grid = []
        for lr in lrs:
            for signal in signals:
                for method in methods:
                    path = RUNS / (f"{method}-{signal.name}-lr{lr:g}-{args.steps}steps-"
                                   f"{args.width}x{args.depth}-{args.duration:g}s.json")
                    if not path.is_file():
                        write_json(path, run_jobs(run_audio, [signal], [method], steps=args.steps,
                                                  width=args.width, depth=args.depth, seed=0,
                                                  lr=lr)[0])
                    grid.append(json.loads(path.read_text(encoding="utf-8")))
    else:
        grid = run_jobs(run_audio, signals, methods, steps=args.steps, width=args.width,
                        depth=args.depth, seed=0)
    rows = cross_select(grid) if lrs else grid
    cols = [("signal", "clip", ""), ("method", "method", ""), ("psnr", "PSNR", ".2f"),
            ("snr", "SNR", ".2f"), ("lr", "lr", ".3g"), ("overrides", "overrides", "")]
    if lrs:
        cols += [("lr_chosen_on", "lr chosen on", ""), ("lr_edge", "lr at grid edge", "")]
    write_results("audio", "Audio fitting", rows, cols,
                  {"clips": args.signals, "duration": args.duration,
                   "offsets_s": ";".join(f"{k}={v}" for k, v in offsets.items()),
                   "samples": len(signals[0]), "steps": args.steps, "width": args.width,
                   "depth": args.depth,
                   "lr": (f"grid {args.lrs}, each clip at the lr best on the other clip"
                          if lrs else "preset default"), "seed": 0, "batch": "full"},
                  "PSNR in dB with peak-to-peak 2 (audio in [-1, 1]); SNR = 10 log10(sum y^2 / "
                  "sum (y_hat - y)^2) in dB. PSNR looks high for quiet clips; SNR is the "
                  "informative column (0 dB = predicting silence). Command: `python "
                  "benchmarks/fidelity/audio.py" + (f" --lrs {args.lrs}" if lrs else "") + "`.",
                  extra={"grid": grid} if lrs else None)


if __name__ == "__main__":
    main()
