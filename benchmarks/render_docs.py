"""Regenerate every generated block of README.md and BENCHMARKS.md from the registry and the
committed result files; ``--check`` exits 1 (naming the blocks) when a block is stale.

    python benchmarks/render_docs.py            # rewrite the blocks in place
    python benchmarks/render_docs.py --check    # what the test suite runs

A generated block sits between ``<!-- generated: NAME -->`` and ``<!-- end generated -->``;
the prose around it stays hand-written. NAME is a key of :data:`BLOCKS`, or
``include:FILE.md``: a result file's own Markdown, which its benchmark writes from the same
run as the JSON beside it.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from inrank.nn.registry import presets_markdown
from inrank.report.results import REFERENCE_POINTS
from inrank.report.tables import (format_mean_std, lr_table, markdown_table, mean_std,
                                  per_image_table, summary_table, to_markdown, width_table)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCS = (ROOT / "README.md", ROOT / "BENCHMARKS.md")
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w:.-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)",
                    re.S)


def _json(path: str):
    return json.loads((RESULTS / path).read_text(encoding="utf-8"))


def _bench(folder: str, *, kind: str = "summary") -> str:
    """Tables of an ``inrank bench`` suite from its ``results.json`` rows."""
    rows = _json(f"bench/{folder}/results.json")
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
    payload = _json("rei_ablation.json")
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
    payload = _json("rei_depth.json")
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
    rows = _json("bench/quick-seeds/results.json")
    out = to_markdown(summary_table(rows))
    by = {(r["method"], r["signal"], r["seed"]): r["final_psnr"] for r in rows}
    diffs = [by[("relu+rei",) + k[1:]] - by[k] for k in by if k[0] == "relu"]
    m, s, n = mean_std(diffs)
    return out + (f"\n\n`relu+rei` - `relu` over the {n} (image, seed) pairs: "
                  f"{format_mean_std(m, s, n)} dB (min {min(diffs):+.2f}, max {max(diffs):+.2f}).")


def _table1() -> str:
    """``table1`` from its run records (those of the current protocol and tuned values; a
    partial run says how many are done): the comparison, the paired differences of relu+rei,
    and the fit PSNR per image."""
    from inrank.bench import expand, suite
    from inrank.bench.runner import load_records
    from inrank.report.comparison import offgrid_tables
    from inrank.report.results import flat_row

    runs = expand(suite("table1"))
    records = load_records(RESULTS / "bench" / "table1", runs)
    rows = [flat_row(records[r.id]) for r in runs if r.id in records]
    if not rows:
        return f"No table1 run has finished yet (0 of {len(runs)})."
    done = len(rows)
    head = (f"{done} of {len(runs)} runs finished" + ("" if done == len(runs) else
            " (the suite is still running: `python benchmarks/table1.py` continues it)") + ".")
    out = [head]
    for title, table in offgrid_tables(rows):
        out += ["", f"{title}:", "", to_markdown(table)]
    out += ["", "Fit PSNR (dB) per image (mean over seeds):", "",
            to_markdown(per_image_table(rows)),
            "", "Off-grid PSNR at 2x (dB) per image (mean over seeds):", "",
            to_markdown(per_image_table(rows, metric="offgrid_psnr"))]
    return "\n".join(out)


def _tuned() -> str:
    """The registry's tuned values (``src/inrank/nn/tuned.json``): per method its lr and knob,
    the grids they were chosen from, and a flag where the choice sits on a grid's edge."""
    from inrank.nn import registry

    path = Path(registry.TUNED_PATH)
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
        body.append([m, f"{e['lr']:g}", span(e["grid"]["lr"]),
                     "**edge**" if e["edge"]["lr"] else "-",
                     f"{knob[0].split('.')[-1]}={knob[1]:g}" if knob else "-",
                     ", ".join(sorted(e["grid"].get("knob", {}), key=float)) or "-",
                     "**edge**" if e["edge"].get("knob") else "-"])
    note = (f"Chosen on the calibration images {', '.join(proto['calibration'])} "
            f"({proto['steps']} steps, seed 0): the lr by mean fit PSNR on a half-decade grid "
            f"extended past an edge up to {proto['max_extensions']} times, then the knob by mean "
            "off-grid PSNR at 2x at that lr. **edge**: the choice sits on the grid's edge.")
    return note + "\n\n" + markdown_table(
        ["method", "lr", "lr grid (points)", "lr at edge", "knob", "knob grid", "knob at edge"],
        body, align="lrlllll")


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
    "table1": _table1,
    "table1:tuned": _tuned,
}


def _include(name: str) -> str:
    """A result file's own Markdown (written by its benchmark from the same run), without its
    title: ``include:NAME.md`` blocks."""
    lines = (RESULTS / name).read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    text = "\n".join(lines).strip()
    # images the result file links beside itself, seen from the repository root
    return re.sub(r"\]\((?!https?:|/)([^)]+\.png)\)", r"](benchmarks/results/\1)", text)


def _renderer(name: str) -> Callable[[], str]:
    if name.startswith("include:"):
        return lambda: _include(name.split(":", 1)[1])
    if name not in BLOCKS:
        raise KeyError(f"unknown generated block {name!r}; known: {', '.join(BLOCKS)}, "
                       "include:FILE.md")
    return BLOCKS[name]


def render(text: str) -> tuple[str, list[str]]:
    """``text`` with every generated block rewritten, and the names of the blocks that changed."""
    changed: list[str] = []

    def sub(m: re.Match) -> str:
        name = m.group("name")
        body = _renderer(name)().rstrip("\n") + "\n"
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
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
