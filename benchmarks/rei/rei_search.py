"""Which `relu+rei` design, chosen on the calibration images only? (issue 15, items 1-2)

    python -m benchmarks.rei.rei_search [--steps 500] [--jobs 2] [--lrs 1e-3 3.16e-3]

The `table1` protocol (96 px short side, 3 x 128, full-batch Adam, off-grid PSNR at 2x) on its
calibration images (coffee, chelsea; never a test image), seed 0, for a grid of REI designs:
the variant (`triangle`, `zigzag`, `kink`), the number of ramp directions (`directions`: at
width 128 the default 6 gives about 21 kinks per direction, so the finest triangle wave has
about 10 periods across the image, where PE's 6 octaves reach 32), whether the fan of
directions is turned by a random angle (`rotate`) or axis-aligned, and the gain. Each design
runs at every lr of ``--lrs`` with seed 0; a design's score is its best lr's mean off-grid PSNR
(fit PSNR beside it). The designs within ``--confirm-within`` dB of the best score run again at
their lr with ``--confirm-seeds``, and the choice is the best mean over all seeds (one seed on two
images cannot separate designs 0.2 dB apart). The same runs, with the same records, as `inrank bench` (run records under
``benchmarks/results/rei_search/runs/``, resumable); the summary goes to
``benchmarks/results/rei_search.json`` and ``.md`` with the machine noted.
"""
from __future__ import annotations

import statistics
import sys

from benchmarks.frame import RESULTS, TUNED_W128, command, parser, write_result

METHOD = "relu+rei"
PRESET = "triangle (preset)"

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
    "triangle, 8 directions": {"rei_options": {"directions": 8}},
    "triangle, 12 directions": {"rei_options": {"directions": 12}},
    "triangle, 16 directions": {"rei_options": {"directions": 16}},
    "triangle, slope 4": {"rei_options": {"slope": 4.0}},
    "triangle, slope 16": {"rei_options": {"slope": 16.0}},
    "zigzag": {"rei_variant": "zigzag", "rei_options": {}},
    "zigzag, gain 10": {"rei_variant": "zigzag", "rei_options": {"gain": 10.0}},
}


def _override(base, name: str) -> dict:
    """The `relu+rei` preset's config overrides for design ``name``."""
    d = DESIGNS[name]
    return {"rei_variant": d.get("rei_variant", base.rei_variant),
            "rei_options": {**(base.rei_options if "rei_variant" not in d else {}),
                            **d.get("rei_options", {})}}


def _scores(plan, records) -> dict[str, dict[float, tuple[float, float, int]]]:
    """design -> lr -> (mean off-grid PSNR, mean fit PSNR, runs) over every finished run."""
    by: dict[str, dict[float, list[dict]]] = {}
    for name, lr, run in plan:
        rec = records.get(run.id)
        by.setdefault(name, {}).setdefault(lr, []).append(
            rec["metrics"] if rec and rec["status"] == "ok" else None)
    return {name: {lr: (statistics.fmean(r["offgrid_psnr"] for r in recs),
                        statistics.fmean(r["final_psnr"] for r in recs), len(recs))
                   for lr, recs in lrs.items() if all(recs)}
            for name, lrs in by.items()}


def _paired(plan, records, a: str, b: str) -> dict:
    """Off-grid PSNR of design ``a`` minus design ``b``, paired over (image, seed), at each
    design's lr in ``plan``: mean and 95% Student-t interval."""
    from inrank.report.comparison import mean_interval

    val = {(n, run.signal, run.seed): records[run.id]["metrics"]["offgrid_psnr"]
           for n, _, run in plan if run.id in records and records[run.id]["status"] == "ok"}
    diffs = [val[a, i, s] - val[b, i, s] for (n, i, s) in val if n == a and (b, i, s) in val]
    return {"design": a, "against": b, **mean_interval(diffs)}


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, steps=500, jobs=2, tuned=TUNED_W128)
    ap.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3.16e-3])
    ap.add_argument("--designs", nargs="+", default=list(DESIGNS), help="names of DESIGNS")
    ap.add_argument("--confirm-within", type=float, default=0.5,
                    help="designs within this many dB of the best seed-0 score are re-run with "
                         "--confirm-seeds at their best lr; the choice is by the mean over seeds")
    ap.add_argument("--confirm-seeds", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)
    from inrank.nn.tuned_state import tuned_values

    with tuned_values(args.tuned):
        return _search(args)


def _search(args) -> int:
    from inrank.bench import expand, suite
    from inrank.bench.runner import run_missing
    from inrank.nn.registry import preset
    from inrank.report.machine import machine, machine_line
    from inrank.report.tables import markdown_table

    s = suite("table1")
    base = preset(METHOD).config
    out = RESULTS / "rei_search"

    def plan_for(pairs, seeds) -> list[tuple[str, float, object]]:
        return [(name, lr, run) for name, lr in pairs
                for run in expand(s, lrs={METHOD: lr}, overrides={METHOD: _override(base, name)},
                                  images=s.calibration, steps=args.steps, seeds=tuple(seeds))
                if run.method == METHOD]

    def execute(plan, label: str) -> dict:
        return run_missing([r for _, _, r in plan], out, jobs=args.jobs,
                           label=f"rei search, {label}")

    # stage 1: every design at every lr, seed 0
    plan = plan_for([(n, lr) for n in args.designs for lr in args.lrs], (0,))
    first = _scores(plan, execute(plan, "seed 0"))
    best_lr = {n: max(sc, key=lambda k: sc[k][0]) for n, sc in first.items() if sc}
    top = max(first[n][best_lr[n]][0] for n in best_lr)
    finalists = [n for n in args.designs
                 if n in best_lr and first[n][best_lr[n]][0] >= top - args.confirm_within]
    # stage 2: the finalists at their best lr with more seeds
    plan2 = plan_for([(n, best_lr[n]) for n in finalists], (0, *args.confirm_seeds))
    records2 = execute(plan2, "confirmation")
    second = _scores(plan2, records2)
    confirmed = {n: second[n][best_lr[n]] for n in finalists if best_lr[n] in second.get(n, {})}
    best = max(confirmed, key=lambda n: confirmed[n][0]) if confirmed else None
    # the best design replaces the preset only when it beats it beyond noise: the paired
    # difference over (image, seed) of off-grid PSNR has a 95% interval above zero
    versus = None
    if best is not None and PRESET in confirmed and best != PRESET:
        versus = _paired(plan2, records2, best, PRESET)
    chosen = best if versus is not None and versus["low"] > 0 else (
        PRESET if PRESET in confirmed else best)

    rows = []
    for name in args.designs:
        sc = first.get(name, {})
        lr = best_lr.get(name)
        rows.append({"design": name, "lr": lr,
                     "offgrid_psnr": sc[lr][0] if lr else None,
                     "final_psnr": sc[lr][1] if lr else None,
                     "by_lr": {f"{k:g}": v[:2] for k, v in sc.items()},
                     "confirmed": (None if name not in confirmed else
                                   {"offgrid_psnr": confirmed[name][0],
                                    "final_psnr": confirmed[name][1],
                                    "runs": confirmed[name][2]})})
    info = machine()
    payload = {"protocol": {"suite": "table1", "images": list(s.calibration), "steps": args.steps,
                            "lrs": args.lrs, "width": s.widths[0], "depth": s.depth,
                            "size": s.size, "selection": "calibration images only",
                            "confirm_within_db": args.confirm_within,
                            "confirm_seeds": [0, *args.confirm_seeds]},
               "designs": {n: DESIGNS[n] for n in args.designs}, "machine": info, "rows": rows,
               "best": best, "best_vs_preset": versus, "chosen": chosen, "chosen_override": _override(base, chosen) if chosen else None,
               "chosen_lr": best_lr.get(chosen) if chosen else None}

    def num(v) -> str:
        return "-" if v is None else f"{v:.2f}"

    body = [[r["design"] + (" **(chosen)**" if r["design"] == chosen else ""),
             "-" if r["lr"] is None else f"{r['lr']:g}", num(r["offgrid_psnr"]),
             num(r["final_psnr"]),
             "-" if r["confirmed"] is None else num(r["confirmed"]["offgrid_psnr"]),
             "-" if r["confirmed"] is None else num(r["confirmed"]["final_psnr"])]
            for r in rows]
    seeds = ", ".join(map(str, [0, *args.confirm_seeds]))
    text = "\n".join([
        "# `relu+rei` designs on the calibration images", "",
        f"Generated by `{command(__file__)}`. {machine_line(info)}", "",
        f"table1's protocol ({s.size} px, {s.depth} x {s.widths[0]}, {args.steps} steps) on "
        f"the calibration images {', '.join(s.calibration)} only (never a test image). Stage 1: "
        f"every design at each lr of {', '.join(f'{x:g}' for x in args.lrs)}, seed 0; its "
        "score is the best lr's mean off-grid PSNR at 2x. Stage 2: the designs within "
        f"{args.confirm_within:g} dB of the best stage-1 score, at their lr, with seeds {seeds}; "
        "the best mean over those seeds replaces the preset only if its paired difference to "
        "the preset (over image x seed) has a 95% interval above zero.", "",
        markdown_table(["design", "lr", "off-grid PSNR, seed 0 (dB)", "fit PSNR, seed 0 (dB)",
                        f"off-grid, seeds {seeds}", f"fit, seeds {seeds}"], body,
                       align="lrrrrr"), "",
        (f"Best of stage 2: {best}; against the preset, off-grid "
         f"{versus['mean']:+.2f} dB [{versus['low']:+.2f}, {versus['high']:+.2f}] over "
         f"{versus['n']} paired runs, so the choice is **{chosen}**." if versus else
         f"Best of stage 2: {best}; the choice is **{chosen}**.")]) + "\n"
    write_result("rei_search", payload, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
