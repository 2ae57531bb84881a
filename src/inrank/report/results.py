"""Benchmark results as tables: ``results.csv``/``results.json`` (one row per run), Markdown
tables (mean +- std per method, best in bold; per image; per width; per lr) and, through
:mod:`inrank.report.html`, plots and an HTML report."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from .. import files as _io
from ..nn.init import rei_option_default
from ..nn.registry import preset, presets
from .comparison import lead_sentence, offgrid_tables
from .html import write_figures, write_html
from .machine import machine_line
from .tables import Table, lr_table, per_image_table, summary_table, to_markdown, width_table

__all__ = ["ROW_FIELDS", "TASK_FIELDS", "REFERENCE_POINTS", "flat_row", "results_markdown",
           "write_report"]

#: Columns of ``results.csv`` (rank columns are added when a suite measures rank).
ROW_FIELDS = ("method", "signal", "seed", "width", "depth", "steps", "lr", "final_psnr",
              "best_psnr", "ssim", "params", "seconds_per_step", "device", "size", "status")
#: Task metrics (columns added when present): held-out PSNR, audio SNR, occupancy IoU.
TASK_FIELDS = {"test_psnr": "Held-out PSNR (dB) per image", "train_psnr": "Training-pixel PSNR (dB) per image",
               "snr": "SNR (dB) per clip", "grid_iou": "Occupancy IoU on the dense grid per mesh",
               "offgrid_psnr": "Off-grid PSNR at 2x (dB) per image",
               "offgrid_ssim": "Off-grid SSIM at 2x per image"}
_RANK_FIELDS = ("rank_init_exact", "rank_init_numerical", "rank_final_exact",
                "rank_final_numerical", "rank_max")

#: Published numbers to print beside ours (dB); their protocols differ from ours.
REFERENCE_POINTS = (
    "- Zheng, Saratchandran, Lucey 2026, Table 1 (protocol not public): REI 25.61, PE 27.15, "
    "SIREN 27.29 dB.\n"
    "- FR-INR / IGA papers, Kodak 01-08, 4 linear layers x 256, 10k steps, best PSNR: "
    "ReLU 21.78, PE 28.64, SIREN 32.65, SIREN+IGA 33.48 dB.\n")

def _knob(record: dict) -> str:
    """``name=value`` of the run's preset knob, read from the config it ran with ('' if none)."""
    name = record["run"].get("preset")
    knob = preset(name).knob if name in presets() else None
    cfg = record.get("config") or {}
    if knob is None:
        return ""
    if knob.startswith("rei_options."):
        value = (cfg.get("rei_options") or {}).get(knob.split(".", 1)[1])
        if value is None:

            value = rei_option_default(cfg.get("rei_variant", "kink"), knob.split(".", 1)[1])
    else:
        value = cfg.get(knob)
    return "" if value is None else f"{knob.split('.')[-1]}={value:g}"


def flat_row(record: dict) -> dict:
    """One run record (``out/runs/<id>.json``) -> a flat row with :data:`ROW_FIELDS`."""
    run, m = record["run"], record["metrics"]
    row = {k: run.get(k) for k in ("method", "signal", "seed", "width", "depth", "steps", "lr")}
    row.update({k: m.get(k) for k in ("final_psnr", "best_psnr", "ssim", "params",
                                      "seconds_per_step", "device")})
    row.update(size=run.get("size"), status=record.get("status", "ok"), knob=_knob(record))
    row.update({k: m[k] for k in TASK_FIELDS if m.get(k) is not None})
    row.update({k: m[k] for k in ("baseline", "baseline_psnr", "baseline_test_psnr")
                if m.get(k) is not None})  # an inverse problem's classical reconstruction
    if record.get("rank"):
        r = record["rank"]
        row.update(rank_init_exact=r["init_exact"], rank_init_numerical=r["init_numerical"],
                   rank_final_exact=r["final_exact"], rank_final_numerical=r["final_numerical"],
                   rank_max=r["max"])
    return row


#: Task metrics whose per-signal table also says who leads (the others are in a summary).
_LEAD_FIELDS = ("test_psnr", "snr", "grid_iou")


def _tables(rows: Sequence[dict], suite) -> list[tuple[str, Table, str]]:
    """The ``(title, table, sentence)`` a suite's report shows, in order; the sentence says who
    leads a comparison by how much (:func:`~inrank.report.comparison.lead_sentence`), ``""``
    under the other tables."""
    if len(suite.lr_multipliers) > 1:
        return [("Final PSNR (dB) by learning rate (mean over images; best per method in bold)",
                 lr_table(rows), "")]
    if getattr(suite, "offgrid", False):
        out = offgrid_tables(rows)
    elif len(suite.widths) > 1:
        out = [("PSNR and first-layer rank by width", width_table(rows), "")]
    else:
        out = [("Summary (mean ± std over images and seeds; best in bold)", summary_table(rows),
                lead_sentence(rows))]
    for label, images in (suite.subsets or {}).items():
        sub = [r for r in rows if r["signal"] in images]
        if sub:
            out.append((f"Subset {label}", summary_table(sub), lead_sentence(sub)))
    if len({r["signal"] for r in rows}) > 1 or len(suite.widths) == 1:
        out.append(("Final PSNR (dB) per image", per_image_table(rows), ""))
    for field, title in TASK_FIELDS.items():
        if rows and all(field in r for r in rows):
            out.append((title, per_image_table(rows, metric=field),
                        lead_sentence(rows, field) if field in _LEAD_FIELDS else ""))
    if rows and all("baseline_psnr" in r for r in rows):  # inverse problems: the baseline beside
        for field, key, title in (("final_psnr", "baseline_psnr", "PSNR (dB) per image against "
                                   "the truth, the classical baseline beside the networks"),
                                  ("test_psnr", "baseline_test_psnr", "PSNR (dB) on the unseen "
                                   "pixels per image, the classical baseline beside the networks")):
            if all(field in r and key in r for r in rows):
                base = {r["signal"]: r[key] for r in rows}
                extra = [{"method": f"baseline: {rows[0]['baseline']}", "signal": sig,
                          field: v, "seed": 0} for sig, v in base.items()]
                out.append((title, per_image_table(list(rows) + extra, metric=field), ""))
    return out


def results_markdown(rows: Sequence[dict], suite, *, machine: str = "") -> str:
    """The whole ``results.md``: protocol, machine, every table, reference points for Kodak."""
    size = f"{suite.size} px short side" if suite.size else "full size"
    parts = [f"# inrank bench `{suite.name}`", "", suite.summary, "",
             f"Protocol: {len(suite.images)} image(s) ({', '.join(suite.images)}) at {size}; "
             f"{suite.depth} hidden layers x {', '.join(map(str, suite.widths))}; {suite.steps} "
             f"full-batch Adam steps; seeds {', '.join(map(str, suite.seeds))}; each method at "
             "its registry lr (see the lr column)"
             + (f" x {', '.join(f'{x:.3g}' for x in suite.lr_multipliers)}"
                if len(suite.lr_multipliers) > 1 else "") + ".", ""]
    if machine:
        parts += [machine, ""]
    for title, table, sentence in _tables(rows, suite):
        parts += [f"## {title}", "", to_markdown(table), ""] + ([sentence, ""] if sentence else [])
    if suite.name in ("kodak", "table1"):
        parts += ["## Other papers' numbers (not our runs; their protocols, not ours)", "",
                  REFERENCE_POINTS]
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
    out = Path(out)
    rows = [flat_row(r) for r in records]
    machine = machine_line() if machine is None else machine
    files = {"csv": _io.write_text(out / "results.csv", _csv_text(rows)),
             "json": _io.write_json(out / "results.json", rows)}
    md = results_markdown(rows, suite, machine=machine)
    files["md"] = _io.write_text(out / "results.md", md)
    figures = write_figures(records, out, suite=suite, target=target) if plots else {}
    files.update(figures)
    files["html"] = write_html(out, title=f"inrank bench {suite.name}",
                               markdown_parts=_tables(rows, suite), intro=md.split("\n## ")[0],
                               figures=figures)
    return files


