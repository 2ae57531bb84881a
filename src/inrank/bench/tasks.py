"""Task-level protocols beyond image fitting, as plain functions a bench suite calls:
held-out-pixel generalisation, audio, 3-D occupancy, signed distance fields and the inverse
problems (their signals, model overrides, loss, fit arguments and metrics); a task's runs go
through the bench runner like any suite's. :func:`run_generalize` fits one preset to one image
outside it and returns one flat results row.

Per-task hyperparameters (frequency scales that depend on the signal, the loss) live here so
the CLI, the benchmarks and the suites share them.
"""
from __future__ import annotations

import math
from pathlib import Path

from .. import validation as _checks
from ..metrics import psnr
from ..nn.registry import build, preset
from ..operators.tasks import crop_task
from ..signals.audio import load_audio
from ..signals.mesh import load_mesh_occupancy, require_mesh_extra
from ..signals.sdf import load_mesh_sdf, mesh_sdf, sdf_metrics
from ..signals.signal import Signal, load_image
from ..signals.splits import subgrid_mask
from ..train.evaluate import occupancy_iou
from ..train.fit import fit

__all__ = ["TASK_SUITES", "INVERSE_SUITES", "inverse_signal", "GENERATED_SHAPES", "task_overrides", "task_loss", "task_signal",
           "task_fit_kwargs", "task_metrics", "run_generalize"]

def _audio_overrides(method: str, duration: float) -> dict:
    """Frequency scales in Hz terms, so they mean the same for any clip length T.

    A unit of the ``[-1, 1]`` time axis is ``T / 2`` seconds. SIREN's audio setting
    (omega0 = 3000 for a 7 s clip, Sitzmann et al. 2020) is kept in Hz: omega0 = 3000 T / 7.
    Fourier features: sigma = 500 T (Gaussian frequencies of std 500 Hz). Positional encoding:
    octaves up to ~2 kHz, L = 1 + ceil(log2(2000 T)).
    """
    cfg = preset(method).config
    out: dict = {}
    if cfg.activation in ("sine", "finer", "gabor"):
        out["omega0"] = 3000.0 * duration / 7.0
    if cfg.encoding == "rff":
        out["rff_sigma"] = 500.0 * duration
    if cfg.encoding == "pe":
        out["pe_octaves"] = 1 + max(0, math.ceil(math.log2(2000.0 * duration)))
    return out


def task_overrides(method: str, signal: Signal) -> dict:
    """:func:`inrank.build` overrides that a signal kind needs for ``method`` (``{}`` if none)."""
    if signal.kind == "audio":
        return _audio_overrides(method, float(signal.meta.get("duration", 1.0)))
    return {}


def task_loss(signal: Signal) -> str:
    """``"bce"`` for occupancy, ``"sdf"`` for a signed distance field, else ``"mse"``."""
    return {"occupancy": "bce", "sdf": "sdf"}.get(signal.kind, "mse")


#: The protocols of the ``generalize``, ``audio`` and ``occupancy`` suites (what
#: ``python -m benchmarks.fidelity.{generalize,audio,occupancy}`` run), sized for a 2-core CPU.
TASK_SUITES: dict[str, dict] = {
    "generalize": {"summary": "train on the even pixel sub-grid (Tancik et al. 2020), PSNR on "
                              "the held-out 3/4 of pixels", "signals": ("kodim05", "kodim23"),
                   "size": 96, "steps": 800, "width": 128, "depth": 3},
    "audio": {"summary": "0.25 s clips of SIREN's bach (from 1.0 s) and counting (from 0.4 s, "
                         "the first word); PSNR and SNR",
              "signals": ("bach", "counting"), "duration": 0.25,
              "offset": {"bach": 1.0, "counting": 0.4}, "steps": 300,
              "width": 128, "depth": 3},
    "occupancy": {"summary": "bunny and armadillo occupancy (20k samples, BCE), IoU on a 48^3 grid",
                  "signals": ("bunny", "armadillo"), "n_points": 20_000, "steps": 500,
                  "batch_size": 4096, "resolution": 48, "width": 128, "depth": 3},
    "sdf": {"summary": "bunny and armadillo signed distance fields from 20k surface samples "
                       "with normals (SIREN's loss: surface, normal, eikonal, off-surface), "
                       "Chamfer distance and IoU of the zero level set on a 48^3 grid",
            "signals": ("bunny", "armadillo"), "n_points": 20_000, "steps": 500,
            "batch_size": 2048, "resolution": 48, "width": 128, "depth": 3},
}

#: The inverse problems as suites (``inrank bench ct`` ...): the task of
#: :func:`inrank.make_task`, its settings, on 48 x 48 centre crops (gray for CT), the network on
#: the full grid trained on the measurements only (``benchmarks/inverse/inverse.py``'s protocol,
#: its test images; its lr and TV-weight selection stays in that script).
INVERSE_SUITES = {
    "ct": ("ct", {"angles": 20}, ("shepp_logan_phantom", "kodim03", "kodim05")),
    "superres": ("superres", {"factor": 4}, ("kodim03", "kodim05", "kodim23")),
    "denoise": ("denoise", {"noise": 0.1}, ("kodim03", "kodim05", "kodim23")),
    "inpaint": ("inpaint", {"keep": 0.25}, ("kodim03", "kodim05", "kodim23")),
}
TASK_SUITES.update({
    name: {"summary": f"inverse problem {kind} ({', '.join(f'{k} {v:g}' for k, v in settings.items())}) "
                      "on 48 x 48 crops: trained on the measurements only, PSNR against the "
                      "truth, the classical baseline's PSNR beside it",
           "signals": signals, "size": 48, "steps": 250, "width": 128, "depth": 3}
    for name, (kind, settings, signals) in INVERSE_SUITES.items()})

#: Shapes made on the fly (trimesh.creation), in no reported table: calibration signals for
#: the SDF task (``task_signal("sdf", "torus", ...)``).
GENERATED_SHAPES = ("torus",)


def _generated_shape(name: str):
    """``(vertices, faces)`` of a generated calibration shape (:data:`GENERATED_SHAPES`)."""
    trimesh = require_mesh_extra("trimesh", "generated shapes")
    if name == "torus":  # a genus-1 shape: thin and thick parts, a hole
        m = trimesh.creation.torus(major_radius=1.0, minor_radius=0.35, major_sections=96,
                                   minor_sections=48)
        return m.vertices, m.faces
    raise KeyError(name)


def task_signal(task: str, name: str, data: Path, **options) -> Signal:
    """The signal ``name`` of ``task`` from the data folder ``data`` (holding ``kodak/``,
    ``audio/``, ``meshes/``), with the suite's options unless overridden."""
    proto = {**TASK_SUITES[_checks.one_of("task", task, tuple(TASK_SUITES))], **options}
    data = Path(data)
    if task == "audio":
        offset = proto["offset"]
        offset = offset.get(name, 0.0) if isinstance(offset, dict) else float(offset)
        return load_audio(data / "audio" / f"{name}.wav", duration=proto["duration"], offset=offset)
    if task == "occupancy":
        return load_mesh_occupancy(data / "meshes" / f"{name}.obj", n_points=proto["n_points"],
                                   seed=0)
    if task == "sdf":

        if name in GENERATED_SHAPES:
            return mesh_sdf(*_generated_shape(name), n_points=proto["n_points"], seed=0,
                            name=name)
        return load_mesh_sdf(data / "meshes" / f"{name}.obj", n_points=proto["n_points"], seed=0)
    path = data / "kodak" / f"{name}.png"
    sig = load_image(path if path.exists() else name, size=proto["size"])
    if task in INVERSE_SUITES:
        return inverse_signal(task, sig, proto["size"], name)
    return sig


def inverse_signal(task: str, image: Signal, size: int, name: str) -> Signal:
    """The truth of inverse suite ``task`` on a ``size x size`` centre crop of ``image`` (gray
    for CT), with its :class:`~inrank.operators.InverseTask` (operator, measurements, baseline;
    noise and mask seed 0) in ``meta["inverse_task"]``."""
    kind, settings, _ = INVERSE_SUITES[task]
    t = crop_task(kind, image, size, seed=0, **settings)
    truth = t.signal
    truth.name = name
    truth.meta = {**truth.meta, "inverse_task": t}
    return truth


def task_fit_kwargs(task: str, signal: Signal, batch_size: int | None = None) -> dict:
    """Extra :func:`inrank.fit` arguments of ``task``: the held-out mask, the loss, the batch.

    ``batch_size`` is the run's own (``None``: the task's, else a full batch); it is always in
    the returned dict, so callers pass it through this one place and never twice.
    """
    if task == "generalize":
        return {"train_mask": subgrid_mask(signal.shape), "batch_size": batch_size}
    if task in ("occupancy", "sdf"):
        return {"loss": "bce" if task == "occupancy" else "sdf",
                "batch_size": batch_size or TASK_SUITES[task]["batch_size"]}
    if task in INVERSE_SUITES:
        t = signal.meta["inverse_task"]
        return {"operator": t.operator, "measurements": t.measurements, "batch_size": batch_size}
    return {"batch_size": batch_size}


def task_metrics(task: str, model, signal: Signal, *, resolution: int | None = None,
                 keep_mesh: bool = False) -> dict:
    """Metrics measured on the trained model beyond ``FitResult.metrics`` (occupancy: the
    dense-grid IoU ``grid_iou``; sdf: ``chamfer`` and ``grid_iou`` of the zero level set,
    :func:`inrank.signals.sdf.sdf_metrics`, and with ``keep_mesh`` its marching-cubes mesh
    as ``"_mesh": (vertices, faces)``)."""
    if task == "occupancy":
        res = resolution or TASK_SUITES["occupancy"]["resolution"]
        return {"grid_iou": occupancy_iou(model, signal, resolution=res)}
    if task == "sdf":

        m = sdf_metrics(model, signal, resolution=resolution or TASK_SUITES["sdf"]["resolution"])
        return {"chamfer": m["chamfer"], "grid_iou": m["iou"],
                **({"_mesh": m["mesh"]} if keep_mesh else {})}
    if task in INVERSE_SUITES:  # the classical reconstruction from the same measurements

        t = signal.meta["inverse_task"]
        base = t.baseline()                                               # (N, c)
        out = {"baseline": t.baseline_name, "baseline_psnr": psnr(base, signal.values)}
        unseen = t.operator.unseen()
        if unseen is not None:  # inpainting: also on the pixels no measurement saw
            out["baseline_test_psnr"] = psnr(base[unseen], signal.values[unseen])
        return out
    return {}


def _row(method: str, signal: Signal, res, seed: int, width: int, depth: int, **extra) -> dict:
    return {"method": method, "signal": signal.name, "seed": seed, "width": width,
            "depth": depth, "steps": res.steps, "lr": res.lr, "params": res.params,
            **{k: float(v) for k, v in res.metrics.items()},
            "seconds_per_step": res.seconds_per_step, "fit_status": res.status, **extra}


def run_generalize(method: str, signal: Signal, *, steps: int = 1000, width: int = 128,
                   depth: int = 3, seed: int = 0, lr: float | None = None) -> dict:
    """Train on the even sub-grid of an image, report PSNR on all / training / held-out pixels.

    Returns:
        ``{"method", "signal", ..., "psnr", "train_psnr", "test_psnr", ...}``.
    """
    _checks.positive_int("steps", steps)
    model = build(method, signal.in_dim, signal.out_dim, width=width, depth=depth, seed=seed)
    res = fit(model, signal, steps=steps, lr=lr, seed=seed, accept_worse=True,
              progress=False, **task_fit_kwargs("generalize", signal))
    return _row(method, signal, res, seed, width, depth)
