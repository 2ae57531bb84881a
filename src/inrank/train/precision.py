"""Mixed precision for fits: the forward pass under autocast (bf16 or fp16), master weights,
the loss and every metric in float32; and the check that says when a low-precision result is
limited by its precision."""
from __future__ import annotations

import contextlib
import copy
import functools
import time
import warnings

import torch

from .. import validation
from .step import train_step

__all__ = ["PRECISIONS", "autocast", "grad_scaler", "check_precision", "low_precision_slowdown",
           "warn_slow_precision", "SLOW_PRECISION_RATIO"]

#: A low precision whose matrix product is this many times slower than float32's on the CPU is
#: named before training (CPUs without bf16 / fp16 units emulate it: 5-25x slower fits were
#: measured on this project's AMD CI machines).
SLOW_PRECISION_RATIO = 1.5

#: ``"float32"`` (default), ``"bf16"`` (bfloat16 autocast) or ``"fp16"`` (float16 autocast with
#: loss scaling).
PRECISIONS = ("float32", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def autocast(device: torch.device, precision: str):
    """The autocast context of ``precision`` on ``device`` (a no-op for float32)."""
    validation.one_of("precision", precision, PRECISIONS)
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_DTYPES[precision])


@functools.lru_cache(maxsize=4)
def low_precision_slowdown(precision: str, size: int = 256, repeats: int = 5) -> float:
    """How many times slower a ``size`` x ``size`` matrix product runs in ``precision`` than in
    float32 on this CPU (the median of ``repeats`` timings each; measured once per process)."""
    def median_seconds(dtype: torch.dtype) -> float:
        a = torch.randn(size, size, generator=torch.Generator().manual_seed(0)).to(dtype)
        a @ a  # warm up
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            a @ a
            times.append(time.perf_counter() - t0)
        return sorted(times)[len(times) // 2]

    return median_seconds(_DTYPES[precision]) / max(median_seconds(torch.float32), 1e-9)


def warn_slow_precision(device: torch.device, precision: str) -> None:
    """Before a CPU fit in bf16 / fp16, warn when this CPU computes that precision more slowly
    than float32 (no bf16 / fp16 units: the products are emulated), with the measured ratio."""
    if precision == "float32" or device.type != "cpu":
        return
    ratio = low_precision_slowdown(precision)
    if ratio > SLOW_PRECISION_RATIO:
        warnings.warn(f"{precision} is {ratio:.1f}x slower than float32 on this CPU (a 256 x 256 "
                      "matrix product, measured now: it has no units for it, so autocast "
                      "emulates it); precision='float32' trains faster here", stacklevel=4)


def grad_scaler(device: torch.device, precision: str):
    """A loss scaler for fp16 (its small exponent range underflows gradients), else None."""
    if precision != "fp16":
        return None
    return torch.amp.GradScaler(device.type)


def check_precision(trainee, opt, order, sched, *, steps: int, evaluate) -> dict:
    """Continue training ``steps`` more steps twice from the current state, once at the fit's
    precision and once in float32, and compare: the PSNR float32 reaches beyond the low
    precision's (dB) says whether the result is precision-limited, and the two step times give
    the speed-up of the low precision. The trainee and optimiser are restored afterwards.

    Args:
        trainee: a :mod:`~inrank.train.trainees` object whose ``precision`` is not float32.
        opt, order, sched: the fit's optimiser, batch order and schedule (their state is kept).
        steps: the continuation's length.
        evaluate: ``evaluate(preds (B, N, c)) -> list of PSNR (dB)``.

    Returns:
        ``{"steps", "psnr_low", "psnr_float32", "gain_db", "seconds_per_step_low",
        "seconds_per_step_float32", "speedup"}`` (PSNRs and gains: the mean over models).
    """
    low = trainee.precision
    saved = (copy.deepcopy(trainee.state_dict()), copy.deepcopy(opt.state_dict()),
             order.state_dict(), sched.state_dict() if sched is not None else None)
    out: dict = {"steps": steps}
    for name, precision in (("low", low), ("float32", "float32")):
        trainee.precision = precision
        scaler = grad_scaler(trainee.device, precision)
        t0 = time.perf_counter()
        for _ in range(steps):
            train_step(trainee, order.next(), opt, sched, scaler=scaler)
        out[f"seconds_per_step_{name}"] = (time.perf_counter() - t0) / steps
        psnrs = evaluate(trainee.predict())
        out[f"psnr_{name}"] = sum(psnrs) / len(psnrs)
        trainee.load_state_dict(saved[0])
        opt.load_state_dict(copy.deepcopy(saved[1]))
        order.load_state_dict(saved[2])
        if sched is not None:
            sched.load_state_dict(saved[3])
    trainee.precision = low
    out["gain_db"] = out["psnr_float32"] - out["psnr_low"]
    out["speedup"] = out["seconds_per_step_float32"] / out["seconds_per_step_low"]
    return out
