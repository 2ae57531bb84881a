"""Mixed precision for fits: the forward pass under autocast (bf16 or fp16), master weights,
the loss and every metric in float32; and the check that says when a low-precision result is
limited by its precision."""
from __future__ import annotations

import contextlib

import torch

from .. import validation

__all__ = ["PRECISIONS", "autocast", "grad_scaler", "check_precision"]

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
    import copy
    import time

    from .loop import train_step

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
