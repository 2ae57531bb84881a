"""Shared validators for public inputs: each raises ``ValueError``/``TypeError`` that names
what was received, what was expected and the fix (DESIGN rule 12)."""
from __future__ import annotations

import math
from typing import Any

import torch

from .errors import InputError, InputTypeError

__all__: list[str] = []


def positive_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a positive integer, else raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, (int,)) and not (
        isinstance(value, float) and value.is_integer()
    ):
        raise InputTypeError(f"{name} must be a positive integer, got {value!r} ({type(value).__name__})")
    if int(value) <= 0:
        raise InputError(f"{name} must be a positive integer, got {value!r}; pass a value >= 1")
    return int(value)


def non_negative_int(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer >= 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputTypeError(f"{name} must be an integer >= 0, got {value!r} ({type(value).__name__})")
    if value < 0:
        raise InputError(f"{name} must be >= 0, got {value!r}")
    return value


#: The largest float32: every positive number a model or optimiser takes becomes a float32
#: tensor, so one above it would overflow (torch: "cannot be converted ... without overflow").
_FLOAT32_MAX = float(torch.finfo(torch.float32).max)


def positive_float(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is finite, > 0 and within float32's range, else raise
    ``ValueError``."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise InputTypeError(f"{name} must be a positive number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise InputError(f"{name} must be a finite number > 0, got {value!r}")
    if v > _FLOAT32_MAX:
        raise InputError(f"{name} must be a finite number > 0 within float32's range "
                         f"(at most {_FLOAT32_MAX:.3g}), got {value!r}")
    return v


#: Seeds seed ``torch.Generator.manual_seed``, which takes an unsigned 64-bit integer.
SEED_LIMIT = 2 ** 64


def seed(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is an integer in ``[0, 2^64)`` (what a
    ``torch.Generator`` takes), else raise."""
    if isinstance(value, bool) or not isinstance(value, int) and not (
            isinstance(value, float) and value.is_integer()):
        raise InputTypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if not 0 <= int(value) < SEED_LIMIT:
        raise InputError(f"{name} must be an integer in [0, 2^64), got {value!r}; pass a "
                         "smaller seed")
    return int(value)


def tensor_2d(name: str, value: Any, *, cols: int | None = None, what: str = "(N, d)") -> torch.Tensor:
    """Check ``value`` is a 2-D finite float tensor of layout ``what``; return it."""
    if not isinstance(value, torch.Tensor):
        raise InputTypeError(f"{name} must be a torch.Tensor of shape {what}, got {type(value).__name__}")
    if value.ndim != 2:
        raise InputError(f"{name} must have shape {what}, got shape {tuple(value.shape)}")
    if cols is not None and value.shape[1] != cols:
        raise InputError(
            f"{name} must have {cols} columns {what}, got shape {tuple(value.shape)}; "
            "build the model for this input dimension or pass matching coordinates"
        )
    if not value.is_floating_point():
        raise InputTypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if not torch.isfinite(value).all():
        raise InputError(f"{name} contains NaN or inf values; clean the data before fitting")
    return value


def one_of(name: str, value: Any, choices: list[str] | tuple[str, ...]) -> str:
    """Check ``value`` is one of ``choices``; the error lists them."""
    if value not in choices:
        raise InputError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value
