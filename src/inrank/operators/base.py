"""What a measurement operator is: :class:`Operator`, a fixed linear map ``A`` from a network's
output on its query points to measurements, and :class:`Identity` (plain fitting, and
denoising, whose measurements are noisy values).

Every operator maps predictions ``(..., N, c)`` to measurements ``(..., M, c)`` (leading
dimensions, e.g. B stacked models, pass through), is differentiable in its input and has no
trainable parameters, so the one training loop minimises ``mse(A(model(coords)), y)`` with
either optimiser and any precision.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import InputError, InputTypeError

__all__ = ["Operator", "Identity", "check_measurements"]


class Operator(nn.Module):
    """A measurement operator ``A``: predictions ``(..., N, c)`` -> measurements ``(..., M, c)``.

    Subclasses set :attr:`shape` (the grid the network is queried on) and implement
    :meth:`measure` and :meth:`n_measurements`; buffers move with ``.to(device)``.

    Attributes:
        name: the operator's name in results and messages.
        shape: the query grid ``(H, W)``; ``N = H * W`` points in row-major order.
    """

    name = "operator"

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    @property
    def n_points(self) -> int:
        """N, the query points the operator reads."""
        n = 1
        for s in self.shape:
            n *= s
        return n

    def n_measurements(self) -> int:
        """M, the measurements per channel."""
        raise NotImplementedError

    def measure(self, pred: torch.Tensor) -> torch.Tensor:
        """``(..., N, c) -> (..., M, c)``, without checks (the subclass's map)."""
        raise NotImplementedError

    def forward(self, pred: torch.Tensor) -> torch.Tensor:
        """Apply ``A`` to predictions ``pred (..., N, c)``; returns ``(..., M, c)``."""
        if pred.dim() < 2 or pred.shape[-2] != self.n_points:
            raise InputError(f"operator {self.name!r} reads {self.n_points} points (grid "
                             f"{'x'.join(map(str, self.shape))}), got a prediction of shape "
                             f"{tuple(pred.shape)}")
        return self.measure(pred)

    def unseen(self) -> torch.Tensor | None:
        """``(N,)`` bool: the query points no measurement depends on (None: every point is
        measured); a fit reports its ``test_psnr`` on them."""
        return None

    def describe(self) -> dict:
        """The operator's name and settings (JSON-ready), for results and checkpoints."""
        return {"name": self.name, "shape": list(self.shape)}

    def check(self, shape: tuple[int, ...], n: int) -> None:
        """Raise :class:`InputError` unless the operator reads a signal of grid ``shape``
        (``n`` points)."""
        if tuple(shape) != self.shape or n != self.n_points:
            raise InputError(f"operator {self.name!r} is built for a "
                             f"{'x'.join(map(str, self.shape))} grid ({self.n_points} points), "
                             f"the signal is {'x'.join(map(str, shape))} ({n} points); build "
                             f"the operator with the signal's shape {tuple(shape)}")

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.describe().items() if k != "name")


class Identity(Operator):
    """``A = I``: the measurements are values on the query points (fitting, denoising).

    Examples:
        >>> Identity((2, 3))(torch.ones(6, 1)).shape
        torch.Size([6, 1])
    """

    name = "identity"

    def n_measurements(self) -> int:
        return self.n_points

    def measure(self, pred: torch.Tensor) -> torch.Tensor:
        return pred


def check_measurements(operator: Operator, measurements: torch.Tensor, out_dim: int) -> torch.Tensor:
    """Check ``measurements`` against what ``operator`` produces for ``out_dim`` channels;
    return them as float32 ``(M, c)``.

    Raises:
        InputTypeError: ``operator`` is not an :class:`Operator` or ``measurements`` not a tensor.
        InputError: the shape is not ``(M, c)`` or holds NaN/inf.
    """
    if not isinstance(operator, Operator):
        raise InputTypeError(f"operator must be an inrank.operators.Operator, got "
                             f"{type(operator).__name__}")
    if not isinstance(measurements, torch.Tensor):
        raise InputTypeError(f"measurements must be a tensor of shape "
                             f"({operator.n_measurements()}, {out_dim}), got "
                             f"{type(measurements).__name__}")
    want = (operator.n_measurements(), out_dim)
    if tuple(measurements.shape) != want:
        raise InputError(f"measurements have shape {tuple(measurements.shape)}, operator "
                         f"{operator.name!r} produces {want} for a {out_dim}-channel signal; "
                         f"compute them with the same operator (operator(values))")
    if not bool(torch.isfinite(measurements).all()):
        raise InputError("measurements contain NaN or inf values")
    return measurements.detach().float()
