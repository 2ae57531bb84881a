"""Benchmark suites as data: :class:`Suite` (one protocol: methods x images x seeds x widths
under one budget), the registry of suites (:func:`suites`, :func:`suite`) and :func:`expand`,
which turns a suite into its :class:`~inrank.bench.run.Run` s. Methods come from the preset
registry (a suite names a group, or lists methods), learning rates too."""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import validation
from ..nn.registry import preset, presets
from .run import Run
from .tasks import TASK_SUITES

__all__ = ["Suite", "suites", "suite", "methods_of", "expand", "KODAK"]

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
    """Full-batch Adam steps per run."""
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
    """``image``, or a task of :data:`inrank.bench.tasks.TASK_SUITES` (generalize, audio, occupancy)."""


_SUITES: dict[str, Suite] = {s.name: s for s in [
    Suite("quick", "every preset on 3 Kodak images downsized to 32 px short side, 3 x 256, "
          "500 steps, each method's registry lr, one seed (sized for 2 CPU cores)",
          images=("kodim01", "kodim05", "kodim23"), size=32, steps=500, report_image="kodim05"),
    Suite("kodak", "the field's protocol: 24 Kodak images at 768 x 512, 3 x 256, 5000 steps, "
          "registry lr, 3 seeds; kodim01-08 also reported alone (a GPU job)",
          images=KODAK, steps=5000, seeds=(0, 1, 2), evals=100, report_image="kodim01",
          subsets={"kodim01-08": KODAK[:8]}),
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
    return _SUITES[validation.one_of("suite", name, tuple(_SUITES))]


def methods_of(s: Suite) -> tuple[str, ...]:
    """The suite's methods: its own list, else its registry group (every method if none)."""
    names = s.methods or tuple(presets(s.group))
    for m in names:
        preset(m)  # an unknown name raises, listing the methods
    return names


def expand(s: Suite) -> list[Run]:
    """Every run of suite ``s``, in a stable order (method, image, width, seed, lr)."""
    report = s.report_image if s.report_image in s.images else s.images[0]
    runs = []
    for method in methods_of(s):
        lr0 = preset(method).lr
        for image in s.images:
            for width in s.widths:
                for seed in s.seeds:
                    for mult in s.lr_multipliers:
                        runs.append(Run(
                            method=method, preset=method, overrides=(),
                            signal=image, size=s.size, seed=seed, width=width, depth=s.depth,
                            steps=s.steps, lr=float(f"{lr0 * mult:.6g}"), evals=s.evals,
                            rank=s.rank, task=s.task,
                            keep_recon=s.task in ("image", "generalize") and image == report
                            and seed == s.seeds[0]))
    return runs
