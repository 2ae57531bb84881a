"""Tuning on calibration images: :func:`tune_suite` chooses every method's lr (log grid,
extended past an edge) and knob (by off-grid PSNR) and writes them, with their grids and the
reason, in the registry's format (:data:`inrank.nn.registry.TUNED_PATH`). :func:`best_lrs`
picks each method's best lr from an lr sweep's records; :func:`write_tuned` stores it."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import files

__all__ = ["best_lrs", "write_tuned", "tune_suite", "TuneResult", "LR_GRID"]


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


#: The learning-rate grid a tuning run starts from: half-decades from 1e-5 to 1e-2.
LR_GRID = tuple(float(f"{10 ** (e / 2):.3g}") for e in range(-10, -3))


@dataclass
class TuneResult:
    """What :func:`tune_suite` returns.

    Attributes:
        tuned: per method, ``{"lr", "config", "grid", "edge", ...}`` (the registry's format).
        path: the tuned-values file written (``out/tuned.json``, or ``save`` when given).
        ran: runs executed by this call; skipped: runs found finished under ``out/runs``.
    """

    tuned: dict
    path: Path
    ran: int
    skipped: int


def _extend(grid: list[float], best: float) -> float | None:
    """The half-decade beyond the grid's edge that ``best`` sits on, or None if it is inside."""
    if best == grid[0]:
        return float(f"{grid[0] / math.sqrt(10):.3g}")
    if best == grid[-1]:
        return float(f"{grid[-1] * math.sqrt(10):.3g}")
    return None


def tune_suite(name: str, *, methods: Sequence[str] | None = None,
               out: str | Path | None = None, executor: str = "local",
               data: str | Path | None = None, device: str = "auto", progress: bool = True,
               jobs: int = 2, max_extensions: int = 3, save: str | Path | None = None,
               images: Sequence[str] | None = None, steps: int | None = None) -> TuneResult:
    """Choose every method's lr and knob on suite ``name``'s calibration images (resumable).

    For each method, on every calibration image (seed 0, the suite's protocol at
    ``tune_steps``): (1) the lr on :data:`LR_GRID` (7 half-decades, 1e-5 to 1e-2) at the
    method's default knob, by the mean final fit PSNR, the grid extended by a half-decade while
    the best lr sits on an edge (at most ``max_extensions`` times; still on an edge is flagged);
    (2) the knob (:attr:`inrank.Preset.knob`, e.g. PE octaves, SIREN omega0) on its grid at
    that lr, by the mean off-grid PSNR at 2x (fit PSNR rewards aliasing). The test images of
    the suite are never used.

    Args:
        name: a suite with ``calibration`` images (e.g. ``"table1"``).
        methods: replace the suite's methods.
        out: folder for the runs (``out/runs/<id>.json``) and ``out/tuned.json``.
        executor, data, device, progress, jobs: as :func:`inrank.bench.run_suite`.
        max_extensions: how often an lr grid may grow past an edge.
        save: also write the tuned values there (``src/inrank/nn/tuned.json`` is the file the
            registry reads).
        images, steps: replace the calibration images or the tuning steps (smoke tests).

    Returns:
        A :class:`TuneResult`.
    """
    from dataclasses import asdict, replace

    from .. import validation
    from ..errors import InputError
    from ..nn.registry import knob_overrides, knob_value, preset
    from .catalog import expand, methods_of, suite
    from .run import ExecOptions, data_dir
    from .runner import load_records, run_pending

    s = suite(name)
    if methods is not None:
        s = replace(s, methods=tuple(dict.fromkeys(methods)))
    calibration = tuple(images or s.calibration)
    if not calibration:
        raise InputError(f"suite {name!r} names no calibration images; tune a suite that has them")
    leak = set(calibration) & set(s.images)
    if leak:
        raise InputError(f"calibration images {sorted(leak)} are test images of {name!r}; "
                         "choose images in no reported table")
    steps = validation.positive_int("steps", steps or s.tune_steps or s.steps)
    out = Path(out or Path("inrank-out/tune") / name)
    options = ExecOptions(data=data_dir(data) if data is not None else None, device=device,
                          progress=progress, jobs=validation.positive_int("jobs", jobs))
    names = methods_of(s)
    ran_ids: set[str] = set()
    found_ids: set[str] = set()

    defaults = {m: knob_value(preset(m, tuned=False)) for m in names}  # paper defaults

    def knob(m: str, value: float | None = None) -> dict:
        """Explicit overrides for method ``m``'s knob (its paper default when ``value`` is
        None), so a run never depends on a tuned-values file already in place."""
        p = preset(m)
        return {} if p.knob is None else knob_overrides(p.knob, defaults[m] if value is None else value)

    def runs_for(lrs: dict[str, float], overrides: dict[str, dict]):
        return expand(s, lrs=lrs, overrides={m: overrides.get(m, knob(m)) for m in names},
                      images=calibration, steps=steps, seeds=(0,))

    def execute(runs) -> list[dict]:
        records = load_records(out, runs)
        found_ids.update(set(records) - ran_ids)
        pending = [r for r in runs if r.id not in records]
        ran_ids.update(r.id for r in pending)
        records.update(run_pending(pending, out, executor=executor, options=options,
                                   label=f"tune {name}"))
        return [records[r.id] for r in runs]

    def mean_of(records: list[dict], key: str) -> float:
        vals = [r["metrics"].get(key) if r["status"] == "ok" else None for r in records]
        vals = [v if v is not None and math.isfinite(v) else -math.inf for v in vals]
        return sum(vals) / len(vals)

    # (1) learning rates, all methods together, the grids extended where needed
    grids = {m: list(LR_GRID) for m in names}
    scores: dict[str, dict[float, float]] = {m: {} for m in names}
    extensions = {m: 0 for m in names}
    todo = set(names)
    while todo:
        runs = [r for lr in sorted({lr for m in todo for lr in grids[m]})
                for r in runs_for({m: lr for m in todo if lr in grids[m]}, {})
                if r.method in todo and r.lr == lr]
        recs = execute(runs)
        for m in list(todo):
            for lr in grids[m]:
                scores[m][lr] = mean_of([rec for rec, run in zip(recs, runs)
                                         if run.method == m and run.lr == lr], "final_psnr")
            best = max(grids[m], key=lambda lr: scores[m][lr])
            beyond = _extend(grids[m], best)
            if beyond is None or extensions[m] >= max_extensions:
                todo.discard(m)
            else:
                grids[m] = sorted(grids[m] + [beyond])
                extensions[m] += 1
    best_lr = {m: max(grids[m], key=lambda lr: scores[m][lr]) for m in names}

    # (2) knobs, at each method's best lr, by off-grid PSNR
    tuned: dict = {}
    for m in names:
        p = preset(m)
        lr_grid = {f"{lr:g}": (v if math.isfinite(v) else None) for lr, v in sorted(scores[m].items())}
        entry = {"lr": best_lr[m], "config": {}, "grid": {"lr": lr_grid}, "edge": {
            "lr": _extend(grids[m], best_lr[m]) is not None},
            "criterion": {"lr": "mean final fit PSNR", "knob": "mean off-grid PSNR at 2x"},
            "calibration": list(calibration), "steps": steps, "suite": name}
        if p.knob is not None:
            values = list(dict.fromkeys([*p.knob_grid, defaults[m]]))
            runs = [r for v in values for r in runs_for({m: best_lr[m]}, {m: knob(m, v)})
                    if r.method == m]
            recs = execute(runs)
            per = {v: mean_of([rec for rec, run in zip(recs, runs)
                               if run.overrides == _tuple(knob(m, v))], "offgrid_psnr")
                   for v in values}
            best = max(values, key=lambda v: per[v])
            ordered = sorted(values)
            entry["config"] = {p.knob: best}
            entry["grid"]["knob"] = {f"{v:g}": (per[v] if math.isfinite(per[v]) else None)
                                     for v in ordered}
            entry["edge"]["knob"] = best in (ordered[0], ordered[-1])
        tuned[m] = entry
    payload = {"protocol": {"suite": asdict(s), "calibration": list(calibration), "steps": steps,
                            "lr_grid": list(LR_GRID), "max_extensions": max_extensions},
               "methods": tuned}
    path = files.write_json(out / "tuned.json", payload)
    if save is not None:
        path = files.write_json(save, payload)
    return TuneResult(tuned, path, len(ran_ids), len(found_ids))


def _tuple(overrides: dict) -> tuple:
    from .run import overrides_tuple

    return overrides_tuple(overrides)
