"""The one registry of named methods: a name maps to an :class:`MLPConfig` and a learning rate.

The CLI's choices, the bench suites, the docs and the tests all read :data:`_REGISTRY` through
:func:`presets`, :func:`preset` and :func:`build`; lookups return copies.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, fields, replace

import torch

from ..errors import InputError
from .mlp import CoordinateMLP, MLPConfig

__all__ = ["Preset", "presets", "preset", "build"]


@dataclass(frozen=True)
class Preset:
    """A named method."""

    name: str
    """Registry key, e.g. ``"relu+rei"``."""
    summary: str
    """One line: what it is."""
    source: str
    """The paper its defaults follow, and any deviation."""
    config: MLPConfig
    """Architecture and init; ``in_dim``, ``out_dim``, ``width``, ``depth`` are set by :func:`build`."""
    lr: float
    """Default Adam learning rate for image fitting (see benchmarks/lr_sweep for the sweep)."""


def _p(name: str, summary: str, source: str, lr: float, **cfg) -> Preset:
    return Preset(name, summary, source, MLPConfig(**cfg), lr)


_REGISTRY: dict[str, Preset] = {p.name: p for p in [
    _p("relu", "ReLU MLP, PyTorch default init", "PyTorch nn.Linear default "
       "(kaiming_uniform a=sqrt(5)): W, b ~ U(+-1/sqrt(fan_in))", 1e-3),
    _p("relu+rei", "ReLU MLP, first two layers by the Rank-Expanding Initialization",
       "Zheng, Saratchandran, Lucey 2026 (inlet rank collapse); variant 'triangle' "
       "(benchmarks/rei_ablation.py): layers 1-2 start as a triangle-wave positional encoding "
       "built from ReLUs; lr 5e-4 from that ablation", 5e-4, first_init="rei",
       rei_variant="triangle"),
    _p("pe", "NeRF positional encoding + ReLU MLP",
       "Mildenhall et al., ECCV 2020: gamma(x) = [x, sin(2^k pi x), cos(2^k pi x)], L = 10",
       1e-3, encoding="pe"),
    _p("rff", "Gaussian random Fourier features + ReLU MLP",
       "Tancik et al., NeurIPS 2020: m = 256, sigma = 10 on [0, 1] coordinates", 1e-3,
       encoding="rff"),
    _p("siren", "SIREN: sin(omega0 (W x + b)), omega0 = 30",
       "Sitzmann et al., NeurIPS 2020: first W ~ U(+-1/fan_in), hidden W ~ "
       "U(+-sqrt(6/fan_in)/omega0), output layer likewise", 1e-4,
       activation="sine", first_init="siren", hidden_init="siren"),
    _p("bn", "ReLU MLP with BatchNorm after the first dense layer only",
       "BatchNorm (Ioffe and Szegedy 2015) as the inlet remedy studied by Zheng et al. 2026; "
       "batch statistics in training, running statistics in eval", 1e-3, batchnorm="first"),
    _p("bn-all", "ReLU MLP with BatchNorm after every hidden dense layer",
       "Ioffe and Szegedy 2015; as 'bn' but on all hidden layers", 1e-3, batchnorm="all"),
    _p("gauss", "Gaussian activation exp(-(s z)^2), s = 10",
       "Ramasinghe and Lucey, ECCV 2022; PyTorch default init", 1e-3, activation="gauss"),
    _p("wire", "Real Gabor wavelet activation cos(omega0 z) exp(-(s z)^2), omega0 = 20, s = 10",
       "Saragadam et al., CVPR 2023 (WIRE); deviation: the real Gabor form, not the complex "
       "one, so all layers are real nn.Linear; PyTorch default init", 1e-3,
       activation="gabor", omega0=20.0, hidden_omega0=20.0),
    _p("finer", "FINER: sin(omega0 (|z| + 1) z), omega0 = 30, first bias U(-k, k), k = 20",
       "Liu et al., CVPR 2024: SIREN weight init, larger first-layer bias, scale |z| + 1 "
       "detached as in the authors' code", 5e-4,
       activation="finer", first_init="finer", hidden_init="siren"),
]}


def presets() -> list[str]:
    """Names of every registered method, in registry order.

    Examples:
        >>> presets()[:3]
        ['relu', 'relu+rei', 'pe']
    """
    return list(_REGISTRY)


def preset(name: str) -> Preset:
    """Return a deep copy of the preset called ``name``; ``ValueError`` lists the names."""
    if name not in _REGISTRY:
        raise InputError(f"unknown method {name!r}; choose one of: {', '.join(_REGISTRY)}")
    return copy.deepcopy(_REGISTRY[name])


_CONFIG_FIELDS = {f.name for f in fields(MLPConfig)}


def build(name: str, in_dim: int, out_dim: int, width: int = 256, depth: int = 3, seed: int = 0,
          **overrides) -> CoordinateMLP:
    """Build the model of preset ``name``, initialised from ``seed``.

    Args:
        name: a preset from :func:`presets`.
        in_dim: d, the coordinate dimension.
        out_dim: c, the output channels.
        width: D, units per hidden layer.
        depth: L, the number of hidden layers.
        seed: seeds every random draw of the init (global RNG untouched).
        **overrides: any :class:`MLPConfig` field, e.g. ``omega0=3000`` for audio.

    Returns:
        A :class:`CoordinateMLP`; ``model.preset`` holds the name.

    Examples:
        >>> import inrank
        >>> inrank.build("siren", 2, 3, width=32, depth=2)(torch.zeros(4, 2)).shape
        torch.Size([4, 3])
    """
    p = preset(name)
    unknown = set(overrides) - _CONFIG_FIELDS
    if unknown:
        raise InputError(f"unknown option(s) {sorted(unknown)} for build(); valid: "
                         f"{', '.join(sorted(_CONFIG_FIELDS - {'in_dim', 'out_dim', 'width', 'depth'}))}")
    cfg = replace(p.config, in_dim=in_dim, out_dim=out_dim, width=width, depth=depth, **overrides)
    model = CoordinateMLP(cfg, generator=torch.Generator().manual_seed(int(seed)))
    model.preset = name
    return model
