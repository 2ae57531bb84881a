"""The training loop: Adam on the MSE between ``model(coords)`` and ``values`` (or BCE on
logits for occupancy), optionally on a subset of the points with the rest held out."""
from __future__ import annotations

import copy
import math
import os
import time
import warnings
from dataclasses import asdict, dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .. import validation as _checks
from .checkpoint import load_checkpoint, save_checkpoint
from ..errors import DivergedError, InputError, InputTypeError
from ..metrics import psnr as _psnr
from ..metrics import snr as _snr
from ..metrics import ssim as _ssim
from ..signals.signal import Signal

__all__ = ["FitResult", "fit", "predict", "resolve_device", "SCHEDULES", "LOSSES"]

SCHEDULES = ("none", "cosine", "exponential")
#: ``"mse"``: mean squared error on values; ``"bce"``: binary cross-entropy on logits, targets in {0, 1}.
LOSSES = ("mse", "bce")


@dataclass
class FitResult:
    """What a fit returns.

    Attributes:
        history: one dict per evaluation: ``step``, ``loss`` (training loss at that step),
            ``lr`` (the learning rate that step used, after the schedule), ``psnr`` (dB, whole signal, eval mode) and ``seconds`` (training time so far);
            with a ``train_mask`` also ``train_psnr`` and ``test_psnr``.
        final_psnr: PSNR after the last step (dB), over all points. With ``loss="bce"`` the
            PSNR of the probabilities ``sigmoid(logit)`` against the 0/1 labels (peak 1).
        best_psnr: best PSNR over the evaluations (dB).
        ssim: SSIM of the final reconstruction (images), else None.
        params: trainable parameter count.
        seconds_per_step: training wall time per step, evaluations excluded.
        steps, lr, batch_size, device, seed: the protocol as run.
        prediction: final prediction ``(N, c)`` float32 on the CPU (logits for ``"bce"``).
        train_psnr: PSNR on the training points (dB); None without a ``train_mask``.
        test_psnr: PSNR on the held-out points (dB); None without a ``train_mask``.
        metrics: final task metrics by name, always ``psnr``; ``train_psnr``/``test_psnr``
            with a mask; ``snr`` (dB) for audio and 1-D signals; ``accuracy`` and ``iou``
            (on the sample points, logit > 0) for ``"bce"``.
        loss_name: the loss, one of :data:`LOSSES`.
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
    train_psnr: float | None = None
    test_psnr: float | None = None
    metrics: dict = field(default_factory=dict)
    loss_name: str = "mse"

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
        raise InputError("device 'cuda' requested but CUDA is not available; use device='cpu'")
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


def _train_indices(train_mask: torch.Tensor | None, n: int) -> torch.Tensor | None:
    """Validate a ``(N,)`` bool mask; return the indices of its True entries (None = all)."""
    if train_mask is None:
        return None
    if not isinstance(train_mask, torch.Tensor) or train_mask.dtype != torch.bool:
        raise InputTypeError(f"train_mask must be a bool tensor of shape ({n},), got "
                        f"{getattr(train_mask, 'dtype', type(train_mask).__name__)}")
    if tuple(train_mask.shape) != (n,):
        raise InputError(f"train_mask must have shape ({n},) (one entry per point), got "
                         f"{tuple(train_mask.shape)}")
    idx = train_mask.nonzero().squeeze(1)
    if idx.numel() == 0:
        raise InputError("train_mask selects no points; set at least one entry to True")
    return idx


def _scores(pred: torch.Tensor, values: torch.Tensor, *, loss: str, data_range: float,
            test: torch.Tensor | None) -> dict:
    """PSNR (and train/test PSNR) of a full prediction ``(N, c)``; probabilities for BCE."""
    if loss == "bce":
        pred, data_range = torch.sigmoid(pred), 1.0
    out = {"psnr": _psnr(pred, values, data_range=data_range)}
    if test is not None:
        out["train_psnr"] = _psnr(pred[~test], values[~test], data_range=data_range)
        out["test_psnr"] = (_psnr(pred[test], values[test], data_range=data_range)
                            if bool(test.any()) else float("nan"))
    return out


def _task_metrics(signal: Signal, pred: torch.Tensor, loss: str) -> dict:
    """Task metrics of the final prediction: SNR for audio / 1-D, accuracy and IoU for BCE."""
    if loss == "bce":
        inside, truth = pred > 0, signal.values > 0.5
        union = float((inside | truth).sum())
        return {"accuracy": float((inside == truth).double().mean()),
                "iou": float((inside & truth).sum()) / union if union else 1.0}
    if signal.kind in ("audio", "1d"):
        return {"snr": _snr(pred, signal.values)}
    return {}


def fit(model: nn.Module, signal: Signal, *, steps: int, lr: float, schedule: str | None = None,
        batch_size: int | None = None, seed: int = 0, device: str | torch.device = "auto",
        eval_every: int | None = None, progress: bool = True,
        memory_budget: int | None = None, loss: str = "mse",
        train_mask: torch.Tensor | None = None, checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int | None = None) -> FitResult:
    """Fit ``model`` to ``signal`` with Adam on the mean squared error (or BCE on logits).

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
        loss: ``"mse"`` or ``"bce"`` (binary cross-entropy on logits; values must be 0/1,
            e.g. occupancy labels), see :data:`LOSSES`.
        train_mask: optional ``(N,)`` bool tensor: train only on the True points and report
            ``test_psnr`` on the others (e.g. :func:`inrank.subgrid_mask`, the held-out-pixel
            protocol of Tancik et al. 2020). Evaluation always predicts every point.
        checkpoint: a file to resume from (if it exists) and to save to every
            ``checkpoint_every`` steps; it holds the model, optimiser, schedule, batch order,
            history and best state, so a resumed fit ends bit for bit where an uninterrupted
            one would (CPU). Written atomically; removed when the fit finishes.
        checkpoint_every: steps between checkpoints (default ``max(1, steps // 20)``).

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
    loss_name = _checks.one_of("loss", loss, LOSSES)
    if batch_size is not None:
        batch_size = _checks.positive_int("batch_size", batch_size)
    eval_every = max(1, steps // 100) if eval_every is None else _checks.positive_int("eval_every", eval_every)
    if not isinstance(signal, Signal):
        raise InputTypeError(f"signal must be an inrank Signal, got {type(signal).__name__}")
    in_dim = getattr(model, "in_dim", signal.in_dim)
    if in_dim != signal.in_dim:
        raise InputError(f"model expects {in_dim}-D coordinates, the signal has {signal.in_dim}-D; "
                         f"build the model with in_dim={signal.in_dim}")
    if loss_name == "bce" and not bool(((signal.values == 0) | (signal.values == 1)).all()):
        raise InputError("loss='bce' needs 0/1 values (occupancy labels); use loss='mse' for "
                         "continuous signals")
    train_idx = _train_indices(train_mask, len(signal))
    dev = resolve_device(device)
    n = len(signal) if train_idx is None else int(train_idx.numel())
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
    train_coords, train_values = coords, values
    if train_idx is not None:
        train_coords, train_values = coords[train_idx.to(dev)], values[train_idx.to(dev)]
    test = None if train_mask is None else ~train_mask.to(dev)  # (N,) held-out points
    criterion = F.binary_cross_entropy_with_logits if loss_name == "bce" else F.mse_loss
    data_range = float(signal.meta.get("data_range", 1.0))
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = _scheduler(opt, schedule, steps)
    gen = torch.Generator().manual_seed(int(seed))
    perm, pos = torch.empty(0, dtype=torch.long), n

    history: list[dict] = []
    best_psnr, best_state = -math.inf, None
    train_seconds = 0.0
    start = 1
    protocol = {"steps": steps, "lr": lr, "schedule": schedule, "batch_size": batch_size,
                "seed": int(seed), "loss": loss_name, "points": n, "params": params}
    if checkpoint is not None:
        checkpoint_every = (max(1, steps // 20) if checkpoint_every is None else
                            _checks.positive_int("checkpoint_every", checkpoint_every))
        if os.path.exists(checkpoint):
            ck = load_checkpoint(checkpoint, expect={"protocol": protocol})
            model.load_state_dict(ck["model"])
            opt.load_state_dict(ck["optimizer"])
            if sched is not None:
                sched.load_state_dict(ck["scheduler"])
            gen.set_state(ck["generator"])
            perm, pos = ck["perm"].to(dev), int(ck["pos"])
            history, best_psnr, best_state = list(ck["history"]), float(ck["best_psnr"]), ck["best_state"]
            train_seconds, start = float(ck["train_seconds"]), int(ck["step"]) + 1
    bar = _progress_bar(steps, signal.name, enabled=progress)
    bar.update(start - 1)
    pred = None

    def partial(done: int) -> FitResult:
        last = history[-1]["psnr"] if history else float("nan")
        return FitResult(history, last, best_psnr, None, params, train_seconds / done, steps, lr,
                         batch_size, str(dev), int(seed), torch.empty(0, signal.channels),
                         loss_name=loss_name)

    try:
        for step in range(start, steps + 1):
            t0 = time.perf_counter()
            if batch_size is None:
                x, y = train_coords, train_values
            else:
                if pos + batch_size > n:
                    perm, pos = torch.randperm(n, generator=gen).to(dev), 0
                idx = perm[pos:pos + batch_size]
                pos += batch_size
                x, y = train_coords[idx], train_values[idx]
            loss_t = criterion(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss_t.backward()
            step_lr = float(opt.param_groups[0]["lr"])  # the lr this step uses
            opt.step()
            if sched is not None:
                sched.step()
            loss_value = float(loss_t.detach())  # syncs the device, so the timing below is honest
            train_seconds += time.perf_counter() - t0
            if not math.isfinite(loss_value):
                if best_state is not None:
                    model.load_state_dict(best_state)
                raise DivergedError(
                    f"loss became {loss_value} at step {step} (lr={lr:g}); try a smaller lr. "
                    f"The model was restored to its best state ({best_psnr:.2f} dB)", partial(step))
            bar.update(1)
            if step % eval_every == 0 or step == steps:
                pred = predict(model, coords)
                scores = _scores(pred, values, loss=loss_name,
                                 data_range=data_range, test=test)
                history.append({"step": step, "loss": loss_value, "lr": step_lr, **scores,
                                "seconds": train_seconds})
                if scores["psnr"] > best_psnr:
                    best_psnr = scores["psnr"]
                    best_state = copy.deepcopy(model.state_dict())
                bar.set_postfix(psnr=f"{scores['psnr']:.2f} dB", refresh=False)
            if checkpoint is not None and (step % checkpoint_every == 0 or step == steps):
                save_checkpoint(checkpoint, {
                    "protocol": protocol, "step": step, "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict() if sched is not None else {},
                    "generator": gen.get_state(), "perm": perm.cpu(), "pos": pos,
                    "history": history, "best_psnr": best_psnr, "best_state": best_state,
                    "train_seconds": train_seconds})
    finally:
        bar.close()

    if pred is None:  # resumed from a checkpoint of the last step
        pred = predict(model, coords)
    if checkpoint is not None and os.path.exists(checkpoint):
        os.unlink(checkpoint)
    pred_cpu = pred.detach().float().cpu()
    ssim_value = None
    if signal.kind == "image":
        ssim_value = _ssim(signal.to_image(pred_cpu), signal.to_image(signal.values), data_range=data_range)
    last = history[-1]
    metrics = {k: v for k, v in last.items() if k not in ("step", "loss", "lr", "seconds")}
    metrics.update(_task_metrics(signal, pred_cpu, loss_name))
    return FitResult(history, last["psnr"], best_psnr, ssim_value, params,
                     train_seconds / steps, steps, lr, batch_size, str(dev), int(seed), pred_cpu,
                     train_psnr=last.get("train_psnr"), test_psnr=last.get("test_psnr"),
                     metrics=metrics, loss_name=loss_name)


def _progress_bar(total: int, name: str, *, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"fit {name}", unit="step", disable=not enabled, leave=False,
                dynamic_ncols=True, mininterval=0.5)
