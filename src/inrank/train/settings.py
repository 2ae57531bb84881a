"""A fit's settings, resolved once: :class:`FitSettings` and :func:`resolve_settings`.

What the user asked (:class:`~inrank.train.options.FitOptions`, or the same names as keywords)
meets what the models are (the preset that built them, its width and depth, the optimiser it
was built for) in one place, :func:`resolve_settings`: the optimiser, Adam's and Muon's learning
rates (the preset's tuned values at the model's width where the user gave none), the knob as
built and the device are filled there, checked there, and recorded with where each came from.
The optimiser, the loop, the result and the checkpoint's identity read this one object; nothing
downstream reads the registry again or re-derives a value.
"""
from __future__ import annotations

import copy
import dataclasses
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from ..errors import InputError
from ..nn.registry import knob_value, preset, presets
from .device import resolve_device
from .optimizers import OPTIMIZERS, lr_scales, optimizer_name
from .options import FitOptions, option_names

__all__ = ["FitSettings", "resolve_settings", "asked_options", "model_facts"]


@dataclass(frozen=True)
class FitSettings(FitOptions):
    """Every setting a fit runs with, resolved (:func:`resolve_settings`): the options with the
    library's choices filled in, and what the models are."""

    method: str | None = None
    """The preset the models were built from (``model.preset``); None for other modules."""
    width: int | None = None
    """D of the models (their config's), None when they have no config."""
    depth: int | None = None
    """L of the models (their config's), None when they have no config."""
    knob: dict | None = None
    """``{name: value}`` of the preset's knob as the models were built (None: no knob)."""
    lr_scales: dict = field(default_factory=dict)
    """``{parameter name prefix: factor}``: tensors that train at ``lr * factor`` (a feature
    grid's tables, :func:`inrank.train.optimizers.lr_scales`)."""
    chosen: dict = field(default_factory=dict)
    """What ``auto`` chose and why (:mod:`inrank.train.auto`): ``{"knob": ..., "lr": ...,
    "cost": ...}`` with every candidate's score; a fit retried at a lower lr adds
    ``"backed_off"``. Empty otherwise."""
    given: tuple[str, ...] = ()
    """The option names the user set; the library filled the others."""
    sources: dict = field(default_factory=dict)
    """Where the optimiser and the learning rates came from (``"given"``,
    ``"model.built_for"``, ``"preset relu+rei at width 72"``...)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.lr is None or self.optimizer is None:
            raise InputError("FitSettings holds resolved settings; build them with "
                             "inrank.train.settings.resolve_settings(models, options)")
        if (self.optimizer == "muon") != (self.muon_lr is not None):
            raise InputError("muon_lr is Muon's learning rate: set with optimizer='muon' only "
                             f"(got optimizer={optimizer_name(self.optimizer)!r}, "
                             f"muon_lr={self.muon_lr!r})")
        object.__setattr__(self, "device", str(resolve_device(self.device)))

    @property
    def optimizer_name(self) -> str:
        """The optimiser's name (a factory's qualified name)."""
        return optimizer_name(self.optimizer)

    def record(self) -> dict:
        """JSON-ready: every setting that ran (callbacks by type name); where the filled ones
        came from is :attr:`sources` (not part of the record: a rerun that passes the same
        values explicitly is the same run)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in ("given", "sources"):
                continue
            value = getattr(self, f.name)
            if f.name == "optimizer":
                value = self.optimizer_name
            elif f.name == "callbacks":
                value = [type(c).__name__ if not callable(c) or hasattr(c, "on_eval")
                         else getattr(c, "__name__", type(c).__name__) for c in value]
            elif f.name == "checkpoint" and value is not None:
                value = os.fspath(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def decided(self, **values: Any) -> "FitSettings":
        """A copy with what the fit decided once it knew its batch (``compile``) filled in:
        not a new resolution (nothing is checked again, the copy is of these settings)."""
        out = copy.copy(self)
        for name, value in values.items():
            object.__setattr__(out, name, value)
        return out

    def with_lrs(self, factor: float, *, why: str, **chosen) -> "FitSettings":
        """These settings with Adam's and Muon's lrs times ``factor`` (``why``: the source the
        record gives them) and ``chosen`` added to :attr:`chosen`."""
        return dataclasses.replace(
            self, lr=float(f"{self.lr * factor:.6g}"),
            muon_lr=None if self.muon_lr is None else float(f"{self.muon_lr * factor:.6g}"),
            sources={**self.sources, "lr": why, **({"muon_lr": why} if self.muon_lr else {})},
            chosen={**self.chosen, **chosen})

    def protocol(self) -> dict:
        """What makes two runs the same training (a checkpoint's identity, with the points,
        parameters and models the loop adds): steps, lrs, optimiser, schedule, batch size
        as asked, seed, loss and precision."""
        return {"steps": self.steps, "lr": self.lr, "schedule": self.schedule,
                "seed": self.seed, "loss": self.loss, "precision": self.precision,
                "optimizer": self.optimizer_name, "muon_lr": self.muon_lr}


def model_facts(models: Sequence[nn.Module]) -> dict:
    """What the models say about themselves, where they all agree: ``method`` (a registered
    preset's name, ``model.preset``), ``width``, ``depth`` (``model.config``), ``built_for``
    (``model.built_for``) and the ``config``; a fact they disagree on, or that one lacks, is
    None (``built_for``: a set of the optimisers they were built for)."""
    def common(values: list) -> Any:
        return values[0] if values and all(v == values[0] for v in values) else None

    cfgs = [getattr(m, "config", None) for m in models]
    names = [getattr(m, "preset", None) for m in models]
    return {"method": common([n if n in presets() else None for n in names]),
            "width": common([getattr(c, "width", None) for c in cfgs]),
            "depth": common([getattr(c, "depth", None) for c in cfgs]),
            "config": cfgs[0] if cfgs and all(c == cfgs[0] for c in cfgs) else None,
            "built_for": {getattr(m, "built_for", None) or "adam" for m in models}}


def asked_options(options: FitOptions | Mapping | None = None, /, **changes: Any) -> dict:
    """The option values the user set: those of ``options`` (a FitOptions' non-default
    fields, a FitSettings' ``given`` ones, or a mapping) updated by ``changes``."""
    names = set(option_names())
    if options is None:
        base: dict = {}
    elif isinstance(options, FitSettings):
        base = {k: getattr(options, k) for k in options.given}
    elif isinstance(options, FitOptions):
        base = dict(options._given)
    elif isinstance(options, Mapping):  # a value equal to the option's default is not a choice
        defaults = {f.name: f.default for f in dataclasses.fields(FitOptions)}
        base = {k: v for k, v in options.items()
                if k not in defaults or defaults[k] is dataclasses.MISSING or v != defaults[k]}
    else:
        raise InputError(f"settings must be a FitOptions, FitSettings, a dict of options or "
                         f"None, got {type(options).__name__}")
    asked = {**base, **changes}
    unknown = sorted(set(asked) - names)
    if unknown:
        raise InputError(f"unknown fit option(s) {unknown}; valid: {', '.join(sorted(names))}")
    return asked


def resolve_settings(models: Sequence[nn.Module], options: FitOptions | Mapping | None = None,
                     /, **changes: Any) -> FitSettings:
    """Resolve a fit's settings for ``models``, once: the user's options (``options`` and/or
    keyword ``changes``, names of :class:`~inrank.train.options.FitOptions`) with the
    library's choices filled in.

    - optimiser: as given, else the one the models were built for (``model.built_for``,
      :func:`inrank.build`), else ``"adam"``;
    - ``lr`` and, with Muon, ``muon_lr``: as given, else the models' preset's tuned values
      at their width (:meth:`inrank.Preset.lr_for`); a model without a preset needs them given;
    - the device: ``"auto"`` made concrete, a missing one refused.

    A :class:`FitSettings` that already fits ``models`` is returned as it is (with ``changes``,
    what its user asked is resolved again with them).

    Raises:
        InputError: an unknown option or value; a learning rate the models' preset cannot
            give (a module :func:`inrank.build` did not make: pass ``lr=``, and with Muon
            ``muon_lr=``); models built for different optimisers with none named.

    Examples:
        >>> import inrank
        >>> model = inrank.build("relu+rei", 2, 3, width=72, depth=3)
        >>> s = resolve_settings([model], steps=10)
        >>> tuned = inrank.preset("relu+rei").lr_for(model.built_for, width=72)
        >>> s.optimizer == model.built_for, (s.lr, s.muon_lr) == (tuned["lr"], tuned["muon_lr"])
        (True, True)
    """
    models = list(models)
    if not models:
        raise InputError("resolve_settings needs at least one model")
    facts = model_facts(models)
    if isinstance(options, FitSettings) and not changes:
        _check_fits(options, facts)
        return options
    asked = asked_options(options, **changes)
    if asked.get("steps") is None:
        raise InputError("steps is required: how many optimisation steps to train")
    optimizer, opt_source = _optimizer(asked.get("optimizer"), facts)
    known = facts["method"] is not None
    p = preset(facts["method"]) if known else None
    if p is not None and isinstance(optimizer, str):
        _warn_other_knob(p, facts, optimizer)
    # the width rule scales by the hidden width; depth 0 (a linear read-out) has none
    width = facts["width"] if facts["depth"] != 0 else None
    tuned = (p.lr_for(optimizer if optimizer in OPTIMIZERS else "adam", width=width)
             if p is not None else {"lr": None, "muon_lr": None})
    where = f"preset {facts['method']}" + ("" if width is None else f" at width {width}")
    lr, lr_source = _pick("lr", asked.get("lr"), tuned["lr"], where, facts)
    muon_lr, muon_source = None, None
    if optimizer == "muon":
        muon_lr, muon_source = _pick("muon_lr", asked.get("muon_lr"), tuned["muon_lr"], where,
                                     facts)
    elif asked.get("muon_lr") is not None:
        raise InputError(f"muon_lr is Muon's learning rate; it needs optimizer='muon' (got "
                         f"optimizer={optimizer_name(optimizer)!r})")
    filled = {**asked, "optimizer": optimizer, "lr": lr, "muon_lr": muon_lr}
    knob = None
    if p is not None and p.knob is not None and facts["config"] is not None:
        knob = {p.knob: knob_value(dataclasses.replace(p, config=facts["config"]))}
    sources = {"optimizer": opt_source, "lr": lr_source}
    if muon_source is not None:
        sources["muon_lr"] = muon_source
    scales = [lr_scales(m) for m in models]
    if any(sc != scales[0] for sc in scales):
        raise InputError("the models train their tensors at different lr scales (their "
                         "encoding_lr_scale); fit them separately")
    return FitSettings(**filled, method=facts["method"], width=facts["width"],
                       depth=facts["depth"], knob=knob, lr_scales=scales[0],
                       given=tuple(k for k in option_names() if k in asked), sources=sources)


def _optimizer(asked, facts: dict) -> tuple[Any, str]:
    if asked is not None:
        optimizer_name(asked)
        return asked, "given"
    built = facts["built_for"]
    if len(built) > 1:
        raise InputError(f"the models were built for different optimisers "
                         f"({', '.join(sorted(built))}); pass optimizer=")
    return next(iter(built)), "model.built_for"


def _pick(name: str, given: float | None, tuned: float | None, where: str,
          facts: dict) -> tuple[float, str]:
    if given is not None:
        return given, "given"
    if tuned is not None:
        return tuned, where
    what = ("models built from different presets or widths" if facts["method"] is None and
            facts["config"] is None else "a model that no inrank preset built")
    raise InputError(f"{name} is needed: there is no tuned value for {what}; pass {name}= "
                     "(or build the model with inrank.build(METHOD, ...) to train at its "
                     "tuned values)")


def _check_fits(settings: FitSettings, facts: dict) -> None:
    """Refuse settings resolved for other models."""
    for key in ("method", "width", "depth"):
        mine = getattr(settings, key)
        if mine is not None and facts[key] is not None and mine != facts[key]:
            raise InputError(f"these settings were resolved for {key} {mine!r}, the model has "
                             f"{facts[key]!r}; resolve them for this model (pass the options, "
                             "not the settings)")


def _warn_other_knob(p, facts: dict, optimizer: str) -> None:
    """Warn when models built for another optimiser carry that optimiser's tuned knob and
    ``optimizer``'s tuned knob differs (build them with ``optimizer=`` for this one's)."""
    built, cfg = facts["built_for"], facts["config"]
    if len(built) != 1 or cfg is None or p.knob is None or optimizer not in OPTIMIZERS:
        return
    (built,) = built
    if built == optimizer:
        return
    at = {o: knob_value(dataclasses.replace(p, config=p.config_at(
        width=cfg.width, depth=cfg.depth, optimizer=o))) for o in (built, optimizer)}
    mine = knob_value(dataclasses.replace(p, config=cfg))
    if mine == at[built] != at[optimizer]:
        warnings.warn(f"{p.name} was built for {built} ({p.knob} {at[built]:g}, tuned with "
                      f"{built}); training it with {optimizer}, whose tuned {p.knob} is "
                      f"{at[optimizer]:g}: build it with optimizer={optimizer!r} for that one",
                      stacklevel=4)
