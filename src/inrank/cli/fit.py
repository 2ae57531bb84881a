"""``inrank fit SOURCE --method NAME``: fit one method to one signal (image, video, WAV audio,
mesh occupancy or a 1-D signal), solve an inverse problem on an image (``--task ct``,
``superres``, ``denoise``, ``inpaint``: :func:`inrank.make_task`) or fit a mesh's signed
distance field (``--task sdf``: :func:`inrank.load_mesh_sdf`, SIREN's loss), save everything.

The options are :func:`inrank.load_signal`'s (the signal), :class:`~inrank.nn.mlp.MLPConfig`'s
``width`` and ``depth`` (the model), :class:`~inrank.train.options.FitOptions`' (the training)
and :func:`command`'s (the rest).
"""
from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from pathlib import Path

import torch
from jsonargparse import Namespace

from .. import files as _io
from .. import memory, validation
from ..bench.run import resolve_image
from ..bench.tasks import task_loss, task_overrides
from ..errors import FitFailedError, InputError
from ..metrics import psnr, ssim
from ..nn.mlp import LEARNED_ENCODINGS, MLPConfig
from ..nn.registry import build, preset, presets
from ..nn.tuned_state import tuned_network
from ..operators.tasks import NOISE_MODELS, TASKS, make_task
from ..report.figures import save_comparison, save_psnr_curves, save_rank_dynamics
from ..report.outputs import write_outputs
from ..run_folder import RunFolder
from ..runs import save_run
from ..signals.load import OPTIONS_OF, load_signal, signal_kind
from ..signals.mesh import MESH_SUFFIXES
from ..signals.sdf import load_mesh_sdf
from ..signals.signal import center_crop
from ..train.callbacks import CSVLogger, TensorBoardLogger
from ..train.compiling import compiles
from ..train.flops import gemm_rate, step_flops
from ..train.fit import fit
from ..train.optimizers import OPTIMIZERS
from ..train.options import SCHEDULES, FitOptions
from ..train.precision import PRECISIONS
from ..train.result import FitResult
from ..train.settings import resolve_settings
from .args import Parser, add_options, picked

__all__ = ["add_arguments", "run", "command", "SIGNAL", "MODEL", "TRAINING", "TASK"]

#: :func:`inrank.load_signal`'s options (``source`` is positional).
SIGNAL = ("source", "size", "duration", "offset", "n_points", "frames", "stride", "start")
#: :class:`~inrank.nn.mlp.MLPConfig`'s options; the method's preset gives the other fields.
MODEL = ("width", "depth")
#: :class:`~inrank.train.options.FitOptions`' options; ``seed`` also seeds the init.
TRAINING = ("steps", "lr", "optimizer", "muon_lr", "schedule", "batch_size", "seed", "device",
            "precision", "track_every", "checkpoint_every", "compile", "progress", "accept_worse",
            "auto")
#: :func:`inrank.make_task`'s settings (``seed`` is the training's).
TASK = ("angles", "factor", "noise", "noise_model", "keep")
#: ``--log``: also log every evaluation to ``OUT/log.csv`` or ``OUT/tensorboard/``.
LOGS = ("none", "csv", "tensorboard")


def command(*, method: str = "relu+rei", knobs: Sequence[str] | None = None,
            crop: int | None = None, resolution: int = 64,
            out: str | Path = "inrank-out/fit", log: str = "none", task: str = "fit") -> None:
    """The options of ``inrank fit`` that no library object holds.

    Args:
        method: the method preset (``inrank.presets()``).
        knobs: knob values NAME=VALUE, as ``inrank advise`` names them (``pe_octaves=4``,
            ``omega0=20``, ``rei_options.gain=3``): any model field the method reads, over its
            tuned value.
        crop: images: centre-crop to CROP x CROP pixels after resizing (``--task ct`` needs a
            square image).
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
    add_options(p, load_signal, SIGNAL[:1], positional=["source"], help={
        "source": "image file, Kodak name (kodim05: DATA/kodak/, $INRANK_DATA or "
                  "../shared/data) or scikit-image sample name (astronaut, camera, ...), a .wav "
                  "file, a mesh (.obj, .ply, ...; needs inrank[mesh]), a video (.mp4, .mkv, ...) "
                  "or built-in clip (bikes, carphone, bigbuckbunny; needs inrank[video]), "
                  "sinusoids/step/chirp or a synthetic pattern: pattern:NAME (inrank.PATTERNS, "
                  "e.g. pattern:star)"})
    add_options(p, command, ["method"], choices={"method": presets()})
    add_options(p, command, ["knobs"])
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
        help={"lr": "Adam learning rate; null: the method's tuned one at this width, "
                    "inrank.preset(METHOD).lr_for(OPTIMIZER, width=WIDTH)",
              "optimizer": "adam, or muon: Muon on the hidden dense weights, Adam on the rest; "
                           "null: the method's default, inrank.preset(METHOD).default_optimizer "
                           "(the better off-grid PSNR on the calibration images)",
              "muon_lr": "Muon's learning rate; null: the method's tuned one at this width "
                         "(inrank.preset(METHOD).lr_for('muon', width=WIDTH))",
              "schedule": "learning-rate schedule: none, cosine (to 0 over the run) or "
                          "exponential (10x decay over the run)",
              "precision": "forward-pass autocast dtype; bf16/fp16 end with a float32 "
                           "comparison (speed-up and PSNR gain) and warn when precision-limited",
              "seed": "seeds the init, the batch order, a mesh's samples and a pattern",
              "checkpoint_every": "save OUT/checkpoint.pt every K steps; rerunning the same "
                                  "command resumes",
              "accept_worse": "keep a fit that ends below the signal's mean predictor or its "
                              "first evaluation as it is (exit 0), instead of retrying it at "
                              "lower lrs and then failing (exit 1)",
              "auto": "choose the method's knob (a predictor at init) and the lrs (a short "
                      "probe, at most 25% more compute) for this signal, where not given"})
    signal = p.add_argument_group("signal (load_signal)")
    add_options(signal, load_signal, SIGNAL[1:], help={
        "size": "image: resize the short side to SIZE px; video: each frame's; pattern: SIZE "
                "x SIZE px (default 128); 1-D signal: SIZE samples"})
    add_options(signal, command, ["crop"])
    add_options(p.add_argument_group("inverse task (make_task)"), make_task, TASK,
                defaults={k: None for k in TASK},
                help={k: f"{_TASK_OF[k]}: {v}; null: make_task's default"
                      for k, v in _TASK_HELP.items()},
                choices={"noise_model": NOISE_MODELS})
    add_options(p, command, ["resolution", "out", "log"], choices={"log": LOGS})


#: The inverse task each task option belongs to (the others refuse it by name).
_TASK_OF = {"angles": "ct", "factor": "superres", "noise": "denoise", "noise_model": "denoise",
            "keep": "inpaint"}
_TASK_HELP = {"angles": "projection angles over [0, 180) degrees",
              "factor": "the downsampling factor",
              "noise": "the noise level (Gaussian std; Poisson-like: 1 / noise^2 photons)",
              "noise_model": "gaussian or poisson", "keep": "the fraction of pixels observed"}


def _task_settings(args: Namespace) -> dict:
    """The inverse task's settings the user gave; one given for another task is refused."""
    given = {k: args[k] for k in TASK if args[k] is not None}
    for k in given:
        if _TASK_OF[k] != args.task:
            raise InputError(f"--{k.replace('_', '-')} sets the {_TASK_OF[k]} task; it does "
                             f"nothing with --task {args.task}")
    return given


def _knobs(method: str, items: Sequence[str] | None) -> dict:
    """``--knobs NAME=VALUE`` items as :func:`inrank.build`'s ``knobs``."""
    knobs: dict = {}
    for item in items or ():
        name, eq, value = str(item).partition("=")
        try:
            number = float(value)
        except ValueError:
            number = None
        if not eq or not name or number is None:
            raise InputError(f"--knobs takes NAME=VALUE with a number (e.g. pe_octaves=4), got "
                             f"{item!r}")
        knobs[name.strip()] = int(number) if number.is_integer() and "." not in value else number
    return knobs


def run(args: Namespace, config: dict) -> int:
    out: Path = Path(args.out)
    preset(args.method)
    training = picked(args, TRAINING)
    validation.positive_int("resolution", args.resolution)
    validation.one_of("log", args.log, LOGS)
    if args.crop is not None:
        validation.positive_int("crop", args.crop)
    kind = signal_kind(args.source)
    if kind == "occupancy":  # its grids, before the fit
        memory.check_grid(args.resolution, scale=2)
    if args.task == "sdf" and kind != "occupancy":
        raise InputError(f"--task sdf fits a mesh's signed distance field; {args.source!r} is "
                         f"not a mesh file ({', '.join(MESH_SUFFIXES)})")
    settings_of_task = _task_settings(args)
    knobs = _knobs(args.method, args.knobs)
    checkpoint = out / "checkpoint.pt" if args.checkpoint_every is not None else None

    task = None
    if args.task == "sdf":
        given = [k for k in SIGNAL[1:] if k != "n_points" and args[k] != OPTIONS_OF[k][1]]
        if given:
            raise InputError(f"--{given[0].replace('_', '-')} does nothing for --task sdf (a "
                             "mesh); --n-points sets its samples")
        signal = load_mesh_sdf(args.source, seed=args.seed,
                               **({} if args.n_points is None else {"n_points": args.n_points}))
    else:
        signal = load_signal(_kodak(args.source), **picked(args, SIGNAL[1:]), seed=args.seed)
    if args.crop is not None:
        signal = center_crop(signal, args.crop)
    if args.task not in ("fit", "sdf"):  # the truth becomes the task's; the fit sees its measurements
        task = make_task(args.task, signal, seed=args.seed, **settings_of_task)
        signal = task.signal
    overrides = task_overrides(args.method, signal)
    model = build(args.method, signal.in_dim, signal.out_dim, **picked(args, MODEL),
                  seed=args.seed, optimizer=args.optimizer, knobs=knobs, **overrides)
    settings = resolve_settings([model], training, loss=task_loss(signal),
                                checkpoint=checkpoint, callbacks=_loggers(args.log, out))
    record = {"signal": signal.name, "kind": signal.kind, "shape": list(signal.shape),
              "overrides": overrides, "knobs": knobs, "sources": settings.sources}
    config = {**config, "lr": settings.lr, "muon_lr": settings.muon_lr,
              "optimizer": settings.optimizer_name}
    with RunFolder(out, keep=("checkpoint.pt",)):  # validated: now the folder is this run's
        print(_start_line(args, signal, model, settings), file=sys.stderr)
        inverse = {} if task is None else {"operator": task.operator,
                                           "measurements": task.measurements}
        try:
            result = fit(model, signal, settings, **inverse)
        except FitFailedError as err:  # keep what trained, named, and say so
            results = err.result if isinstance(err.result, FitResult) else None
            if results is not None:
                _write(args, signal, results, model, out, task, record, config)
            print(f"inrank: the failed fit's results are kept in {out}/ (metrics.json: status "
                  f"{getattr(results, 'status', 'failed')})", file=sys.stderr)
            raise
        if settings.auto:
            print(_auto_line(result.settings.chosen, result), file=sys.stderr)
        if result.resumed_from is not None:
            print(f"resumed from {checkpoint} at step {result.resumed_from} (same method, "
                  "config, signal and protocol)", file=sys.stderr)
        _print_precision(result)
        print(_write(args, signal, result, model, out, task, record, config), file=sys.stdout)
    return 0


def _write(args: Namespace, signal, result, model, out: Path, task, record: dict,
           config: dict) -> str:
    """Every output of a finished (or failed) fit; returns the summary line."""
    metrics = {"method": args.method, "signal": signal.name, "kind": signal.kind,
               **result.to_dict()}
    if result.track:
        save_rank_dynamics({args.method: result.track}, out / "rank_dynamics.png",
                           title=f"{args.method} on {signal.name}")
    if result.history:
        save_psnr_curves({args.method: result.history}, out / "psnr_curve.png")
    summary = (f"{args.method} on {signal.name} ({result.status}: see metrics.json)"
               if result.prediction.numel() == 0 else None)
    if summary is None and signal.kind != "image":
        summary, extra = write_outputs(signal, result, model, out, method=args.method,
                                       resolution=args.resolution)
        metrics.update(extra)
    elif summary is None:
        recon, target = signal.to_image(result.prediction), signal.to_image(signal.values)
        _io.save_png(out / "reconstruction.png", recon)
        save_comparison(target, recon, out / "comparison.png",
                        title=f"{args.method}: {result.final_psnr:.2f} dB, SSIM {result.ssim:.3f}")
        extra, said, base = ({}, "", "") if task is None else _task_outputs(task, target, out)
        metrics.update(extra)
        shape = "x".join(map(str, signal.shape))
        summary = (f"{args.method} on {signal.name} {shape}{said}: PSNR "
                   f"{result.final_psnr:.2f} dB (best {result.best_psnr:.2f}), SSIM "
                   f"{result.ssim:.4f}"
                   + ("" if result.test_psnr is None else f", unseen {result.test_psnr:.2f} dB")
                   + base)
    save_run(out, model, method=args.method, record=record, metrics=metrics, config=config)
    return f"{summary}, {result.seconds_per_step * 1e3:.1f} ms/step -> {out}/"


def _kodak(source: str) -> str:
    """A Kodak name (``kodim05``) as the path of its image in the data folder
    (:func:`inrank.bench.run.resolve_image`); any other source as it is."""
    if not re.fullmatch(r"kodim\d\d", str(source)):
        return source
    return resolve_image(source)


def _task_outputs(task, target, out: Path) -> tuple[dict, str, str]:
    """An inverse task's extra outputs: its classical baseline (``baseline.png``, its PSNR and
    SSIM in ``metrics.json``); returns those metrics, the task's and the baseline's words for
    the summary line."""
    base = task.signal.to_image(task.baseline())
    _io.save_png(out / "baseline.png", base)
    b_psnr, b_ssim = psnr(base, target), ssim(base, target)
    return ({"task": task.describe(), "baseline_psnr": b_psnr, "baseline_ssim": b_ssim},
            f" ({task.name}, {', '.join(f'{k} {v}' for k, v in task.settings.items())})",
            f"; baseline {task.baseline_name} {b_psnr:.2f} dB")


def _start_line(args: Namespace, signal, model, settings) -> str:
    """What is about to run, and the least time it can take here (its FLOPs over this
    machine's matrix-product rate), so a long request is never silent."""
    flops = step_flops(model, len(signal)) * settings.steps
    floor = flops / gemm_rate(size=512, repeats=3)
    lr = f"lr {settings.lr:g}" + ("" if settings.muon_lr is None else
                                  f", muon_lr {settings.muon_lr:g}")
    knob = "" if not settings.knob else " (" + ", ".join(
        f"{k} {v:g}" for k, v in settings.knob.items()) + ")"
    shape = "x".join(map(str, signal.shape))
    hint = {"image": " (--size N for a smaller image)",
            "video": " (--size N, --frames K for a smaller clip)"}.get(signal.kind, "")
    hint = hint if floor > 300 else ""
    cfg = model.config
    net = (f"{cfg.depth} x {cfg.width} MLP" if cfg.depth else "linear read-out") + (
        f" on a {cfg.encoding} ({sum(p.numel() for p in model.encoding.parameters()):,} table "
        "values)" if cfg.encoding in LEARNED_ENCODINGS else "")
    compiled = ""
    if settings.loss != "sdf" and compiles(settings, model, settings.batch_size or len(signal),
                                           torch.device(settings.device)):
        compiled = ("; compiled (torch.compile: the first step takes some seconds more"
                    + ("; --no-compile trains eagerly)" if settings.compile is None else ")"))
    return (f"fit {args.method} on {signal.name} {shape} ({len(signal):,} points): "
            f"{net}, {settings.steps} "
            f"{settings.optimizer_name} steps at {lr}{knob}; at least {_duration(floor)} here{hint}"
            f"{compiled}")


def _auto_line(chosen: dict, result) -> str:
    """One line: what ``--auto`` chose, among what, and what it cost against the fit."""
    probe, knob = chosen.get("probe", {}), chosen.get("knob", {})
    fit_seconds = result.seconds_per_step * result.steps
    n, fresh = len(probe.get("round1", {})), knob.get("choice")
    who = {"fresh": "FreSh", "linear_offgrid": "the NTK predictor"}.get(
        knob.get("predictor"), str(knob.get("predictor")))
    what = probe.get("choice") or f"kept the preset's settings: {probe.get('kept', '')}"
    # the knob predictor runs only when the probe goes on to the other candidates
    among = "" if not n else f" among {n} candidates" + (
        f" ({who}'s knob candidate: {knob['knob']} {fresh:g})" if fresh is not None else "")
    return (f"auto: {what}{among}; lr {result.lr:g}"
            + ("" if result.muon_lr is None else f", muon_lr {result.muon_lr:g}")
            + f"; {chosen.get('seconds', 0):.1f} s, {chosen.get('seconds', 0) / max(fit_seconds, 1e-9):.2f}"
            "x the fit's training time (all in metrics.json, settings.chosen)")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def _loggers(log: str, out: Path) -> list:
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
