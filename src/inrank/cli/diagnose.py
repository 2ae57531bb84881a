"""``inrank diagnose [SOURCE] --methods NAME [NAME ...]``: per-layer rank and NTK diagnosis,
with plots.

The options are :func:`inrank.diagnose`'s, :func:`inrank.load_image`'s ``size``,
:class:`~inrank.nn.mlp.MLPConfig`'s ``width`` and ``depth``, :func:`inrank.build`'s ``seed``
and :func:`command`'s (the rest). The old spellings ``--method`` (for ``--methods``) and
``--image IMAGE`` (for the positional ``SOURCE``) still work, with a warning.
"""
from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from jsonargparse import Namespace

from .. import files as _io
from .. import validation
from ..diagnosis.figures import plot_rank_bars, plot_rank_vs_width, plot_spectra
from ..diagnosis.ntk import BATCHNORM_MODES
from ..diagnosis.per_layer import DENSE_LIMIT, SOLVERS, diagnose
from ..diagnosis.rank import RankMeasures
from ..errors import InputError
from ..nn.mlp import MLPConfig
from ..nn.registry import build, preset, presets
from ..nn.tuned_state import tuned_network
from ..report.tables import markdown_table
from ..runs import load, load_weights, run_record
from ..signals.signal import load_image
from ..train.fit import fit
from .args import Parser, add_options, picked

__all__ = ["add_arguments", "run", "command", "MODEL", "DIAGNOSIS"]

#: :class:`~inrank.nn.mlp.MLPConfig`'s options.
MODEL = ("width", "depth")
#: :func:`inrank.diagnose`'s options.
DIAGNOSIS = ("batchnorm", "solver", "total", "tol")


def command(*, source: str = "astronaut", methods: Sequence[str] = ("relu", "relu+rei"),
            widths: Sequence[int] | None = None, trained: int | None = None,
            model: Path | None = None, preset: str | None = None,
            out: str | Path = "inrank-out/diagnose") -> None:
    """The options of ``inrank diagnose`` that no library object holds.

    Args:
        source: image file or scikit-image sample name whose pixel grid gives the
            coordinates.
        methods: the presets to diagnose.
        widths: also plot the rank of [H_1, 1] against these widths, e.g. 64,128,256,512.
        trained: fit this many steps (each method's default optimiser at its tuned lrs) and
            diagnose before and after.
        model: diagnose a trained model (a state_dict, e.g. inrank fit's model.pt); the
            model.json beside it, if any, gives the architecture, else --preset, --width and
            --depth.
        preset: with --model: the preset it was built from (model.json's otherwise).
        out: output folder.
    """


def add_arguments(p: Parser) -> None:
    add_options(p, command, ["source"], positional=["source"], help={
        "source": "image file or scikit-image sample name (astronaut, camera, ...); its pixel "
                  "grid gives the coordinates"})
    add_options(p, command, ["methods"],
                help={"methods": f"presets to diagnose, from: {', '.join(presets())}"})
    net = tuned_network()  # inrank fit's network
    add_options(p.add_argument_group("model (MLPConfig)"), MLPConfig, MODEL,
                defaults={k: net[k] for k in MODEL},
                help={"width": "units per hidden layer (default: inrank fit's, the tuned width)"})
    add_options(p, build, ["seed"])
    add_options(p, load_image, ["size"], defaults={"size": 64},
                help={"size": "short side of the image in px; N = pixels"})
    add_options(p, command, ["widths", "trained"])
    add_options(p.add_argument_group("diagnosis (inrank.diagnose)"), diagnose, DIAGNOSIS,
                choices={"solver": SOLVERS},
                help={"solver": "NTK spectra by dense eigendecomposition or matrix-free Lanczos "
                                f"and SLQ estimates; auto: dense up to N = {DENSE_LIMIT}",
                      "total": "also the whole NTK's eigenvalues (one N x N eigendecomposition)",
                      "tol": "matrix-free only: compress each NTK block's factors so its "
                             "operator is within tol x its top eigenvalue of the exact block "
                             "(0: exact; null: 1e-6)"})
    add_options(p, command, ["model", "preset", "out"])
    p.rename("--method", "--methods")
    p.rename("--image", "source")


def run(args: Namespace, config: dict) -> int:
    out = Path(args.out)
    # every option is checked by the library before any work
    MLPConfig(**picked(args, MODEL)).validate()
    validation.one_of("batchnorm", args.batchnorm, BATCHNORM_MODES)
    for w in args.widths or ():
        validation.positive_int("widths", w)
    if args.trained is not None:
        validation.positive_int("trained", args.trained)
    signal = load_image(args.source, size=args.size)
    width, depth = args.width, args.depth
    if args.model is not None:
        model, label = _trained_model(args, signal)
        methods = [label]
        width, depth = model.config.width, model.config.depth
    else:
        methods = list(args.methods)
        for m in methods:
            preset(m)  # unknown names fail here, before any work
    _io.write_json(out / "config.json", config)
    n = signal.coords.shape[0]
    resolved = args.solver if args.solver != "auto" else (
        "dense" if n <= DENSE_LIMIT else "matrix-free")
    print(f"inrank diagnose: {signal.name} {'x'.join(map(str, signal.shape))} (N = {n}), "
          f"{depth} x {width} MLP; NTK spectra {resolved}"
          + (" (Lanczos and SLQ estimates)" if resolved == "matrix-free" else ""), file=sys.stderr)
    options = picked(args, DIAGNOSIS)
    diags, records, texts = [], [], []
    for m in methods:
        if args.model is None:
            model = build(m, signal.in_dim, signal.out_dim, width=width, depth=depth,
                          seed=args.seed)
        stages = [("init" if args.model is None else "trained", None)]
        if args.trained and args.model is None:
            stages.append((f"step {args.trained}", args.trained))
        for stage, steps in stages:
            if steps:  # the method's own optimiser at its tuned lrs (a short fit may not learn)
                res = fit(model, signal, steps=steps, seed=args.seed, progress=False,
                          accept_worse=True)
                print(f"{m}: {steps} {res.optimizer} steps, PSNR {res.final_psnr:.2f} dB"
                      + ("" if res.status == "ok" else f" ({res.status})"), file=sys.stderr)
            label = m if len(stages) == 1 else f"{m} ({stage})"
            d = diagnose(model, signal.coords, label=label, **options)
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
                model = build(m, signal.in_dim, signal.out_dim, width=w, depth=depth,
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


def _trained_model(args: Namespace, signal):
    """The model saved at ``args.model`` (a state_dict, e.g. inrank fit's model.pt), rebuilt by
    :func:`inrank.load` from the ``model.json`` beside it (an older fit's ``config.json`` holds
    the same ``model``), else from ``--preset``, ``--width`` and ``--depth``; every way the
    files can be wrong is one :class:`~inrank.errors.InputError`."""
    path = Path(args.model)
    if not path.is_file():
        raise InputError(f"model file not found: {str(path)!r}; give the model.pt that "
                         "inrank fit writes")
    if run_record(path.parent) is not None:
        model = load(path).model
    elif args.preset is not None:
        model = load_weights(build(args.preset, signal.in_dim, signal.out_dim, width=args.width,
                                   depth=args.depth), path)
    else:
        raise InputError(f"no model.json beside {str(path)!r}: pass --preset NAME (and "
                         "--width/--depth if not the defaults) to rebuild the model")
    if model.config.in_dim != signal.in_dim:
        raise InputError(f"the model takes {model.config.in_dim}-D coordinates; diagnose it on "
                         "an image only when it was fitted to one")
    return model, f"{model.preset} (trained)"
