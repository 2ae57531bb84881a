"""The one Markdown table writer (:func:`markdown_table`) and the tables of benchmark results:
mean +- std per method (best in bold), per image, per width, per learning rate."""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from ..errors import InputError
from ..markup import Cell, Table, markdown_table

__all__ = ["Cell", "Table", "markdown_table", "to_markdown", "mean_std", "format_mean_std",
           "summary_table", "per_image_table", "width_table", "lr_table"]

def to_markdown(table: Table) -> str:
    """Render a :data:`Table` (see :func:`markdown_table`)."""
    return markdown_table(*table)


def mean_std(values: Sequence[float | None]) -> tuple[float, float, int]:
    """Mean, sample std (0 for one value) and count of the finite values."""
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return math.nan, math.nan, 0
    return statistics.fmean(v), statistics.stdev(v) if len(v) > 1 else 0.0, len(v)


def format_mean_std(mean: float, std: float, n: int, digits: int = 2) -> str:
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
    """Mean +- std over images and seeds per method: final PSNR, best PSNR, SSIM (no timing:
    speed is measured by the dedicated benchmarks, not by a suite on a shared machine).

    Examples:
        >>> rows = [{"method": "a", "final_psnr": 20.0, "best_psnr": 21.0, "ssim": 0.5,
        ...          "params": 10, "status": "ok"},
        ...         {"method": "b", "final_psnr": 30.0, "best_psnr": 31.0, "ssim": 0.9,
        ...          "params": 10, "status": "ok"}]
        >>> print(to_markdown(summary_table(rows)).splitlines()[3])
        | b | **30.00** | **31.00** | **0.9000** | 10 | 1 |
    """
    groups = _groups(rows, "method")
    cols = {k: [mean_std([r[k] for r in g]) for g in groups.values()]
            for k in ("final_psnr", "best_psnr", "ssim")}
    bold = {k: _bold_best([s[0] for s in cols[k]]) for k in ("final_psnr", "best_psnr")}
    bold["ssim"] = _bold_best([round(s[0], 4) for s in cols["ssim"]])
    body = []
    for i, (method, g) in enumerate(groups.items()):
        diverged = sum(r["status"] != "ok" for r in g)
        body.append([(method, False), (format_mean_std(*cols["final_psnr"][i]), bold["final_psnr"][i]),
                     (format_mean_std(*cols["best_psnr"][i]), bold["best_psnr"][i]),
                     (format_mean_std(*cols["ssim"][i], digits=4), bold["ssim"][i]),
                     ("/".join(str(p) for p in dict.fromkeys(r["params"] for r in g)), False),
                     (f"{len(g)}" + (f" ({diverged} diverged)" if diverged else ""), False)])
    return (["method", "final PSNR (dB)", "best PSNR (dB)", "SSIM", "params", "runs"], body)


def per_image_table(rows: Sequence[dict], *, metric: str = "final_psnr") -> Table:
    """Methods x images: mean (+- std over seeds) of ``metric``; best per image in bold."""
    methods, images = list(_groups(rows, "method")), list(_groups(rows, "signal"))
    cell = {(m, i): mean_std([r[metric] for r in rows if r["method"] == m and r["signal"] == i])
            for m in methods for i in images}
    bold = {i: dict(zip(methods, _bold_best([cell[m, i][0] for m in methods]))) for i in images}
    body = [[(m, False)] + [(format_mean_std(*cell[m, i]), bold[i][m]) for i in images] for m in methods]
    return ["method"] + images, body


def width_table(rows: Sequence[dict]) -> Table:
    """Methods x widths: final PSNR (best per width in bold) and the rank of [H_1, 1]."""
    widths = sorted({r["width"] for r in rows})
    methods = list(_groups(rows, "method"))
    psnr = {(m, w): mean_std([r["final_psnr"] for r in rows if r["method"] == m and r["width"] == w])
            for m in methods for w in widths}
    bold = {w: dict(zip(methods, _bold_best([psnr[m, w][0] for m in methods]))) for w in widths}
    body = []
    for m in methods:
        for w in widths:
            g = [r for r in rows if r["method"] == m and r["width"] == w]
            rank = lambda k: "/".join(sorted({str(r.get(k)) for r in g}))  # noqa: E731
            body.append([(m, False), (str(w), False), (format_mean_std(*psnr[m, w]), bold[w][m]),
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
        cells = [mean_std([r["final_psnr"] for r in g if r["lr"] == lr]) for lr in lrs]
        bold = _bold_best([c[0] for c in cells])
        body.append([(m, False)] + [(f"{format_mean_std(*c)} @ {lr:g}", b)
                                    for c, lr, b in zip(cells, lrs, bold)])
    body = [row + [("", False)] * (k + 1 - len(row)) for row in body]
    return ["method"] + [f"PSNR @ lr, grid point {i + 1}" for i in range(k)], body
