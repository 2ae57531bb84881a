"""Fit many independent INRs of one architecture at once: stacked weights, one batched pass.

``fit_models(models, signals)`` stacks the models' parameters (``torch.func.stack_module_state``)
and trains them together with ``vmap(functional_call)``, i.e. batched matmuls. The loss is the
sum of the per-signal mean losses, so each model's gradient is exactly its own, and Adam is
element-wise, so every model follows the trajectory of its own :func:`inrank.fit` (to float
summation order). Signals are grouped by ``(N, d, c)``; each group is one batched pass.
"""
from __future__ import annotations

import copy
import math
import time
import warnings
from collections import defaultdict
from collections.abc import Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from .. import validation as _checks
from ..errors import DivergedError, InputError, InputTypeError
from .loop import FitResult, fit, resolve_device
from ..metrics import psnr as _psnr
from ..metrics import ssim as _ssim
from ..nn.presets import build
from ..signals.signal import Signal

__all__ = ["fit_many", "fit_models"]


def fit_many(name: str, signals: Sequence[Signal], *, steps: int, lr: float, width: int = 256,
             depth: int = 3, seed: int = 0, device: str | torch.device = "auto",
             eval_every: int | None = None, progress: bool = True, **overrides) -> list[FitResult]:
    """Fit preset ``name`` to every signal, all at once.

    Every signal's model starts from ``build(name, d, c, width, depth, seed=seed, **overrides)``,
    the same init a separate ``fit`` would get, and the results equal those of separate
    full-batch ``fit(..., seed=seed)`` calls to float tolerance.

    Args:
        name: a preset of :func:`inrank.presets`.
        signals: B signals; any mix of sizes (grouped by shape internally).
        steps, lr, device, eval_every, progress: as in :func:`inrank.fit` (full batch, no schedule).
        width, depth, seed, **overrides: as in :func:`inrank.build`.

    Returns:
        One :class:`FitResult` per signal, in order. ``seconds_per_step`` is the batched step's
        wall time divided by the group size (the amortised cost of one signal-step).

    Examples:
        >>> import inrank
        >>> sigs = [inrank.load_image(s, size=8) for s in ("camera", "moon")]
        >>> [len(r.history) for r in fit_many("relu", sigs, steps=3, lr=1e-3, width=8, depth=1,
        ...                                    progress=False)]
        [3, 3]
    """
    models = [build(name, s.in_dim, s.channels, width=width, depth=depth, seed=seed, **overrides)
              for s in signals]
    return fit_models(models, signals, steps=steps, lr=lr, seed=seed, device=device,
                      eval_every=eval_every, progress=progress)


def fit_models(models: Sequence[nn.Module], signals: Sequence[Signal], *, steps: int, lr: float,
               seed: int = 0, device: str | torch.device = "auto", eval_every: int | None = None,
               progress: bool = True) -> list[FitResult]:
    """Train ``models[i]`` on ``signals[i]`` in place, batched; see :func:`fit_many`.

    Models with BatchNorm couple samples through running statistics that ``vmap`` cannot
    update in place; they are fitted one after another with :func:`inrank.fit` (a warning says so).
    """
    if len(models) != len(signals):
        raise InputError(f"got {len(models)} models for {len(signals)} signals; pass one model per signal")
    if not signals:
        return []
    steps = _checks.positive_int("steps", steps)
    lr = _checks.positive_float("lr", lr)
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for model in models for m in model.modules()):
        warnings.warn("BatchNorm models cannot be batched with vmap: fitting them one by one",
                      stacklevel=2)
        return [fit(m, s, steps=steps, lr=lr, seed=seed, device=device, eval_every=eval_every,
                    progress=progress) for m, s in zip(models, signals)]
    groups: dict[tuple, list[int]] = defaultdict(list)
    for i, s in enumerate(signals):
        if not isinstance(s, Signal):
            raise InputTypeError(f"signals[{i}] must be an inrank Signal, got {type(s).__name__}")
        groups[(len(s), s.in_dim, s.channels)].append(i)
    results: list[FitResult | None] = [None] * len(signals)
    for idx in groups.values():
        group = _fit_group([models[i] for i in idx], [signals[i] for i in idx], steps=steps, lr=lr,
                           seed=seed, device=resolve_device(device),
                           eval_every=max(1, steps // 100) if eval_every is None else
                           _checks.positive_int("eval_every", eval_every), progress=progress)
        for i, r in zip(idx, group):
            results[i] = r
    return results  # type: ignore[return-value]


def _fit_group(models: list[nn.Module], signals: list[Signal], *, steps: int, lr: float, seed: int,
               device: torch.device, eval_every: int, progress: bool) -> list[FitResult]:
    """One batched pass over B signals of the same shape."""
    from tqdm.auto import tqdm

    B = len(models)
    for m in models:
        m.to(device).train()
    params, buffers = stack_module_state(models)  # each (B, ...) leaf tensors
    base = copy.deepcopy(models[0]).to("meta")

    def one(p: dict, b: dict, x: torch.Tensor) -> torch.Tensor:
        return functional_call(base, (p, b), (x,))

    batched = vmap(one)
    X = torch.stack([s.coords for s in signals]).to(device)   # (B, N, d)
    Y = torch.stack([s.values for s in signals]).to(device)   # (B, N, c)
    ranges = [float(s.meta.get("data_range", 1.0)) for s in signals]
    opt = torch.optim.Adam(list(params.values()), lr=lr)
    n_params = sum(p.numel() for p in models[0].parameters() if p.requires_grad)
    histories: list[list[dict]] = [[] for _ in range(B)]
    best = [-math.inf] * B
    best_params: list[dict | None] = [None] * B
    train_seconds = 0.0
    bar = tqdm(total=steps, desc=f"fit_many x{B}", unit="step", disable=not progress, leave=False,
               mininterval=0.5)
    try:
        for step in range(1, steps + 1):
            t0 = time.perf_counter()
            per_signal = ((batched(params, buffers, X) - Y) ** 2).mean(dim=(1, 2))  # (B,)
            opt.zero_grad(set_to_none=True)
            per_signal.sum().backward()
            opt.step()
            losses = per_signal.detach().cpu().tolist()
            train_seconds += time.perf_counter() - t0
            bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
            if bad:
                raise DivergedError(f"loss became non-finite at step {step} for signal(s) "
                                    f"{[signals[i].name for i in bad]} (lr={lr:g}); try a smaller lr")
            bar.update(1)
            if step % eval_every == 0 or step == steps:
                with torch.no_grad():
                    pred = batched(params, buffers, X)
                for i in range(B):
                    score = _psnr(pred[i], Y[i], data_range=ranges[i])
                    histories[i].append({"step": step, "loss": losses[i], "lr": lr, "psnr": score,
                                         "seconds": train_seconds})
                    if score > best[i]:
                        best[i] = score
                        best_params[i] = {k: v[i].detach().clone() for k, v in params.items()}
                bar.set_postfix(psnr=f"{sum(h[-1]['psnr'] for h in histories) / B:.2f} dB mean",
                                refresh=False)
    finally:
        bar.close()
    results = []
    for i, (model, sig) in enumerate(zip(models, signals)):
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(params[name][i])
        pred_i = pred[i].detach().float().cpu()
        ssim_value = None
        if sig.kind == "image":
            ssim_value = _ssim(sig.to_image(pred_i), sig.to_image(sig.values), data_range=ranges[i])
        results.append(FitResult(histories[i], histories[i][-1]["psnr"], best[i], ssim_value,
                                 n_params, train_seconds / steps / B, steps, lr, None, str(device),
                                 int(seed), pred_i, metrics={"psnr": histories[i][-1]["psnr"]}))
    return results
