"""The yardstick for speed: the floating-point work of a training step, counted from the
architecture, and the rate a large matrix product reaches on this machine (the practical
limit a coordinate MLP's matrix products can approach)."""
from __future__ import annotations

import time

import torch
from torch import nn

__all__ = ["step_flops", "gemm_rate"]


def step_flops(model: nn.Module, n_points: int) -> float:
    """FLOPs of one training step of ``model`` on ``n_points`` points: per dense layer
    ``2 n in out`` forward, the same again for the weight gradient, and again for the input
    gradient except at the first layer (its input needs none). Elementwise work (activations,
    encodings, Adam) is left out: a few percent of the products at the widths used here.

    Examples:
        >>> import inrank
        >>> step_flops(inrank.build("relu", 2, 3, width=4, depth=1), 10)  # (2->4), (4->3)
        1040.0
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    total = 0.0
    for k, lin in enumerate(linears):
        mac = 2.0 * n_points * lin.in_features * lin.out_features
        total += mac * (2 if k == 0 else 3)
    return total


def gemm_rate(*, dtype: torch.dtype = torch.float32, size: int = 1024, repeats: int = 7,
              device: str = "cpu") -> float:
    """FLOP/s of a square ``size`` matrix product in ``dtype`` with the current thread count
    (the median of ``repeats`` after one warm-up): the practical peak the fits are measured
    against."""
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    times = []
    for i in range(repeats + 1):
        if device != "cpu":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        a @ b
        if device != "cpu":
            torch.cuda.synchronize()
        if i:
            times.append(time.perf_counter() - t0)
    times.sort()
    return 2.0 * size ** 3 / times[len(times) // 2]
