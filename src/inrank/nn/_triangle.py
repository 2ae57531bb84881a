"""Triangle waves assembled from first-layer ReLU ramps (the maths behind the structured REI).

A first layer whose neurons share a direction ``u`` and have kinks at evenly spaced offsets
``t_0 < t_1 < ... < t_{M-1}`` along ``s = u . x`` outputs ramps ``h_i = a * ReLU(s - t_i)``.
Every continuous piecewise-linear function of ``s`` whose kinks lie on the ``t_i`` is then an
exact linear combination ``sum_i A_i h_i + c`` on the domain (``t_0`` lies below the domain, so
``h_0`` is affine there and supplies the linear part). Triangle waves whose vertices sit on every
``P``-th kink, ``P = 2, 4, 8, ...``, are such functions: a positional encoding made of zig-zags
at dyadic frequencies (Telgarsky 2016; Milkert et al., ICML 2025). This module builds the kink
layout and the coefficient matrix ``A``; :mod:`inrank.nn.init` turns them into layer weights.
"""
from __future__ import annotations

import math

import torch

__all__: list[str] = []  # private helpers for inrank.nn.init


def directions_(k: int, d: int, *, rotate: bool, generator: torch.Generator | None) -> torch.Tensor:
    """``k`` unit directions ``(k, d)``, float64: for ``d = 2`` a fan at angles ``pi j / k``
    (turned by one random angle when ``rotate``), otherwise uniform on the sphere."""
    if d == 2:
        theta0 = float(torch.rand(1, generator=generator, dtype=torch.float64)) * math.pi if rotate else 0.0
        theta = theta0 + math.pi * torch.arange(k, dtype=torch.float64) / k
        return torch.stack([torch.cos(theta), torch.sin(theta)], dim=1)
    u = torch.randn(k, d, generator=generator, dtype=torch.float64)
    return u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)


def projected_range(u: torch.Tensor, coords: torch.Tensor | None,
                    domain: tuple[float, float]) -> tuple[float, float]:
    """``(min, max)`` of ``s = u . x`` over the data ``coords (N, d)`` or the box ``domain^d``."""
    if coords is not None:
        s = coords.to(torch.float64) @ u
        return float(s.min()), float(s.max())
    lo, hi = domain
    centre, half = 0.5 * (lo + hi) * float(u.sum()), 0.5 * (hi - lo) * float(u.abs().sum())
    return centre - half, centre + half


def kink_offsets(m: int, s_min: float, s_max: float, phase: float) -> torch.Tensor:
    """``m`` evenly spaced kinks ``(m,)``: ``t_0`` just below ``s_min``, the rest across the range,
    shifted by ``phase`` in [0, 1) of a spacing."""
    delta = (s_max - s_min) / max(m - 1, 1)
    return s_min + (torch.arange(m, dtype=torch.float64) - 1 + phase) * delta


def _tri_index(i: torch.Tensor, period: int, offset: int) -> torch.Tensor:
    """Triangle wave in kink-index units: vertices at ``offset + j period``, values ``(-1)^j``."""
    q = (i - offset) / period
    j = torch.floor(q)
    sign = 1.0 - 2.0 * torch.remainder(j, 2.0)
    return sign * (1.0 - 2.0 * (q - j))


def triangle_basis(t: torch.Tensor, *, slope: float, octaves: int | None,
                   s_min: float, s_max: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Coefficients of triangle waves in the ramps ``h_i = slope * ReLU(s - t_i)``.

    Args:
        t: kink offsets ``(M,)``, evenly spaced, ``t_0`` below the domain.
        slope: the ramps' slope ``a``.
        octaves: how many dyadic periods ``P = 2, 4, ..., 2^octaves`` (in kink spacings) to
            build; ``None`` takes every period up to ``M``.
        s_min, s_max: the range of ``s`` on the domain (for the linear feature).

    Returns:
        ``A (F, M)`` and ``c (F,)``, float64, with ``features = h @ A.T + c`` on the domain: per
        octave a "sine" and a "cosine" zig-zag (vertices shifted by half a period when ``P >= 2``)
        with values in ``[-1, 1]``, then ``s`` rescaled to ``[-1, 1]``.
    """
    m = t.numel()
    delta = float(t[1] - t[0]) if m > 1 else 1.0
    top = int(math.log2(max(m, 2))) if octaves is None else int(octaves)
    idx = torch.arange(m + 1, dtype=torch.float64)
    rows, consts = [], []
    for level in range(1, top + 1):
        period = 2 ** level
        for offset in sorted({0, period // 2}):
            v = _tri_index(idx, period, offset)                      # values at t_0 .. t_M
            seg = (v[1:] - v[:-1]) / delta                           # slope after each kink (M,)
            coef = torch.cat([seg[:1], seg[1:] - seg[:-1]])          # ramp coefficients (M,)
            rows.append(coef / slope)
            consts.append(float(v[0]))
    half = 0.5 * (s_max - s_min)
    lin = torch.zeros(m, dtype=torch.float64)
    lin[0] = 1.0 / (slope * half)                                    # (s - t_0) / half
    rows.append(lin)
    consts.append(float((t[0] - 0.5 * (s_min + s_max)) / half))
    return torch.stack(rows), torch.tensor(consts, dtype=torch.float64)


def ramp_layer(n: int, d: int, coords: torch.Tensor | None, domain: tuple[float, float], *,
               directions: int, slope: float, octaves: int | None, rotate: bool,
               generator: torch.Generator | None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """First-layer weights ``w (n, d)``, ``b (n,)`` (float64) placing ``n`` kinks evenly along
    ``directions`` directions (``n // directions`` each, random phase per direction), and the
    block coefficients ``A (F, n)``, ``c (F,)`` of their triangle waves (see
    :func:`triangle_basis`)."""
    u = directions_(directions, d, rotate=rotate, generator=generator)        # (K, d)
    counts = [n // directions + (1 if j < n % directions else 0) for j in range(directions)]
    w = torch.empty(n, d, dtype=torch.float64)
    b = torch.empty(n, dtype=torch.float64)
    blocks, consts, start = [], [], 0
    for j, m in enumerate(counts):
        s_min, s_max = projected_range(u[j], coords, domain)
        phase = float(torch.rand(1, generator=generator, dtype=torch.float64))
        t = kink_offsets(m, s_min, s_max, phase)                                 # (M,)
        w[start:start + m] = slope * u[j]
        b[start:start + m] = -slope * t
        a, c = triangle_basis(t, slope=slope, octaves=octaves, s_min=s_min, s_max=s_max)
        block = torch.zeros(a.shape[0], n, dtype=torch.float64)
        block[:, start:start + m] = a
        blocks.append(block)
        consts.append(c)
        start += m
    return w, b, torch.cat(blocks), torch.cat(consts)
