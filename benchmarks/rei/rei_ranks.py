"""What each REI variant does to which rank (issue 15, item 4), at table1's network.

    python -m benchmarks.rei.rei_ranks [--image coffee --size 48 --steps 300]

relu, `relu+rei-kink` (the paper's first-layer REI), `relu+rei` (the preset), pe and siren at
their registry values (tuned on table1's calibration images), 3 x 128 as in table1, on a
calibration image (never a test image) at SIZE px short side. Per dense layer, with
``inrank.diagnose`` in float64: the rank of the layer's output features with a ones column
``[H_l, 1]`` (exact and numerical at 1e-3 of the largest singular value; effective rank,
Roy-Vetterli), the layer's share of the NTK trace and its NTK block's numerical and effective
rank and top eigenvalue, at init and after STEPS full-batch Adam steps on the image at the
method's lr. The same numbers for a user's own image: ``inrank diagnose IMAGE --methods ...``.

Writes benchmarks/results/rei_ranks.{json,md}; README's REI paragraph is generated from it.
"""
from __future__ import annotations

import sys
import time
from dataclasses import asdict

import torch

from benchmarks.frame import TUNED_W128, command, flags, parser, write_result

METHODS = ("relu", "relu+rei-kink", "relu+rei", "pe", "siren")


def _numerical(measures, tol: float = 1e-3) -> int:
    return next(rank for rtol, rank in measures.numerical if rtol == tol)


def layer_rows(diagnosis) -> list[dict]:
    """One dict per dense layer of a :class:`inrank.diagnosis.Diagnosis`."""
    rows = []
    for lay in diagnosis.layers:
        f = lay.features
        rows.append({"layer": lay.index, "name": lay.name, "fan_out": lay.fan_out,
                     "features": None if f is None else asdict(f),
                     "features_exact": None if f is None else f.exact,
                     "features_numerical": None if f is None else _numerical(f),
                     "features_effective": None if f is None else f.effective,
                     "ntk_share": lay.ntk_share, "ntk_numerical": _numerical(lay.ntk),
                     "ntk_effective": lay.ntk.effective, "ntk_top": lay.ntk_top[0]})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, steps=300, threads=2, tuned=TUNED_W128)
    ap.add_argument("--image", default="coffee", help="a calibration image (coffee)")
    ap.add_argument("--size", type=int, default=48, help="short side in px (48)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from inrank.nn.tuned_state import tuned_values

    with tuned_values(args.tuned):
        return _measure(args)


def _measure(args) -> int:
    import inrank
    from inrank.bench import suite
    from inrank.bench.run import image_signal, resolve_image
    from inrank.nn.registry import preset
    from inrank.nn.tuned_state import tuned_network
    from inrank.report.machine import machine, machine_line
    from inrank.report.tables import markdown_table

    table1 = suite("table1")
    if args.image in table1.images:
        raise SystemExit(f"{args.image} is a table1 test image; choose a calibration image")
    net = tuned_network()
    width, depth = net["width"], net["depth"]
    signal = image_signal(resolve_image(args.image), args.size, args.image)
    coords = signal.coords.double()
    result = {}
    t0 = time.perf_counter()
    for method in METHODS:
        model = inrank.build(method, signal.in_dim, signal.out_dim, width=width, depth=depth,
                             seed=0)
        entry = {"lr": preset(method).lr, "config": preset(method).config.to_dict()}
        entry["init"] = layer_rows(inrank.diagnose(model.double(), coords, total=False,
                                                   label=method))
        model.float()
        fitted = inrank.fit(model, signal, steps=args.steps, lr=preset(method).lr, seed=0,
                            progress=False, device="cpu")
        entry["fit_psnr"] = fitted.final_psnr
        entry["trained"] = layer_rows(inrank.diagnose(model.double(), coords, total=False,
                                                      label=method))
        result[method] = entry
        print(f"{method}: done ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    info = machine()
    payload = {"protocol": {"image": args.image, "size": args.size, "points": len(coords),
                            "width": width, "depth": depth, "steps": args.steps,
                            "selection": "calibration image (not a table1 test image)"},
               "machine": info, "seconds": time.perf_counter() - t0, "methods": result}
    body = []
    for method, e in result.items():
        for when in ("init", "trained"):
            for r in e[when]:
                if r["features_exact"] is None:
                    continue
                body.append([method, when, str(r["layer"]),
                             f"{r['features_exact']} / {r['fan_out'] + 1}",
                             str(r["features_numerical"]), f"{r['features_effective']:.1f}",
                             f"{r['ntk_share']:.3f}", str(r["ntk_numerical"]),
                             f"{r['ntk_effective']:.1f}", f"{r['ntk_top']:.3g}"])
    text = "\n".join([
        "# What REI does to which rank (table1's network)", "",
        f"Generated by `{command(__file__, *flags(args, 'image', 'size', 'steps'))}` "
        f"({payload['seconds']:.0f} s). {machine_line(info)}", "",
        f"{args.image} (a calibration image) at {args.size} px short side (N = {len(coords)}), "
        f"{depth} x {width}, seed 0, each method at its registry lr; 'trained': after "
        f"{args.steps} full-batch Adam steps (fit PSNR: "
        + ", ".join(f"{m} {e['fit_psnr']:.2f}" for m, e in result.items()) + " dB). "
        "[H_l, 1]: layer l's output features with a ones column (the input of block l + 1); "
        "numerical rank at 1e-3 of the largest singular value; eff: effective rank "
        "(Roy-Vetterli). NTK: layer l's block of the dense-parameter NTK, float64.", "",
        markdown_table(["method", "when", "layer l", "rank [H_l,1] exact", "@1e-3", "eff",
                        "NTK share", "NTK_l @1e-3", "NTK_l eff", "NTK_l top eigenvalue"],
                       body, align="llrrrrrrrr")]) + "\n"
    write_result("rei_ranks", payload, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
