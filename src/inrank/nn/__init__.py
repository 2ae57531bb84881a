"""Models: activations, input encodings (fixed ones and the learned feature grids),
initialisers (the Rank-Expanding Initialization and its triangle-wave maths), the coordinate
MLP and the one registry of method presets."""
from __future__ import annotations

from . import init
from .activations import ACTIVATIONS, Finer, Gabor, Gauss, Sine, make_activation
from .encodings import FourierFeatures, PositionalEncoding
from .grids import DenseGrid, HashGrid
from .layers import dense_layers
from .mlp import CoordinateMLP, MLPConfig
from .registry import Preset, build, preset, presets

__all__ = ["init", "dense_layers", "ACTIVATIONS", "Sine", "Gauss", "Gabor", "Finer", "make_activation",
           "PositionalEncoding", "FourierFeatures", "DenseGrid", "HashGrid", "MLPConfig",
           "CoordinateMLP", "Preset", "build", "preset", "presets"]
