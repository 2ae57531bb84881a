"""Learning-rate tuning: :func:`best_lrs` picks each method's best lr from an lr sweep's
records, and :func:`write_tuned` stores the choice, with its grid and protocol, in the file the
preset registry reads (:data:`inrank.nn.registry.TUNED_PATH`)."""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from .. import files

__all__ = ["best_lrs", "write_tuned"]


def best_lrs(records: Sequence[dict], *, protocol: dict | None = None) -> dict:
    """The lr with the best mean final PSNR per method (diverged runs count as -inf).

    Returns ``{"lr": {method: lr}, "edge": [methods whose best lr is at the grid's edge],
    "protocol": protocol, "grid": {method: {lr: mean PSNR}}}``.
    """
    scores: dict[str, dict[float, list[float]]] = {}
    for rec in records:
        psnr = rec["metrics"]["final_psnr"]
        value = float("-inf") if rec["status"] != "ok" or psnr is None else psnr
        scores.setdefault(rec["run"]["method"], {}).setdefault(rec["run"]["lr"], []).append(value)
    best, edge, grid = {}, [], {}
    for method, by_lr in scores.items():
        means = {lr: sum(v) / len(v) for lr, v in sorted(by_lr.items())}
        grid[method] = {f"{lr:g}": m if math.isfinite(m) else None for lr, m in means.items()}
        best[method] = max(means, key=means.get)
        if len(means) > 1 and best[method] in (min(means), max(means)):
            edge.append(method)
    return {"lr": best, "edge": edge, "protocol": protocol, "grid": grid}


def write_tuned(best: dict, path: str | Path) -> Path:
    """Write :func:`best_lrs`'s choice in the registry's format: ``{"protocol", "methods":
    {method: {"lr", "grid", "edge", "reason"}}}``; the registry reads it from
    :data:`inrank.nn.registry.TUNED_PATH`."""
    methods = {m: {"lr": lr, "grid": best["grid"][m], "edge": m in best["edge"],
                   "reason": "best mean final PSNR of the sweep"} for m, lr in best["lr"].items()}
    return files.write_json(path, {"protocol": best["protocol"], "methods": methods})
