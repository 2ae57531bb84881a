"""Spectra of large kernels from matrix-free operators: the top eigenvalues (block Lanczos), and trace functions by stochastic Lanczos quadrature (SLQ) with the top
eigenvectors deflated: the effective rank and an estimate of the numerical rank, each with
its standard error.

An operator here has ``shape (n, n)``, ``matmul(V (n, k)) -> (n, k)`` (float64) and
``trace()`` (e.g. :class:`~inrank.diagnosis.operators.BlockOperator`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .. import validation
from .krylov import block_lanczos, block_slq

__all__ = ["top_eigenpairs", "slq_trace", "SpectrumEstimate", "estimate_spectrum"]


def top_eigenpairs(op, k: int, *, tol: float = 1e-10, seed: int = 0, block: int = 16
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` largest eigenvalues (descending, float64) and eigenvectors ``(n, k)`` of a
    symmetric PSD operator, by block Lanczos (:func:`~inrank.diagnosis.krylov.block_lanczos`)
    to relative accuracy ``tol``, ``block`` vectors per product; a dense eigendecomposition
    when ``n`` is small."""
    w, V, _ = block_lanczos(op, k, tol=tol, block=block, seed=seed,
                            max_products=max(600, 40 * k))
    return w, V


def slq_trace(op, fs, *, steps: int = 40, probes: int = 8, seed: int = 0,
              deflate: torch.Tensor | None = None) -> list[tuple[float, float]]:
    """``tr f(A)`` for each function in ``fs`` by stochastic Lanczos quadrature with the
    probes batched (:func:`~inrank.diagnosis.krylov.block_slq`): Rademacher probes, ``steps``
    Lanczos steps each. With ``deflate`` (orthonormal columns ``(n, k)``) the estimates are of
    ``tr f`` on their orthogonal complement (add their exact part).

    Returns:
        Per function, the estimate and its standard error over the probes.
    """
    return block_slq(op, fs, steps=steps, probes=probes, seed=seed, deflate=deflate)


def _xlogx(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x * np.log(np.where(x > 0, x, 1.0)), 0.0)


@dataclass
class SpectrumEstimate:
    """What :func:`estimate_spectrum` returns.

    Attributes:
        top: the ``k`` largest eigenvalues, descending (Lanczos; relative accuracy ``tol``).
        trace: ``tr(A)``, exact (from the operator's factors).
        effective_rank: Roy and Vetterli's ``exp(H(lambda / tr))``: the top eigenvalues exactly,
            the rest by SLQ on their orthogonal complement.
        effective_rank_error: its standard error (relative), from the SLQ probes.
        numerical: ``(rtol, rank)`` pairs: the count of eigenvalues above ``rtol`` times the
            largest (exact among the top ones, SLQ beyond them).
        numerical_error: their standard errors (absolute), in the same order.
        matvecs: operator products spent.
    """

    top: torch.Tensor
    trace: float
    effective_rank: float
    effective_rank_error: float
    numerical: tuple[tuple[float, float], ...]
    numerical_error: tuple[float, ...]
    matvecs: int


class _Counting:
    def __init__(self, op) -> None:
        self.op, self.shape, self.count = op, op.shape, 0
        self.device = getattr(op, "device", torch.device("cpu"))

    def matmul(self, V: torch.Tensor) -> torch.Tensor:
        self.count += 1 if V.ndim == 1 else V.shape[1]
        return self.op.matmul(V)


def estimate_spectrum(op, *, k: int = 32, rtols: tuple[float, ...] = (1e-3, 1e-6),
                      steps: int = 40, probes: int = 8, tol: float = 1e-10,
                      seed: int = 0, block: int = 16) -> SpectrumEstimate:
    """Top eigenvalues, effective rank and numerical ranks of a PSD operator, matrix-free.

    Args:
        op: the operator (``shape``, ``matmul``, ``trace``).
        k: how many top eigenpairs to compute exactly (and deflate).
        rtols: relative thresholds of the numerical ranks.
        steps, probes: SLQ's Lanczos steps per probe and number of probes.
        tol: relative accuracy of the top eigenvalues (block Lanczos's error estimate).
        seed: seeds the start block and the probes.
        block: vectors per product of the top-eigenpair solver (the probes are one block).

    Examples:
        >>> A = torch.diag(torch.tensor([4.0, 2.0, 1.0, 1e-9], dtype=torch.float64))
        >>> class M:
        ...     shape = (4, 4)
        ...     def matmul(self, v): return A @ v
        ...     def trace(self): return float(A.trace())
        >>> est = estimate_spectrum(M(), k=2, rtols=(1e-3,))
        >>> [round(float(v), 6) for v in est.top], dict(est.numerical)[1e-3]
        ([4.0, 2.0], 3.0)
    """
    counted = _Counting(op)
    n = op.shape[0]
    k = min(validation.positive_int("k", k), n)
    exact_all = k >= n - 1 or n <= 64
    top, vecs = top_eigenpairs(counted, n if exact_all else k, tol=tol, seed=seed, block=block)
    trace = float(op.trace())
    lam_max = float(top[0]) if len(top) else 0.0
    if trace <= 0 or lam_max <= 0:
        return SpectrumEstimate(top[:k], trace, 0.0, 0.0, tuple((r, 0.0) for r in rtols),
                                tuple(0.0 for _ in rtols), counted.count)
    # entropy of p = lambda / tr: H = log(tr / lam_max) - S / tr, S = sum lambda log(lambda /
    # lam_max) (scaled by lam_max so the terms stay small and the SLQ variance low)
    ent = lambda x: lam_max * _xlogx(x / lam_max)  # noqa: E731
    steps_fns = [lambda x, t=r * lam_max: (x > t).astype(float) for r in rtols]
    top_np = top.numpy()
    if exact_all:
        rest = [(0.0, 0.0)] * (1 + len(rtols))
    else:
        rest = slq_trace(counted, [ent, *steps_fns], steps=steps, probes=probes, seed=seed + 1,
                         deflate=vecs)
    s = float(np.sum(ent(top_np))) + rest[0][0]
    eff = math.exp(math.log(trace / lam_max) - s / trace)
    numerical, numerical_err = [], []
    for r, (cnt, err) in zip(rtols, rest[1:]):
        above = float(np.sum(top_np > r * lam_max))
        if exact_all or top_np[-1] <= r * lam_max:  # the threshold falls inside the top ones
            numerical.append((r, above))
            numerical_err.append(0.0)
        else:
            numerical.append((r, above + max(cnt, 0.0)))
            numerical_err.append(err)
    rest_err = rest[0][1]
    return SpectrumEstimate(top[:k], trace, eff, rest_err / trace, tuple(numerical),
                            tuple(numerical_err), counted.count)
