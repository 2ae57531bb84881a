"""inrank: implicit neural representations and the inlet rank collapse.

Diagnosis (layer-wise NTK, per-layer rank) and remedy (Rank-Expanding Initialization) after
Zheng, Saratchandran and Lucey, "The Inlet Rank Collapse in Implicit Neural Representations:
Diagnosis and Unified Remedy" (2026).
"""
from __future__ import annotations

from . import init
from .errors import DivergedError, InrankError
from .fit import FitResult, fit, predict
from .metrics import psnr, ssim
from .models import CoordinateMLP, MLPConfig
from .presets import Preset, build, preset, presets
from .signals import Signal, grid_coords, load_image

__version__ = "0.1.0"

__all__ = [
    "init", "DivergedError", "InrankError", "FitResult", "fit", "predict", "psnr", "ssim",
    "CoordinateMLP", "MLPConfig", "Preset", "build", "preset", "presets", "Signal",
    "grid_coords", "load_image", "__version__",
]
