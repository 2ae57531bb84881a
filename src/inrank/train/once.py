"""One fit at resolved settings: the trainee for the signal's kind and loss (one model, an
inverse problem's, a signed distance field's), then the one loop
(:func:`~inrank.train.loop.run_training`). :func:`inrank.fit` calls it (and retries it), and so
does the probe of ``auto`` settings."""
from __future__ import annotations

import os

import torch
from torch import nn

from ..errors import InputError
from ..signals.signal import Signal
from .compiling import with_compile_decided
from .device import bytes_per_point, default_memory_budget, full_batch_or_minibatch
from .loop import run_training
from .measured import measured_trainee
from .options import train_indices
from .result import FitResult
from .sdf import SDFModel
from .settings import FitSettings
from .trainees import OneModel

__all__ = ["fit_once"]


def fit_once(model: nn.Module, signal: Signal, s: FitSettings, *,
             train_mask: torch.Tensor | None = None, operator=None,
             measurements: torch.Tensor | None = None,
             checkpoint: str | os.PathLike | None = None) -> FitResult:
    """One fit of ``model`` at the resolved settings ``s``: the trainee for the signal and
    loss (one model, an inverse problem's, an SDF's), then :func:`run_training`. A
    ``compile=None`` in ``s`` is decided here (:func:`inrank.train.compiling.compiles`, from
    the batch) and the result's settings say what ran."""
    checkpoint = s.checkpoint if checkpoint is None else checkpoint
    dev = torch.device(s.device)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if operator is not None or measurements is not None:  # an inverse problem
        s = with_compile_decided(s, model, len(signal), dev)
        trainee, test = measured_trainee(model, signal, operator, measurements, s,
                                         train_mask=train_mask, device=dev)
        return run_training(trainee, [signal], s, batch_size=None, n_train=len(signal),
                            tests=[test], params=params, checkpoint=checkpoint)[0]
    budget = default_memory_budget(dev) if s.memory_budget is None else s.memory_budget
    if s.loss == "sdf":  # surface + off-surface points per index, gradients through gradients
        if train_mask is not None:
            raise InputError("train_mask cannot be used with loss='sdf': every surface sample "
                             "trains; score the shape with inrank.sdf_metrics")
        if s.compile:  # torch.compile's autograd cannot differentiate a gradient again
            raise InputError("compile=True cannot be used with loss='sdf': the loss "
                             "differentiates through the input gradient, which torch.compile "
                             "does not support (double backward); pass compile=False")
        batch = full_batch_or_minibatch(s.batch_size, len(signal), 6 * bytes_per_point(model),
                                        budget)
        s = with_compile_decided(s, model, batch or len(signal), dev)
        trainee = SDFModel(model, signal, dev, s.precision, compile=s.compile)
        return run_training(trainee, [signal], s, batch_size=batch, n_train=len(signal),
                            tests=[None], params=params, checkpoint=checkpoint)[0]
    train_idx = train_indices(train_mask, len(signal))
    n = len(signal) if train_idx is None else int(train_idx.numel())
    batch = full_batch_or_minibatch(s.batch_size, n, bytes_per_point(model), budget)
    test = None if train_mask is None else ~train_mask.to(dev)  # (N,) held-out points
    s = with_compile_decided(s, model, batch or n, dev)
    trainee = OneModel(model, signal, train_idx, dev, s.loss, s.precision, compile=s.compile)
    return run_training(trainee, [signal], s, batch_size=batch, n_train=n,
                        tests=[test], params=params, checkpoint=checkpoint)[0]
