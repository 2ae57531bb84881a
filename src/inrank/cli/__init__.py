"""The ``inrank`` command line: one module per command, a thin layer over the library."""
from __future__ import annotations

from .main import build_parser, main

__all__ = ["main", "build_parser"]
