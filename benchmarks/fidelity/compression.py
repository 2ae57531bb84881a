"""Do the gaps between methods shrink as the network must compress harder? (issue 25, item 2)

    python -m benchmarks.fidelity.compression            # both phases, resumable, 2 processes
    python -m benchmarks.fidelity.compression --no-run   # render what is finished
    python -m benchmarks.fidelity.compression --render   # only rewrite the .md/.png from .json

table1 fits 41,472 values (Kodak at 96 px) with about 34k parameters (3 x 128): a ratio of
values to parameters of 1.2, where SIREN nearly interpolates. This benchmark keeps the image
size and narrows the network, 3 x 128 / 72 / 48 (ratio 1.2 / 3.8 / 8.3 for the ReLU MLP;
each method's own ratio is reported: PE's first layer is wider), for relu, relu+rei,
relu+rei-kink, pe and siren with Adam and Muon, 1000 full-batch steps, seed 0, fit and
off-grid PSNR (2x), on table1's test images kodim01-04.

Learning rates: at width 128 each method's tuned values (table1's calibration images, per
optimiser: :meth:`inrank.Preset.lr_for`; the 3 x 128 tuned values, ``--tuned``). At the narrower
widths the width rule scales them (``lr_for(width=)``), then a multiplier of both lrs (0.316 / 1
/ 3.16) is chosen per method, optimiser and width on the calibration images (coffee, chelsea;
500 steps; mean fit PSNR); a choice on an edge of that grid is flagged. Runs of table1's own
protocol (Adam, width 128) are read from table1's committed records.

Writes ``benchmarks/results/compression.{json,md,png}``; run records under
``benchmarks/results/compression/runs/``.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from inrank.bench.run import Run
from inrank.bench.runner import load_records, run_missing
from inrank.nn.registry import preset
from inrank.nn.tuned_state import tuned_values
from inrank.report.machine import machine_line
from inrank.report.tables import markdown_table

from benchmarks.frame import (ARCHIVE, RESULTS, TUNED_W128, command, interval_text, paired_gap,
                              parser, rerender, write_result)

OUT = RESULTS / "compression"
TABLE1 = ARCHIVE / "bench" / "table1_w128"  # table1 at 3 x 128 (archived)

CALIBRATION = ("coffee", "chelsea")
TEST = ("kodim01", "kodim02", "kodim03", "kodim04")
METHODS = ("relu", "relu+rei", "relu+rei-kink", "pe", "siren")
OPTIMIZERS = ("adam", "muon")
WIDTHS = (128, 72, 48)
TUNED_WIDTH = 128
MULTIPLIERS = (0.316, 1.0, 3.16)
SIZE, DEPTH, STEPS, TUNE_STEPS, EVALS = 96, 3, 1000, 500, 20
GAPS = (("relu+rei", "relu"), ("relu+rei", "pe"), ("relu+rei", "siren"),
        ("relu+rei-kink", "pe"), ("relu+rei-kink", "siren"))


def run_of(method: str, image: str, width: int, optimizer: str, mult: float = 1.0,
           steps: int = STEPS) -> Run:
    """One fit of ``method`` at ``width`` with its lrs (width rule) times ``mult``."""
    lrs = preset(method).lr_for(optimizer, width=width)
    muon = None if optimizer == "adam" else float(f"{lrs['muon_lr'] * mult:.6g}")
    return Run(method=method, preset=method, overrides=(), signal=image, size=SIZE, seed=0,
               width=width, depth=DEPTH, steps=steps, lr=float(f"{lrs['lr'] * mult:.6g}"),
               evals=EVALS, offgrid=True, optimizer=optimizer, muon_lr=muon)


def records_of(runs: list[Run], jobs: int, label: str, run: bool) -> dict[str, dict]:
    """Records of ``runs``: table1's committed ones, then this benchmark's (the missing ones
    run now unless ``run`` is False)."""
    found = load_records(TABLE1, runs)
    found.update(run_missing([r for r in runs if r.id not in found], OUT, jobs=jobs,
                             label=label, run=run))
    return found


def _fit(rec: dict | None, key: str = "final_psnr") -> float | None:
    return rec["metrics"].get(key) if rec and rec["status"] == "ok" else None


def select(jobs: int, run: bool, optimizers: tuple[str, ...] = OPTIMIZERS) -> dict:
    """The lr multiplier per (optimizer, method, width) below the tuned width: the best mean fit
    PSNR on the calibration images (a diverged run scores 0)."""
    chosen = {}
    for opt in optimizers:
        for w in WIDTHS:
            if w == TUNED_WIDTH:
                continue
            runs = [run_of(m, img, w, opt, k, TUNE_STEPS) for m in METHODS for k in MULTIPLIERS
                    for img in CALIBRATION]
            recs = records_of(runs, jobs, f"select {opt} width {w}", run)
            for m in METHODS:
                scores = {}
                for k in MULTIPLIERS:
                    mine = [recs.get(run_of(m, img, w, opt, k, TUNE_STEPS).id) for img in CALIBRATION]
                    if all(mine):
                        scores[k] = statistics.fmean(_fit(r) or 0.0 for r in mine)
                if len(scores) == len(MULTIPLIERS):
                    best = max(scores, key=scores.get)
                    chosen[f"{opt}|{m}|{w}"] = {
                        "multiplier": best, "scores": {f"{k:g}": v for k, v in scores.items()},
                        "edge": best in (MULTIPLIERS[0], MULTIPLIERS[-1])}
    return chosen


def multiplier(chosen: dict, opt: str, m: str, w: int) -> float | None:
    if w == TUNED_WIDTH:
        return 1.0
    c = chosen.get(f"{opt}|{m}|{w}")
    return None if c is None else c["multiplier"]


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, jobs=2, render=True, no_run=True, optimizers=list(OPTIMIZERS),
                tuned=TUNED_W128)
    args = ap.parse_args(argv)  # --optimizers: run that half (the other's records are read)
    if args.render:
        payload = rerender("compression", render)
    else:
        with tuned_values(args.tuned):
            payload = write_result("compression", _sweep(args), render)
    figure(payload, RESULTS / "compression.png")
    return 0


def _sweep(args) -> dict:
    """Run (or, with ``--no-run``, read) the selection and the sweep; the result's payload."""
    t0 = time.perf_counter()
    chosen = {**select(args.jobs, False, tuple(o for o in OPTIMIZERS if o not in args.optimizers)),
              **select(args.jobs, not args.no_run, tuple(args.optimizers))}
    runs, pending = [], []
    for opt in OPTIMIZERS:
        for w in WIDTHS:
            for m in METHODS:
                k = multiplier(chosen, opt, m, w)
                if k is not None:
                    (runs if opt in args.optimizers else pending).extend(
                        run_of(m, img, w, opt, k) for img in TEST)
    recs = {**records_of(pending, args.jobs, "sweep (read only)", False),
            **records_of(runs, args.jobs, "sweep", not args.no_run)}
    runs += pending
    rows = [{"optimizer": r.optimizer, "method": r.method, "image": r.signal, "width": r.width,
             "lr": r.lr, "muon_lr": r.muon_lr, "status": recs[r.id]["status"],
             "fit": _fit(recs[r.id]), "offgrid": _fit(recs[r.id], "offgrid_psnr"),
             "params": recs[r.id]["metrics"].get("params"),
             "device": recs[r.id]["metrics"].get("device"),
             "values": _values(recs[r.id])} for r in runs if r.id in recs]
    return {"rows": rows, "selection": chosen,
            "planned": len(OPTIMIZERS) * len(WIDTHS) * len(METHODS) * len(TEST),
            "seconds": None if args.no_run else time.perf_counter() - t0,
            "size": SIZE, "depth": DEPTH, "steps": STEPS, "tune_steps": TUNE_STEPS,
            "widths": list(WIDTHS), "multipliers": list(MULTIPLIERS),
            "calibration": list(CALIBRATION), "test": list(TEST)}


CHANNELS = 3  # Kodak images are RGB


def _values(rec: dict) -> int:
    """Values the network fits: pixels (the record's grid shape) x channels."""
    h, w = rec["shape"][:2]
    return h * w * CHANNELS


def _ratio(rows: list[dict], m: str, w: int) -> float | None:
    mine = [r for r in rows if r["method"] == m and r["width"] == w and r["params"]]
    return None if not mine else mine[0]["values"] / mine[0]["params"]


def _mean(rows: list[dict], opt: str, m: str, w: int, key: str) -> tuple[float | None, int]:
    vals = [r[key] for r in rows if (r["optimizer"], r["method"], r["width"]) == (opt, m, w)
            and r[key] is not None]
    return (statistics.fmean(vals) if vals else None), len(vals)


def gap(rows: list[dict], opt: str, a: str, b: str, w: int, key: str) -> dict | None:
    """``a - b`` paired over the test images at width ``w`` (mean, 95% t interval, n)."""
    return paired_gap(rows, a, b, key, optimizer=opt, width=w)


def render(p: dict) -> str:
    rows = p["rows"]
    done = len(rows)
    out = ["# Compression sweep: table1's methods as the network narrows (issue 25, item 2)", "",
           f"Generated by `{command(__file__)}` ("
           + ("rendered from the records finished so far" if p["seconds"] is None else
              f"{p['seconds'] / 60:.0f} min") + "). " + machine_line(p["machine"]), "",
           f"Kodak {', '.join(p['test'])} at {p['size']} px short side, depth {p['depth']}, widths "
           f"{' / '.join(map(str, p['widths']))}, {p['steps']} full-batch steps, seed 0. Learning "
           f"rates: tuned at width 128 per optimiser (calibration images "
           f"{', '.join(p['calibration'])}); at narrower widths scaled by the width rule and "
           f"multiplied by the best of {' / '.join(f'{k:g}' for k in p['multipliers'])} on the "
           f"calibration images ({p['tune_steps']} steps). Fit and off-grid (2x) PSNR in dB.", ""]
    devices: dict[str, int] = {}
    for r in rows:
        devices[str(r.get("device"))] = devices.get(str(r.get("device")), 0) + 1
    out += ["Where the fits ran (each record names its device; the machine line above is the "
            "one that rendered): " + ", ".join(f"{d}: {n}" for d, n in sorted(devices.items()))
            + ". Within a width and optimiser every method ran on the same device, so the paired gaps "
            "compare like with like.", ""]
    if done < p["planned"]:
        out += [f"**Partial sweep**: {done} of {p['planned']} fits (the command resumes from "
                "its records).", ""]
    out += ["![PSNR against the compression ratio](compression.png)", "",
            "## Mean PSNR per method, optimiser and width", "",
            "ratio = fitted values / the method's parameters; mean over the test images "
            "(n = images found).", ""]
    body = []
    for opt in OPTIMIZERS:
        for m in METHODS:
            for w in p["widths"]:
                f, n = _mean(rows, opt, m, w, "fit")
                o, _ = _mean(rows, opt, m, w, "offgrid")
                ratio = _ratio(rows, m, w)
                if f is None:
                    continue
                k = 1.0 if w == TUNED_WIDTH else p["selection"].get(f"{opt}|{m}|{w}", {}).get("multiplier")
                edge = p["selection"].get(f"{opt}|{m}|{w}", {}).get("edge", False)
                body.append([opt, m, str(w), f"{ratio:.1f}" if ratio else "-",
                             f"{k:g}" + (" (edge)" if edge else "") if k else "-",
                             f"{f:.2f}", f"{o:.2f}" if o is not None else "-", str(n)])
    out.append(markdown_table(["optimizer", "method", "width", "ratio", "lr x", "fit",
                               "off-grid", "n"], body))
    out += ["", "## Paired gaps against the ratio", "",
            "a - b paired over the test images, mean [95% t interval], fit / off-grid dB; "
            "the ratio is the ReLU MLP's at that width.", ""]
    body = []
    for opt in OPTIMIZERS:
        for a, b in GAPS:
            for w in p["widths"]:
                gf = gap(rows, opt, a, b, w, "fit")
                go = gap(rows, opt, a, b, w, "offgrid")
                if gf is None:
                    continue
                ratio = _ratio(rows, "relu", w)
                body.append([opt, f"{a} - {b}", str(w), f"{ratio:.1f}" if ratio else "-",
                             interval_text(gf), interval_text(go)])
    out.append(markdown_table(["optimizer", "gap", "width", "ratio", "fit", "off-grid"], body))
    out += ["", "## Every fit", ""]
    out.append(markdown_table(
        ["optimizer", "method", "image", "width", "params", "lr", "muon_lr", "fit", "off-grid"],
        [[r["optimizer"], r["method"], r["image"], str(r["width"]), str(r["params"]),
          f"{r['lr']:g}", f"{r['muon_lr']:g}" if r["muon_lr"] else "-",
          f"{r['fit']:.2f}" if r["fit"] is not None else r["status"],
          f"{r['offgrid']:.2f}" if r["offgrid"] is not None else "-"] for r in rows]))
    return "\n".join(out) + "\n"


def _ratio_axis(ax) -> None:
    """A log x axis with plain ticks at 1, 2, 4, 8, 16."""
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.set_xscale("log")
    ax.set_xlim(0.9, 18)
    ax.set_xticks([1, 2, 4, 8, 16])
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())


def figure(p: dict, path: Path) -> None:
    """Left two panels: mean fit and off-grid PSNR against each method's ratio (Adam solid,
    Muon dashed). Right: relu+rei - pe and relu+rei - siren (off-grid) against the ratio."""
    from inrank.report.figures import new_figure, save_figure

    rows = p["rows"]
    fig = new_figure((14, 4))
    axes = fig.subplots(1, 3)
    colours = dict(zip(METHODS, ["C0", "C1", "C2", "C3", "C4"]))
    for ax, key in zip(axes[:2], ("fit", "offgrid")):
        for opt, style in zip(OPTIMIZERS, ("-", "--")):
            for m in METHODS:
                pts = [(_ratio(rows, m, w), _mean(rows, opt, m, w, key)[0]) for w in p["widths"]]
                pts = sorted((x, y) for x, y in pts if x and y is not None)
                if pts:
                    ax.plot(*zip(*pts), style, marker="o", color=colours[m],
                            label=f"{m} ({opt})")
        _ratio_axis(ax)
        ax.set_xlabel("values / parameters")
        ax.set_ylabel(f"{'fit' if key == 'fit' else 'off-grid'} PSNR (dB)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7, ncol=2)
    ax = axes[2]
    for opt, style in zip(OPTIMIZERS, ("-", "--")):
        for (a, b), c in zip(GAPS[1:3], ("C3", "C4")):
            pts = []
            for w in p["widths"]:
                d, x = gap(rows, opt, a, b, w, "offgrid"), _ratio(rows, "relu", w)
                if d is not None and x:
                    pts.append((x, d["mean"], d.get("low", d["mean"]), d.get("high", d["mean"])))
            if pts:
                pts.sort()
                xs, ys, lo, hi = zip(*pts)
                ax.plot(xs, ys, style, marker="o", color=c, label=f"{a} - {b} ({opt})")
                ax.fill_between(xs, lo, hi, color=c, alpha=0.12)
    ax.axhline(0, color="k", lw=0.8)
    _ratio_axis(ax)
    ax.set_xlabel("values / parameters (ReLU MLP)")
    ax.set_ylabel("off-grid PSNR gap (dB)")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    save_figure(fig, path)


if __name__ == "__main__":
    sys.exit(main())
