"""Rank measures of feature matrices and kernels, computed in float64 from singular values."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass

import torch

from ..errors import InputError

__all__ = ["flush_denormals", "one_thread", "eigh_desc", "RankMeasures", "rank_measures", "singular_values", "exact_rank", "numerical_rank", "effective_rank", "stable_rank",
           "participation_ratio", "kernel_eigenvalues", "gram_eigenvalues", "spectral_exact_rank",
           "spectral_numerical_rank", "spectral_effective_rank", "spectral_stable_rank",
           "spectral_participation_ratio"]


@contextlib.contextmanager
def flush_denormals():
    """Flush subnormal floats to zero for the duration: a kernel's many (near-)zero eigenvalues
    otherwise drive LAPACK through subnormal arithmetic, up to 100x slower on x86."""
    torch.set_flush_denormal(True)  # torch's default is off; it has no getter to restore from
    try:
        yield
    finally:
        torch.set_flush_denormal(False)


@contextlib.contextmanager
def one_thread(on: bool = True):
    """Run the block on one torch thread (restored afterwards): small factorisations and
    products cost more in thread synchronisation than they save, 10-100x on a busy machine."""
    threads = torch.get_num_threads()
    if on:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def eigh_desc(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eigenvalues (descending) and eigenvectors of a small symmetric matrix, on one thread
    (on the CPU; a CUDA matrix's own device otherwise)."""
    with one_thread(matrix.device.type == "cpu"):
        w, V = torch.linalg.eigh(matrix)
    return w.flip(0), V.flip(1)


def singular_values(matrix: torch.Tensor) -> torch.Tensor:
    """Singular values of a ``(N, D)`` matrix, descending, float64."""
    if matrix.ndim != 2:
        raise InputError(f"expected a 2-D matrix (N, D), got shape {tuple(matrix.shape)}")
    with flush_denormals():
        return torch.linalg.svdvals(matrix.detach().to(torch.float64).cpu())


def exact_rank(matrix: torch.Tensor) -> int:
    """Rank at machine precision: singular values above ``max(N, D) * eps * s_max``
    (the LAPACK / ``numpy.linalg.matrix_rank`` convention), float64."""
    return spectral_exact_rank(singular_values(matrix), size=max(matrix.shape))


def numerical_rank(matrix: torch.Tensor, *, rtol: float = 1e-3) -> int:
    """Number of singular values above ``rtol * s_max``.

    Examples:
        >>> numerical_rank(torch.diag(torch.tensor([1.0, 1e-2, 1e-5])), rtol=1e-3)
        2
    """
    return spectral_numerical_rank(singular_values(matrix), rtol=rtol)


def effective_rank(matrix: torch.Tensor) -> float:
    """Effective rank (Roy and Vetterli 2007): ``exp(H(p))``, ``p = s / sum(s)``."""
    return spectral_effective_rank(singular_values(matrix))


def stable_rank(matrix: torch.Tensor) -> float:
    """Stable rank: ``||A||_F^2 / ||A||_2^2 = sum s^2 / s_max^2``."""
    return spectral_stable_rank(singular_values(matrix))


def participation_ratio(matrix: torch.Tensor) -> float:
    """Participation ratio of the squared singular values: ``(sum s^2)^2 / sum s^4``."""
    return spectral_participation_ratio(singular_values(matrix) ** 2)


# --- Spectra and measures on them ------------------------------------------------------------
# A "spectrum" below is a 1-D tensor of non-negative values in descending order: the singular
# values of a feature matrix, or the eigenvalues of a PSD kernel (which are its singular values).
# Tiny negative eigenvalues from round-off are treated as zero.


def kernel_eigenvalues(kernel: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of a symmetric PSD kernel ``(N, N)``, descending, float64, clamped at 0.

    Examples:
        >>> kernel_eigenvalues(torch.diag(torch.tensor([1.0, 3.0]))).tolist()
        [3.0, 1.0]
    """
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise InputError(f"expected a square kernel (N, N), got shape {tuple(kernel.shape)}")
    k = kernel.detach().to(torch.float64)
    with flush_denormals():
        ev = torch.linalg.eigvalsh((k + k.T) / 2).flip(0)
    return ev.clamp_min(0).cpu()


def gram_eigenvalues(features: torch.Tensor) -> torch.Tensor:
    """Non-zero part of the spectrum of the Gram ``F F^T`` of ``features`` ``(N, P)``.

    Uses the dual ``P x P`` Gram ``F^T F`` when ``P < N`` (same non-zero eigenvalues), so it is
    exact at any N for few features. Returns ``min(N, P)`` values, descending, float64.

    Examples:
        >>> f = torch.tensor([[1.0, 0.0], [0.0, 2.0], [0.0, 0.0]])
        >>> gram_eigenvalues(f).tolist()
        [4.0, 1.0]
    """
    if features.ndim != 2:
        raise InputError(f"expected a 2-D matrix (N, P), got shape {tuple(features.shape)}")
    f = features.detach().to(torch.float64)
    return kernel_eigenvalues(f.T @ f if f.shape[1] < f.shape[0] else f @ f.T)


def _spectrum(values: torch.Tensor) -> torch.Tensor:
    if values.ndim != 1:
        raise InputError(f"expected a 1-D spectrum, got shape {tuple(values.shape)}")
    return values.detach().to(torch.float64).clamp_min(0).sort(descending=True).values.cpu()


def spectral_exact_rank(values: torch.Tensor, *, size: int) -> int:
    """Count of ``values`` above ``size * eps * max`` (machine precision of a ``size x size``
    problem, the :func:`exact_rank` convention)."""
    s = _spectrum(values)
    if s.numel() == 0 or s[0] == 0:
        return 0
    return int((s > size * torch.finfo(torch.float64).eps * s[0]).sum())


def spectral_numerical_rank(values: torch.Tensor, *, rtol: float) -> int:
    """Count of ``values`` above ``rtol * max``.

    Examples:
        >>> spectral_numerical_rank(torch.tensor([1.0, 1e-2, 1e-5]), rtol=1e-3)
        2
    """
    s = _spectrum(values)
    return 0 if s.numel() == 0 or s[0] == 0 else int((s > rtol * s[0]).sum())


def spectral_effective_rank(values: torch.Tensor) -> float:
    """Roy and Vetterli's effective rank ``exp(H(p))``, ``p = values / sum(values)``."""
    s = _spectrum(values)
    if s.sum() == 0:
        return 0.0
    p = s / s.sum()
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))


def spectral_stable_rank(values: torch.Tensor) -> float:
    """``sum v^2 / max v^2`` (the stable rank when ``values`` are singular values)."""
    s = _spectrum(values)
    return 0.0 if s.numel() == 0 or s[0] == 0 else float((s ** 2).sum() / s[0] ** 2)


def spectral_participation_ratio(values: torch.Tensor) -> float:
    """``(sum v)^2 / sum v^2`` (for a kernel's eigenvalues: its participation ratio)."""
    s = _spectrum(values)
    return 0.0 if s.sum() == 0 else float(s.sum() ** 2 / (s ** 2).sum())


@dataclass(frozen=True)
class RankMeasures:
    """The rank measures of one feature matrix or kernel.

    Attributes:
        exact: rank at float64 machine precision (:func:`spectral_exact_rank`); None when the
            spectrum was estimated (a matrix-free diagnosis cannot resolve it).
        numerical: ``(rtol, rank)`` pairs, the count of values above ``rtol`` times the largest.
        effective: Roy and Vetterli's effective rank.
        estimated: True when the numbers come from a stochastic estimate (matrix-free).
        effective_error: for an estimate, the relative standard error of ``effective``.
    """

    exact: int | None
    numerical: tuple[tuple[float, float], ...]
    effective: float
    estimated: bool = False
    effective_error: float | None = None

    def at(self, rtol: float) -> float:
        """The numerical rank at ``rtol`` (one of those measured).

        Examples:
            >>> rank_measures(torch.tensor([1.0, 1e-2, 1e-5]), size=3, rtols=(1e-3,)).at(1e-3)
            2
        """
        for r, n in self.numerical:
            if r == rtol:
                return n
        raise InputError(f"no numerical rank at rtol {rtol:g}; measured at "
                         f"{', '.join(f'{r:g}' for r, _ in self.numerical)}")

    def text(self, rtol: float | None = None) -> str:
        """The exact rank (``rtol`` None) or the numerical one, for tables: ``~`` marks an
        estimate, ``-`` a rank that was not measured."""
        if rtol is None:
            return "-" if self.exact is None else str(self.exact)
        value = self.at(rtol)
        return f"~{value:.0f}" if self.estimated else str(value)


def rank_measures(values: torch.Tensor, *, size: int, rtols: tuple[float, ...]) -> RankMeasures:
    """:class:`RankMeasures` of a spectrum (singular values, or a PSD kernel's eigenvalues) of a
    problem of size ``size`` (the larger dimension, for the exact rank's tolerance)."""
    return RankMeasures(spectral_exact_rank(values, size=size),
                        tuple((float(r), spectral_numerical_rank(values, rtol=r)) for r in rtols),
                        spectral_effective_rank(values))
