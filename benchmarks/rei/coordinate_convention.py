"""Where does the paper's first-layer REI pay? relu and `relu+rei-kink` with the coordinates in
[-1, 1], [0, 1] and pixel units (issue 15, item 3).

    python -m benchmarks.rei.coordinate_convention [--steps 1000] [--seeds 0 1 2] [--jobs 2]

The `table1` protocol (96 px short side, 3 x 128, full-batch Adam, off-grid PSNR at 2x) on its
calibration images (coffee, chelsea) and test images (Kodak kodim01-08), each method at its
registry lr (the 3 x 128 tuned values, ``--tuned``). Only the coordinates change: ``x' = lo + (x
+ 1) / 2 (hi - lo)`` with ``(lo, hi)`` = (-1, 1), (0, 1) or (0, size) (pixel units of the short
side's grid, the long side scaled alike); the off-grid evaluation maps its coordinates the same
way. `relu+rei-kink` places its kinks in the same box (``rei_options.domain``), so every kink
crosses the data under each convention; plain relu keeps PyTorch's default init, whose kinks sit
near the origin: in [0, 1] and pixel units many of them miss the data.

Every run is one JSON record under ``benchmarks/results/coordinate_convention/runs/`` (a rerun
continues where it stopped); the summary goes to ``benchmarks/results/coordinate_convention.json``
and ``.md`` with the machine noted.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

from benchmarks.frame import (DATA, RESULTS, TUNED_W128, command, in_processes, parser,
                              write_result)

METHODS = ("relu", "relu+rei-kink")


def conventions(size: int) -> dict[str, tuple[float, float]]:
    """Name -> the box ``(lo, hi)`` the coordinates are mapped to."""
    return {"[-1, 1]": (-1.0, 1.0), "[0, 1]": (0.0, 1.0), f"pixels [0, {size}]": (0.0, float(size))}


def _map(coords, box: tuple[float, float]):
    lo, hi = box
    return lo + (coords + 1.0) * 0.5 * (hi - lo)


def run_one(job: dict) -> dict:
    """One fit: ``job`` = method, image, convention, box, seed, lr, steps, size, data."""
    import torch

    torch.set_num_threads(1)
    from inrank import build, fit
    from inrank.bench.run import image_signal, resolve_image
    from inrank.metrics import psnr
    from inrank.nn.registry import preset
    from inrank.train.evaluate import image_ssim, predict

    source = resolve_image(job["image"], Path(job["data"]))
    box = tuple(job["box"])
    signal = image_signal(source, job["size"], job["image"])
    signal = replace(signal, coords=_map(signal.coords, box))
    cfg = preset(job["method"]).config
    overrides = ({"rei_options": {**cfg.rei_options, "domain": box}}
                 if cfg.first_init == "rei" else {})
    model = build(job["method"], signal.in_dim, signal.out_dim, width=128, depth=3,
                  seed=job["seed"], **overrides)
    t0 = time.perf_counter()
    res = fit(model, signal, steps=job["steps"], lr=job["lr"], seed=job["seed"], progress=False,
              device="cpu")
    fine = image_signal(source, 2 * job["size"], f"{job['image']}@2x")
    fine = replace(fine, coords=_map(fine.coords, box))
    model.eval()
    pred = predict(model, fine.coords).float()
    return {**{k: job[k] for k in ("method", "image", "role", "convention", "seed", "lr", "steps",
                                   "size")}, "box": list(box),
            "final_psnr": res.final_psnr, "best_psnr": res.best_psnr,
            "offgrid_psnr": psnr(pred, fine.values), "offgrid_ssim": image_ssim(fine, pred),
            "wall_seconds": time.perf_counter() - t0}


def _record_path(job: dict) -> Path:
    conv = job["convention"].replace(" ", "").replace("[", "").replace("]", "").replace(",", "_")
    return RESULTS / "coordinate_convention" / "runs" / (
        f"{job['method']}-{job['image']}-{conv}-s{job['seed']}-{job['steps']}-lr{job['lr']:g}.json")


def summarise(rows: list[dict]) -> list[dict]:
    """Per (role, convention, method): mean +- std of fit and off-grid PSNR over images x seeds,
    and kink - relu paired per image (seeds averaged) with a 95% Student-t interval."""
    from inrank.report.comparison import mean_interval

    out = []
    keys = dict.fromkeys((r["role"], r["convention"]) for r in rows)
    for role, conv in keys:
        sub = [r for r in rows if r["role"] == role and r["convention"] == conv]
        entry = {"role": role, "convention": conv}
        for m in METHODS:
            for metric in ("final_psnr", "offgrid_psnr"):
                vals = [r[metric] for r in sub if r["method"] == m]
                entry[f"{m}:{metric}"] = (statistics.fmean(vals), statistics.stdev(vals)
                                          if len(vals) > 1 else 0.0, len(vals)) if vals else None
        for metric in ("final_psnr", "offgrid_psnr"):
            per = {m: {} for m in METHODS}
            for r in sub:
                per[r["method"]].setdefault(r["image"], []).append(r[metric])
            diffs = [statistics.fmean(per[METHODS[1]][i]) - statistics.fmean(per[METHODS[0]][i])
                     for i in per[METHODS[1]] if i in per[METHODS[0]]]
            if diffs:
                d = mean_interval(diffs)
                entry[f"diff:{metric}"] = (d["mean"], d["low"], d["high"], d["n"])
        out.append(entry)
    return out


def render(payload: dict) -> str:
    from inrank.report.machine import machine_line
    from inrank.report.tables import markdown_table

    p = payload["protocol"]
    cell = lambda v: "-" if v is None else f"{v[0]:.2f} ± {v[1]:.2f}"  # noqa: E731
    diff = lambda v: "-" if v is None else f"{v[0]:+.2f} [{v[1]:+.2f}, {v[2]:+.2f}]"  # noqa: E731
    body = [[e["role"], e["convention"]] + [cell(e.get(f"{m}:{k}")) for k in
                                             ("final_psnr", "offgrid_psnr") for m in METHODS]
            + [diff(e.get("diff:final_psnr")), diff(e.get("diff:offgrid_psnr"))]
            for e in payload["summary"]]
    run = command(__file__, "--steps", p["steps"], "--seeds", *p["seeds"], "--images", *p["test"])
    lines = [
        "# Coordinate convention: where the paper's first-layer REI pays", "",
        f"Generated by `{run}` "
        f"({payload['done']} of {payload['planned']} runs). " + machine_line(payload["machine"]),
        "",
        f"{p['size']} px short side, 3 x 128, {p['steps']} full-batch Adam steps, each method at "
        f"its registry lr ({', '.join(f'{m} {lr:g}' for m, lr in p['lrs'].items())}), seeds "
        f"{', '.join(map(str, p['seeds']))}; calibration images {', '.join(p['calibration'])}, "
        f"test images {', '.join(p['test'])}. Off-grid: evaluated at 2x on the image at that "
        "size. Mean ± std over images x seeds; kink - relu paired per image (seeds averaged), "
        "95% interval.", "",
        markdown_table(["images", "coordinates", "relu fit", "kink fit", "relu off-grid",
                        "kink off-grid", "kink - relu fit", "kink - relu off-grid"], body,
                       align="llrrrrrr")]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, steps=1000, seeds=[0, 1, 2], jobs=2, data=DATA, tuned=TUNED_W128)
    ap.add_argument("--images", nargs="+", default=None, help="replace the test images")
    args = ap.parse_args(argv)
    from inrank.nn.tuned_state import tuned_values

    with tuned_values(args.tuned):
        return _compare(args)


def _compare(args) -> int:
    from inrank.bench import suite
    from inrank.files import write_json
    from inrank.nn.registry import preset

    s = suite("table1")
    lrs = {m: preset(m).lr for m in METHODS}
    roles = [("calibration", i) for i in s.calibration] + [("test", i) for i in (args.images or s.images)]
    jobs = [dict(method=m, image=i, role=role, convention=c, box=box, seed=seed, lr=lrs[m],
                 steps=args.steps, size=s.size, data=str(args.data))
            for role, i in roles for c, box in conventions(s.size).items()
            for seed in args.seeds for m in METHODS]
    todo = [j for j in jobs if not _record_path(j).is_file()]
    print(f"coordinate_convention: {len(jobs) - len(todo)} of {len(jobs)} runs found, "
          f"{len(todo)} to run", file=sys.stderr)
    from tqdm.auto import tqdm

    with tqdm(total=len(todo), unit="run") as bar:
        for (job,), rec in in_processes(run_one, [(j,) for j in todo], jobs=args.jobs):
            write_json(_record_path(job), rec)
            bar.update()
    rows = [json.loads(_record_path(j).read_text()) for j in jobs if _record_path(j).is_file()]
    payload = {"protocol": {"size": s.size, "steps": args.steps, "seeds": args.seeds, "lrs": lrs,
                            "calibration": list(s.calibration),
                            "test": list(args.images or s.images),
                            "conventions": conventions(s.size)},
               "planned": len(jobs), "done": len(rows), "summary": summarise(rows),
               "rows": rows}
    write_result("coordinate_convention", payload, render)
    return 0


if __name__ == "__main__":
    sys.exit(main())
