"""Training: the fit loop (one model) and batched fits of many models of one architecture,
sharing the same pieces; checkpoints that resume bit for bit; device and memory budget."""
from __future__ import annotations

from .batched import fit_many, fit_models
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .loop import LOSSES, SCHEDULES, FitResult, fit, predict, resolve_device

__all__ = ["FitResult", "fit", "predict", "resolve_device", "SCHEDULES", "LOSSES", "fit_many",
           "fit_models", "save_checkpoint", "load_checkpoint", "CheckpointError"]
