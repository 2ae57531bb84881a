"""One benchmark run: its identity (:class:`Run`), where its image comes from, and
:func:`execute_run`, the function every executor calls (locally or on a remote worker)."""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..diagnosis.inlet import inlet_rank
from ..errors import DivergedError
from ..metrics import psnr
from ..nn.mlp import MLPConfig
from ..nn.registry import build, preset
from ..report.mesh import render_mesh
from ..signals.signal import SKIMAGE_SAMPLES, Signal, load_image
from ..train.evaluate import image_ssim, predict
from ..train.fit import fit
from ..version import __version__
from .tasks import task_fit_kwargs, task_metrics, task_overrides, task_signal

__all__ = ["Run", "ExecOptions", "data_dir", "resolve_image", "image_signal", "execute_run",
           "prepare_run", "run_record", "offgrid_metrics", "overrides_tuple", "overrides_dict"]

_REPO_ROOT = Path(__file__).resolve().parents[3]


def overrides_tuple(overrides: dict) -> tuple:
    """Config overrides as a hashable, sorted tuple of ``(field, value)`` pairs (a dict value,
    e.g. ``rei_options``, becomes a sorted tuple of pairs too)."""
    return tuple(sorted((k, tuple(sorted(v.items())) if isinstance(v, dict) else v)
                        for k, v in overrides.items()))


def overrides_dict(overrides: tuple) -> dict:
    """The inverse of :func:`overrides_tuple`: ``{field: value}`` for :func:`inrank.build`."""
    dict_fields = {k for k, v in MLPConfig().__dict__.items() if isinstance(v, dict)}
    return {k: dict(v) if k in dict_fields else v for k, v in overrides}


@dataclass(frozen=True)
class Run:
    """One fit of a benchmark: the fields of :meth:`key` identify it (and name its record)."""

    method: str
    """Label in the tables: a preset name or a variant label."""
    preset: str
    """The preset it builds."""
    overrides: tuple
    """``MLPConfig`` overrides as sorted ``(field, value)`` pairs (:func:`overrides_tuple`)."""
    signal: str
    """Image name: Kodak (``kodim01``), scikit-image sample or path."""
    size: int | None
    """Short side in pixels, ``None`` for full size."""
    seed: int
    """Seed of init and batch order."""
    width: int
    """D."""
    depth: int
    """L."""
    steps: int
    """Adam steps."""
    lr: float
    """Adam learning rate."""
    evals: int = 50
    """PSNR evaluations over the run."""
    rank: bool = False
    """Record the rank of [H_1, 1] at init and at the end (not part of the identity)."""
    keep_recon: bool = False
    """Return the reconstruction for the report (not part of the identity)."""
    task: str = "image"
    """``image`` (fit an image), or a task of :data:`inrank.bench.tasks.TASK_SUITES`: ``generalize``,
    ``audio``, ``occupancy`` (its signals, model settings, loss and metrics)."""
    offgrid: bool = False
    """Also evaluate at twice the image size (``offgrid_psnr``, ``offgrid_ssim``)."""
    precision: str = "float32"
    """The forward pass's autocast dtype (:data:`inrank.train.precision.PRECISIONS`)."""
    optimizer: str = "adam"
    """``"adam"`` or ``"muon"`` (:data:`inrank.train.optimizers.OPTIMIZERS`; ``lr`` is then
    Adam's, on the tensors Muon does not train)."""
    muon_lr: float | None = None
    """Muon's learning rate (``optimizer="muon"`` only)."""
    batch_size: int | None = None
    """Points per step (None: full batch)."""
    auto: bool = False
    """The fit chooses its knob and lrs for its signal (``inrank.fit(auto=True)``)."""

    def config(self) -> dict:
        """The model config this run builds (its preset's, now), less ``in_dim``/``out_dim``:
        a record whose config differs is stale (the preset changed) and runs again."""
        cfg = preset(self.preset).config_at(width=self.width, depth=self.depth,
                                            optimizer=self.optimizer,
                                            **overrides_dict(self.overrides)).to_dict()
        cfg.pop("in_dim"), cfg.pop("out_dim")
        return json.loads(json.dumps(cfg))

    def key(self) -> dict:
        """The identity as a JSON-ready dict."""
        return json.loads(json.dumps({
            "method": self.method, "preset": self.preset,
            "overrides": overrides_dict(self.overrides), "signal": self.signal,
            "size": self.size, "seed": self.seed, "width": self.width, "depth": self.depth,
            "steps": self.steps, "lr": self.lr, "evals": self.evals,
            **({"task": self.task} if self.task != "image" else {}),
            **({"offgrid": True} if self.offgrid else {}),
            **({"precision": self.precision} if self.precision != "float32" else {}),
            **({"optimizer": self.optimizer, "muon_lr": self.muon_lr}
               if self.optimizer != "adam" else {}),
            **({"batch_size": self.batch_size} if self.batch_size is not None else {}),
            **({"auto": True} if self.auto else {})}))

    @property
    def id(self) -> str:
        """File-name-safe id: readable fields plus a hash of the whole identity."""
        digest = hashlib.sha1(json.dumps(self.key(), sort_keys=True).encode()).hexdigest()[:8]
        stem = re.sub(r"[^A-Za-z0-9]+", "-", f"{self.method}_{Path(self.signal).stem}")
        return f"{stem}_{self.size or 'full'}_w{self.width}_s{self.seed}_{digest}"


@dataclass(frozen=True)
class ExecOptions:
    """How executors run: the data folder, the device and progress bars."""

    data: Path | None = None
    """Data folder holding ``kodak/``; ``None`` finds it with :func:`data_dir`."""
    device: str = "auto"
    """Torch device for every fit."""
    progress: bool = True
    """Show each fit's progress bar."""
    address: str | None = None
    """Ray executor: ``None`` (a local Ray instance), ``"auto"`` or ``HOST:PORT`` of a cluster."""
    jobs: int = 2
    """Processes executor: worker processes."""


def data_dir(path: str | Path | None = None) -> Path:
    """The data folder: ``path``, else ``$INRANK_DATA``, else ``../shared/data`` beside the
    repository (or the working directory). Raises ``FileNotFoundError`` naming the fix."""
    candidates = [Path(path)] if path is not None else (
        [Path(os.environ["INRANK_DATA"])] if os.environ.get("INRANK_DATA") else
        [_REPO_ROOT.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"])
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    raise FileNotFoundError(f"data folder not found (tried {', '.join(map(str, candidates))}); "
                            "pass data=DIR (the folder holding kodak/) or set INRANK_DATA")


def resolve_image(name: str, data: Path | None = None) -> str:
    """Image name -> what :func:`inrank.load_image` reads: a Kodak name becomes
    ``DATA/kodak/NAME.png``; scikit-image samples and existing paths pass through."""
    if re.fullmatch(r"kodim\d\d", name):
        path = (data or data_dir()) / "kodak" / f"{name}.png"
        if not path.is_file():
            raise FileNotFoundError(f"Kodak image not found: {str(path)!r}; pass data=DIR "
                                    "(the folder holding kodak/) or set INRANK_DATA")
        return str(path)
    if name in SKIMAGE_SAMPLES or Path(name).is_file():
        return name
    raise FileNotFoundError(f"image not found: {name!r}; give a Kodak name (kodim01..kodim24), "
                            f"a scikit-image sample ({', '.join(SKIMAGE_SAMPLES[:4])}, ...) or a path")


@functools.lru_cache(maxsize=8)
def image_signal(source: str, size: int | None, name: str) -> Signal:
    """The image ``source`` at ``size`` px short side, named ``name`` (cached: suites reuse it)."""
    sig = load_image(source, size=size)
    sig.name = name
    return sig


@functools.lru_cache(maxsize=4)
def _task_signal(task: str, name: str, data: Path) -> Signal:
    """A task's signal, cached: labelling a mesh takes seconds."""
    return task_signal(task, name, data)


def prepare_run(run: Run, options: ExecOptions) -> tuple[Signal, object, tuple | None]:
    """Load the run's signal and build its model; with ``run.rank`` also the inlet rank at init."""
    if run.task == "image":
        signal = image_signal(resolve_image(run.signal, options.data), run.size, Path(run.signal).stem)
    else:
        signal = _task_signal(run.task, run.signal, options.data or data_dir())
    model = build(run.preset, signal.in_dim, signal.out_dim, width=run.width, depth=run.depth,
                  seed=run.seed, optimizer=run.optimizer, **{**task_overrides(run.preset, signal),
                                          **overrides_dict(run.overrides)})
    r0 = None
    if run.rank:
        model.eval()
        r0 = inlet_rank(model, signal.coords)
        model.train()
    return signal, model, r0


def offgrid_metrics(run: Run, model, options: "ExecOptions") -> dict:
    """The trained ``model`` evaluated at twice the run's image size, on the image resized to
    that size (every pixel, most of them between the training grid's): ``offgrid_psnr`` (dB)
    and ``offgrid_ssim``. A model that aliased its training grid scores low here."""
    fine = image_signal(resolve_image(run.signal, options.data), 2 * run.size,
                        f"{Path(run.signal).stem}@2x")
    model.eval()
    pred = predict(model, fine.coords.to(next(model.parameters()).device)).float().cpu()
    return {"offgrid_psnr": psnr(pred, fine.values), "offgrid_ssim": image_ssim(fine, pred),
            "offgrid_shape": list(fine.shape)}


def run_record(run: Run, signal: Signal, model, result, status: str, r0: tuple | None,
               wall_seconds: float, options: "ExecOptions | None" = None) -> dict:
    """The JSON-ready record of a finished (or diverged) run; see :func:`execute_run`."""
    rank = None
    if run.rank:
        model.cpu().eval()
        r1 = inlet_rank(model, signal.coords)
        rank = {"init_exact": r0[0], "init_numerical": r0[1], "final_exact": r1[0],
                "final_numerical": r1[1], "max": min(len(signal), run.width + 1)}
    finite = lambda x: x if x is not None and math.isfinite(x) else None  # noqa: E731
    record = {
        "id": run.id, "run": run.key(), "status": status,
        "metrics": {"final_psnr": finite(result.final_psnr) if status == "ok" else None, "best_psnr": finite(result.best_psnr),
                    "ssim": result.ssim, "params": result.params,
                    "seconds_per_step": result.seconds_per_step, "device": result.device,
                    "fit_status": result.status, "mean_psnr": finite(result.mean_psnr)},
        "history": result.history, "rank": rank, "shape": list(signal.shape),
        "config": run.config(),
        "wall_seconds": wall_seconds, "inrank": __version__,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    if run.task != "image" and status == "ok":

        record["metrics"].update({k: v for k, v in result.metrics.items() if k != "psnr"})
        extra = task_metrics(run.task, model.cpu(), signal, keep_mesh=run.keep_recon)
        mesh = extra.pop("_mesh", None)
        record["metrics"].update(extra)
        if mesh is not None:  # the report's picture of the shape

            record["_recon"] = render_mesh(*mesh, title=run.method)
    if run.offgrid and status == "ok":
        record["metrics"].update(offgrid_metrics(run, model, options or ExecOptions()))
    if run.keep_recon and status == "ok" and signal.kind != "sdf":
        record["_recon"] = signal.to_image(result.prediction)
    return record


def execute_run(run: Run, options: ExecOptions = ExecOptions()) -> dict:
    """Build, (rank,) fit and measure one run; return its JSON-ready record.

    The record holds ``id``, ``run`` (:meth:`Run.key`), ``status`` (``ok`` or ``diverged``),
    ``metrics`` (final/best PSNR, SSIM, params, seconds per step, device; ``fit_status``,
    :attr:`inrank.FitResult.status`: a run that trained to the end but did not beat its
    signal's mean predictor, ``mean_psnr``, is kept and marked, never dropped), ``history``,
    ``rank`` (or ``None``) and ``wall_seconds``; task runs add their metrics (held-out PSNR,
    SNR, grid IoU) to ``metrics``; with ``run.keep_recon`` also
    ``_recon``, the ``(H, W, c)`` reconstruction, which the runner saves and removes.
    Runs train eagerly (``compile=False``), so that their seconds per step compare.
    """
    t0 = time.perf_counter()
    signal, model, r0 = prepare_run(run, options)
    extra = task_fit_kwargs(run.task, signal, run.batch_size)
    status = "ok"
    try:
        lrs = {} if run.auto else {"lr": run.lr, "muon_lr": run.muon_lr}  # auto chooses them
        result = fit(model, signal, steps=run.steps, seed=run.seed, device=options.device,
                     eval_every=max(1, run.steps // run.evals), progress=options.progress,
                     precision=run.precision, optimizer=run.optimizer,
                     auto=run.auto, accept_worse=True, compile=False, **lrs,
                     **extra)
    except DivergedError as err:
        status, result = "diverged", err.result
    return run_record(run, signal, model, result, status, r0, time.perf_counter() - t0,
                      options)
