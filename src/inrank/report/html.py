"""Figures and the HTML page of a benchmark report: PSNR against steps per method, PSNR and
rank against width, and target | reconstruction | error of the report image per method."""
from __future__ import annotations

import html
import math
import re
import statistics
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .. import files as _io
from .figures import error_scale, new_figure, save_comparison, save_psnr_curves
from ..markup import html_table
from .tables import Table

__all__ = ["representative", "write_figures", "write_html", "write_page", "html_table"]


def _mean_final(recs: Sequence[dict]) -> float:
    v = [r["metrics"]["final_psnr"] for r in recs if r["metrics"]["final_psnr"] is not None]
    return statistics.fmean(v) if v else -math.inf


def representative(records: Sequence[dict], suite) -> dict[str, list[dict]]:
    """Per method, the runs its curve and reconstruction show: those at the suite's width 256
    (else its widest), or at a method's own width when the suite narrowed it to match
    parameter counts, and, in an lr sweep, at the lr with the best mean final PSNR."""
    ref = 256 if 256 in suite.widths else max(suite.widths)
    by_method: dict[str, list[dict]] = {}
    for rec in records:
        by_method.setdefault(rec["run"]["method"], []).append(rec)
    out: dict[str, list[dict]] = {}
    for method, recs in by_method.items():
        widths = sorted({r["run"]["width"] for r in recs})
        below = [w for w in widths if w <= ref]
        width = max(below) if below else widths[0]
        by_lr: dict[float, list[dict]] = {}
        for r in recs:
            if r["run"]["width"] == width:
                by_lr.setdefault(r["run"]["lr"], []).append(r)
        out[method] = by_lr[max(by_lr, key=lambda lr: _mean_final(by_lr[lr]))]
    return out


def _mean_history(recs: Sequence[dict]) -> list[dict]:
    """Mean PSNR per step over runs (steps present in every history)."""
    per_step: dict[int, list[float]] = {}
    for r in recs:
        for h in r["history"]:
            per_step.setdefault(h["step"], []).append(h["psnr"])
    return [{"step": s, "psnr": statistics.fmean(v)} for s, v in sorted(per_step.items())
            if len(v) == len(recs)]


def _stem(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_")


def write_figures(records: Sequence[dict], out: Path, *, suite,
                  target: np.ndarray | None = None) -> dict[str, Path]:
    """Write ``psnr_vs_steps.png``, ``psnr_vs_width.png`` (width sweeps) and, given the report
    image ``target`` ``(H, W, c)`` in ``[0, 1]``, ``figures/recon_<method>.png`` (target |
    reconstruction | error, every method's error on one colour scale). Returns name -> path."""
    out = Path(out)
    rep = representative(records, suite)
    files: dict[str, Path] = {}
    curves = {m: _mean_history(r) for m, r in rep.items()}
    if any(curves.values()):
        files["psnr_vs_steps"] = save_psnr_curves(
            {m: h for m, h in curves.items() if h}, out / "psnr_vs_steps.png",
            title=f"{suite.name}: PSNR during training (mean over runs)")
    if len(suite.widths) > 1:
        files["psnr_vs_width"] = _width_plot(records, out / "psnr_vs_width.png")
    image = suite.report_image if suite.report_image in suite.images else suite.images[0]
    shown: dict[str, tuple[dict, np.ndarray]] = {}  # method -> its run, its reconstruction
    for method, recs in (rep.items() if target is not None else ()):
        rec = next((r for r in recs if r["run"]["signal"] == image
                    and (out / "recon" / f"{r['id']}.png").is_file()), None)
        if rec is not None:
            shown[method] = rec, _read_png(out / "recon" / f"{rec['id']}.png", target.shape[-1])
    scale = error_scale(target, [recon for _, recon in shown.values()]) if shown else None
    for method, (rec, recon) in shown.items():  # one |error| scale: methods compare by eye
        psnr = rec["metrics"]["final_psnr"]
        files[f"recon:{method}"] = save_comparison(
            target, recon, out / "figures" / f"recon_{_stem(method)}.png", error_max=scale,
            title=f"{method} on {image}: {psnr:.2f} dB (lr {rec['run']['lr']:g})")
    return files


def _read_png(path: Path, channels: int) -> np.ndarray:
    """An 8-bit PNG -> ``(H, W, channels)`` float32 in ``[0, 1]`` (imageio, ``img_as_float32``)."""
    import imageio.v3 as iio
    from skimage.util import img_as_float32

    arr = img_as_float32(iio.imread(path))
    return arr[:, :, None] if arr.ndim == 2 else arr[:, :, :channels]


def _width_plot(records: Sequence[dict], path: Path) -> Path:
    """Final PSNR and numerical rank of [H_1, 1] at init against width, per method."""
    fig = new_figure((10.0, 3.8))
    (a, b) = fig.subplots(1, 2)
    methods = list(dict.fromkeys(r["run"]["method"] for r in records))
    for m in methods:
        recs = [r for r in records if r["run"]["method"] == m]
        widths = sorted({r["run"]["width"] for r in recs})
        psnr = [_mean_final([r for r in recs if r["run"]["width"] == w]) for w in widths]
        a.plot(widths, psnr, marker="o", label=m)
        if all(r.get("rank") for r in recs):
            rank = [statistics.fmean(r["rank"]["init_numerical"] for r in recs
                                     if r["run"]["width"] == w) for w in widths]
            b.plot(widths, rank, marker="o", label=m)
    top = max(r["run"]["width"] for r in records) + 1
    b.plot([1, top], [1, top], color="gray", ls=":", lw=1, label="D + 1")
    for ax, ylabel in ((a, "final PSNR (dB)"), (b, "numerical rank of [H1, 1] at init")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("width D")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    b.set_xlim(min(r["run"]["width"] for r in records) / 1.2, top * 1.2)
    return _io.save_figure(fig, path, dpi=110)


_STYLE = ("body{font-family:sans-serif;max-width:1150px;margin:2em auto;color:#222}"
          "table{border-collapse:collapse;margin:0.5em 0 1.5em}"
          "td,th{border:1px solid #ccc;padding:3px 9px;text-align:right}"
          "td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
          ".lead{margin-top:-0.8em}img{max-width:100%}figure{margin:0.6em 0}figcaption{color:#555}"
          ".grid{display:flex;flex-wrap:wrap;gap:0 2%}.grid figure{width:48%}")


def write_page(path: str | Path, *, title: str, paragraphs: Sequence[str] = (),
               tables: Sequence[tuple[str, Table] | tuple[str, Table, str]] = (),
               sections: Sequence[tuple[str, Sequence[tuple[str, Path]], bool]] = ()) -> Path:
    """Write one self-contained HTML page; the bench report and the demo page both use it.

    Args:
        path: the ``.html`` file; image paths are written relative to its folder.
        title: the page title and heading.
        paragraphs: plain-text paragraphs under the heading (escaped).
        tables: ``(heading, table)`` or ``(heading, table, sentence)``: a sentence (escaped)
            under the table, e.g. who leads by how much.
        sections: ``(heading, [(caption, image path)], as_grid)`` figure sections.
    """
    path = Path(path)
    rel = lambda p: html.escape(Path(p).relative_to(path.parent).as_posix())  # noqa: E731
    body = [f"<h1>{html.escape(title)}</h1>"]
    body += [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    for heading, table, *sentence in tables:
        body += [f"<h2>{html.escape(heading)}</h2>", html_table(table)]
        body += [f"<p class='lead'>{html.escape(s)}</p>" for s in sentence if s]
    for heading, figures, grid in sections:
        if not figures:
            continue
        body.append(f"<h2>{html.escape(heading)}</h2>")
        figs = "".join(f"<figure><img src='{rel(p)}' alt='{html.escape(c)}'>"
                       f"<figcaption>{html.escape(c)}</figcaption></figure>" for c, p in figures)
        body.append(f"<div class='grid'>{figs}</div>" if grid else figs)
    page = ("<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")
    return _io.write_text(path, page)


def write_html(out: Path, *, title: str, markdown_parts, intro: str,
               figures: dict[str, Path]) -> Path:
    """Write ``out/report.html``: intro text, the tables (``markdown_parts``: as
    :func:`write_page`'s ``tables``), the plots and the reconstructions (image paths relative
    to ``out``, so the folder can be moved as a whole)."""
    paras = [p.strip().replace("`", "") for p in intro.split("\n\n")
             if p.strip() and not p.startswith("# ")]
    plots = [(k, v) for k, v in figures.items() if not k.startswith("recon:")]
    recons = [(k.split(":", 1)[1], v) for k, v in figures.items() if k.startswith("recon:")]
    return write_page(Path(out) / "report.html", title=title, paragraphs=paras,
                      tables=list(markdown_parts),
                      sections=[("Plots", plots, False),
                                ("Reconstructions (target | reconstruction | absolute error; "
                                 "one error scale for every method)", recons, True)])
