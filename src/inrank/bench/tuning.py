"""Tuned learning rates: the committed file (:data:`TUNED_LR_PATH`) that the bench suites read,
and :func:`best_lrs`, which picks each method's best lr from an lr-sweep's records."""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

__all__ = ["TUNED_LR_PATH", "tuned_lrs", "best_lrs"]

#: The committed tuned learning rates, written by ``inrank bench lr-sweep --save-tuned``.
TUNED_LR_PATH = Path(__file__).with_name("tuned_lr.json")


def tuned_lrs(path: str | Path | None = None) -> dict[str, float]:
    """The tuned learning rates (method -> lr) from ``path`` (default :data:`TUNED_LR_PATH`).

    A missing default file gives ``{}`` (every method then runs at its preset lr).
    """
    p = Path(path) if path is not None else TUNED_LR_PATH
    if not p.is_file():
        if path is not None:
            raise FileNotFoundError(f"tuned lr file not found: {str(p)!r}")
        return {}
    data = json.loads(p.read_text(encoding="utf-8"))
    return {k: float(v) for k, v in data.get("lr", {}).items()}


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
