"""Benchmarks: suites (data), the runner (resumable), one run's execution, executors (local,
batched, Ray), task protocols (held-out pixels, audio, occupancy) and learning-rate tuning."""
from __future__ import annotations

from .runner import (Suite, SuiteResult, executors, expand, register_executor, run_suite, suite,
                     suites)
from .run import ExecOptions, Run, data_dir, execute_run, resolve_image
from .tuning import best_lrs

__all__ = ["Suite", "SuiteResult", "suites", "suite", "expand", "run_suite", "executors",
           "register_executor", "Run", "ExecOptions", "execute_run", "data_dir",
           "resolve_image", "best_lrs"]
