"""A fit in progress beyond its models and optimiser: :class:`TrainingState` (the evaluation
histories, the best PSNR and the weights that scored it, the rank-dynamics tracks, the clocks
and the last step done), and its checkpoint: :func:`save_training` and :func:`resume_training`
write and read it with the models, optimiser, schedule and batch order, so that a resumed fit
ends bit for bit where an uninterrupted one would."""
from __future__ import annotations

import math
import os

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint

__all__ = ["TrainingState", "save_training", "resume_training"]


class TrainingState:
    """The loop's record of ``models`` fits trained together.

    Attributes:
        histories: per model, one dict per evaluation (:attr:`inrank.FitResult.history`).
        best: per model, the best PSNR evaluated so far (dB; ``-inf`` before any).
        best_states: per model, its weights at :attr:`best` (None before any evaluation).
        tracks: per model, the rank-dynamics records.
        train_seconds: training wall time so far (evaluations and tracking excluded).
        track_seconds: tracking wall time so far.
        step: the last step done (0 before the first).
    """

    def __init__(self, models: int) -> None:
        self.histories: list[list[dict]] = [[] for _ in range(models)]
        self.best: list[float] = [-math.inf] * models
        self.best_states: list = [None] * models
        self.tracks: list[list[dict]] = [[] for _ in range(models)]
        self.train_seconds = 0.0
        self.track_seconds = 0.0
        self.step = 0

    def record(self, i: int, entry: dict, snapshot) -> None:
        """Append model ``i``'s evaluation ``entry``; keep ``snapshot()`` if it is the best."""
        self.histories[i].append(entry)
        if entry["psnr"] > self.best[i]:
            self.best[i], self.best_states[i] = entry["psnr"], snapshot()

    def state_dict(self) -> dict:
        return {"histories": self.histories, "best_psnr": self.best,
                "best_states": self.best_states, "tracks": self.tracks,
                "train_seconds": self.train_seconds, "track_seconds": self.track_seconds,
                "step": self.step}

    def load_state_dict(self, state: dict) -> None:
        self.histories, self.best = state["histories"], state["best_psnr"]
        self.best_states, self.tracks = state["best_states"], state.get("tracks", self.tracks)
        self.train_seconds = float(state["train_seconds"])
        self.track_seconds = float(state.get("track_seconds", 0.0))
        self.step = int(state["step"])


def save_training(path: str | os.PathLike, expect: dict, trainee, opt, sched, order,
                  state: TrainingState) -> None:
    """Checkpoint a fit: ``expect`` (its protocol and identity) and everything to resume it."""
    save_checkpoint(path, {**expect, **state.state_dict(), "models": trainee.state_dict(),
                           "optimizer": opt.state_dict(),
                           "scheduler": sched.state_dict() if sched is not None else {},
                           "order": order.state_dict()})


def resume_training(path: str | os.PathLike, expect: dict, trainee, opt, sched, order,
                    state: TrainingState) -> int | None:
    """Load the checkpoint at ``path`` into the fit's pieces, if there is one.

    Returns:
        The step it was saved at, or None when ``path`` does not exist.

    Raises:
        CheckpointError: unreadable, another run's (``expect`` differs), or damaged.
    """
    if not os.path.exists(path):
        return None
    ck = load_checkpoint(path, expect=expect)
    try:
        trainee.load_state_dict(ck["models"])
        opt.load_state_dict(ck["optimizer"])
        if sched is not None:
            sched.load_state_dict(ck["scheduler"])
        order.load_state_dict(ck["order"])
        state.load_state_dict(ck)
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"checkpoint {str(path)!r} is damaged "
                              f"({exc.__class__.__name__}: {str(exc).splitlines()[0][:120]}); "
                              "delete it to start over") from None
    return state.step
