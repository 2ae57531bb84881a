"""Command-line interface: ``inrank fit | demo | ...``, a thin layer over the library.

Each subcommand parses into keyword arguments, calls the library, and saves the resolved
configuration as JSON beside its results. User errors print one line on stderr and exit 2
(``--debug`` shows the traceback).
"""
from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable

__all__ = ["main", "build_parser"]

#: subcommand name -> (module path, help); each module has ``add_arguments(p)`` and ``run(args)``.
_COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("inrank.cli.fit", "fit one method to an image and write the reconstruction"),
    "demo": ("inrank.cli.demo", "compare relu, relu+rei, pe and siren on a built-in image"),
    "bench": ("inrank.cli.bench", "run a benchmark suite (resumable): tables, plots, HTML report"),
    "diagnose": ("inrank.cli.diagnose", "per-layer representation rank and layer-wise NTK diagnosis"),
    "tune": ("inrank.cli.tune", "choose each method's lr and knob on a suite's calibration images"),
}


def register(name: str, module: str, help: str) -> None:
    """Add a subcommand implemented in ``module`` (used by later subsystems)."""
    _COMMANDS[name] = (module, help)


def _load(module: str):
    import importlib

    return importlib.import_module(module)


class _Parser(argparse.ArgumentParser):
    """Argument errors as one line on stderr, exit 2; ``flags`` holds its option strings."""

    def __init__(self, *args, **kwargs) -> None:
        self.flags: set[str] = set()
        super().__init__(*args, **kwargs)

    def add_argument(self, *args, **kwargs):  # type: ignore[override]
        action = super().add_argument(*args, **kwargs)
        self.flags.update(action.option_strings)
        return action

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser."""
    from .. import __version__

    parser = _Parser(
        prog="inrank", description="Implicit neural representations and the inlet rank collapse.")
    parser.add_argument("--version", action="version", version=f"inrank {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in _COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
        _load(module).add_arguments(p)
        p.set_defaults(_module=module,
                       _flags=frozenset(p.flags))
    return parser


def _user_errors() -> tuple[type[BaseException], ...]:
    """What bad input raises: the library's own errors, files that are missing or unreadable,
    and an out-of-memory request. Anything else is a bug and keeps its traceback."""
    import torch

    from ..errors import InrankError

    return (InrankError, OSError, torch.OutOfMemoryError)


def _cli_wording(message: str, flags: frozenset[str]) -> str:
    """Library messages name arguments as ``name=VALUE``; where the command has a flag of the
    same name (one spelling per idea), show it as ``--name VALUE``."""
    import re

    def flag(m: re.Match) -> str:
        name = "--" + m.group(1).replace("_", "-")
        return f"{name} " if name in flags else m.group(0)

    return re.sub(r"(?<![\w.'\"-])([a-z][a-z_]*)=", flag, message)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``inrank`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], int | None] = _load(args._module).run
    previous_format = warnings.formatwarning
    warnings.formatwarning = lambda msg, cat, *a, **k: f"inrank: warning: {msg}\n"
    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        print("inrank: interrupted", file=sys.stderr)
        return 130
    except _user_errors() as exc:
        if args.debug:
            raise
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        print(f"inrank: error: {_cli_wording(msg, args._flags)}",
              file=sys.stderr)
        return 2
    finally:
        warnings.formatwarning = previous_format
