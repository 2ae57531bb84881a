"""Tuning on calibration images: :func:`tune_suite` chooses every method's lr (log grid,
extended past an edge) and knob (by off-grid PSNR) and writes them, with their grids and the
reason, in the registry's format (:mod:`inrank.nn.tuned_file`, which reads, checks, merges
and writes it). :func:`~inrank.bench.selection.best_lrs` picks each method's best lr from an lr
sweep's records; :func:`write_tuned` stores it."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from .. import validation
from ..errors import InputError
from ..nn.registry import knob_overrides, knob_value, preset
from ..nn.tuned_file import write_tuned_file
from .catalog import expand, methods_of, suite
from .run import ExecOptions, data_dir
from .runner import load_records, run_pending

__all__ = ["write_tuned", "tune_suite", "TuneResult", "LR_GRID", "MUON_LR_GRID"]


def write_tuned(best: dict, path: str | Path, *, replace: bool = False) -> Path:
    """Write :func:`~inrank.bench.selection.best_lrs`'s choice in the registry's format: ``{"protocol", "methods":
    {method: {"lr", "grid", "edge", "reason"}}}``, merged into what ``path`` holds (other
    methods kept, :func:`inrank.nn.tuned_file.merge_tuned`) unless ``replace``; the registry
    reads it from :data:`inrank.nn.tuned_state.TUNED_PATH`."""
    methods = {m: {"lr": lr, "grid": best["grid"][m], "edge": {"lr": m in best["edge"]},
                   "reason": "best mean final PSNR of the sweep"} for m, lr in best["lr"].items()}
    return write_tuned_file(path, {"protocol": best["protocol"], "methods": methods},
                            replace=replace)


#: The learning-rate grid a tuning run starts from: half-decades from 1e-5 to 1e-2.
LR_GRID = tuple(float(f"{10 ** (e / 2):.3g}") for e in range(-10, -3))
#: Muon's lr grid: half-decades from 1e-4 to 0.1 (Muon's orthogonal update at Adam's RMS is
#: larger per step than Adam's, which shrinks near a minimum; McGinnis et al. 2025 train INRs
#: at 1e-2 to 1e-1).
MUON_LR_GRID = tuple(float(f"{10 ** (e / 2):.3g}") for e in range(-8, -1))


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
               images: Sequence[str] | None = None, steps: int | None = None,
               optimizer: str = "adam", replace_saved: bool = False) -> TuneResult:
    """Choose every method's lr and knob on suite ``name``'s calibration images (resumable).

    With ``optimizer="adam"``, for each method, on every calibration image (seed 0, the suite's
    protocol at ``tune_steps``): (1) the lr on :data:`LR_GRID` (7 half-decades, 1e-5 to 1e-2) at
    the method's default knob, by the mean final fit PSNR, the grid extended by a half-decade
    while the best lr sits on an edge (at most ``max_extensions`` times; still on an edge is
    flagged); (2) the knob (:attr:`inrank.Preset.knob`, e.g. PE octaves, SIREN omega0) on its
    grid at that lr, by the mean off-grid PSNR at 2x (fit PSNR rewards aliasing). Each entry
    keeps the mean off-grid PSNR of its chosen setting (``offgrid_psnr``): the better of the
    two optimisers' is the method's default (:attr:`inrank.Preset.default_optimizer`).

    With ``optimizer="muon"``: Muon's lr on :data:`MUON_LR_GRID` (7 half-decades, 1e-4 to 0.1,
    extended the same way), by the mean final fit PSNR, with Adam at each method's tuned lr on
    the first and last layers and biases and the method's tuned knob; then the knob on its
    grid at that Muon lr, by the mean off-grid PSNR at 2x (a model built for Muon,
    ``build(..., optimizer="muon")``, uses it); stored as the method's ``"muon"`` entry. The
    test images of the suite are never used.

    Args:
        name: a suite with ``calibration`` images (e.g. ``"table1"``).
        methods: replace the suite's methods.
        out: folder for the runs (``out/runs/<id>.json``) and ``out/tuned.json``.
        executor, data, device, progress, jobs: as :func:`inrank.bench.run_suite`.
        max_extensions: how often an lr grid may grow past an edge.
        save: also write the tuned values there (``src/inrank/nn/tuned.json`` is the file the
            registry reads), merged into what the file holds: other methods and the other
            optimiser's entries are kept (:func:`inrank.nn.tuned_file.merge_tuned`).
        images, steps: replace the calibration images or the tuning steps (smoke tests).
        optimizer: the optimiser whose lr is tuned (``"adam"`` also tunes the knobs).
        replace_saved: write ``save`` anew with only this call's methods instead of merging.

    Returns:
        A :class:`TuneResult`.
    """
    s = suite(name)
    if methods is not None:
        s = replace(s, methods=tuple(dict.fromkeys(methods)))
    validation.one_of("optimizer", optimizer, ("adam", "muon"))
    s = replace(s, optimizers=(optimizer,))
    calibration = tuple(images or s.calibration)
    if not calibration:
        raise InputError(f"suite {name!r} names no calibration images; tune a suite that has them")
    leak = set(calibration) & set(s.images)
    if leak:
        raise InputError(f"calibration images {sorted(leak)} are test images of {name!r}; "
                         "choose images in no reported table")
    steps = validation.positive_int("steps", s.tune_steps or s.steps if steps is None else steps)
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

    def runs_for(lrs: dict[str, float], overrides: dict[str, dict], muon_lrs=None):
        return expand(s, lrs=lrs, overrides={m: overrides.get(m, knob(m)) for m in names},
                      images=calibration, steps=steps, seeds=(0,), muon_lrs=muon_lrs)

    def execute(runs) -> list[dict]:
        records = load_records(out, runs)
        found_ids.update(set(records) - ran_ids)
        pending = [r for r in runs if r.id not in records]
        ran_ids.update(r.id for r in pending)
        records.update(run_pending(pending, out, executor=executor, options=options,
                                   label=f"tune {name}"))
        return [records[r.id] for r in runs]

    if optimizer == "muon":  # Adam's lr and the knob as tuned; Muon's lr searched
        fixed = {m: preset(m).lr for m in names}
        tuned_knobs = {m: knob(m, knob_value(preset(m))) for m in names}
        grids, scores = _search_grid(
            names, MUON_LR_GRID, lambda m, v: [r for r in runs_for(fixed, tuned_knobs, {m: v})
                                               if r.method == m], execute, max_extensions)
        tuned = {}
        for m in names:
            p = preset(m)
            best = max(grids[m], key=lambda v: scores[m][v])
            entry = {
                "muon_lr": best, "lr": fixed[m], "config": p.tuned.get("config", {}),
                "grid": {"muon_lr": {f"{v:g}": (x if math.isfinite(x) else None)
                                     for v, x in sorted(scores[m].items())}},
                "edge": {"muon_lr": _extend(grids[m], best) is not None},
                "criterion": {"muon_lr": "mean final fit PSNR", "knob": "mean off-grid PSNR at 2x"},
                "calibration": list(calibration), "steps": steps, "suite": name,
                "muon_lr_grid": list(MUON_LR_GRID), "max_extensions": max_extensions}
            if p.knob is not None:  # the knob again, with Muon at its best lr
                _choose_knob(p.knob, list(dict.fromkeys([*p.knob_grid, knob_value(p)])), entry,
                             lambda v: [r for r in runs_for(fixed, {**tuned_knobs, m: knob(m, v)},
                                                            {m: best}) if r.method == m], execute)
            else:
                entry["offgrid_psnr"] = _offgrid_at(
                    [r for r in runs_for(fixed, tuned_knobs, {m: best}) if r.method == m], execute)
            tuned[m] = {"muon": entry}
        protocol = {"suite": asdict(s), "calibration": list(calibration), "steps": steps,
                    "lr_grid": list(MUON_LR_GRID), "max_extensions": max_extensions}
        return _finish(tuned, protocol, out, save, replace_saved, len(ran_ids), len(found_ids))

    # (1) learning rates, all methods together, the grids extended where needed
    grids, scores = _search_grid(
        names, LR_GRID, lambda m, lr: [r for r in runs_for({m: lr}, {}) if r.method == m],
        execute, max_extensions)
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
            _choose_knob(p.knob, list(dict.fromkeys([*p.knob_grid, defaults[m]])), entry,
                         lambda v: [r for r in runs_for({m: best_lr[m]}, {m: knob(m, v)})
                                    if r.method == m], execute)
        else:
            entry["offgrid_psnr"] = _offgrid_at(
                [r for r in runs_for({m: best_lr[m]}, {}) if r.method == m], execute)
        tuned[m] = entry
    protocol = {"suite": asdict(s), "calibration": list(calibration), "steps": steps,
                "lr_grid": list(LR_GRID), "max_extensions": max_extensions}
    return _finish(tuned, protocol, out, save, replace_saved, len(ran_ids), len(found_ids))


def _choose_knob(name: str, values: list[float], entry: dict, runs_of, execute) -> None:
    """Run every knob value's runs (``runs_of(value)``) and write into the tuned ``entry`` the
    value with the best mean off-grid PSNR (``config``), the grid and its edge flag."""
    runs = {v: runs_of(v) for v in values}
    flat = [r for rs in runs.values() for r in rs]
    by_id = dict(zip([r.id for r in flat], execute(flat)))
    per = {v: _mean_of([by_id[r.id] for r in rs], "offgrid_psnr") for v, rs in runs.items()}
    best = max(values, key=lambda v: per[v])
    ordered = sorted(values)
    entry["config"] = {name: best}
    entry["grid"]["knob"] = {f"{v:g}": (per[v] if math.isfinite(per[v]) else None)
                             for v in ordered}
    entry["edge"]["knob"] = best in (ordered[0], ordered[-1])
    entry["offgrid_psnr"] = per[best] if math.isfinite(per[best]) else None


def _offgrid_at(runs, execute) -> float | None:
    """The mean off-grid PSNR of ``runs`` (the chosen setting's runs, already finished)."""
    v = _mean_of(execute(runs), "offgrid_psnr")
    return v if math.isfinite(v) else None


def _mean_of(records: list[dict], key: str) -> float:
    """The mean of ``metrics[key]`` over records (a diverged or missing value counts -inf)."""
    vals = [r["metrics"].get(key) if r["status"] == "ok" else None for r in records]
    vals = [v if v is not None and math.isfinite(v) else -math.inf for v in vals]
    return sum(vals) / len(vals)


def _search_grid(names: Sequence[str], grid0: Sequence[float], runs_of, execute,
                 max_extensions: int) -> tuple[dict, dict]:
    """Every method's best value on ``grid0`` by mean final fit PSNR over its runs
    (``runs_of(method, value)``), each grid extended by a half-decade while its best sits on
    an edge (at most ``max_extensions`` times). All pending runs of a round execute together.

    Returns:
        ``(grids, scores)``: per method the values tried and ``{value: mean PSNR}``.
    """
    grids = {m: list(grid0) for m in names}
    scores: dict[str, dict[float, float]] = {m: {} for m in names}
    extensions = {m: 0 for m in names}
    todo = set(names)
    while todo:
        pairs = [(m, v) for m in names if m in todo for v in grids[m]]
        runs_by = {pair: runs_of(*pair) for pair in pairs}
        runs = [r for pair in pairs for r in runs_by[pair]]
        by_id = dict(zip([r.id for r in runs], execute(runs)))
        for m, v in pairs:
            scores[m][v] = _mean_of([by_id[r.id] for r in runs_by[(m, v)]], "final_psnr")
        for m in list(todo):
            best = max(grids[m], key=lambda v: scores[m][v])
            beyond = _extend(grids[m], best)
            if beyond is None or extensions[m] >= max_extensions:
                todo.discard(m)
            else:
                grids[m] = sorted(grids[m] + [beyond])
                extensions[m] += 1
    return grids, scores


def _finish(tuned: dict, protocol: dict, out: Path, save, replace_saved: bool, ran: int,
            found: int) -> TuneResult:
    """Write ``out/tuned.json`` (this call's values merged over earlier calls' in ``out``) and,
    with ``save``, the same merge into that file (or ``save`` anew with ``replace_saved``)."""
    payload = {"protocol": protocol, "methods": tuned}
    path = write_tuned_file(out / "tuned.json", payload, replace=False)
    if save is not None:
        path = write_tuned_file(save, payload, replace=replace_saved)
    return TuneResult(tuned, path, ran, found)
