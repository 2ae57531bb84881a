"""Training: one loop (:func:`run_training`) in named pieces, shared by :func:`fit` (one model)
and :func:`fit_many` / :func:`fit_models` (many models of one architecture, stacked);
checkpoints that resume bit for bit; device and memory budget."""
from __future__ import annotations

from .batched import fit_many, fit_models
from .batching import BatchOrder
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .device import resolve_device
from .evaluate import occupancy_iou, occupancy_logits, predict
from .fit import fit
from .loop import run_training
from .options import LOSSES, SCHEDULES, FitOptions
from .result import FitResult
from .settings import FitSettings, resolve_settings
from .trainees import OneModel, StackedModels

__all__ = ["FitResult", "FitOptions", "FitSettings", "resolve_settings", "fit", "predict", "resolve_device", "SCHEDULES", "LOSSES",
           "fit_many", "fit_models", "run_training", "BatchOrder", "OneModel", "StackedModels",
           "save_checkpoint", "load_checkpoint", "CheckpointError", "occupancy_iou",
           "occupancy_logits"]
