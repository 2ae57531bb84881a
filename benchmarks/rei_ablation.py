"""Ablation of the Rank-Expanding Initialization variants against relu, pe, rff and siren (issue 3).

One command:

    python benchmarks/rei_ablation.py --profile full  # 64 px, 3000 steps (a GPU: minutes)
    python benchmarks/rei_ablation.py --profile cpu   # 32 px, 1000 steps (untimed; est. ~25 min, 2 idle cores)
    python benchmarks/rei_ablation.py --quick         # smoke version (32 px, 300 steps)

Three stages, every run seeded (init seed 0, full batch Adam, no schedule):

1. learning-rate sweep of every method on skimage ``camera`` and ``coffee`` (not in the table),
   1000 steps; the lr with the best mean PSNR is used below;
2. the table: every method on the 64 px astronaut and the quick suite (Kodak kodim01, 05, 13, 23,
   64 px short side), PSNR at 300 / 1000 / 3000 steps, effective and numerical rank of every
   hidden layer at init and after training;
3. knobs of the chosen ``triangle`` variant (gain, lr, directions, slope, ...) on the astronaut.

Writes ``benchmarks/results/rei_ablation.json`` and ``.md`` (``--quick``: ``rei_ablation_quick.*``). The ``full`` profile
is about 200k Adam steps on 64 px images: hours on 2 CPU cores, so the CPU default is ``cpu``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import machine  # noqa: E402
from rei_ablation_report import render  # noqa: E402

QUICK_SUITE = ("kodim01", "kodim05", "kodim13", "kodim23")
SWEEP_IMAGES = ("camera", "coffee")
# method -> (preset, overrides, lr grid). "relu+rei" is the preset, i.e. the chosen variant.
METHODS: dict[str, tuple[str, dict, tuple[float, ...]]] = {
    "relu": ("relu", {}, (3e-4, 1e-3, 3e-3)),
    "pe": ("pe", {}, (3e-4, 1e-3, 3e-3)),
    "pe-L6": ("pe", {"pe_octaves": 6}, (3e-4, 1e-3, 3e-3)),
    "rff": ("rff", {}, (3e-4, 1e-3, 3e-3)),
    "siren": ("siren", {}, (3e-5, 1e-4, 3e-4)),
    "rei:kink": ("relu+rei", {"rei_variant": "kink"}, (3e-4, 1e-3, 3e-3)),
    "rei:zigzag": ("relu+rei", {"rei_variant": "zigzag"}, (3e-4, 1e-3, 3e-3)),
    "rei:triangle(gain=1)": ("relu+rei", {"rei_variant": "triangle", "rei_options": {"gain": 1.0}},
                             (3e-4, 1e-3, 3e-3)),
    "relu+rei": ("relu+rei", {}, (2e-4, 5e-4, 1e-3)),
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
    from inrank.rank import effective_rank, numerical_rank

    feats = model.hidden_features(coords)[1:]
    return {"effective": [round(effective_rank(h), 1) for h in feats],
            "numerical": [numerical_rank(h) for h in feats]}


def run_one(task: dict) -> dict:
    """Fit one (method, image, lr); return PSNR checkpoints and hidden-layer ranks."""
    import inrank
    from inrank.errors import DivergedError

    torch.set_num_threads(1)
    sig = _signal(task["image"], task["size"], Path(task["data"]))
    model = inrank.build(task["preset"], 2, sig.channels, seed=0, **task["overrides"])
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
    if jobs <= 1:
        out = []
        for t in tasks:
            out.append(run_one(t))
            log(out[-1])
        return out
    import torch.multiprocessing as mp

    out = []
    with mp.get_context("spawn").Pool(jobs) as pool:
        for rec in pool.imap_unordered(run_one, tasks):
            out.append(rec)
            log(rec)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--profile", choices=("full", "cpu", "quick"), default=None,
                   help="full: 64 px, 3000 steps, every run (default with a GPU); cpu: 32 px, 1000 "
                        "steps, 2-lr sweep on camera, 4 knobs (default without a GPU; untimed, estimated "
                        "~25 min on 2 idle cores); quick: 32 px, 300 steps smoke")
    p.add_argument("--quick", action="store_true", help="same as --profile quick")
    p.add_argument("--device", default="auto", help="auto (CUDA if available), cpu, cuda")
    p.add_argument("--jobs", type=int, default=None, help="parallel processes (default: 2 on CPU, 12 on GPU)")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "kodak",
                   help="folder with the Kodak PNGs")
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)
    torch.set_num_threads(1)  # workers set it too; keeps the machine line honest
    cuda = torch.cuda.is_available() and args.device != "cpu"
    device = "cuda" if cuda else "cpu"
    jobs = args.jobs or (12 if cuda else 2)
    profile = "quick" if args.quick else args.profile or ("full" if cuda else "cpu")
    methods = dict(METHODS)
    if profile == "full":
        size, steps, sweep_steps, checkpoints = 64, 3000, 1000, (300, 1000, 3000)
        images, sweep_images, knobs = ("astronaut",) + QUICK_SUITE, SWEEP_IMAGES, knob_runs()
    else:
        methods.pop("pe-L6")  # 6 octaves is the 64 px Nyquist choice; at 32 px it is not
        methods = {m: (pr, ov, grid[:2]) for m, (pr, ov, grid) in methods.items()}
        sweep_images = ("camera",)
        if profile == "cpu":
            size, steps, sweep_steps, checkpoints = 32, 1000, 300, (300, 1000)
            images = ("astronaut",) + QUICK_SUITE
            keep = [f"triangle gain={g} lr=0.0005" for g in (1, 3, 10, 30)]
        else:
            size, steps, sweep_steps, checkpoints = 32, 300, 300, (100, 300)
            images = ("astronaut", "kodim23")
            keep = ["triangle gain=1 lr=0.0005", "triangle gain=10 lr=0.0005"]
        knobs = {k: v for k, v in knob_runs().items() if k in keep}
    for img in images:
        if img.startswith("kodim") and not (args.data / f"{img}.png").is_file():
            p.error(f"{args.data / (img + '.png')} not found; pass --data DIR holding the Kodak PNGs")
    base = dict(size=size, data=str(args.data), device=device)
    stem = "rei_ablation_quick" if profile == "quick" else "rei_ablation"
    args.out.mkdir(parents=True, exist_ok=True)
    log_file = open(Path(os.environ.get("OUT", "/tmp")) / f"{stem}.jsonl", "w")  # partial results

    def log(rec: dict) -> None:
        log_file.write(json.dumps(rec) + "\n")
        log_file.flush()
        print(f"[{rec['stage']}] {rec['method']:<28} {rec['image']:<10} lr={rec['lr']:<8g} "
              f"{rec['status']:<8} {rec['psnr']}", flush=True)

    t_start = time.time()
    sweep_tasks = [dict(base, stage="lr", method=m, preset=pr, overrides=ov, image=img, lr=lr,
                        steps=sweep_steps, checkpoints=(sweep_steps,),
                        eval_every=math.gcd(sweep_steps, 100), ranks=False)
                   for m, (pr, ov, grid) in methods.items() for lr in grid for img in sweep_images]
    sweep = _pool_map(sweep_tasks, jobs, log)
    tuned = {}
    for m, (_, _, grid) in methods.items():
        def score(lr: float, m=m) -> float:
            vals = [r["psnr"].get(str(sweep_steps), -1.0) if r["status"] == "ok" else -1.0
                    for r in sweep if r["method"] == m and r["lr"] == lr]
            return sum(vals) / len(vals)
        tuned[m] = max(grid, key=score)
    eval_every = math.gcd(*checkpoints)
    tasks = [dict(base, stage="table", method=m, preset=pr, overrides=ov, image=img, lr=tuned[m],
                  steps=steps, checkpoints=checkpoints, eval_every=eval_every, ranks=True)
             for m, (pr, ov, _) in methods.items() for img in images]
    kstep = min(1000, steps)
    tasks += [dict(base, stage="knob", method=k, preset=pr, overrides=ov, image="astronaut", lr=lr,
                   steps=kstep, checkpoints=tuple(c for c in checkpoints if c <= kstep),
                   eval_every=math.gcd(kstep, eval_every), ranks=True)
              for k, (pr, ov, lr) in knobs.items()]
    tasks.sort(key=lambda t: -t["steps"])  # long runs first keeps the pool busy
    results = _pool_map(tasks, jobs, log)
    payload = {"machine": machine(), "device": device, "jobs": jobs, "profile": profile,
               "seconds": round(time.time() - t_start, 1),
               "protocol": {"size": size, "steps": steps, "checkpoints": list(checkpoints),
                            "sweep_steps": sweep_steps, "sweep_images": list(sweep_images),
                            "images": list(images), "width": 256, "depth": 3, "seed": 0,
                            "optimizer": "Adam (torch defaults), full batch, no schedule"},
               "methods": {m: {"preset": pr, "overrides": ov, "lr_grid": list(g)}
                           for m, (pr, ov, g) in methods.items()},
               "tuned_lr": tuned, "lr_sweep": sweep, "results": results}
    from inrank._io import write_json, write_text

    write_json(args.out / f"{stem}.json", payload)
    write_text(args.out / f"{stem}.md", render(payload))
    print(f"wrote {args.out / stem}.json and .md in {payload['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
