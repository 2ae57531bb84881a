"""The training loop: Adam on the MSE between ``model(coords)`` and ``values``."""
from __future__ import annotations

import copy
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from . import _checks
from .errors import DivergedError
from .metrics import psnr as _psnr
from .metrics import ssim as _ssim
from .signals import Signal

__all__ = ["FitResult", "fit", "predict", "resolve_device", "SCHEDULES"]

SCHEDULES = ("none", "cosine", "exponential")


@dataclass
class FitResult:
    """What a fit returns.

    Attributes:
        history: one dict per evaluation: ``step``, ``loss`` (training MSE at that step),
            ``psnr`` (dB, whole signal, eval mode) and ``seconds`` (training time so far).
        final_psnr: PSNR after the last step (dB).
        best_psnr: best PSNR over the evaluations (dB).
        ssim: SSIM of the final reconstruction (images), else None.
        params: trainable parameter count.
        seconds_per_step: training wall time per step, evaluations excluded.
        steps, lr, batch_size, device, seed: the protocol as run.
        prediction: final prediction ``(N, c)`` float32 on the CPU.
    """

    history: list[dict]
    final_psnr: float
    best_psnr: float
    ssim: float | None
    params: int
    seconds_per_step: float
    steps: int
    lr: float
    batch_size: int | None
    device: str
    seed: int
    prediction: torch.Tensor = field(repr=False)

    def to_dict(self) -> dict:
        """JSON-ready metrics (no prediction)."""
        d = asdict(self)
        d.pop("prediction")
        return d


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` -> CUDA if available, else CPU; anything else is passed to ``torch.device``."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but CUDA is not available; use --device cpu")
    return dev


@torch.no_grad()
def predict(model: nn.Module, coords: torch.Tensor, *, batch_size: int = 65536) -> torch.Tensor:
    """Evaluate ``model`` on ``coords (N, d)`` in chunks, in eval mode; returns ``(N, c)``.

    The module's train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(coords[i:i + batch_size]) for i in range(0, coords.shape[0], batch_size)])
    finally:
        model.train(was_training)


def _bytes_per_point(model: nn.Module) -> int:
    """Rough training memory per sample: activations kept for backward, float32, x4 slack."""
    widths = sum(m.out_features + m.in_features for m in model.modules() if isinstance(m, nn.Linear))
    return 4 * 4 * max(widths, 1)


def _memory_budget(device: torch.device) -> int:
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.6)
    try:
        avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        avail = 8 << 30
    return int(avail * 0.5)


def _scheduler(opt: torch.optim.Optimizer, schedule: str, steps: int):
    if schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps, eta_min=0.0)
    if schedule == "exponential":  # lr decays 10x over the run
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.1 ** (s / steps))
    return None


def fit(model: nn.Module, signal: Signal, *, steps: int, lr: float, schedule: str | None = None,
        batch_size: int | None = None, seed: int = 0, device: str | torch.device = "auto",
        eval_every: int | None = None, progress: bool = True,
        memory_budget: int | None = None) -> FitResult:
    """Fit ``model`` to ``signal`` with Adam on the mean squared error.

    Args:
        model: maps ``(N, d)`` coordinates to ``(N, c)`` values; trained in place.
        signal: the target.
        steps: optimisation steps.
        lr: Adam learning rate.
        schedule: ``None``/``"none"``, ``"cosine"`` (to 0) or ``"exponential"`` (10x decay).
        batch_size: points per step; ``None`` = full batch unless it would not fit in memory,
            in which case mini-batches are used with a warning.
        seed: seeds the mini-batch order (the init is seeded by :func:`inrank.build`).
        device: ``"auto"`` (CUDA if available), ``"cpu"``, ``"cuda"``, ...
        eval_every: steps between evaluations (default ``max(1, steps // 100)``); the last
            step is always evaluated.
        progress: show a progress bar with the live PSNR (stderr).
        memory_budget: bytes allowed for a full batch (default: half the free memory).

    Returns:
        A :class:`FitResult`. The model keeps its final weights.

    Raises:
        DivergedError: the loss became NaN or inf; the model is restored to its best evaluated
            state and ``err.result`` holds the partial result.

    Examples:
        >>> import inrank
        >>> sig = inrank.load_image("camera", size=8)
        >>> res = fit(inrank.build("relu", 2, 1, width=16, depth=1), sig, steps=5, lr=1e-3,
        ...           progress=False)
        >>> len(res.history), res.steps
        (5, 5)
    """
    steps = _checks.positive_int("steps", steps)
    lr = _checks.positive_float("lr", lr)
    schedule = _checks.one_of("schedule", schedule or "none", SCHEDULES)
    if batch_size is not None:
        batch_size = _checks.positive_int("batch_size", batch_size)
    eval_every = max(1, steps // 100) if eval_every is None else _checks.positive_int("eval_every", eval_every)
    if not isinstance(signal, Signal):
        raise TypeError(f"signal must be an inrank Signal, got {type(signal).__name__}")
    in_dim = getattr(model, "in_dim", signal.in_dim)
    if in_dim != signal.in_dim:
        raise ValueError(f"model expects {in_dim}-D coordinates, the signal has {signal.in_dim}-D; "
                         f"build the model with in_dim={signal.in_dim}")
    dev = resolve_device(device)
    n = len(signal)
    budget = _memory_budget(dev) if memory_budget is None else int(memory_budget)
    need = n * _bytes_per_point(model)
    if batch_size is None and need > budget:
        batch_size = max(1, budget // _bytes_per_point(model))
        warnings.warn(f"a full batch of {n} points needs about {need / 2**30:.1f} GiB, more than "
                      f"the {budget / 2**30:.1f} GiB budget: using mini-batches of {batch_size}",
                      stacklevel=2)
    if batch_size is not None and batch_size >= n:
        batch_size = None

    model.to(dev).train()
    coords, values = signal.coords.to(dev), signal.values.to(dev)
    data_range = float(signal.meta.get("data_range", 1.0))
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = _scheduler(opt, schedule, steps)
    gen = torch.Generator().manual_seed(int(seed))
    perm, pos = None, n

    history: list[dict] = []
    best_psnr, best_state = -math.inf, None
    train_seconds = 0.0
    bar = _progress_bar(steps, signal.name, enabled=progress)

    def partial(done: int) -> FitResult:
        last = history[-1]["psnr"] if history else float("nan")
        return FitResult(history, last, best_psnr, None, params, train_seconds / done, steps, lr,
                         batch_size, str(dev), int(seed), torch.empty(0, signal.channels))

    try:
        for step in range(1, steps + 1):
            t0 = time.perf_counter()
            if batch_size is None:
                x, y = coords, values
            else:
                if pos + batch_size > n:
                    perm, pos = torch.randperm(n, generator=gen).to(dev), 0
                idx = perm[pos:pos + batch_size]
                pos += batch_size
                x, y = coords[idx], values[idx]
            loss = torch.mean((model(x) - y) ** 2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if sched is not None:
                sched.step()
            loss_value = float(loss.detach())  # syncs the device, so the timing below is honest
            train_seconds += time.perf_counter() - t0
            if not math.isfinite(loss_value):
                if best_state is not None:
                    model.load_state_dict(best_state)
                raise DivergedError(
                    f"loss became {loss_value} at step {step} (lr={lr:g}); try a smaller --lr. "
                    f"The model was restored to its best state ({best_psnr:.2f} dB)", partial(step))
            bar.update(1)
            if step % eval_every == 0 or step == steps:
                pred = predict(model, coords)
                score = _psnr(pred, values, data_range=data_range)
                history.append({"step": step, "loss": loss_value, "psnr": score,
                                "seconds": train_seconds})
                if score > best_psnr:
                    best_psnr = score
                    best_state = copy.deepcopy(model.state_dict())
                bar.set_postfix(psnr=f"{score:.2f} dB", refresh=False)
    finally:
        bar.close()

    pred_cpu = pred.detach().float().cpu()
    ssim_value = None
    if signal.kind == "image":
        ssim_value = _ssim(signal.to_image(pred_cpu), signal.to_image(signal.values), data_range=data_range)
    return FitResult(history, history[-1]["psnr"], best_psnr, ssim_value, params,
                     train_seconds / steps, steps, lr, batch_size, str(dev), int(seed), pred_cpu)


def _progress_bar(total: int, name: str, *, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"fit {name}", unit="step", disable=not enabled, leave=False,
                dynamic_ncols=True, mininterval=0.5)
