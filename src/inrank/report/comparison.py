"""Tables of a method comparison: the summary with off-grid PSNR beside fit PSNR, paired
per-image differences with 95% intervals (images are the independent units; seeds of one
image are averaged first), and the sentence under a table that says who leads, by how much
(:func:`lead_sentence`)."""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from .tables import Table, format_mean_std, mean_std

__all__ = ["BOLD_LIMIT_DB", "METRICS", "PAIRED_AGAINST", "comparison_table", "lead_sentence",
           "mean_interval", "offgrid_tables", "paired_differences", "paired_table", "pairs_table"]

#: PSNRs above this are round-off-level interpolation, not a result worth bolding.
BOLD_LIMIT_DB = 50.0

#: the methods ``relu+rei`` is paired against in an off-grid suite's report, in order.
PAIRED_AGAINST: tuple[str, ...] = ("relu", "relu+rei-kink", "pe", "siren")

#: metric -> (its name in a sentence, unit, decimals); higher is better for each.
METRICS: dict[str, tuple[str, str, int]] = {
    "final_psnr": ("fit PSNR", "dB", 2), "best_psnr": ("best PSNR", "dB", 2),
    "ssim": ("SSIM", "", 4), "offgrid_psnr": ("off-grid PSNR", "dB", 2),
    "offgrid_ssim": ("off-grid SSIM", "", 4), "test_psnr": ("held-out PSNR", "dB", 2),
    "snr": ("SNR", "dB", 2), "grid_iou": ("occupancy IoU", "", 4)}

_COLUMNS = (("final_psnr", "fit PSNR (dB)", 2), ("best_psnr", "best PSNR (dB)", 2),
            ("ssim", "SSIM", 4), ("offgrid_psnr", "off-grid PSNR at 2x (dB)", 2),
            ("offgrid_ssim", "off-grid SSIM", 4))


def _bold(column: list[float], *, limit: float | None) -> list[bool]:
    ok = [x for x in column if math.isfinite(x) and (limit is None or x <= limit)]
    if not ok:
        return [False] * len(column)
    best = round(max(ok), 4)
    return [math.isfinite(x) and (limit is None or x <= limit) and round(x, 4) == best
            for x in column]


def comparison_table(rows: Sequence[dict]) -> Table:
    """Per method, mean +- std over images and seeds of fit, best and off-grid PSNR and SSIM,
    with the parameters, width, lr and knob each ran at; the best per column in bold, except
    PSNRs above :data:`BOLD_LIMIT_DB` (interpolation).

    Examples:
        >>> rows = [{"method": "a", "final_psnr": 20.0, "best_psnr": 20.5, "ssim": 0.5,
        ...          "offgrid_psnr": 19.0, "offgrid_ssim": 0.4, "params": 10, "width": 8,
        ...          "lr": 1e-3, "knob": "", "status": "ok"}]
        >>> comparison_table(rows)[1][0][:5]
        ['a', '10', '8', '0.001', '-']
    """
    groups: dict[str, list[dict]] = {}
    for r in rows:
        groups.setdefault(r["method"], []).append(r)
    stats = {k: [mean_std([r.get(k) for r in g]) for g in groups.values()] for k, _, _ in _COLUMNS}
    bold = {k: _bold([s[0] for s in stats[k]], limit=BOLD_LIMIT_DB if "psnr" in k else None)
            for k, _, _ in _COLUMNS}
    body = []
    for i, (method, g) in enumerate(groups.items()):
        one = lambda key: "/".join(str(v) for v in dict.fromkeys(r.get(key) for r in g))  # noqa: E731
        diverged = sum(r["status"] != "ok" for r in g)
        body.append([method, one("params"), one("width"),
                     "/".join(f"{v:g}" for v in dict.fromkeys(r["lr"] for r in g)),
                     one("knob") or "-"]
                    + [(format_mean_std(*stats[k][i], digits=d), bold[k][i]) for k, _, d in _COLUMNS]
                    + [f"{len(g)}" + (f" ({diverged} diverged)" if diverged else "")])
    return (["method", "params", "width", "lr", "knob"] + [h for _, h, _ in _COLUMNS] + ["runs"],
            body)


def _per_image(rows: Sequence[dict], method: str, metric: str) -> dict[str, float]:
    vals: dict[str, list[float]] = {}
    for r in rows:
        if r["method"] == method and r.get(metric) is not None and math.isfinite(r[metric]):
            vals.setdefault(r["signal"], []).append(r[metric])
    return {img: statistics.fmean(v) for img, v in vals.items()}


def paired_differences(rows: Sequence[dict], method: str, other: str, metric: str) -> dict:
    """``method - other`` in ``metric`` per image (seeds averaged), over the images both ran.

    Returns ``{"n", "mean", "low", "high", "wins", "diffs"}``: the 95% interval is Student's t
    on the per-image differences (``low = high = mean`` for one image).
    """
    a, b = _per_image(rows, method, metric), _per_image(rows, other, metric)
    diffs = [a[i] - b[i] for i in a if i in b]
    return {**mean_interval(diffs), "diffs": diffs}


def mean_interval(diffs: Sequence[float], level: float = 0.95) -> dict:
    """Mean of paired differences with its Student-t interval: ``{"n", "mean", "low", "high",
    "wins"}`` (``wins``: how many are above zero; ``low = high = mean`` for one difference,
    NaN for none).

    Examples:
        >>> d = mean_interval([1.0, 2.0, 3.0])
        >>> d["mean"], round(d["low"], 3), d["wins"]
        (2.0, -0.484, 3)
    """
    from scipy.stats import t

    n = len(diffs)
    if n == 0:
        return {"n": 0, "mean": math.nan, "low": math.nan, "high": math.nan, "wins": 0}
    mean = statistics.fmean(diffs)
    half = (0.0 if n == 1 else
            float(t.ppf(0.5 + level / 2, n - 1)) * statistics.stdev(diffs) / math.sqrt(n))
    return {"n": n, "mean": mean, "low": mean - half, "high": mean + half,
            "wins": sum(d > 0 for d in diffs)}


def paired_table(rows: Sequence[dict], method: str, others: Sequence[str],
                 metrics: Sequence[str] = ("final_psnr", "offgrid_psnr")) -> Table:
    """``method`` against each of ``others``: the mean per-image difference of each metric
    with its 95% interval, and on how many images ``method`` is ahead."""
    return pairs_table(rows, [(method, other) for other in others], metrics)


def pairs_table(rows: Sequence[dict], pairs: Sequence[tuple[str, str]],
                metrics: Sequence[str] = ("final_psnr", "offgrid_psnr")) -> Table:
    """Each ``(a, b)`` of ``pairs``: ``a - b`` per metric, paired per image (seeds averaged
    first), with its 95% interval and on how many images ``a`` is ahead."""
    body = []
    for a, b in pairs:
        cells = [f"{a} - {b}"]
        for metric in metrics:
            d = paired_differences(rows, a, b, metric)
            cells.append("n/a" if d["n"] == 0 else
                         f"{d['mean']:+.2f} [{d['low']:+.2f}, {d['high']:+.2f}] "
                         f"({d['wins']}/{d['n']} images ahead)")
        body.append(cells)
    return (["pair"] + [f"{METRICS[m][0] if m in METRICS else m} difference (dB), 95% interval"
                        for m in metrics], body)


def offgrid_tables(rows: Sequence[dict]) -> list[tuple[str, Table, str]]:
    """The ``(title, table, sentence)`` of a suite with an off-grid column (``table1``): the
    comparison (mean +- std over images and seeds) with who leads in off-grid and in fit PSNR
    (:func:`lead_sentence`) and, when ``relu+rei`` ran, its paired differences against each of
    :data:`PAIRED_AGAINST` that ran (sentence ``""``: the table is the differences). One
    choice for the HTML/Markdown report and the generated BENCHMARKS block."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lead = " ".join(lead_sentence(rows, m, limit=BOLD_LIMIT_DB)
                    for m in ("offgrid_psnr", "final_psnr"))
    out = [(f"Summary (mean ± std over images and seeds; best in bold, none above "
            f"{BOLD_LIMIT_DB:g} dB)", comparison_table(rows), lead.strip())]
    others = [m for m in PAIRED_AGAINST if m in methods]
    if "relu+rei" in methods and others:
        out.append(("Paired differences per image (seeds averaged first; 95% Student-t interval "
                    "over images), relu+rei against each", paired_table(rows, "relu+rei", others),
                    ""))
    opts = [o for o in ("adam", "muon") if f"relu+rei ({o})" in methods]
    if len(opts) == 2:  # a suite run with both optimisers: labels "method (optimizer)"
        bases = list(dict.fromkeys(m.rsplit(" (", 1)[0] for m in methods))
        both = [b for b in bases if all(f"{b} ({o})" in methods for o in opts)]
        out.append(("Each method, Muon - Adam (paired per image, seeds averaged first; 95% "
                    "Student-t interval over images)",
                    pairs_table(rows, [(f"{b} (muon)", f"{b} (adam)") for b in both]), ""))
        within = [(f"relu+rei ({o})", f"{x} ({o})") for o in opts for x in PAIRED_AGAINST
                  if f"{x} ({o})" in methods]
        within += [("relu+rei (muon)", f"{x} (adam)") for x in ("pe", "siren")
                   if f"{x} (adam)" in methods]
        out.append(("relu+rei against each, within each optimiser, and relu+rei with Muon "
                    "against pe and siren with Adam (paired per image, seeds averaged first; "
                    "95% Student-t interval over images)", pairs_table(rows, within), ""))
    return out


def _method_means(rows: Sequence[dict], metric: str) -> dict[str, float]:
    """Per method, the mean of ``metric`` over its runs with a finite value (the table's)."""
    values: dict[str, list[float]] = {}
    for r in rows:
        v = r.get(metric)
        if v is not None and math.isfinite(v):
            values.setdefault(r["method"], []).append(v)
    return {m: statistics.fmean(v) for m, v in values.items()}


def _paired(rows: Sequence[dict], method: str, other: str, metric: str) -> tuple[dict, str, str]:
    """``method - other`` paired the way the report pairs: per image (seeds averaged first)
    over the images both ran; on one image, per seed both ran. The :func:`mean_interval`, the
    unit paired (``"images"``, ``"seeds"``; ``""``: nothing to pair, one unit or none) and a
    note (``", seeds averaged first"``)."""
    d = paired_differences(rows, method, other, metric)
    if d["n"] > 1:
        seeds = {r.get("seed") for r in rows if r["method"] in (method, other)}
        return d, "images", ", seeds averaged first" if len(seeds) > 1 else ""
    runs = lambda m: {r.get("seed"): r[metric] for r in rows  # noqa: E731
                      if r["method"] == m and r.get(metric) is not None
                      and math.isfinite(r[metric])}
    a, b = runs(method), runs(other)
    per_seed = [a[s] - b[s] for s in a if s in b]
    if d["n"] == 1 and len(per_seed) > 1:
        return mean_interval(per_seed), "seeds", ""
    return d, "", ""


def lead_sentence(rows: Sequence[dict], metric: str = "final_psnr", *,
                  limit: float | None = None) -> str:
    """One sentence saying which method has the best mean ``metric`` (the table's bold cell),
    and by how much it leads the runner-up: the mean paired difference with its 95% interval
    where there are several images (or seeds of one image) to pair, plainly "by X" for one run
    each. ``""`` when fewer than two methods have a value.

    Args:
        rows: flat result rows (``method``, ``signal``, ``seed`` and ``metric``).
        metric: a key of :data:`METRICS` (higher is better).
        limit: means above it are not counted (:data:`BOLD_LIMIT_DB`: interpolation).

    Examples:
        >>> rows = [{"method": m, "signal": "cat", "seed": 0, "final_psnr": v}
        ...         for m, v in (("relu", 20.0), ("siren", 31.5), ("pe", 28.25))]
        >>> print(lead_sentence(rows))  # doctest: +NORMALIZE_WHITESPACE
        siren has the best fit PSNR, 31.50 dB, ahead of pe (the runner-up) by 3.25 dB
        (one run each).
    """
    name, unit, digits = METRICS.get(metric, (metric, "", 4))
    means = _method_means(rows, metric)
    above = [m for m, v in means.items() if limit is not None and v > limit]
    ranked = sorted((m for m in means if m not in above), key=means.__getitem__, reverse=True)
    if len(ranked) < 2:
        return ""
    best, second = ranked[:2]
    num = lambda v: f"{v:.{digits}f}" + (f" {unit}" if unit else "")  # noqa: E731
    head = f"{best} has the best {name}, {num(means[best])}"
    d, units, note = _paired(rows, best, second, metric)
    if not units:
        runs = sum(r["method"] in (best, second) and r.get(metric) is not None for r in rows)
        why = ("one run each" if runs == 2 else "one image" if d["n"] == 1 else
               "means; no image in common to pair")
        text = (f"{head}, ahead of {second} (the runner-up) by "
                f"{num(means[best] - means[second])} ({why})")
    else:
        text = (f"{head}, {num(d['mean'])} [{d['low']:.{digits}f}, {d['high']:.{digits}f}] above "
                f"{second} (the runner-up), ahead on {d['wins']} of {d['n']} {units} (95% "
                f"interval, paired over {d['n']} {units}{note})")
        if d["low"] <= 0:
            text += "; the interval includes zero: no clear lead"
    if above:
        text += f"; above {limit:g} {unit} (interpolation), not counted: {', '.join(above)}"
    return text + "."
