"""Feature grids in table1 and the compression sweep (issue 37, item 2): where does
interpolation cost a grid against an MLP between the pixels?

    python -m benchmarks.fidelity.grids              # tuning, then the test runs; resumable
    python -m benchmarks.fidelity.grids --render     # only rewrite the .md from the .json

``grid`` (a dense bilinear grid, 4 features per node) and ``hashgrid`` (the multiresolution
hash grid, 2 features per entry, levels from 16 to 256 nodes per axis) with the same small
head, 2 hidden ReLU layers of 32, each sized to a parameter budget by
:func:`inrank.nn.grid_budget.grid_options_for` (the table as large as fits): table1's (the
plain 3 x 72 MLP's parameters plus table1's 15% tolerance, 12,589; 3.3 values per parameter at
96 px) on table1's test images kodim01-08, and the compression sweep's largest ratio (3 x 48:
5,744; 7.3 values per parameter) on its test images kodim01-04. 1000 full-batch steps at 96 px
short side, seed 0, Adam and Muon (Muon on the head's one hidden 32 x 32 matrix), fit and
off-grid (2x) PSNR.

Learning rates are chosen per method, optimiser and budget on the calibration images (coffee,
chelsea; 500 steps; mean fit PSNR), never on a reported image: Adam's lr over
3.16e-4 ... 3.16e-2 (the tables train at 10x, the presets' ``encoding_lr_scale``), then with
Muon its lr over the same grid at Adam's chosen lr; a choice on an edge of the grid is flagged.

The MLPs' numbers are read from the committed tables, not rerun: table1's records (3 seeds for
the core methods, averaged per image first; most ran on a GPU) and the compression sweep's
at width 48 (seed 0). Paired differences over the images with 95% t intervals.

Writes benchmarks/results/grids.json and .md; run records under benchmarks/results/grids/runs/.
``--save-tuned`` also writes the lrs chosen at table1's budget into the registry's tuned values
(``src/inrank/nn/tuned.json``: the presets' lrs, with the scores they were chosen by).
"""
from __future__ import annotations

import functools
import json
import statistics
import sys
import time

import inrank
from inrank.bench.run import Run, overrides_tuple
from inrank.bench.runner import run_missing
from inrank.files import write_json
from inrank.nn.grid_budget import grid_options_for
from inrank.nn.tuned_file import check_tuned_values
from inrank.nn.tuned_state import TUNED_PATH
from inrank.report.machine import machine_line
from inrank.report.tables import markdown_table

from benchmarks.frame import (RESULTS, command, interval_text, paired_gap, parser, rerender,
                              write_result)

OUT = RESULTS / "grids"
TABLE1 = RESULTS / "bench" / "table1" / "results.json"
COMPRESSION = RESULTS / "compression.json"
METHODS = ("grid", "hashgrid")
OTHERS = ("siren", "pe", "relu+rei", "relu")
OPTIMIZERS = ("adam", "muon")
CALIBRATION = ("coffee", "chelsea")
#: name -> (the MLP width whose parameter count (x 1.15) is the budget, test images, source)
BUDGETS = {"table1": (72, tuple(f"kodim0{i}" for i in range(1, 9)), "table1"),
           "largest ratio": (48, tuple(f"kodim0{i}" for i in range(1, 5)), "compression")}
TOLERANCE = 0.15
LRS = (3.16e-4, 1e-3, 3.16e-3, 1e-2, 3.16e-2)
SIZE, STEPS, TUNE_STEPS, EVALS = 96, 1000, 500, 20
HEAD = {"width": 32, "depth": 2}
VALUES = 96 * 144 * 3  # a Kodak image at 96 px short side (portrait ones too), RGB


@functools.cache
def budget_of(name: str) -> int:
    """Parameters allowed at budget ``name``: the plain ReLU MLP's at its width, + 15%."""
    model = inrank.build("relu", 2, 3, width=BUDGETS[name][0], depth=3)
    return int((1 + TOLERANCE) * sum(p.numel() for p in model.parameters()))


def run_of(method: str, budget: str, image: str, optimizer: str, lr: float,
           muon_lr: float | None = None, steps: int = STEPS):
    """One fit of ``method`` sized to ``budget``."""
    opts = grid_options_for(method, budget_of(budget), **HEAD)
    width, depth = opts.pop("width"), opts.pop("depth")
    return Run(method=method, preset=method, overrides=overrides_tuple(opts), signal=image,
               size=SIZE, seed=0, width=width, depth=depth, steps=steps, lr=lr, evals=EVALS,
               offgrid=True, optimizer=optimizer, muon_lr=muon_lr)


def _fit(rec: dict | None, key: str = "final_psnr") -> float | None:
    return rec["metrics"].get(key) if rec and rec["status"] == "ok" else None


def _choose(recs: dict, runs_by_lr: dict) -> dict:
    scores = {}
    for lr, runs in runs_by_lr.items():
        mine = [recs.get(r.id) for r in runs]
        if all(mine):
            scores[lr] = statistics.fmean(_fit(r) or 0.0 for r in mine)  # diverged: 0
    if len(scores) < len(runs_by_lr):
        return {}
    best = max(scores, key=scores.get)
    return {"lr": best, "scores": {f"{k:g}": v for k, v in scores.items()},
            "edge": best in (LRS[0], LRS[-1])}


def select(jobs: int, run: bool) -> dict:
    """The lrs per (method, budget): Adam's, then Muon's at Adam's chosen lr."""
    chosen: dict = {}
    for budget in BUDGETS:
        runs = {(m, lr): [run_of(m, budget, img, "adam", lr, steps=TUNE_STEPS)
                          for img in CALIBRATION] for m in METHODS for lr in LRS}
        recs = run_missing([r for rs in runs.values() for r in rs], OUT, jobs=jobs,
                           label=f"tune adam, {budget}", run=run)
        for m in METHODS:
            c = _choose(recs, {lr: runs[(m, lr)] for lr in LRS})
            if c:
                chosen[f"adam|{m}|{budget}"] = c
        runs = {(m, lr): [run_of(m, budget, img, "muon", chosen[f"adam|{m}|{budget}"]["lr"], lr,
                                 steps=TUNE_STEPS) for img in CALIBRATION]
                for m in METHODS if f"adam|{m}|{budget}" in chosen for lr in LRS}
        recs = run_missing([r for rs in runs.values() for r in rs], OUT, jobs=jobs,
                           label=f"tune muon, {budget}", run=run)
        for m in METHODS:
            if f"adam|{m}|{budget}" in chosen:
                c = _choose(recs, {lr: runs[(m, lr)] for lr in LRS})
                if c:
                    chosen[f"muon|{m}|{budget}"] = {**c, "lr": chosen[f"adam|{m}|{budget}"]["lr"],
                                                    "muon_lr": c["lr"]}
    return chosen


def test_runs(chosen: dict) -> dict[str, list]:
    """The test fits of each budget, at the lrs ``chosen`` for it."""
    runs: dict[str, list] = {}
    for budget, (_, images, _) in BUDGETS.items():
        for opt in OPTIMIZERS:
            for m in METHODS:
                c = chosen.get(f"{opt}|{m}|{budget}")
                if c is not None:
                    runs.setdefault(budget, []).extend(
                        run_of(m, budget, img, opt, c["lr"], c.get("muon_lr")) for img in images)
    return runs


def mlp_rows() -> list[dict]:
    """The MLPs' per-image PSNR at each budget, from the committed tables (seeds averaged)."""
    rows = []
    t1 = json.loads(TABLE1.read_text())
    images = BUDGETS["table1"][1]
    for opt in OPTIMIZERS:
        for m in OTHERS:
            for img in images:
                mine = [r for r in t1 if r["method"] == f"{m} ({opt})" and r["signal"] == img
                        and r["status"] == "ok"]
                if mine:
                    rows.append({"budget": "table1", "optimizer": opt, "method": m, "image": img,
                                 "fit": statistics.fmean(r["final_psnr"] for r in mine),
                                 "offgrid": statistics.fmean(r["offgrid_psnr"] for r in mine),
                                 "params": mine[0]["params"], "seeds": len(mine),
                                 "device": mine[0]["device"]})
    comp = json.loads(COMPRESSION.read_text())
    width, images, _ = BUDGETS["largest ratio"]
    for r in comp["rows"]:
        if r["width"] == width and r["method"] in OTHERS and r["image"] in images \
                and r["status"] == "ok":
            rows.append({"budget": "largest ratio", "optimizer": r["optimizer"],
                         "method": r["method"], "image": r["image"], "fit": r["fit"],
                         "offgrid": r["offgrid"], "params": r["params"], "seeds": 1,
                         "device": r["device"]})
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, jobs=2, render=True, no_run=True)
    ap.add_argument("--save-tuned", action="store_true",
                    help="write the lrs chosen at table1's budget into the registry's tuned values")
    args = ap.parse_args(argv)
    if args.render:
        rerender("grids", render)
        return 0
    t0 = time.perf_counter()
    chosen = select(args.jobs, not args.no_run)
    by_budget = test_runs(chosen)
    runs = [r for rs in by_budget.values() for r in rs]
    recs = run_missing(runs, OUT, jobs=args.jobs, label="test", run=not args.no_run)
    rows = [{"budget": budget, "optimizer": r.optimizer, "method": r.method,
             "image": r.signal, "fit": _fit(recs[r.id]), "offgrid": _fit(recs[r.id], "offgrid_psnr"),
             "params": recs[r.id]["metrics"].get("params"), "seeds": 1,
             "device": recs[r.id]["metrics"].get("device"), "lr": r.lr, "muon_lr": r.muon_lr,
             "config": dict(r.overrides), "status": recs[r.id]["status"]}
            for budget, rs in by_budget.items() for r in rs if r.id in recs]
    write_result("grids", {
        "rows": rows + mlp_rows(), "selection": chosen,
        "planned": len(METHODS) * len(OPTIMIZERS) * sum(len(b[1]) for b in BUDGETS.values()),
        "seconds": None if args.no_run else time.perf_counter() - t0,
        "budgets": {b: {"params": budget_of(b), "mlp_width": w, "images": list(imgs),
                        "source": src} for b, (w, imgs, src) in BUDGETS.items()},
        "values": VALUES,
        "size": SIZE, "steps": STEPS, "tune_steps": TUNE_STEPS, "lrs": list(LRS),
        "calibration": list(CALIBRATION), "head": HEAD}, render)
    if args.save_tuned:
        save_tuned(chosen)
    return 0


def save_tuned(chosen: dict) -> None:
    """Put each grid method's lrs chosen at table1's budget (Adam's, and Muon's at it) into
    the registry's tuned values, with the scores they were chosen by."""
    payload = json.loads(TUNED_PATH.read_text()) if TUNED_PATH.is_file() else {}
    methods = payload.setdefault("methods", {})
    for m in METHODS:
        adam, muon = chosen.get(f"adam|{m}|table1"), chosen.get(f"muon|{m}|table1")
        if adam is None or muon is None:
            raise SystemExit(f"grids: no lr chosen for {m} at table1's budget yet; run first")
        common = {"criterion": {"lr": "mean final fit PSNR"}, "calibration": list(CALIBRATION),
                  "steps": TUNE_STEPS, "suite": f"grids at table1's budget ({HEAD['depth']} x "
                  f"{HEAD['width']} head; benchmarks/fidelity/grids.py)"}
        methods[m] = {"lr": adam["lr"], "config": {}, "grid": {"lr": adam["scores"]},
                      "edge": {"lr": adam["edge"]}, **common,
                      "muon": {"muon_lr": muon["muon_lr"], "lr": adam["lr"], "config": {},
                               "grid": {"muon_lr": muon["scores"]},
                               "edge": {"muon_lr": muon["edge"]}, **common}}
    write_json(TUNED_PATH, check_tuned_values(payload, TUNED_PATH))
    print(f"grids: tuned lrs of {', '.join(METHODS)} written to {TUNED_PATH}", file=sys.stderr)


def render(p: dict) -> str:
    rows = p["rows"]
    mine = [r for r in rows if r["method"] in METHODS]
    out = ["### Feature grids at table1's budget and the compression sweep's largest ratio "
           "(issue 37)", "",
           f"Generated by `{command(__file__)}` ("
           + ("rendered from the records finished so far" if p["seconds"] is None else
              f"{p['seconds'] / 60:.0f} min") + f", {len(mine)} of {p['planned']} grid runs). "
           + machine_line(p["machine"]), "",
           f"`grid` and `hashgrid` with a {p['head']['depth']} x {p['head']['width']} ReLU head, "
           "each table as large as the budget allows (`inrank.nn.grid_budget`); Kodak at "
           f"{p['size']} px short side, {p['steps']} full-batch steps, seed 0; lrs chosen per "
           f"method, optimiser and budget on {', '.join(p['calibration'])} ({p['tune_steps']} "
           "steps). The MLP rows are the committed tables' (table1: seeds averaged per image, "
           "most on a GPU; the compression sweep: seed 0); the grids ran here on the CPU. "
           "Fit and off-grid (2x) PSNR in dB; gaps paired over the images, 95% t interval "
           "(images where the first is ahead / n).", ""]
    for budget, b in p["budgets"].items():
        out += [f"**{budget}**: at most {b['params']:,} parameters (3 x {b['mlp_width']} ReLU "
                f"+ 15%), {', '.join(b['images'])} ({b['source']}'s test images).", ""]
        table = []
        for opt in OPTIMIZERS:
            for m in (*METHODS, *OTHERS):
                rs = [r for r in rows if (r["budget"], r["optimizer"], r["method"]) ==
                      (budget, opt, m) and r["fit"] is not None]
                if not rs:
                    continue
                sel = p["selection"].get(f"{opt}|{m}|{budget}")
                lr = "-" if sel is None else (
                    f"{sel['lr']:g}" + (f" / {sel['muon_lr']:g}" if "muon_lr" in sel else "")
                    + (" (edge)" if sel["edge"] else ""))
                table.append([opt, m, f"{rs[0]['params']:,}",
                              f"{p['values'] / rs[0]['params']:.1f}", lr,
                              f"{statistics.fmean(r['fit'] for r in rs):.2f}",
                              f"{statistics.fmean(r['offgrid'] for r in rs):.2f}", str(len(rs))])
        out += [markdown_table(["optimizer", "method", "params", "values / param",
                                "lr (grids: Adam / Muon)", "fit", "off-grid", "n"], table), ""]
        gaps = []
        for opt in OPTIMIZERS:
            for a in METHODS:
                for other in ("siren", "pe", "relu+rei"):
                    gaps.append([opt, f"{a} - {other}",
                                 *(interval_text(paired_gap(rows, a, other, key, budget=budget,
                                                            optimizer=opt), wins=True)
                                   for key in ("fit", "offgrid"))])
        out += [markdown_table(["optimizer", "pair", "fit", "off-grid"], gaps), ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
