"""The training loop: Adam on the MSE between ``model(coords)`` and ``values`` (or BCE on
logits for occupancy), optionally on a subset of the points with the rest held out.

:func:`run_training` is the one loop; it trains a :mod:`~inrank.train.trainees` object (one
model, or B stacked models) and is assembled from named pieces: options
(:mod:`~inrank.train.options`), the batch order (:mod:`~inrank.train.batching`), one step
(:func:`train_step`), evaluation (:mod:`~inrank.train.evaluate`), the result
(:mod:`~inrank.train.result`) and the checkpoint state (:mod:`~inrank.train.checkpoint`).
:func:`fit` trains one model; :func:`inrank.fit_many` trains many with the same loop.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import DivergedError, InputError, InputTypeError
from ..signals.signal import Signal
from .batching import BatchOrder
from .callbacks import notify
from .checkpoint import (CheckpointError, load_checkpoint, model_identity, save_checkpoint,
                         signal_identity)
from .device import (bytes_per_point, default_memory_budget, full_batch_or_minibatch,
                     resolve_device)
from .evaluate import image_ssim, scores, task_metrics
from .optimizers import (OptimizerSpec, lr_scales, make_optimizer, optimizer_name,
                         resolve_optimizer)
from .options import FitOptions, make_scheduler, train_indices
from .precision import check_precision, grad_scaler
from .tracking import rank_snapshot, track_point_indices
from .result import FitResult
from .trainees import OneModel

__all__ = ["fit", "run_training", "train_step", "check_pair", "PRECISION_LIMIT_DB"]

#: A low-precision fit whose float32 continuation gains more than this (dB) is precision-limited.
PRECISION_LIMIT_DB = 0.5


def check_pair(model: nn.Module, signal: Signal, loss: str) -> None:
    """Check that ``model`` can be fitted to ``signal`` with ``loss``; raise a clear error."""
    if not isinstance(signal, Signal):
        raise InputTypeError(f"signal must be an inrank Signal, got {type(signal).__name__}")
    from ..nn.layers import declared_dim

    in_dim = declared_dim(model, "in_dim") or signal.in_dim
    if in_dim != signal.in_dim:
        raise InputError(f"model expects {in_dim}-D coordinates, the signal has {signal.in_dim}-D; "
                         f"build the model with in_dim={signal.in_dim}")
    if (loss == "sdf") != (signal.kind == "sdf"):
        raise InputError("loss='sdf' fits an SDF signal (inrank.load_mesh_sdf, or inrank fit "
                         "MESH --task sdf) and an SDF signal takes loss='sdf' only; got "
                         f"loss={loss!r} with a {signal.kind!r} signal")
    if loss == "bce" and not bool(((signal.values == 0) | (signal.values == 1)).all()):
        raise InputError("loss='bce' needs 0/1 values (occupancy labels); use loss='mse' for "
                         "continuous signals")
    out_dim = _probe_out_dim(model, signal)
    if out_dim != signal.out_dim:
        raise InputError(f"model outputs {out_dim} channel(s), the signal has {signal.out_dim}; "
                         f"build the model with out_dim={signal.out_dim}")


def _probe_out_dim(model: nn.Module, signal: Signal) -> int:
    """The channels ``model`` outputs, from its config or a forward pass on two points."""
    from ..nn.layers import declared_dim

    declared = declared_dim(model, "out_dim")
    if declared is not None:
        return declared
    first = next(iter(model.parameters()), None)
    x = signal.coords[:2]
    if first is not None:
        x = x.to(device=first.device, dtype=first.dtype if first.is_floating_point() else x.dtype)
    was = model.training
    try:
        with torch.no_grad():
            y = model.eval()(x)
    except Exception as exc:  # a model that cannot take the signal's coordinates
        raise InputError(f"the model cannot take the signal's {tuple(x.shape[1:])}-wide "
                         f"coordinates ({exc.__class__.__name__}: {str(exc).splitlines()[0]})") from None
    finally:
        model.train(was)
    if not isinstance(y, torch.Tensor) or y.dim() != 2 or y.shape[0] != x.shape[0]:
        raise InputError(f"the model must map (N, d) coordinates to an (N, c) tensor; on "
                         f"{tuple(x.shape)} it returned "
                         f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")
    return int(y.shape[1])


def train_step(trainee, idx: torch.Tensor | None, opt: torch.optim.Optimizer,
               sched, *, scaler=None) -> tuple[list[float], float]:
    """One optimisation step of every model in ``trainee`` on the batch ``idx`` (with fp16's
    loss ``scaler``, if any).

    Returns:
        Each model's loss before the step, and the learning rate the step used.
    """
    losses = trainee.losses(idx)                               # (B,)
    opt.zero_grad(set_to_none=True)
    lr = float(opt.param_groups[0]["lr"])
    if scaler is None:
        losses.sum().backward()                                # each model's own gradient
        opt.step()
    else:
        scaler.scale(losses.sum()).backward()
        scaler.step(opt)
        scaler.update()
    if sched is not None:
        sched.step()
    return losses.detach().cpu().tolist(), lr                  # syncs the device: honest timing


def _progress_bar(total: int, name: str, *, enabled: bool):
    """A persistent progress line named after the method and the signal."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name, unit="step", disable=not enabled, leave=True,
                dynamic_ncols=True, mininterval=0.5)


def _label(trainee, signals: Sequence[Signal], optimizer: str) -> str:
    """``METHOD on SIGNAL`` (``xB`` for a batched pass), with a non-default optimiser named."""
    model = trainee.models[0] if trainee.size > 1 else trainee.model
    method = getattr(model, "preset", type(model).__name__)
    target = signals[0].name if trainee.size == 1 else f"{trainee.size} signals"
    return f"{method} on {target}" + ("" if optimizer == "adam" else f" ({optimizer})")


def run_training(trainee, signals: Sequence[Signal], options: FitOptions, *,
                 device: torch.device, batch_size: int | None, n_train: int,
                 tests: Sequence[torch.Tensor | None], params: int) -> list[FitResult]:
    """Train every model of ``trainee`` on its signal; the loop that :func:`fit` and
    :func:`inrank.fit_many` share.

    Args:
        trainee: :class:`~inrank.train.trainees.OneModel` or
            :class:`~inrank.train.trainees.StackedModels` (B models).
        signals: the B targets.
        options: checked :class:`FitOptions`.
        device: where ``trainee`` lives.
        batch_size: points per step (None: full batch), as resolved for ``n_train``.
        n_train: training points per signal.
        tests: per signal, the held-out mask ``(N,)`` on ``device`` or None.
        params: trainable parameters per model.

    Returns:
        One :class:`FitResult` per signal.

    Raises:
        DivergedError: a loss became NaN or inf; every model is restored to its best
            evaluated state and ``err.result`` holds the partial result (a list when B > 1).
    """
    o, B = options, trainee.size
    opt_name = optimizer_name(o.optimizer)
    first = trainee.models[0] if trainee.size > 1 else trainee.model
    opt = make_optimizer(trainee.named_parameters(),
                         trainee.hidden_weight_names() if o.optimizer == "muon" else [],
                         optimizer=o.optimizer, lr=o.lr, muon_lr=o.muon_lr,
                         stacked=trainee.stacked_parameters, lr_scales=lr_scales(first))
    sched = make_scheduler(opt, o.schedule, o.steps)
    order = BatchOrder(n_train, batch_size, seed=o.seed)
    ranges = [float(s.meta.get("data_range", 1.0)) for s in signals]
    histories: list[list[dict]] = [[] for _ in range(B)]
    best, best_states = [-math.inf] * B, [None] * B
    train_seconds, start = 0.0, 1
    tracks: list[list[dict]] = [[] for _ in range(B)]
    track_seconds = 0.0
    track_idx = [track_point_indices(len(s), o.track_points, seed=o.seed) for s in signals]

    def track(step: int) -> None:
        nonlocal track_seconds
        t0 = time.perf_counter()
        for i in range(B):
            coords = signals[i].coords[track_idx[i]]
            tracks[i].append(rank_snapshot(trainee.module(i), coords, step))
        track_seconds += time.perf_counter() - t0

    protocol = {"steps": o.steps, "lr": o.lr, "schedule": o.schedule, "batch_size": batch_size,
                "seed": o.seed, "loss": o.loss, "points": n_train, "params": params, "models": B,
                "precision": o.precision, "optimizer": opt_name,
                "muon_lr": o.muon_lr}
    if trainee.measurement is not None:  # an inverse problem: its operator (inrank.operators)
        protocol["operator"] = trainee.measurement["operator"]
    scaler = grad_scaler(device, o.precision)
    identity: dict = {}
    if o.checkpoint is not None:  # what the run is: its models (method, config, init), its data
        identity = {"identity": {
            "models": [model_identity(trainee.module(i), trainee.snapshot(i)) for i in range(B)],
            "signals": [signal_identity(s) for s in signals]}}
        if trainee.measurement is not None:
            identity["identity"]["measurements"] = trainee.measurement["content"]
    resumed_from = None
    if o.checkpoint is not None and os.path.exists(o.checkpoint):
        ck = load_checkpoint(o.checkpoint, expect={**identity, "protocol": protocol})
        try:
            trainee.load_state_dict(ck["models"])
            opt.load_state_dict(ck["optimizer"])
            if sched is not None:
                sched.load_state_dict(ck["scheduler"])
            order.load_state_dict(ck["order"])
            histories, best, best_states = ck["histories"], ck["best_psnr"], ck["best_states"]
            tracks, track_seconds = ck.get("tracks", tracks), float(ck.get("track_seconds", 0.0))
            train_seconds, start = float(ck["train_seconds"]), int(ck["step"]) + 1
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise CheckpointError(f"checkpoint {str(o.checkpoint)!r} is damaged "
                                  f"({exc.__class__.__name__}: {str(exc).splitlines()[0][:120]}); "
                                  "delete it to start over") from None
        resumed_from = start - 1
    name = _label(trainee, signals, opt_name)
    if resumed_from is not None:
        name += f" (resumed at step {resumed_from})"
    bar = _progress_bar(o.steps, name, enabled=o.progress)
    bar.update(start - 1)
    preds = None
    notify(o.callbacks, "on_start", {"steps": o.steps, "models": B, "resumed_from": resumed_from,
                                     "signals": [s.name for s in signals], **protocol})

    def result(i: int, done: int, pred: torch.Tensor | None) -> FitResult:
        hist = histories[i]
        last = hist[-1] if hist else {"psnr": float("nan")}
        if pred is None:  # a partial result
            return FitResult(hist, last["psnr"], best[i], None, params, train_seconds / done / B,
                             o.steps, o.lr, batch_size, str(device), o.seed,
                             torch.empty(0, signals[i].out_dim), loss_name=o.loss)
        metrics = {k: v for k, v in last.items()
                   if k not in ("step", "loss", "lr", "train_seconds")}
        metrics.update(task_metrics(signals[i], pred, o.loss))
        return FitResult(hist, last["psnr"], best[i], image_ssim(signals[i], pred), params,
                         train_seconds / o.steps / B, o.steps, o.lr, batch_size, str(device),
                         o.seed, pred, train_psnr=last.get("train_psnr"),
                         test_psnr=last.get("test_psnr"), metrics=metrics, loss_name=o.loss)

    if o.track_every is not None and start == 1:
        track(0)
    try:
        for step in range(start, o.steps + 1):
            t0 = time.perf_counter()
            losses, step_lr = train_step(trainee, order.next(), opt, sched, scaler=scaler)
            train_seconds += time.perf_counter() - t0
            bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
            if bad:
                for i in range(B):
                    if best_states[i] is not None:
                        trainee.restore(i, best_states[i])
                trainee.finish()
                partial = [result(i, step, None) for i in range(B)]
                notify(o.callbacks, "on_end", partial)  # loggers close their files
                where = "" if B == 1 else f" for {[signals[i].name for i in bad]}"
                raise DivergedError(
                    f"loss became {losses[bad[0]]} at step {step}{where} (lr={o.lr:g}); try a "
                    f"smaller lr. The model was restored to its best state "
                    f"({max(best[i] for i in bad):.2f} dB)", partial[0] if B == 1 else partial)
            bar.update(1)
            if step % o.eval_every == 0 or step == o.steps:
                preds = trainee.predict()                                     # (B, N, c)
                for i in range(B):
                    s = scores(preds[i], trainee.targets(i), loss=o.loss, data_range=ranges[i],
                               test=tests[i])
                    histories[i].append({"step": step, "loss": losses[i], "lr": step_lr, **s,
                                         "train_seconds": train_seconds})
                    if s["psnr"] > best[i]:
                        best[i], best_states[i] = s["psnr"], trainee.snapshot(i)
                    if o.callbacks:
                        notify(o.callbacks, "on_eval", step,
                               {"index": i, "signal": signals[i].name, **histories[i][-1]},
                               trainee.module(i))
                mean = sum(h[-1]["psnr"] for h in histories) / B
                bar.set_postfix(psnr=f"{mean:.2f} dB" + (" mean" if B > 1 else ""), refresh=False)
            if o.track_every is not None and (step % o.track_every == 0 or step == o.steps):
                track(step)
            if o.checkpoint is not None and (step % o.checkpoint_every == 0 or step == o.steps):
                save_checkpoint(o.checkpoint, {
                    "protocol": protocol, **identity, "step": step,
                    "models": trainee.state_dict(),
                    "optimizer": opt.state_dict(),
                    "scheduler": sched.state_dict() if sched is not None else {},
                    "order": order.state_dict(), "histories": histories, "best_psnr": best,
                    "best_states": best_states, "train_seconds": train_seconds,
                    "tracks": tracks, "track_seconds": track_seconds})
    finally:
        bar.close()
    if preds is None:  # resumed from a checkpoint of the last step
        preds = trainee.predict()
    check = None
    if o.precision != "float32" and o.check_steps:
        check = check_precision(trainee, opt, order, sched, steps=o.check_steps, evaluate=lambda p: [
            scores(p[i], trainee.targets(i), loss=o.loss, data_range=ranges[i], test=tests[i])["psnr"]
            for i in range(B)])
        if check["gain_db"] > PRECISION_LIMIT_DB:
            warnings.warn(
                f"the {o.precision} result is precision-limited: {check['steps']} more steps in "
                f"float32 reach {check['gain_db']:.2f} dB more than in {o.precision} from the same "
                "state; use precision='float32' for the last digits", stacklevel=3)
    if o.checkpoint is not None and os.path.exists(o.checkpoint):
        os.unlink(o.checkpoint)
    trainee.finish()
    results = [result(i, o.steps, preds[i].detach().float().cpu()) for i in range(B)]
    for r, t in zip(results, tracks):
        r.precision, r.precision_check = o.precision, check
        r.track, r.track_seconds = t, track_seconds / B
        r.optimizer, r.muon_lr, r.resumed_from = protocol["optimizer"], protocol["muon_lr"], resumed_from
        r.operator = protocol.get("operator")
    notify(o.callbacks, "on_end", results)
    return results


def fit(model: nn.Module, signal: Signal, *, steps: int, lr: float, schedule: str | None = None,
        batch_size: int | None = None, seed: int = 0, device: str | torch.device = "auto",
        eval_every: int | None = None, progress: bool = True,
        memory_budget: int | None = None, loss: str = "mse",
        train_mask: torch.Tensor | None = None, checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int | None = None, precision: str = "float32",
        check_steps: int | None = None, track_every: int | None = None,
        track_points: int = 512, compile: bool = False, optimizer: OptimizerSpec | None = None,
        muon_lr: float | None = None, callbacks: Sequence | None = None,
        operator=None, measurements: torch.Tensor | None = None) -> FitResult:
    """Fit ``model`` to ``signal`` with Adam (or Muon) on the mean squared error (or BCE on
    logits), or solve an inverse problem through a measurement ``operator``.

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
        loss: ``"mse"``, ``"bce"`` (binary cross-entropy on logits; values must be 0/1,
            e.g. occupancy labels) or ``"sdf"`` (SIREN's signed-distance loss on an SDF signal,
            :func:`inrank.load_mesh_sdf`: surface, normal, eikonal and off-surface terms,
            :mod:`inrank.train.sdf`; a batch index draws a surface point and an off-surface
            point; the PSNR is of ``f`` on the surface against 0, peak 2), see
            :data:`inrank.train.options.LOSSES`.
        train_mask: optional ``(N,)`` bool tensor: train only on the True points and report
            ``test_psnr`` on the others (e.g. :func:`inrank.subgrid_mask`, the held-out-pixel
            protocol of Tancik et al. 2020). Evaluation always predicts every point.
        checkpoint: a file to resume from (if it exists) and to save to every
            ``checkpoint_every`` steps; it holds the model, optimiser, schedule, batch order,
            history and best state, so a resumed fit ends bit for bit where an uninterrupted
            one would (CPU). Written atomically; removed when the fit finishes.
        checkpoint_every: steps between checkpoints (default ``max(1, steps // 20)``).
        precision: ``"float32"`` (default), ``"bf16"`` or ``"fp16"``: the forward pass runs
            under autocast in that dtype; weights, optimiser, loss and metrics stay float32.
            A low-precision fit ends with a check (``check_steps`` more steps from the final
            state, once in its precision and once in float32): ``result.precision_check``
            holds the PSNR float32 gains and the speed-up, and a warning says when the gain
            exceeds :data:`PRECISION_LIMIT_DB`.
        check_steps: steps of that check (default ``min(100, max(10, steps // 10))``; 0 skips).
        track_every: record the rank dynamics every this many steps and at step 0
            (``result.track``, :func:`inrank.train.tracking.rank_snapshot`): the ranks of every
            layer's features and its NTK block's share and top eigenvalues, on a fixed
            subsample of ``track_points`` points; its time is kept out of ``seconds_per_step``.
        track_points: the subsample's size.
        compile: train through ``torch.compile(model)`` (a one-off compile, then a faster
            step; worth it for long fits: benchmarks/results/compile_speed.md).
        optimizer: None: the optimiser the model was built for (``model.built_for``,
            :func:`inrank.build`, whose default is the method's
            :attr:`~inrank.Preset.default_optimizer`), ``"adam"`` for other modules;
            ``"adam"``; ``"muon"``: Muon (:class:`inrank.train.optimizers.Muon`,
            ``torch.optim.Muon``'s update, no weight decay, scaled to Adam's RMS) on the weights of every dense layer but the first and the
            last, Adam at ``lr`` on the rest (McGinnis et al. 2025); or a factory
            ``f(params, lr=lr) -> torch.optim.Optimizer`` (e.g. ``torch.optim.AdamW``). The
            schedule scales every lr alike; a checkpoint holds the whole optimiser state.
        muon_lr: Muon's learning rate (default ``lr``).
        callbacks: objects or functions called at every evaluation with
            ``(step, metrics, model)`` (:mod:`inrank.train.callbacks`: ``CSVLogger``,
            ``TensorBoardLogger``).
        operator: an inverse problem's forward operator ``A``
            (:class:`inrank.operators.Operator`, e.g. from :func:`inrank.make_task`): the
            loss is ``mse(A(model(coords)), measurements)`` on the full batch, while every PSNR
            (and ``best_psnr``) compares ``model(coords)`` with ``signal.values``, the ground
            truth the loss never sees; ``test_psnr`` is on the points ``A`` does not measure
            (inpainting). Takes ``loss="mse"`` only, no ``batch_size``, no ``train_mask``;
            :func:`inrank.fit_many` stacks many signals through one operator.
        measurements: ``(M, c)``, what ``A`` should produce (with ``operator``).

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
    optimizer = resolve_optimizer([model], optimizer)
    o = FitOptions(steps=steps, lr=lr, schedule=schedule or "none", batch_size=batch_size,
                   seed=seed, device=str(device), eval_every=eval_every, progress=progress,
                   memory_budget=memory_budget, loss=loss, checkpoint=checkpoint,
                   checkpoint_every=checkpoint_every, precision=precision,
                   check_steps=check_steps, track_every=track_every,
                   track_points=track_points, compile=compile, optimizer=optimizer,
                   muon_lr=muon_lr, callbacks=callbacks).checked()
    check_pair(model, signal, o.loss)
    dev = resolve_device(o.device)
    params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if operator is not None or measurements is not None:  # an inverse problem
        from .measured import measured_trainee

        trainee, test = measured_trainee(model, signal, operator, measurements, o,
                                         train_mask=train_mask, device=dev)
        return run_training(trainee, [signal], o, device=dev, batch_size=None,
                            n_train=len(signal), tests=[test], params=params)[0]
    budget = default_memory_budget(dev) if o.memory_budget is None else int(o.memory_budget)
    if o.loss == "sdf":  # surface + off-surface points per index, gradients through gradients
        from .sdf import SDFModel

        if train_mask is not None:
            raise InputError("train_mask cannot be used with loss='sdf': every surface sample "
                             "trains; score the shape with inrank.sdf_metrics")
        if o.compile:  # torch.compile's autograd cannot differentiate a gradient again
            raise InputError("compile=True cannot be used with loss='sdf': the loss "
                             "differentiates through the input gradient, which torch.compile "
                             "does not support (double backward); pass compile=False")
        batch = full_batch_or_minibatch(o.batch_size, len(signal), 6 * bytes_per_point(model),
                                        budget)
        trainee = SDFModel(model, signal, dev, o.precision, compile=o.compile)
        return run_training(trainee, [signal], o, device=dev, batch_size=batch,
                            n_train=len(signal), tests=[None], params=params)[0]
    train_idx = train_indices(train_mask, len(signal))
    n = len(signal) if train_idx is None else int(train_idx.numel())
    batch = full_batch_or_minibatch(o.batch_size, n, bytes_per_point(model), budget)
    test = None if train_mask is None else ~train_mask.to(dev)  # (N,) held-out points
    trainee = OneModel(model, signal, train_idx, dev, o.loss, o.precision, compile=o.compile)
    return run_training(trainee, [signal], o, device=dev, batch_size=batch, n_train=n,
                        tests=[test], params=params)[0]
