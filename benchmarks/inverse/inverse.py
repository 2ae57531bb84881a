"""Which prior solves an inverse problem best: relu, relu+rei, relu+rei-kink, pe, siren, wire or
finer, against the classical baseline? (issue 26, item 3)

    python -m benchmarks.inverse.inverse            # calibration, then test; resumable, 2 processes
    python -m benchmarks.inverse.inverse --optimizers adam   # Adam only
    python -m benchmarks.inverse.inverse --render   # only rewrite the .md and figure from the .json

Tasks (``inrank.make_task``), on 48 x 48 centre crops (48 px short side), the network queried
on the full grid, trained on the measurements only: ``ct`` (20 parallel-beam angles over
[0, 180); gray images; baseline FBP, ``iradon`` ramp filter), ``superres`` (4x area
downsampling; baseline bicubic), ``denoise`` (Gaussian noise, sigma 0.1; baseline
``denoise_tv_chambolle``), ``denoise_poisson`` (Poisson-like noise, 100 photons at value 1:
standard deviation 0.1 at white; baseline the same, its weight chosen separately),
``inpaint25`` / ``inpaint10`` (25% / 10% of pixels observed;
baseline biharmonic inpainting; PSNR on the unseen pixels). Every network is 3 x 128, Adam or
Muon (``name (muon)``), 250 full-batch steps, seed 0, the task's noise and mask seed 0.

Calibration signals are separate from the reported ones: each method's lr (the registry's
``lr_for(optimizer, width=128)`` under the 3 x 128 tuned values, ``--tuned``; lr and muon_lr
alike, times a factor) and the TV weight
(0.05, 0.1, 0.2) are chosen per task on ``coffee`` only. The factor grid starts at 0.3, 1, 3
and grows outward one step at a time (0.1, 0.03 / 10, 30) while the best factor sits on its
edge, so a method is not judged at an lr the grid cut short; a choice at 0.03 or 30 is still
flagged (edge). the tables report the test images (kodim03, kodim05, kodim23; for
CT the Shepp-Logan phantom, pydicom's real slice CT_small.dcm, kodim03, kodim05). Reported PSNRs are of the prediction clipped to
[0, 1], as the baselines are (final step; ``best`` is the best evaluated step, which needs the
truth and is shown only to size the early-stopping gap).

Writes ``benchmarks/results/inverse.json``, ``.md`` and ``inverse.png`` (ground truth |
baseline | methods on one test image per task, one colour scale); run records under
``benchmarks/results/inverse/runs/``.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from benchmarks.frame import (RESULTS, TUNED_W128, command, in_processes, parser, rerender,
                              write_result)

OUT = RESULTS / "inverse"

TASKS = {"ct": ("ct", {"angles": 20}), "superres": ("superres", {"factor": 4}),
         "denoise": ("denoise", {"noise": 0.1}),
         "denoise_poisson": ("denoise", {"noise": 0.1, "noise_model": "poisson"}),
         "inpaint25": ("inpaint", {"keep": 0.25}),
         "inpaint10": ("inpaint", {"keep": 0.10})}
METHODS = ("relu", "relu+rei", "relu+rei-kink", "pe", "siren", "wire", "finer")
#: each method with Adam (its name) and with Muon (``NAME (muon)``)
LABELS = METHODS + tuple(f"{m} (muon)" for m in METHODS)
CALIBRATION = "coffee"
TEST = ("kodim03", "kodim05", "kodim23")
TEST_CT = ("shepp_logan_phantom", "ct_small", "kodim03", "kodim05")
FIGURE_IMAGE = {"ct": "shepp_logan_phantom"}  # other tasks: kodim05
LR_FACTORS = (0.3, 1.0, 3.0)  # the starting grid
#: how far the grid may grow, in order, below and above the starting grid
LR_GROW_DOWN, LR_GROW_UP = (0.1, 0.03), (10.0, 30.0)
TV_WEIGHTS = (0.05, 0.1, 0.2)
SIZE, WIDTH, DEPTH, STEPS, SEED = 48, 128, 3, 250, 0


def test_images(task: str) -> tuple[str, ...]:
    return TEST_CT if task == "ct" else TEST


def make(task: str, image: str):
    """The task on a ``SIZE x SIZE`` centre crop of ``image`` (gray for CT)."""
    from inrank import load_image
    from inrank.bench.run import resolve_image
    from inrank.operators.tasks import crop_task

    if image == "ct_small":  # a real CT slice (pydicom's test file; the ct extra)
        from inrank.signals import load_ct_slice

        sig = load_ct_slice(size=SIZE)
    else:
        sig = load_image(resolve_image(image), size=SIZE)
    sig.name = image
    kind, settings = TASKS[task]
    return crop_task(kind, sig, SIZE, seed=SEED, **settings)


def run_id(task: str, image: str, label: str, factor: float) -> str:
    name = label.replace("+", "-").replace(" (muon)", "-muon")
    return f"{task}-{image}-{name}-lr{factor:g}"


def method_and_optimizer(label: str) -> tuple[str, str]:
    """``"relu+rei (muon)"`` -> ``("relu+rei", "muon")``; a bare name is Adam."""
    return (label[:-7], "muon") if label.endswith(" (muon)") else (label, "adam")


def run_one(task: str, image: str, label: str, factor: float, save: bool) -> dict:
    """Fit ``label`` (a method, with Muon if it says so) to ``task`` on ``image`` at ``factor``
    x its lrs; write its record."""
    import torch

    torch.set_num_threads(1)
    from inrank import build, preset, psnr, ssim
    from inrank.files import save_png, write_json

    t = make(task, image)
    method, optimizer = method_and_optimizer(label)
    lrs = preset(method).lr_for(optimizer, width=WIDTH)
    lr = lrs["lr"] * factor
    muon_lr = None if lrs["muon_lr"] is None else lrs["muon_lr"] * factor
    t0 = time.perf_counter()
    res = t.solve(build(method, 2, t.signal.out_dim, width=WIDTH, depth=DEPTH, seed=SEED,
                        optimizer=optimizer),
                  steps=STEPS, lr=lr, muon_lr=muon_lr, optimizer=optimizer, progress=False,
                  seed=SEED)
    truth, pred = t.signal.values, res.prediction.clamp(0, 1)
    image_pred, image_truth = t.signal.to_image(pred), t.signal.to_image(truth)
    rec = {"id": run_id(task, image, label, factor), "task": task, "image": image,
           "method": label, "optimizer": optimizer, "lr_factor": factor, "lr": lr,
           "muon_lr": muon_lr, "settings": t.describe(),
           "psnr": psnr(pred, truth), "psnr_unclipped": res.final_psnr,
           "best_psnr": res.best_psnr, "ssim": ssim(image_pred, image_truth),
           "wall_seconds": time.perf_counter() - t0, "seconds_per_step": res.seconds_per_step}
    unseen = t.operator.unseen()
    if unseen is not None:
        rec["unseen_psnr"] = psnr(pred[unseen], truth[unseen])
    if save:
        save_png(OUT / "recon" / f"{rec['id']}.png", image_pred)
    write_json(OUT / "runs" / f"{rec['id']}.json", rec)
    return rec


def tv_weight_of(tv: float | dict, task: str) -> float | None:
    """The TV weight chosen for ``task`` (one number in results written before the Poisson
    task: it was chosen on the Gaussian one); None for a task that is not denoising."""
    if TASKS[task][0] != "denoise":
        return None
    return tv[task] if isinstance(tv, dict) else tv


def baselines(task: str, image: str, tv_weight: float | None) -> dict:
    """The classical baseline's PSNR and SSIM (clipped to [0, 1]) on ``image``."""
    import numpy as np
    import torch

    from inrank import psnr, ssim

    t = make(task, image)
    if TASKS[task][0] == "denoise":
        from skimage.restoration import denoise_tv_chambolle

        noisy = t.measurements.numpy().reshape(*t.signal.shape, -1).astype(np.float64)
        base = torch.from_numpy(np.clip(denoise_tv_chambolle(noisy, weight=tv_weight,
                                                             channel_axis=-1), 0, 1)
                                .reshape(len(t.signal), -1).astype(np.float32))
    else:
        base = t.baseline()
    truth = t.signal.values
    out = {"name": t.baseline_name, "psnr": psnr(base, truth),
           "ssim": ssim(t.signal.to_image(base), t.signal.to_image(truth)),
           "image": t.signal.to_image(base), "truth": t.signal.to_image(truth)}
    unseen = t.operator.unseen()
    if unseen is not None:
        out["unseen_psnr"] = psnr(base[unseen], truth[unseen])
    return out


def run_all(specs: list[tuple], jobs: int) -> dict[str, dict]:
    """Records of ``specs`` (task, image, method, factor, save): found ones read back, the
    rest run in ``jobs`` processes (one torch thread each)."""
    found, pending = {}, []
    for spec in specs:
        path = OUT / "runs" / f"{run_id(*spec[:4])}.json"
        if path.is_file():
            found[path.stem] = json.loads(path.read_text())
        else:
            pending.append(spec)
    print(f"{len(found)} of {len(specs)} runs found, {len(pending)} to run", file=sys.stderr)
    for i, (_, rec) in enumerate(in_processes(run_one, pending, jobs=jobs), 1):
        found[rec["id"]] = rec
        print(f"[{i}/{len(pending)}] {rec['id']}: {rec['psnr']:.2f} dB "
              f"({rec['wall_seconds']:.0f} s)", file=sys.stderr)
    return found


def best_factor(calib: dict[str, dict], task: str, label: str, grid: list[float]) -> float:
    """The factor of ``grid`` whose calibration run scores best."""
    return max(grid, key=lambda f: score(calib[run_id(task, CALIBRATION, label, f)]))


def choose_factors(labels: list[str], jobs: int) -> tuple[dict, dict]:
    """Calibration runs of every task and label on :data:`LR_FACTORS`, the grid grown one
    step outward (:data:`LR_GROW_DOWN`, :data:`LR_GROW_UP`) while its best factor is on its
    edge; returns the records and each ``(task, label)``'s final grid."""
    grids = {(t, m): list(LR_FACTORS) for t in TASKS for m in labels}
    calib = run_all([(t, CALIBRATION, m, f, False) for (t, m), g in grids.items() for f in g],
                    jobs)
    while True:
        grow = []
        for (t, m), g in grids.items():
            f = best_factor(calib, t, m, g)
            nxt = [x for x in (LR_GROW_DOWN if f == min(g) else LR_GROW_UP if f == max(g)
                               else ()) if x not in g]
            if nxt:
                g.append(nxt[0])
                grow.append((t, CALIBRATION, m, nxt[0], False))
        if not grow:
            return calib, {k: sorted(g) for k, g in grids.items()}
        calib.update(run_all(grow, jobs))


def score(rec: dict) -> float:
    """What a run is judged by: PSNR on the unseen pixels for inpainting, else on all."""
    return rec.get("unseen_psnr", rec["psnr"])


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__, render=True, jobs=2, optimizers=["adam", "muon"], tuned=TUNED_W128)
    args = p.parse_args(argv)  # --optimizers: both take about 35 min on 2 cores
    if args.render:
        rerender("inverse", lambda result: render(result, OUT))
        return 0
    from inrank.nn.tuned_state import tuned_values

    with tuned_values(args.tuned):
        return _solve(args)


def _solve(args) -> int:
    t0 = time.perf_counter()
    labels = [m for m in LABELS if method_and_optimizer(m)[1] in args.optimizers]
    calib, grids = choose_factors(labels, args.jobs)
    chosen = {t: {m: best_factor(calib, t, m, grids[t, m]) for m in labels} for t in TASKS}
    tv = {t: max(TV_WEIGHTS, key=lambda w: baselines(t, CALIBRATION, w)["psnr"])
          for t in TASKS if TASKS[t][0] == "denoise"}
    specs = [(t, img, m, chosen[t][m], img == FIGURE_IMAGE.get(t, "kodim05"))
             for t in TASKS for img in test_images(t) for m in labels]
    test = run_all(specs, args.jobs)
    base = {t: {img: {k: v for k, v in baselines(t, img, tv_weight_of(tv, t)).items()
                      if k not in ("image", "truth")} for img in test_images(t)} for t in TASKS}
    from inrank.report import machine

    result = {"protocol": {"size": SIZE, "width": WIDTH, "depth": DEPTH, "steps": STEPS,
                           "seed": SEED, "optimizers": args.optimizers,
                           "tasks": {k: v[1] for k, v in TASKS.items()},
                           "calibration": CALIBRATION, "test": {t: list(test_images(t))
                                                                for t in TASKS},
                           "lr_factors": list(LR_FACTORS),
                           "lr_grow": [list(LR_GROW_DOWN), list(LR_GROW_UP)],
                           "tv_weights": list(TV_WEIGHTS)},
              "selection": {"lr_factor": chosen, "tv_weight": tv,
                            "calibration_runs": sorted(calib.values(), key=lambda r: r["id"])},
              "runs": sorted((test[run_id(*s[:4])] for s in specs), key=lambda r: r["id"]),
              "baselines": base, "wall_seconds_this_call": time.perf_counter() - t0,
              "machine": machine()}
    write_result("inverse", result, lambda result: render(result, OUT))
    return 0


def render(result: dict, out: Path) -> str:
    """The Markdown of ``inverse.md`` (per task: each method's mean over the test images beside
    the baseline, and paired differences with 95% intervals); draws ``inverse.png`` from
    ``result`` too."""
    from statistics import fmean

    from inrank.report.comparison import mean_interval
    from inrank.report.machine import machine_line
    from inrank.report.tables import markdown_table

    runs, base = result["runs"], result["baselines"]
    pr = result["protocol"]
    hours = sum(r["wall_seconds"] for r in runs + result["selection"]["calibration_runs"])
    md = [f"# Inverse problems (issue 26)\n\nGenerated by `{command(__file__)}` "
          f"({len(runs) + len(result['selection']['calibration_runs'])} fits, "
          f"{hours / 60:.0f} min of fitting summed over the fits, one torch thread each, 2 "
          "processes at a time). "
          f"{pr['size']} px crops, {pr['depth']} x "
          f"{pr['width']} networks, Adam or Muon (`(muon)`), {pr['steps']} full-batch steps, seed {pr['seed']}; lr "
          f"factors and the TV weight ({_tv_text(result['selection']['tv_weight'])}) chosen on "
          f"{pr['calibration']} only. PSNR (dB) of the clipped final prediction, mean over the "
          "test images (inpainting: on the unseen pixels); best = the best evaluated step's PSNR on "
          "all pixels, unclipped (it needs the truth: it sizes the early-stopping gap, it is "
          "not a result). The lr factor grid grows outward from 0.3, 1, 3 while the choice is on "
          "its edge; a factor marked (edge) reached the grid's limit (0.03 or 30). The "
          "paired rows: relu+rei against relu, pe and siren with the same optimiser, the "
          "better relu+rei against the best other network, and Muon against Adam per "
          "method.\n"]
    fig_rows = []
    for task, images in pr["test"].items():
        by = {(r["method"], r["image"]): r for r in runs if r["task"] == task}
        methods = [m for m in LABELS if all((m, i) in by for i in images)]
        b = [base[task][i].get("unseen_psnr", base[task][i]["psnr"]) for i in images]
        rows = [[f"{base[task][images[0]]['name']} (classical)", f"{fmean(b):.2f}", "",
                 f"{fmean(base[task][i]['ssim'] for i in images):.3f}", ""]]
        for m in methods:
            s = [score(by[m, i]) for i in images]
            rows.append([m, f"{fmean(s):.2f}", f"{fmean(by[m, i]['best_psnr'] for i in images):.2f}",
                         f"{fmean(by[m, i]['ssim'] for i in images):.3f}",
                         _factor(result["selection"]["lr_factor"][task][m])])
        md += [f"### {task} ({', '.join(f'{k} {v}' for k, v in pr['tasks'][task].items())}; "
               f"test: {', '.join(images)})\n",
               markdown_table(["method", "PSNR", "best PSNR", "SSIM", "lr factor"], rows), ""]
        mean_of = {m: fmean(score(by[m, i]) for i in images) for m in methods}
        best = max(methods, key=mean_of.get)
        rei = [m for m in methods if method_and_optimizer(m)[0] == "relu+rei"]
        best_rei = max(rei, key=mean_of.get) if rei else None
        others = [m for m in methods if method_and_optimizer(m)[0] != "relu+rei"]
        best_other = max(others, key=mean_of.get) if others else None
        pairs = [(f"relu+rei{sfx}", f"{o}{sfx}") for sfx in ("", " (muon)")
                 for o in ("relu", "pe", "siren")]
        pairs += [(f"{m} (muon)", m) for m in METHODS]
        diffs = [(f"{a} - {o}", [score(by[a, i]) - score(by[o, i]) for i in images])
                 for a, o in pairs if a in methods and o in methods]
        if best_rei and best_other:
            diffs.insert(6, (f"better relu+rei ({best_rei}) - best other ({best_other})",
                             [score(by[best_rei, i]) - score(by[best_other, i]) for i in images]))
        diffs.append((f"best network ({best}) - {base[task][images[0]]['name']}",
                      [score(by[best, i]) - bb for i, bb in zip(images, b)]))
        cells = []
        for name, d in diffs:
            iv = mean_interval(d)
            cells.append([name, f"{iv['mean']:+.2f}", f"[{iv['low']:+.2f}, {iv['high']:+.2f}]",
                          f"{iv['wins']}/{iv['n']}"])
        md += [markdown_table(["paired difference (dB)", "mean", "95% interval", "ahead"], cells),
               ""]
        fig_rows.append((task, FIGURE_IMAGE.get(task, "kodim05"), methods))
    md += ["![reconstructions: truth | baseline | methods](inverse.png)\n",
           machine_line(result["machine"]) + "\n"]
    _figure(fig_rows, result["selection"]["tv_weight"], out)
    return "\n".join(md)


def _tv_text(tv: float | dict) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in tv.items()) if isinstance(tv, dict) else f"{tv:g}"


def _factor(f: float) -> str:
    """The chosen lr factor, flagged when it sits on the grid's edge."""
    return f"{f:g}" + (" (edge)" if f in (LR_GROW_DOWN[-1], LR_GROW_UP[-1]) else "")


def _figure(rows: list[tuple], tv: float | dict, out: Path) -> None:
    """Ground truth | baseline | methods, one row per task, one colour scale [0, 1]."""
    import imageio.v3 as iio
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from inrank.files import save_figure

    cols = 2 + max(len(r[2]) for r in rows)
    fig, axes = plt.subplots(len(rows), cols, figsize=(1.6 * cols, 1.7 * len(rows)))
    for ax_row, (task, image, methods) in zip(axes, rows):
        b = baselines(task, image, tv_weight_of(tv, task))
        panels = [("truth", b["truth"]), (b["name"], b["image"])] + [
            (m, iio.imread(out / "recon" / f"{run_id(task, image, m, f)}.png") / 255.0)
            for m, f in methods_and_factors(task, methods)]
        for ax, (title, img) in zip(ax_row, panels):
            img = img[..., 0] if img.ndim == 3 and img.shape[-1] == 1 else img
            ax.imshow(img, cmap="gray", vmin=0, vmax=1)
            ax.set_title(title, fontsize=7)
        for ax in ax_row:
            ax.set_xticks([]), ax.set_yticks([])
        ax_row[0].set_ylabel(task, fontsize=8)
    fig.tight_layout()
    save_figure(fig, RESULTS / "inverse.png", dpi=110)
    plt.close(fig)


def methods_and_factors(task: str, methods: list[str]) -> list[tuple[str, float]]:
    """``(method, chosen lr factor)`` from the saved selection."""
    sel = json.loads((RESULTS / "inverse.json").read_text())["selection"]["lr_factor"][task]
    return [(m, sel[m]) for m in methods]


if __name__ == "__main__":
    sys.exit(main())
