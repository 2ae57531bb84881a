"""Do the predictors at init choose the knob a grid search chooses? (issue 27, item 3)

    python -m benchmarks.diagnosis.advise_validation            # resumable (one record per cell)
    python -m benchmarks.diagnosis.advise_validation --render   # only rewrite the .md from .json

The grid searches are table1's committed tuning records (``inrank tune table1``, at 3 x 128,
archived, and at 3 x 72, :data:`PROTOCOLS`): for every method with a knob, each knob value
trained 500 steps on the calibration images (coffee, chelsea; 96 px) at the method's tuned lr,
with Adam and, where tuned, with Muon; measured fit and off-grid PSNR (2x). Here every such cell is also scored at init (seed 0, the run's own
width and depth) by each predictor of ``inrank.diagnosis.predict`` (1,024 kernel points, 512
off-grid points, the linearised curve at 500 steps; FreSh over 3 inits). Reported, per
predictor: the Spearman correlation with the measured off-grid and fit PSNR within each grid
(mean over grids), how often its first choice is the grid search's, the off-grid PSNR lost by
taking its choice instead of the grid's (mean over the calibration images, per grid), and the
compute: predictor seconds against the grid's run-seconds.

Writes ``benchmarks/results/advise_validation.{json,md}``; per-cell records under
``benchmarks/results/advise_validation/``.
"""
from __future__ import annotations

import json
import math
import statistics
import sys
import time
from dataclasses import fields, replace
from pathlib import Path

import torch

from inrank.bench.catalog import Suite, expand
from inrank.bench.run import image_signal, resolve_image
from inrank.bench.runner import load_records
from inrank.diagnosis.predict import PREDICTORS, predict
from inrank.files import write_json
from inrank.nn.registry import build, knob_overrides
from inrank.report.machine import machine_line
from inrank.report.tables import markdown_table

from benchmarks.frame import (ROOT, RESULTS, TUNED, TUNED_W128, command, parser, rerender,
                              write_result)

OUT = RESULTS / "advise_validation"
#: The grid searches validated: label -> (tuned-values file, folder of its tuning's runs/):
#: table1 at 3 x 128 (archived when table1 moved to 3 x 72) and table1 at 3 x 72.
PROTOCOLS = {"table1 3x128": (TUNED_W128, TUNED_W128.parent),
             "table1 3x72": (TUNED, RESULTS / "tune" / "table1")}

POINTS, OFFGRID_POINTS, STEPS, INITS = 1024, 512, (0, 100, 500), 3


def protocol_suite(tuned: dict) -> Suite:
    """The suite the tuned values were chosen under, from the file's own protocol."""
    known = {f.name for f in fields(Suite)}
    raw = {k: v for k, v in tuned["protocol"]["suite"].items() if k in known}
    for k in ("images", "methods", "widths", "seeds", "lr_multipliers", "calibration",
              "optimizers"):
        if k in raw and raw[k] is not None:
            raw[k] = tuple(raw[k])
    return Suite(**raw)


def grids(tuned: dict) -> list[dict]:
    """Every knob grid the tuning ran: method, optimiser, knob, values, lrs."""
    from inrank.nn.registry import preset

    out = []
    for m, entry in tuned["methods"].items():
        knob = preset(m).knob
        for opt, e in (("adam", entry), ("muon", entry.get("muon") or {})):
            values = [float(v) for v in (e.get("grid", {}).get("knob") or {})]
            if knob and values:
                out.append({"method": m, "optimizer": opt, "knob": knob, "values": values,
                            "lr": entry["lr"], "muon_lr": e.get("muon_lr") if opt == "muon" else None,
                            "chosen": float(e["config"][knob])})
    return out


def grid_runs(s: Suite, g: dict, value: float):
    """The tuning runs of one knob value (calibration images, seed 0)."""
    s1 = replace(s, methods=(g["method"],), optimizers=(g["optimizer"],))
    return expand(s1, lrs={g["method"]: g["lr"]},
                  overrides={g["method"]: knob_overrides(g["knob"], value)},
                  images=s.calibration, steps=s.tune_steps or s.steps, seeds=(0,),
                  muon_lrs={g["method"]: g["muon_lr"]} if g["muon_lr"] else None)


def score_cell(method: str, knob: str, value: float, image: str, width: int, depth: int,
               size: int, optimizer: str) -> dict:
    """Every predictor of one (method, knob value, image) at init."""
    over = knob_overrides(knob, value)
    return score_models(lambda c: [build(method, 2, c, width=width, depth=depth, seed=k,
                                         optimizer=optimizer, **over) for k in range(INITS)],
                        image, size)


def score_models(make, image: str, size: int) -> dict:
    """Every predictor of ``make(channels)[0]`` (FreSh over all the models it returns) on
    ``image`` at ``size`` px, the off-grid target the image at 2x, and the seconds it took."""
    sig = image_signal(resolve_image(image), size, image)
    fine = image_signal(resolve_image(image), 2 * size, f"{image}@2x")
    models = make(sig.out_dim)
    t0 = time.perf_counter()
    p = predict(models[0], sig, points=POINTS, offgrid=fine, offgrid_points=OFFGRID_POINTS,
                steps=STEPS, ks=(16, 64, 256), inits=models[1:])
    return {"alignment": p.alignment, "energy": p.energy[256], "linear_fit": p.fit_psnr[-1],
            "linear_offgrid": p.offgrid_psnr, "fresh": p.fresh,
            "seconds": time.perf_counter() - t0}


def spearman(a: list[float], b: list[float]) -> float | None:
    from scipy.stats import spearmanr

    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
        return None
    return float(spearmanr(a, b).statistic)


def main(argv: list[str] | None = None) -> int:
    args = parser(__doc__, render=True).parse_args(argv)
    if args.render:
        rerender("advise_validation", render)
        return 0
    torch.set_num_threads(1)
    rows, protocols = [], {}
    for label, (tuned_path, records) in PROTOCOLS.items():
        tuned = json.loads(tuned_path.read_text())
        s = protocol_suite(tuned)
        protocols[label] = {"widths": list(s.widths), "size": s.size,
                            "calibration": list(s.calibration),
                            "tuned": str(tuned_path.relative_to(ROOT))}
        rows += protocol_rows(label, tuned, s, records)
    write_result("advise_validation", {
        "rows": rows, "protocols": protocols,
        "protocol": {"points": POINTS, "offgrid_points": OFFGRID_POINTS, "steps": list(STEPS),
                     "inits": INITS}}, render)
    return 0


def protocol_rows(label: str, tuned: dict, s: Suite, records: Path) -> list[dict]:
    """One row per tuning run of every knob grid of one protocol, with its predictors."""
    rows = []
    for g in grids(tuned):
        for v in g["values"]:
            runs = grid_runs(s, g, v)
            recs = load_records(Path(records), runs)
            for r in runs:
                rec = recs.get(r.id)
                if rec is None:
                    continue
                cell = OUT / f"{g['method']}_{g['optimizer']}_{v:g}_{r.signal}_w{r.width}.json".replace("+", "-")
                if cell.is_file():
                    scores = json.loads(cell.read_text())
                else:
                    scores = score_cell(g["method"], g["knob"], v, r.signal, r.width,
                                        r.depth, r.size, g["optimizer"])
                    write_json(cell, scores)
                m = rec["metrics"] if rec["status"] == "ok" else {}
                rows.append({"protocol": label,
                             **{k: g[k] for k in ("method", "optimizer", "knob", "chosen")},
                             "value": v, "image": r.signal, "fit": m.get("final_psnr"),
                             "offgrid": m.get("offgrid_psnr"),
                             "run_seconds": rec["wall_seconds"], **scores})
                print(f"{g['method']} ({g['optimizer']}) {g['knob']} {v:g} {r.signal}: "
                      f"off-grid {m.get('offgrid_psnr')}", file=sys.stderr)
    return rows


def analyse(rows: list[dict]) -> dict:
    """Per predictor: Spearman (off-grid, fit), top-choice agreement, dB lost, seconds."""
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["protocol"], r["method"], r["optimizer"]), []).append(r)
    out = {}
    for name, higher in PREDICTORS.items():
        sign = 1.0 if higher else -1.0
        rho_off, rho_fit, agree, lost = [], [], [], []
        for (_, m, opt), rs in groups.items():
            for img in sorted({r["image"] for r in rs}):
                cell = [r for r in rs if r["image"] == img and r[name] is not None
                        and r["offgrid"] is not None]
                pred = [sign * r[name] for r in cell]
                for key, acc in (("offgrid", rho_off), ("fit", rho_fit)):
                    rho = spearman(pred, [r[key] for r in cell])
                    if rho is not None:
                        acc.append(rho)
            values = sorted({r["value"] for r in rs})
            mean = lambda key, v: statistics.fmean(  # noqa: E731
                [r[key] * (sign if key == name else 1) for r in rs if r["value"] == v
                 and r[key] is not None] or [float("nan")])
            by_pred = {v: mean(name, v) for v in values}
            by_off = {v: mean("offgrid", v) for v in values}
            if all(math.isfinite(x) for x in by_pred.values()):
                choice = max(values, key=by_pred.get)
                best = max(values, key=by_off.get)
                agree.append(choice == best)
                lost.append(by_off[best] - by_off[choice])
        out[name] = {"rho_offgrid": _mean(rho_off), "rho_fit": _mean(rho_fit),
                     "n_grids": len(rho_off), "agree": (sum(agree), len(agree)),
                     "lost_mean": _mean(lost), "lost_max": max(lost) if lost else None}
    compute = {}
    for pr in dict.fromkeys(r["protocol"] for r in rows):
        mine = [r for r in rows if r["protocol"] == pr]
        compute[pr] = (sum(r["seconds"] for r in mine), sum(r["run_seconds"] for r in mine))
    return {"predictors": out, "compute": compute}


def _mean(xs: list[float]) -> float | None:
    return statistics.fmean(xs) if xs else None


def render(p: dict) -> str:
    rows, proto = p["rows"], p["protocol"]
    a = analyse(rows)
    grids_n = len({(r["protocol"], r["method"], r["optimizer"]) for r in rows})
    where = "; ".join(f"{k}: width {v['widths'][0]}, {v['size']} px, calibration images "
                      f"{', '.join(v['calibration'])}" for k, v in p["protocols"].items())
    out = ["# Predictors at init against table1's grid searches (issue 27)", "",
           f"Generated by `{command(__file__)}` "
           f"({machine_line(p['machine'])}). The grid searches: {grids_n} knob grids of "
           f"`inrank tune table1` under two protocols ({where}; each knob value trained 500 "
           "steps at the method's tuned lr, Adam and Muon where the knob was tuned with it). "
           "Each cell scored at "
           f"init on {proto['points']:,} kernel points ({proto['offgrid_points']} off-grid), "
           f"FreSh over {proto['inits']} inits. Spearman is within each (grid, image), mean over "
           "them; the choice and the dB lost are on the mean over the calibration images; "
           "dB lost = measured off-grid PSNR of the grid's choice minus that of the predictor's.",
           ""]
    table = []
    for name, s in a["predictors"].items():
        f = lambda x, d=2: "-" if x is None else f"{x:+.{d}f}"  # noqa: E731
        table.append([name, f(s["rho_offgrid"]), f(s["rho_fit"]),
                      f"{s['agree'][0]} / {s['agree'][1]}",
                      "-" if s["lost_mean"] is None else f"{s['lost_mean']:.2f}",
                      "-" if s["lost_max"] is None else f"{s['lost_max']:.2f}"])
    out += [markdown_table(["predictor", "Spearman vs off-grid", "Spearman vs fit",
                            "first choice = grid's", "dB lost (mean)", "dB lost (max)"], table),
            "",
            "Compute, per protocol: the predictors' seconds for all cells (every predictor "
            "together, this CPU, one thread) against the grid's run-seconds (where the runs "
            "ran: 3 x 128 on this CPU, 3 x 72 mostly on one H200): "
            + "; ".join(f"{pr}: {ps:.0f} s against {rs:.0f} run-s (ratio {rs / max(ps, 1e-9):.1f})"
                        for pr, (ps, rs) in a["compute"].items()) + ".", "",
            "Per grid (mean over the calibration images): measured off-grid PSNR per knob value, "
            "the grid's choice (**bold**) and each predictor's choice.", ""]
    per = []
    for (pr, m, opt) in sorted({(r["protocol"], r["method"], r["optimizer"]) for r in rows}):
        rs = [r for r in rows if (r["protocol"], r["method"], r["optimizer"]) == (pr, m, opt)]
        values = sorted({r["value"] for r in rs})
        off = {v: statistics.fmean([r["offgrid"] for r in rs if r["value"] == v and r["offgrid"] is not None] or [float("nan")])
               for v in values}
        best = max(values, key=lambda v: off[v] if math.isfinite(off[v]) else -1e9)
        cells = ", ".join((f"**{v:g}: {off[v]:.2f}**" if v == best else f"{v:g}: {off[v]:.2f}")
                          for v in values)
        picks = []
        for name, higher in PREDICTORS.items():
            sc = {v: statistics.fmean([r[name] for r in rs if r["value"] == v and r[name] is not None] or [float("nan")])
                  for v in values}
            if all(math.isfinite(x) for x in sc.values()):
                pick = (max if higher else min)(values, key=sc.get)
                picks.append(f"{name} {pick:g}")
        per.append([pr, f"{m} ({opt})", rs[0]["knob"], cells, "; ".join(picks)])
    out += [markdown_table(["protocol", "grid", "knob", "off-grid PSNR per value (dB)", "predictors' choices"], per), ""]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
