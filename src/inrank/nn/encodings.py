"""Input encodings that lift coordinates ``(N, d)`` to features ``(N, m)`` before the first layer.

Both restore rank at the inlet: ``[X, 1]`` has rank at most ``d + 1``, the encoded inputs up to
``m + 1``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .. import validation as _checks

__all__ = ["PositionalEncoding", "FourierFeatures"]


class PositionalEncoding(nn.Module):
    """NeRF positional encoding (Mildenhall et al., ECCV 2020).

    ``gamma(x) = [x, sin(2^k pi x), cos(2^k pi x)]`` for ``k = 0 .. octaves - 1``, per input
    axis, with ``x`` in ``[-1, 1]``.

    Args:
        in_dim: d.
        octaves: L, the number of frequencies (NeRF uses 10 for positions).
        include_input: keep ``x`` itself in the output.

    Shapes: ``(N, d) -> (N, d * (2 L + include_input))``.

    Examples:
        >>> PositionalEncoding(2, octaves=4)(torch.zeros(5, 2)).shape
        torch.Size([5, 18])
    """

    def __init__(self, in_dim: int, *, octaves: int = 10, include_input: bool = True) -> None:
        super().__init__()
        self.in_dim = _checks.positive_int("in_dim", in_dim)
        self.octaves = _checks.non_negative_int("octaves", octaves)
        self.include_input = bool(include_input)
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(self.octaves, dtype=torch.float32))
        self.out_dim = self.in_dim * (2 * self.octaves + int(self.include_input))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x, self.freqs, include_input=self.include_input)

    @staticmethod
    def encode(x: torch.Tensor, freqs: torch.Tensor, *, include_input: bool) -> torch.Tensor:
        """The encoding of ``x (..., N, d)`` at ``freqs (..., L)``: one model's ``(L,)``, or B
        models' stacked ``(B, L)`` on ``x (B, N, d)``. Returns ``(..., N, d (2 L + 1?))``."""
        arg = (x[..., None] * freqs[..., None, None, :]).flatten(-2)  # (..., N, d L)
        parts = [x] if include_input else []
        return torch.cat(parts + [torch.sin(arg), torch.cos(arg)], dim=-1)


class FourierFeatures(nn.Module):
    """Gaussian random Fourier features (Tancik et al., NeurIPS 2020).

    ``gamma(x) = [cos(2 pi B x'), sin(2 pi B x')]`` with fixed ``B ~ N(0, sigma^2)`` of shape
    ``(m, d)`` and ``x' = (x + 1) / 2`` in ``[0, 1]``, the paper's coordinate convention, so
    ``sigma`` means what it means there (10 for natural images).

    Args:
        in_dim: d.
        features: m, the number of frequencies (output has 2 m columns).
        sigma: the scale of the Gaussian frequencies, in cycles per unit of ``[0, 1]`` coordinates.
        generator: draws ``B``.

    Shapes: ``(N, d) -> (N, 2 m)``.
    """

    def __init__(self, in_dim: int, *, features: int = 256, sigma: float = 10.0,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.in_dim = _checks.positive_int("in_dim", in_dim)
        self.features = _checks.positive_int("features", features)
        self.sigma = _checks.positive_float("sigma", sigma)
        B = torch.randn(self.features, self.in_dim, generator=generator) * self.sigma
        self.register_buffer("B", B)  # (m, d), fixed, not trained
        self.out_dim = 2 * self.features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x, self.B)

    @staticmethod
    def encode(x: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
        """The features of ``x (..., N, d)`` for frequencies ``B (..., m, d)``: one model's
        ``(m, d)``, or B models' stacked ``(B, m, d)`` on ``x (B, N, d)``. Returns
        ``(..., N, 2 m)``."""
        arg = 2 * math.pi * ((x + 1) / 2) @ B.mT  # (..., N, m)
        return torch.cat([torch.cos(arg), torch.sin(arg)], dim=-1)
