"""Rank measures of feature matrices and kernels, computed in float64 from singular values."""
from __future__ import annotations

import torch

__all__ = ["singular_values", "exact_rank", "numerical_rank", "effective_rank", "stable_rank",
           "participation_ratio"]


def singular_values(matrix: torch.Tensor) -> torch.Tensor:
    """Singular values of a ``(N, D)`` matrix, descending, float64."""
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D matrix (N, D), got shape {tuple(matrix.shape)}")
    return torch.linalg.svdvals(matrix.detach().to(torch.float64).cpu())


def exact_rank(matrix: torch.Tensor) -> int:
    """Rank at machine precision: singular values above ``max(N, D) * eps * s_max``
    (the LAPACK / ``numpy.linalg.matrix_rank`` convention), float64."""
    s = singular_values(matrix)
    if s.numel() == 0 or s[0] == 0:
        return 0
    tol = max(matrix.shape) * torch.finfo(torch.float64).eps * s[0]
    return int((s > tol).sum())


def numerical_rank(matrix: torch.Tensor, *, rtol: float = 1e-3) -> int:
    """Number of singular values above ``rtol * s_max``.

    Examples:
        >>> numerical_rank(torch.diag(torch.tensor([1.0, 1e-2, 1e-5])), rtol=1e-3)
        2
    """
    s = singular_values(matrix)
    if s.numel() == 0 or s[0] == 0:
        return 0
    return int((s > rtol * s[0]).sum())


def effective_rank(matrix: torch.Tensor) -> float:
    """Effective rank (Roy and Vetterli 2007): ``exp(H(p))``, ``p = s / sum(s)``."""
    s = singular_values(matrix)
    total = s.sum()
    if total == 0:
        return 0.0
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def stable_rank(matrix: torch.Tensor) -> float:
    """Stable rank: ``||A||_F^2 / ||A||_2^2 = sum s^2 / s_max^2``."""
    s = singular_values(matrix)
    return 0.0 if s.numel() == 0 or s[0] == 0 else float((s ** 2).sum() / s[0] ** 2)


def participation_ratio(matrix: torch.Tensor) -> float:
    """Participation ratio of the squared singular values: ``(sum s^2)^2 / sum s^4``."""
    s2 = singular_values(matrix) ** 2
    return 0.0 if s2.sum() == 0 else float(s2.sum() ** 2 / (s2 ** 2).sum())
