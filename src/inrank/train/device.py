"""Where a fit runs and how much of it fits: the device, the memory budget and the batch."""
from __future__ import annotations

import os
import warnings

import torch
from torch import nn

from ..errors import InputError

__all__ = ["resolve_device", "default_memory_budget", "bytes_per_point", "full_batch_or_minibatch"]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA if available, else CPU; anything else is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError("device 'cuda' requested but CUDA is not available; use device='cpu'")
    return dev


def bytes_per_point(model: nn.Module) -> int:
    """Rough training memory per sample: activations kept for backward, float32, x4 slack."""
    widths = sum(m.out_features + m.in_features for m in model.modules() if isinstance(m, nn.Linear))
    return 4 * 4 * max(widths, 1)


def default_memory_budget(device: torch.device) -> int:
    """Bytes a full batch may use: 60% of free GPU memory, or half the free host memory."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.6)
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        avail = 8 << 30
    return int(avail * 0.5)


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
