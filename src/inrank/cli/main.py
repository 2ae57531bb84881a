"""Command-line interface: ``inrank fit | demo | ...``, a thin layer over the library.

Each subcommand's options are derived from the library's dataclasses and typed signatures
(:mod:`inrank.cli.args`), read from the command line or a config file (``--config``, printed by
``--print-config``), then handed to the library, which checks them. A command that writes its
results also writes its resolved configuration there, a file ``--config`` reads back to rerun
it. User errors print one line on stderr and exit 2 (``--debug`` shows the traceback); a fit
that fails to learn (:class:`inrank.FitFailedError`) prints one line and exits 1, its results
kept.
"""
from __future__ import annotations

import importlib
import json
import re
import sys
import warnings
from collections.abc import Iterable
from types import ModuleType
from typing import Any, NoReturn

import torch
from jsonargparse import Namespace

from ..version import __version__
from ..errors import FitFailedError, InrankError
from ..memory import format_bytes
from .args import Parser, add_config_options

__all__ = ["main", "build_parser", "register", "CommandLine"]

#: subcommand name -> (module path, help); each module has ``add_arguments(parser)`` and
#: ``run(args, config)``.
_COMMANDS: dict[str, tuple[str, str]] = {
    "fit": ("inrank.cli.fit", "fit one method to a signal (image, audio, mesh, 1-D), save it all"),
    "demo": ("inrank.cli.demo", "compare methods (relu, relu+rei, pe, siren) on one image"),
    "bench": ("inrank.cli.bench", "run a benchmark suite (resumable): tables, plots, HTML report"),
    "diagnose": ("inrank.cli.diagnose", "per-layer representation rank and layer-wise NTK diagnosis"),
    "tune": ("inrank.cli.tune", "choose each method's lr and knob on a suite's calibration images"),
    "advise": ("inrank.cli.advise", "choose a method's knob from the network at init, before training"),
}


def register(name: str, module: str, help: str) -> None:
    """Add a subcommand implemented in ``module`` (used by later subsystems)."""
    _COMMANDS[name] = (module, help)


def _load(module: str) -> ModuleType:
    return importlib.import_module(module)


class CommandLine(Parser):
    """The ``inrank`` parser: one subparser per command (``commands``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: dict[str, Parser] = {}

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:  # type: ignore[override]
        """A command's error (jsonargparse names its options ``fit.source``) as that command's."""
        names = "|".join(map(re.escape, self.commands))
        key = rf"(?<![\w./'-])({names})\.(?=\w)"  # "fit.source", not a file "fit.yaml"
        found = re.search(key, message) if names else None
        if found and self.exit_on_error:
            self.commands[found.group(1)].error(re.sub(key, "", message), ex)
        super().error(message, ex)

    def parse_command(self, argv: list[str] | None = None) -> tuple[str, Namespace]:
        """The command's name and its options (exits on ``--help``, ``--print-config`` or an
        error); a command's deprecated spellings (:meth:`Parser.rename`) are read as the new
        ones, with a warning."""
        argv = list(sys.argv[1:] if argv is None else argv)
        at = next((i for i, a in enumerate(argv) if a in self.commands), None)
        if at is not None:
            argv[at + 1:] = self.commands[argv[at]].current_spelling(argv[at + 1:])
        cfg = super().parse_args(argv)
        return cfg.command, cfg[cfg.command]

    def parse_args(self, args: list[str] | None = None, namespace: Any = None,
                   **kwargs: Any) -> Namespace:  # type: ignore[override]
        """The command's options with its name as ``command`` (``.fit``-free)."""
        name, cfg = self.parse_command(args)
        cfg = cfg.clone()
        cfg.command = name
        return cfg


def build_parser(commands: Iterable[str] | None = None) -> CommandLine:
    """The full argument parser, or one with only ``commands`` (each command's options are
    derived from the library when its parser is built, so ``main`` builds one)."""
    parser = CommandLine(
        prog="inrank", description="Implicit neural representations and the inlet rank collapse.",
        env_prefix=False)
    parser.add_argument("--version", action="version", version=f"inrank {__version__}")
    sub = parser.add_subcommands(dest="command", metavar="COMMAND", required=True)
    for name in _COMMANDS if commands is None else commands:
        module, help_text = _COMMANDS[name]
        p = Parser(prog=f"inrank {name}", description=help_text, env_prefix=False)
        add_config_options(p)
        p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
        _load(module).add_arguments(p)
        sub.add_subcommand(name, p, help=help_text)
        parser.commands[name] = p
    return parser


def _user_message(exc: BaseException) -> str | None:
    """The one line to print for an error bad input caused: the library's own errors, files
    that are missing or unreadable, and running out of memory (the last resort behind
    :mod:`inrank.memory`'s up-front estimates). None for anything else: a bug, which keeps its
    traceback."""
    if isinstance(exc, (InrankError, OSError)):
        text = re.sub(r"^\[Errno \d+\] ", "", str(exc).strip())  # "[Errno 13] Permission ..."
        return text.splitlines()[0] if text else exc.__class__.__name__
    allocator = isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc)
    if isinstance(exc, (MemoryError, torch.OutOfMemoryError)) or allocator:
        return _out_of_memory(exc)
    return None


def _out_of_memory(exc: BaseException) -> str:
    """``out of memory (what was asked); the fix`` from numpy's, torch's CPU allocator's or
    CUDA's message."""
    text = str(exc)
    exact = re.search(r"allocate (\d+) bytes", text)  # torch's CPU allocator
    rounded = re.search(r"allocate ([\d.]+) ?([KMGTPE]?i?B)", text)  # numpy, CUDA: 224. GiB
    if exact:
        detail = f"tried to allocate {format_bytes(int(exact.group(1)))}"
    elif rounded:
        detail = f"tried to allocate {rounded.group(1).rstrip('.')} {rounded.group(2)}"
    else:
        detail = (text.strip().splitlines() or [exc.__class__.__name__])[0]
    detail = ("CUDA: " if "CUDA" in text else "") + detail
    return (f"out of memory ({detail}); ask for less: a smaller size, width, resolution or "
            "batch size, or fewer points")


def _cli_wording(message: str, flags: frozenset[str]) -> str:
    """Library messages name arguments as ``name=VALUE`` (or start ``name must ...``); where the
    command has a flag of the same name (one spelling per idea), show it as ``--name``."""

    def as_flag(name: str) -> str | None:
        flag = "--" + name.replace("_", "-")
        return flag if flag in flags else None

    def assignment(m: re.Match) -> str:  # name=VALUE -> --name VALUE (name=True -> --name)
        flag = as_flag(m.group(1))
        if flag and m.group(2):
            return flag
        return f"{flag} " if flag else m.group(0)

    def subject(m: re.Match) -> str:  # name must ... -> --name must ...
        flag = as_flag(m.group(1))
        return f"{flag}{m.group(2)}" if flag else m.group(0)

    message = re.sub(r"(?<![\w.'\"-])([a-z][a-z_]*)=(True\b)?", assignment, message)
    return re.sub(r"^([a-z][a-z_]*)( must )", subject, message)


def _exit_code(exc: SystemExit) -> int:
    return exc.code if isinstance(exc.code, int) else int(exc.code is not None)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``inrank`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # build only the parser needed: the named command's (options before it take no value)
    named = next((a for a in argv if not a.startswith("-")), None)
    only = [named] if named in _COMMANDS else [] if argv == ["--version"] else None
    parser = build_parser(only)
    previous_format = warnings.formatwarning
    warnings.formatwarning = lambda msg, cat, *a, **k: f"inrank: warning: {msg}\n"
    try:
        name, args = parser.parse_command(argv)
    except SystemExit as exc:  # --help, --version, --print-config, or a bad option (printed)
        warnings.formatwarning = previous_format
        return _exit_code(exc)
    command = parser.commands[name]
    flags = frozenset(s for a in command._actions for s in a.option_strings)
    config = json.loads(command.dump(args, format="json", skip_none=False))
    try:
        return int(_load(_COMMANDS[name][0]).run(args, config) or 0)
    except KeyboardInterrupt:
        print("inrank: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        msg = _user_message(exc)
        if msg is None or args.debug:
            raise
        print(f"inrank: error: {_cli_wording(msg, flags)}", file=sys.stderr)
        return 1 if isinstance(exc, FitFailedError) else 2
    finally:
        warnings.formatwarning = previous_format
