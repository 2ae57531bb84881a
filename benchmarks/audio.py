"""Audio fitting: the task presets on short clips of bach.wav and counting.wav (SIREN's clips).

    python benchmarks/audio.py [--seconds 0.25 --steps 300 --width 128 --depth 3]

Each clip starts where it is loud (inrank.tasks.TASK_SUITES["audio"]["offset"]: bach 1.0 s,
counting 0.4 s; counting at 1.0 s is near-silent, RMS 0.0016).

Frequency scales follow the clip length (inrank.tasks: SIREN omega0 = 3000 T / 7, RFF
sigma = 500 T, PE octaves to ~2 kHz). Writes benchmarks/results/audio.{json,md}.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inrank.bench.tasks import TASK_SUITES, run_audio  # noqa: E402
from _tables import run_jobs, task_arguments, task_signals, write_results  # noqa: E402


def main() -> None:
    args = task_arguments("audio", __doc__, "clips", ("duration",))
    torch.set_num_threads(1)
    signals = task_signals("audio", args.signals, duration=args.duration)
    offsets = TASK_SUITES["audio"]["offset"]
    rows = run_jobs(run_audio, signals, args.methods.split(","), steps=args.steps,
                    width=args.width, depth=args.depth, seed=0)
    cols = [("signal", "clip", ""), ("method", "method", ""), ("psnr", "PSNR", ".2f"),
            ("snr", "SNR", ".2f"), ("overrides", "overrides", ""),
            ("seconds_per_step", "s/step", ".3f")]
    write_results("audio", "Audio fitting", rows, cols,
                  {"clips": args.signals, "duration": args.duration,
                   "offsets_s": ";".join(f"{k}={v}" for k, v in offsets.items()),
                   "samples": len(signals[0]), "steps": args.steps, "width": args.width,
                   "depth": args.depth, "lr": "preset default", "seed": 0, "batch": "full"},
                  "PSNR in dB with peak-to-peak 2 (audio in [-1, 1]); SNR = 10 log10(sum y^2 / "
                  "sum (y_hat - y)^2) in dB. PSNR looks high for quiet clips; SNR is the "
                  "informative column (0 dB = predicting silence).")


if __name__ == "__main__":
    main()
