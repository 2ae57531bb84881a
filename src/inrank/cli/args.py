"""The argument types and options the commands share: one definition each."""
from __future__ import annotations

import argparse
from collections.abc import Sequence

__all__ = ["positive_int", "positive_float", "add_model_arguments", "names"]


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def add_model_arguments(p: argparse.ArgumentParser, *, method: bool = True) -> None:
    """--method, --width, --depth, --seed: shared by fit and diagnose."""
    from ..nn.registry import presets

    if method:
        p.add_argument("--method", default="relu+rei", choices=presets(), metavar="NAME",
                       help=f"method preset: {', '.join(presets())} (default: relu+rei)")
    p.add_argument("--width", type=positive_int, default=256, help="units per hidden layer (256)")
    p.add_argument("--depth", type=positive_int, default=3, help="hidden layers (3)")
    p.add_argument("--seed", type=int, default=0, help="seed of init and batch order (0)")


def names(values: str | Sequence[str] | None) -> list[str] | None:
    """Names given as ``a,b`` or ``a b,c`` (nargs) -> ``["a", "b", "c"]``; None stays None."""
    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    return [v.strip() for item in items for v in item.split(",") if v.strip()]
