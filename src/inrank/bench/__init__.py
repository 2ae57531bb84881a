"""Benchmarks: suites (data), the runner (resumable), one run's execution, executors (local,
batched, Ray), task protocols (held-out pixels, audio, occupancy) and learning-rate tuning."""
from __future__ import annotations

from .run import ExecOptions, Run, data_dir, execute_run, resolve_image
from .runner import SuiteResult, executors, register_executor, run_suite
from .catalog import KODAK, Suite, expand, methods_of, suite, suites
from .selection import best_lrs
from .tuning import write_tuned

__all__ = ["Suite", "SuiteResult", "suites", "suite", "expand", "methods_of", "run_suite",
           "executors", "register_executor", "Run", "ExecOptions", "execute_run", "data_dir",
           "resolve_image", "best_lrs", "write_tuned", "KODAK"]
