"""``inrank demo [SOURCE]``: relu, relu+rei, pe and siren on an image (the built-in astronaut
by default).

The options are :func:`~inrank.bench.demo.compare_methods`' ``methods``, :func:`inrank.load_image`'s
``size``, :class:`~inrank.nn.mlp.MLPConfig`'s ``width`` and ``depth``,
:class:`~inrank.train.options.FitOptions`' (the training) and :func:`command`'s (the rest).
The old spelling ``--image IMAGE`` (for the positional ``SOURCE``) still works, with a warning.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from jsonargparse import Namespace

from .. import files as _io
from ..bench.demo import compare_methods, demo_markdown, write_demo_html
from ..nn.mlp import MLPConfig
from ..nn.registry import preset, presets
from ..nn.tuned_state import tuned_network
from ..signals.signal import load_image
from ..train.optimizers import OPTIMIZERS
from ..train.options import FitOptions
from .args import Parser, add_options, picked

__all__ = ["add_arguments", "run", "command", "MODEL", "TRAINING"]

#: :class:`~inrank.nn.mlp.MLPConfig`'s options.
MODEL = ("width", "depth")
#: :class:`~inrank.train.options.FitOptions`' options (every method trains at its preset's lr).
TRAINING = ("steps", "seed", "optimizer", "track_every", "progress", "auto")


def command(*, source: str = "astronaut", out: str | Path = "inrank-out/demo") -> None:
    """The options of ``inrank demo`` that no library object holds.

    Args:
        source: image file or scikit-image sample name.
        out: output folder.
    """


def add_arguments(p: Parser) -> None:
    net = tuned_network()  # where the registry's lrs were chosen
    add_options(p, command, ["source"], positional=["source"], help={
        "source": "image file or scikit-image sample name (astronaut, camera, ...)"})
    add_options(p, compare_methods, ["methods"], defaults={"methods": presets("demo")},
                help={"methods": f"presets to compare, from: {', '.join(presets())}"})
    add_options(p, load_image, ["size"], defaults={"size": net["size"]})
    add_options(p.add_argument_group("model (MLPConfig)"), MLPConfig, MODEL,
                defaults={k: net[k] for k in MODEL},
                help={"width": "units per hidden layer (default: the width the registry's lrs "
                               "were tuned at)"})
    add_options(p.add_argument_group("training (FitOptions)"), FitOptions, TRAINING,
                defaults={"steps": net["steps"], "optimizer": None},
                choices={"optimizer": OPTIMIZERS},
                help={"steps": "steps per method, each at its preset's lr",
                      "optimizer": "adam, or muon (hidden dense weights; Adam on the rest); "
                                   "null: each method's default, inrank.preset(M).default_optimizer",
                      "seed": "seeds the init and the batch order",
                      "track_every": "rank dynamics every this many steps; null: steps / 5",
                      "auto": "each method's knob and lrs chosen for this image (inrank fit "
                              "--auto) instead of its preset's"})
    add_options(p, command, ["out"])
    p.rename("--image", "source")


def run(args: Namespace, config: dict) -> int:
    out = Path(args.out)
    methods = tuple(args.methods)
    training = picked(args, TRAINING)
    if training["track_every"] is None:
        training["track_every"] = max(1, args.steps // 5)
    for m in methods:  # every option is checked by the library before any work
        p = preset(m)
        dataclasses.replace(p.config, **picked(args, MODEL)).validate()
        opt = args.optimizer or p.optimizer_at(args.depth)
        FitOptions(**{**training, "optimizer": opt})
    signal = load_image(args.source, size=args.size)
    _io.write_json(out / "config.json", config)
    steps = (f"{args.optimizer} steps" if args.optimizer else
             "steps with each method's default optimiser")
    print(f"inrank demo: {signal.name} {signal.shape[1]}x{signal.shape[0]}, {args.depth} x "
          f"{args.width} MLP, {args.steps} full-batch {steps} per method", file=sys.stderr)
    rows = compare_methods(signal, methods, **picked(args, MODEL), **training)
    table = demo_markdown(rows)
    note = (f"{signal.name} at {signal.shape[1]}x{signal.shape[0]}, {args.depth} hidden x "
            f"{args.width}, {args.steps} {steps} at "
            + ("the knob and lrs auto chose for the image" if args.auto else "each preset's lr")
            + f", seed {args.seed}. "
            "Ranks are of the first hidden layer's features with a ones column, at init.")
    _io.write_text(out / "results.md", table + "\n")
    page = write_demo_html(rows, signal, out, note=note)
    print(table)
    print(f"\nreport: {page}")
    return 0
