"""Running a suite: :func:`run_suite` expands a :class:`~inrank.bench.catalog.Suite` into runs,
skips those whose record already exists under ``out/runs/``, hands the rest to an executor
chosen by name from one dispatch dict (:func:`executors`; ``"local"`` runs them one after
another in this process), writes each finished run atomically as ``out/runs/<id>.json`` and
finally the tables, plots and HTML report (:mod:`inrank.report`). Rerunning the same call
continues an interrupted suite. Kodak images are read from the data folder (:func:`data_dir`).
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from .. import files, validation
from ..errors import InputError
from ..nn.mlp import MLPConfig
from ..nn.registry import preset
from ..nn.tuned_state import tuned_payload, tuned_values
from ..readback import read_run_record
from ..report.results import flat_row, write_report
from ..train import resolve_device
from ..train.precision import PRECISIONS
from .catalog import Suite, expand, methods_of, suite
from .executor_batched import batched_executor
from .executor_ray import ray_executor
from .run import ExecOptions, Run, data_dir, execute_run, image_signal, resolve_image
from .selection import best_lrs

__all__ = ["SuiteResult", "run_suite", "run_pending", "run_missing", "load_records", "same_config",
           "executors", "register_executor", "Executor"]


@dataclass
class SuiteResult:
    """What :func:`run_suite` returns.

    Attributes:
        suite: the suite as run (with the caller's overrides).
        out: the output folder.
        rows: one flat dict per run (the rows of ``results.csv``), in suite order.
        ran: runs executed by this call; skipped: runs found finished under ``out/runs``.
        files: report files written (name -> path).
    """

    suite: Suite
    out: Path
    rows: list[dict]
    ran: int
    skipped: int
    files: dict = field(default_factory=dict)


#: ``fn(runs, options)`` yielding one record per run, in any order.
Executor = Callable[[Sequence[Run], ExecOptions], Iterator[dict]]


def _local(runs: Sequence[Run], options: ExecOptions) -> Iterator[dict]:
    """Run one after another in this process; yield each record as it finishes."""
    for run in runs:
        yield execute_run(run, options)


def _batched(runs: Sequence[Run], options: ExecOptions) -> Iterator[dict]:
    """Runs that share an architecture and an image shape, trained together (``fit_models``)."""
    return batched_executor(runs, options)


def _ray(runs: Sequence[Run], options: ExecOptions) -> Iterator[dict]:
    """Each run a Ray task (extra ``inrank[ray]``); ``options.address`` picks the cluster."""
    return ray_executor(runs, options, address=options.address)


def _processes(runs: Sequence[Run], options: ExecOptions) -> Iterator[dict]:
    """``options.jobs`` worker processes on this machine, each with its share of the CPU
    threads; records arrive as runs finish. On a CPU, two one-thread processes do more fits
    per hour than one two-thread process when the matrices are small. Each run goes with the
    tuned values in effect here (:func:`inrank.nn.tuned_state.tuned_payload`): a worker applies
    them, whatever its own registry would read."""
    jobs = max(1, options.jobs)
    threads = max(1, (os.cpu_count() or 1) // jobs)
    worker = ExecOptions(data=options.data, device=options.device, progress=False,
                         address=options.address, jobs=1)
    tuned = tuned_payload()
    with mp.get_context("spawn").Pool(jobs, initializer=_set_threads, initargs=(threads,)) as pool:
        yield from pool.imap_unordered(_execute, [(run, worker, tuned) for run in runs])


def _set_threads(n: int) -> None:
    torch.set_num_threads(n)


def _execute(item: tuple[Run, ExecOptions, dict]) -> dict:
    run, options, tuned = item
    with tuned_values(tuned):
        return execute_run(run, options)


#: executor name -> :data:`Executor`.
_EXECUTORS: dict[str, Executor] = {"local": _local, "processes": _processes,
                                   "batched": _batched, "ray": _ray}


def executors() -> list[str]:
    """Names of the registered executors."""
    return list(_EXECUTORS)


def register_executor(name: str, fn: Executor) -> None:
    """Add an executor: ``fn(runs, options)`` yields the record of every run (in any order)."""
    _EXECUTORS[name] = fn


def run_suite(name: str, *, methods: Sequence[str] | None = None,
              images: Sequence[str] | None = None, steps: int | None = None,
              seeds: Sequence[int] | None = None, widths: Sequence[int] | None = None,
              size: int | None = None, out: str | Path = "inrank-out/bench",
              progress: bool = True, executor: str = "local", data: str | Path | None = None,
              device: str = "auto", report_image: str | None = None, plots: bool = True,
              lr_multipliers: Sequence[float] | None = None,
              address: str | None = None, jobs: int = 2,
              precision: str = "float32",
              optimizers: Sequence[str] | None = None, auto: bool = False,
              batch_size: int | None = None) -> SuiteResult:
    """Run suite ``name`` (resumable) and write its results and report under ``out``.

    Args:
        name: a suite from :func:`suites`.
        methods, images, steps, seeds, widths, size: replace the suite's own values.
        out: output folder; ``out/runs/<id>.json`` holds one record per finished run.
        progress: an overall bar (runs) and a bar per run (steps), on stderr.
        executor: a name from :func:`executors`: ``local`` (one run after another),
            ``processes`` (``jobs`` worker processes), ``batched`` (runs sharing an
            architecture and image shape trained together by
            :func:`inrank.train.fit_models`) or ``ray`` (one Ray task per run).
        address: for ``ray``: ``None`` (local Ray), ``"auto"`` or ``HOST:PORT`` of a cluster.
        jobs: for ``processes``: worker processes.
        precision: every fit's forward-pass precision (``float32``, ``bf16``, ``fp16``).
        optimizers: replace the suite's optimisers (``adam``, ``muon``; each method at its
            tuned lr for each, :meth:`inrank.Preset.lr_for`).
        data: the data folder with ``kodak/`` (default: ``$INRANK_DATA`` or ``../shared/data``
            beside the repository).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        report_image: the image shown in the HTML report.
        plots: draw the figures (curves, width plot, reconstructions); tables are always written.
        lr_multipliers: replace the suite's lr grid (multiples of each method's base lr).
        auto: every fit chooses its knob and lrs for its image (``inrank.fit(auto=True)``; a
            suite may ask for it too).
        batch_size: points per step (None: the suite's; full batch by default).

    Returns:
        A :class:`SuiteResult`; ``rows`` covers every run of the suite.

    Examples:
        >>> res = run_suite("quick", methods=["relu"], images=["camera"], steps=2, size=8,
        ...                 out=getfixture("tmp_path"), progress=False, plots=False)
        >>> res.ran, len(res.rows), res.rows[0]["method"]
        (1, 1, 'relu')
    """
    s = suite(name)
    changes = {k: tuple(dict.fromkeys(v)) for k, v in dict(methods=methods, images=images, seeds=seeds,
                                             widths=widths, optimizers=optimizers).items()
               if v is not None}
    if steps is not None:
        changes["steps"] = validation.positive_int("steps", steps)
    if size is not None:
        changes["size"] = validation.positive_int("size", size)
    if report_image is not None:
        changes["report_image"] = report_image
    if auto:
        changes["auto"] = True
    if batch_size is not None:
        changes["batch_size"] = validation.positive_int("batch_size", batch_size)
    if lr_multipliers is not None:
        changes["lr_multipliers"] = tuple(validation.positive_float("lr multiplier", x)
                                          for x in dict.fromkeys(lr_multipliers))
    s = replace(s, **changes)
    for w in s.widths:
        validation.positive_int("width", w)
    for seed in s.seeds:
        validation.non_negative_int("seed", seed)
    if not s.images:
        raise InputError("no images given; pass at least one image")
    methods_of(s)  # unknown method names fail here, before any work
    if report_image is not None and report_image not in s.images:
        raise InputError(f"report_image={report_image!r} is not one of the images "
                         f"({', '.join(s.images)}); choose one of them")
    validation.one_of("executor", executor, tuple(_EXECUTORS))
    resolve_device(device)  # an unknown or missing device fails before any work
    options = ExecOptions(data=data_dir(data) if data is not None else None, device=device,
                          address=address, progress=progress,
                          jobs=validation.positive_int("jobs", jobs))
    for image in s.images if s.task in ("image", "generalize") else ():  # fail before any work
        resolve_image(image, options.data)
    runs = [replace(r, precision=validation.one_of("precision", precision, PRECISIONS))
            for r in expand(s)]
    out = Path(out)
    records = load_records(out, runs)
    pending = [r for r in runs if r.id not in records]
    files.write_json(out / "config.json", {
        "suite": asdict(s), "executor": executor, "device": device,
        "data": str(options.data) if options.data else None,
        "registry_lr": {m: preset(m).lr for m in methods_of(s)}, "runs": len(runs),
        "out": str(out)})
    records.update(run_pending(pending, out, executor=executor, options=options,
                               label=s.name, done=len(runs) - len(pending)))
    ordered = [records[r.id] for r in runs]
    target = None
    if plots and s.task in ("image", "generalize"):
        image = s.report_image if s.report_image in s.images else s.images[0]
        sig = image_signal(resolve_image(image, options.data), s.size, Path(image).stem)
        target = sig.to_image(sig.values)
    written = write_report(ordered, out, suite=s, target=target, plots=plots)
    if len(s.lr_multipliers) > 1:
        best = best_lrs(ordered, protocol=asdict(s))
        written["best_lr"] = files.write_json(out / "best_lr.json", best)
    return SuiteResult(s, out, [flat_row(r) for r in ordered], len(pending),
                       len(runs) - len(pending), written)


def run_pending(runs: Sequence[Run], out: Path, *, executor: str, options: ExecOptions,
                label: str = "bench", done: int = 0) -> dict[str, dict]:
    """Execute ``runs`` with ``executor``, writing each record atomically as
    ``out/runs/<id>.json`` (and its reconstruction under ``out/recon``) as it finishes; return
    the records by id. Interrupting loses at most the runs in flight."""
    run_fn = _EXECUTORS[validation.one_of("executor", executor, tuple(_EXECUTORS))]
    records: dict[str, dict] = {}
    bar = _overall_bar(done + len(runs), done, label, options.progress)
    try:
        for record in run_fn(runs, options):
            recon = record.pop("_recon", None)
            if recon is not None:
                files.save_png(out / "recon" / f"{record['id']}.png", recon)
            files.write_json(out / "runs" / f"{record['id']}.json", record)
            records[record["id"]] = record
            bar.update(1)
    finally:
        bar.close()
    return records


def run_missing(runs: Sequence[Run], out: Path, *, jobs: int = 2, label: str = "runs",
                executor: str = "processes", run: bool = True) -> dict[str, dict]:
    """Every record of ``runs``: those already under ``out/runs`` plus the missing ones, run
    now (:func:`run_pending`); a script's resumable grid in one call. ``run=False`` only reads
    what is there (a partial grid, rendered without running). Says on stderr how many were
    found."""
    records = load_records(out, runs)
    pending = [r for r in runs if r.id not in records]
    print(f"{label}: {len(runs) - len(pending)} of {len(runs)} runs found"
          + ("" if run else " (not running the rest)"), file=sys.stderr)
    if run:
        records.update(run_pending(pending, out, executor=executor,
                                   options=ExecOptions(progress=False, jobs=jobs), label=label))
    return records


def same_config(saved: dict, now: dict) -> bool:
    """Whether a record's saved model config is the one a run builds ``now``: a field the
    saved config lacks (a record written before the field existed) ran at the field's
    :class:`~inrank.nn.mlp.MLPConfig` default.

    Examples:
        >>> same_config({"width": 8}, {"width": 8, "encoding_lr_scale": 1.0})
        True
        >>> same_config({"width": 8}, {"width": 8, "encoding_lr_scale": 10.0})
        False
    """
    defaults = json.loads(json.dumps(MLPConfig().to_dict()))
    missing = {k: defaults[k] for k in now if k not in saved and k in defaults}
    return {**missing, **saved} == now


def load_records(out: Path, runs: Sequence[Run]) -> dict[str, dict]:
    """Finished records under ``out/runs`` that belong to ``runs``; a record whose preset
    changed since is run again (with a warning).

    Raises:
        InputError: a record that is not valid JSON (a truncated file) or not a record of its
            run (:func:`inrank.readback.read_run_record`): the message names the file and
            says to delete it; never taken for a missing run nor for a result.
    """
    found = {}
    for run in runs:
        path = Path(out) / "runs" / f"{run.id}.json"
        if not path.exists():
            continue
        record = read_run_record(path, key=run.key())
        if "config" in record and not same_config(record["config"], run.config()):
            warnings.warn(f"{path.name}: its preset {run.preset!r} changed since; running it "
                          "again", stacklevel=3)
            continue
        found[run.id] = record
    return found


def _overall_bar(total: int, done: int, name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc=f"bench {name}", unit="run", disable=not enabled,
                dynamic_ncols=True, position=0)
