"""The training loop: Adam (or Muon) on the MSE between ``model(coords)`` and ``values`` (or BCE
on logits for occupancy), optionally on a subset of the points with the rest held out.

:func:`run_training` is the one loop; it trains a :mod:`~inrank.train.trainees` object (one
model, or B stacked models) with one :class:`~inrank.train.settings.FitSettings`, assembled
from named pieces: the batch order (:mod:`~inrank.train.batching`), one step
(:mod:`~inrank.train.step`), evaluation (:mod:`~inrank.train.evaluate`), the training state
and its checkpoint (:mod:`~inrank.train.state`) and the result (:mod:`~inrank.train.result`).
:func:`inrank.fit` (:mod:`~inrank.train.fit`) trains one model; :func:`inrank.fit_many` trains
many with the same loop.
"""
from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Sequence

import torch
from torch import nn

from ..errors import DivergedError, FitFailedError, InputError, InputTypeError
from ..metrics import mean_psnr
from ..nn.layers import declared_dim
from ..signals.signal import Signal
from .batching import BatchOrder
from .callbacks import notify
from .checkpoint import model_identity, signal_identity
from .evaluate import image_ssim, scores, task_metrics
from .optimizers import current_lrs, make_optimizer
from .options import make_scheduler
from .precision import check_precision, grad_scaler, warn_slow_precision
from .result import FitResult
from .settings import FitSettings
from .state import TrainingState, resume_training, save_training
from .step import train_step
from .tracking import rank_snapshot, track_point_indices

__all__ = ["run_training", "check_pair", "PRECISION_LIMIT_DB", "COLLAPSE_DB"]

#: A low-precision fit whose float32 continuation gains more than this (dB) is precision-limited.
PRECISION_LIMIT_DB = 0.5
#: A fit that ends more than this (dB) below its best evaluation collapsed (status
#: ``"collapsed"``: retried at a lower lr like one that did not learn). Of the 448 committed
#: bench runs the largest such drop is 4.7 dB (table1's relu with Muon on kodim02, a late dip).
COLLAPSE_DB = 6.0


def check_pair(model: nn.Module, signal: Signal, loss: str) -> None:
    """Check that ``model`` can be fitted to ``signal`` with ``loss``; raise a clear error."""
    if not isinstance(signal, Signal):
        raise InputTypeError(f"signal must be an inrank Signal, got {type(signal).__name__}")
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


def _lrs_text(s: FitSettings) -> str:
    return f"lr={s.lr:g}" + ("" if s.muon_lr is None else f", muon_lr={s.muon_lr:g}")


#: The share of the training time the default evaluation cadence allows evaluations
EVAL_SHARE = 0.05


def evaluation_cadence(settings: FitSettings, batch_size: int | None, n_points: int) -> int:
    """Steps between evaluations: ``settings.eval_every`` when the user gave it; else its
    default (``steps // 100``), made longer under mini-batches so that evaluations stay at
    about :data:`EVAL_SHARE` of the training time.

    An evaluation is a forward pass over all ``n_points``, about ``n_points / (3 B)`` training
    steps of ``B`` points (forward and backward); so under mini-batches the cadence is at least
    ``n_points / (3 B EVAL_SHARE)`` steps, and at most ``steps // 10`` (ten evaluations, the
    best-state choice's resolution). Full batches keep the default.

    Examples:
        >>> import inrank
        >>> from inrank.train.settings import resolve_settings
        >>> s = resolve_settings([inrank.build("relu", 2, 3, width=16, depth=2)], steps=1000)
        >>> evaluation_cadence(s, None, 98304), evaluation_cadence(s, 8192, 98304)
        (10, 80)
    """
    s = settings
    if "eval_every" in s.given or batch_size is None or batch_size >= n_points:
        return s.eval_every
    wanted = math.ceil(n_points / (3 * batch_size * EVAL_SHARE))
    return max(s.eval_every, min(wanted, max(1, s.steps // 10)))


def run_training(trainee, signals: Sequence[Signal], settings: FitSettings, *,
                 batch_size: int | None, n_train: int,
                 tests: Sequence[torch.Tensor | None], params: int,
                 checkpoint: str | os.PathLike | None = None) -> list[FitResult]:
    """Train every model of ``trainee`` on its signal; the loop that :func:`fit` and
    :func:`inrank.fit_many` share.

    Args:
        trainee: :class:`~inrank.train.trainees.OneModel` or
            :class:`~inrank.train.trainees.StackedModels` (B models).
        signals: the B targets.
        settings: the resolved :class:`~inrank.train.settings.FitSettings`.
        batch_size: points per step (None: full batch), as resolved for ``n_train``.
        n_train: training points per signal.
        tests: per signal, the held-out mask ``(N,)`` on the device or None.
        params: trainable parameters per model.
        checkpoint: this pass's checkpoint file (:func:`inrank.fit_models` gives each pass
            its own), default ``settings.checkpoint``.

    Returns:
        One :class:`FitResult` per signal.

    Raises:
        DivergedError: a loss became NaN or inf; every model is restored to its best
            evaluated state and ``err.result`` holds the partial result (a list when B > 1).
        FitFailedError: a model ended below its signal's mean predictor or its first
            evaluation (unless ``settings.accept_worse``); ``err.result`` holds the results.
    """
    s, B = settings, trainee.size
    checkpoint = s.checkpoint if checkpoint is None else checkpoint
    device = torch.device(s.device)
    opt = make_optimizer(trainee.named_parameters(),
                         trainee.hidden_weight_names() if s.optimizer == "muon" else [],
                         optimizer=s.optimizer, lr=s.lr, muon_lr=s.muon_lr,
                         stacked=trainee.stacked_parameters, lr_scales=s.lr_scales)
    sched = make_scheduler(opt, s.schedule, s.steps)
    order = BatchOrder(n_train, batch_size, seed=s.seed)
    eval_every = evaluation_cadence(s, batch_size, len(signals[0]))
    state = TrainingState(B)
    ranges = [float(sig.meta.get("data_range", 1.0)) for sig in signals]
    floors = [None if s.loss == "sdf" else  # the mean predictor (for bce: the mean label)
              mean_psnr(trainee.targets(i), data_range=1.0 if s.loss == "bce" else ranges[i])
              for i in range(B)]
    track_idx = [track_point_indices(len(sig), s.track_points, seed=s.seed) for sig in signals]
    protocol = {**s.protocol(), "batch_size": batch_size, "points": n_train, "params": params,
                "models": B}
    if trainee.measurement is not None:  # an inverse problem: its operator (inrank.operators)
        protocol["operator"] = trainee.measurement["operator"]
    expect: dict = {}
    if checkpoint is not None:  # what the run is: its models (method, config, init), its data
        identity = {"models": [model_identity(trainee.module(i), trainee.snapshot(i))
                               for i in range(B)],
                    "signals": [signal_identity(sig) for sig in signals]}
        if trainee.measurement is not None:
            identity["measurements"] = trainee.measurement["content"]
        expect["identity"] = identity   # compared first: a mismatch names the method
    expect["protocol"] = protocol
    resumed_from = (None if checkpoint is None else
                    resume_training(checkpoint, expect, trainee, opt, sched, order, state))
    warn_slow_precision(device, s.precision)
    scaler = grad_scaler(device, s.precision)

    def track(step: int) -> None:
        t0 = time.perf_counter()
        for i in range(B):
            coords = signals[i].coords[track_idx[i]]
            state.tracks[i].append(rank_snapshot(trainee.module(i), coords, step))
        state.track_seconds += time.perf_counter() - t0

    def evaluate(step: int, losses: list[float], lrs: dict) -> list[torch.Tensor]:
        preds = trainee.predict()                                          # (B, N, c)
        for i in range(B):
            sc = scores(preds[i], trainee.targets(i), loss=s.loss, data_range=ranges[i],
                        test=tests[i])
            state.record(i, {"step": step, "loss": losses[i], **lrs, **sc,
                             "train_seconds": state.train_seconds},
                         lambda i=i: trainee.snapshot(i))
            if s.callbacks:
                notify(s.callbacks, "on_eval", step,
                       {"index": i, "signal": signals[i].name, **state.histories[i][-1]},
                       trainee.module(i))
        mean = sum(h[-1]["psnr"] for h in state.histories) / B
        bar.set_postfix(psnr=f"{mean:.2f} dB" + (" mean" if B > 1 else ""), refresh=False)
        return preds

    def result(i: int, pred: torch.Tensor | None, status: str, check=None) -> FitResult:
        hist = state.histories[i]
        last = hist[-1] if hist else {"psnr": float("nan")}
        common = dict(history=hist, final_psnr=last["psnr"], best_psnr=state.best[i],
                      params=params, settings=s, batch_size=batch_size,
                      track=state.tracks[i], track_seconds=state.track_seconds / B,
                      resumed_from=resumed_from, operator=protocol.get("operator"),
                      mean_psnr=floors[i], status=status)
        if pred is None:  # a partial result
            return FitResult(ssim=None, seconds_per_step=state.train_seconds / max(1, state.step) / B,
                             prediction=torch.empty(0, signals[i].out_dim), **common)
        metrics = {k: v for k, v in last.items()
                   if k not in ("step", "loss", "lr", "muon_lr", "train_seconds")}
        metrics.update(task_metrics(signals[i], pred, s.loss))
        return FitResult(ssim=image_ssim(signals[i], pred),
                         seconds_per_step=state.train_seconds / s.steps / B, prediction=pred,
                         train_psnr=last.get("train_psnr"), test_psnr=last.get("test_psnr"),
                         metrics=metrics, precision_check=check, **common)

    name = _label(trainee, signals, s.optimizer_name)
    if resumed_from is not None:
        name += f" (resumed at step {resumed_from})"
    bar = _progress_bar(s.steps, name, enabled=s.progress)
    bar.update(state.step)
    preds = None
    notify(s.callbacks, "on_start", {"steps": s.steps, "models": B, "resumed_from": resumed_from,
                                     "signals": [sig.name for sig in signals], **protocol})
    if s.track_every is not None and state.step == 0:
        track(0)
    try:
        for step in range(state.step + 1, s.steps + 1):
            lrs = current_lrs(opt)                              # the lrs this step uses
            t0 = time.perf_counter()
            losses = train_step(trainee, order.next(), opt, sched, scaler=scaler)
            state.train_seconds += time.perf_counter() - t0
            state.step = step
            bad = [i for i, v in enumerate(losses) if not math.isfinite(v)]
            if bad:
                _diverged(trainee, state, bad, losses, step, signals, s, floors,
                          [result(i, None, "diverged") for i in range(B)])
            bar.update(1)
            if step % eval_every == 0 or step == s.steps:
                preds = evaluate(step, losses, lrs)
            if s.track_every is not None and (step % s.track_every == 0 or step == s.steps):
                track(step)
            if checkpoint is not None and (step % s.checkpoint_every == 0 or step == s.steps):
                save_training(checkpoint, expect, trainee, opt, sched, order, state)
    finally:
        bar.close()
    if preds is None:  # resumed from a checkpoint of the last step
        preds = trainee.predict()
    check = None
    if s.precision != "float32" and s.check_steps:
        check = check_precision(trainee, opt, order, sched, steps=s.check_steps, evaluate=lambda p: [
            scores(p[i], trainee.targets(i), loss=s.loss, data_range=ranges[i], test=tests[i])["psnr"]
            for i in range(B)])
        if check["gain_db"] > PRECISION_LIMIT_DB:
            warnings.warn(
                f"the {s.precision} result is precision-limited: {check['steps']} more steps in "
                f"float32 reach {check['gain_db']:.2f} dB more than in {s.precision} from the same "
                "state; use precision='float32' for the last digits", stacklevel=3)
    if checkpoint is not None and os.path.exists(checkpoint):
        os.unlink(checkpoint)
    trainee.finish()
    results = [result(i, preds[i].detach().float().cpu(), _status(state.histories[i], floors[i]),
                      check) for i in range(B)]
    notify(s.callbacks, "on_end", results)
    _check_learned(results, signals, s, name)
    return results


def _status(history: list[dict], floor: float | None) -> str:
    """``"ok"``, or why a finished fit did not learn (:data:`inrank.train.result.STATUSES`)."""
    final = history[-1]["psnr"]
    if floor is not None and math.isfinite(floor) and final < floor:
        return "below_mean"
    if len(history) >= 2 and final < history[0]["psnr"]:
        return "worse_than_start"
    if final < max(e["psnr"] for e in history) - COLLAPSE_DB:
        return "collapsed"
    return "ok"


def _check_learned(results: list[FitResult], signals: Sequence[Signal], s: FitSettings,
                   name: str) -> None:
    """Raise :class:`FitFailedError` for fits that did not learn (warn with ``accept_worse``)."""
    failed = [i for i, r in enumerate(results) if r.status != "ok"]
    if not failed:
        return
    r = results[failed[0]]
    if r.status == "below_mean":
        why = (f"ended at {r.final_psnr:.2f} dB, below the {r.mean_psnr:.2f} dB of predicting "
               "the signal's mean everywhere")
    elif r.status == "collapsed":
        best = max(r.history, key=lambda e: e["psnr"])
        why = (f"ended at {r.final_psnr:.2f} dB, {best['psnr'] - r.final_psnr:.2f} dB below its "
               f"best evaluation ({best['psnr']:.2f} dB at step {best['step']}): it learned, "
               "then lost it")
    else:
        first = r.history[0]
        why = (f"ended at {r.final_psnr:.2f} dB, below its first evaluation "
               f"({first['psnr']:.2f} dB at step {first['step']}): training made it worse")
    who = name if len(results) == 1 else (
        f"{len(failed)} of {len(results)} fits ({', '.join(signals[i].name for i in failed)}); "
        f"{signals[failed[0]].name}")
    message = f"{who} {why} ({_lrs_text(s)}, {s.steps} steps); try a smaller lr or more steps"
    if s.accept_worse:
        warnings.warn(f"{message}; kept, as accept_worse=True asks", stacklevel=4)
        return
    message += " (accept_worse=True keeps such a result)"
    raise FitFailedError(message, results[0] if len(results) == 1 else results)


def _diverged(trainee, state: TrainingState, bad: list[int], losses: list[float], step: int,
              signals: Sequence[Signal], s: FitSettings, floors: list, partial: list) -> None:
    """Restore every model's best evaluated state and raise :class:`DivergedError`."""
    for i, st in enumerate(state.best_states):
        if st is not None:
            trainee.restore(i, st)
    trainee.finish()
    notify(s.callbacks, "on_end", partial)  # loggers close their files
    where = "" if len(partial) == 1 else f" for {[signals[i].name for i in bad]}"
    best = max(state.best[i] for i in bad)
    floor = max((floors[i] for i in bad if floors[i] is not None), default=None)
    if best == -math.inf:
        kept = "no evaluation came before it; the model holds its last finite weights"
    elif floor is not None and best < floor:
        kept = (f"no evaluated state beat the mean predictor ({best:.2f} dB < {floor:.2f} dB); "
                "the model was restored to the best of them")
    else:
        kept = f"the model was restored to its best state ({best:.2f} dB)"
    raise DivergedError(f"loss became {losses[bad[0]]} at step {step}{where} ({_lrs_text(s)}); "
                        f"try a smaller lr. {kept[0].upper()}{kept[1:]}",
                        partial[0] if len(partial) == 1 else partial)
