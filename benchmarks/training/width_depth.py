"""Do the defaults hold at every width and depth? (issue 23, item 4)

    python -m benchmarks.training.width_depth            # both phases, resumable, 2 processes
    python -m benchmarks.training.width_depth --render   # only rewrite the .md from the .json

The registry's learning rates were tuned at width 128 and depth 3 (table1's protocol; the
3 x 128 tuned values, ``--tuned``). This
benchmark (1) chooses, on the calibration images only (coffee, chelsea), how each lr scales with
the width: ``lr(D) = lr(128) * (128 / D) ** a`` for ``a`` in 0, 0.5, 1, scored by the mean fit
PSNR of relu and relu+rei at width 256 (depth 3); Adam's exponent first, then Muon's
(Adam's part of a Muon fit at the chosen Adam exponent); and (2) runs relu and relu+rei with
both optimisers at the chosen rule on a width x depth grid (64 / 128 / 256 / 512 x 2 / 3 / 5)
on the calibration images and two test images (kodim03, kodim05), 32 px short side, 500
full-batch steps, seed 0, fit and off-grid PSNR at 2x. Depth and REI's gain are not scaled.
The costliest cells (width 512 at depths 3 and 5) are dropped to fit two CPU cores.

Writes ``benchmarks/results/width_depth.json`` and ``.md``; run records under
``benchmarks/results/width_depth/runs/``.
"""
from __future__ import annotations

import statistics
import sys
import time

from inrank.bench.run import Run, overrides_tuple
from inrank.bench.runner import run_missing
from inrank.nn.registry import LR_WIDTH_EXPONENT, preset, rei_gain_for
from inrank.nn.tuned_state import tuned_network, tuned_values
from inrank.report.comparison import mean_interval
from inrank.report.machine import machine_line
from inrank.report.tables import markdown_table

from benchmarks.frame import RESULTS, TUNED_W128, command, parser, rerender, write_result

OUT = RESULTS / "width_depth"

CALIBRATION = ("coffee", "chelsea")
TEST = ("kodim03", "kodim05")
METHODS = ("relu", "relu+rei")
OPTIMIZERS = ("adam", "muon")
WIDTHS = (64, 128, 256, 512)
DEPTHS = (2, 3, 5)
DROPPED = ((512, 3), (512, 5))  # the costliest cells, left out to fit the machine
EXPONENTS = (0.0, 0.5, 1.0)
SELECT_WIDTHS = (256,)  # the width where the tuned lr failed (issue 23); one width to fit the machine
GAINS = (1.0, 3.0, 10.0)  # REI's gain at depth 2, chosen on the calibration images
SIZE, STEPS = 32, 500


def run_of(method: str, image: str, width: int, depth: int, optimizer: str, a_lr: float,
           a_muon: float = 0.0, gain: float | None = None, size: int = SIZE) -> Run:
    """One fit: ``method``'s tuned lrs scaled to ``width`` with exponents ``a_lr`` (Adam's lr)
    and ``a_muon`` (Muon's); ``gain`` sets REI's gain explicitly (None: the registry's rule)."""
    p, base = preset(method), tuned_network()["width"]
    lrs = p.lr_for(optimizer)
    ratio = base / width
    muon = None if optimizer == "adam" else float(f"{lrs['muon_lr'] * ratio ** a_muon:.6g}")
    over = overrides_tuple({"rei_options": {"gain": gain}}) if gain is not None else ()
    return Run(method=method, preset=method, overrides=over, signal=image, size=size, seed=0,
               width=width, depth=depth, steps=STEPS, lr=float(f"{lrs['lr'] * ratio ** a_lr:.6g}"),
               evals=10, offgrid=True, optimizer=optimizer, muon_lr=muon)


def score(records: list[dict], key: str = "final_psnr") -> float:
    vals = [r["metrics"].get(key) if r["status"] == "ok" else None for r in records]
    return statistics.fmean(v if v is not None else 0.0 for v in vals)


def records_of(runs: list[Run], jobs: int, label: str, run: bool) -> dict[str, dict]:
    """The runs' records: the missing ones run now, or (``run=False``) only those found."""
    return run_missing(runs, OUT, jobs=jobs, label=label, run=run)


def select(optimizer: str, jobs: int, a_lr: float | None = None,
           run: bool = True) -> tuple[float, dict]:
    """The exponent with the best mean fit PSNR of relu and relu+rei on the calibration images
    at the selection widths (Adam's lr for ``adam``; Muon's, with Adam's at ``a_lr``)."""
    grid = {}
    for a in EXPONENTS:
        runs = [run_of(m, img, w, 3, optimizer, a if optimizer == "adam" else a_lr,
                       a if optimizer == "muon" else 0.0)
                for m in METHODS for img in CALIBRATION for w in SELECT_WIDTHS]
        recs = records_of(runs, jobs, f"select {optimizer} a={a:g}", run)
        if len(recs) < len(runs):
            continue  # an incomplete selection point is not scored
        grid[a] = {"fit": score([recs[r.id] for r in runs]),
                   "offgrid": score([recs[r.id] for r in runs], "offgrid_psnr")}
    if not grid:
        raise SystemExit(f"no complete selection point for {optimizer}: run without --no-run")
    best = max(grid, key=lambda a: grid[a]["fit"])
    return best, {f"{a:g}": v for a, v in grid.items()}


def select_gain(optimizer: str, exps: dict, jobs: int, run: bool = True) -> tuple[float, dict]:
    """REI's gain at depth 2 (where layer 2 feeds the output layer): the gain of
    :data:`GAINS` with the best mean fit PSNR of relu+rei on the calibration images over
    :data:`WIDTHS`, with ``optimizer``'s lrs at the chosen width rule ``exps``."""
    grid = {}
    for g in GAINS:
        runs = [run_of("relu+rei", img, w, 2, optimizer, exps["lr"], exps.get("muon_lr", 0.0),
                       gain=g) for w in WIDTHS for img in CALIBRATION]
        recs = records_of(runs, jobs, f"gain {optimizer} g={g:g}", run)
        if len(recs) < len(runs):
            continue
        grid[g] = {"fit": score([recs[r.id] for r in runs]),
                   "offgrid": score([recs[r.id] for r in runs], "offgrid_psnr"),
                   "by_width": {str(w): score([recs[r.id] for r in runs if r.width == w])
                                for w in WIDTHS}}
    if not grid:
        raise SystemExit(f"no complete gain point for {optimizer}: run without --no-run")
    best = max(grid, key=lambda g: grid[g]["fit"])
    return best, {f"{g:g}": v for g, v in grid.items()}


#: Probes of why a cell fails, on the calibration images (label -> run settings beyond
#: method and image): width 256, depth 3, where relu+rei trails relu off-grid with Muon.
PROBES = {"gain {preset:g} (preset), 32 px": {}, "gain 10, 32 px": {"gain": 10.0},
          "gain 3, 32 px": {"gain": 3.0}, "gain 1, 32 px": {"gain": 1.0},
          "gain {preset:g} (preset), 64 px": {"size": 64}}


def probe(optimizer: str, exps: dict, jobs: int, run: bool = True) -> dict:
    """relu+rei's (and, at each size, relu's) mean fit / off-grid PSNR on the calibration images
    at width 256, depth 3 for each of :data:`PROBES`."""
    out = {}
    preset_gain = rei_gain_for(3, optimizer=optimizer)
    for label, kw in PROBES.items():
        if kw.get("gain") == preset_gain:
            continue  # the preset's own runs
        label = label.format(preset=preset_gain)
        methods = {"relu+rei": kw, "relu": {"size": kw.get("size", SIZE)}}
        runs = {m: [run_of(m, img, 256, 3, optimizer, exps["lr"], exps.get("muon_lr", 0.0), **k)
                    for img in CALIBRATION] for m, k in methods.items()}
        recs = records_of([r for rs in runs.values() for r in rs], jobs,
                          f"probe {optimizer} {label}", run)
        if all(r.id in recs for rs in runs.values() for r in rs):
            out[label] = {m: {"fit": score([recs[r.id] for r in rs]),
                              "offgrid": score([recs[r.id] for r in rs], "offgrid_psnr")}
                          for m, rs in runs.items()}
    return out


def cells() -> list[tuple[int, int]]:
    return [(w, d) for w in WIDTHS for d in DEPTHS if (w, d) not in DROPPED]


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, jobs=2, render=True, optimizers=list(OPTIMIZERS), no_run=True,
                tuned=TUNED_W128)
    ap.add_argument("--select-only", action="store_true",
                    help="run the selections (lr exponents, depth-2 gain), not the grid")
    args = ap.parse_args(argv)
    if args.render:
        rerender("width_depth", render)
        return 0
    with tuned_values(args.tuned):
        return _measure(args)


def _measure(args) -> int:
    t0 = time.perf_counter()
    rule, selection, grid, gains, gain_selection, probes = {}, {}, [], {}, {}, {}
    preset_gain: dict[str, float] = {}
    for opt in args.optimizers:
        if opt == "adam":
            rule["adam"], selection["adam"] = select("adam", args.jobs, run=not args.no_run)
        else:
            a_lr = rule.get("adam", LR_WIDTH_EXPONENT["muon"]["lr"])
            a_muon, selection["muon"] = select("muon", args.jobs, a_lr, run=not args.no_run)
            rule["muon"] = {"lr": a_lr, "muon_lr": a_muon}
        exps = rule[opt] if opt == "muon" else {"lr": rule[opt]}
        gains[opt], gain_selection[opt] = select_gain(opt, exps, args.jobs, run=not args.no_run)
        if args.select_only:
            continue
        preset_gain[opt] = rei_gain_for(3, optimizer=opt)
        rule_gain = rei_gain_for(2, optimizer=opt)
        if rule_gain != gains[opt]:
            print(f"warning: the registry's depth-2 REI gain is {rule_gain:g}, the selection "
                  f"chose {gains[opt]:g} for {opt}; the grid runs the registry's", file=sys.stderr)
        runs = [run_of(m, img, w, d, opt, exps["lr"], exps.get("muon_lr", 0.0))
                for (w, d) in cells() for m in METHODS for img in CALIBRATION + TEST]
        probes[opt] = probe(opt, exps, args.jobs, run=not args.no_run)
        recs = records_of(runs, args.jobs, f"grid {opt}", not args.no_run)
        for run in runs:
            if run.id not in recs:
                continue
            rec = recs[run.id]
            grid.append({"optimizer": opt, "method": run.method, "image": run.signal,
                         "width": run.width, "depth": run.depth, "lr": run.lr,
                         "muon_lr": run.muon_lr, "status": rec["status"],
                         "fit": rec["metrics"].get("final_psnr"),
                         "offgrid": rec["metrics"].get("offgrid_psnr"),
                         "params": rec["metrics"].get("params")})
    planned = {opt: len(cells()) * len(METHODS) * len(CALIBRATION + TEST) for opt in rule}
    payload = {"planned": planned, "rule": rule, "selection": selection, "grid": grid,
               "gain": gains, "gain_selection": gain_selection, "gains": list(GAINS),
               "probes": probes, "preset_gain": preset_gain,
               "seconds": None if args.no_run else time.perf_counter() - t0,
               "size": SIZE, "steps": STEPS,
               "calibration": list(CALIBRATION), "test": list(TEST), "dropped": list(DROPPED),
               "exponents": list(EXPONENTS), "select_widths": list(SELECT_WIDTHS)}
    write_result("width_depth", payload, render)
    return 0


def paired(grid: list[dict], opt: str, w: int, d: int, key: str) -> tuple[float, float, float, int]:
    """relu+rei - relu over the images of cell (w, d): mean and 95% t interval."""
    by = {(g["method"], g["image"]): g[key] for g in grid
          if g["optimizer"] == opt and g["width"] == w and g["depth"] == d}
    diffs = [by[("relu+rei", img)] - by[("relu", img)] for (m, img) in by if m == "relu"
             if by.get(("relu+rei", img)) is not None and by[("relu", img)] is not None]
    if not diffs:
        return float("nan"), float("nan"), float("nan"), 0
    d = mean_interval(diffs)
    return d["mean"], d["low"], d["high"], d["n"]


def render(p: dict) -> str:
    out = ["# Defaults across width and depth (issue 23, item 4)", "",
           f"Generated by `{command(__file__)}` ("
           + ("rendered from the records finished so far" if p["seconds"] is None else
              f"{p['seconds'] / 60:.0f} min") + "). " + machine_line(p["machine"]), "",
           f"relu and relu+rei, {p['size']} px short side, {p['steps']} full-batch steps, seed 0, "
           "each method's lrs tuned at width 128 (table1's calibration images, 96 px) and scaled "
           "to width D by lr(D) = lr(128) (128 / D)^a; REI's gain at depth >= 3: the one tuned "
           "with each optimiser on table1's calibration images ("
           + ", ".join(f"{o} {g:g}" for o, g in p.get("preset_gain", {}).items())
           + "), at depth 2 the registry's depth rule (`REI_GAIN_AT_DEPTH`, chosen below). "
           f"Images: calibration {', '.join(p['calibration'])} and test "
           f"{', '.join(p['test'])}. Cells left out (cost): "
           + ", ".join(f"{w} x depth {d}" for w, d in p["dropped"]) + ".", "",
           "## The rule, chosen on the calibration images", "",
           f"Mean fit / off-grid PSNR (dB) of relu and relu+rei at widths "
           f"{', '.join(map(str, p['select_widths']))} (depth 3) for each exponent a:", ""]
    rows = []
    for opt, sel in p["selection"].items():
        for a, v in sel.items():
            rows.append([opt, a, f"{v['fit']:.2f}", f"{v['offgrid']:.2f}"])
    out.append(markdown_table(["optimizer (lr scaled)", "a", "fit", "off-grid"], rows))
    if p.get("gain_selection"):
        widths = list(next(iter(next(iter(p["gain_selection"].values())).values()))["by_width"])
        out += ["", "### REI's gain at depth 2", "",
                "At depth 2 layer 2 (REI's encoding layer) feeds the output layer directly. Mean "
                "fit PSNR of relu+rei on the calibration images per gain (all widths; per width "
                "in the last columns) and mean off-grid PSNR, at the chosen lr rule:", ""]
        rows = [[opt, g, f"{v['fit']:.2f}", f"{v['offgrid']:.2f}"]
                + [f"{v['by_width'][w]:.2f}" for w in widths]
                for opt, sel in p["gain_selection"].items() for g, v in sel.items()]
        out.append(markdown_table(["optimizer", "gain", "fit", "off-grid"]
                                  + [f"fit @ {w}" for w in widths], rows))
        out += ["", "Chosen gain (best mean fit): " + "; ".join(
            f"{opt} {g:g}" for opt, g in p["gain"].items()) + "."]
    done = {o: sum(1 for g in p["grid"] if g["optimizer"] == o) for o in p.get("planned", {})}
    partial = [f"{o}: {done[o]} of {n} fits" for o, n in p.get("planned", {}).items()
               if done[o] < n]
    out += ["", f"Chosen: Adam's lr a = {p['rule'].get('adam', '-')}; Muon's: "
            f"{p['rule'].get('muon', '-')}.", ""]
    if partial:
        out += ["**Partial grid** (the run continues: the command resumes from its records): "
                + "; ".join(partial) + ". A cell lists the images it has (n).", ""]
    out += ["## relu+rei - relu per cell", "",
            "Paired over the four images (mean [95% t interval]), fit / off-grid PSNR in dB; "
            "a cell where relu+rei trails relu (mean below 0) is marked **below**.", ""]
    for opt in dict.fromkeys(g["optimizer"] for g in p["grid"]):
        body = []
        for w in WIDTHS:
            row = [str(w)]
            for d in DEPTHS:
                if [w, d] in p["dropped"] or (w, d) in p["dropped"]:
                    row.append("dropped")
                    continue
                f, fl, fh, n = paired(p["grid"], opt, w, d, "fit")
                o, ol, oh, _ = paired(p["grid"], opt, w, d, "offgrid")
                if n == 0:
                    row.append("not run yet")
                    continue
                flag = " **below**" if (f < 0 or o < 0) else ""
                ci = (f" [{fl:+.2f}, {fh:+.2f}]", f" [{ol:+.2f}, {oh:+.2f}]") if n > 1 else ("", "")
                row.append(f"{f:+.2f}{ci[0]} / {o:+.2f}{ci[1]} (n={n}){flag}")
            body.append(row)
        out += [f"### {opt}", "", markdown_table(["width"] + [f"depth {d}" for d in DEPTHS], body), ""]
    if any(p.get("probes", {}).values()):
        out += ["## Why a cell fails: probes", "",
                "Calibration images, width 256, depth 3: mean fit / off-grid PSNR (dB) of "
                "relu+rei and relu (at the same image size) per setting.", ""]
        rows = [[opt, label, f"{v['relu+rei']['fit']:.2f} / {v['relu+rei']['offgrid']:.2f}",
                 f"{v['relu']['fit']:.2f} / {v['relu']['offgrid']:.2f}",
                 f"{v['relu+rei']['offgrid'] - v['relu']['offgrid']:+.2f}"]
                for opt, pr in p["probes"].items() for label, v in pr.items()]
        out += [markdown_table(["optimizer", "relu+rei setting", "relu+rei", "relu",
                                "off-grid gap"], rows), ""]
    out += ["## Every fit", ""]
    rows = [[g["optimizer"], g["method"], g["image"], str(g["width"]), str(g["depth"]),
             f"{g['lr']:g}", f"{g['muon_lr']:g}" if g["muon_lr"] else "-",
             f"{g['fit']:.2f}" if g["fit"] is not None else g["status"],
             f"{g['offgrid']:.2f}" if g["offgrid"] is not None else "-"] for g in p["grid"]]
    out.append(markdown_table(["optimizer", "method", "image", "width", "depth", "lr", "muon_lr",
                               "fit", "off-grid"], rows))
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.exit(main())
