"""Models: activations, input encodings, initialisers (the Rank-Expanding Initialization and
its triangle-wave maths), the coordinate MLP and the one registry of method presets."""
from __future__ import annotations

from . import init
from .activations import ACTIVATIONS, Finer, Gabor, Gauss, Sine, make_activation
from .encodings import FourierFeatures, PositionalEncoding
from .layers import dense_layers
from .mlp import CoordinateMLP, MLPConfig
from .registry import Preset, build, preset, presets

__all__ = ["init", "dense_layers", "ACTIVATIONS", "Sine", "Gauss", "Gabor", "Finer", "make_activation",
           "PositionalEncoding", "FourierFeatures", "MLPConfig", "CoordinateMLP", "Preset",
           "build", "preset", "presets"]
