"""Regenerate every generated block of README.md, BENCHMARKS.md and benchmarks/ARCHIVE.md from
the registry and the committed result files; ``--check`` exits 1 (naming the blocks) when a
block is stale.

    python -m benchmarks.render_docs            # rewrite the blocks in place
    python -m benchmarks.render_docs --check    # what the test suite runs

A generated block sits between ``<!-- generated: NAME -->`` and ``<!-- end generated -->``;
the prose around it stays hand-written. NAME is a key of :data:`BLOCKS`, or
``include:FILE.md``: a result file's own Markdown, which its benchmark writes from the same
run as the JSON beside it. This module imports only inrank (the docs site loads it by its
path), so ``python benchmarks/render_docs.py`` runs too.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from inrank.nn.registry import preset, presets
from inrank.report.results import REFERENCE_POINTS
from inrank.report.tables import (format_mean_std, lr_table, markdown_table, mean_std,
                                  per_image_table, summary_table, to_markdown, width_table)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: results of the superseded benchmarks, beside their scripts in ``benchmarks/archive/``.
ARCHIVE = ROOT / "benchmarks" / "archive" / "results"
DOCS = (ROOT / "README.md", ROOT / "BENCHMARKS.md", ROOT / "benchmarks" / "ARCHIVE.md")
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w:.-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)",
                    re.S)


def _json(path: str, root: Path = RESULTS):
    return json.loads((root / path).read_text(encoding="utf-8"))


def presets_markdown() -> str:
    """The README's table of methods, from the registry: name, what it is, default (Adam) lr,
    Muon lr (tuned, or ``-``: then the Adam lr), the default optimiser
    (:attr:`inrank.Preset.default_optimizer`) and groups."""
    lines = ["| method | what | lr | muon lr | default optimiser | groups |",
             "|---|---|---:|---:|---|---|"]
    for name in presets():
        p = preset(name)
        what = p.summary.replace("|", "\\|")  # a cell may not hold a bare pipe
        muon = "-" if p.muon_lr is None else f"{p.muon_lr:g}"
        lines.append(f"| `{name}` | {what} | {p.lr:g} | {muon} | {p.default_optimizer} | "
                     f"{', '.join(p.groups) or '-'} |")
    return "\n".join(lines)


def _bench(folder: str, *, kind: str = "summary") -> str:
    """Tables of an archived ``inrank bench`` suite from its ``results.json`` rows."""
    rows = _json(f"bench/{folder}/results.json", ARCHIVE)
    if kind == "lr":
        return to_markdown(lr_table(rows))
    if kind == "width":
        return to_markdown(width_table(rows))
    out = to_markdown(summary_table(rows))
    if kind == "summary+images":
        out += "\n\nFinal PSNR (dB) per image:\n\n" + to_markdown(per_image_table(rows))
    return out


def _task(name: str, metric: str, label: str, digits: int) -> str:
    """A task benchmark's metric as a signal x method table, best per signal in bold."""
    payload = _json(f"{name}.json")
    rows = payload["rows"]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    signals = list(dict.fromkeys(r["signal"] for r in rows))
    value = {(r["signal"], r["method"]): r[metric] for r in rows}
    body = []
    for s in signals:
        best = max(value[s, m] for m in methods if (s, m) in value)
        body.append([s] + [(f"{value[s, m]:.{digits}f}", value[s, m] == best)
                           if (s, m) in value else "-" for m in methods])
    return markdown_table([label] + methods, body)


def _rei_ablation() -> str:
    """The REI ablation: PSNR at each checkpoint on the 64 px astronaut and on the quick images
    (mean), and the effective rank of each hidden layer at init and trained (astronaut)."""
    payload = _json("rei_ablation.json", ARCHIVE)
    table = [r for r in payload["results"] if r["stage"] == "table"]
    cps = [str(c) for c in payload["protocol"]["checkpoints"]]
    methods = list(dict.fromkeys(r["method"] for r in table))
    ranks = lambda r, k: "/".join(f"{v:.1f}" for v in r[k]["effective"])  # noqa: E731
    body = []
    for m in methods:
        astro = next(r for r in table if r["method"] == m and r["image"] == "astronaut")
        quick = [r for r in table if r["method"] == m and r["image"] != "astronaut"]
        q = " / ".join(f"{statistics.fmean(r['psnr'][c] for r in quick):.2f}" for c in cps) \
            if quick else "-"
        body.append([m, f"{astro['lr']:g}", " / ".join(f"{astro['psnr'][c]:.2f}" for c in cps), q,
                     f"{ranks(astro, 'rank_init')} -> {ranks(astro, 'rank_trained')}"])
    at = " / ".join(f"@{c}" for c in cps)
    return markdown_table(["method", "lr", f"astronaut 64 px {at}", f"quick mean {at}",
                           "eff. rank of layers 1/2/3, astronaut, init -> trained"], body,
                          align="lrrrl")


def _rei_depth() -> str:
    payload = _json("rei_depth.json", ARCHIVE)
    cps = [str(c) for c in payload["checkpoints"]]
    rows = {(r["preset"], r["depth"]): r for r in payload["results"]}
    depths = sorted({d for _, d in rows})
    presets = list(dict.fromkeys(p for p, _ in rows))
    cell = lambda p, d: " / ".join(f"{rows[p, d]['psnr'][c]:.2f}" for c in cps) \
        if (p, d) in rows else "-"  # noqa: E731
    return markdown_table([f"PSNR {' / '.join('@' + c for c in cps)} (dB)"]
                          + [f"depth {d}" for d in depths],
                          [[p] + [cell(p, d) for d in depths] for p in presets])


def _quick_seeds() -> str:
    rows = _json("bench/quick-seeds/results.json", ARCHIVE)
    out = to_markdown(summary_table(rows))
    by = {(r["method"], r["signal"], r["seed"]): r["final_psnr"] for r in rows}
    diffs = [by[("relu+rei",) + k[1:]] - by[k] for k in by if k[0] == "relu"]
    m, s, n = mean_std(diffs)
    return out + (f"\n\n`relu+rei` - `relu` over the {n} (image, seed) pairs: "
                  f"{format_mean_std(m, s, n)} dB (min {min(diffs):+.2f}, max {max(diffs):+.2f}).")


def _table1_rows() -> tuple[list[dict], int]:
    """The flat rows of ``table1``'s finished runs (current protocol and tuned values) and how
    many runs the suite plans."""
    from inrank.bench import expand, suite
    from inrank.bench.runner import load_records
    from inrank.report.results import flat_row

    runs = expand(suite("table1"))
    records = load_records(RESULTS / "bench" / "table1", runs)
    return [flat_row(records[r.id]) for r in runs if r.id in records], len(runs)


def _table1() -> str:
    """``table1`` from its run records (those of the current protocol and tuned values; a
    partial run says how many are done): the comparison, the paired differences of relu+rei,
    and the fit PSNR per image."""
    rows, planned = _table1_rows()
    if not rows:
        return f"No table1 run has finished yet (0 of {planned})."
    done = len(rows)
    head = (f"{done} of {planned} runs finished" + ("" if done == planned else
            " (the suite is still running: `python -m benchmarks.fidelity.table1` continues "
            "it)") + ".")
    top = max(rows, key=lambda r: r["final_psnr"])
    above = sum(r["final_psnr"] > 50 for r in rows)
    head += (f" Highest fit PSNR of a single run: {top['final_psnr']:.2f} dB ({top['method']}, "
             f"{top['signal']}, seed {top['seed']}); runs above 50 dB: {above} of {len(rows)}.")
    return "\n".join([head, *_offgrid_markdown(rows)])


def _headline() -> str:
    """The headline (README's first table, BENCHMARKS.md's first): ``table1``'s methods, each
    with its default optimiser (:attr:`inrank.Preset.default_optimizer`), fit and off-grid
    PSNR; relu+rei's paired gaps to relu and to the best other method off-grid, with their
    intervals; and one sentence saying what they mean, its words chosen by the numbers."""
    from inrank.bench import methods_of, suite
    from inrank.report.comparison import paired_differences

    rows, planned = _table1_rows()
    if not rows:
        return f"No table1 run has finished yet (0 of {planned})."
    s = suite("table1")
    label = {m: f"{m} ({preset(m).default_optimizer})" for m in methods_of(s)}
    label = {m: lab for m, lab in label.items() if any(r["method"] == lab for r in rows)}
    stats = {m: [mean_std([r[k] for r in rows if r["method"] == lab])
                 for k in ("final_psnr", "offgrid_psnr")] for m, lab in label.items()}
    top = [max(st[k][0] for st in stats.values()) for k in (0, 1)]
    body = [[f"`{m}`", preset(m).default_optimizer]
            + [(format_mean_std(*st[k]), st[k][0] == top[k]) for k in (0, 1)] + [str(st[0][2])]
            for m, st in stats.items()]
    best = max((m for m in stats if m != "relu+rei"), key=lambda m: stats[m][1][0])

    def gap(other: str, metric: str) -> dict:
        return paired_differences(rows, label["relu+rei"], label[other], metric)

    def text(d: dict) -> str:
        return f"{d['mean']:+.2f} dB [{d['low']:+.2f}, {d['high']:+.2f}]"

    vs = {o: (gap(o, "final_psnr"), gap(o, "offgrid_psnr")) for o in ("relu", best)}
    n = vs["relu"][1]["n"]
    side = {o: "above" if d["low"] > 0 else "below" if d["high"] < 0 else "level"
            for o, (_, d) in vs.items()}
    relu, other = vs["relu"][1], vs[best][1]
    sentence = {"above": f"`relu+rei` beats the plain `relu` it initialises by {relu['mean']:.2f} "
                         "dB off-grid at the same size and cost per step",
                "below": f"`relu+rei` trails the plain `relu` it initialises by "
                         f"{-relu['mean']:.2f} dB off-grid",
                "level": "`relu+rei` is level with the plain `relu` it initialises off-grid "
                         "(the interval holds 0)"}[side["relu"]]
    span = stats[best][1][0] - stats["relu"][1][0]
    if side["relu"] == "above" and span > 0:
        sentence += f", {100 * relu['mean'] / span:.0f}% of the way from `relu` to `{best}`"
    sentence += {"above": f", and beats `{best}`, the best other method, by {other['mean']:.2f} dB",
                 "below": f"; `{best}`, the best method off-grid, stays {-other['mean']:.2f} dB "
                          "ahead of it",
                 "level": f", and is level with `{best}`, the best other method"}[side[best]]
    if side["relu"] == "above" and side[best] == "below":
        sentence += (": the inlet remedy lifts a ReLU network, and does not make it the best "
                     "representation in this regime")
    head = (f"`table1`: Kodak kodim01-08 at {s.size} px short side, {s.depth} x {s.widths[0]} "
            "(the network must compress), each method with its default optimiser at its tuned "
            f"values; mean ± std over images and seeds, {len(rows)} of {planned} runs; "
            "off-grid = evaluated at 2x, between the training pixels. PSNR in dB:")
    pairs = (f"`relu+rei` paired per image ({n} images, seeds averaged; 95% Student-t "
             f"interval): against `relu` {text(vs['relu'][0])} fit, {text(relu)} off-grid; "
             f"against `{best}` (the best other method off-grid) {text(vs[best][0])} fit, "
             f"{text(other)} off-grid.")
    def wrap(t: str) -> str:
        return textwrap.fill(t, 96, break_on_hyphens=False, break_long_words=False)

    return "\n".join([wrap(head), "", markdown_table(
        ["method", "optimiser", "fit PSNR", "off-grid PSNR", "runs"], body, align="llrrr"),
        "", wrap(pairs), "", wrap(f"**What it means:** {sentence}.")])


def _table1_why() -> str:
    """Why table1 runs at its width, and its wall time: the 3 x 128 table's interpolation
    (archived rows), the sweep's worst fit - off-grid gap at table1's width
    (``compression.json``), where the tuning and table runs ran (their records) and the
    seconds of each phase (``table1_timing.json``)."""
    from inrank.bench import suite

    old = _json("bench/table1_w128/results.json", ARCHIVE)
    siren = [r for r in old if r["method"] == "siren"]
    width = suite("table1").widths[0]
    sweep = [r for r in _json("compression.json")["rows"]
             if r["width"] == width and r["fit"] is not None and r["offgrid"] is not None]
    gap = max(r["fit"] - r["offgrid"] for r in sweep)
    top = max(r["fit"] for r in sweep)
    devices: dict[str, int] = {}
    for path in (RESULTS / "tune" / "table1" / "runs").glob("*.json"):
        dev = str(json.loads(path.read_text())["metrics"].get("device") or "?").split(":")[0]
        devices[dev] = devices.get(dev, 0) + 1
    timing = _json("table1_timing.json")
    phases = timing["phases"]
    return (f"Why 3 x {width}: at the earlier 3 x 128 SIREN nearly interpolated (mean fit "
            f"{statistics.fmean(r['final_psnr'] for r in siren):.2f} dB, one run at "
            f"{max(r['final_psnr'] for r in old):.2f} dB, mean fit minus off-grid "
            f"{statistics.fmean(r['final_psnr'] - r['offgrid_psnr'] for r in siren):.2f} dB); "
            f"in the compression sweep below, 3 x {width} is the smallest ratio where no run "
            f"passes 50 dB (highest fit {top:.2f}) and none's fit exceeds its off-grid PSNR by "
            f"more than 15 dB (at most {gap:.2f} dB). Where the runs ran (each record names its "
            "device): tuning " + ", ".join(f"{d}: {n}" for d, n in sorted(devices.items()))
            + f"; {timing['machine'].get('gpu') or 'the CPU'} phases "
            + ", ".join(f"{k} {v:.0f} s" for k, v in phases.items())
            + f" (`table1_timing.json`: {timing.get('note', '')})")


def _offgrid_markdown(rows: list[dict]) -> list[str]:
    """An off-grid suite's tables (:func:`inrank.report.comparison.offgrid_tables`) as
    Markdown lines, each with its title and sentence."""
    from inrank.report.comparison import offgrid_tables

    out: list[str] = []
    for title, table, sentence in offgrid_tables(rows):
        out += ["", f"{title}:", "", to_markdown(table)] + (["", sentence] if sentence else [])
    return out


def _table1_w128() -> str:
    """table1 at 3 x 128 with Adam (archived): its summary and relu+rei's paired differences,
    from the archived ``results.json`` rows."""
    rows = _json("bench/table1_w128/results.json", ARCHIVE)
    return "\n".join([f"{len(rows)} runs.", *_offgrid_markdown(rows)])


def _table1_per_image() -> str:
    """``table1``'s fit and off-grid PSNR per image and method (mean over seeds)."""
    rows, _ = _table1_rows()
    if not rows:
        return "No table1 run has finished yet."
    return "\n".join(["Fit PSNR (dB) per image (mean over seeds):", "",
                      to_markdown(per_image_table(rows)),
                      "", "Off-grid PSNR at 2x (dB) per image (mean over seeds):", "",
                      to_markdown(per_image_table(rows, metric="offgrid_psnr"))])


#: the headline figure, drawn from table1's run records by :func:`table1_figure`.
TABLE1_FIGURE = RESULTS / "table1.png"


def table1_figure(path: Path = TABLE1_FIGURE) -> Path | None:
    """Per method, fit and off-grid PSNR of ``table1`` (mean and std over images and seeds),
    best fit first; None before any run has finished."""
    from inrank.bench import suite
    from inrank.files import save_figure
    from inrank.report.figures import new_figure

    rows, planned = _table1_rows()
    if not rows:
        return None
    methods = list(dict.fromkeys(r["method"] for r in rows))
    stats = {m: [mean_std([r[k] for r in rows if r["method"] == m])
                 for k in ("final_psnr", "offgrid_psnr")] for m in methods}
    methods.sort(key=lambda m: stats[m][0][0])
    fig = new_figure((9.0, 4.6))
    ax = fig.subplots()
    y = range(len(methods))
    for k, (label, colour, dy) in enumerate((("fit", "tab:blue", 0.2),
                                             ("off-grid at 2x", "tab:orange", -0.2))):
        means, stds = ([stats[m][k][j] for m in methods] for j in (0, 1))
        ax.barh([i + dy for i in y], means, height=0.38, xerr=stds, color=colour, label=label,
                error_kw={"lw": 0.8})
        for i, v, s in zip(y, means, stds):
            ax.text(v + s + 0.4, i + dy, f"{v:.1f}", va="center", fontsize=7)
    ax.set_yticks(list(y), methods)
    for tick, m in zip(ax.get_yticklabels(), methods):
        tick.set_fontweight("bold" if m == "relu+rei" else "normal")
    ax.set_xlabel("PSNR (dB), mean ± std over images and seeds")
    ax.set_xlim(0, max(s[0][0] + s[0][1] for s in stats.values()) + 6)
    s = suite("table1")
    ax.set_title(f"table1: Kodak 01-08 at {s.size} px, {s.depth} x {s.widths[0]} ({len(rows)} of "
                 f"{planned} runs)",
                 fontsize=10)
    ax.legend(loc="center right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return save_figure(fig, path, dpi=110)


def _tuned() -> str:
    """The registry's tuned values (``src/inrank/nn/tuned.json``): per method its lr and knob,
    the grids they were chosen from, and a flag where the choice sits on a grid's edge."""
    from inrank.nn import tuned_state

    path = Path(tuned_state.TUNED_PATH)
    if not path.is_file():
        return "No tuned values yet: every method runs at its paper default."
    payload = json.loads(path.read_text(encoding="utf-8"))
    proto = payload["protocol"]

    def span(grid: dict) -> str:
        keys = sorted(grid, key=float)
        return f"{keys[0]} .. {keys[-1]} ({len(keys)})"

    body = []
    for m, e in payload["methods"].items():
        knob = next(iter(e["config"].items()), None)
        muon = e.get("muon") or {}
        body.append([m, f"{e['lr']:g}", span(e["grid"]["lr"]),
                     "**edge**" if e["edge"]["lr"] else "-",
                     f"{knob[0].split('.')[-1]}={knob[1]:g}" if knob else "-",
                     ", ".join(sorted(e["grid"].get("knob", {}), key=float)) or "-",
                     "**edge**" if e["edge"].get("knob") else "-",
                     (f"{muon['muon_lr']:g} ({span(muon['grid']['muon_lr'])}"
                      + (", **edge**)" if muon["edge"]["muon_lr"] else ")")) if muon else
                     "not tuned (= lr)", _muon_knob(muon)])
    note = (f"Chosen on the calibration images {', '.join(proto['calibration'])} "
            f"({proto['steps']} steps, seed 0): the lr by mean fit PSNR on a half-decade grid "
            f"extended past an edge up to {proto['max_extensions']} times, then the knob by mean "
            "off-grid PSNR at 2x at that lr. **edge**: the choice sits on the grid's edge. "
            "Muon lr (`inrank tune table1 --optimizer muon`): Muon on the hidden weights with "
            "Adam at the method's lr and knob on the rest, by mean fit PSNR on the same images, "
            "grid 1e-4 .. 0.1 extended past an edge the same way; then the knob again at that "
            "Muon lr, by mean off-grid PSNR (muon knob; `-`: Muon keeps Adam's knob).")
    return note + "\n\n" + markdown_table(
        ["method", "lr", "lr grid (points)", "lr at edge", "knob", "knob grid", "knob at edge",
         "muon lr (grid)", "muon knob"], body, align="lrlllllll")


def _muon_knob(muon: dict) -> str:
    """The knob a Muon tuning chose (with its off-grid PSNR per value), or ``-``."""
    grid = (muon.get("grid") or {}).get("knob")
    if not grid:
        return "-"
    name, value = next(iter(muon["config"].items()))
    scores = ", ".join(f"{k}: {v:.2f}" if v is not None else f"{k}: -"
                       for k, v in sorted(grid.items(), key=lambda kv: float(kv[0])))
    return (f"{name.split('.')[-1]}={value:g} ({scores}"
            + (", **edge**)" if muon["edge"].get("knob") else ")"))


def _rei_depth_line() -> list[str]:
    """README's depth bullet from the pairs in ``rei_depth_table1.json`` (none before it
    exists)."""
    if not (RESULTS / "rei_depth_table1.json").is_file():
        return []
    payload = _json("rei_depth_table1.json")
    pairs = {(tuple(p["a"]), tuple(p["b"])): p for p in payload["pairs"]}

    def pair(a: tuple, b: tuple, metric: str) -> str:
        d = pairs[a, b][metric]
        return f"{d['mean']:+.2f} dB [{d['low']:+.2f}, {d['high']:+.2f}]"

    imgs = ", ".join(payload["protocol"]["images"])
    return [f"- depth (calibration images {imgs}; `benchmarks/results/rei_depth_table1.md`): "
            f"`relu+rei` at depth 3 against PE at depth 3 {pair(('relu+rei', 3), ('pe', 3), 'final_psnr')} "
            f"fit, {pair(('relu+rei', 3), ('pe', 3), 'offgrid_psnr')} off-grid; at depth 4 "
            f"against PE at depth 3 {pair(('relu+rei', 4), ('pe', 3), 'final_psnr')} / "
            f"{pair(('relu+rei', 4), ('pe', 3), 'offgrid_psnr')}; at depth 3 against PE at "
            f"depth 2 {pair(('relu+rei', 3), ('pe', 2), 'final_psnr')} / "
            f"{pair(('relu+rei', 3), ('pe', 2), 'offgrid_psnr')}. Layers 1-2 of `relu+rei` "
            "compute one layer of an encoding network; the layer it spends explains part of "
            "its gap to PE, not all (it trails even a PE network one layer shallower)."]


def _coordinate_line() -> list[str]:
    """README's coordinate-convention bullet from ``coordinate_convention.json``."""
    if not (RESULTS / "coordinate_convention.json").is_file():
        return []
    payload = _json("coordinate_convention.json")
    parts = []
    for e in payload["summary"]:
        if e["role"] != "test" or "diff:final_psnr" not in e:
            continue
        f, o = e["diff:final_psnr"], e["diff:offgrid_psnr"]
        parts.append(f"{e['convention']} {f[0]:+.2f} [{f[1]:+.2f}, {f[2]:+.2f}] fit, "
                     f"{o[0]:+.2f} off-grid")
    return [f"- coordinates (`benchmarks/results/coordinate_convention.md`, test images, "
            f"{payload['protocol']['steps']} steps): `kink` - relu per convention: "
            + "; ".join(parts) + " dB."] if parts else []


def _rei_summary() -> str:
    """README's "What REI does, measured": each variant's effect on the ranks
    (``rei_ranks.json``), its table1 row and paired differences, bf16 autocast
    (``precision_table1.json``) and audio SNR (``audio.json``); every number from those files."""
    from inrank.bench import suite
    from inrank.nn.registry import preset
    from inrank.report.comparison import paired_differences

    ranks = _json("rei_ranks.json")
    proto, by = ranks["protocol"], ranks["methods"]
    rows, _ = _table1_rows()

    def layer(method: str, when: str, index: int) -> dict:
        return next(r for r in by[method][when] if r["layer"] == index)

    opt = preset("relu+rei").default_optimizer  # table1 runs both; the summary reads the default's
    label = lambda m: f"{m} ({opt})" if any(r["method"].endswith(")") for r in rows) else m  # noqa: E731

    def t1(method: str, metric: str) -> str:
        vals = [r[metric] for r in rows if r["method"] == label(method)]
        return f"{statistics.fmean(vals):.2f}" if vals else "-"

    def pair(other: str, metric: str) -> str:
        d = paired_differences(rows, label("relu+rei"), label(other), metric)
        return (f"{d['mean']:+.2f} dB [{d['low']:+.2f}, {d['high']:+.2f}]" if d["n"]
                else "n/a")

    relu1, kink1, rei1 = (layer(m, "init", 1) for m in ("relu", "relu+rei-kink", "relu+rei"))
    relu2, rei2, pe1 = layer("relu", "init", 2), layer("relu+rei", "init", 2), layer("pe", "init", 1)
    rei2t = layer("relu+rei", "trained", 2)
    prec = {(r["method"], r["precision"]): r["psnr"] for r in _json("precision_table1.json")["rows"]}
    loss = {m: prec[m, "float32"] - prec[m, "bf16"] for m in ("relu+rei", "relu", "pe", "siren")
            if (m, "bf16") in prec}
    audio = {(r["signal"], r["method"]): r["snr"] for r in _json("audio.json")["rows"]}
    clips = list(dict.fromkeys(c for c, _ in audio))
    n1 = relu1["fan_out"] + 1
    where = (f"{proto['image']}, {proto['size']} px, {proto['depth']} x {proto['width']}, at "
             "init; `benchmarks/results/rei_ranks.md`")
    lines = [
        f"- **`relu+rei-kink`** (the paper's first-layer REI: every kink crosses the data) makes "
        f"[H1, 1] exactly full rank ({kink1['features_exact']} / {n1}; relu "
        f"{relu1['features_exact']} / {n1}); its numerical rank at 1e-3 is "
        f"{kink1['features_numerical']} (relu {relu1['features_numerical']}) and its effective "
        f"rank {kink1['features_effective']:.1f} (relu {relu1['features_effective']:.1f}): the "
        f"spectrum stays steep ({where}). On table1 (with {opt}) it scores "
        f"{t1('relu+rei-kink', 'final_psnr')} dB fit / {t1('relu+rei-kink', 'offgrid_psnr')} dB "
        f"off-grid against relu's {t1('relu', 'final_psnr')} / {t1('relu', 'offgrid_psnr')}.",
        f"- **`relu+rei`** (the preset: layers 1-2 start as a triangle-wave positional encoding "
        f"built from ReLUs) leaves [H1, 1]'s numerical rank where relu has it "
        f"({rei1['features_numerical']} vs {relu1['features_numerical']}) and raises layer 2's: "
        f"effective rank of [H2, 1] {rei2['features_effective']:.1f} vs relu's "
        f"{relu2['features_effective']:.1f} (PE's first layer: {pe1['features_effective']:.1f}); "
        f"{rei2t['features_effective']:.1f} after {proto['steps']} steps. Block 1 of its NTK "
        f"holds {rei1['ntk_share']:.0%} of the trace (relu {relu1['ntk_share']:.1%}), top "
        f"eigenvalue {rei1['ntk_top']:.3g} vs {relu1['ntk_top']:.3g}.",
        f"- table1 (Kodak 01-08, 3 x {suite('table1').widths[0]}, {opt}, relu+rei's default; mean "
        "over images and seeds): `relu+rei` "
        f"{t1('relu+rei', 'final_psnr')} dB fit / {t1('relu+rei', 'offgrid_psnr')} dB off-grid; "
        f"paired against relu {pair('relu', 'final_psnr')} fit, "
        f"{pair('relu', 'offgrid_psnr')} off-grid; against PE {pair('pe', 'final_psnr')} / "
        f"{pair('pe', 'offgrid_psnr')}; against SIREN {pair('siren', 'final_psnr')} / "
        f"{pair('siren', 'offgrid_psnr')} (95% intervals over images).",
        "- bf16 autocast (`benchmarks/results/precision_table1.md`, float32 minus bf16 PSNR): "
        + ", ".join(f"{m} {v:+.2f} dB" for m, v in loss.items()) + ".",
        *_rei_depth_line(),
        *_coordinate_line(),
        "- audio (`benchmarks/results/audio.md`), SNR in dB: "
        + "; ".join(f"{c}: relu {audio.get((c, 'relu'), float('nan')):.2f}, relu+rei "
                    f"{audio.get((c, 'relu+rei'), float('nan')):.2f}, PE "
                    f"{audio.get((c, 'pe'), float('nan')):.2f}, SIREN "
                    f"{audio.get((c, 'siren'), float('nan')):.2f}" for c in clips) + ".",
    ]
    return "\n".join(lines)


def _citation() -> str:
    """The paper's BibTeX, from ``CITATION.cff``'s ``preferred-citation`` (its one source)."""
    import yaml

    ref = yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))["preferred-citation"]
    names = [a["family-names"] + (f", {a['given-names']}" if "given-names" in a else "")
             for a in ref["authors"]]
    word = next(w for w in re.findall(r"[a-z]+", ref["title"].lower()) if w not in ("the", "a"))
    key = f"{ref['authors'][0]['family-names'].lower()}{ref['year']}{word}"
    fields = {"title": ref["title"], "author": " and ".join(names), "year": ref["year"]}
    body = ",\n".join(f"  {k:<6} = {{{v}}}" for k, v in fields.items())
    return f"```bibtex\n@misc{{{key},\n{body}\n}}\n```"


#: block name -> renderer (no arguments; reads the registry or committed files).
BLOCKS: dict[str, Callable[[], str]] = {
    "presets": presets_markdown,
    "bench:lr-sweep": lambda: _bench("lr-sweep", kind="lr"),
    "bench:quick": lambda: _bench("quick", kind="summary+images"),
    "bench:quick-seeds": _quick_seeds,
    "bench:width": lambda: _bench("width", kind="width"),
    "task:generalize": lambda: _task("generalize", "test_psnr", "image", 2),
    "task:audio": lambda: _task("audio", "snr", "clip", 2),
    "task:occupancy": lambda: _task("occupancy", "grid_iou", "mesh", 3),
    "rei-ablation": _rei_ablation,
    "rei-depth": _rei_depth,
    "references": lambda: REFERENCE_POINTS.strip(),
    "headline": _headline,
    "table1": _table1,
    "table1:per-image": _table1_per_image,
    "table1:tuned": _tuned,
    "archive:table1-w128": _table1_w128,
    "table1:why": _table1_why,
    "readme:rei": _rei_summary,
    "citation": _citation,
}


def _include(name: str, level: int = 1) -> str:
    """A result file's own Markdown (written by its benchmark from the same run), without its
    title and with its headings nested below the including section's ``level``:
    ``include:NAME.md`` blocks."""
    lines = (RESULTS / name).read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    text = "\n".join(lines).strip()
    # a command as the script named itself when it ran, as it runs now: python -m benchmarks.X.Y
    text = _SCRIPT.sub(lambda m: f"{m.group(1)} -m {m.group(2).replace('/', '.')}", text)
    levels = [len(h) for h, _ in _HEADING.findall(text)]
    shift = level + 1 - min(levels, default=level + 1)
    if shift > 0:
        text = _HEADING.sub(lambda m: f"{'#' * min(6, len(m.group(1)) + shift)} {m.group(2)}",
                            text)
    # images the result file links beside itself, seen from the repository root
    return re.sub(r"\]\((?!https?:|/)([^)]+\.png)\)", r"](benchmarks/results/\1)", text)


#: ``python benchmarks/FOLDER/SCRIPT.py``, the spelling of results written before the scripts
#: ran as modules.
_SCRIPT = re.compile(r"\b(python3?) (benchmarks/[\w/]+)\.py\b")
_HEADING = re.compile(r"^(#{1,6}) (.+)$", re.M)


def _renderer(name: str) -> Callable[[], str]:
    if name.startswith("include:"):
        return lambda: _include(name.split(":", 1)[1])
    if name not in BLOCKS:
        raise KeyError(f"unknown generated block {name!r}; known: {', '.join(BLOCKS)}, "
                       "include:FILE.md")
    return BLOCKS[name]


def _level(text: str) -> int:
    """The level of the last hand-written heading of ``text`` (1 if none)."""
    found = _HEADING.findall(_BLOCK.sub("", text))
    return len(found[-1][0]) if found else 1


def render(text: str) -> tuple[str, list[str]]:
    """``text`` with every generated block rewritten, and the names of the blocks that changed.

    An included result file's headings nest below the section that includes it, and one whose
    title the document would hold twice is told apart by the file's name."""
    changed: list[str] = []
    blocks = list(_BLOCK.finditer(text))
    bodies = {}
    for m in blocks:
        name = m.group("name")
        bodies[m.start()] = (_include(name.split(":", 1)[1], _level(text[:m.start()]))
                             if name.startswith("include:") else _renderer(name)())
    titles = [t for _, t in _HEADING.findall(_BLOCK.sub("", text))]
    titles += [t for body in bodies.values() for _, t in _HEADING.findall(body)]
    twice = {t for t in titles if titles.count(t) > 1}

    def sub(m: re.Match) -> str:
        name, body = m.group("name"), bodies[m.start()]
        if name.startswith("include:"):
            stem = Path(name.split(":", 1)[1]).stem
            body = _HEADING.sub(lambda h: f"{h.group(1)} {h.group(2)} ({stem})"
                                if h.group(2) in twice else h.group(0), body)
        body = body.rstrip("\n") + "\n"
        if body != m.group("body"):
            changed.append(name)
        return m.group(1) + body + m.group(4)

    return _BLOCK.sub(sub, text), changed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if any block is stale")
    args = ap.parse_args(argv)
    stale = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        new, changed = render(text)
        stale += [f"{doc.name}: {name}" for name in changed]
        if changed and not args.check:
            doc.write_text(new, encoding="utf-8")
    if stale:
        print(("stale" if args.check else "updated") + ": " + ", ".join(stale), file=sys.stderr)
    if not args.check:
        figure = table1_figure()
        if figure is not None:
            print(f"drew {figure.relative_to(ROOT)}", file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
