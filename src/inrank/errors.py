"""Exceptions a user can cause; the CLI prints their message on one line.

Every error the library raises on purpose is an :class:`InrankError`, so a caller (and the
CLI) can tell "bad input" from a bug: bad values are :class:`InputError` (also a
``ValueError``), bad types :class:`InputTypeError` (also a ``TypeError``). Messages name the
library's own arguments (``lr``, ``data``), never a command-line flag.
"""
from __future__ import annotations

from typing import Any

__all__ = ["InrankError", "InputError", "InputTypeError", "ResourceError", "FitFailedError",
           "DivergedError", "MissingDependencyError"]


class InrankError(Exception):
    """Base class for errors that carry a user-facing one-line message."""


class InputError(InrankError, ValueError):
    """A public input has a wrong value; the message says what was received, what was
    expected and the fix."""


class InputTypeError(InrankError, TypeError):
    """A public input has a wrong type; the message names the expected type."""


class ResourceError(InputError):
    """A request is too large for this machine's memory; raised before anything is allocated,
    the message names the memory it would need, what is available and a setting that fits
    (see :mod:`inrank.memory`)."""


class FitFailedError(InrankError):
    """A fit ended without learning the signal: below the PSNR of predicting the signal's mean
    everywhere, or below its own first evaluation (``result.status`` says which), or it
    diverged (:class:`DivergedError`). ``fit(..., accept_worse=True)`` returns such a result
    instead.

    Attributes:
        result: the ``FitResult`` as trained (a list of them for a batched fit), kept.
    """

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.result = result


class DivergedError(FitFailedError, FloatingPointError):
    """Training produced a NaN or inf loss.

    Attributes:
        result: the partial ``FitResult`` up to the last finite evaluation; the model passed to
            ``fit`` has been restored to its best evaluated state.
    """


class MissingDependencyError(InrankError, ImportError):
    """An optional extra is not installed; the message names the install command."""
