"""``inrank fit SOURCE --method NAME``: fit one method to one signal (image, WAV audio, mesh
occupancy or a 1-D signal), save everything."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .args import add_model_arguments, positive_float, positive_int

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..train.precision import PRECISIONS

    p.add_argument("source", help="image file or scikit-image sample name (astronaut, camera, ...), "
                   "a .wav file, a mesh (.obj, .ply, ...; needs inrank[mesh]) or sinusoids/step/chirp")
    add_model_arguments(p)
    p.add_argument("--steps", type=positive_int, default=1000, help="Adam steps (1000)")
    p.add_argument("--lr", type=positive_float, default=None, help="learning rate (preset's default)")
    p.add_argument("--size", type=positive_int, default=None, help="resize the short side to SIZE px")
    p.add_argument("--duration", type=positive_float, default=None,
                   help="audio: keep the first DURATION seconds")
    p.add_argument("--n-points", type=positive_int, default=50_000,
                   help="mesh: occupancy samples (50000)")
    p.add_argument("--resolution", type=positive_int, default=64,
                   help="mesh: IoU grid R^3 (64); marching cubes on (2R)^3")
    p.add_argument("--schedule", default="none", choices=["none", "cosine", "exponential"])
    p.add_argument("--batch-size", type=positive_int, default=None, help="points per step (full batch)")
    p.add_argument("--precision", default="float32", choices=PRECISIONS,
                   help="forward-pass autocast dtype; bf16/fp16 end with a float32 comparison "
                   "(speed-up and PSNR gain) and warn when precision-limited (float32)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (auto)")
    p.add_argument("--out", type=Path, default=Path("inrank-out/fit"), help="output folder")
    p.add_argument("--compile", action="store_true",
                   help="train through torch.compile (a one-off compile, then ~1.1-1.2x faster "
                   "steps on a CPU; for long fits)")
    p.add_argument("--track-every", type=positive_int, default=None, metavar="K",
                   help="record every layer's feature and NTK-block ranks every K steps on a "
                   "512-point subsample (metrics.json, rank_dynamics.png)")
    p.add_argument("--checkpoint-every", type=positive_int, default=None, metavar="K",
                   help="save OUT/checkpoint.pt every K steps; rerunning the same command resumes")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args: argparse.Namespace) -> int:
    import torch

    from .. import files as _io
    from ..train.loop import fit
    from ..report.figures import save_comparison, save_psnr_curves
    from ..nn.registry import build, preset
    from ..signals.load import load_signal
    from ..bench.tasks import task_loss, task_overrides

    signal = load_signal(args.source, size=args.size, duration=args.duration,
                         n_points=args.n_points, seed=args.seed)
    lr = args.lr if args.lr is not None else preset(args.method).lr
    overrides = task_overrides(args.method, signal)
    model = build(args.method, signal.in_dim, signal.out_dim, width=args.width,
                  depth=args.depth, seed=args.seed, **overrides)
    out: Path = args.out
    config = {"command": "fit", "source": str(args.source), "method": args.method,
              "width": args.width, "depth": args.depth, "seed": args.seed, "steps": args.steps,
              "lr": lr, "size": args.size, "schedule": args.schedule, "precision": args.precision,
              "track_every": args.track_every,
              "batch_size": args.batch_size, "device": args.device,
              "shape": list(signal.shape), "kind": signal.kind, "overrides": overrides,
              "duration": args.duration, "n_points": args.n_points, "model": model.config.to_dict()}
    _io.write_json(out / "config.json", config)
    result = fit(model, signal, steps=args.steps, lr=lr, schedule=args.schedule,
                 batch_size=args.batch_size, seed=args.seed, device=args.device,
                 progress=not args.no_progress, loss=task_loss(signal),
                 checkpoint=out / "checkpoint.pt" if args.checkpoint_every else None,
                 checkpoint_every=args.checkpoint_every, precision=args.precision,
                 track_every=args.track_every, compile=args.compile)
    _print_precision(result)
    if result.track:
        from ..report.figures import save_rank_dynamics

        save_rank_dynamics({args.method: result.track}, out / "rank_dynamics.png",
                           title=f"{args.method} on {signal.name}")
    if signal.kind != "image":
        return _finish(args, signal, result, model, out)
    recon, target = signal.to_image(result.prediction), signal.to_image(signal.values)
    _io.save_png(out / "reconstruction.png", recon)
    save_comparison(target, recon, out / "comparison.png",
                    title=f"{args.method}: {result.final_psnr:.2f} dB, SSIM {result.ssim:.3f}")
    save_psnr_curves({args.method: result.history}, out / "psnr_curve.png")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    _io.atomic_write(out / "model.pt", lambda tmp: torch.save(state, tmp))
    _io.write_json(out / "metrics.json", {"method": args.method, "signal": signal.name,
                                          **result.to_dict()})
    print(f"{args.method} on {signal.name} {signal.shape[0]}x{signal.shape[1]}: "
          f"PSNR {result.final_psnr:.2f} dB (best {result.best_psnr:.2f}), SSIM {result.ssim:.4f}, "
          f"{result.seconds_per_step * 1e3:.1f} ms/step -> {out}/", file=sys.stdout)
    return 0


def _print_precision(result) -> None:
    """One line on a low-precision fit: its speed against float32 and what float32 would add."""
    check = result.precision_check
    if check:
        print(f"{result.precision}: {check['speedup']:.2f}x the float32 step speed (measured "
              f"over {check['steps']} steps each from the final state); float32 would gain "
              f"{check['gain_db']:+.2f} dB there", file=sys.stderr)


def _finish(args: argparse.Namespace, signal, result, model, out: Path) -> int:
    """Outputs of a non-image fit: the kind's files (:mod:`inrank.report.outputs`), curve, model, metrics."""
    import torch

    from .. import files as _io
    from ..report.figures import save_psnr_curves
    from ..report.outputs import write_outputs

    save_psnr_curves({args.method: result.history}, out / "psnr_curve.png")
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    _io.atomic_write(out / "model.pt", lambda tmp: torch.save(state, tmp))
    summary, extra = write_outputs(signal, result, model, out, method=args.method,
                                   resolution=args.resolution)
    _io.write_json(out / "metrics.json", {"method": args.method, "signal": signal.name,
                                          "kind": signal.kind, **result.to_dict(), **extra})
    print(f"{summary}, {result.seconds_per_step * 1e3:.1f} ms/step -> {out}/", file=sys.stdout)
    return 0
