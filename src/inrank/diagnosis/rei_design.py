"""Target-aware Rank-Expanding Initialization: REI's design (gain and ramp directions, or the
kink variant's scale) chosen per signal at init by a predictor of
:mod:`inrank.diagnosis.predict`, before any training (issue 27, item 4).

Every candidate design fills a copy of the model from the same random state, so the candidates
differ only in the design, and the one the predictor ranks first is what
:func:`rank_expanding_for_` writes (with :func:`inrank.nn.init.rank_expanding_mlp_`).
"""
from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from .. import validation as _checks
from ..errors import InputError
from ..nn.init import REI_OPTION_GRIDS, rank_expanding_mlp_, rei_variants
from ..nn.layers import linear_layers
from ..signals.signal import Signal
from .predict import PREDICTORS, predict

__all__ = ["REIDesign", "choose_rei_design", "default_rei_candidates", "held_out_split",
           "rank_expanding_for_"]

#: The predictor that chooses by default: on the REI grids of table1's tuning (gain for
#: relu+rei, scale for relu+rei-kink, both optimisers, 3 x 72) the linearised off-grid PSNR
#: chose the grid search's value on all 4 and FreSh on none
#: (``benchmarks/results/advise_validation.md``), though FreSh is the better predictor over
#: all methods' knobs.
REI_PREDICTOR = "linear_offgrid"


@dataclass
class REIDesign:
    """The candidates scored and the one chosen.

    Attributes:
        options: the chosen design (``rank_expanding_mlp_``'s options).
        candidates: every design scored, in order; scores: the predictor's score of each.
        predictor: its name (:data:`inrank.diagnosis.predict.PREDICTORS`).
    """

    options: dict
    candidates: list[dict]
    scores: list[float]
    predictor: str


def default_rei_candidates(variant: str, width: int) -> list[dict]:
    """The designs tried by default: ``"kink"``: scale 0.3, 1, 3, 10; the two-layer variants:
    gain 1, 3, 10, 30 x directions 3, 6, 9 (those that leave >= 8 kinks per direction at
    ``width``)."""
    grids = REI_OPTION_GRIDS
    if variant == "kink":
        return [{"scale": s} for s in grids["scale"]]
    dirs = [k for k in grids["directions"] if width // k >= 8] or [1]
    return [{"gain": g, "directions": k} for g, k in itertools.product(grids["gain"], dirs)]


def held_out_split(signal: Signal, seed: int = 0) -> tuple[Signal, Signal]:
    """``signal``'s points split in two disjoint halves (seeded): ``(fit, held_out)``, flat
    signals of shape ``(N_half,)``; the held-out half stands in for off-grid points when no
    finer version of the signal is given. The fit half keeps ``kind`` and ``meta`` but not the
    grid, so FreSh (which needs an image grid) is unavailable on it."""
    g = torch.Generator().manual_seed(int(seed))
    idx = torch.randperm(len(signal), generator=g)
    half = len(signal) // 2
    parts = []
    for ix, tag in ((idx[:half], "fit"), (idx[half:], "held-out")):
        parts.append(Signal(signal.coords[ix], signal.values[ix], (len(ix),),
                            name=f"{signal.name} ({tag})", kind="points", meta=dict(signal.meta)))
    return parts[0], parts[1]


def choose_rei_design(model: nn.Module, target: Signal, fill, *, offgrid: Signal | None = None,
                      candidates: Sequence[Mapping] | None = None,
                      predictor: str = REI_PREDICTOR, generator: torch.Generator | None = None,
                      points: int = 1024, offgrid_points: int = 512,
                      steps: Sequence[int] = (0, 100, 500), seed: int = 0) -> REIDesign:
    """Score every candidate design of REI on ``target`` and return the best.

    Args:
        model: the ReLU MLP (not modified).
        target: the signal the network will fit.
        fill: ``fill(model_copy, options, generator)`` writes REI with ``options`` into a copy
            (what :func:`inrank.nn.rank_expanding_mlp_` does).
        offgrid: the target at other points (e.g. the image at 2x); None: half of
            ``target``'s points are held out (:func:`held_out_split`) and the kernel is built
            on the other half.
        candidates: designs to try (default :func:`default_rei_candidates`, for the variant
            the caller fills).
        predictor: a name of :data:`~inrank.diagnosis.predict.PREDICTORS`.
        generator: every candidate is filled from a copy of its state (it is not advanced).
        points, offgrid_points, steps, seed: as :func:`~inrank.diagnosis.predict.predict`.

    Raises:
        InputError: an unknown predictor, no candidates, or a target the network's input
            and output do not fit.
    """
    predictor = _checks.one_of("predictor", predictor, tuple(PREDICTORS))
    if not isinstance(target, Signal):
        raise InputError(f"target must be an inrank Signal, got {type(target).__name__}")
    cands = [dict(c) for c in (candidates or [])]
    if not cands:
        raise InputError("no REI designs to choose from; give candidates or leave the default")
    fit_signal = target
    if offgrid is None and predictor == "linear_offgrid":
        fit_signal, offgrid = held_out_split(target, seed)
    if predictor == "fresh" and fit_signal.kind != "image":
        raise InputError("predictor 'fresh' needs an image target; use 'linear_offgrid'")
    state = generator.get_state() if generator is not None else None
    scores = []
    for opts in cands:
        trial = copy.deepcopy(model)
        g = None
        if state is not None:
            g = torch.Generator()
            g.set_state(state)
        fill(trial, opts, g)
        p = predict(trial, fit_signal, points=points, offgrid=offgrid,
                    offgrid_points=offgrid_points, steps=steps, seed=seed, ks=(16, 64, 256))
        scores.append(p.score(predictor))
    pick = max if PREDICTORS[predictor] else min          # FreSh's is a distance
    best = pick(range(len(cands)), key=scores.__getitem__)
    return REIDesign(cands[best], cands, scores, predictor)


def rank_expanding_for_(model: nn.Module, target: Signal, coords: torch.Tensor | None = None, *,
                        variant: str = "triangle", domain: tuple[float, float] = (-1.0, 1.0),
                        layers: Sequence[nn.Linear] | None = None,
                        generator: torch.Generator | None = None, offgrid: Signal | None = None,
                        candidates: Sequence[Mapping] | None = None,
                        predictor: str | None = None, **options) -> nn.Module:
    """Rank-Expanding Initialization with its design chosen for ``target`` at init: the design
    (``"kink"``: ``scale``; else ``gain`` and ``directions``) among ``candidates`` (default
    :func:`default_rei_candidates`) that ``predictor`` (default :data:`REI_PREDICTOR`, the
    linearised off-grid PSNR, on ``offgrid`` or on held-out points) ranks first, every
    candidate drawn from the same random state, written by
    :func:`inrank.nn.init.rank_expanding_mlp_`. ``options`` the caller gives are fixed; the
    candidates fill the rest. What was scored and chosen is left on ``model.rei_design``
    (:class:`REIDesign`).

    Args:
        model, coords, variant, domain, layers, generator, **options: as
            :func:`~inrank.nn.init.rank_expanding_mlp_`.
        target: the :class:`inrank.Signal` the network will fit.
        offgrid, candidates, predictor: as :func:`choose_rei_design`.

    Returns:
        ``model``, filled in place.
    """
    if variant not in rei_variants():
        raise InputError(f"unknown REI variant {variant!r}; choose one of: {', '.join(rei_variants())}")
    linears = linear_layers(model, coords, layers)
    cands = [dict(c) for c in (candidates if candidates is not None
                               else default_rei_candidates(variant, linears[0].out_features))]
    unique = dict.fromkeys(tuple(sorted((k, v) for k, v in c.items() if k not in options))
                           for c in cands)       # the caller's options fix those keys
    cands = [dict(c) for c in unique]
    if generator is None:  # the candidates need a state to share: take one from torch's RNG
        generator = torch.Generator().manual_seed(int(torch.randint(2 ** 62, (1,))))
    path_of = {id(m): n for n, m in model.named_modules()}
    if any(id(m) not in path_of for m in linears):
        raise InputError("rank_expanding_for_ scores copies of the model: the layers given "
                         "must be submodules of it")
    paths = [path_of[id(m)] for m in linears]          # the same layers in each copy

    def fill(trial: nn.Module, opts: dict, g: torch.Generator | None) -> None:
        mods = dict(trial.named_modules())
        rank_expanding_mlp_(trial, coords, variant=variant, domain=domain,
                            layers=[mods[n] for n in paths], generator=g, **{**opts, **options})

    design = choose_rei_design(model, target, fill, offgrid=offgrid, candidates=cands,
                               predictor=predictor or REI_PREDICTOR, generator=generator)
    model.rei_design = design
    return rank_expanding_mlp_(model, coords, variant=variant, domain=domain, layers=linears,
                               generator=generator, **{**design.options, **options})

