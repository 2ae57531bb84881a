"""NTK block factors compressed to a stated tolerance, streamed chunk by chunk.

A dense layer's output-trace block is ``Theta = A o B`` with ``A = G G^T`` (``G`` the
per-sample output gradients flattened to ``(N, c D)``) and ``B = H H^T`` (``H = H~`` the layer
input with its ones column, ``(N, P)``). Truncating each factor to its leading right singular
vectors, ``G_r = G V_g`` ``(N, r_g)`` and ``H_r = H V_h`` ``(N, r_h)``, gives
``Theta_r = (G_r G_r^T) o (H_r H_r^T)`` with products ``4 N r_g r_h`` flops instead of
``4 N c D P``.

**The bound.** With ``A_r = G_r G_r^T``, ``B_r = H_r H_r^T``:

    Theta - Theta_r = (A - A_r) o B + A_r o (B - B_r).

Both terms are Hadamard products of PSD matrices, hence PSD (Schur product theorem), and for
PSD ``X, Y``, ``||X o Y||_2 <= max_i Y_ii ||X||_2`` (Schur 1911). Since
``||A - A_r||_2 = s_{r_g+1}(G)^2``, ``||B - B_r||_2 = s_{r_h+1}(H)^2`` and
``(A_r)_ii <= |g_i|^2``:

    0 <= Theta - Theta_r <= delta I,
    delta = s_{r_g+1}(G)^2 max_i |h_i|^2 + s_{r_h+1}(H)^2 max_i |g_i|^2.

So every eigenvalue obeys ``lambda_k(Theta_r) <= lambda_k(Theta) <= lambda_k(Theta_r) + delta``
(Weyl), and the eigenvalue shifts, all non-negative, sum to ``tr Theta - tr Theta_r`` (computed
exactly: the trace deficit). The ranks are chosen so that ``delta <= tol * lambda_lb``, where
``lambda_lb = max(1^T Theta 1 / N, max_i Theta_ii) <= lambda_1(Theta)`` is known from the first
pass; ``tol = 0`` keeps every column above float64 round-off (the exact kernel).

**Streaming.** Pass 1 builds the factors chunk by chunk (one forward and ``c`` backward passes
give every layer's at once) and accumulates, per block, the Gram matrices ``G^T G`` and
``H^T H``, ``G^T H``, the trace and the row maxima (float64); pass 2 rebuilds the chunks and
keeps only ``G V_g`` and ``H V_h``. The ``(N, c D)`` factors are never held whole.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .. import validation
from ..errors import InputError
from .factors import factor_chunks, frozen_copy, no_tf32
from .operators import row_norms2
from .rank import eigh_desc

__all__ = ["FactorStats", "truncate", "compressed_blocks", "CompressedBlock"]


@dataclass
class FactorStats:
    """What pass 1 accumulates for one block (float64).

    Attributes:
        gram_g: ``G^T G`` ``(c D, c D)``.
        gram_h: ``H^T H`` ``(P, P)``.
        cross: ``G^T H`` ``(c D, P)`` (for ``1^T Theta 1 = ||G^T H||_F^2``).
        trace: ``tr Theta = sum_i |g_i|^2 |h_i|^2``.
        max_g2, max_h2, max_diag: ``max_i |g_i|^2``, ``max_i |h_i|^2``, ``max_i Theta_ii``.
        n: N.
    """

    gram_g: torch.Tensor
    gram_h: torch.Tensor
    cross: torch.Tensor
    trace: float = 0.0
    max_g2: float = 0.0
    max_h2: float = 0.0
    max_diag: float = 0.0
    n: int = 0

    def add(self, g: torch.Tensor, h: torch.Tensor) -> None:
        """Accumulate a chunk: ``g (n, c D)``, ``h (n, P)``, in float64 (float32 sums carry
        round-off of about 1e-7 of the top eigenvalue: the size of the tails a 1e-6 bound
        weighs, so they would inflate the kept ranks and blur the bound)."""
        g, h = g.double(), h.double()
        self.gram_g += g.T @ g
        self.gram_h += h.T @ h
        self.cross += g.T @ h
        g2, h2 = (g ** 2).sum(1), (h ** 2).sum(1)
        d = g2 * h2
        self.trace += float(d.sum())
        self.max_g2 = max(self.max_g2, float(g2.max()))
        self.max_h2 = max(self.max_h2, float(h2.max()))
        self.max_diag = max(self.max_diag, float(d.max()))
        self.n += g.shape[0]

    @property
    def lambda_lb(self) -> float:
        """A lower bound of ``lambda_1(Theta)``: ``max(1^T Theta 1 / N, max_i Theta_ii)``."""
        return max(float((self.cross ** 2).sum()) / max(self.n, 1), self.max_diag)


def truncate(stats: FactorStats, tol: float
             ) -> tuple[torch.Tensor, torch.Tensor, float, torch.Tensor, torch.Tensor]:
    """The ranks that meet ``delta <= tol * lambda_lb`` at the least product cost
    ``r_g * r_h`` (the module's bound), never above the factors' exact ranks.

    Args:
        stats: the block's pass-1 sums.
        tol: relative operator-error tolerance (0: exact ranks only).

    Returns:
        ``V_g`` ``(c D, r_g)``, ``V_h`` ``(P, r_h)`` (float64, orthonormal columns), the
        bound ``delta`` (absolute; its float64 round-off part when ``tol = 0``) and the Gram
        eigenvalues of ``G`` and ``H`` (descending: their squared singular values).
    """
    wg, Vg = eigh_desc(stats.gram_g)
    wh, Vh = eigh_desc(stats.gram_h)
    wg, wh = wg.clamp_min(0).cpu(), wh.clamp_min(0).cpu()
    eps = torch.finfo(torch.float64).eps
    # exact ranks: Gram eigenvalues above round-off (as compress_factor)
    eg = max(1, int((wg > wg[0] * len(wg) * eps).sum()))
    eh = max(1, int((wh > wh[0] * len(wh) * eps).sum()))
    tail_g = torch.cat([wg[1:eg + 1], wg.new_zeros(1)])[:eg]  # tail_g[r - 1] = s_{r+1}^2
    tail_h = torch.cat([wh[1:eh + 1], wh.new_zeros(1)])[:eh]
    cost_g = tail_g * stats.max_h2                            # delta's G part at rank r
    cost_h = tail_h * stats.max_g2
    budget = tol * stats.lambda_lb
    best = (eg, eh)
    if tol > 0:
        for rg in range(1, eg + 1):
            left = budget - float(cost_g[rg - 1])
            if left < 0:
                continue
            rh = int((cost_h > left).sum()) + 1                # cost_h is non-increasing
            if rh > eh:                                        # H alone cannot meet it
                continue
            if rg * rh < best[0] * best[1]:
                best = (rg, rh)
    rg, rh = best
    delta = float(cost_g[rg - 1] + cost_h[rh - 1])
    return Vg[:, :rg], Vh[:, :rh], delta, wg, wh


@dataclass
class CompressedBlock:
    """One block's compressed factors and what is known of the error.

    Attributes:
        name: the ``nn.Linear`` module name.
        G: ``(N, r_g)`` ``G V_g``.
        H: ``(N, r_h)`` ``H V_h``.
        delta: the bound on ``||Theta - Theta_r||_2`` (absolute).
        trace: ``tr Theta`` (exact factors).
        lambda_lb: the lower bound of ``lambda_1(Theta)`` the tolerance was measured against.
        full_rank: the uncompressed column counts ``(c D, P)``.
        grad_sv2, feat_sv2: the squared singular values of ``G`` and ``H`` (Gram eigenvalues,
            descending): their rank measures without the whole factors.
    """

    name: str
    G: torch.Tensor
    H: torch.Tensor
    delta: float
    trace: float
    lambda_lb: float
    full_rank: tuple[int, int]
    grad_sv2: torch.Tensor
    feat_sv2: torch.Tensor

    @property
    def trace_deficit(self) -> float:
        """``(tr Theta - tr Theta_r) / tr Theta``: the summed eigenvalue shifts, relative."""
        tr_r = float((row_norms2(self.G) * row_norms2(self.H)).sum())
        return max(self.trace - tr_r, 0.0) / self.trace if self.trace > 0 else 0.0


def compressed_blocks(model: nn.Module, coords: torch.Tensor, *, tol: float,
                         layers: Sequence[int | str] | None = None, batchnorm: str = "batch",
                         dtype: torch.dtype = torch.float32, chunk: int = 4096
                         ) -> list[CompressedBlock]:
    """Every selected dense layer's output-trace block as compressed factors, streamed: two
    passes of ``chunk`` points (see the module notes for the bound).

    Args:
        model: an ``nn.Module`` ``(N, d) -> (N, c)`` of ``nn.Linear`` layers; not modified.
        coords: ``(N, d)``.
        tol: the operator-error tolerance relative to ``lambda_1``: each block's
            ``||Theta - Theta_r||_2 <= tol * lambda_1(Theta)``; 0 keeps the exact ranks.
        layers, batchnorm: as :func:`~inrank.diagnosis.ntk.layerwise_ntk`.
        dtype: the dtype the factors are computed and kept in (float32 at scale).
        chunk: points per forward/backward pass.

    Returns:
        One :class:`CompressedBlock` per selected layer, in forward order.

    Examples:
        >>> import inrank
        >>> blocks = compressed_blocks(inrank.build("relu", 2, 3, width=16, depth=2),
        ...                               torch.rand(64, 2), tol=1e-4, dtype=torch.float64)
        >>> len(blocks), all(b.delta <= 1e-4 * b.lambda_lb for b in blocks)
        (3, True)
    """
    tol = float(tol)
    if not (math.isfinite(tol) and 0 <= tol < 1):
        raise InputError(f"tol must be a number in [0, 1), got {tol}")
    chunk = validation.positive_int("chunk", chunk)
    if batchnorm == "coupled":
        raise InputError("batchnorm='coupled' breaks the per-sample factorisation; use "
                         "'batch' or 'running'")
    m, x = frozen_copy(model, coords, batchnorm, dtype)
    n = x.shape[0]
    stats: list[FactorStats] = []
    with no_tf32():
        for names, G, H in factor_chunks(m, x, layers, chunk):        # pass 1: sums
            if not stats:
                z = dict(dtype=torch.float64, device=x.device)
                stats = [FactorStats(torch.zeros(g[0].numel(), g[0].numel(), **z),
                                     torch.zeros(h.shape[1], h.shape[1], **z),
                                     torch.zeros(g[0].numel(), h.shape[1], **z))
                         for g, h in zip(G, H)]
            for s, g, h in zip(stats, G, H):
                s.add(g.reshape(g.shape[0], -1), h)
        cuts = [truncate(s, tol) for s in stats]
        proj = [(c[0].to(dtype), c[1].to(dtype)) for c in cuts]
        Gr = [torch.empty(n, Vg.shape[1], dtype=dtype, device=x.device) for Vg, _ in proj]
        Hr = [torch.empty(n, Vh.shape[1], dtype=dtype, device=x.device) for _, Vh in proj]
        start = 0
        for names, G, H in factor_chunks(m, x, layers, chunk):        # pass 2: project
            rows = slice(start, start + G[0].shape[0])
            for k, (g, h) in enumerate(zip(G, H)):
                Gr[k][rows] = g.reshape(g.shape[0], -1) @ proj[k][0]
                Hr[k][rows] = h @ proj[k][1]
            start = rows.stop
    return [CompressedBlock(name, gr, hr, delta, s.trace, s.lambda_lb,
                            (s.gram_g.shape[0], s.gram_h.shape[0]), wg.cpu(), wh.cpu())
            for name, gr, hr, (_, _, delta, wg, wh), s in zip(names, Gr, Hr, cuts, stats)]
