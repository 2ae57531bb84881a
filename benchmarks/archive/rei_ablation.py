"""Ablation of the Rank-Expanding Initialization variants against relu, pe, rff and siren (issue 3).

One command:

    python -m benchmarks.archive.rei_ablation                 # profile cpu without a GPU, full with one
    python -m benchmarks.archive.rei_ablation --quick         # smoke version (32 px, 300 steps, ~2 min)

Profiles (every run seeded: init seed 0, full-batch Adam, no schedule):

* ``cpu`` (measured on 2 cores, about 50 min): the 64 px astronaut and the quick suite's Kodak
  images at the quick suite's own size (32 px short side), 3000 steps, PSNR at 300 / 1000 / 3000;
* ``full`` (a GPU): the same with the Kodak images at 64 px short side, plus kodim13;
* ``quick``: 32 px, 300 steps, astronaut and kodim23 (checks the pipeline).

Learning rates: every library preset (relu, relu+rei, pe, rff, siren) runs at its registry lr
(``inrank.preset(name).lr``; the committed results ran at the since-removed ``tuned_lr.json``);
rows that are not presets (the other REI variants, ``pe-L6``) get the same protocol here: the
best of a 3-point grid on ``coffee`` at 32 px after 500 steps (not an image of the table).

Every table row records the effective and numerical rank of every hidden layer at init and after
training. A last stage varies the knobs of the chosen ``triangle`` variant on the astronaut
(1000 steps). Writes ``benchmarks/archive/results/rei_ablation.json`` and ``.md`` (``--quick``:
``rei_ablation_quick.*``); finished runs are appended to ``$OUT/rei_ablation.jsonl`` (default
``/tmp``) as they end.
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import torch

from inrank.report.machine import machine

from benchmarks.archive.rei_ablation_report import plot, render
from benchmarks.frame import ARCHIVE, DATA, in_processes, parser

QUICK_SUITE = ("kodim01", "kodim05", "kodim23")  # the bench quick suite's images
SWEEP_IMAGE, SWEEP_SIZE, SWEEP_STEPS = "coffee", 32, 500  # the lr-sweep suite's protocol
GRID = (3e-4, 1e-3, 3e-3)
# method -> (preset, overrides). Rows without overrides are library presets and use the library's
# registry lr; the others are swept on GRID. "relu+rei" is the preset, i.e. the chosen variant.
METHODS: dict[str, tuple[str, dict]] = {
    "relu": ("relu", {}),
    "pe": ("pe", {}),
    "pe-L6": ("pe", {"pe_octaves": 6}),
    "rff": ("rff", {}),
    "siren": ("siren", {}),
    "rei:kink": ("relu+rei", {"rei_variant": "kink"}),
    "rei:zigzag": ("relu+rei", {"rei_variant": "zigzag"}),
    "rei:triangle(gain=1)": ("relu+rei", {"rei_variant": "triangle", "rei_options": {"gain": 1.0}}),
    "relu+rei": ("relu+rei", {}),
}


def _tri(lr: float, **options) -> tuple[str, dict, float]:
    return ("relu+rei", {"rei_variant": "triangle", "rei_options": options}, lr)


def knob_runs() -> dict[str, tuple[str, dict, float]]:
    """Variations around the chosen variant (astronaut, 1000 steps)."""
    runs = {f"triangle gain={g:g} lr={lr:g}": _tri(lr, gain=float(g))
            for g in (1, 3, 10, 30) for lr in (2e-4, 5e-4, 1e-3)}
    runs.update({f"triangle directions={k}": _tri(5e-4, directions=k) for k in (2, 4, 8, 12)})
    runs.update({f"triangle slope={s:g}": _tri(5e-4, slope=s) for s in (0.25, 4.0)})
    runs["triangle directions=2 axis-aligned"] = _tri(5e-4, directions=2, rotate=False)
    runs.update({f"zigzag gain={g:g}": ("relu+rei", {"rei_variant": "zigzag",
                                                      "rei_options": {"gain": float(g)}}, 5e-4)
                 for g in (3, 10)})
    runs.update({f"kink scale={s:g}": ("relu+rei", {"rei_variant": "kink",
                                                     "rei_options": {"scale": float(s)}}, 1e-3)
                 for s in (3, 10)})
    return runs


def _signal(image: str, size: int, data: Path):
    import inrank

    if image.startswith("kodim"):
        return inrank.load_image(str(data / f"{image}.png"), size=size)
    return inrank.load_image(image, size=size)


def _ranks(model, coords) -> dict:
    from inrank.diagnosis.rank import effective_rank, numerical_rank

    feats = model.hidden_features(coords)[1:]
    return {"effective": [round(effective_rank(h), 1) for h in feats],
            "numerical": [numerical_rank(h) for h in feats]}


def run_one(task: dict) -> dict:
    """Fit one (method, image, lr); return PSNR checkpoints and hidden-layer ranks."""
    import inrank
    from inrank.errors import DivergedError

    torch.set_num_threads(1)
    sig = _signal(task["image"], task["size"], Path(task["data"]))
    model = inrank.build(task["preset"], 2, sig.out_dim, seed=0, **task["overrides"])
    rec = {k: task[k] for k in ("stage", "method", "image", "lr", "steps")}
    rec["rank_init"] = _ranks(model, sig.coords) if task["ranks"] else None
    t0 = time.perf_counter()
    try:
        res = inrank.fit(model, sig, steps=task["steps"], lr=task["lr"], progress=False,
                         device=task["device"], eval_every=task["eval_every"])
        history, rec["status"] = res.history, "ok"
    except DivergedError as err:
        history, rec["status"] = err.result.history, "diverged"
    rec["seconds"] = round(time.perf_counter() - t0, 1)
    model.cpu()
    rec["psnr"] = {str(h["step"]): round(h["psnr"], 2) for h in history
                   if h["step"] in task["checkpoints"]}
    rec["best_psnr"] = round(max((h["psnr"] for h in history), default=float("nan")), 2)
    rec["rank_trained"] = _ranks(model, sig.coords) if task["ranks"] else None
    return rec


def _pool_map(tasks: list[dict], jobs: int, log) -> list[dict]:
    """Every task's record (:func:`run_one`), in ``jobs`` processes, each logged as it ends."""
    out = []
    for _, rec in in_processes(run_one, [(t,) for t in tasks], jobs=jobs):
        out.append(rec)
        log(rec)
    return out


def _knobs(profile: str) -> dict[str, tuple[str, dict, float]]:
    runs = knob_runs()
    if profile == "full":
        return runs
    keep = {"cpu": ["triangle gain=1 lr=0.0005", "triangle gain=3 lr=0.0005", "triangle gain=30 lr=0.0005",
                    "triangle directions=4", "triangle directions=8",
                    "triangle directions=2 axis-aligned", "triangle slope=4"],
            "quick": ["triangle gain=3 lr=0.0005"]}[profile]
    return {k: runs[k] for k in keep}


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__, device="auto", data=DATA / "kodak")
    p.add_argument("--profile", choices=("full", "cpu", "quick"), default=None,
                   help="cpu: 64 px astronaut + quick suite at 32 px, 3000 steps (default without a "
                        "GPU; ~50 min on 2 cores); full: everything at 64 px (default with a GPU); "
                        "quick: 32 px, 300 steps smoke")
    p.add_argument("--quick", action="store_true", help="same as --profile quick")
    p.add_argument("--jobs", type=int, default=None, help="parallel processes (default: 2 on CPU, 12 on GPU)")
    p.add_argument("--out", type=Path, default=ARCHIVE)
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # workers set it too; keeps the machine line honest
    cuda = torch.cuda.is_available() and args.device != "cpu"
    device = "cuda" if cuda else "cpu"
    jobs = args.jobs or (12 if cuda else 2)
    profile = "quick" if args.quick else args.profile or ("full" if cuda else "cpu")
    methods = METHODS
    if profile == "full":
        steps, checkpoints = 3000, (300, 1000, 3000)
        sizes = {"astronaut": 64, **{k: 64 for k in QUICK_SUITE + ("kodim13",)}}
    elif profile == "cpu":
        steps, checkpoints = 3000, (300, 1000, 3000)
        sizes = {"astronaut": 64, **{k: 32 for k in QUICK_SUITE}}
    else:
        steps, checkpoints = 300, (100, 300)
        sizes = {"astronaut": 32, "kodim23": 32}
    knobs = _knobs(profile)
    for img in sizes:
        if img.startswith("kodim") and not (args.data / f"{img}.png").is_file():
            p.error(f"{args.data / (img + '.png')} not found; pass --data DIR holding the Kodak PNGs")
    import inrank
    from inrank.bench.selection import best_lrs

    library_lr = {m: inrank.preset(m).lr for m in inrank.presets()}  # the registry's lrs
    base = dict(data=str(args.data), device=device)
    stem = "rei_ablation_quick" if profile == "quick" else "rei_ablation"
    args.out.mkdir(parents=True, exist_ok=True)
    log_file = open(Path(os.environ.get("OUT", "/tmp")) / f"{stem}.jsonl", "w")  # partial results

    def log(rec: dict) -> None:
        log_file.write(json.dumps(rec) + "\n")
        log_file.flush()
        print(f"[{rec['stage']}] {rec['method']:<28} {rec['image']:<10} lr={rec['lr']:<8g} "
              f"{rec['status']:<8} {rec['psnr']} {rec['seconds']} s", flush=True)

    t_start = time.time()
    swept = [m for m, (_, ov) in methods.items() if ov]
    sweep_steps = SWEEP_STEPS if profile != "quick" else 100
    sweep_tasks = [dict(base, stage="lr", method=m, preset=methods[m][0], overrides=methods[m][1],
                        image=SWEEP_IMAGE, size=SWEEP_SIZE, lr=lr, steps=sweep_steps,
                        checkpoints=(sweep_steps,), eval_every=sweep_steps, ranks=False)
                   for m in swept for lr in GRID]
    sweep = _pool_map(sweep_tasks, jobs, log)
    swept_lr = best_lrs([{"run": {"method": r["method"], "lr": r["lr"]}, "status": r["status"],
                          "metrics": {"final_psnr": r["psnr"].get(str(sweep_steps))}} for r in sweep])["lr"]
    tuned = {m: swept_lr[m] if ov else library_lr[pr] for m, (pr, ov) in methods.items()}
    lr_source = {m: f"best of {'/'.join(f'{g:g}' for g in GRID)} here" if ov else "registry lr"
                 for m, (_, ov) in methods.items()}
    eval_every = math.gcd(*checkpoints)
    tasks = [dict(base, stage="table", method=m, preset=pr, overrides=ov, image=img, size=size,
                  lr=tuned[m], steps=steps, checkpoints=checkpoints, eval_every=eval_every, ranks=True)
             for m, (pr, ov) in methods.items() for img, size in sizes.items()
             if not (m == "pe-L6" and size != 64)]  # 6 octaves is the 64 px grid's Nyquist choice
    kstep = min(1000, steps)
    tasks += [dict(base, stage="knob", method=k, preset=pr, overrides=ov, image="astronaut",
                   size=sizes["astronaut"], lr=lr, steps=kstep,
                   checkpoints=tuple(c for c in checkpoints if c <= kstep),
                   eval_every=math.gcd(kstep, eval_every), ranks=True)
              for k, (pr, ov, lr) in knobs.items()]
    tasks.sort(key=lambda t: -t["steps"])  # long runs first keeps the pool busy
    results = _pool_map(tasks, jobs, log)
    payload = {"machine": machine(), "device": device, "jobs": jobs, "profile": profile,
               "seconds": round(time.time() - t_start, 1),
               "protocol": {"sizes": sizes, "steps": steps, "checkpoints": list(checkpoints),
                            "sweep_steps": sweep_steps, "sweep_images": [SWEEP_IMAGE],
                            "sweep_size": SWEEP_SIZE, "images": list(sizes), "width": 256,
                            "depth": 3, "seed": 0, "library_lr": "inrank.preset(name).lr",
                            "optimizer": "Adam (torch defaults), full batch, no schedule"},
               "methods": {m: {"preset": pr, "overrides": ov,
                               "lr_grid": list(GRID) if ov else [], "lr_source": lr_source[m]}
                           for m, (pr, ov) in methods.items()},
               "tuned_lr": tuned, "lr_sweep": sweep, "results": results, "stem": stem}
    from inrank.files import write_json, write_text

    write_json(args.out / f"{stem}.json", payload)
    write_text(args.out / f"{stem}.md", render(payload))
    plot(payload, args.out / f"{stem}.png")
    log_file.close()
    print(f"wrote {args.out / stem}.json and .md in {payload['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
