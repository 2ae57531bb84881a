"""The generated blocks of the documentation pages.

A page holds ``<!-- generated: NAME -->`` ... ``<!-- end generated -->`` blocks, as README.md
and BENCHMARKS.md do; the prose around them is hand-written and every number inside them is
read from a committed file: ``benchmarks/results/`` (through ``benchmarks/render_docs.py``'s
renderers, for the names it knows) or ``docs/data/`` (written by ``docs/make_figures.py``), or,
for the synthetic patterns' table, computed from the library in milliseconds.
Rendering needs no fitting, so the test suite checks that every block is current.
"""
from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Callable
from pathlib import Path

from inrank.bench.demo import DemoRow, demo_sentence, demo_table
from inrank.report.tables import markdown_table, to_markdown

from . import DATA, DOCS, ROOT
from .from_results import WIDTH_METHODS, read_result
from .patterns import pattern_table

__all__ = ["BLOCKS", "renderer", "render", "pages", "render_pages"]

_BLOCK = re.compile(
    r"(<!-- generated: (?P<name>[\w:.+-]+) -->\n)(?P<body>.*?)(<!-- end generated -->)", re.S)


def _data(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _at(measures: dict | None, rtol: float = 1e-3) -> str:
    """The numerical rank at ``rtol`` of a ``RankMeasures`` as JSON (``-``: not measured)."""
    if measures is None:
        return "-"
    return next(str(n) for r, n in measures["numerical"] if r == rtol)


def _diagnosis() -> str:
    """The live diagnosis (``docs/data/diagnosis.json``): per method, the rank the first layer
    reads, the numerical ranks of each hidden layer's features and NTK block 1, at init."""
    payload = _data("diagnosis.json")
    s, sig = payload["settings"], payload["signal"]
    depth = s["depth"]
    head = (["method", "[X, 1] exact (input)", "[H1, 1] exact"]
            + [f"[H{k}, 1] @1e-3" for k in range(1, depth + 1)]
            + ["NTK block 1 @1e-3", "block 1 share", "whole NTK @1e-3"])
    body = []
    for d in payload["diagnoses"]:
        layers = d["layers"]
        body.append([d["label"], str(d["input_features"]["exact"]),
                     str(layers[0]["features"]["exact"])]
                    + [_at(layers[k]["features"]) for k in range(depth)]
                    + [_at(layers[0]["ntk"]), f"{layers[0]['ntk_share']:.3f}", _at(d["total"])])
    note = (f"{sig['name']} pixel grid {sig['width']} x {sig['height']} (N = {sig['n_points']}),"
            f" {depth} hidden layers x {s['width']} (so [H_l, 1] has at most {s['width'] + 1}"
            f" columns), seed {s['seed']}, at init; ranks at rtol 1e-3, in float64. "
            f"Command: `{payload['command']}`.")
    return markdown_table(head, body) + "\n\n" + note


def _inlet_width() -> str:
    """``inlet_rank.json``: exact and numerical rank of ``[H_1, 1]`` against width."""
    payload = read_result("inlet_rank.json")
    widths = payload["widths"]
    rows = {(r["method"], r["width"]): r["H1"] for r in payload["rows"]}
    head = ["method"] + [f"D = {w}: exact / @1e-3 (of {w + 1})" for w in widths]
    body = [[m] + [f"{rows[m, w]['exact']} / {rows[m, w]['numerical']['0.001']}"
                   for w in widths] for m in WIDTH_METHODS]
    note = (f"`benchmarks/results/inlet_rank.json`: the {payload['n_points']}-point pixel grid "
            f"of the astronaut image, depth {payload['depth']}, seed {payload['seed']}, at "
            "init, float64.")
    return markdown_table(head, body) + "\n\n" + note


def _rank_dynamics() -> str:
    """``rank_dynamics.json``: PSNR and, from the first to the last tracked step, the effective
    rank of what layers 2 and 3 read and layer 1's NTK trace share."""
    payload = read_result("rank_dynamics.json")

    def change(row: dict, layer: int, value: Callable[[dict], float], fmt: str) -> str:
        first, last = (value(row["track"][k]["layers"][layer]) for k in (0, -1))
        return f"{first:{fmt}} -> {last:{fmt}}"

    eff = lambda lay: lay["features"]["effective"]  # noqa: E731
    body = [[r["method"], f"{r['psnr']:.2f}", change(r, 1, eff, ".1f"), change(r, 2, eff, ".1f"),
             change(r, 0, lambda lay: lay["ntk"]["share"], ".3f")] for r in payload["rows"]]
    head = ["method", "PSNR (dB)", "eff. rank of [H1, 1] (layer 2 reads)",
            "eff. rank of [H2, 1] (layer 3 reads)", "layer 1 NTK share"]
    note = (f"`benchmarks/results/rank_dynamics.json`: astronaut 64 px, 3 x 256, "
            f"{payload['steps']} full-batch Adam steps, tracked every {payload['every']} steps "
            f"on {payload['points']} points; first -> last tracked step.")
    return markdown_table(head, body) + "\n\n" + note


def _gallery() -> str:
    """The demo's table (``docs/data/gallery.json``), by the demo's own formatter, with each
    method's lr and without the timing column: the docs are built on whatever machine is at
    hand, which is no benchmark."""
    payload = _data("gallery.json")
    s, sig = payload["settings"], payload["signal"]
    rows = [DemoRow(r["method"], r["psnr"], r["ssim"], r["seconds_per_step"], r["rank_exact"],
                    r["rank_numerical"], r["width"], [], None, [], r.get("optimizer", "adam"))
            for r in payload["rows"]]
    headers, body = demo_table(rows)
    keep = [k for k, h in enumerate(headers) if h != "ms/step"]
    lrs = [(f"{r['lrs']['lr']:g}" + (f" / muon {r['lrs']['muon_lr']:g}"
                                     if r["lrs"].get("muon_lr") else ""))
           if "lrs" in r else f"{payload['presets'][r['method']]['lr']:g}" for r in payload["rows"]]
    table = to_markdown(([headers[0], "lr"] + [headers[k] for k in keep[1:]],
                         [[row[0], lr] + [row[k] for k in keep[1:]] for row, lr in zip(body, lrs)]))
    note = (f"{sig['name']} {sig['width']} x {sig['height']}, {s['depth']} hidden layers x "
            f"{s['width']}, {s['steps']} full-batch steps, each method with its default "
            f"optimiser at its preset's lrs, seed "
            f"{s['seed']}; ranks of the first hidden layer's features with a ones column, at "
            f"init. Command: `{payload['command']}`.")
    return table + "\n\n" + demo_sentence(rows) + "\n\n" + note


def _shared() -> dict[str, Callable[[], str]]:
    """``benchmarks/render_docs.py``'s renderers (the README's and BENCHMARKS.md's blocks)."""
    spec = importlib.util.spec_from_file_location("render_docs",
                                                  ROOT / "benchmarks" / "render_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return dict(module.BLOCKS)


#: block name -> renderer, for the names only the site uses (the rest: :func:`_shared`).
BLOCKS: dict[str, Callable[[], str]] = {
    "docs:diagnosis": _diagnosis,
    "docs:inlet-width": _inlet_width,
    "docs:rank-dynamics": _rank_dynamics,
    "docs:gallery": _gallery,
    "docs:patterns": pattern_table,
}


def renderer(name: str) -> Callable[[], str]:
    """The renderer of block ``name``; ``KeyError`` naming the known ones if there is none."""
    if name in BLOCKS:
        return BLOCKS[name]
    shared = _shared()
    if name not in shared:
        raise KeyError(f"unknown generated block {name!r}; known: "
                       f"{', '.join([*BLOCKS, *shared])}")
    return shared[name]


def render(text: str) -> tuple[str, list[str]]:
    """``text`` with every generated block rewritten, and the names of the blocks that
    changed."""
    changed: list[str] = []

    def sub(m: re.Match) -> str:
        body = renderer(m.group("name"))().rstrip("\n") + "\n"
        if body != m.group("body"):
            changed.append(m.group("name"))
        return m.group(1) + body + m.group(4)

    return _BLOCK.sub(sub, text), changed


def pages() -> list[Path]:
    """Every Markdown page of the site."""
    return sorted(DOCS.rglob("*.md"))


def render_pages(*, write: bool) -> list[str]:
    """Re-render every page's blocks (rewriting the pages when ``write``); return the stale
    ones as ``page: block``."""
    stale = []
    for page in pages():
        text = page.read_text(encoding="utf-8")
        new, changed = render(text)
        stale += [f"{page.relative_to(DOCS)}: {name}" for name in changed]
        if changed and write:
            page.write_text(new, encoding="utf-8")
    return stale
