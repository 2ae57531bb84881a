"""``inrank demo``: relu, relu+rei, pe and siren on the built-in astronaut image."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .args import names, positive_int

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..nn.registry import presets

    p.add_argument("--image", default="astronaut", help="image file or scikit-image sample (astronaut)")
    p.add_argument("--size", type=positive_int, default=64, help="short side in px (64)")
    p.add_argument("--steps", type=positive_int, default=500, help="Adam steps per method (500)")
    p.add_argument("--width", type=positive_int, default=256, help="units per hidden layer (256)")
    p.add_argument("--depth", type=positive_int, default=3, help="hidden layers (3)")
    p.add_argument("--methods", default=",".join(presets("demo")),
                   help=f"comma-separated presets from: {', '.join(presets())}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--track-every", type=positive_int, default=None, metavar="K",
                   help="rank dynamics every K steps (default: steps / 5)")
    p.add_argument("--out", type=Path, default=Path("inrank-out/demo"), help="output folder")
    p.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from .. import files as _io
    from ..bench.demo import compare_methods, demo_markdown, write_demo_html
    from ..nn.registry import preset
    from ..signals.signal import load_image

    methods = tuple(names(args.methods))
    for m in methods:
        preset(m)  # unknown names fail here, before any work
    signal = load_image(args.image, size=args.size)
    _io.write_json(args.out / "config.json", {"command": "demo", **{k: str(v) if isinstance(v, Path) else v
                   for k, v in vars(args).items() if not k.startswith("_")}})
    print(f"inrank demo: {signal.name} {signal.shape[1]}x{signal.shape[0]}, {args.depth} x "
          f"{args.width} MLP, {args.steps} full-batch Adam steps per method", file=sys.stderr)
    rows = compare_methods(signal, methods, steps=args.steps, width=args.width, depth=args.depth,
                           seed=args.seed, progress=not args.no_progress,
                           track_every=args.track_every or max(1, args.steps // 5))
    table = demo_markdown(rows)
    note = (f"{signal.name} at {signal.shape[1]}x{signal.shape[0]}, {args.depth} hidden x "
            f"{args.width}, {args.steps} Adam steps at each preset's lr, seed {args.seed}. "
            "Ranks are of the first hidden layer's features with a ones column, at init.")
    _io.write_text(args.out / "results.md", table + "\n")
    page = write_demo_html(rows, signal, args.out, note=note)
    print(table)
    print(f"\nreport: {page}")
    return 0
