"""The predictors' choices on table1's test images, and target-aware REI (issue 27, items 3-4).

    python -m benchmarks.diagnosis.advise_test            # resumable (one record per cell / run)
    python -m benchmarks.diagnosis.advise_test --no-run   # score and render what is finished
    python -m benchmarks.diagnosis.advise_test --render   # only rewrite the .md from the .json

**Item 3 on the test images.** The grid search chose each knob on the calibration images
(table1's tuning at 3 x 72, ``src/inrank/nn/tuned.json``); table1 then ran that value on the
test images (kodim01-08). A predictor instead chooses per test image, at init (seed 0, the run's
width; 1,024 kernel points, 512 off-grid points of the 2x image, FreSh over 3 inits, as
``advise_validation.py``). Its choice is trained under table1's protocol (1,000 steps, the
method's tuned lr for that optimiser, seed 0) where it differs from the tuned value; the
tuned value's run is table1's own committed record. dB lost = off-grid PSNR (2x) of the tuned
value's run minus that of the predictor's choice, per image (negative: the predictor gained).
Trained here: the choices of FreSh (what ``inrank advise`` recommends) and of the linearised
off-grid PSNR (the best-ranking predictor); the other predictors' choices are scored but
not trained (each would need its own runs).

**Item 4, target-aware REI.** For each test image, REI's design (gain 1, 3, 10, 30 x ramp
directions 3, 6, 9: :func:`inrank.diagnosis.rei_design.default_rei_candidates` at width 72) is
chosen at init by the linearised off-grid PSNR
(:data:`inrank.diagnosis.rei_design.REI_PREDICTOR`, chosen on the calibration grids) on the
seed-0 network, with the 2x image as the off-grid target; that design is trained with both
optimisers and table1's 3 seeds, and compared paired per image (seeds averaged) with table1's
relu+rei (the preset: gain 3, 6 directions).

Writes ``benchmarks/results/advise_test.{json,md}``; cells and runs under
``benchmarks/results/advise_test/``.
"""
from __future__ import annotations

import hashlib
import json
import statistics
import sys
from dataclasses import replace

import torch

from inrank.bench.catalog import expand, suite
from inrank.bench.runner import load_records, run_missing
from inrank.diagnosis.predict import PREDICTORS
from inrank.diagnosis.rei_design import REI_PREDICTOR, default_rei_candidates
from inrank.files import write_json
from inrank.nn.registry import build, knob_overrides
from inrank.report.comparison import mean_interval
from inrank.report.machine import machine_line
from inrank.report.tables import markdown_table

from benchmarks.diagnosis.advise_validation import (INITS, OFFGRID_POINTS, POINTS, STEPS, grids,
                                                    score_models)
from benchmarks.frame import RESULTS, TUNED, command, parser, read_result, rerender, write_result

OUT = RESULTS / "advise_test"
TABLE1 = RESULTS / "bench" / "table1"

TRAINED = ("fresh", "linear_offgrid")   # predictors whose test-image choices are trained
REI = "relu+rei"
PRESET_DESIGN = {"gain": 3.0, "directions": 6}


def table1_runs(method: str, optimizer: str, overrides: dict | None, seeds=(0,)) -> list:
    """table1's runs of ``method`` with ``optimizer`` (every test image), ``overrides`` set."""
    s = replace(suite("table1"), methods=(method,))
    runs = expand(s, overrides={method: overrides} if overrides else None, seeds=seeds)
    return [r for r in runs if r.optimizer == optimizer]


def scored(method: str, over: dict, image: str, width: int, optimizer: str) -> dict:
    """Every predictor of one network at init on one test image (cached by its config)."""
    size = suite("table1").size
    models = [build(method, 2, 3, width=width, depth=3, seed=k, optimizer=optimizer, **over)
              for k in range(INITS)]
    key = hashlib.sha1(repr((method, image, width, models[0].config)).encode()).hexdigest()[:12]
    cell = OUT / "cells" / f"{method.replace('+', '-')}_{image}_{key}.json"
    if cell.is_file():
        return {**json.loads(cell.read_text()), "cell": cell.stem}
    out = {**score_models(lambda c: models, image, size), "overrides": over, "width": width}
    write_json(cell, out)
    print(f"  scored {method} {over} {image}: {out['seconds']:.1f} s", file=sys.stderr)
    return {**out, "cell": cell.stem}


def choose(scores: dict, name: str):
    """The key of ``scores`` (candidate -> cell) that predictor ``name`` ranks first."""
    sign = 1.0 if PREDICTORS[name] else -1.0
    return max(scores, key=lambda v: sign * scores[v][name])


def metrics(rec: dict) -> tuple[float, float]:
    m = rec["metrics"]
    return m["final_psnr"], m["offgrid_psnr"]


def item3(images: list[str], jobs: int, run: bool) -> list[dict]:
    """One row per (grid, image): the tuned value, each predictor's choice, and the measured
    fit / off-grid PSNR of the tuned value and of the trained predictors' choices."""
    tuned = json.loads(TUNED.read_text())
    rows, todo, base_runs = [], [], []
    for g in grids(tuned):
        m, opt, knob = g["method"], g["optimizer"], g["knob"]
        base = {r.signal: r for r in table1_runs(m, opt, None)}
        base_runs += base.values()
        per_value = {v: {r.signal: r for r in table1_runs(m, opt, knob_overrides(knob, v))}
                     for v in g["values"]}
        for img in images:
            cells = {v: scored(m, knob_overrides(knob, v), img, per_value[v][img].width, opt)
                     for v in g["values"]}
            choices = {n: choose(cells, n) for n in PREDICTORS}
            row = {"method": m, "optimizer": opt, "knob": knob, "image": img,
                   "tuned": g["chosen"], "choices": choices, "base_run": base[img].id,
                   "choice_runs": {}, "n_values": len(g["values"]),
                   "predictor_seconds": sum(c["seconds"] for c in cells.values()),
                   "cell_seconds": {c["cell"]: c["seconds"] for c in cells.values()}}
            for n in TRAINED:
                v = choices[n]
                if v != g["chosen"]:
                    row["choice_runs"][n] = per_value[v][img].id
                    todo.append(per_value[v][img])
            rows.append(row)
    todo = list({r.id: r for r in todo}.values())
    recs = run_missing(todo, OUT, jobs=jobs, label="item 3: predictor choices", run=run)
    base = load_records(TABLE1, base_runs)
    run_seconds = sorted(r["wall_seconds"] for r in recs.values())
    for row in rows:
        row["median_run_seconds"] = run_seconds[len(run_seconds) // 2] if run_seconds else None
        row["tuned_metrics"] = metrics(base[row["base_run"]])
        row["choice_metrics"] = {}
        for n in TRAINED:
            rid = row["choice_runs"].get(n)
            if rid is None:
                row["choice_metrics"][n] = row["tuned_metrics"]
            elif rid in recs:
                row["choice_metrics"][n] = metrics(recs[rid])
    return rows


def item4(images: list[str], jobs: int, run: bool) -> dict:
    """Target-aware REI: the design chosen per image, and its runs beside table1's preset."""
    width = suite("table1").widths[0]
    cands = default_rei_candidates("triangle", width)
    chosen = {}
    for img in images:
        cells = {json.dumps(c, sort_keys=True): scored(REI, {"rei_options": c}, img, width, "adam")
                 for c in cands}
        chosen[img] = json.loads(choose(cells, REI_PREDICTOR))
    out = {"candidates": cands, "chosen": chosen, "pairs": {}}
    for opt in ("adam", "muon"):
        base = load_records(TABLE1, table1_runs(REI, opt, None, seeds=(0, 1, 2)))
        todo, pairs = [], []
        for img in images:
            design = chosen[img]
            runs = [r for r in table1_runs(REI, opt, {"rei_options": design}, seeds=(0, 1, 2))
                    if r.signal == img]
            ref = [r for r in table1_runs(REI, opt, None, seeds=(0, 1, 2)) if r.signal == img]
            if design == PRESET_DESIGN:   # the preset itself: table1's records are its runs
                runs = ref
            else:
                todo += runs
            pairs.append((img, [r.id for r in runs], [r.id for r in ref]))
        recs = run_missing(todo, OUT, jobs=jobs, label=f"item 4: target-aware REI ({opt})",
                           run=run)
        recs.update(base)
        out["pairs"][opt] = [
            {"image": img, "aware": [metrics(recs[i]) for i in a if i in recs],
             "preset": [metrics(recs[i]) for i in p if i in recs]} for img, a, p in pairs]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, render=True, no_run=True, jobs=2)
    ap.add_argument("--items", nargs="+", choices=("3", "4"), default=["4", "3"],
                    help="which items to run (item 4 first: its runs are fewer)")
    args = ap.parse_args(argv)
    if args.render:
        rerender("advise_test", render)
        return 0
    torch.set_num_threads(1)
    images = list(suite("table1").images)
    old = read_result("advise_test") if (RESULTS / "advise_test.json").is_file() else {}
    payload = {"images": images,
               "protocol": {"points": POINTS, "offgrid_points": OFFGRID_POINTS,
                            "steps": list(STEPS), "inits": INITS, "trained": list(TRAINED),
                            "rei_predictor": REI_PREDICTOR}}
    payload["item4"] = (item4(images, args.jobs, not args.no_run) if "4" in args.items
                        else old.get("item4"))
    payload["item3"] = (item3(images, args.jobs, not args.no_run) if "3" in args.items
                        else old.get("item3"))
    write_result("advise_test", payload, render)
    return 0


def _iv(d: list[float]) -> str:
    iv = mean_interval(d)
    return f"{iv['mean']:+.2f} [{iv['low']:+.2f}, {iv['high']:+.2f}] ({iv['wins']}/{iv['n']})"


def render(p: dict) -> str:
    out = ["# Predictors on table1's test images; target-aware REI (issue 27)", "",
           f"Generated by `{command(__file__)}` "
           f"({machine_line(p['machine'])}). Test images: {', '.join(p['images'])} "
           "(96 px, off-grid at 2x); table1's protocol (3 x 72, 1,000 steps, tuned lrs).", ""]
    if p.get("item4"):
        it = p["item4"]
        counts: dict[str, int] = {}
        for d in it["chosen"].values():
            k = f"gain {d['gain']:g}, {d['directions']} directions"
            counts[k] = counts.get(k, 0) + 1
        out += ["### Target-aware REI against the preset (item 4)", "",
                f"Design chosen per image at init by `{p['protocol']['rei_predictor']}` among "
                f"{len(it['candidates'])} candidates (gain x directions); chosen: "
                + "; ".join(f"{k} on {n}" for k, n in sorted(counts.items())) + ". "
                "Paired per image (3 seeds averaged), target-aware minus preset, mean "
                "[95% interval] (images where target-aware is ahead / images; where the "
                "preset's design is chosen the difference is 0, the same runs):", ""]
        cells = []
        for opt, pairs in it["pairs"].items():
            ok = [q for q in pairs if q["aware"] and q["preset"]]
            if not ok:
                continue
            fit = [statistics.fmean(a[0] for a in q["aware"]) -
                   statistics.fmean(b[0] for b in q["preset"]) for q in ok]
            off = [statistics.fmean(a[1] for a in q["aware"]) -
                   statistics.fmean(b[1] for b in q["preset"]) for q in ok]
            cells.append([opt, f"{len(ok)}", _iv(fit), _iv(off)])
        out += [markdown_table(["optimiser", "images", "fit PSNR (dB)", "off-grid PSNR (dB)"],
                               cells), ""]
    if p.get("item3"):
        rows = p["item3"]
        out += ["### Each predictor's choice on the test images (item 3)", "",
                "The grid search's choice is the value tuned on the calibration images; a "
                "predictor chooses per test image. dB lost = off-grid PSNR of the tuned value's "
                "run minus that of the predictor's choice (mean over images and grids; "
                "negative: the predictor gained). Spearman needs every value trained on every "
                "test image and is reported on the calibration images only "
                "(`advise_validation.md`). The last columns: the per-(grid, image) losses with "
                "a 95% t interval and how often the tuned value's run was ahead.", ""]
        table = []
        for n in PREDICTORS:
            same = sum(r["choices"][n] == r["tuned"] for r in rows)
            line = [n, f"{same} / {len(rows)}"]
            if n in p["protocol"]["trained"]:
                done = [r for r in rows if n in r["choice_metrics"]]
                grids_: dict[tuple, list[float]] = {}
                for r in done:
                    grids_.setdefault((r["method"], r["optimizer"]), []).append(
                        r["tuned_metrics"][1] - r["choice_metrics"][n][1])
                per = [statistics.fmean(v) for v in grids_.values()]
                allv = [x for v in grids_.values() for x in v]
                line += [f"{statistics.fmean(per):.2f}" if per else "-",
                         f"{max(per):.2f}" if per else "-",
                         _iv(allv) if len(allv) > 1 else "-", f"{len(done)} / {len(rows)}"]
            else:
                line += ["not trained"] * 3 + ["-"]
            table.append(line)
        unique = {k: v for r in rows for k, v in r["cell_seconds"].items()}
        ps = sum(unique.values())
        cells_n = sum(r["n_values"] for r in rows)
        med = rows[0]["median_run_seconds"]
        out += [markdown_table(["predictor", "choice = tuned value", "dB lost (mean over grids)",
                                "dB lost (worst grid)",
                                "per (grid, image) [95%] (tuned value ahead)", "measured"],
                               table), "",
                f"Compute: the predictors took {ps:.0f} s for all {len(rows)} (grid, image) "
                f"pairs ({len(unique)} networks at init: an Adam and a Muon grid build the same "
                "network for a knob value, scored once; this CPU, one thread, every predictor "
                f"together). A grid search on the test images would train those "
                f"{cells_n} (grid, value, image) runs: at the median run here ({med:.0f} s, table1's 1,000 "
                f"steps, this CPU, 2 runs at a time) about {cells_n * med:.0f} run-seconds, "
                f"{cells_n * med / ps:.0f} x the predictors.", "",
                "Per grid, on the test images: off-grid PSNR (dB) lost by each trained "
                "predictor (mean over images) and its choices.", ""]
        per = []
        for key in sorted({(r["method"], r["optimizer"]) for r in rows}):
            rs = [r for r in rows if (r["method"], r["optimizer"]) == key]
            cells = [f"{key[0]} ({key[1]})", rs[0]["knob"], f"{rs[0]['tuned']:g}"]
            for n in p["protocol"]["trained"]:
                d = [r["tuned_metrics"][1] - r["choice_metrics"][n][1] for r in rs
                     if n in r["choice_metrics"]]
                picks = statistics.multimode([r["choices"][n] for r in rs])
                cells += [f"{statistics.fmean(d):+.2f}" if d else "-",
                          ", ".join(f"{v:g}" for v in picks)]
            per.append(cells)
        head = ["grid", "knob", "tuned"]
        for n in p["protocol"]["trained"]:
            head += [f"{n}: dB lost", f"{n}: most chosen"]
        out += [markdown_table(head, per), ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
