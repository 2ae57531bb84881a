"""Choosing from finished runs: :func:`best_lrs`, the learning rate with the best mean final
PSNR per method, which the runner's tuned suites and the tuning both read."""
from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["best_lrs"]


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
