"""Training checkpoints: everything needed to resume a fit bit for bit, saved atomically and
loaded with ``torch.load(..., weights_only=True)`` (tensors, numbers, strings, lists, dicts)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from ..files import atomic_write
from ..errors import InrankError

__all__ = ["save_checkpoint", "load_checkpoint", "CheckpointError"]

_FORMAT = "inrank-checkpoint-2"


class CheckpointError(InrankError, ValueError):
    """A checkpoint file is unreadable or belongs to a different run."""


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Write ``state`` (plain containers of tensors and numbers) atomically to ``path``."""
    payload = {"format": _FORMAT, **state}
    return atomic_write(path, lambda tmp: torch.save(payload, tmp))


def load_checkpoint(path: str | os.PathLike, *, expect: dict[str, Any] | None = None) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint` (``weights_only=True``).

    Args:
        path: the file.
        expect: key -> value pairs the checkpoint must hold (e.g. the run's protocol); a
            mismatch raises, so a checkpoint never resumes a different run.

    Raises:
        CheckpointError: unreadable, not an inrank checkpoint, or another run's.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for corrupt files
        raise CheckpointError(f"cannot read checkpoint {str(path)!r} ({exc.__class__.__name__}); "
                              "delete it to start over") from None
    if not isinstance(state, dict) or state.get("format") != _FORMAT:
        raise CheckpointError(f"{str(path)!r} is not an inrank checkpoint; delete it or write to "
                              "another path")
    for key, value in (expect or {}).items():
        if state.get(key) != value:
            raise CheckpointError(f"checkpoint {str(path)!r} belongs to another run ({key}: "
                                  f"{state.get(key)!r} != {value!r}); delete it or write to another path")
    return state
