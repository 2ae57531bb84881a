"""inrank: implicit neural representations and the inlet rank collapse.

Diagnosis (layer-wise NTK, per-layer rank) and remedy (Rank-Expanding Initialization) after
Zheng, Saratchandran and Lucey, "The Inlet Rank Collapse in Implicit Neural Representations:
Diagnosis and Unified Remedy" (2026).
"""
from __future__ import annotations

from .nn import init
from .train import fit_many, fit_models
from .bench.runner import SuiteResult, run_suite, suites
from .diagnosis.diagnose import Diagnosis, LayerDiagnosis, diagnose
from .errors import DivergedError, InputError, InputTypeError, InrankError, MissingDependencyError
from .train import FitResult, fit, predict
from .metrics import psnr, snr, ssim
from .nn.mlp import CoordinateMLP, MLPConfig
from .diagnosis.ntk import LayerwiseNTK, jacobian_ntk, layerwise_ntk
from .nn.presets import Preset, build, preset, presets
from .report.mesh import extract_mesh
from .train import occupancy_iou
from .signals.signal import Signal, grid_coords, load_image
from .signals.synthetic import signal_1d
from .signals.audio import load_audio, save_audio
from .signals.mesh import load_mesh_occupancy, mesh_occupancy
from .signals.load import load_signal
from .signals.splits import subgrid_mask

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
