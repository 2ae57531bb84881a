"""Where a fit runs and how much of it fits: the device, the memory budget and the batch."""
from __future__ import annotations

import warnings

import torch
from torch import nn

from ..errors import InputError
from ..memory import available_bytes

__all__ = ["resolve_device", "default_memory_budget", "bytes_per_point", "full_batch_or_minibatch"]


#: Device types a fit runs on.
DEVICE_TYPES = ("cpu", "cuda", "mps")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA if available, else CPU; ``"cpu"``, ``"cuda"``, ``"cuda:K"`` or
    ``"mps"`` as ``torch.device``. Anything else, or a device this machine lacks, raises
    ``ValueError`` naming the choices.

    Examples:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    if dev is None or dev.type not in DEVICE_TYPES:
        raise InputError(f"unknown device {str(device)!r}; use device='auto', 'cpu', 'cuda' or "
                         "'cuda:K'")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise InputError("device 'mps' requested but MPS is not available; use device='cpu'")
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' requested but CUDA is not available; use device='cpu'")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise InputError(f"device {str(device)!r} requested but this machine has "
                         f"{torch.cuda.device_count()} CUDA device(s); use cuda:0 .. "
                         f"cuda:{torch.cuda.device_count() - 1}")
    return dev


def bytes_per_point(model: nn.Module) -> int:
    """Rough training memory per sample: activations kept for backward, float32, x4 slack, plus
    a learned encoding's lookup (its ``point_bytes``: :mod:`inrank.nn.grids`)."""
    widths = sum(m.out_features + m.in_features for m in model.modules() if isinstance(m, nn.Linear))
    lookup = int(getattr(getattr(model, "encoding", None), "point_bytes", 0) or 0)
    return 4 * 4 * max(widths, 1) + lookup


def default_memory_budget(device: torch.device) -> int:
    """Bytes a full batch may use: 60% of free GPU memory, or half the available host memory
    (:func:`inrank.memory.available_bytes`)."""
    if device.type == "cuda":
        return int(available_bytes(device) * 0.6)
    return int(available_bytes() * 0.5)


def full_batch_or_minibatch(batch_size: int | None, n: int, per_point: int, budget: int) -> int | None:
    """The batch size a fit of ``n`` training points uses: None (full batch) when it fits in
    ``budget`` bytes at ``per_point`` bytes each or a given ``batch_size`` covers every point;
    else ``batch_size``, or the largest batch that fits (with a warning)."""
    need = n * per_point
    if batch_size is None and need > budget:
        batch_size = max(1, budget // per_point)
        warnings.warn(f"a full batch of {n} points needs about {need / 2**30:.1f} GiB, more than "
                      f"the {budget / 2**30:.1f} GiB budget: using mini-batches of {batch_size}",
                      stacklevel=3)
    return None if batch_size is not None and batch_size >= n else batch_size
