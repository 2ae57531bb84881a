"""Off the protocol (issue 36, item 3): the presets' settings, ``auto`` and a per-signal grid
search, side by side, on signals the presets were not chosen on.

    python -m benchmarks.fidelity.off_protocol              # resumable, 2 processes
    python -m benchmarks.fidelity.off_protocol --render     # only rewrite the .md from the .json
    python -m benchmarks.fidelity.off_protocol --budgets 1e4 --parts preset auto  # a part

Every preset was tuned on two photographs (coffee, chelsea) at 96 px, 3 x 72, 1000 steps. Here:

- signals: two Kodak photographs in no tuning (kodim13, kodim21) at 64, 128 and 256 px short
  side (off-grid PSNR at 2x too); the synthetic patterns of :mod:`inrank.signals.patterns` at
  128 px with a reported seed (0): band-limited noise at 4, 16 and 48 cycles, discs, a
  Sierpinski triangle, a star target (off-grid: the pattern at 256 px); a 0.25 s clip of
  bach.wav (from 1.0 s); the 1-D chirp at 512 samples;
- networks: 3 hidden layers, each method's width sized so its parameters come closest to the
  budget (the feature grids: a 2 x 32 head and the largest table within the budget,
  :func:`inrank.nn.grid_budget.grid_options_for`, finest level at the signal's resolution) (1e4 on every signal; 1e5 on the photographs at 128 and 256 px and on discs and the
  star), its default optimiser, 300 full-batch steps, seed 0;
- settings: ``preset`` (the registry's values at that width, as ``inrank.fit`` runs them:
  a fit that does not learn is retried at lower lrs), ``auto`` (``inrank.fit(auto=True)``),
  and ``grid``: every value of the method's knob grid (moved with the value the signal's task
  sets, :func:`inrank.train.auto.knob_grid_around`) x the preset's lrs times 0.1, 0.3, 1, 3
  (each cell kept as it ends; the reference, never used to choose anything else).

PSNR is of the output clipped to the signal's range, final step. ``auto``'s rule (the preset's
settings unless they diverge in the probe) was set on calibration signals (camera, coffee,
chelsea at 64 px, the star pattern with seed 1: ``benchmarks.training.auto_calibration``),
where a probe that chose by its lead ended below the presets 12 of the 13 times it moved off
them (the first sign came from a reported signal, kodim13 at 64 px, where it lost 11.6 dB to
relu+rei's preset). Writes benchmarks/results/off_protocol.json and
.md; run records under benchmarks/results/off_protocol/runs/.
"""
from __future__ import annotations

import json
import math
import statistics
import sys
import time
from dataclasses import replace

from benchmarks.frame import DATA, RESULTS, TUNED, command, in_processes, parser, rerender, \
    write_result

OUT = RESULTS / "off_protocol"
METHODS = ("relu", "relu+rei", "relu+rei-kink", "pe", "rff", "siren", "gauss", "wire", "finer",
           "grid", "hashgrid")
#: Feature grids: sized to the budget by their table (a 2 x 32 head), their knob (the table's
#: size) fixed by it, so their grid cells are lrs only and ``auto`` (which may move the knob
#: and so leave the budget) does not run them
GRIDS = ("grid", "hashgrid")
GRID_HEAD_DEPTH = 2
PHOTOS = ("kodim13", "kodim21")
PATTERNS = ("bandlimited-low", "bandlimited-mid", "bandlimited-high", "discs", "sierpinski",
            "star")
LR_FACTORS = (0.1, 0.3, 1.0, 3.0)
STEPS = 300
DEPTH = 3
#: The parameter budgets: every signal at the first; the BIG ones at the second too
BUDGETS = (1e4, 1e5)
#: (signal, budget) pairs: every signal at 1e4; these at 1e5 too
BIG = ("photo:kodim13@128", "photo:kodim13@256", "photo:kodim21@128", "photo:kodim21@256",
       "pattern:discs", "pattern:star")


def signal_names() -> list[str]:
    return ([f"photo:{p}@{s}" for s in (64, 128, 256) for p in PHOTOS]
            + [f"pattern:{p}" for p in PATTERNS] + ["audio:bach", "1d:chirp"])


def family(name: str) -> str:
    """The signal family a table groups by (photographs by size)."""
    kind = name.split(":")[0]
    return f"photo {name.split('@')[1]} px" if kind == "photo" else kind


def load(name: str):
    """``(signal, off-grid signal or None)`` for a benchmark signal name."""
    import inrank

    kind, rest = name.split(":", 1)
    if kind == "photo":
        image, size = rest.split("@")
        path = DATA / "kodak" / f"{image}.png"
        return (inrank.load_image(path, size=int(size)),
                inrank.load_image(path, size=2 * int(size)))
    if kind == "pattern":
        return (inrank.pattern(rest, size=128, seed=0), inrank.pattern(rest, size=256, seed=0))
    if kind == "audio":
        return inrank.load_audio(DATA / "audio" / f"{rest}.wav", duration=0.25, offset=1.0), None
    return inrank.signal_1d(rest, n_points=512), None


def width_for(method: str, in_dim: int, out_dim: int, budget: float, overrides: dict) -> int:
    """The width (3 hidden layers) whose parameter count comes closest to ``budget``."""
    import inrank

    def params(w: int) -> int:
        m = inrank.build(method, in_dim, out_dim, width=w, depth=DEPTH, **overrides)
        return sum(p.numel() for p in m.parameters())

    lo, hi = 2, 4096
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if params(mid) <= budget else (lo, mid)
    return min((lo, hi), key=lambda w: abs(params(w) - budget))


def plan(budgets) -> list[dict]:
    """Every run: per signal and budget, each method's preset, auto and grid cells (presets
    and auto first, so a partial run already answers the main question)."""
    import inrank

    runs = []
    for part in ("preset", "auto", "grid"):
        for budget in budgets:
            for sig in signal_names():
                if budget > 1e4 and sig not in BIG:
                    continue
                for method in METHODS:
                    p = inrank.preset(method)
                    if method in GRIDS and part == "auto":
                        continue
                    knobs = range(len(p.knob_grid)) if p.knob_grid and method not in GRIDS \
                        else (None,)
                    cells = [None] if part != "grid" else [(k, f) for k in knobs
                                                             for f in LR_FACTORS]
                    for cell in cells:
                        rid = f"{sig}|{budget:g}|{method}|{part}"
                        if cell is not None:  # the knob by its grid index (audio moves it)
                            rid += f"|{'-' if cell[0] is None else f'k{cell[0]}'}|x{cell[1]:g}"
                        runs.append({"id": rid, "signal": sig, "budget": budget,
                                     "method": method, "part": part, "cell": cell})
    return runs


def auto_signature() -> dict:
    """``auto``'s constants as this checkout has them: an auto record made under others is
    stale (rerun, never mixed in; the first auto records, made before the probe counted its
    cost in points, kept the preset everywhere at 300 steps)."""
    from inrank.train import auto, loop

    return {**{name: getattr(auto, name) for name in (
        "LR_FACTORS", "PROBE_SHARE", "PROBE_POINTS", "PROBE_FRACTION", "PROBE_SCORE",
        "PROBE_RULE", "MARGIN_DB", "EXTRAPOLATE", "STEP_OVERHEAD_POINTS", "MIN_PROBE_STEPS")},
        "COLLAPSE_DB": loop.COLLAPSE_DB,
        # since the predictor runs only when the preset's settings diverge in the probe (its
        # time was counted in every auto run's cost before)
        "knob_predictor": "when the preset's settings diverge"}


def current(run: dict, rec: dict) -> bool:
    """Whether ``rec`` is ``run``'s record under this checkout (an auto record: made by the
    same ``auto``)."""
    return run["part"] != "auto" or rec.get("auto_signature") == json.loads(
        json.dumps(auto_signature()))


def execute(run: dict, threads: int) -> dict:
    """One fit; its record (PSNR, off-grid PSNR, SNR, status, retries, what auto chose)."""
    import torch

    import inrank
    from inrank.bench.tasks import task_overrides
    from inrank.errors import FitFailedError
    from inrank.metrics import psnr, snr
    from inrank.nn.grid_budget import grid_options_for
    from inrank.nn.registry import knob_value
    from inrank.train.auto import knob_grid_around

    torch.set_num_threads(threads)
    signal, fine = load(run["signal"])
    p = inrank.preset(run["method"])
    over = task_overrides(run["method"], signal)
    if run["method"] in GRIDS:  # the table sized to the budget, up to the signal's resolution
        over = {**over, **grid_options_for(run["method"], int(run["budget"]),
                                           in_dim=signal.in_dim, out_dim=signal.out_dim,
                                           finest=max(16, *signal.shape))}
        width = over.pop("width")
        over.pop("depth")
    else:
        width = width_for(run["method"], signal.in_dim, signal.out_dim, run["budget"], over)
    depth = GRID_HEAD_DEPTH if run["method"] in GRIDS else DEPTH
    opt = p.optimizer_at(DEPTH)
    knobs = {}
    lrs = {}
    if run["cell"] is not None:
        index, factor = run["cell"]
        if index is not None:  # the knob grid, around the value the signal's task sets
            own = knob_value(replace(p, config=inrank.build(
                run["method"], signal.in_dim, signal.out_dim, width=width, depth=DEPTH,
                optimizer=opt, **over).config))
            knobs = {p.knob: knob_grid_around(p, own)[index]}
        base = p.lr_for(opt, width=width)
        lrs = {k: v * factor for k, v in base.items() if v is not None}
    model = inrank.build(run["method"], signal.in_dim, signal.out_dim, width=width,
                         depth=depth, seed=0, optimizer=opt, knobs=knobs, **over)
    t0 = time.perf_counter()
    status = "ok"
    try:
        res = inrank.fit(model, signal, steps=STEPS, seed=0, progress=False,
                         auto=run["part"] == "auto", accept_worse=run["part"] == "grid", **lrs)
    except FitFailedError as err:
        res, status = err.result, "failed"
    wall = time.perf_counter() - t0
    lo, hi = (0.0, 1.0) if signal.kind == "image" else (-math.inf, math.inf)
    record = {"id": run["id"], "width": width, "params": res.params, "status": status,
              # the final fit's training time (evaluations excluded), in the same process as
              # auto's choice: auto's cost is measured against it side by side
              "train_seconds": res.seconds_per_step * res.steps,
              "fit_status": res.status, "mean_psnr": res.mean_psnr, "wall_seconds": wall,
              "lr": res.lr, "muon_lr": res.muon_lr, "optimizer": res.optimizer,
              "knob": res.settings.knob, "retries": res.retries,
              "chosen": res.settings.chosen, "psnr": None, "offgrid_psnr": None, "snr": None,
              **({"auto_signature": auto_signature()} if run["part"] == "auto" else {})}
    if run["part"] == "auto" and p.knob is not None and run["method"] not in GRIDS:
        # what the knob predictor would choose (auto runs it only when the preset's settings
        # diverge): outside auto's timing, for the table's reading of the grid at its knob
        from inrank.train.auto import predicted_knob

        fresh = inrank.build(run["method"], signal.in_dim, signal.out_dim, width=width,
                             depth=depth, seed=0, optimizer=opt, **over)
        record["knob_predictor"] = predicted_knob(fresh, signal, run["method"])[0]
    if res.prediction.numel():
        pred = res.prediction.clamp(lo, hi)
        record["psnr"] = psnr(pred, signal.values,
                              data_range=float(signal.meta.get("data_range", 1.0)))
        if signal.kind in ("audio", "1d"):
            record["snr"] = snr(pred, signal.values)
        if fine is not None:
            model.eval()
            with torch.no_grad():
                out = inrank.predict(model.cpu(), fine.coords).clamp(lo, hi)
            record["offgrid_psnr"] = psnr(out, fine.values)
    return record


def records(runs: list[dict], jobs: int, run_missing: bool = True) -> dict[str, dict]:
    """Every run's record, running the missing ones (each written as it finishes) unless
    ``run_missing`` is False (a partial grid, rendered without running)."""
    from inrank.files import write_json

    found = {}
    stale = 0
    folder = OUT / "runs"
    for run in runs:
        path = folder / f"{abs(hash_id(run['id'])):016x}.json"
        if path.is_file():
            rec = json.loads(path.read_text())
            if current(run, rec):
                found[run["id"]] = rec
            else:
                stale += 1
    missing = [r for r in runs if r["id"] not in found]
    print(f"off_protocol: {len(found)} runs found, {len(missing)} "
          + ("to run" if run_missing else "not run")
          + (f" ({stale} of them auto runs made by another auto)" if stale else ""),
          file=sys.stderr)
    if not run_missing:
        return found
    threads = 1 if jobs > 1 else 2
    for (run, _), rec in in_processes(execute, [(r, threads) for r in missing], jobs=jobs):
        write_json(folder / f"{abs(hash_id(run['id'])):016x}.json", {**rec, "run": run})
        found[run["id"]] = rec
        print(f"  {run['id']}: {rec['psnr'] if rec['psnr'] is None else round(rec['psnr'], 2)}"
              f" dB ({rec['wall_seconds']:.1f} s)", file=sys.stderr)
    return found


def hash_id(text: str) -> int:
    """A stable 64-bit id of a run (file names; Python's hash() is salted per process)."""
    import hashlib

    return int(hashlib.sha1(text.encode()).hexdigest()[:16], 16)


def summarise(runs: list[dict], recs: dict[str, dict]) -> dict:
    """Per (signal, budget, method): preset, auto and the grid's best (PSNR); per method and
    family: preset - grid and auto - grid (median, worst), auto's cost against the preset's
    wall time, and the runs below the mean predictor."""
    cells: dict[tuple, dict] = {}
    planned: dict[tuple, int] = {}
    for run in runs:
        key = (run["signal"], run["budget"], run["method"])
        planned[key] = planned.get(key, 0) + (run["part"] == "grid")
        rec = recs.get(run["id"])
        if rec is None:
            continue
        c = cells.setdefault(key, {"grid": {}})
        if run["part"] == "grid":
            c["grid"][run["id"].split("|", 4)[4]] = rec
        else:
            c[run["part"]] = rec
    rows = []
    for (sig, budget, method), c in sorted(cells.items()):
        # a grid counts only when every cell of it ran: a partial grid's best is no reference
        whole = len(c["grid"]) == planned[(sig, budget, method)]
        best = max((r for r in c["grid"].values() if r["psnr"] is not None and whole),
                   key=lambda r: r["psnr"], default=None)
        row = {"signal": sig, "family": family(sig), "budget": budget, "method": method,
               "mean_psnr": next((r["mean_psnr"] for r in (c.get("preset"), c.get("auto"))
                                  if r), None),
               "preset": _v(c.get("preset")), "auto": _v(c.get("auto")),
               "grid": _v(best), "grid_cells": len(c["grid"]),
               "grid_cell": None if best is None else best["id"].split("|", 4)[4],
               "preset_offgrid": _v(c.get("preset"), "offgrid_psnr"),
               "auto_offgrid": _v(c.get("auto"), "offgrid_psnr"),
               "preset_seconds": _v(c.get("preset"), "wall_seconds"),
               "auto_seconds": _v(c.get("auto"), "wall_seconds"),
               "auto_train_seconds": _v(c.get("auto"), "train_seconds"),
               "auto_choice_seconds": ((c.get("auto") or {}).get("chosen") or {}).get("seconds"),
               "preset_status": (c.get("preset") or {}).get("fit_status"),
               "auto_status": (c.get("auto") or {}).get("fit_status"),
               "preset_retries": len((c.get("preset") or {}).get("retries") or []),
               "auto_choice": ((c.get("auto") or {}).get("chosen") or {}).get("probe", {})
               .get("choice"),
               **_predictor_cell(c, whole)}
        rows.append(row)
    return {"rows": rows, "summary": _by_method_family(rows)}


def _predictor_cell(c: dict, whole: bool) -> dict:
    """What the knob predictor's choice (recorded by ``auto``) makes at the preset's lrs: the
    grid cell with that knob and x1 (a reading of the grid, never used to choose). Empty when
    the predictor kept the preset's knob, or its value is not a cell of a whole grid."""
    auto = c.get("auto") or {}
    knob = auto.get("knob_predictor") or (auto.get("chosen") or {}).get("knob") or {}
    choice, preset_knob = knob.get("choice"), (c.get("preset") or {}).get("knob") or {}
    if choice is None or not whole or not preset_knob:
        return {}
    if math.isclose(float(next(iter(preset_knob.values()))), float(choice), rel_tol=1e-3):
        return {}
    for rec in c["grid"].values():
        value = next(iter((rec.get("knob") or {}).values()), None)
        if value is not None and math.isclose(float(value), float(choice), rel_tol=1e-3) \
                and rec["id"].endswith("|x1") and rec["psnr"] is not None:
            return {"predictor_knob": f"{knob.get('knob')} {float(choice):g}",
                    "predictor_x1": rec["psnr"]}
    return {}


def _v(rec: dict | None, key: str = "psnr"):
    return None if rec is None else rec.get(key)


def _by_method_family(rows: list[dict]) -> list[dict]:
    out = []
    for budget in sorted({r["budget"] for r in rows}):
        for method in METHODS:
            for fam in dict.fromkeys(r["family"] for r in rows):
                group = [r for r in rows if r["method"] == method and r["family"] == fam
                         and r["budget"] == budget]
                if not group:
                    continue
                d = {"budget": budget, "method": method, "family": fam, "signals": len(group)}
                for name in ("preset", "auto"):
                    gaps = [r[name] - r["grid"] for r in group
                            if r[name] is not None and r["grid"] is not None]
                    if name == "preset":  # the family's signals whose grid ran whole
                        d["grid_signals"] = sum(1 for r in group if r["grid"] is not None)
                    d[f"{name}_grid_median"] = statistics.median(gaps) if gaps else None
                    d[f"{name}_grid_worst"] = min(gaps) if gaps else None
                    d[f"{name}_below_mean"] = sum(
                        1 for r in group if r[name] is not None and r["mean_psnr"] is not None
                        and r[name] < r["mean_psnr"])
                ahead = [r["auto"] - r["preset"] for r in group
                         if r["auto"] is not None and r["preset"] is not None]
                d["auto_preset_median"] = statistics.median(ahead) if ahead else None
                d["auto_preset_worst"] = min(ahead) if ahead else None
                d["auto_preset_best"] = max(ahead) if ahead else None
                cost = [1 + r["auto_choice_seconds"] / r["auto_train_seconds"] for r in group
                        if r["auto_choice_seconds"] is not None and r["auto_train_seconds"]]
                d["auto_cost_median"] = statistics.median(cost) if cost else None
                d["auto_cost_max"] = max(cost) if cost else None
                out.append(d)
    return out


def markdown(payload: dict) -> str:
    from inrank.markup import markdown_table

    def f(x, fmt="+.2f"):
        return "-" if x is None else format(x, fmt)

    s = payload["summary"]
    lines = ["## Off the protocol: presets, auto and a per-signal grid search", "",
             f"Generated by `{payload['command']}` from `off_protocol.json` "
             f"({payload['found']} of {payload['planned']} runs). Per method and signal family: "
             "the preset's and auto's PSNR minus the grid search's best (median and worst over "
             "the family's signals; negative: below the grid's best), auto's PSNR minus the "
             "preset's (median, worst and best), the runs below the signal's mean predictor, "
             "and auto's cost: its fit's training time plus the time it took to choose, over "
             "that training time (median / worst; both measured in the same process, one after "
             "the other).", ""]
    for budget in sorted({r["budget"] for r in s}):
        group = [r for r in s if r["budget"] == budget]
        lines += [f"### Budget {budget:g} parameters", "", markdown_table(
            ["method", "family", "signals (with a grid)", "preset - grid (median / worst)",
             "auto - grid (median / worst)", "auto - preset (median / worst / best)",
             "below mean (preset / auto)", "auto cost"],
            [[r["method"], r["family"], f"{r['signals']} ({r.get('grid_signals', 0)})",
              f"{f(r['preset_grid_median'])} / {f(r['preset_grid_worst'])}",
              f"{f(r['auto_grid_median'])} / {f(r['auto_grid_worst'])}",
              f"{f(r.get('auto_preset_median'))} / {f(r.get('auto_preset_worst'))} / "
              f"{f(r.get('auto_preset_best'))}",
              f"{r['preset_below_mean']} / {r['auto_below_mean']}",
              "-" if r["auto_cost_median"] is None else
              f"{r['auto_cost_median']:.2f}x / {r['auto_cost_max']:.2f}x"]
             for r in group]), ""]
    rows = payload["rows"]
    moved = [r["predictor_x1"] - r["preset"] for r in rows
             if r.get("predictor_x1") is not None and r["preset"] is not None]
    if moved:
        lines += [f"The knob predictor's choice, where it differs from the preset's knob, read "
                  f"from the grid at the preset's lrs (x1): {len(moved)} cases, above the "
                  f"preset's PSNR in {sum(g > 0 for g in moved)}, below in "
                  f"{sum(g < 0 for g in moved)} (median {statistics.median(moved):+.2f} dB, "
                  f"worst {min(moved):+.2f}, best {max(moved):+.2f}): why auto keeps the "
                  "preset's knob unless its settings diverge (column `predictor, x1` below).",
                  ""]
    lines += ["### Every signal (PSNR, dB)", "", markdown_table(
        ["signal", "budget", "method", "mean", "preset", "auto", "grid best", "grid cell",
         "auto chose", "predictor, x1"],
        [[r["signal"], f"{r['budget']:g}", r["method"], f(r["mean_psnr"], ".2f"),
          f(r["preset"], ".2f") + ("" if r["preset_retries"] == 0 else
                                   f" (retried {r['preset_retries']}x)"),
          f(r["auto"], ".2f"), f(r["grid"], ".2f"), r["grid_cell"] or "-",
          r["auto_choice"] or "-",
          "-" if r.get("predictor_x1") is None else
          f"{r['predictor_x1']:.2f} ({r['predictor_knob']})"] for r in rows]), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, jobs=2, render=True, no_run=True, tuned=TUNED)
    ap.add_argument("--budgets", nargs="+", type=float, default=list(BUDGETS),
                    help="parameter budgets to run (%(default)s)")
    ap.add_argument("--parts", nargs="+", default=["preset", "auto", "grid"],
                    choices=("preset", "auto", "grid"), help="what to run (%(default)s)")
    ap.add_argument("--grid-signals", nargs="+", default=None, metavar="SIGNAL",
                    help="run the grid on these signals only (names as the table shows "
                         "them, or a family: photo, pattern, audio, 1d); the others' grid "
                         "cells wait for a later run (default: every signal)")
    ap.add_argument("--signals", nargs="+", default=None, metavar="SIGNAL",
                    help="run every part on these signals only (as --grid-signals); the "
                         "others wait for a later run (default: every signal)")
    ap.add_argument("--methods", nargs="+", default=None, choices=METHODS, metavar="METHOD",
                    help="run these methods only; the others wait for a later run "
                         "(default: every method)")
    args = ap.parse_args(argv)
    if args.render:
        rerender("off_protocol", markdown)
        return 0
    from inrank.nn.tuned_state import tuned_values

    def named(run: dict, names: list[str] | None) -> bool:
        return names is None or run["signal"] in names or run["signal"].split(":")[0] in names

    with tuned_values(args.tuned):
        runs = [r for r in plan(args.budgets) if r["part"] in args.parts and named(r, args.signals)
                and (args.methods is None or r["method"] in args.methods)
                and (r["part"] != "grid" or named(r, args.grid_signals))]
        if not args.no_run:
            records(runs, args.jobs)
        # the result file covers the whole plan, from every record on disk: a run of a part
        # (--signals, --parts, --budgets, --methods) never rewrites it with that part alone
        runs = plan(BUDGETS)
        recs = records(runs, args.jobs, run_missing=False)
    payload = {"command": command(__file__), "planned": len(runs), "found": len(recs),
               "steps": STEPS, "depth": DEPTH, "methods": list(METHODS),
               "lr_factors": list(LR_FACTORS), "tuned": str(args.tuned),
               **summarise(runs, recs)}
    write_result("off_protocol", payload, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
