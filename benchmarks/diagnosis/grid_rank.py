"""The inlet-rank view of feature grids (issue 37, item 3): does a grid avoid the inlet
collapse, and does the rank predict the ranking?

    python -m benchmarks.diagnosis.grid_rank            # about 20 min on 2 cores
    python -m benchmarks.diagnosis.grid_rank --render   # only rewrite the .md and figure

On kodim05 and kodim23 at 48 px (72 x 48 = 3,456 pixels), each network at about 5k parameters
(1.5 pixel values per parameter: not the compression regime, so the off-grid PSNR is the
judge): relu, relu+rei and siren at 3 x 48, pe at 3 x 40 (its encoding is wider), a dense
``grid`` (32 x 32 nodes x 4 features, bilinear, a 1 x 16 head) and a ``hashgrid`` (8 levels,
2^8 entries x 2 features, a 1 x 32 head). Diagnosed (``inrank.diagnose``, dense NTK) at init
and after 400 Adam steps at each preset's lr (times 10 on a table, its preset's
``encoding_lr_scale``): the effective and numerical (1e-3) rank of the inlet, the features the
first dense layer reads ([X, 1] for a plain MLP, the encoding's output with a ones column
otherwise), the rank of the table's NTK block (the interpolation weights' Gram, through the
head), and the share of the NTK's trace the table or the first dense layer holds; beside them
the fit and off-grid (2x) PSNR. Seed 0.

Writes benchmarks/results/grid_rank.json, .md and grid_rank.png.
"""
from __future__ import annotations

import statistics
import sys

from scipy.stats import spearmanr

import inrank
from inrank.files import new_figure, save_figure
from inrank.markup import markdown_table
from inrank.metrics import psnr
from inrank.nn.tuned_state import tuned_values

from benchmarks.frame import DATA, RESULTS, TUNED, command, parser, rerender, write_result

IMAGES = ("kodim05", "kodim23")
SIZE, STEPS, BUDGET = 48, 400, 5000
#: method -> build options (sized to about BUDGET parameters at 3 output channels)
NETWORKS = {**{m: {"width": 48, "depth": 3} for m in ("relu", "relu+rei")},
            "pe": {"width": 40, "depth": 3}, "siren": {"width": 48, "depth": 3},
            "grid": {"width": 16, "depth": 1, "grid_resolution": 32, "grid_features": 4},
            "hashgrid": {"width": 32, "depth": 1, "hash_levels": 8, "hash_log2_table": 8,
                         "hash_features": 2}}


def measure(method: str, image: str) -> dict:
    sig, fine = (inrank.load_image(DATA / "kodak" / f"{image}.png", size=s)
                 for s in (SIZE, 2 * SIZE))
    model = inrank.build(method, 2, 3, seed=0, optimizer="adam", **NETWORKS[method])

    def inlet(stage: str) -> dict:
        d = inrank.diagnose(model, sig.coords, rtols=(1e-3,), total=False)
        first, tab = d.layers[0], d.encoding_table
        table = tab.ntk if tab and tab.ntk else None
        return {f"{stage}_{k}": v for k, v in {
            "inlet_effective": d.input_features.effective,
            "inlet_numerical": d.input_features.at(1e-3), "inlet_cols": first.fan_in + 1,
            "first_share": first.ntk_share,
            "first_ntk_effective": first.ntk.effective if first.ntk else None,
            "table_ntk_effective": table.effective if table else None,
            "table_ntk_numerical": table.at(1e-3) if table else None,
            "table_share": tab.ntk_share if tab else None}.items()}

    rec = {"method": method, "image": image, **NETWORKS[method],
           "params": sum(p.numel() for p in model.parameters()), **inlet("init")}
    res = inrank.fit(model, sig, steps=STEPS, progress=False, optimizer="adam", seed=0,
                     accept_worse=True)
    off = psnr(inrank.predict(model, fine.coords).clamp(0, 1), fine.values)  # eval, no grad
    rec.update(inlet("trained"), fit_psnr=psnr(res.prediction.clamp(0, 1), sig.values),
               offgrid_psnr=off, lr=res.lr)
    return rec


def figure(rows: list[dict], path) -> None:
    fig = new_figure((11, 4))
    ax1, ax2 = fig.subplots(1, 2)
    methods = list(dict.fromkeys(r["method"] for r in rows))
    for k, stage in enumerate(("init", "trained")):
        vals = [statistics.fmean([r[f"{stage}_inlet_effective"] for r in rows
                                  if r["method"] == m]) for m in methods]
        ax1.bar([i + 0.4 * k for i in range(len(methods))], vals, width=0.4, label=stage)
    ax1.set_xticks([i + 0.2 for i in range(len(methods))], methods, rotation=20)
    ax1.set(ylabel="effective rank of the inlet features", yscale="log",
            title="What the first dense layer reads")
    ax1.legend(fontsize=8)
    for m in methods:
        group = [r for r in rows if r["method"] == m]
        ax2.scatter([r["trained_inlet_effective"] for r in group],
                    [r["offgrid_psnr"] for r in group], label=m)
    ax2.set(xscale="log", xlabel="effective rank of the inlet (trained)",
            ylabel="off-grid PSNR (dB)", title="Does the inlet rank predict the ranking?")
    ax2.legend(fontsize=8)
    save_figure(fig, path, dpi=110)


def markdown(payload: dict) -> str:
    rows = payload["rows"]

    def f(m: str, key: str, fmt: str = ".1f") -> str:  # the mean over the images, formatted
        vals = [r[key] for r in rows if r["method"] == m and r[key] is not None]
        return format(statistics.fmean(vals), fmt) if vals else "-"

    def pair(m: str, key: str, fmt: str = ".1f") -> str:
        return f"{f(m, 'init_' + key, fmt)} / {f(m, 'trained_' + key, fmt)}"

    body = [[m, f(m, "params", ".0f"), pair(m, "inlet_effective"),
             f"{pair(m, 'inlet_numerical', '.0f')} (of {f(m, 'init_inlet_cols', '.0f')})",
             pair(m, "table_ntk_effective"),
             f(m, "trained_table_share", ".2f") if f(m, "trained_table_share") != "-"
             else f"{f(m, 'trained_first_share', '.2f')} (layer 1)",
             f(m, "fit_psnr", ".2f"), f(m, "offgrid_psnr", ".2f")]
            for m in dict.fromkeys(r["method"] for r in rows)]
    rho = payload["spearman"]
    return "\n".join([
        "## The inlet rank of feature grids", "",
        f"Generated by `{payload['command']}` from `grid_rank.json`: kodim05 and kodim23 at "
        f"{SIZE} px, about {BUDGET:,} parameters each, {STEPS} Adam steps; ranks of the inlet "
        "(the features the first dense layer reads, with a ones column), effective / "
        "numerical at 1e-3, at init and trained; the table's NTK block (effective rank) and "
        "the NTK trace share of the table (or of the first dense layer). Mean over the two "
        "images. ![grid rank](grid_rank.png)", "",
        markdown_table(["method", "params", "inlet eff. rank init / trained",
                        "inlet numerical rank init / trained", "table block eff. rank init / "
                        "trained", "trace share (trained)", "fit PSNR", "off-grid PSNR"], body),
        "",
        f"Spearman correlation over the {len(rows)} fits between the trained inlet's "
        f"effective rank and the off-grid PSNR: {rho:+.2f}.", ""])


def main(argv: list[str] | None = None) -> int:
    ap = parser(__doc__, render=True, tuned=TUNED)
    args = ap.parse_args(argv)
    if args.render:
        payload = rerender("grid_rank", markdown)
    else:
        with tuned_values(args.tuned):
            rows = [measure(m, img) for img in IMAGES for m in NETWORKS]
        rho = float(spearmanr([r["trained_inlet_effective"] for r in rows],
                              [r["offgrid_psnr"] for r in rows]).statistic)
        payload = write_result("grid_rank", {"command": command(__file__), "rows": rows,
                                             "spearman": rho}, markdown)
    figure(payload["rows"], RESULTS / "grid_rank.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
