"""Does Muon keep the hidden features' rank where Adam loses it, and does REI's structure
survive under Muon without its gain? (issue 23, item 6)

    python -m benchmarks.training.rank_optimizers [--steps 1000 --every 100]

relu, relu+rei (gain 10, the preset), relu+rei at gain 1, pe and siren on the 64 px astronaut
(no table's image), 3 x 128 (the tuned network), full-batch, each method at its tuned lrs for
each optimiser (:meth:`inrank.Preset.lr_for`; the 3 x 128 tuned values, ``--tuned``), seed 0,
with ``fit(track_every=...)``: the effective rank of the features every dense layer reads,
against the step.

Writes benchmarks/results/rank_optimizers.{json,md,png}.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import inrank
from inrank.nn.tuned_state import tuned_values
from inrank.report.figures import new_figure, save_figure
from inrank.report.machine import machine, machine_line
from inrank.report.tables import markdown_table

from benchmarks.frame import RESULTS, TUNED_W128, command, options, parser, write_result
#: (label, preset, build overrides)
METHODS = [("relu", "relu", {}), ("relu+rei", "relu+rei", {}),
           ("relu+rei gain 1", "relu+rei", {"rei_options": {"gain": 1.0}}),
           ("pe", "pe", {}), ("siren", "siren", {})]
OPTIMIZERS = ("adam", "muon")


def figure(rows: list[dict], path: Path, title: str) -> Path:
    """One panel per method: each dense layer's input effective rank against the step, Adam
    solid, Muon dashed."""
    labels = list(dict.fromkeys(r["method"] for r in rows))
    fig = new_figure((3.3 * len(labels), 3.4))
    axes = fig.subplots(1, len(labels), squeeze=False)[0]
    colours = ["C0", "C1", "C2", "C3", "C4"]
    for ax, label in zip(axes, labels):
        for r in (r for r in rows if r["method"] == label):
            track = r["track"]
            steps = [t["step"] for t in track]
            for k in range(len(track[0]["layers"])):
                ax.plot(steps, [t["layers"][k]["features"]["effective"] for t in track],
                        color=colours[k % len(colours)], lw=1.5,
                        ls="-" if r["optimizer"] == "adam" else "--",
                        label=f"layer {k + 1} input, {r['optimizer']}")
        ax.set(title=label, xlabel="step", yscale="log")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("effective rank of [H, 1] read")
    axes[-1].legend(fontsize=6, loc="lower right")
    fig.suptitle(title)
    return save_figure(fig, path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, steps=1000, tuned=TUNED_W128)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--points", type=int, default=512)
    args = ap.parse_args(argv)
    with tuned_values(args.tuned):
        return _track(args)


def _track(args) -> int:
    sig = inrank.load_image("astronaut", size=64)
    net = inrank.nn.tuned_state.tuned_network()
    rows = []
    t_all = time.perf_counter()
    for label, name, over in METHODS:
        for opt in OPTIMIZERS:
            model = inrank.build(name, 2, 3, width=net["width"], depth=net["depth"], seed=0, **over)
            lrs = inrank.preset(name).lr_for(opt)
            res = inrank.fit(model, sig, steps=args.steps, optimizer=opt, progress=False,
                             track_every=args.every, track_points=args.points, **lrs)
            rows.append({"method": label, "optimizer": opt, **lrs, "psnr": res.final_psnr,
                         "track": res.track, "seconds_per_step": res.seconds_per_step})
            print(label, opt, f"{res.final_psnr:.2f} dB", flush=True)
    title = (f"astronaut 64 px, {net['depth']} x {net['width']}: effective ranks every "
             f"{args.every} steps on {args.points} points (Adam solid, Muon dashed)")
    figure(rows, RESULTS / "rank_optimizers.png", title)
    info = machine()

    def eff(r, k, at):
        return r["track"][at]["layers"][k]["features"]["effective"]

    last = len(rows[0]["track"][0]["layers"]) - 1
    table = markdown_table(
        ["method", "optimizer", "lr", "muon_lr", "PSNR (dB)",
         "layer-2 input eff. rank, 0 -> end", f"layer-{last + 1} input eff. rank, 0 -> end"],
        [[r["method"], r["optimizer"], f"{r['lr']:g}",
          f"{r['muon_lr']:g}" if r["muon_lr"] else "-", f"{r['psnr']:.2f}",
          f"{eff(r, 1, 0):.1f} -> {eff(r, 1, -1):.1f}",
          f"{eff(r, last, 0):.1f} -> {eff(r, last, -1):.1f}"] for r in rows])
    lines = ["# Rank through training: Adam and Muon", "",
             f"Astronaut 64 px (in no table), {net['depth']} x {net['width']}, {args.steps} "
             "full-batch steps at each method's tuned lrs for each optimiser, seed 0; "
             f"`fit(track_every={args.every}, track_points={args.points})`. Command: "
             f"`{command(__file__, '--steps', args.steps, '--every', args.every)}` "
             f"({(time.perf_counter() - t_all) / 60:.0f} min).", "", machine_line(info), "",
             table, "", "![rank through training](rank_optimizers.png)"]
    write_result("rank_optimizers", {"machine": info, **options(args), "rows": rows},
                 "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
