"""Benchmark results as tables: ``results.csv``/``results.json`` (one row per run), Markdown
tables (mean +- std per method, best in bold; per image; per width; per lr) and, through
:mod:`inrank.report.html`, plots and an HTML report."""
from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Sequence
from pathlib import Path

from .. import files as _io
from ..errors import InputError

__all__ = ["ROW_FIELDS", "REFERENCE_POINTS", "flat_row", "Table", "summary_table",
           "per_image_table", "width_table", "lr_table", "to_markdown", "results_markdown",
           "write_report"]

#: Columns of ``results.csv`` (rank columns are added when a suite measures rank).
ROW_FIELDS = ("method", "signal", "seed", "width", "depth", "steps", "lr", "final_psnr",
              "best_psnr", "ssim", "params", "seconds_per_step", "device", "size", "status")
#: Task metrics (columns added when present): held-out PSNR, audio SNR, occupancy IoU.
TASK_FIELDS = {"test_psnr": "Held-out PSNR (dB) per image", "train_psnr": "Training-pixel PSNR (dB) per image",
               "snr": "SNR (dB) per clip", "grid_iou": "Occupancy IoU on the dense grid per mesh"}
_RANK_FIELDS = ("rank_init_exact", "rank_init_numerical", "rank_final_exact",
                "rank_final_numerical", "rank_max")

#: Published numbers to print beside ours (dB); their protocols differ from ours.
REFERENCE_POINTS = (
    "Reference points (not our runs; protocols differ):\n\n"
    "- Zheng, Saratchandran, Lucey 2026, Table 1 (protocol not public): REI 25.61, PE 27.15, "
    "SIREN 27.29 dB.\n"
    "- FR-INR / IGA papers, Kodak 01-08, 4 linear layers x 256, 10k steps, best PSNR: "
    "ReLU 21.78, PE 28.64, SIREN 32.65, SIREN+IGA 33.48 dB.\n")

# A table is (headers, rows); a cell is (text, bold).
Table = tuple[list[str], list[list[tuple[str, bool]]]]


def flat_row(record: dict) -> dict:
    """One run record (``out/runs/<id>.json``) -> a flat row with :data:`ROW_FIELDS`."""
    run, m = record["run"], record["metrics"]
    row = {k: run.get(k) for k in ("method", "signal", "seed", "width", "depth", "steps", "lr")}
    row.update({k: m.get(k) for k in ("final_psnr", "best_psnr", "ssim", "params",
                                      "seconds_per_step", "device")})
    row.update(size=run.get("size"), status=record.get("status", "ok"))
    row.update({k: m[k] for k in TASK_FIELDS if m.get(k) is not None})
    if record.get("rank"):
        r = record["rank"]
        row.update(rank_init_exact=r["init_exact"], rank_init_numerical=r["init_numerical"],
                   rank_final_exact=r["final_exact"], rank_final_numerical=r["final_numerical"],
                   rank_max=r["max"])
    return row


def _stats(values: Sequence[float | None]) -> tuple[float, float, int]:
    """Mean, sample std (0 for one value) and count of the finite values."""
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return math.nan, math.nan, 0
    return statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v)


def _fmt(mean: float, std: float, n: int, digits: int = 2) -> str:
    if n == 0:
        return "n/a"
    return f"{mean:.{digits}f}" if n == 1 else f"{mean:.{digits}f} ± {std:.{digits}f}"


def _groups(rows: Sequence[dict], key: str) -> dict:
    if not rows:
        raise InputError("no rows to tabulate; run the suite first (inrank bench SUITE)")
    out: dict = {}
    for r in rows:
        out.setdefault(r[key], []).append(r)
    return out


def _bold_best(column: list[float], *, higher: bool = True) -> list[bool]:
    finite = [x for x in column if math.isfinite(x)]
    if not finite:
        return [False] * len(column)
    best = max(finite) if higher else min(finite)
    return [math.isfinite(x) and round(x, 2) == round(best, 2) for x in column]


def summary_table(rows: Sequence[dict]) -> Table:
    """Mean +- std over images and seeds per method: final PSNR, best PSNR, SSIM, ms/step.

    Examples:
        >>> rows = [{"method": "a", "final_psnr": 20.0, "best_psnr": 21.0, "ssim": 0.5,
        ...          "seconds_per_step": 0.01, "params": 10, "status": "ok"},
        ...         {"method": "b", "final_psnr": 30.0, "best_psnr": 31.0, "ssim": 0.9,
        ...          "seconds_per_step": 0.02, "params": 10, "status": "ok"}]
        >>> print(to_markdown(summary_table(rows)).splitlines()[3])
        | b | **30.00** | **31.00** | **0.9000** | 20.0 | 10 | 1 |
    """
    groups = _groups(rows, "method")
    cols = {k: [_stats([r[k] for r in g]) for g in groups.values()]
            for k in ("final_psnr", "best_psnr", "ssim", "seconds_per_step")}
    bold = {k: _bold_best([s[0] for s in cols[k]]) for k in ("final_psnr", "best_psnr")}
    bold["ssim"] = _bold_best([round(s[0], 4) for s in cols["ssim"]])
    body = []
    for i, (method, g) in enumerate(groups.items()):
        diverged = sum(r["status"] != "ok" for r in g)
        ms = cols["seconds_per_step"][i]
        body.append([(method, False), (_fmt(*cols["final_psnr"][i]), bold["final_psnr"][i]),
                     (_fmt(*cols["best_psnr"][i]), bold["best_psnr"][i]),
                     (_fmt(*cols["ssim"][i], digits=4), bold["ssim"][i]),
                     (_fmt(ms[0] * 1e3, ms[1] * 1e3, ms[2], digits=1), False),
                     ("/".join(str(p) for p in dict.fromkeys(r["params"] for r in g)), False),
                     (f"{len(g)}" + (f" ({diverged} diverged)" if diverged else ""), False)])
    return (["method", "final PSNR (dB)", "best PSNR (dB)", "SSIM", "ms/step", "params", "runs"],
            body)


def per_image_table(rows: Sequence[dict], *, metric: str = "final_psnr") -> Table:
    """Methods x images: mean (+- std over seeds) of ``metric``; best per image in bold."""
    methods, images = list(_groups(rows, "method")), list(_groups(rows, "signal"))
    cell = {(m, i): _stats([r[metric] for r in rows if r["method"] == m and r["signal"] == i])
            for m in methods for i in images}
    bold = {i: dict(zip(methods, _bold_best([cell[m, i][0] for m in methods]))) for i in images}
    body = [[(m, False)] + [(_fmt(*cell[m, i]), bold[i][m]) for i in images] for m in methods]
    return ["method"] + images, body


def width_table(rows: Sequence[dict]) -> Table:
    """Methods x widths: final PSNR (best per width in bold) and the rank of [H_1, 1]."""
    widths = sorted({r["width"] for r in rows})
    methods = list(_groups(rows, "method"))
    psnr = {(m, w): _stats([r["final_psnr"] for r in rows if r["method"] == m and r["width"] == w])
            for m in methods for w in widths}
    bold = {w: dict(zip(methods, _bold_best([psnr[m, w][0] for m in methods]))) for w in widths}
    body = []
    for m in methods:
        for w in widths:
            g = [r for r in rows if r["method"] == m and r["width"] == w]
            rank = lambda k: "/".join(sorted({str(r.get(k)) for r in g}))  # noqa: E731
            body.append([(m, False), (str(w), False), (_fmt(*psnr[m, w]), bold[w][m]),
                         (f"{rank('rank_init_exact')} / {rank('rank_max')}", False),
                         (f"{rank('rank_init_numerical')} / {rank('rank_max')}", False),
                         (f"{rank('rank_final_exact')}", False),
                         (f"{rank('rank_final_numerical')}", False)])
    return (["method", "width", "final PSNR (dB)", "rank [H1,1] exact, init",
             "rank numerical (1e-3), init", "exact, trained", "numerical, trained"], body)


def lr_table(rows: Sequence[dict]) -> Table:
    """Methods x points of each method's lr grid (lowest first): mean final PSNR over images
    and seeds, and the lr; each method's best in bold."""
    body, k = [], 0
    for m, g in _groups(rows, "method").items():
        lrs = sorted({r["lr"] for r in g})
        k = max(k, len(lrs))
        cells = [_stats([r["final_psnr"] for r in g if r["lr"] == lr]) for lr in lrs]
        bold = _bold_best([c[0] for c in cells])
        body.append([(m, False)] + [(f"{_fmt(*c)} @ {lr:g}", b)
                                    for c, lr, b in zip(cells, lrs, bold)])
    body = [row + [("", False)] * (k + 1 - len(row)) for row in body]
    return ["method"] + [f"PSNR @ lr, grid point {i + 1}" for i in range(k)], body


def to_markdown(table: Table) -> str:
    """Render a :data:`Table` as GitHub Markdown (bold cells as ``**x**``)."""
    headers, body = table
    lines = ["| " + " | ".join(headers) + " |",
             "|---|" + "---:|" * (len(headers) - 1)]
    for row in body:
        lines.append("| " + " | ".join(f"**{t}**" if b else t for t, b in row) + " |")
    return "\n".join(lines)


def _tables(rows: Sequence[dict], suite) -> list[tuple[str, Table]]:
    """The titled tables a suite's report shows, in order."""
    if len(suite.lr_multipliers) > 1:
        return [("Final PSNR (dB) by learning rate (mean over images; best per method in bold)",
                 lr_table(rows))]
    if len(suite.widths) > 1:
        out = [("PSNR and first-layer rank by width", width_table(rows))]
    else:
        out = [("Summary (mean ± std over images and seeds; best in bold)", summary_table(rows))]
    for label, images in (suite.subsets or {}).items():
        sub = [r for r in rows if r["signal"] in images]
        if sub:
            out.append((f"Subset {label}", summary_table(sub)))
    if len({r["signal"] for r in rows}) > 1 or len(suite.widths) == 1:
        out.append(("Final PSNR (dB) per image", per_image_table(rows)))
    for field, title in TASK_FIELDS.items():
        if rows and all(field in r for r in rows):
            out.append((title, per_image_table(rows, metric=field)))
    return out


def results_markdown(rows: Sequence[dict], suite, *, machine: str = "") -> str:
    """The whole ``results.md``: protocol, machine, every table, reference points for Kodak."""
    size = f"{suite.size} px short side" if suite.size else "full size"
    parts = [f"# inrank bench `{suite.name}`", "", suite.summary, "",
             f"Protocol: {len(suite.images)} image(s) ({', '.join(suite.images)}) at {size}; "
             f"{suite.depth} hidden layers x {', '.join(map(str, suite.widths))}; {suite.steps} "
             f"full-batch Adam steps; seeds {', '.join(map(str, suite.seeds))}; lr "
             f"{'tuned (src/inrank/tuned_lr.json)' if suite.lr_source == 'tuned' else 'preset'}"
             + (f" x {', '.join(f'{x:.3g}' for x in suite.lr_multipliers)}"
                if len(suite.lr_multipliers) > 1 else "") + ".", ""]
    if machine:
        parts += [machine, ""]
    for title, table in _tables(rows, suite):
        parts += [f"## {title}", "", to_markdown(table), ""]
    if suite.name == "kodak":
        parts += [REFERENCE_POINTS]
    return "\n".join(parts)


def _csv_text(rows: Sequence[dict]) -> str:
    fields = list(ROW_FIELDS) + [f for f in (*TASK_FIELDS, *_RANK_FIELDS) if any(f in r for r in rows)]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_report(records: Sequence[dict], out: str | Path, *, suite, target=None,
                 machine: str | None = None, plots: bool = True) -> dict[str, Path]:
    """Write ``results.{csv,json,md}``, the plots and ``report.html`` under ``out``.

    Args:
        records: run records in suite order (as in ``out/runs``).
        out: the suite's output folder.
        suite: the :class:`inrank.bench.Suite` as run.
        target: the report image ``(H, W, c)`` in ``[0, 1]`` (numpy), shown beside each
            method's reconstruction; None leaves the reconstruction figures out.
        machine: a line naming the machine (default: CPU, cores, torch, GPU).
        plots: also draw the figures (the slow part); the HTML then shows them.

    Returns:
        Name -> path of every file written.
    """
    from .html import write_figures, write_html

    out = Path(out)
    rows = [flat_row(r) for r in records]
    machine = _machine_line() if machine is None else machine
    files = {"csv": _io.write_text(out / "results.csv", _csv_text(rows)),
             "json": _io.write_json(out / "results.json", rows)}
    md = results_markdown(rows, suite, machine=machine)
    files["md"] = _io.write_text(out / "results.md", md)
    figures = write_figures(records, out, suite=suite, target=target) if plots else {}
    files.update(figures)
    files["html"] = write_html(out, title=f"inrank bench {suite.name}", markdown_parts=[
        (t, tab) for t, tab in _tables(rows, suite)], intro=md.split("\n## ")[0], figures=figures)
    return files


def _machine_line() -> str:
    import os
    import platform

    import torch

    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = f", GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else ", no GPU"
    return (f"Machine: {cpu}, {os.cpu_count()} cores ({torch.get_num_threads()} torch threads)"
            f"{gpu}; torch {torch.__version__}.")
