"""Per-layer NTK spectra at any N: compressed, streamed factors (:mod:`.compress`), then each
block's spectrum exactly from its small dual Gram or by block Lanczos and batched SLQ
(:mod:`.krylov`).

Accuracy, per block (every figure says what it holds):

* ``top``: eigenvalues of the compressed block ``Theta_r``; the exact ones lie in
  ``[top_k, top_k + delta]`` (``bound = delta / top_1``, at most ``tol``), plus the solver's
  error (``eig_tol`` relative; 0 for the dual).
* ``effective_rank``: of ``Theta_r``; its distance to the exact block's is at most
  ``compression_error`` (relative; Fannes-Audenaert's entropy bound from the exact trace
  deficit), plus the SLQ standard error ``effective_rank_error`` (0 for the dual).
* ``numerical``: counts of ``Theta_r``'s eigenvalues above ``rtol * top_1``; an exact
  eigenvalue moves by at most ``delta``, so only those within ``bound * top_1`` below a
  threshold can be miscounted.
"""
from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from . import rank as _rank
from .compress import CompressedBlock, compressed_blocks
from .operators import BlockOperator
from .spectra import SpectrumEstimate, estimate_spectrum

__all__ = ["BlockSpectrum", "ntk_spectra", "solve_block", "dual_eigenvalues", "DEFAULT_TOL", "DUAL_SIZE"]

#: Default operator-error tolerance (relative to the top eigenvalue) of compressed blocks.
DEFAULT_TOL = 1e-6
#: Blocks whose compressed ``r_g * r_h`` is at most this are solved exactly by the dual Gram
#: (``2 N q^2`` flops, cheaper than a Krylov solve's few hundred ``4 N q`` products).
DUAL_SIZE = 640


def dual_eigenvalues(g: torch.Tensor, h: torch.Tensor, chunk: int = 2048) -> torch.Tensor:
    """Eigenvalues of the trace block ``(g g^T) o (h h^T) = J J^T`` (``g (N, r_g)``,
    ``h (N, r_h)``) from the dual ``J^T J`` ``(r_g r_h, r_g r_h)``, row ``i`` of ``J`` being
    ``g_i (x) h_i``, accumulated over row chunks in float64; descending."""
    q = g.shape[1] * h.shape[1]
    gram = torch.zeros(q, q, dtype=torch.float64, device=g.device)
    for s in range(0, g.shape[0], chunk):
        J = (g[s:s + chunk, :, None].double() * h[s:s + chunk, None, :].double()).reshape(-1, q)
        gram += J.T @ J
    return _rank.kernel_eigenvalues(gram)


@dataclass
class BlockSpectrum(SpectrumEstimate):
    """One block's spectrum and what it is accurate to (see the module notes): the fields of
    :class:`~inrank.diagnosis.spectra.SpectrumEstimate` (``top``, ``trace`` of the exact
    block, ``effective_rank`` with its SLQ error, ``numerical`` with theirs, ``matvecs``; the
    errors are 0 when solved by the dual) and:

    Attributes:
        name: the ``nn.Linear`` module name.
        compression_error: bound on the effective rank's relative change from compression.
        bound: ``delta / top_1``: the compression's eigenvalue error relative to the top one.
        trace_deficit: ``(tr Theta - tr Theta_r) / tr Theta``.
        ranks, full_rank: the compressed ``(r_g, r_h)`` and uncompressed ``(c D, P)`` columns.
        solver: ``"dual"`` or ``"matrix-free"``.
        seconds: wall time of this block's solve.
        values: every eigenvalue when solved by the dual, else None.
    """

    name: str = ""
    compression_error: float = 0.0
    bound: float = 0.0
    trace_deficit: float = 0.0
    ranks: tuple[int, int] = (0, 0)
    full_rank: tuple[int, int] = (0, 0)
    solver: str = "matrix-free"
    seconds: float = 0.0
    values: torch.Tensor | None = None


def _entropy_bound(deficit: float, n: int) -> float:
    """Relative effective-rank change bound ``exp(T log(n - 1) + h(T)) - 1`` for normalised
    spectra ``T`` apart in total variation (Fannes-Audenaert), ``T = deficit``."""
    t = min(max(deficit, 0.0), 0.5)
    if t == 0:
        return 0.0
    h = -t * math.log(t) - (1 - t) * math.log1p(-t)
    return math.expm1(t * math.log(max(n - 1, 1)) + h)


def solve_block(b: CompressedBlock, *, top: int = 32, rtols: tuple[float, ...] = (1e-3, 1e-6),
                probes: int = 8, steps: int = 20, eig_tol: float = 1e-5, block: int = 8,
                seed: int = 0) -> BlockSpectrum:
    """One compressed block's spectrum: exactly from its dual Gram when ``r_g r_h <=``
    :data:`DUAL_SIZE`, else block Lanczos (``top`` pairs, ``block`` vectors per product, to
    ``eig_tol``) and batched SLQ (``probes`` x ``steps``) deflated by them."""
    t0 = time.perf_counter()
    n = b.G.shape[0]
    rg, rh = b.G.shape[1], b.H.shape[1]
    deficit = b.trace_deficit
    common = dict(name=b.name, trace=b.trace, compression_error=_entropy_bound(deficit, n),
                  trace_deficit=deficit, ranks=(rg, rh), full_rank=b.full_rank)
    if rg * rh <= DUAL_SIZE:
        ev = dual_eigenvalues(b.G, b.H)
        ev = torch.cat([ev, ev.new_zeros(max(0, min(top, n) - len(ev)))])
        lam = float(ev[0]) if len(ev) else 0.0
        return BlockSpectrum(top=ev[:top], effective_rank=_rank.spectral_effective_rank(ev),
                             effective_rank_error=0.0,
                             numerical=tuple((r, float((ev > r * lam).sum())) for r in rtols),
                             numerical_error=tuple(0.0 for _ in rtols),
                             bound=b.delta / lam if lam > 0 else 0.0, solver="dual", matvecs=0,
                             seconds=time.perf_counter() - t0, values=ev, **common)
    op = BlockOperator.from_factors(b.G, b.H, name=b.name)
    est = estimate_spectrum(op, k=min(top, n), rtols=rtols, probes=probes, steps=steps,
                            tol=eig_tol, seed=seed, block=block)
    lam = float(est.top[0]) if len(est.top) else 0.0
    return BlockSpectrum(top=est.top, effective_rank=est.effective_rank,
                         effective_rank_error=est.effective_rank_error,
                         numerical=est.numerical, numerical_error=est.numerical_error,
                         bound=b.delta / lam if lam > 0 else 0.0, solver="matrix-free",
                         matvecs=est.matvecs, seconds=time.perf_counter() - t0, **common)


def ntk_spectra(model: nn.Module, coords: torch.Tensor, *, tol: float = DEFAULT_TOL,
                top: int = 32, rtols: tuple[float, ...] = (1e-3, 1e-6), probes: int = 8,
                steps: int = 20, eig_tol: float = 1e-5, block: int = 8,
                layers: Sequence[int | str] | None = None, batchnorm: str = "batch",
                dtype: torch.dtype = torch.float32, chunk: int = 4096,
                seed: int = 0) -> list[BlockSpectrum]:
    """Every selected dense layer's output-trace NTK block spectrum, at any N: factors built
    chunk by chunk and compressed to ``tol`` (one forward/backward pass builds all blocks'),
    then the dual Gram or block Lanczos + batched SLQ per block.

    Args:
        model: an ``nn.Module`` ``(N, d) -> (N, c)`` of ``nn.Linear`` layers; not modified.
        coords: ``(N, d)``.
        tol: each block's operator error bound relative to its top eigenvalue (0: exact).
        top: how many top eigenvalues (and deflated eigenvectors).
        rtols: thresholds of the numerical ranks.
        probes, steps: SLQ probes (one block of vectors) and Lanczos steps.
        eig_tol: relative accuracy of the top eigenvalues (block Lanczos).
        block: vectors per product of block Lanczos.
        layers, batchnorm: as :func:`~inrank.diagnosis.ntk.layerwise_ntk`.
        dtype: the factors' dtype (float32: half the memory, twice the speed).
        chunk: points per forward/backward pass.
        seed: seeds the Krylov start block and the probes.

    Returns:
        One :class:`BlockSpectrum` per selected layer, in forward order.

    Examples:
        >>> import inrank
        >>> spectra = ntk_spectra(inrank.build("relu", 2, 3, width=16, depth=2),
        ...                       torch.rand(200, 2), top=4, dtype=torch.float64)
        >>> all(s.bound <= 1e-6 for s in spectra), len(spectra[0].top)
        (True, 4)
    """
    blocks = compressed_blocks(model, coords, tol=tol, layers=layers, batchnorm=batchnorm,
                                  dtype=dtype, chunk=chunk)
    return [solve_block(b, top=top, rtols=tuple(rtols), probes=probes, steps=steps, eig_tol=eig_tol,
                   block=block, seed=seed) for b in blocks]
