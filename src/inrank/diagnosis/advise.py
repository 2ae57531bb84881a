"""Choose a method's knob before training: every candidate of the knob's grid (PE octaves, RFF
sigma, SIREN / FINER omega0, Gauss / WIRE scale, REI gain) is built at init and scored by each
predictor of :mod:`inrank.diagnosis.predict`; :func:`advise` ranks them and names each
predictor's choice. Which predictor to trust is measured against the project's grid searches
(``benchmarks/diagnosis/advise_validation.py``): :data:`RECOMMENDED` holds its answer.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from torch import nn

from .. import validation as _checks
from ..errors import InputError
from ..nn.init import REI_OPTION_GRIDS, rei_option_default
from ..nn.registry import build, knob_overrides, preset, presets
from ..signals.signal import Signal
from .predict import PREDICTORS, Prediction, fresh_of_models, predict
from .rei_design import REI_PREDICTOR, held_out_split

__all__ = ["Advice", "advise", "choose_knob", "KnobChoice", "RECOMMENDED"]

#: The predictor :func:`advise` names as its choice: the one that lost the least off-grid PSNR
#: against table1's grid searches (28 knob grids, both protocols and optimisers; FreSh 0.42 dB
#: mean, the NTK's linearised off-grid PSNR 0.77 dB though it ranks best, Spearman +0.59;
#: ``benchmarks/results/advise_validation.md``). For an REI knob (``rei_options.*``) the
#: choice is the linearised off-grid PSNR's instead
#: (:data:`inrank.diagnosis.rei_design.REI_PREDICTOR`): on REI's grids it chose the grid
#: search's value on all 4 at 3 x 72, FreSh on none.
RECOMMENDED = "fresh"


@dataclass
class Advice:
    """The candidates of one method's knob, scored at init.

    Attributes:
        method: the preset; knob: its knob (:attr:`inrank.Preset.knob`).
        candidates: the knob values tried, in grid order.
        predictions: one :class:`~inrank.diagnosis.predict.Prediction` per candidate.
        fresh: FreSh's distance per candidate, averaged over ``inits`` initialisations.
        choices: per predictor, the candidate it ranks first.
        recommended: the predictor whose choice is :attr:`choice` (:data:`RECOMMENDED`, or
            the next best measured when a signal is not an image or has no off-grid version).
        seconds: wall time of the whole advice.
    """

    method: str
    knob: str
    candidates: list[float]
    predictions: list[Prediction]
    fresh: list[float | None]
    choices: dict[str, float]
    recommended: str
    seconds: float

    @property
    def choice(self) -> float:
        """The recommended predictor's choice."""
        return self.choices[self.recommended]

    def scores(self, name: str) -> list[float]:
        """Predictor ``name``'s score per candidate (FreSh: averaged over inits)."""
        if name == "fresh":
            return [float("nan") if f is None else f for f in self.fresh]
        return [p.score(name) for p in self.predictions]

    def table(self) -> tuple[list[str], list[list[str]]]:
        """``(header, rows)``: one row per candidate, each predictor's score, the choices
        marked with ``*``."""
        head = [self.knob, "alignment", f"energy top-{max(self.predictions[0].energy)}",
                f"linear fit @{self.predictions[0].steps[-1]} (dB)",
                "linear off-grid (dB)", "FreSh distance"]
        names = ["alignment", "energy", "linear_fit", "linear_offgrid", "fresh"]
        rows = []
        for i, v in enumerate(self.candidates):
            row = [f"{v:g}"]
            for name in names:
                s = self.scores(name)[i]
                mark = "*" if self.choices.get(name) == v else ""
                row.append("-" if not math.isfinite(s) else
                           (f"{s:.4f}" if name in ("alignment", "energy") else f"{s:.2f}") + mark)
            rows.append(row)
        return head, rows


def advise(signal: Signal, method: str, *, width: int = 128, depth: int = 3,
           knob: str | None = None,
           candidates: Sequence[float] | None = None, offgrid: Signal | None = None,
           points: int = 1024, offgrid_points: int = 512,
           steps: Sequence[int] = (0, 100, 500), seed: int = 0, inits: int = 3,
           optimizer: str | None = None) -> Advice:
    """Score every candidate of ``method``'s knob on ``signal`` at init.

    Args:
        signal: the target.
        method: a preset with a knob (:attr:`inrank.Preset.knob`).
        width, depth: the network.
        knob: the knob to choose (default the preset's, :attr:`inrank.Preset.knob`); an REI
            preset also takes its variant's other options, ``rei_options.NAME`` (e.g.
            ``rei_options.directions``), the preset's other REI options kept.
        candidates: the knob values (default: the preset's ``knob_grid``, or
            :data:`inrank.nn.init.REI_OPTION_GRIDS` for another REI option).
        offgrid: the target on a finer grid (enables ``linear_offgrid``).
        points, offgrid_points, steps: as :func:`~inrank.diagnosis.predict.predict`.
        seed: the init (and subsample) seed; FreSh averages seeds ``seed .. seed + inits - 1``.
        optimizer: builds the model as :func:`inrank.build` does for that optimiser (other
            knobs, e.g. REI's options, as tuned for it); None: the method's default, as
            :func:`inrank.build`.

    Returns:
        An :class:`Advice`.

    Raises:
        InputError: an unknown method, or one without a knob.
    """
    t0 = time.perf_counter()
    p = preset(method)
    if optimizer is None:
        optimizer = p.optimizer_at(depth)
    name = knob if knob is not None else p.knob
    if name is None:
        raise InputError(f"method {method!r} has no knob to choose; methods with one: "
                         + ", ".join(_with_knobs()))
    base_rei = _check_knob(p, name, width, depth, optimizer)
    grid = p.knob_grid if name == p.knob else REI_OPTION_GRIDS.get(name.split(".", 1)[1], ())
    values = [float(v) for v in (candidates if candidates is not None else grid)]
    if not values:
        raise InputError(f"no candidates to rank for {name}; give knob values (--candidates)")
    inits = _checks.positive_int("inits", inits)
    preds, fresh = [], []
    for v in values:
        over = knob_overrides(name, v)
        if base_rei is not None:  # an override replaces rei_options: keep the preset's others
            over = {"rei_options": {**base_rei, **over["rei_options"]}}
        models = [build(method, signal.in_dim, signal.out_dim, width=width, depth=depth,
                        seed=seed + k, optimizer=optimizer, **over) for k in range(inits)]
        preds.append(predict(models[0], signal, points=points, offgrid=offgrid,
                             offgrid_points=offgrid_points, steps=steps, seed=seed,
                             inits=models[1:]))
        fresh.append(preds[-1].fresh)
    advice = Advice(method, name, values, preds, fresh, {},
                    REI_PREDICTOR if name.startswith("rei_options.") else RECOMMENDED, 0.0)
    for name, higher in PREDICTORS.items():
        s = advice.scores(name)
        ok = [i for i, x in enumerate(s) if math.isfinite(x)]
        if ok:
            best = max(ok, key=lambda i: s[i]) if higher else min(ok, key=lambda i: s[i])
            advice.choices[name] = values[best]
    if advice.recommended not in advice.choices:  # FreSh needs an image: the next best
        advice.recommended = next(n for n in ("fresh", "linear_offgrid", "energy", "linear_fit",
                                              "alignment") if n in advice.choices)
    advice.seconds = time.perf_counter() - t0
    return advice


def _check_knob(p, name: str, width: int, depth: int, optimizer: str) -> dict | None:
    """Refuse a knob ``p`` does not have; for an ``rei_options.NAME`` knob return the preset's
    REI options at that size (the ones the candidates keep), else None."""
    if name == p.knob and not name.startswith("rei_options."):
        return None
    if not name.startswith("rei_options.") or p.config.first_init != "rei":
        raise InputError(f"method {p.name!r} has no knob {name!r}; its knob: {p.knob}"
                         + (" (an REI preset also takes rei_options.NAME)"
                            if p.config.first_init == "rei" else ""))
    rei_option_default(p.config.rei_variant, name.split(".", 1)[1])  # a known option, else why
    return dict(p.config_at(width=width, depth=depth, optimizer=optimizer).rei_options)


def _with_knobs() -> list[str]:
    return [m for m in presets() if preset(m).knob is not None]


@dataclass
class KnobChoice:
    """A knob chosen at init by one predictor (:func:`choose_knob`).

    Attributes:
        knob: the knob; candidates: its values tried; scores: the predictor's score of each.
        predictor: the predictor's name; choice: the value chosen; seconds: the wall time.
    """

    knob: str
    candidates: list[float]
    scores: list[float]
    predictor: str
    choice: float
    seconds: float

    def record(self) -> dict:
        """JSON-ready."""
        return {"knob": self.knob, "predictor": self.predictor, "choice": self.choice,
                "candidates": self.candidates, "scores": self.scores, "seconds": self.seconds}


def choose_knob(signal: Signal, make_model: Callable[[float, int], nn.Module], knob: str,
                candidates: Sequence[float], *, seed: int = 0, inits: int = 3,
                points: int = 256) -> KnobChoice:
    """Choose ``knob`` for ``signal`` at init with the one predictor the project's validation
    recommends (the cheap path of :func:`advise`): FreSh's spectrum distance for an image
    (forward passes of ``inits`` initialisations per candidate), the NTK's linearised
    off-grid PSNR on held-out points for an REI option or a signal without an image grid
    (one kernel of ``points`` points per candidate).

    Args:
        signal: the target.
        make_model: ``make_model(value, seed) -> model`` at init with the knob at ``value``.
        knob: its name (``"pe_octaves"``, ``"rei_options.gain"``, ...).
        candidates: the values to rank.
        seed: the first init's seed (FreSh averages seeds ``seed .. seed + inits - 1``).
        inits, points: as :func:`advise`.

    Returns:
        A :class:`KnobChoice`.
    """
    t0 = time.perf_counter()
    values = [float(v) for v in candidates]
    if not values:
        raise InputError(f"no candidates to rank for {knob}")
    fresh = signal.kind == "image" and not knob.startswith("rei_options.")
    scores = []
    for v in values:
        if fresh:
            models = [make_model(v, seed + k) for k in range(_checks.positive_int("inits", inits))]
            scores.append(fresh_of_models(models, signal))
        else:
            fit_part, held = held_out_split(signal, seed)
            scores.append(predict(make_model(v, seed), fit_part, points=points, offgrid=held,
                                  offgrid_points=points, steps=(0, 500), seed=seed,
                                  ks=(16,)).score("linear_offgrid"))
    name = "fresh" if fresh else "linear_offgrid"
    ok = [i for i, x in enumerate(scores) if math.isfinite(x)]
    if not ok:
        raise InputError(f"no candidate of {knob} could be scored on {signal.name!r}")
    best = (min if fresh else max)(ok, key=lambda i: scores[i])
    return KnobChoice(knob, values, [float(x) for x in scores], name, values[best],
                      time.perf_counter() - t0)

