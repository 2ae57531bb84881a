"""The ``inrank`` command line: one module per command, a thin layer over the library.

Each command's options are derived from the library's dataclasses and typed signatures
(:mod:`inrank.cli.args`); every command takes ``--config FILE`` and ``--print-config``.
"""
from __future__ import annotations

from .main import build_parser, main

__all__ = ["main", "build_parser"]
