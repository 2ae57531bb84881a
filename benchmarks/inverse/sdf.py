"""Which network recovers a 3-D shape best as a signed distance field? (issue 26, SDF)

    python -m benchmarks.inverse.sdf             # calibration, then test; resumable, 2 processes
    python -m benchmarks.inverse.sdf --no-run    # render what is finished
    python -m benchmarks.inverse.sdf --render    # only rewrite the .md/.png from the .json

Protocol (``inrank bench sdf``'s task, :data:`inrank.bench.tasks.TASK_SUITES`): 20,000 surface
samples with normals of the normalised mesh, as many off-surface points uniform in the cube,
SIREN's loss (surface, normal, eikonal, off-surface: :mod:`inrank.train.sdf`), 3 x 128, Adam
and Muon (``NAME (muon)``), 500 steps of 2,048 surface + 2,048 off-surface points; scored by the symmetric Chamfer distance
between 30,000 points of the zero level set's marching-cubes mesh (96^3 grid) and of the mesh
(units of the cube [-1, 1]^3: lower is better) and the IoU of ``f < 0`` against the mesh's
inside on a 48^3 grid.

Every method runs with its paper-default knob (pinned, so the records do not follow the
image-tuned values); its lr is chosen on a calibration shape in no reported table (a torus
made by trimesh, seed 0) from a half-decade grid 3.16e-5 .. 1e-2, by the lowest Chamfer
distance (an edge choice is flagged); with Muon, the Adam-updated parameters keep that lr and
Muon's lr is chosen the same way from 1e-4 .. 1e-1. Reported: the Stanford bunny and
armadillo (the shared meshes), 3 seeds for relu, relu+rei, relu+rei-kink, pe, siren, 1 for
wire and finer.

Writes ``benchmarks/results/sdf.{json,md,png}`` (the figure: the mesh and every method's zero
level set on the bunny, seed 0); run records and renders under ``benchmarks/results/sdf/``.
"""
from __future__ import annotations

import math
import statistics
import sys
import time
from pathlib import Path

from inrank.bench.run import Run, overrides_tuple
from inrank.bench.runner import run_missing
from inrank.bench.tasks import TASK_SUITES
from inrank.nn.registry import knob_overrides, knob_value, preset
from inrank.report.comparison import mean_interval
from inrank.report.machine import machine_line
from inrank.report.tables import markdown_table

from benchmarks.frame import RESULTS, command, parser, rerender, write_result

OUT = RESULTS / "sdf"

CALIBRATION = ("torus",)
TEST = ("bunny", "armadillo")
CORE = ("relu", "relu+rei", "relu+rei-kink", "pe", "siren")
METHODS = CORE + ("wire", "finer")
SEEDS = (0, 1, 2)
LR_GRID = (3.16e-5, 1e-4, 3.16e-4, 1e-3, 3.16e-3, 1e-2)
MUON_GRID = (1e-4, 3.16e-4, 1e-3, 3.16e-3, 1e-2, 3.16e-2, 1e-1)
PROTO = TASK_SUITES["sdf"]
WIDTH, DEPTH, STEPS, EVALS = PROTO["width"], PROTO["depth"], PROTO["steps"], 10
FIGURE_SHAPE = "bunny"
PAIRS = tuple((f"relu+rei{sfx}", f"{b}{sfx}") for sfx in ("", " (muon)")
              for b in ("relu", "relu+rei-kink", "pe", "siren")) + tuple(
    (f"{m} (muon)", m) for m in METHODS)


def label_of(method: str, optimizer: str) -> str:
    return method if optimizer == "adam" else f"{method} ({optimizer})"


def method_of(label: str) -> str:
    return label.split(" (")[0]


def paper_knob(method: str) -> tuple:
    """The method's paper-default knob as explicit overrides (no tuned-values file)."""
    p = preset(method, tuned=False)
    return overrides_tuple({} if p.knob is None else knob_overrides(p.knob, knob_value(p)))


def run_of(method: str, shape: str, lr: float, seed: int = 0,
           muon_lr: float | None = None) -> Run:
    """``method`` on ``shape``: Adam at ``lr``, or Muon at ``muon_lr`` (the rest at ``lr``)."""
    muon = {} if muon_lr is None else {"optimizer": "muon", "muon_lr": muon_lr}
    return Run(method=label_of(method, "muon" if muon else "adam"), preset=method,
               overrides=paper_knob(method), signal=shape, size=None, seed=seed, width=WIDTH,
               depth=DEPTH, steps=STEPS, lr=lr, evals=EVALS, task="sdf",
               keep_recon=shape == FIGURE_SHAPE and seed == 0, **muon)


def _chamfer(rec: dict | None) -> float | None:
    return rec["metrics"].get("chamfer") if rec and rec["status"] == "ok" else None


def _row(run: Run, rec: dict) -> dict:
    """A test run's row; a run without a zero level set (Chamfer inf: JSON has no inf) has
    ``chamfer`` None and ``no_surface`` True."""
    c = _chamfer(rec)
    return {"method": run.method, "shape": run.signal, "seed": run.seed, "lr": run.lr,
            "chamfer": None if c is None or not math.isfinite(c) else c,
            "no_surface": c == math.inf, "iou": rec["metrics"].get("grid_iou"),
            "status": rec["status"], "wall_seconds": rec["wall_seconds"],
            "recon": f"sdf/recon/{run.id}.png" if run.keep_recon else None}


def select(jobs: int, run: bool, optimizers: tuple[str, ...] = ("adam", "muon")) -> dict:
    """Per method (and optimiser label): the lr (Muon: its lr, the rest at Adam's choice) with
    the lowest mean Chamfer distance on the calibration shapes."""
    runs = [run_of(m, s, lr) for m in METHODS for lr in LR_GRID for s in CALIBRATION]
    recs = run_missing(runs, OUT, jobs=jobs, label="sdf calibration", run=run)
    chosen = {}
    for m in METHODS:
        best = _best(recs, lambda lr, s: run_of(m, s, lr), LR_GRID)
        if best:
            chosen[m] = {"lr": best[0], "chamfer": best[1], "edge": best[2], "grid": "lr"}
    if "muon" in optimizers:
        runs = [run_of(m, s, chosen[m]["lr"], muon_lr=x) for m in METHODS if m in chosen
                for x in MUON_GRID for s in CALIBRATION]
        recs = run_missing(runs, OUT, jobs=jobs, label="sdf calibration (muon)", run=run)
        for m in [m for m in METHODS if m in chosen]:
            lr = chosen[m]["lr"]
            best = _best(recs, lambda x, s: run_of(m, s, lr, muon_lr=x), MUON_GRID)
            if best:
                chosen[label_of(m, "muon")] = {"lr": lr, "muon_lr": best[0], "chamfer": best[1],
                                               "edge": best[2], "grid": "muon_lr"}
    return chosen


def _best(recs: dict, make, grid: tuple[float, ...]) -> tuple | None:
    """``(value, {value: mean Chamfer}, on the edge)`` over ``grid``, None while unfinished."""
    scores = {}
    for x in grid:
        mine = [_chamfer(recs.get(make(x, s).id)) for s in CALIBRATION]
        if all(v is not None for v in mine):
            scores[x] = statistics.fmean(mine)
        elif all(recs.get(make(x, s).id) for s in CALIBRATION):
            scores[x] = float("inf")                     # diverged
    if len(scores) < len(grid):
        return None
    best = min(scores, key=scores.get)
    return (best, {f"{k:g}": (v if math.isfinite(v) else None) for k, v in scores.items()},
            best in (grid[0], grid[-1]))


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, jobs=2, no_run=True, render=True, optimizers=["adam", "muon"])
    args = ap.parse_args(argv)
    if args.render:
        payload = rerender("sdf", render)
    else:
        t0 = time.perf_counter()
        chosen = select(args.jobs, not args.no_run, tuple(args.optimizers))
        runs = [run_of(method_of(k), s, c["lr"], seed, muon_lr=c.get("muon_lr"))
                for k, c in chosen.items() for s in TEST
                for seed in (SEEDS if method_of(k) in CORE else SEEDS[:1])]
        recs = run_missing(runs, OUT, jobs=args.jobs, label="sdf test", run=not args.no_run)
        rows = [_row(r, recs[r.id]) for r in runs if r.id in recs]
        payload = {"protocol": {"calibration": CALIBRATION, "test": TEST, "seeds": SEEDS,
                                "lr_grid": LR_GRID, "muon_grid": MUON_GRID,
                                "optimizers": list(args.optimizers),
                                "width": WIDTH, "depth": DEPTH,
                                "steps": STEPS, **{k: PROTO[k] for k in
                                                   ("n_points", "batch_size", "resolution")}},
                   "chosen": chosen, "rows": rows, "planned": len(runs),
                   "wall_seconds_this_call": time.perf_counter() - t0}
        write_result("sdf", payload, render)
    figure(payload, RESULTS / "sdf.png")
    return 0


def gap(rows: list[dict], a: str, b: str, key: str) -> dict | None:
    """``a - b`` paired over (shape, seed) (mean, 95% t interval, n)."""
    by = {(r["method"], r["shape"], r["seed"]): r[key] for r in rows if r[key] is not None}
    diffs = [by[(a, s, k)] - by[(b, s, k)] for (m, s, k) in by if m == a and (b, s, k) in by]
    bad = sum(not math.isfinite(d) for d in diffs)
    if bad:  # a run without a zero level set (Chamfer inf): no interval to give
        return {"n": len(diffs), "no_surface": bad}
    return mean_interval(diffs) if diffs else None


def _fmt(d: dict | None, scale: float = 1.0, digits: int = 2) -> str:
    if d is None:
        return "-"
    if "no_surface" in d:
        return f"n/a ({d['no_surface']} of {d['n']} pairs without a surface)"
    m = d["mean"] * scale
    if d["n"] < 2:
        return f"{m:+.{digits}f} (n=1)"
    return f"{m:+.{digits}f} [{d['low'] * scale:+.{digits}f}, {d['high'] * scale:+.{digits}f}] (n={d['n']})"


def render(p: dict) -> str:
    rows, proto = p["rows"], p["protocol"]
    ok = [{**r, "chamfer": math.inf} if r.get("no_surface") else r
          for r in rows if r["status"] == "ok"]
    out = ["# Signed distance fields: bunny and armadillo (issue 26)", "",
           f"Generated by `{command(__file__)}` ({len(rows)} of {p['planned']} "
           f"test runs finished; {machine_line(p['machine'])}). SIREN's loss from "
           f"{proto['n_points']:,} surface samples with normals, {proto['depth']} x "
           f"{proto['width']}, Adam and Muon (`(muon)`), {proto['steps']} steps of {proto['batch_size']:,} surface "
           f"+ {proto['batch_size']:,} off-surface points. Chamfer distance (x 1e3, units of the "
           "cube [-1, 1]^3, lower is better) between the zero level set and the mesh, and IoU "
           f"of f < 0 on a {proto['resolution']}^3 grid. lr chosen per method on a generated "
           f"torus (calibration only) by Chamfer from {', '.join(f'{x:g}' for x in proto['lr_grid'])}; "
           "with Muon, Muon's lr from "
           f"{', '.join(f'{x:g}' for x in proto.get('muon_grid', ()))}, the rest at the "
           "Adam choice; each method at its paper-default knob. Reported shapes: "
           f"{', '.join(proto['test'])}; seeds {', '.join(map(str, proto['seeds']))} for the "
           "core methods, 0 for wire and finer.", ""]
    head = ["method", "lr (torus)", *[f"{s} Chamfer x1e3" for s in proto["test"]],
            *[f"{s} IoU" for s in proto["test"]], "runs"]
    table = []
    for m, c in p["chosen"].items():
        cells = [m, "none: no surface at any lr" if all(
            v is None for v in c["chamfer"].values()) else
                 (f"{c['lr']:g}" if "muon_lr" not in c else
                     f"muon {c['muon_lr']:g}, adam {c['lr']:g}") + (" (edge)" if c["edge"] else "")]
        for key, scale, fmt in (("chamfer", 1e3, "{:.2f}"), ("iou", 1.0, "{:.3f}")):
            for s in proto["test"]:
                v = [r[key] for r in ok if r["method"] == m and r["shape"] == s and r[key] is not None]
                fin = [x for x in v if math.isfinite(x)]
                cell = "-" if not fin else (fmt.format(statistics.fmean(fin) * scale) + (
                    f" +- {fmt.format(statistics.stdev(fin) * scale)}" if len(fin) > 1 else ""))
                if len(fin) < len(v):
                    cell = ("no surface" if not fin else
                            f"{cell} ({len(v) - len(fin)} of {len(v)} without a surface)")
                cells.append(cell)
        cells.append(str(sum(r["method"] == m for r in rows)))
        table.append(cells)
    out += [markdown_table(head, table), ""]
    out += ["Paired differences over (shape, seed), mean [95% t interval]: Chamfer x 1e3 "
            "(negative: the first closer to the surface) and IoU (positive: the first better); "
            "relu+rei against the others with the same optimiser, its better optimiser against "
            "the best other network, and Muon against Adam per method.", ""]
    pairs = [[f"{a} - {b}", _fmt(gap(ok, a, b, "chamfer"), 1e3), _fmt(gap(ok, a, b, "iou"), 1.0, 3)]
             for a, b in PAIRS]
    means = {m: statistics.fmean([r["chamfer"] for r in ok if r["method"] == m and r["chamfer"] is not None] or [float("inf")])
             for m in p["chosen"]}
    rei = [m for m in means if method_of(m) == "relu+rei"]
    others = [m for m in means if method_of(m) != "relu+rei"]
    if rei and others:
        a, best = min(rei, key=means.get), min(others, key=means.get)
        pairs.append([f"{a} - best other ({best})", _fmt(gap(ok, a, best, "chamfer"), 1e3),
                      _fmt(gap(ok, a, best, "iou"), 1.0, 3)])
    out += [markdown_table(["pair", "Chamfer x1e3", "IoU"], pairs), ""]
    out += ["Calibration (torus, seed 0): Chamfer x 1e3 per lr (Adam) and per Muon lr (-: no "
            "zero level set, or diverged).", ""]
    for grid, values in (("lr", proto["lr_grid"]), ("muon_lr", proto.get("muon_grid", ()))):
        cal = [[m, *[("-" if v is None else f"{v * 1e3:.2f}") for v in c["chamfer"].values()]]
               for m, c in p["chosen"].items() if c.get("grid", "lr") == grid]
        if cal:
            out += [markdown_table([f"method ({grid})", *[f"{x:g}" for x in values]], cal), ""]
    out += [
            "![the bunny's zero level set per method](sdf.png)", ""]
    return "\n".join(out)


def figure(p: dict, path: Path) -> None:
    """The mesh and every method's zero level set on the figure shape (seed 0)."""
    import numpy as np
    from imageio.v3 import imread

    from inrank.bench.tasks import task_signal
    from inrank.bench.run import data_dir
    from inrank.files import save_figure
    from inrank.report.figures import new_figure
    from inrank.report.mesh import render_mesh

    shots = [(r["method"], RESULTS / r["recon"], r) for r in p["rows"]
             if r["recon"] and (RESULTS / r["recon"]).is_file()]
    if not shots:
        return
    truth = task_signal("sdf", FIGURE_SHAPE, data_dir(), n_points=10)
    mesh = ("mesh", render_mesh(truth.meta["vertices"], truth.meta["faces"]))
    rows: dict[str, list] = {}   # one row per optimiser, the mesh first
    for m, png, r in shots:
        label = f"{m}\nChamfer {r['chamfer'] * 1e3:.1f}e-3, IoU {r['iou']:.3f}" if r["chamfer"] else m
        rows.setdefault(m.split(" (")[1] if " (" in m else "adam", [mesh]).append(
            (label, np.asarray(imread(png), dtype=np.float64) / 255))
    cols = max(len(r) for r in rows.values())
    fig = new_figure((2.2 * cols, 2.6 * len(rows)))
    for i, panels in enumerate(rows.values()):
        for k, (label, img) in enumerate(panels):
            ax = fig.add_subplot(len(rows), cols, i * cols + k + 1)
            ax.imshow(img)
            ax.set_title(label, fontsize=8)
            ax.set_axis_off()
    save_figure(fig, path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
