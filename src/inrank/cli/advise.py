"""``inrank advise SOURCE --method NAME``: choose a method's knob (PE octaves, SIREN omega0,
REI gain, ...) from the network at init and the target, before any training: every candidate
scored by each predictor (:func:`inrank.diagnosis.advise.advise`), the choice, the predicted
curve and what it cost.

The options are :func:`~inrank.diagnosis.advise.advise`'s, :func:`inrank.load_image`'s
``size`` and :func:`command`'s.
"""
from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from jsonargparse import Namespace

from .. import files as _io
from ..bench.run import resolve_image
from ..diagnosis.advise import advise
from ..nn.registry import preset, presets
from ..nn.tuned_state import tuned_network
from ..report.figures import new_figure
from ..report.tables import markdown_table
from ..signals.signal import load_image
from ..train.optimizers import OPTIMIZERS
from .args import Parser, add_options, picked

__all__ = ["add_arguments", "run", "command", "fit_command", "ADVICE"]

#: :func:`~inrank.diagnosis.advise.advise`'s options.
ADVICE = ("width", "depth", "knob", "points", "offgrid_points", "steps", "seed", "inits",
          "optimizer")


def command(*, source: str = "kodim05", method: str = "pe",
            candidates: Sequence[float] | None = None,
            out: str | Path = "inrank-out/advise") -> None:
    """The options of ``inrank advise`` that no library object holds.

    Args:
        source: an image: a Kodak name (kodim01..kodim24, from the shared data folder), a
            scikit-image sample name or a file.
        method: a preset with a knob.
        candidates: the knob values to rank (default: the preset's grid).
        out: output folder (advice.json, predicted_curves.png).
    """


def add_arguments(p: Parser) -> None:
    knobs = [m for m in presets() if preset(m).knob is not None]
    add_options(p, command, ["source"], positional=["source"], help={
        "source": "image: a Kodak name (kodim05), a scikit-image sample or a file"})
    add_options(p, command, ["method"], choices={"method": knobs})
    add_options(p, load_image, ["size"], defaults={"size": 64},
                help={"size": "short side in px; the off-grid target is the image at 2x"})
    add_options(p, command, ["candidates"])
    net = tuned_network()  # inrank fit's network: what the advice is for
    add_options(p.add_argument_group("prediction (advise)"), advise, ADVICE,
                defaults={"width": net["width"], "depth": net["depth"], "optimizer": None},
                choices={"optimizer": OPTIMIZERS},
                help={"width": "units per hidden layer (default: inrank fit's, the tuned width)",
                      "optimizer": "the optimiser the network will train with; null: the "
                                   "method's default (as inrank fit)",
                      "knob": "the knob to choose (default the method's; REI presets also "
                              "take rei_options.directions, .slope, ...)",
                      "points": "training points in the kernel's subsample (seeded)",
                      "offgrid_points": "points of the 2x grid for the off-grid prediction",
                      "steps": "steps of the predicted gradient-descent curve",
                      "inits": "initialisations FreSh's spectrum averages"})
    add_options(p, command, ["out"])


def _hw(shape) -> str:
    """An image's size as ``inrank fit`` prints it: H x W."""
    return "x".join(map(str, shape))


def fit_command(args: Namespace, advice) -> str:
    """The ``inrank fit`` command that trains the advised network on the same image."""
    value = f"{advice.choice:g}"
    return (f"inrank fit {shlex.quote(str(args.source))} --method {advice.method} --knobs "
            f"{advice.knob}={value} --size {args.size} --width {args.width} --depth {args.depth} "
            f"--optimizer {args.optimizer} --seed {args.seed}")


def run(args: Namespace, config: dict) -> int:
    out = Path(args.out)
    p = preset(args.method)
    if args.optimizer is None:  # the one inrank fit trains this method with
        args.optimizer = p.optimizer_at(args.depth)
    source = resolve_image(args.source)
    signal = load_image(source, size=args.size)
    fine = load_image(source, size=2 * min(signal.shape))          # the off-grid target
    print(f"inrank advise: {args.method} on {signal.name} {_hw(signal.shape)}, "
          f"{args.depth} x {args.width} at init ({args.optimizer}); {args.points} kernel "
          f"points, off-grid at {_hw(fine.shape)}", file=sys.stderr)
    a = advise(signal, args.method, offgrid=fine, candidates=args.candidates,
               **picked(args, ADVICE))
    head, rows = a.table()
    print(markdown_table(head, rows))
    best = a.predictions[a.candidates.index(a.choice)]
    curve = ", ".join(f"step {s}: {v:.2f} dB" for s, v in zip(best.steps, best.fit_psnr))
    grid_cost = len(a.candidates) * 2 * 500
    print(f"\nchoice: {a.knob} = {a.choice:g} (by {a.recommended}; "
          + ", ".join(f"{k} {v:g}" for k, v in a.choices.items() if k != a.recommended)
          + f")\npredicted fit (linearised GD on {best.points} points): {curve}"
          + (f"; off-grid {best.offgrid_psnr:.2f} dB" if best.offgrid_psnr is not None else "")
          + f"\ncost: {a.seconds:.1f} s for {len(a.candidates)} candidates at init (a grid "
          f"search trains each: on table1's 2 calibration images at 500 steps, {grid_cost} "
          "steps)"
          + f"\nrun: {fit_command(args, a)}")
    fig = new_figure((6.0, 4.0))
    ax = fig.subplots()
    for v, pr in zip(a.candidates, a.predictions):
        ax.plot(pr.steps, pr.fit_psnr, marker="o", label=f"{a.knob} {v:g}"
                + (" (choice)" if v == a.choice else ""))
    ax.set(xlabel="gradient-descent step (linearised)", ylabel="predicted fit PSNR (dB)",
           title=f"{args.method} on {signal.name}: predicted at init")
    ax.legend(fontsize=8)
    _io.save_figure(fig, out / "predicted_curves.png", dpi=110)
    _io.write_json(out / "advice.json", {
        "config": config, "method": a.method, "knob": a.knob, "candidates": a.candidates,
        "choices": a.choices, "recommended": a.recommended, "choice": a.choice,
        "seconds": a.seconds, "fresh": a.fresh,
        "predictions": [{"alignment": p.alignment, "alignment_blocks": p.alignment_blocks,
                         "energy": p.energy, "steps": p.steps, "fit_psnr": p.fit_psnr,
                         "offgrid_psnr": p.offgrid_psnr, "lr": p.lr, "points": p.points,
                         "seconds": p.seconds} for p in a.predictions]})
    print(f"-> {out}/", file=sys.stderr)
    return 0
