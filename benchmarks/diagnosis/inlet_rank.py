"""The paper's diagnosis table, reproduced: rank of the first hidden layer's features and of the
first two NTK blocks, per method and width, at init; and where BatchNorm's rank restoration shows.

    python -m benchmarks.diagnosis.inlet_rank [--size 48 --widths 64,128,256,512 --depth 3 --steps 300]

Coordinates: the pixel grid of the built-in astronaut image at SIZE x SIZE (N = SIZE^2), outputs
c = 3. Every model is a depth-3 MLP from ``inrank.build`` (seed 0), diagnosed with
``inrank.diagnose`` in float64 (BatchNorm: this batch's statistics, frozen, so the forward pass
equals the training-mode one). Parts:

1. method x width: ``[H_1, 1]`` ranks; NTK blocks 1 and 2 (numerical rank, effective rank, share).
2. BatchNorm at width 256: every layer's features, gradients ``G_l`` and NTK block.
3. BatchNorm exactly batch-coupled vs frozen statistics (``jacobian_ntk``), small N and width.
4. After STEPS full-batch Adam steps on the image (the 3 x 128 tuned lrs, ``--tuned``): the
   same per-layer ranks.

Writes benchmarks/results/inlet_rank.{json,md}.
"""
from __future__ import annotations

from dataclasses import asdict, is_dataclass
import sys
import time
from pathlib import Path

import torch

import inrank
from inrank.diagnosis import rank
from inrank.diagnosis.ntk import jacobian_ntk
from inrank.nn.tuned_state import tuned_values
from inrank.report.machine import machine, machine_line
from inrank.report.tables import markdown_table

from benchmarks.frame import RESULTS, TUNED_W128, command, flags, parser, write_result

METHODS = ("relu", "relu+rei", "pe", "rff", "siren", "bn", "bn-all")
BN_METHODS = ("relu", "bn", "bn-all")


def _plain(m) -> dict | None:
    """Rank measures as a JSON dict (``RankMeasures`` from the library, or a stored dict)."""
    return None if m is None else (asdict(m) if is_dataclass(m) else m)


def _num(m, tol: float = 1e-3) -> str:
    """The numerical rank at ``tol``: from live measures, or from a stored result (this file's
    ``numerical`` is a list of ``[rtol, rank]``; files before issue 13 keyed it by ``"0.001"``)."""
    m = _plain(m)
    if m is None:
        return "-"
    num = m["numerical"]
    if isinstance(num, dict):
        return str(num[f"{tol:g}"])
    return str(next(rank for rtol, rank in num if rtol == tol))


def part_widths(signal, widths, depth, seed, log) -> list[dict]:
    rows = []
    for method in METHODS:
        for w in widths:
            model = inrank.build(method, 2, 3, width=w, depth=depth, seed=seed)
            d = inrank.diagnose(model, signal.coords, layers=[0, 1], total=False, label=method)
            l1, l2 = d.layers[0], d.layers[1]
            rows.append({"method": method, "width": w, "H1": _plain(l1.features),
                         "G1": _plain(l1.gradients), "G2": _plain(l2.gradients),
                         "ntk1": _plain(l1.ntk), "ntk2": _plain(l2.ntk),
                         "share1": l1.ntk_share, "share2": l2.ntk_share,
                         "route1": l1.ntk_solver, "route2": l2.ntk_solver,
                         "seconds": d.wall_seconds})
            log(f"{method:9s} D={w:4d}: [H1,1] {l1.features.exact:4d} exact, "
                f"{_num(l1.features):>4s} @1e-3; NTK1 {_num(l1.ntk):>5s}, NTK2 {_num(l2.ntk):>5s} "
                f"@1e-3 ({d.wall_seconds:.1f} s)")
    return rows


def table_widths(rows) -> str:
    head = ["method", "D", "rank [H1,1] exact", "@1e-3", "@1e-6", "eff", "NTK1 @1e-3",
            "NTK1 @1e-6", "NTK1 eff", "NTK1 share", "NTK2 @1e-3", "NTK2 @1e-6", "NTK2 eff",
            "NTK2 share"]
    body = []
    for r in rows:
        h, a, b = r["H1"], r["ntk1"], r["ntk2"]
        body.append([r["method"], str(r["width"]), str(h["exact"]), _num(h), _num(h, 1e-6),
                     f"{h['effective']:.1f}", _num(a), _num(a, 1e-6), f"{a['effective']:.1f}",
                     f"{r['share1']:.4f}", _num(b), _num(b, 1e-6), f"{b['effective']:.1f}",
                     f"{r['share2']:.3f}"])
    return markdown_table(head, body)


def per_layer(diags: dict) -> tuple[str, dict]:
    head = ["method", "layer", "rank [H_l,1] exact", "@1e-3", "eff", "rank G_l @1e-3",
            "NTK share", "NTK @1e-3", "NTK @1e-6", "NTK eff", "NTK top eigenvalue"]
    body, data = [], {}
    for label, d in diags.items():
        data[label] = d.to_dict()
        for lay in d.layers:
            f = lay.features
            body.append([label, str(lay.index), "-" if f is None else str(f.exact), _num(f),
                         "-" if f is None else format(f.effective, ".1f"),
                         _num(lay.gradients), f"{lay.ntk_share:.3f}", _num(lay.ntk),
                         _num(lay.ntk, 1e-6), f"{lay.ntk.effective:.1f}",
                         f"{lay.ntk_top[0]:.3g}"])
    return markdown_table(head, body), data


def table_coupled(rows: list[dict]) -> str:
    """The table of :func:`part_coupled`'s rows (ranks keyed by the float rtol)."""
    return markdown_table(
        ["method", "layer", "frozen @1e-3", "coupled @1e-3", "frozen @1e-6", "coupled @1e-6",
         "frozen eff", "coupled eff", "rel. difference of the blocks"],
        [[r["method"], str(r["layer"]), str(r["frozen"][1e-3]), str(r["coupled"][1e-3]),
          str(r["frozen"][1e-6]), str(r["coupled"][1e-6]), f"{r['frozen_eff']:.1f}",
          f"{r['coupled_eff']:.1f}", f"{r['rel_diff']:.2e}"] for r in rows])


def part_coupled(size: int, width: int, depth: int, seed: int, log) -> tuple[str, list]:
    x = inrank.grid_coords((size, size))
    rows = []
    for method in BN_METHODS:
        model = inrank.build(method, 2, 3, width=width, depth=depth, seed=seed)
        t0 = time.perf_counter()
        fr = jacobian_ntk(model, x, batchnorm="batch")
        co = jacobian_ntk(model, x, batchnorm="coupled")
        for k, (a, b) in enumerate(zip(fr.blocks, co.blocks)):
            ea, eb = rank.kernel_eigenvalues(a), rank.kernel_eigenvalues(b)
            row = {"method": method, "layer": k + 1,
                   "frozen": {t: rank.spectral_numerical_rank(ea, rtol=t) for t in (1e-3, 1e-6)},
                   "coupled": {t: rank.spectral_numerical_rank(eb, rtol=t) for t in (1e-3, 1e-6)},
                   "frozen_eff": rank.spectral_effective_rank(ea),
                   "coupled_eff": rank.spectral_effective_rank(eb),
                   "rel_diff": float((a - b).norm() / b.norm())}
            rows.append(row)
        log(f"coupled vs frozen {method}: {time.perf_counter() - t0:.1f} s")
    return table_coupled(rows), rows


def _hand_written_reading(path: Path) -> str:
    """The hand-written ``## Reading`` section of an earlier ``inlet_rank.md`` (kept on rerun;
    its numbers are checked against the new tables by hand)."""
    if not path.is_file():
        return ""
    text = path.read_text(encoding="utf-8")
    i = text.find("\n## Reading")
    return text[i + 1:] if i >= 0 else ""


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, steps=300, threads=1, tuned=TUNED_W128)
    ap.add_argument("--size", type=int, default=48, help="image side; N = size^2 (48)")
    ap.add_argument("--widths", default="64,128,256,512")
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bn-width", type=int, default=256, help="width of parts 2 and 4 (256)")
    ap.add_argument("--coupled-size", type=int, default=24, help="image side of part 3 (24)")
    ap.add_argument("--coupled-width", type=int, default=64, help="width of part 3 (64)")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tuned_values(args.tuned):
        return _diagnose(args)


def _diagnose(args) -> int:
    widths = [int(w) for w in args.widths.split(",")]
    signal = inrank.load_image("astronaut", size=args.size)
    t_start = time.perf_counter()
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731

    rows = part_widths(signal, widths, args.depth, args.seed, log)
    init_diags = {}
    for m in BN_METHODS:
        model = inrank.build(m, 2, 3, width=args.bn_width, depth=args.depth, seed=args.seed)
        init_diags[m] = inrank.diagnose(model, signal.coords, total=False, label=m)
        log(f"per-layer {m}: {init_diags[m].wall_seconds:.1f} s")
    bn_table, bn_data = per_layer(init_diags)
    coupled_table, coupled_rows = part_coupled(args.coupled_size, args.coupled_width,
                                               args.depth, args.seed, log)
    trained, psnrs = {}, {}
    for m in ("relu", "relu+rei") + BN_METHODS[1:]:
        model = inrank.build(m, 2, 3, width=args.bn_width, depth=args.depth, seed=args.seed)
        res = inrank.fit(model, signal, steps=args.steps, lr=inrank.preset(m).lr,
                         seed=args.seed, progress=False)
        psnrs[m] = res.final_psnr
        trained[m] = inrank.diagnose(model, signal.coords, total=False, label=m)
        log(f"trained {m}: PSNR {res.final_psnr:.2f} dB")
    trained_table, trained_data = per_layer(trained)

    info = machine()
    n = signal.coords.shape[0]
    payload = {
        "machine": info, "n_points": n, "depth": args.depth, "seed": args.seed,
        "widths": widths, "rows": rows, "bn_per_layer_init": bn_data,
        "coupled": {"size": args.coupled_size, "width": args.coupled_width, "rows": coupled_rows},
        "trained": {"steps": args.steps, "psnr": psnrs, "per_layer": trained_data},
        "seconds": time.perf_counter() - t_start}
    md = [
        "# Inlet rank diagnosis", "",
        f"`{command(__file__, *flags(args, 'size', 'widths', 'depth', 'steps'))}` "
        f"({time.perf_counter() - t_start:.0f} s). "
        + machine_line(info), "",
        f"Coordinates: the {args.size}x{args.size} pixel grid of the astronaut image (N = {n}), "
        f"c = 3 outputs, depth {args.depth}, seed {args.seed}, at init. Float64. [H1, 1]: the "
        "first hidden layer's features with a ones column (at most D + 1); numerical ranks count "
        "singular values (features, gradients) or eigenvalues (NTK blocks, output-trace kernel "
        "(N, N)) above rtol x the largest; exact = float64 machine precision; eff = Roy-Vetterli "
        "effective rank. NTK share = the block's share of the trace of the dense-parameter NTK. "
        "BatchNorm: this batch's statistics, frozen (the forward pass equals training mode).", "",
        "## 1. Method x width", "", table_widths(rows), "",
        f"## 2. BatchNorm, every layer (D = {args.bn_width}, init)", "",
        "G_l: per-sample output gradients w.r.t. layer l's pre-activation, flattened to "
        "(N, c D).", "", bn_table, "",
        f"## 3. BatchNorm batch-coupled (exact) vs frozen statistics "
        f"(N = {args.coupled_size ** 2}, D = {args.coupled_width}, init)", "",
        "`jacobian_ntk(..., batchnorm='coupled')` differentiates through the batch mean and "
        "variance; 'frozen' holds them constant (what `layerwise_ntk` computes).", "",
        coupled_table, "",
        f"## 4. After {args.steps} full-batch Adam steps on the image (D = {args.bn_width})", "",
        "PSNR: " + ", ".join(f"{m} {p:.2f} dB" for m, p in psnrs.items()) + ".", "",
        trained_table, "",
    ]
    reading = _hand_written_reading(args.out / "inlet_rank.md")
    write_result("inlet_rank", payload, "\n".join(md) + (f"\n{reading}" if reading else ""),
                 folder=args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
