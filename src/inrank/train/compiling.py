"""Whether a fit trains through ``torch.compile``: as the user said, else where it was measured
to pay (``compile=None``, the default).

Measured on a 2-core CPU (benchmarks/results/fit_speed_cpu.md: kodim01 at 384 x 256, 3 x 256,
full batch): a compiled step is 1.18x (relu+rei), 1.46x (siren) and 1.25x (pe) faster, after a
first call of 7-15 s; at 64 px the gain is 1.10-1.20x (compile_speed.md). So on a CPU a fit
compiles by default when its training work, :func:`~inrank.train.flops.step_flops` times the
steps, is at least :data:`COMPILE_MIN_FLOPS`: about two minutes of eager steps here, where
the slowest measured gain (1.18x) saves more than the slowest first call costs. On a GPU the
default stays eager until ``benchmarks/gpu/run_all.sh`` has measured it there. A CPU without
a C++ compiler or Python's headers (which inductor needs) trains eager.
"""
from __future__ import annotations

import os
import shutil
import sysconfig
from pathlib import Path

import torch
from torch import nn

from .flops import step_flops
from .settings import FitSettings

__all__ = ["COMPILE_MIN_FLOPS", "compiles", "with_compile_decided", "cxx_compiler"]

#: Training FLOPs (per-step FLOPs x steps) from which a CPU fit compiles by default: about
#: 2 minutes of eager 3 x 256 steps on the 2-core CPU it was measured on (35 GFLOP/s reached).
COMPILE_MIN_FLOPS = 4e12


def cxx_compiler() -> str | None:
    """The C++ compiler inductor would use on a CPU (``$CXX``, g++, clang++, c++), or None;
    None too when Python's headers, which its generated modules include, are missing."""
    if not (Path(sysconfig.get_paths()["include"]) / "Python.h").is_file():
        return None
    for name in (os.environ.get("CXX"), "g++", "clang++", "c++"):
        if name and shutil.which(name):
            return name
    return None


def compiles(settings: FitSettings, model: nn.Module, n_points: int,
             device: torch.device) -> bool:
    """Whether this fit trains through ``torch.compile``.

    Args:
        settings: the fit's; ``settings.compile`` True or False is the user's word.
        model: the model (its dense layers' FLOPs).
        n_points: points per training step (the batch).
        device: where it trains.

    Examples:
        >>> import inrank
        >>> from inrank.train.settings import resolve_settings
        >>> model = inrank.build("relu", 2, 3, width=256, depth=3)
        >>> s = resolve_settings([model], steps=1000, device="cpu")
        >>> compiles(s, model, 1024, torch.device("cpu"))        # 0.8 TFLOP: eager
        False
        >>> compiles(s, model, 98304, torch.device("cpu")) == (cxx_compiler() is not None)
        True
    """
    if settings.compile is not None:
        return settings.compile
    if device.type != "cpu" or settings.loss == "sdf" or cxx_compiler() is None:
        return False
    return step_flops(model, n_points) * settings.steps >= COMPILE_MIN_FLOPS


def with_compile_decided(settings: FitSettings, model: nn.Module, n_points: int,
                         device: torch.device) -> FitSettings:
    """``settings`` with ``compile`` True or False, as :func:`compiles` decides it for this
    fit (a copy, :meth:`~inrank.train.settings.FitSettings.decided`, when that differs), so
    the result's settings say what ran."""
    wanted = compiles(settings, model, n_points, device)
    return settings if settings.compile is wanted else settings.decided(compile=wanted)
