"""inrank: implicit neural representations and the inlet rank collapse.

Diagnosis (layer-wise NTK, per-layer rank) and remedy (Rank-Expanding Initialization) after
Zheng, Saratchandran and Lucey, "The Inlet Rank Collapse in Implicit Neural Representations:
Diagnosis and Unified Remedy" (2026).

The public API, re-exported from the rooms along the data flow
signal -> model -> fit -> diagnose -> bench -> report:
:mod:`inrank.signals`, :mod:`inrank.nn`, :mod:`inrank.train`, :mod:`inrank.diagnosis`,
:mod:`inrank.bench`, :mod:`inrank.report` (and the command line, :mod:`inrank.cli`); inverse
problems' measurement operators in :mod:`inrank.operators`.
"""
from __future__ import annotations

from .version import __version__
from .bench import SuiteResult, run_suite, suites
from .diagnosis import (Diagnosis, LayerDiagnosis, LayerwiseNTK, diagnose, jacobian_ntk,
                        layerwise_ntk)
from .errors import (DivergedError, FitFailedError, InputError, InputTypeError, InrankError,
                     MissingDependencyError, ResourceError)
from .metrics import mean_psnr, psnr, snr, ssim
from .nn import CoordinateMLP, MLPConfig, Preset, build, init, preset, presets
from .operators import (AreaDownsample, Identity, InverseTask, Operator, ParallelBeamProjector,
                        PixelMask, make_task)
from .runs import LoadedRun, load
from .signals import (PATTERNS, Signal, extract_mesh, grid_coords, load_audio, load_image,
                      load_mesh_occupancy, load_mesh_sdf, load_signal, load_video, mesh_occupancy,
                      mesh_sdf, pattern, save_audio, sdf_metrics, signal_1d, subgrid_mask)
from .train import (FitOptions, FitResult, FitSettings, fit, fit_many, fit_models, occupancy_iou,
                    predict, resolve_settings)

__all__ = [
    # signals
    "Signal", "grid_coords", "load_image", "load_video", "load_audio", "save_audio",
    "load_mesh_occupancy",
    "mesh_occupancy", "load_mesh_sdf", "mesh_sdf", "signal_1d", "load_signal", "subgrid_mask",
    "pattern", "PATTERNS",
    # models
    "init", "CoordinateMLP", "MLPConfig", "Preset", "build", "preset", "presets",
    # training and metrics
    "FitOptions", "FitSettings", "resolve_settings", "FitResult", "fit", "predict", "fit_many",
    "fit_models", "psnr", "mean_psnr", "ssim", "snr",
    "occupancy_iou", "sdf_metrics", "extract_mesh",
    # inverse problems
    "make_task", "InverseTask", "Operator", "Identity", "ParallelBeamProjector",
    "AreaDownsample", "PixelMask",
    # saved runs
    "load", "LoadedRun",
    # diagnosis
    "Diagnosis", "LayerDiagnosis", "diagnose", "LayerwiseNTK", "jacobian_ntk", "layerwise_ntk",
    # benchmarks
    "SuiteResult", "run_suite", "suites",
    # errors
    "InrankError", "InputError", "InputTypeError", "ResourceError", "FitFailedError",
    "DivergedError",
    "MissingDependencyError",
    "__version__",
]
