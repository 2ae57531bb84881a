"""Training checkpoints: everything needed to resume a fit bit for bit, saved atomically and
loaded with ``torch.load(..., weights_only=True)`` (tensors, numbers, strings, lists, dicts)."""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch

from ..files import atomic_write
from ..errors import InrankError

__all__ = ["save_checkpoint", "load_checkpoint", "CheckpointError", "tensor_digest",
           "signal_identity", "model_identity"]

_FORMAT = "inrank-checkpoint-3"  # 3: the run's identity (models, signals, optimiser) is stored


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
    if not isinstance(state, dict) or not str(state.get("format", "")).startswith("inrank-checkpoint"):
        raise CheckpointError(f"{str(path)!r} is not an inrank checkpoint; delete it or write to "
                              "another path")
    if state["format"] != _FORMAT:
        raise CheckpointError(f"checkpoint {str(path)!r} was written by another inrank version "
                              f"({state['format']}, this one reads {_FORMAT}); delete it to start over")
    for key, value in (expect or {}).items():
        where = _first_difference(state.get(key), value, key)
        if where is not None:
            raise CheckpointError(f"checkpoint {str(path)!r} belongs to another run ({where}); "
                                  "delete it to start over, or write to another path")
    return state


def _first_difference(stored: Any, wanted: Any, path: str) -> str | None:
    """``"path: stored != wanted"`` at the first leaf where two JSON-like values differ."""
    if isinstance(stored, dict) and isinstance(wanted, dict):
        for k in list(wanted) + [k for k in stored if k not in wanted]:
            diff = _first_difference(stored.get(k), wanted.get(k), f"{path}.{k}")
            if diff is not None:
                return diff
        return None
    if isinstance(stored, (list, tuple)) and isinstance(wanted, (list, tuple)) \
            and len(stored) == len(wanted):
        for i, (a, b) in enumerate(zip(stored, wanted)):
            diff = _first_difference(a, b, f"{path}[{i}]")
            if diff is not None:
                return diff
        return None
    return None if stored == wanted else f"{path}: the checkpoint has {stored!r}, this run {wanted!r}"


def tensor_digest(*tensors: torch.Tensor) -> str:
    """A short content hash (16 hex digits) of tensors' values, dtypes and shapes."""
    h = hashlib.sha1()
    for t in tensors:
        t = t.detach().cpu().contiguous()
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def signal_identity(signal) -> dict:
    """``{"name", "shape", "content"}``: a signal's name, grid shape and the hash of its
    coordinates and values, so a checkpoint never resumes on other data."""
    return {"name": signal.name, "shape": list(signal.shape),
            "content": tensor_digest(signal.coords, signal.values)}


def model_identity(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> dict:
    """``{"method", "config", "init"}``: the preset name (``model.preset``, or the class), a hash
    of its config (``model.config``, else its architecture text) and of its initial weights
    ``state``; equal for the same method, config and seed."""
    cfg = getattr(model, "config", None)
    text = json.dumps(cfg.to_dict(), sort_keys=True) if hasattr(cfg, "to_dict") else repr(model)
    return {"method": getattr(model, "preset", type(model).__name__),
            "config": hashlib.sha1(text.encode()).hexdigest()[:16],
            "init": tensor_digest(*[state[k] for k in sorted(state)])}
