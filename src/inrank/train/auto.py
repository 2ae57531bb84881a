"""Settings chosen for the signal when it is fitted (``auto``): what the user did not give.

1. **Knob candidates.** The preset's knob (PE's octaves, RFF's sigma, SIREN's omega0, REI's
   gain, ...) as the model has it, and the value the predictor the project's validation
   recommends chooses at init, before any training (:func:`predicted_knob`, by
   :func:`inrank.diagnosis.advise.choose_knob`: FreSh's spectrum distance for an image, the
   NTK's linearised off-grid PSNR for an REI option or another kind of signal). The
   predictor runs only when its value can be used (the preset's settings diverged in the
   probe, below): read at the preset's lrs from the off-protocol grid, its knob ended below
   the preset's in 26 of the 30 cases where they differed
   (``benchmarks/results/off_protocol.md``), so a fit that keeps the preset does not pay for it.
2. **A probe** over those knobs x the preset's lrs times :data:`LR_FACTORS` (Adam's and Muon's
   together), each candidate trained from the same initial weights on a seeded subset of the
   training points (at least :data:`PROBE_POINTS`, an eighth of them when more), costing
   :data:`PROBE_SHARE` of the fit in all. Cost is counted per step as its points plus a fixed
   part worth :data:`STEP_OVERHEAD_POINTS` points on the CPU (a step's time is about affine in
   its points: measured at 1e4 parameters, one thread, about 5 ms plus 3.5 us a point, so a
   step on an eighth of 128 x 128 points costs about a fifth of a full one); on a GPU a step's
   fixed part dominates and a probe step counts as a full one. A candidate's score is the PSNR
   it is headed for at the fit's steps, measured on every training point of the fit (not only
   the probe's subset, which a network with more parameters than the subset has values can
   memorise: on kodim13 at 64 px a probe scored on its 1,024 points chose x10 the preset's lrs,
   34 dB on the subset, and the fit ended 0.1 dB above the mean): its PSNR at the end of its
   probe plus its gain over the probe's second half per doubling of the steps (PSNR grows
   about linearly in log steps). An inverse problem scores its measurement loss (the truth is
   never read).
3. **The rule: the preset's settings unless they fail in the probe.** The preset's own knob and
   lrs (the incumbent) train first, for ``2 s1`` steps. If they stay finite they are kept:
   measured on calibration signals (camera, coffee, chelsea at 64 px; the star pattern with
   seed 1) at 300 steps, a short probe's lead did not predict the fit's end: of the 13 times
   three designs that let a challenger leading by :data:`MARGIN_DB` take over (lr factors
   x0.1..x10 with the extrapolation, x0.316..x3.16 without, x0.1..x1 with it) moved off the
   preset's settings, 12 ended below them (by 0.3 to 6.0 dB) and one 1.1 dB above (x10 and
   x3.16 the preset's lrs learn fastest early and collapse later; FreSh's lower PE octaves lead
   early and end lower; ``benchmarks/results/auto_calibration.md``, ``docs/how-to/auto.md``).
   If the incumbent diverges, successive halving picks among the others: round 1 scores
   every candidate after ``s1`` steps, round 2 the best two after ``2 s1``. A fit too short for ``s1`` of :data:`MIN_PROBE_STEPS` keeps the preset's settings
   and says so. The fit that follows backs off its lrs if it still fails
   (:func:`inrank.fit`'s retries).

Everything chosen, every candidate's score and the seconds it took land in
``FitSettings.chosen`` (and so in ``FitResult.settings`` and ``metrics.json``).
"""
from __future__ import annotations

import copy
import dataclasses
import math
import time
import warnings

import torch
from torch import nn

from ..diagnosis.advise import choose_knob
from ..errors import DivergedError
from ..nn.forward import predict
from ..nn.mlp import CoordinateMLP
from ..nn.registry import knob_value, preset, with_knobs
from ..signals.signal import Signal
from .evaluate import scores
from .once import fit_once
from .settings import FitSettings

__all__ = ["choose_settings", "predicted_knob", "knob_grid_around", "probe_step_cost", "LR_FACTORS", "PROBE_SHARE",
           "PROBE_POINTS", "PROBE_FRACTION", "PROBE_SCORE", "PROBE_RULE", "MARGIN_DB", "EXTRAPOLATE",
           "STEP_OVERHEAD_POINTS", "MIN_PROBE_STEPS"]

#: The lr multipliers the probe tries (a decade each side of the preset's, in half decades).
LR_FACTORS = (0.1, 10 ** -0.5, 1.0, 10 ** 0.5, 10.0)
#: The probe's steps (on a subset of the points) as a share of the fit's.
PROBE_SHARE = 0.2
#: The probe trains on at least this many points (all of them when there are fewer).
PROBE_POINTS = 1024
#: ... and on this share of the training points when that is more.
PROBE_FRACTION = 1 / 8
#: Whether a candidate's score adds its gain over the probe's second half per doubling of
#: the steps to the fit's (see the module docstring).
EXTRAPOLATE = True
#: When the probe's choice replaces the preset's settings: ``"diverged"``, only when they
#: diverge in the probe; ``"lead"``, also when its round-2 score leads theirs by
#: :data:`MARGIN_DB` (measured worse on the calibration signals: see the module docstring).
PROBE_RULE = "diverged"
#: The lead a challenger needs under ``PROBE_RULE = "lead"`` (dB).
MARGIN_DB = 1.0
#: What a probe's candidate is scored on (see the module docstring).
PROBE_SCORE = "psnr on the fit's training points"
#: A CPU step's fixed cost, in points (see the module docstring): the probe's cost model.
STEP_OVERHEAD_POINTS = 1500
#: A probe round shorter than this cannot tell lrs apart: the preset's are kept.
MIN_PROBE_STEPS = 8


def choose_settings(model: nn.Module, signal: Signal, s: FitSettings, *,
                    train_mask: torch.Tensor | None = None, operator=None,
                    measurements: torch.Tensor | None = None) -> FitSettings:
    """``s`` with the knob (rebuilt into ``model`` in place) and the lrs chosen for
    ``signal``, where the user gave none; see the module docstring.

    Returns:
        The settings to fit with; ``settings.chosen`` holds ``knob`` (the predictor's scores,
        when it ran), ``probe`` (every candidate's score per round) and ``seconds``.
    """
    # a process's first optimizer imports torch._dynamo (1-3 s on these CPUs), which the fit
    # pays without auto too: imported before the clock starts, so the cost stated is auto's own
    import torch._dynamo  # noqa: F401

    t0 = time.perf_counter()
    inverse = operator is not None or measurements is not None
    fixed = _knob_fixed(model, signal, s, inverse)
    own = None if fixed else knob_value(dataclasses.replace(preset(s.method),
                                                            config=model.config))
    knob: dict = {"kept": fixed} if fixed else {
        "kept": "the preset's knob: the predictor runs only when the preset's settings "
                "diverge in the probe"}

    def others() -> list:
        """The knob values besides the model's own: the predictor's choice (run only when
        the probe needs it)."""
        nonlocal knob
        if fixed:
            return []
        knob, values = predicted_knob(model, signal, s.method)
        return [v for v in values if v != own]

    lr_given = s.sources.get("lr") == "given" or s.sources.get("muon_lr") == "given"
    factors = (1.0,) if lr_given else LR_FACTORS
    probe, (value, factor) = _probe(model, signal, s, own, others, factors, train_mask,
                                    operator, measurements, nothing_else=bool(fixed))
    if value is not None and value != own:
        p = preset(s.method)
        _with_knob_(model, p.knob, value)
        s = dataclasses.replace(s, knob={p.knob: value})
    chosen = {"knob": knob, "probe": probe, "seconds": time.perf_counter() - t0}
    if factor == 1.0:
        return dataclasses.replace(s, chosen={**s.chosen, **chosen})
    return s.with_lrs(factor, why=f"auto: the probe's choice, x{factor:.3g} the preset's",
                      **chosen)


def _with_knob_(model: CoordinateMLP, name: str, value: float) -> CoordinateMLP:
    """``model`` rebuilt in place with knob ``name`` at ``value``, its weights drawn from its
    own seed (a probe's candidate and the fit it picks start from the same weights)."""
    return model.reconfigure_(with_knobs(model.config, {name: value}),
                              generator=torch.Generator().manual_seed(
                                  int(getattr(model, "seed", 0))))


def _knob_fixed(model: nn.Module, signal: Signal, s: FitSettings, inverse: bool) -> str | None:
    """Why the knob cannot be chosen for this fit (the probe keeps the model's), or None."""
    p = preset(s.method) if s.method is not None else None
    if p is None or p.knob is None or not isinstance(model, CoordinateMLP):
        return "the model has no preset knob to choose"
    if p.knob in getattr(model, "knobs", {}):
        return f"{p.knob} was given"
    if inverse:
        return "an inverse problem: the predictor would read the truth, which the fit never sees"
    if signal.kind == "sdf":
        return "no predictor is validated for signed distance fields"
    return None


def predicted_knob(model: CoordinateMLP, signal: Signal, method: str) -> tuple[dict, list]:
    """The knob value the project's validated predictor chooses for ``signal`` at init
    (:func:`inrank.diagnosis.advise.choose_knob` over the preset's knob grid, moved to the
    model's value): ``(its record, [the model's own value, the choice])`` (one value when they
    agree)."""
    p = preset(method)
    cfg, seed = model.config, int(getattr(model, "seed", 0))

    def make(value: float, k: int) -> nn.Module:
        return CoordinateMLP(with_knobs(cfg, {p.knob: value}),
                             generator=torch.Generator().manual_seed(k))

    own = knob_value(dataclasses.replace(p, config=cfg))
    choice = choose_knob(signal, make, p.knob, knob_grid_around(p, own), seed=seed, points=128)
    return choice.record(), list(dict.fromkeys([own, choice.choice]))


def knob_grid_around(p, value: float) -> list[float]:
    """Preset ``p``'s knob grid, moved to ``value`` when a task set the knob elsewhere (audio's
    SIREN omega0 follows the clip's length): each grid value times ``value`` over the preset's
    own, integers rounded (octaves, directions).

    Examples:
        >>> import inrank
        >>> knob_grid_around(inrank.preset("siren", tuned=False), 60.0)
        [20.0, 40.0, 60.0, 120.0]
    """
    base = knob_value(p)
    if not base or value == base:
        return [float(v) for v in p.knob_grid]
    whole = all(float(v).is_integer() for v in p.knob_grid) and float(base).is_integer()
    return [float(round(v * value / base)) if whole else float(f"{v * value / base:.6g}")
            for v in p.knob_grid]


def _probe(model: nn.Module, signal: Signal, s: FitSettings, own, others, factors: tuple,
           train_mask, operator, measurements, *, nothing_else: bool) -> tuple[dict, tuple]:
    """The incumbent (the model's knob ``own``, x1 the lrs), then, if it diverges (or under
    the ``"lead"`` rule), successive halving over (``own`` and ``others()``) x ``factors``;
    ``(record, (knob, factor))``. ``nothing_else``: no other knob can be tried."""
    if nothing_else and len(factors) == 1:
        return {"kept": "nothing to choose (the knob and the lrs are given or fixed)"}, \
            (own, factors[0])
    inverse = operator is not None or measurements is not None
    train = (torch.ones(len(signal), dtype=torch.bool) if train_mask is None
             else train_mask.detach().cpu().bool())
    n_train = int(train.sum())
    sub = not inverse and s.loss != "sdf" and s.batch_size is None
    n_probe = min(n_train, max(PROBE_POINTS, int(n_train * PROBE_FRACTION))) if sub else n_train
    # the budget's units of s1 steps: the incumbent's 2 s1; round 1 on the others (the
    # predictor's knob too, when it differs), s1 each; round 2 on the best two, 2 s1 each
    count = (1 if nothing_else else 2) * len(factors)
    units = 2 + (count - 1) + 2 * 2
    fit_step = probe_step_cost(s.batch_size or n_train, s.device)
    probe_step = probe_step_cost(n_probe, s.device)
    s1 = int(PROBE_SHARE * s.steps * fit_step / probe_step // units)
    if s1 < MIN_PROBE_STEPS:
        return {"kept": f"{s.steps} steps are too few for a probe (a round would be {s1} "
                        f"steps, fewer than {MIN_PROBE_STEPS})"}, (own, 1.0)
    mask = train
    if n_probe < n_train:  # a seeded subset of the training points
        idx = train.nonzero().squeeze(1)
        g = torch.Generator().manual_seed(s.seed)
        mask = torch.zeros_like(train)
        mask[idx[torch.randperm(len(idx), generator=g)[:n_probe]]] = True
    inputs = {"train_mask": None if bool(mask.all()) else mask, "operator": operator,
              "measurements": measurements}
    # scored on the fit's training points: all of them when the user held none out (the
    # evaluation's "psnr"), else a forward pass over them at each of the probe's evaluations
    on_train = _TrainPointsPSNR(signal, train, s.loss) if train_mask is not None else None
    p = preset(s.method) if own is not None else None

    def score(knob, factor: float, steps: int) -> float:
        """The PSNR the candidate is headed for at ``s.steps``: its PSNR after ``steps``,
        extrapolated by its gain over the last half of them, per doubling of the steps (a
        fit's PSNR grows about linearly in log steps; a fast start that stalls scores low)."""
        if knob is None:
            trial = copy.deepcopy(model)
        else:
            trial = _with_knob_(copy.deepcopy(model), p.knob, knob)
        ps = dataclasses.replace(
            s.with_lrs(factor, why="probe"), steps=steps, eval_every=steps // 2,
            progress=False, checkpoint=None, track_every=None, check_steps=0,
            accept_worse=True, auto=False, callbacks=() if on_train is None else (on_train,))
        if on_train is not None:
            on_train.scores.clear()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # a probe below its floor is just a low score
                result = fit_once(trial, signal, ps, **inputs)
        except DivergedError:
            return -math.inf
        h = result.history
        if inverse:  # the measurement loss, as a PSNR-like number; the truth is not read
            at = [10 * math.log10(1 / e["loss"]) if 0 < e["loss"] < math.inf else -math.inf
                  for e in h[-2:]]
        elif on_train is not None:
            at = on_train.scores[-2:]
        else:
            at = [e["psnr"] for e in h[-2:]]
        if not all(math.isfinite(v) for v in at):
            return -math.inf
        gain = max(0.0, at[-1] - at[0]) if len(at) == 2 and EXTRAPOLATE else 0.0
        return at[-1] + gain * math.log2(s.steps / steps)

    incumbent = (own, 1.0)                            # the preset's knob and lrs
    name = lambda pair: (f"x{pair[1]:.3g}" if pair[0] is None else  # noqa: E731
                         f"{p.knob} {pair[0]:g}, x{pair[1]:.3g}")
    own_score = score(*incumbent, 2 * s1)
    record = {"incumbent": {name(incumbent): own_score}, "steps": [s1, 2 * s1], "points": n_probe,
              "rule": PROBE_RULE}
    if PROBE_RULE == "diverged" and math.isfinite(own_score):
        return {**record, "kept": f"they trained without diverging in the probe ({2 * s1} "
                                  "steps), and a short probe's lead does not predict a fit's "
                                  "end (measured: docs/how-to/auto.md)",
                "cost_share": 2 * s1 * probe_step / (s.steps * fit_step)}, incumbent
    pairs = [(k, f) for k in [own, *others()] for f in factors]
    rest = [pair for pair in pairs if pair != incumbent]
    first = {pair: score(*pair, s1) for pair in rest}
    top = sorted((pair for pair in rest if math.isfinite(first[pair])),
                 key=lambda pair: -first[pair])[:2]
    second = {pair: score(*pair, 2 * s1) for pair in top}
    best = max(top, key=lambda pair: second[pair], default=incumbent)
    if PROBE_RULE == "lead" and math.isfinite(own_score) \
            and not second.get(best, -math.inf) > own_score + MARGIN_DB:
        best = incumbent
    return {**record, "choice": name(best), "round1": {name(k): v for k, v in first.items()},
            "round2": {name(k): v for k, v in second.items()},
            "cost_share": (2 * s1 + len(rest) * s1 + 2 * len(top) * s1) * probe_step
            / (s.steps * fit_step)}, best


class _TrainPointsPSNR:
    """A probe's callback: at each evaluation, the PSNR over the fit's training points
    (``train``, a mask over the signal's points), appended to :attr:`scores`."""

    def __init__(self, signal: Signal, train: torch.Tensor, loss: str):
        self.coords, self.values = signal.coords[train], signal.values[train]
        self.loss, self.range = loss, float(signal.meta.get("data_range", 1.0))
        self.scores: list[float] = []

    def on_eval(self, step: int, metrics: dict, model: nn.Module) -> None:
        device = next(model.parameters()).device
        pred = predict(model, self.coords.to(device)).float().cpu()
        self.scores.append(scores(pred, self.values, loss=self.loss,
                                  data_range=self.range)["psnr"])


def probe_step_cost(points: int, device: str = "cpu") -> float:
    """A training step's cost on ``points`` points, in points (the probe's budget unit):
    ``points + STEP_OVERHEAD_POINTS`` on the CPU; on another device every step costs the same
    (its fixed part dominates), returned as 1.

    Examples:
        >>> round(probe_step_cost(2048) / probe_step_cost(16384), 2)  # an eighth of 128 x 128
        0.2
    """
    return float(points + STEP_OVERHEAD_POINTS) if str(device).startswith("cpu") else 1.0
