"""A fit through a measurement operator (inverse problems): the trainees :class:`MeasuredModel`
(one model) and :class:`StackedMeasured` (B stacked models, :func:`inrank.fit_models`) whose
loss is ``mse(A(model(coords)), measurements)`` while the loop scores ``model(coords)`` against
the signal's values (the ground truth), and the checks that refuse, by name, the options an
operator cannot take."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import InputError, InputTypeError
from ..operators.base import Operator, check_measurements
from ..signals.signal import Signal
from .checkpoint import tensor_digest
from .options import FitOptions
from .precision import autocast
from .trainees import OneModel, StackedModels

__all__ = ["MeasuredModel", "StackedMeasured", "check_measured", "measured_trainee"]


class MeasuredModel(OneModel):
    """One model trained through an operator ``A``: the network is queried on every point of
    ``signal`` (full batch), ``A`` maps its ``(N, c)`` output to ``(M, c)``, and the loss is the
    MSE to ``measurements (M, c)``; predictions and targets (the loop's PSNR) are the model's
    output and the signal's values.

    Args:
        model: maps ``(N, d)`` to ``(N, c)``.
        signal: the ground truth on the query points.
        operator: an :class:`inrank.operators.Operator` for the signal's grid.
        measurements: ``(M, c)`` float32.
        device, precision, compile: as :class:`~inrank.train.trainees.OneModel` (the operator
            runs in float32 on the float32 cast of the forward pass).
    """

    def __init__(self, model: nn.Module, signal: Signal, operator, measurements: torch.Tensor,
                 device: torch.device, precision: str = "float32", compile: bool = False) -> None:
        super().__init__(model, signal, None, device, "mse", precision, compile=compile)
        self.operator = operator.to(device)
        self.measurements = measurements.to(device)                          # (M, c)
        #: what the checkpoint identity and the result record of the operator and its data
        self.measurement = {"operator": operator.describe(),
                            "content": tensor_digest(measurements)}

    def losses(self, idx: torch.Tensor | None) -> torch.Tensor:
        """``mse(A(model(coords)), measurements)`` on every point, shape ``(1,)``."""
        with autocast(self.device, self.precision):
            pred = self.forward(self.coords)                                 # (N, c)
        return F.mse_loss(self.operator(pred.float()), self.measurements).reshape(1)


class StackedMeasured(StackedModels):
    """B models of one architecture trained through one operator ``A`` on B signals of its
    grid: each model's loss is the MSE of ``A(model_b(coords))`` to its own measurements, so
    each model follows the trajectory of its separate fit (as :class:`StackedModels`).

    Args:
        models, signals: as :class:`~inrank.train.trainees.StackedModels`.
        operator: an :class:`inrank.operators.Operator` for the signals' grid.
        measurements: ``(B, M, c)`` float32.
        device, precision: as :class:`~inrank.train.trainees.StackedModels`.
    """

    def __init__(self, models, signals, operator, measurements: torch.Tensor,
                 device: torch.device, *, precision: str = "float32") -> None:
        super().__init__(models, signals, [None] * len(models), device, "mse",
                         precision=precision)
        self.operator = operator.to(device)
        self.measurements = measurements.to(device)                          # (B, M, c)
        self.measurement = {"operator": operator.describe(),
                            "content": tensor_digest(measurements)}

    def losses(self, idx: torch.Tensor | None) -> torch.Tensor:
        """Each model's ``mse(A(model_b(coords)), measurements_b)``: ``(B,)``."""
        with autocast(self.device, self.precision):
            pred = self.call(self.params, self.buffers, self.coords)        # (B, N, c)
        return ((self.operator(pred.float()) - self.measurements) ** 2).mean(dim=(1, 2))


def check_measured(signal: Signal, operator, measurements, options: FitOptions, *,
                   train_mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Check one operator fit's inputs.

    Returns:
        The measurements as float32 ``(M, c)`` and the ``(N,)`` held-out mask (the points the
        operator never sees, e.g. an inpainting mask's complement; None if it sees all).

    Raises:
        InputError: measurements without an operator or the reverse, a ``loss``, ``batch_size``
            or ``train_mask`` an operator cannot take, an operator built for another grid,
            measurements of the wrong shape.
    """
    if operator is None or measurements is None:
        missing = "operator" if operator is None else "measurements"
        raise InputError(f"an inverse problem needs both operator= and measurements=; "
                         f"{missing} is missing (inrank.operators.make_task builds both)")
    if options.loss != "mse":
        raise InputError(f"loss={options.loss!r} cannot be used with an operator: the loss is "
                         "the MSE to the measurements; pass loss='mse'")
    if options.batch_size is not None:
        raise InputError("batch_size cannot be used with an operator: it needs the prediction "
                         "on every query point at each step; pass batch_size=None")
    if train_mask is not None:
        raise InputError("train_mask cannot be used with an operator: the operator decides "
                         "what is measured (inrank.operators.PixelMask for observed pixels)")
    if not isinstance(operator, Operator):
        raise InputTypeError(f"operator must be an inrank.operators.Operator, got "
                             f"{type(operator).__name__}")
    operator.check(signal.shape, len(signal))
    return check_measurements(operator, measurements, signal.out_dim), operator.unseen()


def measured_trainee(model: nn.Module, signal: Signal, operator, measurements, options: FitOptions,
                     *, train_mask: torch.Tensor | None,
                     device: torch.device) -> tuple[MeasuredModel, torch.Tensor | None]:
    """Check an operator fit's inputs (:func:`check_measured`) and build its trainee.

    Returns:
        The :class:`MeasuredModel` and the ``(N,)`` held-out mask on ``device`` (None if the
        operator sees every point).
    """
    y, unseen = check_measured(signal, operator, measurements, options, train_mask=train_mask)
    test = None if unseen is None else unseen.to(device)
    return MeasuredModel(model, signal, operator, y, device, options.precision,
                         compile=options.compile), test
