"""Which `relu+rei` design, chosen on the calibration images only? (issue 15, items 1-2)

    python benchmarks/rei_search.py [--steps 500] [--jobs 2] [--lrs 1e-3 3.16e-3]

The `table1` protocol (96 px short side, 3 x 128, full-batch Adam, off-grid PSNR at 2x) on its
calibration images (coffee, chelsea; never a test image), seed 0, for a grid of REI designs:
the variant (`triangle`, `zigzag`, `kink`), the number of ramp directions (`directions`: at
width 128 the default 6 gives about 21 kinks per direction, so the finest triangle wave has
about 10 periods across the image, where PE's 6 octaves reach 32), whether the fan of
directions is turned by a random angle (`rotate`) or axis-aligned, and the gain. Each design
runs at every lr of ``--lrs``; a design's score is its best lr's mean off-grid PSNR (fit PSNR
beside it). The same runs, with the same records, as `inrank bench` (run records under
``benchmarks/results/rei_search/runs/``, resumable); the summary goes to
``benchmarks/results/rei_search.json`` and ``.md`` with the machine noted.
"""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "results"
METHOD = "relu+rei"

#: name -> rei overrides (variant and options) of the `relu+rei` preset.
DESIGNS: dict[str, dict] = {
    "triangle (preset)": {},
    "triangle, gain 3": {"rei_options": {"gain": 3.0}},
    "triangle, 2 axis-aligned directions": {"rei_options": {"directions": 2, "rotate": False}},
    "triangle, 2 directions": {"rei_options": {"directions": 2}},
    "triangle, 3 directions": {"rei_options": {"directions": 3}},
    "triangle, 4 directions": {"rei_options": {"directions": 4}},
    "triangle, 4 axis-aligned + diagonal": {"rei_options": {"directions": 4, "rotate": False}},
    "triangle, 6 axis-aligned": {"rei_options": {"directions": 6, "rotate": False}},
    "zigzag": {"rei_variant": "zigzag", "rei_options": {}},
    "zigzag, gain 10": {"rei_variant": "zigzag", "rei_options": {"gain": 10.0}},
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=500)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3.16e-3])
    ap.add_argument("--designs", nargs="+", default=list(DESIGNS), help="names of DESIGNS")
    args = ap.parse_args(argv)
    from inrank.bench import expand, suite
    from inrank.bench.run import ExecOptions
    from inrank.bench.runner import load_records, run_pending
    from inrank.files import write_json, write_text
    from inrank.nn.registry import preset
    from inrank.report.machine import machine, machine_line
    from inrank.report.tables import markdown_table

    s = suite("table1")
    base = preset(METHOD).config
    out = OUT / "rei_search"
    plan: list[tuple[str, float, object]] = []
    for name in args.designs:
        d = DESIGNS[name]
        over = {"rei_variant": d.get("rei_variant", base.rei_variant),
                "rei_options": {**(base.rei_options if "rei_variant" not in d else {}),
                                **d.get("rei_options", {})}}
        for lr in args.lrs:
            for run in expand(s, lrs={METHOD: lr}, overrides={METHOD: over},
                              images=s.calibration, steps=args.steps, seeds=(0,)):
                if run.method == METHOD:
                    plan.append((name, lr, run))
    runs = [r for _, _, r in plan]
    records = load_records(out, runs)
    pending = [r for r in runs if r.id not in records]
    print(f"rei_search: {len(runs) - len(pending)} of {len(runs)} runs found", file=sys.stderr)
    records.update(run_pending(pending, out, executor="processes",
                               options=ExecOptions(progress=False, jobs=args.jobs),
                               label="rei search"))
    rows = []
    for name in args.designs:
        by_lr = {}
        for n, lr, run in plan:
            rec = records[run.id]["metrics"] if n == name and records[run.id]["status"] == "ok" else None
            if n == name:
                by_lr.setdefault(lr, []).append(rec)
        scores = {lr: (statistics.fmean(r["offgrid_psnr"] for r in recs),
                       statistics.fmean(r["final_psnr"] for r in recs))
                  for lr, recs in by_lr.items() if all(recs)}
        if not scores:
            rows.append({"design": name, "lr": None, "offgrid_psnr": None, "final_psnr": None})
            continue
        lr = max(scores, key=lambda k: scores[k][0])
        rows.append({"design": name, "lr": lr, "offgrid_psnr": scores[lr][0],
                     "final_psnr": scores[lr][1], "by_lr": {f"{k:g}": v for k, v in scores.items()}})
    info = machine()
    payload = {"protocol": {"suite": "table1", "images": list(s.calibration), "steps": args.steps,
                            "lrs": args.lrs, "width": s.widths[0], "depth": s.depth,
                            "size": s.size, "selection": "calibration images only"},
               "designs": {n: DESIGNS[n] for n in args.designs}, "machine": info, "rows": rows}
    write_json(OUT / "rei_search.json", payload)
    body = [[r["design"], "-" if r["lr"] is None else f"{r['lr']:g}",
             "-" if r["offgrid_psnr"] is None else f"{r['offgrid_psnr']:.2f}",
             "-" if r["final_psnr"] is None else f"{r['final_psnr']:.2f}"] for r in rows]
    text = "\n".join([
        "# `relu+rei` designs on the calibration images", "",
        f"Generated by `python benchmarks/rei_search.py`. {machine_line(info)}", "",
        f"table1's protocol ({s.size} px, {s.depth} x {s.widths[0]}, {args.steps} steps, seed 0) on "
        f"the calibration images {', '.join(s.calibration)} only; each design at its best lr of "
        f"{', '.join(f'{x:g}' for x in args.lrs)} by mean off-grid PSNR at 2x.", "",
        markdown_table(["design", "lr", "off-grid PSNR (dB)", "fit PSNR (dB)"], body,
                       align="lrrr")]) + "\n"
    write_text(OUT / "rei_search.md", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
