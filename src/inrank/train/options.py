"""What a user asks of a fit: :class:`FitOptions`, checked when it is made; the learning-rate
schedules and the training-point mask.

The options leave to the library what they leave ``None`` (the learning rates and the
optimiser: the preset's tuned values for the model); :func:`inrank.train.settings.resolve_settings`
fills them, once, into the :class:`~inrank.train.settings.FitSettings` that the fit runs.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from .. import validation
from ..errors import InputError, InputTypeError
from .callbacks import check_callbacks
from .optimizers import optimizer_name
from .precision import PRECISIONS

__all__ = ["FitOptions", "SCHEDULES", "LOSSES", "make_scheduler", "train_indices",
           "option_names"]

#: ``"none"``, ``"cosine"`` (to 0 over the run) or ``"exponential"`` (10x decay over the run).
SCHEDULES = ("none", "cosine", "exponential")
#: ``"mse"``: mean squared error on values; ``"bce"``: binary cross-entropy on logits, targets in
#: {0, 1}; ``"sdf"``: SIREN's signed-distance loss on an SDF signal (:mod:`inrank.train.sdf`).
LOSSES = ("mse", "bce", "sdf")


@dataclass(frozen=True)
class FitOptions:
    """How to train; :func:`inrank.fit`, :func:`inrank.fit_many` and :func:`inrank.fit_models`
    take these options (as keywords or one object). Every field is checked when the object is
    made; ``None`` leaves a value to the library."""

    steps: int
    """Optimisation steps."""
    lr: float | None = None
    """Adam learning rate (the first step's, when a schedule decays it); with
    ``optimizer="muon"`` Adam's on the first and last layers, the biases and the encodings.
    None: the model's preset's tuned lr at its width (:meth:`inrank.Preset.lr_for`)."""
    optimizer: str | Callable[..., Any] | None = None
    """One of :data:`inrank.train.optimizers.OPTIMIZERS` (``"muon"``: Muon on the hidden dense
    weights, Adam on the rest) or a factory ``f(params, lr=lr) -> torch.optim.Optimizer``.
    None: the optimiser the model was built for (``model.built_for``), else ``"adam"``."""
    muon_lr: float | None = None
    """Muon's learning rate (``optimizer="muon"`` only; on Adam's scale). None: the model's
    preset's tuned Muon lr at its width."""
    schedule: str = "none"
    """One of :data:`SCHEDULES`."""
    batch_size: int | None = None
    """Training points per step; None = full batch (mini-batches if it would not fit)."""
    seed: int = 0
    """Seeds the mini-batch order (the init is seeded by :func:`inrank.build`); 0 <= seed < 2^64."""
    device: str = "auto"
    """``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``, ..."""
    eval_every: int | None = None
    """Steps between evaluations (``max(1, steps // 100)``, longer under mini-batches so that
    evaluations stay near 5% of the training time:
    :func:`inrank.train.loop.evaluation_cadence`); the last step always is."""
    progress: bool = True
    """Show a progress bar with the live PSNR (stderr)."""
    memory_budget: int | None = None
    """Bytes allowed for a full batch (default: half the free memory)."""
    loss: str = "mse"
    """One of :data:`LOSSES`."""
    checkpoint: str | os.PathLike | None = None
    """A file to resume from and save to (see :func:`inrank.fit`)."""
    checkpoint_every: int | None = None
    """Steps between checkpoints (``max(1, steps // 20)``)."""
    precision: str = "float32"
    """One of :data:`inrank.train.precision.PRECISIONS`: the forward pass's autocast dtype."""
    check_steps: int | None = None
    """Low precision only: steps of the float32 comparison at the end
    (``min(100, max(10, steps // 10))``; 0 skips it)."""
    track_every: int | None = None
    """Record the rank dynamics every this many steps (and at step 0); None: not at all."""
    track_points: int = 512
    """Points of the fixed subsample the rank dynamics are measured on."""
    compile: bool | None = None
    """Train through ``torch.compile(model)`` (True) or eagerly (False). None: where it was
    measured to pay, a CPU fit of at least 4 TFLOP of training work (about two minutes eager
    on 2 cores; 1.18-1.46x per step after a 7-15 s first call), eagerly otherwise and on GPUs
    (:mod:`inrank.train.compiling`); ``result.settings.compile`` says what ran."""
    callbacks: Sequence[Any] | None = None
    """Objects or functions that see every evaluation (:mod:`inrank.train.callbacks`)."""
    accept_worse: bool = False
    """Return a fit that ends below the signal's mean predictor or below its first evaluation
    (``result.status`` says which) as it is, instead of retrying it at a lower lr and then
    raising :class:`inrank.FitFailedError`."""
    auto: bool = False
    """Choose for the signal what is not given: the preset's knob by a predictor at init and
    the learning rate(s) by a short probe (:mod:`inrank.train.auto`; at most 25% more compute
    than the fit; ``result.settings.chosen`` records every candidate's score)."""

    def __post_init__(self) -> None:
        # what the user set: the fields that differ from their defaults (a re-resolution with
        # other options starts from these, so a computed default follows the new ``steps``)
        object.__setattr__(self, "_given", {
            f.name: getattr(self, f.name) for f in dataclasses.fields(FitOptions)
            if f.default is dataclasses.MISSING or getattr(self, f.name) != f.default})
        steps = validation.positive_int("steps", self.steps)
        fill = {
            "steps": steps,
            "lr": None if self.lr is None else validation.positive_float("lr", self.lr),
            "optimizer": self._optimizer(),
            "muon_lr": (None if self.muon_lr is None
                        else validation.positive_float("muon_lr", self.muon_lr)),
            "schedule": validation.one_of("schedule", self.schedule or "none", SCHEDULES),
            "batch_size": (None if self.batch_size is None
                           else validation.positive_int("batch_size", self.batch_size)),
            "seed": validation.seed("seed", self.seed),
            "device": str(self.device),
            "eval_every": (max(1, steps // 100) if self.eval_every is None
                           else validation.positive_int("eval_every", self.eval_every)),
            "progress": bool(self.progress),
            "memory_budget": (None if self.memory_budget is None
                              else validation.positive_int("memory_budget", self.memory_budget)),
            "loss": validation.one_of("loss", self.loss, LOSSES),
            "checkpoint_every": (None if self.checkpoint is None else
                                 max(1, steps // 20) if self.checkpoint_every is None else
                                 validation.positive_int("checkpoint_every",
                                                         self.checkpoint_every)),
            "precision": validation.one_of("precision", self.precision, PRECISIONS),
            "check_steps": (min(100, max(10, steps // 10)) if self.check_steps is None else
                            validation.non_negative_int("check_steps", self.check_steps)),
            "track_every": (None if self.track_every is None else
                            validation.positive_int("track_every", self.track_every)),
            "track_points": validation.positive_int("track_points", self.track_points),
            "compile": None if self.compile is None else bool(self.compile),
            "callbacks": check_callbacks(self.callbacks),
            "accept_worse": bool(self.accept_worse),
            "auto": bool(self.auto),
        }
        for name, value in fill.items():
            object.__setattr__(self, name, value)

    def _optimizer(self):
        if self.optimizer is None:  # resolve_settings: the model's, then muon_lr is checked
            return None
        optimizer_name(self.optimizer)  # a known name or a callable factory, else a clear error
        if self.muon_lr is not None and self.optimizer != "muon":
            raise InputError(f"muon_lr is Muon's learning rate; it needs optimizer='muon' (got "
                             f"optimizer={optimizer_name(self.optimizer)!r})")
        return self.optimizer

    def replace(self, **changes: Any) -> "FitOptions":
        """A copy with ``changes`` (checked like a new object)."""
        return dataclasses.replace(self, **changes)


def option_names() -> tuple[str, ...]:
    """The names :class:`FitOptions` takes (what ``**options`` of a fit may hold)."""
    return tuple(f.name for f in dataclasses.fields(FitOptions))


def make_scheduler(opt: torch.optim.Optimizer, schedule: str, steps: int):
    """The ``torch.optim.lr_scheduler`` of ``schedule`` (None for ``"none"``)."""
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=0.0)
    if schedule == "exponential":  # lr decays 10x over the run
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.1 ** (s / steps))
    return None


def train_indices(train_mask: torch.Tensor | None, n: int) -> torch.Tensor | None:
    """Validate a ``(N,)`` bool mask; return the indices ``(n_train,)`` of its True entries
    (None = every point trains)."""
    if train_mask is None:
        return None
    if not isinstance(train_mask, torch.Tensor) or train_mask.dtype != torch.bool:
        raise InputTypeError(f"train_mask must be a bool tensor of shape ({n},), got "
                             f"{getattr(train_mask, 'dtype', type(train_mask).__name__)}")
    if tuple(train_mask.shape) != (n,):
        raise InputError(f"train_mask must have shape ({n},) (one entry per point), got "
                         f"{tuple(train_mask.shape)}")
    idx = train_mask.nonzero().squeeze(1)
    if idx.numel() == 0:
        raise InputError("train_mask selects no points; set at least one entry to True")
    return idx
