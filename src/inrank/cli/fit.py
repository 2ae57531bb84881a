"""``inrank fit SOURCE --method NAME``: fit one method to one signal (image, video, WAV audio,
mesh occupancy or a 1-D signal), solve an inverse problem on an image (``--task ct``,
``superres``, ``denoise``, ``inpaint``: :func:`inrank.make_task`) or fit a mesh's signed
distance field (``--task sdf``: :func:`inrank.load_mesh_sdf`, SIREN's loss), save everything.

The options are :func:`inrank.load_signal`'s (the signal), :class:`~inrank.nn.mlp.MLPConfig`'s
``width`` and ``depth`` (the model), :class:`~inrank.train.options.FitOptions`' (the training)
and :func:`command`'s (the rest).
"""
from __future__ import annotations

import sys
from pathlib import Path

from jsonargparse import Namespace

from .args import Parser, add_options, picked

__all__ = ["add_arguments", "run", "command", "SIGNAL", "MODEL", "TRAINING", "TASK"]

#: :func:`inrank.load_signal`'s options (``source`` is positional).
SIGNAL = ("source", "size", "duration", "n_points", "frames", "stride", "start")
#: :class:`~inrank.nn.mlp.MLPConfig`'s options; the method's preset gives the other fields.
MODEL = ("width", "depth")
#: :class:`~inrank.train.options.FitOptions`' options; ``seed`` also seeds the init.
TRAINING = ("steps", "lr", "optimizer", "muon_lr", "schedule", "batch_size", "seed", "device",
            "precision", "track_every", "checkpoint_every", "compile", "progress")
#: :func:`inrank.make_task`'s settings (``seed`` is the training's).
TASK = ("angles", "factor", "noise", "noise_model", "keep")
#: ``--log``: also log every evaluation to ``OUT/log.csv`` or ``OUT/tensorboard/``.
LOGS = ("none", "csv", "tensorboard")


def command(*, method: str = "relu+rei", resolution: int = 64,
            out: str | Path = "inrank-out/fit", log: str = "none", task: str = "fit") -> None:
    """The options of ``inrank fit`` that no library object holds.

    Args:
        method: the method preset (``inrank.presets()``).
        task: ``fit`` (the signal itself), an inverse problem on an image, trained on its
            measurements only and scored on the image: ``ct``, ``superres``, ``denoise``,
            ``inpaint`` (``inrank.make_task``), or ``sdf``: a mesh's signed distance field
            from surface samples and normals (SIREN's loss), scored by Chamfer distance and
            IoU against the mesh.
        resolution: mesh: the IoU grid R^3; marching cubes on (2R)^3.
        out: output folder.
        log: also log every evaluation: ``csv`` (OUT/log.csv) or ``tensorboard``
            (OUT/tensorboard/, needs inrank[tensorboard]).
    """


def add_arguments(p: Parser) -> None:
    from ..nn.mlp import MLPConfig
    from ..nn.registry import presets, tuned_network
    from ..operators.tasks import NOISE_MODELS, TASKS, make_task
    from ..signals.load import load_signal
    from ..train.optimizers import OPTIMIZERS
    from ..train.options import SCHEDULES, FitOptions
    from ..train.precision import PRECISIONS

    add_options(p, load_signal, SIGNAL[:1], positional=["source"], help={
        "source": "image file or scikit-image sample name (astronaut, camera, ...), a .wav file, "
                  "a mesh (.obj, .ply, ...; needs inrank[mesh]), a video (.mp4, .mkv, ...) or "
                  "built-in clip (bikes, carphone, bigbuckbunny; needs inrank[video]) or "
                  "sinusoids/step/chirp"})
    add_options(p, command, ["method"], choices={"method": presets()})
    add_options(p, command, ["task"], choices={"task": ("fit",) + tuple(TASKS) + ("sdf",)})
    net = tuned_network()  # where the registry's lrs were chosen
    add_options(p.add_argument_group("model (MLPConfig)"), MLPConfig, MODEL,
                defaults={k: net[k] for k in MODEL},
                help={"width": "units per hidden layer (default: the width the registry's lrs "
                               "were tuned at; at another width the method's lr scales by "
                               "tuned width / width, inrank.preset(METHOD).lr_for)"})
    add_options(
        p.add_argument_group("training (FitOptions)"), FitOptions, TRAINING,
        defaults={"steps": net["steps"], "lr": None, "optimizer": None},
        choices={"schedule": SCHEDULES, "precision": PRECISIONS, "optimizer": OPTIMIZERS},
        help={"lr": "Adam learning rate; null: the method's, inrank.preset(METHOD).lr",
              "optimizer": "adam, or muon: Muon on the hidden dense weights, Adam on the rest; "
                           "null: the method's default, inrank.preset(METHOD).default_optimizer "
                           "(the better off-grid PSNR on the calibration images)",
              "muon_lr": "Muon's learning rate; null: the method's tuned one "
                         "(inrank.preset(METHOD).lr_for('muon'))",
              "schedule": "learning-rate schedule: none, cosine (to 0 over the run) or "
                          "exponential (10x decay over the run)",
              "precision": "forward-pass autocast dtype; bf16/fp16 end with a float32 "
                           "comparison (speed-up and PSNR gain) and warn when precision-limited",
              "seed": "seeds the init, the batch order and a mesh's samples",
              "checkpoint_every": "save OUT/checkpoint.pt every K steps; rerunning the same "
                                  "command resumes"})
    add_options(p.add_argument_group("signal (load_signal)"), load_signal, SIGNAL[1:], help={
        "size": "image: resize the short side to SIZE px; video: each frame's; 1-D signal: "
                "SIZE samples"})
    add_options(p.add_argument_group("inverse task (make_task)"), make_task, TASK,
                choices={"noise_model": NOISE_MODELS})
    add_options(p, command, ["resolution", "out", "log"], choices={"log": LOGS})


def run(args: Namespace, config: dict) -> int:
    import dataclasses

    import torch

    from .. import files as _io
    from .. import validation
    from ..bench.tasks import task_loss, task_overrides
    from ..nn.registry import build, preset
    from ..report.figures import save_comparison, save_psnr_curves
    from .. import memory
    from ..errors import InputError
    from ..signals.load import load_signal, signal_kind
    from ..signals.mesh import MESH_SUFFIXES
    from ..train.loop import fit
    from ..train.options import FitOptions

    out: Path = Path(args.out)
    method = preset(args.method)
    training = picked(args, TRAINING)
    if args.optimizer is None:  # the method's default optimiser (Adam at depth 1)
        args.optimizer = training["optimizer"] = method.optimizer_at(args.depth)
    dataclasses.replace(method.config, **picked(args, MODEL)).validate()  # before the lr rule
    lrs = method.lr_for(args.optimizer, width=args.width)  # scaled from the tuned width
    training["lr"] = lrs["lr"] if args.lr is None else args.lr
    if args.optimizer == "muon" and args.muon_lr is None:
        training["muon_lr"] = lrs["muon_lr"]
    training["checkpoint"] = out / "checkpoint.pt" if args.checkpoint_every is not None else None
    # every option is checked by the library before any work
    FitOptions(**training).checked()
    validation.positive_int("resolution", args.resolution)
    validation.one_of("log", args.log, LOGS)
    if signal_kind(args.source) == "occupancy":  # its grids, before the fit
        memory.check_grid(args.resolution, scale=2)
    if args.task == "sdf" and signal_kind(args.source) != "occupancy":
        raise InputError(f"--task sdf fits a mesh's signed distance field; {args.source!r} is "
                         f"not a mesh file ({', '.join(MESH_SUFFIXES)})")

    task = None
    if args.task == "sdf":
        from ..signals.sdf import load_mesh_sdf

        signal = load_mesh_sdf(args.source, n_points=args.n_points, seed=args.seed)
    else:
        signal = load_signal(args.source, **picked(args, SIGNAL[1:]), seed=args.seed)
    if args.task not in ("fit", "sdf"):  # the truth becomes the task's; the fit sees its measurements
        from ..operators.tasks import make_task

        task = make_task(args.task, signal, seed=args.seed, **picked(args, TASK))
        signal = task.signal
    overrides = task_overrides(args.method, signal)
    model = build(args.method, signal.in_dim, signal.out_dim, **picked(args, MODEL),
                  seed=args.seed, optimizer=args.optimizer, **overrides)
    _io.write_json(out / "config.json", {**config, "lr": training["lr"]})
    _io.write_json(out / "model.json", {"method": args.method, "signal": signal.name,
                                        "kind": signal.kind, "shape": list(signal.shape),
                                        "overrides": overrides, "model": model.config.to_dict()})
    print(_start_line(args, signal, model, training), file=sys.stderr)
    inverse = {} if task is None else {"operator": task.operator,
                                       "measurements": task.measurements}
    result = fit(model, signal, loss=task_loss(signal), callbacks=_loggers(args.log, out),
                 **inverse, **training)
    if result.resumed_from is not None:
        print(f"resumed from {training['checkpoint']} at step {result.resumed_from} (same "
              "method, config, signal and protocol)", file=sys.stderr)
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
    extra, said, base = ({}, "", "") if task is None else _task_outputs(task, target, out)
    _io.write_json(out / "metrics.json", {"method": args.method, "signal": signal.name,
                                          **result.to_dict(), **extra})
    print(f"{args.method} on {signal.name} {signal.shape[0]}x{signal.shape[1]}{said}: "
          f"PSNR {result.final_psnr:.2f} dB (best {result.best_psnr:.2f}), SSIM {result.ssim:.4f}"
          + ("" if result.test_psnr is None else f", unseen {result.test_psnr:.2f} dB")
          + f"{base}, {result.seconds_per_step * 1e3:.1f} ms/step "
          f"-> {out}/", file=sys.stdout)
    return 0


def _task_outputs(task, target, out: Path) -> tuple[dict, str, str]:
    """An inverse task's extra outputs: its classical baseline (``baseline.png``, its PSNR and
    SSIM in ``metrics.json``); returns those metrics, the task's and the baseline's words for
    the summary line."""
    from .. import files as _io
    from ..metrics import psnr, ssim

    base = task.signal.to_image(task.baseline())
    _io.save_png(out / "baseline.png", base)
    b_psnr, b_ssim = psnr(base, target), ssim(base, target)
    return ({"task": task.describe(), "baseline_psnr": b_psnr, "baseline_ssim": b_ssim},
            f" ({task.name}, {', '.join(f'{k} {v}' for k, v in task.settings.items())})",
            f"; baseline {task.baseline_name} {b_psnr:.2f} dB")


def _start_line(args: Namespace, signal, model, training: dict) -> str:
    """What is about to run, and the least time it can take here (its FLOPs over this
    machine's matrix-product rate), so a long request is never silent."""
    from ..train.flops import gemm_rate, step_flops

    flops = step_flops(model, len(signal)) * training["steps"]
    floor = flops / gemm_rate(size=512, repeats=3)
    lr = f"lr {training['lr']:g}" + (f", muon_lr {training['muon_lr']:g}"
                                     if training.get("muon_lr") else "")
    shape = "x".join(map(str, signal.shape))
    hint = {"image": " (--size N for a smaller image)",
            "video": " (--size N, --frames K for a smaller clip)"}.get(signal.kind, "")
    hint = hint if floor > 300 else ""
    return (f"fit {args.method} on {signal.name} {shape} ({len(signal):,} points): "
            f"{model.config.depth} x {model.config.width} MLP, {training['steps']} "
            f"{training['optimizer']} steps at {lr}; at least {_duration(floor)} here{hint}")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _loggers(log: str, out: Path) -> list:
    from ..train.callbacks import CSVLogger, TensorBoardLogger

    if log == "csv":
        return [CSVLogger(out / "log.csv")]
    if log == "tensorboard":
        return [TensorBoardLogger(out / "tensorboard")]
    return []


def _print_precision(result) -> None:
    """One line on a low-precision fit: its speed against float32 and what float32 would add."""
    check = result.precision_check
    if check:
        print(f"{result.precision}: {check['speedup']:.2f}x the float32 step speed (measured "
              f"over {check['steps']} steps each from the final state); float32 would gain "
              f"{check['gain_db']:+.2f} dB there", file=sys.stderr)


def _finish(args: Namespace, signal, result, model, out: Path) -> int:
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
