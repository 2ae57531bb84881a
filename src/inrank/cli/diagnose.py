"""``inrank diagnose --method NAME[,NAME...]``: per-layer rank and NTK diagnosis, with plots."""
from __future__ import annotations

import argparse
from dataclasses import asdict
import sys
from pathlib import Path

from .args import add_model_arguments, names, positive_int

__all__ = ["add_arguments", "run"]


def _widths(text: str) -> list[int]:
    try:
        out = [positive_int(t) for t in names(text)]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive widths like 64,128,256, got {text!r}") from None
    if not out:
        raise argparse.ArgumentTypeError("expected at least one width")
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..nn.registry import presets

    p.add_argument("--method", default="relu,relu+rei", metavar="NAME[,NAME...]",
                   help=f"comma-separated presets from: {', '.join(presets())} (relu,relu+rei)")
    add_model_arguments(p, method=False)
    p.add_argument("--image", default="astronaut",
                   help="image whose pixel grid gives the coordinates (astronaut)")
    p.add_argument("--size", type=positive_int, default=64,
                   help="short side of the image in px; N = pixels (64)")
    p.add_argument("--widths", type=_widths, default=None,
                   help="also plot the rank of [H_1, 1] against these widths, e.g. 64,128,256,512")
    p.add_argument("--trained", type=positive_int, default=None, metavar="STEPS",
                   help="fit STEPS Adam steps and diagnose before and after")
    p.add_argument("--batchnorm", default="batch", choices=["batch", "running"],
                   help="BatchNorm statistics: this batch's, frozen (batch), or running ones")
    p.add_argument("--no-total", action="store_true",
                   help="skip the whole NTK's eigenvalues (one N x N eigendecomposition)")
    p.add_argument("--solver", default="auto", choices=["auto", "dense", "matrix-free"],
                   help="NTK spectra by dense eigendecomposition or matrix-free Lanczos and "
                   "SLQ estimates; auto: dense up to N = 4096 (auto)")
    p.add_argument("--model", type=Path, default=None, metavar="MODEL.PT",
                   help="diagnose a trained model (a state_dict, e.g. inrank fit's model.pt); "
                   "its config.json beside it, if any, gives the architecture, else --preset, "
                   "--width and --depth")
    p.add_argument("--preset", default=None, metavar="NAME",
                   help="with --model: the preset it was built from (config.json's otherwise)")
    p.add_argument("--out", type=Path, default=Path("inrank-out/diagnose"), help="output folder")


def run(args: argparse.Namespace) -> int:
    from .. import files as _io
    from ..diagnosis.per_layer import DENSE_LIMIT, diagnose
    from ..diagnosis.figures import plot_rank_bars, plot_rank_vs_width, plot_spectra
    from ..diagnosis.rank import RankMeasures
    from ..errors import InputError
    from ..report.tables import markdown_table
    from ..train.loop import fit
    from ..nn.registry import build, preset
    from ..signals.signal import load_image

    signal = load_image(args.image, size=args.size)
    out: Path = args.out
    if args.model is not None:
        model, label = _trained_model(args, signal)
        methods = [label]
        args.width, args.depth = model.config.width, model.config.depth
    else:
        methods = names(args.method)
        if not methods:
            raise InputError("--method is empty; pass preset names like relu,pe")
        for m in methods:
            preset(m)  # unknown names fail here, before any work
    _io.write_json(out / "config.json", {"command": "diagnose", **{
        k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()
        if not k.startswith("_")}, "methods": methods, "n_points": signal.coords.shape[0]})
    n = signal.coords.shape[0]
    resolved = args.solver if args.solver != "auto" else (
        "dense" if n <= DENSE_LIMIT else "matrix-free")
    print(f"inrank diagnose: {signal.name} {signal.shape[1]}x{signal.shape[0]} (N = {n}), "
          f"{args.depth} x {args.width} MLP; NTK spectra {resolved}"
          + (" (Lanczos and SLQ estimates)" if resolved == "matrix-free" else ""), file=sys.stderr)
    diags, records, texts = [], [], []
    for m in methods:
        if args.model is None:
            model = build(m, signal.in_dim, signal.out_dim, width=args.width, depth=args.depth,
                          seed=args.seed)
        stages = [("init" if args.model is None else "trained", None)]
        if args.trained and args.model is None:
            stages.append((f"step {args.trained}", args.trained))
        for stage, steps in stages:
            if steps:
                res = fit(model, signal, steps=steps, lr=preset(m).lr, seed=args.seed,
                          progress=False)
                print(f"{m}: {steps} steps, PSNR {res.final_psnr:.2f} dB", file=sys.stderr)
            label = m if len(stages) == 1 else f"{m} ({stage})"
            d = diagnose(model, signal.coords, batchnorm=args.batchnorm,
                         total=not args.no_total, label=label, solver=args.solver)
            diags.append(d)
            records.append({"method": m, "stage": stage, **d.to_dict()})
            texts.append(d.to_markdown())
            print(texts[-1] + "\n", flush=True)
    plot_rank_bars(diags, out / "rank_bars.png")
    plot_spectra(diags, out / "ntk_spectra.png")
    if args.widths:
        ranks: dict[str, dict[int, RankMeasures]] = {}
        for m in methods:
            ranks[m] = {}
            for w in args.widths:
                model = build(m, signal.in_dim, signal.out_dim, width=w, depth=args.depth,
                              seed=args.seed)
                d = diagnose(model, signal.coords, ntk=False, batchnorm=args.batchnorm)
                ranks[m][w] = d.layers[0].features
        table = ("Rank of [H_1, 1] at init (exact / numerical @1e-3):\n\n" + markdown_table(
            ["method"] + [f"D={w}" for w in args.widths],
            [[m] + [f"{ranks[m][w].exact} / {ranks[m][w].at(1e-3)}" for w in args.widths]
             for m in methods]))
        print(table)
        texts.append(table)
        plot_rank_vs_width(ranks, out / "rank_vs_width.png")
        records.append({"rank_vs_width": {m: {str(w): asdict(r) for w, r in per.items()}
                                          for m, per in ranks.items()}})
    _io.write_text(out / "diagnosis.md", "\n\n".join(texts) + "\n")
    _io.write_json(out / "diagnosis.json", records)
    print(f"\nresults: {out}/", file=sys.stderr)
    return 0


def _trained_model(args: argparse.Namespace, signal):
    """The model saved at ``args.model`` (a state_dict), rebuilt from the ``config.json``
    beside it (``inrank fit`` writes both) or from ``--preset``, ``--width`` and ``--depth``."""
    import json

    import torch

    from ..errors import InputError
    from ..nn.mlp import CoordinateMLP, MLPConfig
    from ..nn.registry import build

    path: Path = args.model
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: {str(path)!r}")
    state = torch.load(path, map_location="cpu", weights_only=True)
    cfg_path = path.with_name("config.json")
    if cfg_path.is_file() and "model" in json.loads(cfg_path.read_text()):
        cfg = json.loads(cfg_path.read_text())
        model = CoordinateMLP(MLPConfig(**cfg["model"]))
        label = f"{cfg.get('method', 'model')} (trained)"
    elif args.preset is not None:
        model = build(args.preset, signal.in_dim, signal.out_dim, width=args.width,
                      depth=args.depth)
        label = f"{args.preset} (trained)"
    else:
        raise InputError(f"no config.json beside {str(path)!r}: pass --preset NAME (and "
                         "--width/--depth if not the defaults) to rebuild the model")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(f"{str(path)!r} does not fit the rebuilt model ({str(exc).splitlines()[0]}); "
                         "check --preset, --width and --depth") from None
    if model.config.in_dim != signal.in_dim:
        raise InputError(f"the model takes {model.config.in_dim}-D coordinates; diagnose it on "
                         "an image only when it was fitted to one")
    return model, label
