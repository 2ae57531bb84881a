"""Exceptions a user can cause; the CLI prints their message on one line."""
from __future__ import annotations

from typing import Any

__all__ = ["InrankError", "DivergedError", "MissingDependencyError"]


class InrankError(Exception):
    """Base class for errors that carry a user-facing one-line message."""


class DivergedError(InrankError, FloatingPointError):
    """Training produced a NaN or inf loss.

    Attributes:
        result: the partial ``FitResult`` up to the last finite evaluation; the model passed to
            ``fit`` has been restored to its best evaluated state.
    """

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class MissingDependencyError(InrankError, ImportError):
    """An optional extra is not installed; the message names the install command."""
