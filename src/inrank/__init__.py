"""inrank: implicit neural representations and the inlet rank collapse.

Diagnosis (layer-wise NTK, per-layer rank) and remedy (Rank-Expanding Initialization) after
Zheng, Saratchandran and Lucey, "The Inlet Rank Collapse in Implicit Neural Representations:
Diagnosis and Unified Remedy" (2026).
"""
from __future__ import annotations

from . import init
from .batched import fit_many, fit_models
from .bench import SuiteResult, run_suite, suites
from .diagnose import Diagnosis, LayerDiagnosis, diagnose
from .errors import DivergedError, InputError, InputTypeError, InrankError, MissingDependencyError
from .fit import FitResult, fit, predict
from .metrics import psnr, snr, ssim
from .models import CoordinateMLP, MLPConfig
from .ntk import LayerwiseNTK, jacobian_ntk, layerwise_ntk
from .presets import Preset, build, preset, presets
from .occupancy import extract_mesh, occupancy_iou
from .signals import Signal, grid_coords, load_image
from .signals_1d import signal_1d
from .signals_audio import load_audio, save_audio
from .signals_mesh import load_mesh_occupancy, mesh_occupancy
from .sources import load_signal
from .splits import subgrid_mask

__version__ = "0.1.0"

__all__ = [
    "init", "DivergedError", "InrankError", "InputError", "InputTypeError", "FitResult", "fit", "predict", "psnr", "ssim",
    "CoordinateMLP", "MLPConfig", "Preset", "build", "preset", "presets", "Signal",
    "grid_coords", "load_image", "__version__",
    "Diagnosis", "LayerDiagnosis", "diagnose", "LayerwiseNTK", "jacobian_ntk", "layerwise_ntk",
    "SuiteResult", "run_suite", "suites",
    "MissingDependencyError", "snr", "extract_mesh", "occupancy_iou", "signal_1d", "load_audio",
    "save_audio", "load_mesh_occupancy", "mesh_occupancy", "load_signal", "subgrid_mask",
    "fit_many", "fit_models",
]
