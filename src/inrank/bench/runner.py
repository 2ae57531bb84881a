"""Benchmark suites: grids of (method, signal, seed, width) fits under one protocol.

A suite is data (:class:`Suite`, one registry, :func:`suites`); :func:`run_suite` expands it into
:class:`Run` s, skips those whose record already exists under ``out/runs/``, hands the rest to an
executor chosen by name from one dispatch dict (:func:`executors`; ``"local"`` runs them one after
another in this process), writes each finished run atomically as ``out/runs/<id>.json`` and
finally the tables, plots and HTML report (:mod:`inrank.report`). Rerunning the same call
continues an interrupted suite. Kodak images are read from the data folder (:func:`data_dir`).
"""
from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .. import validation as _checks

from .. import files as _io
from .run import ExecOptions, Run, data_dir, execute_run, image_signal, resolve_image
from ..errors import InputError
from ..nn.presets import preset, presets
from .tasks import TASK_METHODS, TASK_SUITES
from ..report.results import flat_row, write_report
from .tuning import TUNED_LR_PATH, best_lrs, tuned_lrs

__all__ = ["Suite", "Run", "SuiteResult", "suites", "suite", "expand", "run_suite", "executors",
           "register_executor", "tuned_lrs", "best_lrs", "data_dir", "execute_run", "VARIANTS",
           "TUNED_LR_PATH"]

KODAK = tuple(f"kodim{i:02d}" for i in range(1, 25))

#: Method labels that are a preset plus config overrides (the registry stays the one source).
VARIANTS: dict[str, tuple[str, dict]] = {
    "bn-later": ("relu", {"batchnorm": "later"}),
}


@dataclass(frozen=True)
class Suite:
    """A benchmark protocol: every method x image x seed x width under the same budget."""

    name: str
    """Registry key."""
    summary: str
    """One line: what it measures."""
    images: tuple[str, ...]
    """Kodak names (``kodim01``), scikit-image samples (``coffee``) or image paths."""
    steps: int
    """Full-batch Adam steps per run."""
    methods: tuple[str, ...] = ()
    """Preset names or :data:`VARIANTS` labels; empty means every registered preset."""
    size: int | None = None
    """Short side in pixels after resizing; ``None`` keeps the full size."""
    widths: tuple[int, ...] = (256,)
    """D, units per hidden layer (one run per width)."""
    depth: int = 3
    """L, hidden layers."""
    seeds: tuple[int, ...] = (0,)
    """Seeds of init and batch order."""
    lr_source: str = "tuned"
    """``tuned``: the committed tuned lr (falling back to the preset's); ``preset``: the preset's."""
    lr_multipliers: tuple[float, ...] = (1.0,)
    """Each run's lr is the base lr times each multiplier (the lr-sweep grid)."""
    evals: int = 50
    """PSNR evaluations per run (curves and best PSNR)."""
    rank: bool = False
    """Also record the exact and numerical rank of [H_1, 1] at init and after training."""
    report_image: str | None = None
    """Image whose reconstructions and error maps go into the HTML report (default: first)."""
    subsets: dict = field(default_factory=dict)
    """Extra tables over image subsets: label -> tuple of images."""
    task: str = "image"
    """``image``, or a task of :data:`inrank.bench.tasks.TASK_SUITES` (generalize, audio, occupancy)."""


_SUITES: dict[str, Suite] = {s.name: s for s in [
    Suite("quick", "every preset on 3 Kodak images downsized to 32 px short side, 3 x 256, "
          "500 steps, tuned lr, one seed (sized for 2 CPU cores)",
          images=("kodim01", "kodim05", "kodim23"), size=32, steps=500, report_image="kodim05"),
    Suite("kodak", "the field's protocol: 24 Kodak images at 768 x 512, 3 x 256, 5000 steps, "
          "tuned lr, 3 seeds; kodim01-08 also reported alone (a GPU job)",
          images=KODAK, steps=5000, seeds=(0, 1, 2), evals=100, report_image="kodim01",
          subsets={"kodim01-08": KODAK[:8]}),
    Suite("width", "PSNR and first-layer rank against width 64-512 for relu, relu+rei, pe, "
          "siren; each method at its preset lr at every width (an lr tuned at one width is not "
          "the best at another, so the lr is held fixed across the sweep)",
          images=("kodim05",), size=32, steps=500, methods=("relu", "relu+rei", "pe", "siren"),
          widths=(64, 128, 256, 512), rank=True, lr_source="preset"),
    Suite("bn-placement", "BatchNorm after layer 1 only (bn), after layers 2..L only (bn-later), "
          "after all (bn-all), against relu and relu+rei",
          images=("kodim01", "kodim05", "kodim23"), size=32, steps=1000,
          methods=("relu", "bn", "bn-later", "bn-all", "relu+rei")),
    Suite("lr-sweep", "each preset at 1/3, 1 and 3 x its preset lr on a scikit-image sample "
          "that is in no reported table, quick's protocol otherwise; the best final PSNR "
          "gives the tuned lr", images=("coffee",), size=32, steps=500, lr_source="preset",
          lr_multipliers=(1 / 3, 1.0, 3.0)),
    *[Suite(name, TASK_SUITES[name]["summary"], images=TASK_SUITES[name]["signals"],
            steps=TASK_SUITES[name]["steps"], size=TASK_SUITES[name].get("size"),
            widths=(TASK_SUITES[name]["width"],), depth=TASK_SUITES[name]["depth"],
            methods=TASK_METHODS, lr_source="preset", task=name)
      for name in ("generalize", "audio", "occupancy")],
]}


def suites() -> list[str]:
    """Names of the registered suites.

    Examples:
        >>> suites()
        ['quick', 'kodak', 'width', 'bn-placement', 'lr-sweep', 'generalize', 'audio', 'occupancy']
    """
    return list(_SUITES)


def suite(name: str) -> Suite:
    """Return the suite called ``name`` (frozen, so sharing it is safe)."""
    return _SUITES[_checks.one_of("suite", name, tuple(_SUITES))]


def _base(method: str) -> tuple[str, dict]:
    """Method label -> (preset name, MLPConfig overrides); unknown labels raise ValueError."""
    if method in VARIANTS:
        name, overrides = VARIANTS[method]
        return name, dict(overrides)
    if method not in presets():
        raise InputError(f"unknown method {method!r}; choose one of: "
                         f"{', '.join(presets() + list(VARIANTS))}")
    return method, {}


def expand(s: Suite, *, tuned: dict[str, float] | None = None) -> list[Run]:
    """Every run of suite ``s``, in a stable order (method, image, width, seed, lr)."""
    tuned = tuned_lrs() if tuned is None else tuned
    report = s.report_image if s.report_image in s.images else s.images[0]
    runs = []
    for method in s.methods or tuple(presets()):
        base, overrides = _base(method)
        lr0 = preset(base).lr
        if s.lr_source == "tuned":
            lr0 = tuned.get(method, tuned.get(base, lr0))
        for image in s.images:
            for width in s.widths:
                for seed in s.seeds:
                    for mult in s.lr_multipliers:
                        runs.append(Run(
                            method=method, preset=base, overrides=tuple(sorted(overrides.items())),
                            signal=image, size=s.size, seed=seed, width=width, depth=s.depth,
                            steps=s.steps, lr=float(f"{lr0 * mult:.6g}"), evals=s.evals,
                            rank=s.rank, task=s.task,
                            keep_recon=s.task in ("image", "generalize") and image == report
                            and seed == s.seeds[0]))
    return runs


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
    from .executor_batched import batched_executor

    return batched_executor(runs, options)


def _ray(runs: Sequence[Run], options: ExecOptions) -> Iterator[dict]:
    """Each run a Ray task (extra ``inrank[ray]``); ``options.address`` picks the cluster."""
    from .executor_ray import ray_executor

    return ray_executor(runs, options, address=options.address)


#: executor name -> :data:`Executor`.
_EXECUTORS: dict[str, Executor] = {"local": _local, "batched": _batched, "ray": _ray}


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
              device: str = "auto", tuned: str | Path | None = None,
              report_image: str | None = None, plots: bool = True,
              lr_multipliers: Sequence[float] | None = None,
              address: str | None = None) -> SuiteResult:
    """Run suite ``name`` (resumable) and write its results and report under ``out``.

    Args:
        name: a suite from :func:`suites`.
        methods, images, steps, seeds, widths, size: replace the suite's own values.
        out: output folder; ``out/runs/<id>.json`` holds one record per finished run.
        progress: an overall bar (runs) and a bar per run (steps), on stderr.
        executor: a name from :func:`executors`: ``local`` (one run after another),
            ``batched`` (runs sharing an architecture and image shape trained together by
            :func:`inrank.train.fit_models`) or ``ray`` (one Ray task per run).
        address: for ``ray``: ``None`` (local Ray), ``"auto"`` or ``HOST:PORT`` of a cluster.
        data: the data folder with ``kodak/`` (default: ``$INRANK_DATA`` or ``../shared/data``
            beside the repository).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        tuned: a tuned-lr JSON file (default: the committed :data:`TUNED_LR_PATH`).
        report_image: the image shown in the HTML report.
        plots: draw the figures (curves, width plot, reconstructions); tables are always written.
        lr_multipliers: replace the suite's lr grid (multiples of each method's base lr).

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
                                             widths=widths).items() if v is not None}
    if steps is not None:
        changes["steps"] = _checks.positive_int("steps", steps)
    if size is not None:
        changes["size"] = _checks.positive_int("size", size)
    if report_image is not None:
        changes["report_image"] = report_image
    if lr_multipliers is not None:
        changes["lr_multipliers"] = tuple(_checks.positive_float("lr multiplier", x)
                                          for x in dict.fromkeys(lr_multipliers))
    s = replace(s, **changes)
    for w in s.widths:
        _checks.positive_int("width", w)
    for seed in s.seeds:
        _checks.non_negative_int("seed", seed)
    if not s.images:
        raise InputError("no images given; pass at least one image")
    for m in s.methods:
        _base(m)
    run_fn = _EXECUTORS.get(_checks.one_of("executor", executor, tuple(_EXECUTORS)))
    options = ExecOptions(data=data_dir(data) if data is not None else None, device=device,
                          address=address,
                          progress=progress)
    for image in s.images if s.task in ("image", "generalize") else ():  # fail before any work
        resolve_image(image, options.data)
    tuned_lr = tuned_lrs(tuned)
    runs = expand(s, tuned=tuned_lr)
    out = Path(out)
    records = _load_records(out, runs)
    pending = [r for r in runs if r.id not in records]
    _io.write_json(out / "config.json", {
        "suite": asdict(s), "executor": executor, "device": device,
        "data": str(options.data) if options.data else None,
        "tuned_lr_file": str(tuned or TUNED_LR_PATH), "tuned_lr": tuned_lr, "runs": len(runs),
        "out": str(out)})
    bar = _overall_bar(len(runs), len(runs) - len(pending), s.name, progress)
    try:
        for record in run_fn(pending, options):
            recon = record.pop("_recon", None)
            if recon is not None:
                _io.save_png(out / "recon" / f"{record['id']}.png", recon)
            _io.write_json(out / "runs" / f"{record['id']}.json", record)
            records[record["id"]] = record
            bar.update(1)
    finally:
        bar.close()
    ordered = [records[r.id] for r in runs]
    target = None
    if plots and s.task in ("image", "generalize"):
        image = s.report_image if s.report_image in s.images else s.images[0]
        sig = image_signal(resolve_image(image, options.data), s.size, Path(image).stem)
        target = sig.to_image(sig.values)
    files = write_report(ordered, out, suite=s, target=target, plots=plots)
    if len(s.lr_multipliers) > 1:
        best = best_lrs(ordered, protocol=asdict(s))
        files["best_lr"] = _io.write_json(out / "best_lr.json", best)
    return SuiteResult(s, out, [flat_row(r) for r in ordered], len(pending),
                       len(runs) - len(pending), files)


def _load_records(out: Path, runs: Sequence[Run]) -> dict[str, dict]:
    """Finished records under ``out/runs`` that belong to ``runs`` (unreadable ones rerun)."""
    found = {}
    for run in runs:
        path = out / "runs" / f"{run.id}.json"
        if not path.is_file():
            continue
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            warnings.warn(f"unreadable run record {path}; running it again", stacklevel=3)
            continue
        if record.get("run") != run.key():
            continue
        if "config" in record and record["config"] != run.config():
            warnings.warn(f"{path.name}: its preset {run.preset!r} changed since; running it "
                          "again", stacklevel=3)
            continue
        found[run.id] = record
    return found


def _overall_bar(total: int, done: int, name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, desc=f"bench {name}", unit="run", disable=not enabled,
                dynamic_ncols=True, position=0)
