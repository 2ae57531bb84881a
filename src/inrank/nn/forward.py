"""Evaluating a module on many points: :func:`predict`, in chunks, in eval mode (the module's
mode restored), without gradients. The fit loop, the diagnosis and the shape metrics all
evaluate a model through it."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["predict"]


@torch.no_grad()
def predict(model: nn.Module, coords: torch.Tensor, *, chunk: int = 65536) -> torch.Tensor:
    """Evaluate ``model`` on ``coords (N, d)`` in chunks of ``chunk`` points, in eval mode;
    returns ``(N, c)``. The module's train/eval mode is restored afterwards."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(coords[i:i + chunk]) for i in range(0, coords.shape[0], chunk)])
    finally:
        model.train(was_training)
