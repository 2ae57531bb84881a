"""Synthetic 1-D signals for teaching: a sum of sinusoids, a step and a chirp.

All live on ``n_points`` sample centres of ``[-1, 1]`` (``coords (N, 1)``), take values in
``[-1, 1]`` (``values (N, 1)``, PSNR peak-to-peak 2 via ``meta["data_range"]``) and have ``kind="1d"``.
Frequencies are in cycles over the whole domain. In 1-D the inlet collapse is easiest to see:
``[x, 1]`` has rank 2, so a first ReLU layer whose kinks all miss ``[-1, 1]`` has features of
rank at most 2, whatever its width.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from .. import memory as _memory
from .. import validation as _checks
from ..errors import InputError
from .signal import Signal, grid_coords

__all__ = ["sinusoids", "step", "chirp", "signal_1d", "SIGNALS_1D"]


def _signal(values: torch.Tensor, coords: torch.Tensor, name: str, **meta) -> Signal:
    return Signal(coords=coords, values=values.float().reshape(-1, 1), shape=(coords.shape[0],),
                  name=name, kind="1d", meta={"data_range": 2.0, **meta})


def _t(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Coordinates ``(N, 1)`` in [-1, 1] and the same as float64 ``t = (x + 1) / 2`` in [0, 1]."""
    n = _checks.positive_int("n_points", n)
    _memory.check_points(n, "1d", name="n_points")
    coords = grid_coords((n,))
    return coords, (coords[:, 0].double() + 1) / 2


def sinusoids(n_points: int = 512, *, freqs: Sequence[float] = (1.0, 4.0, 16.0),
              amplitudes: Sequence[float] | None = None,
              phases: Sequence[float] | None = None) -> Signal:
    """``sum_k a_k sin(2 pi f_k t + phi_k) / sum_k |a_k|`` with ``t = (x + 1) / 2``.

    Args:
        n_points: number of samples N.
        freqs: f_k, cycles over ``[-1, 1]``.
        amplitudes: a_k (default all 1); the sum is divided by ``sum |a_k|`` so values stay in
            ``[-1, 1]``.
        phases: phi_k in radians (default 0).

    Returns:
        A ``kind="1d"`` signal with ``coords (N, 1)``, ``values (N, 1)``.

    Examples:
        >>> sig = sinusoids(64, freqs=(2,))
        >>> sig.values.shape, bool(sig.values.abs().max() <= 1)
        (torch.Size([64, 1]), True)
    """
    f = torch.tensor([float(v) for v in freqs], dtype=torch.float64)
    if f.numel() == 0:
        raise InputError("freqs must name at least one frequency, got an empty sequence")
    a = torch.ones_like(f) if amplitudes is None else torch.tensor([float(v) for v in amplitudes],
                                                                    dtype=torch.float64)
    p = torch.zeros_like(f) if phases is None else torch.tensor([float(v) for v in phases],
                                                                 dtype=torch.float64)
    if a.shape != f.shape or p.shape != f.shape:
        raise InputError(f"freqs, amplitudes and phases need the same length, got {f.numel()}, "
                         f"{a.numel()} and {p.numel()}")
    if not a.abs().sum() > 0:
        raise InputError("amplitudes must not all be zero")
    coords, t = _t(n_points)
    y = (a * torch.sin(2 * math.pi * f * t[:, None] + p)).sum(1) / a.abs().sum()  # (N,)
    return _signal(y, coords, "sinusoids", freqs=f.tolist())


def step(n_points: int = 512, *, at: float = 0.0) -> Signal:
    """A unit step: -1 for ``x < at``, +1 for ``x >= at``.

    Examples:
        >>> step(4).values[:, 0].tolist()
        [-1.0, -1.0, 1.0, 1.0]
    """
    coords, _ = _t(n_points)
    return _signal(torch.where(coords[:, 0] < float(at), -1.0, 1.0), coords, "step", at=float(at))


def chirp(n_points: int = 1024, *, f0: float = 1.0, f1: float = 64.0) -> Signal:
    """A linear chirp ``sin(2 pi (f0 t + (f1 - f0) t^2 / 2))``, ``t = (x + 1) / 2``: its
    frequency sweeps from ``f0`` to ``f1`` cycles per domain.

    Examples:
        >>> chirp(256, f0=1, f1=8).name
        'chirp'
    """
    f0 = _checks.positive_float("f0", f0)
    f1 = _checks.positive_float("f1", f1)
    coords, t = _t(n_points)
    y = torch.sin(2 * math.pi * (f0 * t + (f1 - f0) * t ** 2 / 2))
    return _signal(y, coords, "chirp", f0=f0, f1=f1)


#: name -> builder, for :func:`signal_1d` and the CLI / bench.
SIGNALS_1D: dict[str, Callable[..., Signal]] = {"sinusoids": sinusoids, "step": step,
                                                "chirp": chirp}


def signal_1d(name: str, *, n_points: int = 512, **options) -> Signal:
    """Build the 1-D signal ``name`` (one of :data:`SIGNALS_1D`) with ``n_points`` samples.

    Examples:
        >>> from inrank.diagnosis.rank import exact_rank
        >>> sig = signal_1d("chirp", n_points=128)
        >>> exact_rank(torch.cat([sig.coords, torch.ones(128, 1)], 1))  # rank of [x, 1]
        2
    """
    _checks.one_of("1-D signal", name, tuple(SIGNALS_1D))
    return SIGNALS_1D[name](n_points, **options)
