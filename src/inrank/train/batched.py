"""Fit many independent INRs of one architecture at once: stacked weights, one batched pass.

``fit_models(models, signals)`` groups the signals by shape, stacks each group's models
(:class:`~inrank.train.trainees.StackedModels`) and trains them with the same loop as
:func:`inrank.fit` (:func:`~inrank.train.loop.run_training`): every option of ``fit``
(schedule, mini-batches, held-out mask, loss, checkpoint) works here and gives each model the
result of its own separate fit, to the order of float sums.
"""
from __future__ import annotations

import copy
import os
import warnings
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from .. import validation
from ..errors import DivergedError, FitFailedError, InputError, InputTypeError
from ..nn.mlp import DEFAULT_DEPTH, DEFAULT_WIDTH
from ..nn.registry import build
from ..signals.signal import Signal
from .device import bytes_per_point, default_memory_budget, full_batch_or_minibatch
from .flops import step_flops
from .auto import choose_settings
from .compiling import with_compile_decided
from .fit import RETRIES, backed_off, fit_resolved
from .loop import check_pair, run_training
from .measured import MeasuredModel, StackedMeasured, check_measured
from .options import FitOptions, train_indices
from .result import FitResult
from .settings import asked_options, resolve_settings
from .trainees import OneModel, StackedModels

__all__ = ["fit_many", "fit_models", "default_chunk", "CPU_PASS_FLOPS"]

Mask = torch.Tensor | None


def fit_many(name: str, signals: Sequence[Signal], settings: FitOptions | Mapping | None = None,
             *, width: int = DEFAULT_WIDTH, depth: int = DEFAULT_DEPTH, seed: int = 0,
             overrides: dict | None = None, train_mask: Mask | Sequence[Mask] = None,
             chunk: int | None = None, operator=None, measurements=None,
             **options) -> list[FitResult]:
    """Fit preset ``name`` to every signal, all at once.

    Every signal's model starts from ``build(name, d, c, width=width, depth=depth, seed=seed,
    optimizer=..., **overrides)``, the init a separate fit gets, and the results equal those of
    separate ``fit(..., seed=seed, **options)`` calls to float tolerance.

    Args:
        name: a preset of :func:`inrank.presets`.
        signals: B signals; any mix of sizes (grouped by shape internally).
        settings: as in :func:`inrank.fit` (the options, or keywords ``**options``).
        width, depth, seed: as in :func:`inrank.build` (``seed`` also seeds the batch order).
        overrides: :class:`~inrank.nn.mlp.MLPConfig` fields for :func:`inrank.build`.
        train_mask, chunk, operator, measurements: as in :func:`fit_models`.
        **options: :class:`~inrank.train.options.FitOptions` by name, as in :func:`inrank.fit`.

    Returns:
        One :class:`FitResult` per signal, in order. ``seconds_per_step`` is the batched step's
        wall time divided by the models trained together (the amortised cost of one step).

    Examples:
        >>> import inrank
        >>> sigs = [inrank.load_image(s, size=8) for s in ("camera", "coins")]
        >>> [len(r.history) for r in fit_many("relu", sigs, steps=40, lr=1e-2, width=16,
        ...                                    depth=1, progress=False)]
        [40, 40]
    """
    asked = asked_options(settings, **options)
    opt = asked.get("optimizer")
    models = [build(name, s.in_dim, s.out_dim, width=width, depth=depth, seed=seed,
                    optimizer=opt if opt in (None, "adam", "muon") else "adam",
                    **(overrides or {}))
              for s in signals]
    return fit_models(models, signals, {"seed": seed, **asked}, train_mask=train_mask,
                      chunk=chunk, operator=operator, measurements=measurements)


def _masks(train_mask: Mask | Sequence[Mask], count: int) -> list[Mask]:
    if train_mask is None or isinstance(train_mask, torch.Tensor):
        return [train_mask] * count
    masks = list(train_mask)
    if len(masks) != count:
        raise InputError(f"train_mask lists {len(masks)} masks for {count} signals; pass one "
                         "mask for all or one per signal")
    return masks


#: FLOPs of training work per batched CPU pass: about what one fit's step needs to run at the
#: machine's matrix-product rate (a 3 x 256 MLP on 1,536 points: 1.2 GFLOP, measured at the
#: GEMM rate in benchmarks/results/batched_fit.md). Smaller fits are overhead-bound and gain
#: from stacking up to this; larger ones gain nothing and are fitted separately.
CPU_PASS_FLOPS = 1e9


def default_chunk(model: nn.Module, n: int, device: torch.device) -> int:
    """Models per batched pass: on a GPU as many as memory allows (the caller caps it); on a CPU
    as many as bring a pass's training work (:func:`inrank.train.flops.step_flops` of ``n``
    points) up to :data:`CPU_PASS_FLOPS` (at least 1: then the models are fitted separately)."""
    if device.type != "cpu":
        return 1 << 30

    return max(1, int(CPU_PASS_FLOPS // max(1.0, step_flops(model, n))))


def _checkpoint_for(checkpoint: str | os.PathLike | None, group: int) -> Path | None:
    """Group ``group``'s checkpoint file: ``NAME.gK.SUFFIX`` beside ``checkpoint``."""
    if checkpoint is None:
        return None
    path = Path(checkpoint)
    return path.with_name(f"{path.stem}.g{group}{path.suffix}")


def _measured_trainee(models, signals, operator, ys, device, precision):
    """One model (the separate fit's trainee) or B stacked ones, trained through ``operator``."""
    if len(models) == 1:
        return MeasuredModel(models[0], signals[0], operator, ys[0], device, precision)
    return StackedMeasured(models, signals, operator, torch.stack(ys), device, precision=precision)


def fit_models(models: Sequence[nn.Module], signals: Sequence[Signal],
               settings: FitOptions | Mapping | None = None, *,
               train_mask: Mask | Sequence[Mask] = None, chunk: int | None = None,
               operator=None, measurements=None, **options) -> list[FitResult]:
    """Train ``models[i]`` on ``signals[i]`` in place, batched; see :func:`fit_many`.

    Signals are grouped by ``(N, d, c)``, training points and dtype; a group trains in passes of
    at most ``chunk`` models. Models with BatchNorm couple samples through running statistics
    that ``vmap`` cannot update in place; they are fitted one after another with
    :func:`inrank.fit` (a warning says so). The settings are resolved once for all the models
    (:func:`~inrank.train.settings.resolve_settings`: they share one preset's lrs, or take
    them given).

    Args:
        models, signals: B models and their B targets.
        settings, **options: as in :func:`inrank.fit`. ``optimizer``: ``"adam"`` or
            ``"muon"`` (stacked hidden weights ``(B, out, in)``: each model gets the update a
            separate fit gives it); a factory is refused, it would see the stacked tensors.
            ``memory_budget`` bounds one batched pass and so ``chunk``; ``checkpoint``: a file
            name, pass ``k`` checkpoints to ``NAME.gK.SUFFIX`` beside it.
        train_mask: one ``(N,)`` bool mask for every signal, or one per signal (or None).
        chunk: models per batched pass (default: :func:`default_chunk`, within the memory
            budget); a pass of one model is a separate fit.
        operator: one inverse problem's operator for every signal (all on its grid), as in
            :func:`inrank.fit`: each model trains on ``mse(A(model(coords)), measurements[i])``
            and is scored against ``signals[i]``'s values (no ``batch_size``, ``train_mask``).
        measurements: with ``operator``, one ``(M, c)`` tensor per signal.

    With ``loss="sdf"`` (signed distance fields) each model fits on its own, as
    :func:`inrank.fit` (the loss differentiates through each model's input gradient); so does
    each with ``auto`` (its knob and lrs are chosen for its own signal).

    Returns:
        One :class:`FitResult` per signal, in order.
    """
    if len(models) != len(signals):
        raise InputError(f"got {len(models)} models for {len(signals)} signals; pass one model "
                         "per signal")
    if not signals:
        return []
    o = resolve_settings(models, settings, **options)
    if not isinstance(o.optimizer, str):
        raise InputTypeError("fit_models/fit_many take optimizer='adam' or 'muon' by name; a "
                             "factory would see B models' stacked tensors: fit each model with "
                             "inrank.fit(..., optimizer=factory)")
    masks = _masks(train_mask, len(signals))
    measured = operator is not None or measurements is not None
    ys: list = [None] * len(signals)
    if measured:  # an inverse problem per signal, one operator (measured.check_measured)
        if measurements is None or isinstance(measurements, torch.Tensor) \
                or len(measurements) != len(signals):
            raise InputError(f"measurements must list one (M, c) tensor per signal "
                             f"({len(signals)}) with operator=")
        for i, (s, y, k) in enumerate(zip(signals, measurements, masks)):
            ys[i], unseen = check_measured(s, operator, y, o, train_mask=k)
            masks[i] = None if unseen is None else ~unseen  # the measured points "train"
    batchnorm = any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                    for model in models for m in model.modules())
    if batchnorm or o.loss == "sdf" or o.auto:  # one by one
        if batchnorm:
            warnings.warn("BatchNorm models cannot be batched with vmap: fitting them one by one",
                          stacklevel=2)
        results = []
        for i, (m, s, k, y) in enumerate(zip(models, signals, masks, ys)):
            inputs = ({"operator": operator, "measurements": y} if measured else
                      {"train_mask": k})
            own = choose_settings(m, s, o, **inputs) if o.auto else o  # its signal's knob, lrs
            results.append(fit_resolved(m, s, own, checkpoint=_checkpoint_for(o.checkpoint, i),
                                        **inputs))
        return results
    if chunk is not None:
        chunk = validation.positive_int("chunk", chunk)
    if o.compile and (measured or (len(models) > 1 and chunk != 1)):
        raise InputError("compile=True cannot be used with batched passes (torch.compile does "
                         "not trace fit_many's vmap over stacked models or operators); fit "
                         "with chunk=1 (or inrank.fit for an operator), or leave compile unset")
    groups: dict[tuple, list[int]] = defaultdict(list)
    indices: list[torch.Tensor | None] = []
    for i, (m, s, k) in enumerate(zip(models, signals, masks)):
        if not isinstance(s, Signal):
            raise InputTypeError(f"signals[{i}] must be an inrank Signal, got {type(s).__name__}")
        check_pair(m, s, o.loss)
        indices.append(None if measured else train_indices(k, len(s)))
        n = len(s) if indices[-1] is None else int(indices[-1].numel())
        groups[(len(s), s.in_dim, s.out_dim, n, s.values.dtype)].append(i)
    dev = torch.device(o.device)
    budget = default_memory_budget(dev) if o.memory_budget is None else o.memory_budget
    results: list[FitResult | None] = [None] * len(signals)
    passes = 0
    for (_, _, _, n, _), idx in groups.items():
        per_point = bytes_per_point(models[idx[0]])
        batch = None if measured else full_batch_or_minibatch(o.batch_size, n, per_point, budget)
        fits = max(1, budget // max(1, (batch or n) * per_point))
        size = min(len(idx), chunk or min(fits, default_chunk(models[idx[0]], batch or n, dev)))
        for start in range(0, len(idx), size):
            part = idx[start:start + size]
            checkpoint = _checkpoint_for(o.checkpoint, passes)
            passes += 1
            # what this pass runs: a single model compiles where the default says it pays; a
            # stacked or measured pass trains eagerly (compile=True was refused above)
            run = (with_compile_decided(o, models[part[0]], batch or n, dev)
                   if len(part) == 1 and not measured else o.decided(compile=False))
            if measured:
                trainee = _measured_trainee([models[i] for i in part], [signals[i] for i in part],
                                            operator, [ys[i] for i in part], dev, o.precision)
            elif len(part) == 1:  # nothing to batch: the separate fit itself
                trainee = OneModel(models[part[0]], signals[part[0]], indices[part[0]], dev,
                                   o.loss, o.precision, compile=run.compile)
            else:
                trainee = StackedModels([models[i] for i in part], [signals[i] for i in part],
                                        [indices[i] for i in part], dev, o.loss,
                                        precision=o.precision)
            tests = [None if masks[i] is None else ~masks[i].to(dev) for i in part]
            params = sum(p.numel() for p in models[part[0]].parameters() if p.requires_grad)
            inits = {i: copy.deepcopy(models[i].state_dict()) for i in part}
            try:
                done = run_training(trainee, [signals[i] for i in part], run, batch_size=batch,
                                    n_train=n, tests=tests, params=params,
                                    checkpoint=checkpoint)
            except FitFailedError as err:  # retried one by one, as separate fits would be
                done = _separately(err, part, models, signals, masks, ys, inits, o,
                                   operator if measured else None)
            for i, res in zip(part, done):
                results[i] = res
    return results  # type: ignore[return-value]


def _separately(err: FitFailedError, part: list[int], models, signals, masks, ys, inits, o,
                operator) -> list[FitResult]:
    """The results of a batched pass that failed: a divergence stopped every model, so each
    fits again on its own; a pass that ended with some models below their floor keeps the
    others and retries those from their initial weights at a lower lr (:func:`fit_resolved`)."""
    results = err.result if isinstance(err.result, list) else [err.result]
    out = []
    for i, r in zip(part, results):
        if not isinstance(err, DivergedError) and r.status == "ok":
            out.append(r)
            continue
        collapsed = ((r, copy.deepcopy(models[i].state_dict())) if r.status == "collapsed"
                     and not isinstance(err, DivergedError) else None)
        models[i].load_state_dict(inits[i])
        inputs = ({"operator": operator, "measurements": ys[i]} if operator is not None else
                  {"train_mask": masks[i]})
        if isinstance(err, DivergedError):
            out.append(fit_resolved(models[i], signals[i], o, **inputs))
        else:
            retry, attempt = backed_off(o, r)
            out.append(fit_resolved(models[i], signals[i], retry, retries=RETRIES - 1,
                                    failed=[attempt], collapsed=collapsed, **inputs))
    return out
