"""Benchmark suites as data: :class:`Suite` (one protocol: methods x images x seeds x widths
under one budget), the registry of suites (:func:`suites`, :func:`suite`) and :func:`expand`,
which turns a suite into its :class:`~inrank.bench.run.Run` s. Methods come from the preset
registry (a suite names a group, or lists methods), learning rates too."""
from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from .. import validation
from ..errors import InputError
from ..nn.registry import build, preset, presets, width_lr_scale
from ..train.optimizers import optimizer_name
from .run import Run, overrides_dict, overrides_tuple
from .tasks import TASK_SUITES

__all__ = ["Suite", "suites", "suite", "methods_of", "expand", "matched_width", "KODAK"]

#: The 24 images of the Kodak suite, by name (``DATA/kodak/NAME.png``).
KODAK = tuple(f"kodim{i:02d}" for i in range(1, 25))


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
    """Steps per run (full batch unless ``batch_size``)."""
    methods: tuple[str, ...] = ()
    """Method names (presets); empty means every method of ``group``."""
    group: str | None = None
    """A group of :data:`inrank.nn.registry.GROUPS` (None: every registered method), read from
    the registry when the suite is expanded, so a new method joins without other edits."""
    size: int | None = None
    """Short side in pixels after resizing; ``None`` keeps the full size."""
    widths: tuple[int, ...] = (256,)
    """D, units per hidden layer (one run per width)."""
    depth: int = 3
    """L, hidden layers."""
    seeds: tuple[int, ...] = (0,)
    """Seeds of init and batch order."""
    lr_multipliers: tuple[float, ...] = (1.0,)
    """Each run's lr is the method's registry lr times each multiplier (the lr-sweep grid)."""
    evals: int = 50
    """PSNR evaluations per run (curves and best PSNR)."""
    rank: bool = False
    """Also record the exact and numerical rank of [H_1, 1] at init and after training."""
    report_image: str | None = None
    """Image whose reconstructions and error maps go into the HTML report (default: first)."""
    subsets: dict = field(default_factory=dict)
    """Extra tables over image subsets: label -> tuple of images."""
    task: str = "image"
    """``image``, or a task of :data:`inrank.bench.tasks.TASK_SUITES` (generalize, audio,
    occupancy, sdf, and the inverse problems ct, superres, denoise, inpaint)."""
    core_group: str | None = None
    """Methods of this registry group run every seed of ``seeds``; the others the first only."""
    param_tolerance: float | None = None
    """If set, a method whose parameter count exceeds the plain ReLU MLP's (at the suite's
    width) by more than this fraction runs at the largest width that keeps it within."""
    offgrid: bool = False
    """Also evaluate every image fit at twice its size (the pixels between the training grid's,
    against the image resized to 2x): the ``offgrid_psnr`` column."""
    calibration: tuple[str, ...] = ()
    """Images on which ``inrank tune`` chooses every lr and knob; never in ``images``."""
    tune_steps: int | None = None
    """Steps of a tuning run (default: ``steps``)."""
    optimizers: tuple[str, ...] = ("adam",)
    """Optimisers every method runs with (:data:`inrank.train.optimizers.OPTIMIZERS`), each at
    its own tuned lr; with more than one, a method's label names it (``relu (muon)``)."""
    lr_width_rule: bool = False
    """Scale the registry's lrs from the tuned width to the suite's width by the measured
    width rule (:func:`inrank.nn.registry.width_lr_scale`); False keeps them as tuned."""
    batch_size: int | None = None
    """Points per step (None: full batch), for images too large for full-batch steps here."""
    auto: bool = False
    """Every fit chooses its knob and lrs for its image (``inrank.fit(auto=True)``)."""


_SUITES: dict[str, Suite] = {s.name: s for s in [
    Suite("table1", "the paper-style comparison in the compression regime (sized for 2 CPU "
          "cores): Kodak kodim01-08 at 96 px short side (96 x 144 x 3 = 41,472 values), 3 x 72 "
          "(about 11k parameters: 3.8 values per parameter; encodings that add more run "
          "narrower), 1000 full-batch steps with Adam and with Muon; fit, best, SSIM and "
          "off-grid PSNR (at 2x); 3 seeds for the core methods, 1 for the rest; every lr and "
          "knob tuned per optimiser on the calibration images (coffee, chelsea) by "
          "`inrank tune table1` (and `--optimizer muon`)",
          images=KODAK[:8], size=96, steps=1000, widths=(72,), seeds=(0, 1, 2), evals=20,
          group="paper", core_group="core", param_tolerance=0.15, offgrid=True,
          calibration=("coffee", "chelsea"), tune_steps=500, report_image="kodim05",
          optimizers=("adam", "muon")),
    Suite("quick", "table1's protocol, small (a smoke test): kodim01 and kodim05 at 48 px short "
          "side, 3 x 64 (about 9k parameters for 10k values), 300 steps, one seed",
          images=("kodim01", "kodim05"), size=48, steps=300, widths=(64,), evals=10,
          group="paper", param_tolerance=0.15, offgrid=True, calibration=("coffee", "chelsea"),
          report_image="kodim05"),
    Suite("kodak", "the field's protocol: 24 Kodak images at 768 x 512, 3 x 256, 5000 steps, "
          "registry lrs scaled to width 256 by the width rule, 3 seeds; kodim01-08 also "
          "reported alone (a GPU job)",
          images=KODAK, steps=5000, seeds=(0, 1, 2), evals=100, report_image="kodim01",
          subsets={"kodim01-08": KODAK[:8]}, lr_width_rule=True),
    Suite("kodak256", "table1 at the users' scale: Kodak kodim01-08 at 256 px short side "
          "(256 x 384 x 3 = 294,912 values), 3 x 196 (about 78k parameters: table1's 3.8 "
          "values per parameter; encodings that add more run narrower), 1000 steps of 8,192 "
          "points, Adam and Muon at the registry's tuned values scaled to width 196 by the width "
          "rule, seed 0; fit, best, SSIM and off-grid PSNR (at 2x)",
          images=KODAK[:8], size=256, steps=1000, widths=(196,), seeds=(0,), evals=20,
          methods=("relu", "relu+rei", "relu+rei-kink", "pe", "siren"), param_tolerance=0.15,
          offgrid=True, report_image="kodim05", optimizers=("adam", "muon"),
          lr_width_rule=True, batch_size=8192),
    Suite("width", "PSNR and first-layer rank against width 64-512 for the demo's methods; "
          "each at its registry lr at every width (the lr is held fixed across the sweep)",
          images=("kodim05",), size=32, steps=500, group="demo", widths=(64, 128, 256, 512),
          rank=True),
    Suite("bn-placement", "BatchNorm after layer 1 only (bn), after layers 2..L only (bn-later), "
          "after all (bn-all), against relu and relu+rei",
          images=("kodim01", "kodim05", "kodim23"), size=32, steps=1000, group="bn"),
    Suite("lr-sweep", "each method at 1/3, 1 and 3 x its registry lr on a scikit-image sample "
          "that is in no reported table, quick's protocol otherwise; the best final PSNR "
          "gives the tuned lr", images=("coffee",), size=32, steps=500,
          lr_multipliers=(1 / 3, 1.0, 3.0)),
    *[Suite(name, TASK_SUITES[name]["summary"], images=TASK_SUITES[name]["signals"],
            steps=TASK_SUITES[name]["steps"], size=TASK_SUITES[name].get("size"),
            widths=(TASK_SUITES[name]["width"],), depth=TASK_SUITES[name]["depth"],
            group="tasks", task=name)
      for name in ("generalize", "audio", "occupancy", "sdf", "ct", "superres", "denoise",
                   "inpaint")],
]}


def suites() -> list[str]:
    """Names of the registered suites.

    Examples:
        >>> suites()
        ['table1', 'quick', 'kodak', 'kodak256', 'width', 'bn-placement', 'lr-sweep', 'generalize', 'audio', 'occupancy', 'sdf', 'ct', 'superres', 'denoise', 'inpaint']
    """
    return list(_SUITES)


def suite(name: str) -> Suite:
    """Return the suite called ``name`` (frozen, so sharing it is safe)."""
    return _SUITES[validation.one_of("suite", name, tuple(_SUITES))]


def methods_of(s: Suite) -> tuple[str, ...]:
    """The suite's methods: its own list, else its registry group (every method if none)."""
    names = s.methods or tuple(presets(s.group))
    for m in names:
        preset(m)  # an unknown name raises, listing the methods
    return names


def _params(method: str, width: int, depth: int, overrides: tuple) -> int:
    """Trainable parameters of ``method`` (RGB, 2-D), cached on the preset's current config:
    tuned values (e.g. PE's octaves) change the count, so the method's name alone is no key."""
    config = json.dumps(preset(method).config.to_dict(), sort_keys=True, default=str)
    return _count(method, config, width, depth, overrides)


@functools.lru_cache(maxsize=256)
def _count(method: str, config: str, width: int, depth: int, overrides: tuple) -> int:
    model = build(method, 2, 3, width=width, depth=depth, **overrides_dict(overrides))
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def matched_width(method: str, width: int, depth: int, tolerance: float,
                  overrides: tuple = ()) -> int:
    """The largest width ``<= width`` at which ``method`` (RGB images, ``depth`` hidden layers)
    has at most ``1 + tolerance`` times the parameters of the plain ReLU MLP at ``width``.

    Examples:
        >>> matched_width("relu", 128, 3, 0.15), matched_width("rff", 128, 3, 0.15)
        (128, 60)
    """
    budget = (1 + tolerance) * _params("relu", width, depth, ())
    w = width
    while w > 1 and _params(method, w, depth, overrides) > budget:
        w -= 1
    if _params(method, w, depth, overrides) > budget:  # e.g. a grid's table alone is larger
        raise InputError(f"{method} has more than {budget:.0f} parameters at any width (the "
                         f"budget of relu at {depth} x {width}); size its encoding down "
                         "(inrank.nn.grid_budget.grid_options_for sizes a grid's table)")
    return w


def expand(s: Suite, *, overrides: dict[str, dict] | None = None,
           lrs: dict[str, float] | None = None, images: Sequence[str] | None = None,
           steps: int | None = None, seeds: Sequence[int] | None = None,
           muon_lrs: dict[str, float] | None = None) -> list[Run]:
    """Every run of suite ``s``, in a stable order (optimiser, method, image, width, seed, lr).

    Args:
        s: the suite.
        overrides: per method, config overrides (a tuning run's knob values).
        lrs: per method, the base (Adam) lr instead of the registry's.
        images, steps, seeds: replace the suite's (a tuning run: calibration images).
        muon_lrs: per method, the base Muon lr instead of the registry's
            (:meth:`inrank.Preset.lr_for`). With Muon the lr multipliers scale the Muon lr;
            Adam's stays at the method's.
    """
    report = s.report_image if s.report_image in s.images else s.images[0]
    images = tuple(images or s.images)
    runs = []
    for optimizer, method in [(o, m) for o in s.optimizers for m in methods_of(s)]:
        optimizer_name(optimizer)  # a known name, else a clear error
        label = method if len(s.optimizers) == 1 else f"{method} ({optimizer})"
        lr0 = (lrs or {}).get(method, preset(method).lr)
        muon0 = (muon_lrs or {}).get(method, preset(method).lr_for("muon")["muon_lr"])
        over = overrides_tuple((overrides or {}).get(method, {}))
        method_seeds = tuple(seeds or s.seeds)
        if s.core_group is not None and method not in presets(s.core_group):
            method_seeds = method_seeds[:1]
        for image in images:
            for width in s.widths:
                rule = (width_lr_scale(optimizer, width) if s.lr_width_rule and not lrs
                        else {"lr": 1.0, "muon_lr": 1.0})
                w = width if s.param_tolerance is None else matched_width(
                    method, width, s.depth, s.param_tolerance, over)
                for seed in method_seeds:
                    for mult in s.lr_multipliers:
                        muon = optimizer == "muon"
                        runs.append(Run(
                            method=label, preset=method, overrides=over,
                            signal=image, size=s.size, seed=seed, width=w, depth=s.depth,
                            steps=steps or s.steps,
                            lr=float(f"{lr0 * rule['lr'] * (1.0 if muon else mult):.6g}"),
                            optimizer=optimizer,
                            muon_lr=(float(f"{muon0 * rule['muon_lr'] * mult:.6g}") if muon
                                     else None),
                            evals=s.evals, rank=s.rank, task=s.task, offgrid=s.offgrid,
                            batch_size=s.batch_size, auto=s.auto,
                            keep_recon=s.task not in ("audio", "occupancy") and image == report
                            and seed == method_seeds[0]))
    return runs
