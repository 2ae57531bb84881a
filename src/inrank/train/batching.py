"""The order in which training points are visited: full batch, or seeded mini-batches that
walk through a fresh permutation each epoch."""
from __future__ import annotations

import torch

__all__ = ["BatchOrder"]


class BatchOrder:
    """Mini-batch indices drawn from a seeded generator; the same seed and ``n`` give the same
    sequence, so separate fits and a batched fit of many models see the same batches.

    Args:
        n: training points.
        batch_size: points per step; None = every point every step.
        seed: seeds the permutations.

    Examples:
        >>> order = BatchOrder(5, 2, seed=0)
        >>> [order.next().tolist() for _ in range(3)][2] != []
        True
        >>> BatchOrder(5, None, seed=0).next() is None
        True
    """

    def __init__(self, n: int, batch_size: int | None, *, seed: int) -> None:
        self.n, self.batch_size = n, batch_size
        self.generator = torch.Generator().manual_seed(int(seed))
        self.perm, self.pos = torch.empty(0, dtype=torch.long), n

    def next(self) -> torch.Tensor | None:
        """Indices ``(batch_size,)`` of the next mini-batch, or None for the full batch."""
        if self.batch_size is None:
            return None
        if self.pos + self.batch_size > self.n:
            self.perm, self.pos = torch.randperm(self.n, generator=self.generator), 0
        idx = self.perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx

    def state_dict(self) -> dict:
        """The generator, permutation and position (for a checkpoint)."""
        return {"generator": self.generator.get_state(), "perm": self.perm.clone(), "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        """Resume where :meth:`state_dict` was taken."""
        self.generator.set_state(state["generator"])
        self.perm, self.pos = state["perm"].cpu(), int(state["pos"])
