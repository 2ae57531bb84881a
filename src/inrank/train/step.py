"""One optimisation step of a trainee (:mod:`~inrank.train.trainees`): the piece the loop and
the precision check share."""
from __future__ import annotations

import torch

__all__ = ["train_step"]


def train_step(trainee, idx: torch.Tensor | None, opt: torch.optim.Optimizer,
               sched, *, scaler=None) -> list[float]:
    """One optimisation step of every model in ``trainee`` on the batch ``idx`` (with fp16's
    loss ``scaler``, if any).

    Returns:
        Each model's loss before the step (``B`` floats).
    """
    losses = trainee.losses(idx)                               # (B,)
    opt.zero_grad(set_to_none=True)
    if scaler is None:
        losses.sum().backward()                                # each model's own gradient
        opt.step()
    else:
        scaler.scale(losses.sum()).backward()
        scaler.step(opt)
        scaler.update()
    if sched is not None:
        sched.step()
    return losses.detach().cpu().tolist()                      # syncs the device: honest timing
