"""Fitting one model: :func:`fit` (the public entry point, keywords as sugar for one
:class:`~inrank.train.settings.FitSettings`), :func:`fit_resolved` (a fit at settings resolved
already, retried at a lower lr when it does not learn, through
:func:`~inrank.train.once.fit_once`)."""
from __future__ import annotations

import copy
import dataclasses
import os
import warnings
from collections.abc import Mapping, Sequence

import torch
from torch import nn

from ..errors import FitFailedError, InputError
from ..operators.tasks import InverseTask
from ..signals.signal import Signal
from .auto import choose_settings
from .loop import check_pair
from .once import fit_once
from .options import FitOptions
from .result import FitResult
from .settings import FitSettings, resolve_settings

__all__ = ["fit", "fit_resolved", "backed_off", "RETRIES", "BACKOFF"]

#: How many times a fit that does not learn is retried at a lower lr.
RETRIES = 2
#: The factor each retry multiplies the lrs by (10^-1/2: two retries span a decade).
BACKOFF = 10 ** -0.5


def fit(model: nn.Module, signal: Signal | InverseTask,
        settings: FitOptions | FitSettings | Mapping | None = None, *,
        train_mask: torch.Tensor | None = None, operator=None,
        measurements: torch.Tensor | None = None, **options) -> FitResult:
    """Fit ``model`` to ``signal`` with Adam (or Muon) on the mean squared error (or BCE on
    logits), or solve an inverse problem through a measurement ``operator``.

    The options (``settings``, and/or keywords of the same names) are those of
    :class:`~inrank.train.options.FitOptions`, resolved once for the model
    (:func:`~inrank.train.settings.resolve_settings`): what is not given is the library's
    choice, e.g. a model :func:`inrank.build` made trains with the optimiser it was built for
    at its preset's tuned learning rates, scaled to its width.

    Args:
        model: maps ``(N, d)`` coordinates to ``(N, c)`` values; trained in place.
        signal: the target; or an inverse problem (:func:`inrank.make_task`), whose signal,
            operator and measurements it brings.
        settings: a :class:`~inrank.train.options.FitOptions`, the
            :class:`~inrank.train.settings.FitSettings` of an earlier fit, a dict of options,
            or None.
        train_mask: optional ``(N,)`` bool tensor: train only on the True points and report
            ``test_psnr`` on the others (e.g. :func:`inrank.subgrid_mask`, the held-out-pixel
            protocol of Tancik et al. 2020). Evaluation always predicts every point.
        operator: an inverse problem's forward operator ``A``
            (:class:`inrank.operators.Operator`, e.g. from :func:`inrank.make_task`): the
            loss is ``mse(A(model(coords)), measurements)`` on the full batch, while every PSNR
            (and ``best_psnr``) compares ``model(coords)`` with ``signal.values``, the ground
            truth the loss never sees; ``test_psnr`` is on the points ``A`` does not measure
            (inpainting). Takes ``loss="mse"`` only, no ``batch_size``, no ``train_mask``;
            :func:`inrank.fit_many` stacks many signals through one operator.
        measurements: ``(M, c)``, what ``A`` should produce (with ``operator``).
        **options: :class:`~inrank.train.options.FitOptions` by name:

            - ``steps`` (required), ``lr`` (Adam's; None: the preset's tuned value at the
              model's width), ``optimizer`` (``"adam"``; ``"muon"``: Muon on the weights of
              every dense layer but the first and the last, Adam at ``lr`` on the rest,
              McGinnis et al. 2025; or a factory ``f(params, lr=lr)``; None: the one the
              model was built for), ``muon_lr`` (None: the preset's), ``schedule``.
            - ``batch_size``: points per step; None = full batch unless it would not fit in
              ``memory_budget`` (default half the free memory): then mini-batches, with a
              warning. ``seed`` seeds their order.
            - ``loss``: ``"mse"``, ``"bce"`` (logits; 0/1 values, occupancy) or ``"sdf"``
              (SIREN's signed-distance loss on :func:`inrank.load_mesh_sdf`'s signal: surface,
              normal, eikonal and off-surface terms, :mod:`inrank.train.sdf`; the PSNR is of
              ``f`` on the surface against 0, peak 2).
            - ``checkpoint``: a file to resume from (if it exists) and to save to every
              ``checkpoint_every`` steps (model, optimiser, schedule, batch order, history,
              best state): a resumed fit ends bit for bit where an uninterrupted one would
              (CPU); a checkpoint of another run is refused. Removed when the fit finishes.
            - ``precision``: ``"float32"``, ``"bf16"`` or ``"fp16"`` autocast of the forward
              pass; ends with ``check_steps`` more steps in float32 and in its precision from
              the final state (``result.precision_check``), warning above
              :data:`~inrank.train.loop.PRECISION_LIMIT_DB`. A CPU without bf16 units is named
              before training.
            - ``track_every`` / ``track_points``: the rank dynamics (``result.track``,
              :func:`inrank.train.tracking.rank_snapshot`), kept out of ``seconds_per_step``.
            - ``auto``: choose the knob and the lrs the user did not give for this signal
              (:func:`inrank.train.auto.choose_settings`).
            - ``accept_worse``: keep a fit that did not learn as it is (see Raises).
            - ``compile``, ``device``, ``eval_every``, ``progress``, ``callbacks``
              (:mod:`inrank.train.callbacks`).

    Returns:
        A :class:`FitResult`; ``result.settings`` holds what ran. The model keeps its final
        weights.

    A fit that ends below the signal's mean predictor, below its first evaluation, more than
    :data:`~inrank.train.loop.COLLAPSE_DB` below its best evaluation, or diverges is retried from its initial weights at a lower lr (x :data:`BACKOFF`, at most
    :data:`RETRIES` times, with a warning; ``result.retries`` lists the attempts), unless
    ``accept_worse``.

    Raises:
        DivergedError: the loss became NaN or inf in every attempt; the model is restored to
            its best evaluated state and ``err.result`` holds the partial result.
        FitFailedError: every attempt ended below the signal's mean predictor, below its
            first evaluation or collapsed (``accept_worse=True`` returns the first with ``result.status``
            instead, without retrying).

    Examples:
        >>> import inrank
        >>> sig = inrank.load_image("camera", size=8)
        >>> res = fit(inrank.build("relu", 2, 1, width=16, depth=1), sig, steps=40, lr=1e-2,
        ...           progress=False)
        >>> len(res.history), res.steps, res.final_psnr > res.mean_psnr
        (40, 40, True)
    """
    if isinstance(signal, InverseTask):
        if operator is not None or measurements is not None:
            raise InputError("an InverseTask brings its own operator and measurements; pass "
                             "the task alone, or its signal with operator= and measurements=")
        signal, operator, measurements = signal.signal, signal.operator, signal.measurements
    s = resolve_settings([model], settings, **options)
    inputs = {"train_mask": train_mask, "operator": operator, "measurements": measurements}
    if s.auto:  # the knob and the lrs for this signal, from a predictor and a probe
        check_pair(model, signal, s.loss)        # before any probe trains on the pair
        s = choose_settings(model, signal, s, **inputs)
    return fit_resolved(model, signal, s, **inputs)


def fit_resolved(model: nn.Module, signal: Signal, s: FitSettings, *,
                 train_mask: torch.Tensor | None = None, operator=None,
                 measurements: torch.Tensor | None = None,
                 checkpoint: str | os.PathLike | None = None,
                 retries: int = RETRIES, failed: Sequence[dict] = (),
                 collapsed: tuple | None = None) -> FitResult:
    """:func:`fit` with settings already resolved for ``model`` (and ``checkpoint``, this fit's
    file, default ``s.checkpoint``): the separate fit :func:`inrank.fit_models` runs where it
    cannot stack. A fit that does not learn is retried from ``model``'s weights as given at a
    lower lr (:func:`backed_off`), up to ``retries`` times (not with ``s.accept_worse``; a
    retry keeps no checkpoint); ``failed``: attempts that failed before this call;
    ``collapsed``: ``(result, weights)`` of one of them that collapsed (returned if no retry
    ends above it, as an attempt of this call would be)."""
    check_pair(model, signal, s.loss)
    initial = copy.deepcopy(model.state_dict())
    failed = list(failed)
    # the best attempt that learned and then lost some of it: (result, weights)
    while True:
        try:
            result = fit_once(model, signal, s, train_mask=train_mask, operator=operator,
                              measurements=measurements, checkpoint=checkpoint)
        except FitFailedError as err:
            if isinstance(err.result, FitResult) and err.result.status == "collapsed" and (
                    collapsed is None or err.result.final_psnr > collapsed[0].final_psnr):
                collapsed = (err.result, copy.deepcopy(model.state_dict()))
            if s.accept_worse or retries <= 0 or not isinstance(err.result, FitResult):
                if collapsed is not None:  # it learned: the best such attempt, not a failure
                    last = err.result
                    return _kept_collapsed(model, signal, collapsed, failed + (
                        [] if not isinstance(last, FitResult) or last is collapsed[0] else
                        [_attempt(s, last)]))
                if isinstance(err.result, FitResult):
                    err.result.retries = failed
                if failed:
                    err.args = (f"{err} (after {len(failed)} retr"
                                f"{'y' if len(failed) == 1 else 'ies'} at lower lrs)",)
                raise
            s, attempt = backed_off(s, err.result, failed)
            failed.append(attempt)
            retries -= 1
            warnings.warn(f"{getattr(model, 'preset', type(model).__name__)} on {signal.name} "
                          f"{attempt['status'].replace('_', ' ')} at {_lrs_of(attempt)} "
                          f"({attempt['final_psnr']:.2f} dB, the mean predictor "
                          f"{attempt['mean_psnr']:.2f} dB): retrying from its initial weights "
                          f"at {_lrs_of(dataclasses.asdict(s))}", stacklevel=3)
            model.load_state_dict(initial)
            checkpoint = None
            continue
        if collapsed is not None and collapsed[0].final_psnr > result.final_psnr:
            return _kept_collapsed(model, signal, collapsed, failed + [_attempt(s, result)])
        result.retries = failed
        return result


def _kept_collapsed(model: nn.Module, signal: Signal, collapsed: tuple, failed: list
                    ) -> FitResult:
    """The collapsed attempt that ended highest (its weights loaded into ``model``), when no
    retry at a lower lr ended above it: it learned the signal, then lost some of it; a retry
    that ends lower is no remedy. Warns, naming the attempts."""
    result, weights = collapsed
    model.load_state_dict(weights)
    result.retries = [a for a in failed if a["lr"] != result.settings.lr
                      or a["final_psnr"] != result.final_psnr]
    warnings.warn(f"{getattr(model, 'preset', type(model).__name__)} on {signal.name}: no retry "
                  f"at a lower lr ended above the attempt at "
                  f"{_lrs_of({'lr': result.settings.lr, 'muon_lr': result.settings.muon_lr})} "
                  f"({result.final_psnr:.2f} dB, {result.best_psnr - result.final_psnr:.2f} dB below "
                  "its best evaluation): kept it, status 'collapsed'", stacklevel=3)
    return result


def backed_off(s: FitSettings, result: FitResult, failed: Sequence[dict] = ()
               ) -> tuple[FitSettings, dict]:
    """The settings to retry a failed fit at (lrs x :data:`BACKOFF`, no checkpoint) and the
    failed attempt's record (``lr``, ``muon_lr``, ``status``, ``final_psnr``, ``mean_psnr``)."""
    attempt = _attempt(s, result)
    retry = s.with_lrs(BACKOFF, why=f"backed off x{BACKOFF:.3g} after {result.status}",
                       backed_off=[*failed, attempt])
    return dataclasses.replace(retry, checkpoint=None), attempt


def _attempt(s: FitSettings, result: FitResult) -> dict:
    """A finished attempt's record: ``lr``, ``muon_lr``, ``status``, ``final_psnr``,
    ``mean_psnr``."""
    return {"lr": s.lr, "muon_lr": s.muon_lr, "status": result.status,
            "final_psnr": result.final_psnr, "mean_psnr": result.mean_psnr}


def _lrs_of(values: dict) -> str:
    return f"lr {values['lr']:g}" + ("" if values.get("muon_lr") is None else
                                     f", muon_lr {values['muon_lr']:g}")
