"""How a command's options are made: derived from the library, never written twice.

Each option is a parameter of a library dataclass (:class:`~inrank.train.options.FitOptions`,
:class:`~inrank.nn.mlp.MLPConfig`) or of a typed function (:func:`inrank.load_signal`,
:func:`inrank.run_suite`, ...; a command's own options are a typed function in its module).
jsonargparse reads the parameter's docstring; its type annotation and default come from the
signature, so a config file (``--config``) is checked against the same types as the flags.
Values are checked by the library's validators (:mod:`inrank.validation`) where the library
receives them, never by the command line.

The command line's conventions, applied to every derived option:

- ``--batch-size`` and ``--batch_size`` both work (the flag shares the argument's name, and the
  config key is the argument's name);
- a ``bool`` becomes a switch pair, ``--compile`` / ``--no-compile`` (``bool | None``: left
  out, None);
- a sequence takes one or more values, space or comma separated (``--seeds 0 1 2``,
  ``--methods relu,pe``), and a list in a config file;
- ``--config FILE`` reads options from a YAML or JSON file, ``--print-config`` (or
  ``--print_config``) prints the resolved configuration as YAML and exits;
- a bad value prints one line on stderr and exits 2;
- one name per idea across commands: the signal a command reads is its first positional
  argument, ``SOURCE`` (``inrank fit camera``, ``inrank diagnose camera``, ``inrank demo
  camera``); an option that takes one value is singular (``--method``, ``--optimizer``), one that
  takes several is plural (``--methods``, ``--images``, ``--seeds``). A spelling that changed
  still works on the command line, with a warning (:meth:`Parser.rename`).
"""
from __future__ import annotations

import argparse
import collections.abc
import dataclasses
import inspect
import re
import types
import typing
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NoReturn

from jsonargparse import ActionConfigFile, ActionYesNo, ArgumentParser, Namespace, set_parsing_settings

__all__ = ["Parser", "Items", "add_options", "add_config_options", "flag_names", "one_line",
           "picked"]

# Dataclass fields document themselves in a docstring below the field (FitOptions, MLPConfig).
set_parsing_settings(docstring_parse_attribute_docstrings=True)

#: The option that prints the resolved configuration (jsonargparse's name) and its alias.
PRINT_CONFIG = ("--print_config", "--print-config")


class Parser(ArgumentParser):
    """A jsonargparse parser whose errors are one line on stderr and exit code 2, and whose
    renamed options keep their old spelling as a deprecated alias (:meth:`rename`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: old flag -> its new flag, or the positional argument's name that replaced it
        self.renamed: dict[str, str] = {}

    def rename(self, old: str, new: str) -> None:
        """Keep the flag ``old`` working as a deprecated spelling of ``new``: a flag
        (``--methods``) or a positional argument's name (``source``). :meth:`current_spelling`
        rewrites it, with a ``FutureWarning``; ``--help`` mentions it under ``new``."""
        action = next(a for a in self._actions
                      if new in a.option_strings or (not a.option_strings and a.dest == new))
        action.help = f"{action.help} (was {old}, still accepted)"
        self.renamed[old] = new

    def current_spelling(self, args: Sequence[str]) -> list[str]:
        """``args`` with every deprecated flag (:meth:`rename`) in its new spelling; a flag that
        became a positional argument puts its value first. Warns once per flag."""
        out: list[str] = []
        first: list[str] = []
        args, prog = list(args), self.prog.replace(" [options]", "")
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                out += args[i:]
                break
            old, eq, value = arg.partition("=")
            new = self.renamed.get(old)
            if new is None:
                out.append(arg)
            elif new.startswith("-"):
                warnings.warn(f"{prog} {old} is deprecated, use {new}", FutureWarning,
                              stacklevel=3)
                out.append(new + eq + value)
            else:
                warnings.warn(f"{prog} {old} is deprecated, give it as the first argument: "
                              f"{prog} {new.upper()} [options]", FutureWarning, stacklevel=3)
                if not eq and i + 1 < len(args):
                    i += 1
                    value = args[i]
                first.append(value)
            i += 1
        return first + out

    def error(self, message: str, ex: Exception | None = None) -> NoReturn:  # type: ignore[override]
        if not self.exit_on_error:  # jsonargparse's nested parsers raise to their caller
            super().error(message, ex)
        prog = self.prog.replace(" [options]", "")
        self.exit(2, f"{prog}: error: {one_line(message)} (see --help)\n")

    def _get_values(self, action, arg_strings):  # type: ignore[override]
        # a positional left out (nargs "?") keeps what the namespace holds, the default or a
        # --config file's value; argparse would set its default over the file's
        if not arg_strings and not action.option_strings and action.nargs == "?":
            return argparse.SUPPRESS
        return super()._get_values(action, arg_strings)

    def _parse_optional(self, arg_string):  # type: ignore[override]
        # jsonargparse lets --print_config go without a value ("=" then means no flags); the
        # dashed spelling gets the same treatment.
        if arg_string == PRINT_CONFIG[1]:
            arg_string = PRINT_CONFIG[0]
        elif arg_string.startswith(PRINT_CONFIG[1] + "="):
            arg_string = PRINT_CONFIG[0] + arg_string[len(PRINT_CONFIG[1]):]
        return super()._parse_optional(arg_string)


def add_config_options(parser: Parser) -> None:
    """``--config FILE`` and ``--print-config`` (alias ``--print_config``)."""
    parser.add_argument(
        "--config", action=ActionConfigFile,
        help="read options from a YAML or JSON file, e.g. one written by --print-config or the "
             "command's config.json (options after it override it)")
    action = parser._option_string_actions[PRINT_CONFIG[0]]  # added by jsonargparse with --config
    action.option_strings.insert(0, PRINT_CONFIG[1])
    parser._option_string_actions[PRINT_CONFIG[1]] = action
    action.help = ("print the resolved configuration as YAML and exit; --config reads it back "
                   "(flags: skip_default, skip_unset)")


def one_line(message: str) -> str:
    """A jsonargparse message on one line: a wrong type names the option, the value and the
    types it takes (``--steps: expected int, got 'x'``); anything else has its lines joined."""
    message = str(message).strip()
    key = re.match(r'Parser key "([^"]+)"', message)
    given = re.search(r"(?:Given|Got) value: (.*)$", message, re.M)
    if key and given:
        subtypes = re.search(r"^\s*Subtypes: \[(.*)\]$", message, re.M)
        kinds = subtypes.group(1).split(", ") if subtypes else re.findall(
            r"Expected an? (<class '[^']+'>|[^\s.]+)", message)
        expected = " or ".join(dict.fromkeys(_type_name(k) for k in kinds)) or "another value"
        return f"{flag_names(key.group(1))[0]}: expected {expected}, got {given.group(1)!r}"
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    if key:  # 'Parser key "method": ...' -> '--method: ...'
        message = flag_names(key.group(1))[0] + message[key.end():]
    return message


def _type_name(text: str) -> str:
    """``"<class 'int'>"`` -> ``"int"``, ``NoneType`` -> ``"null"``."""
    name = re.sub(r"^<class '(?:[\w.]*\.)?([^']+)'>$", r"\1", text.strip())
    name = re.sub(r"^typing\.|^collections\.abc\.", "", name)
    return "null" if name == "NoneType" else name


class Items(argparse.Action):
    """One or more values of one type: ``--seeds 0 1 2``, ``--methods relu,pe`` (space or
    comma separated); in a config file a list (or a comma-separated string)."""

    def __init__(self, option_strings: list[str], dest: str, *, item: type = str,
                 **kwargs: Any) -> None:
        kwargs["nargs"] = "+"
        kwargs.setdefault("metavar", item.__name__.upper())
        super().__init__(option_strings, dest, **kwargs)
        self.item = item

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        try:
            setattr(namespace, self.dest, self._check_type(values))
        except TypeError as exc:
            raise argparse.ArgumentError(self, str(exc)) from None

    def _check_type_(self, value: Any, **_: Any) -> list | None:
        """jsonargparse's check of a value from a config file (or of a parsed one)."""
        try:
            return self._check_type(value)
        except TypeError as exc:
            raise TypeError(f"{self.option_strings[0]}: {exc}") from None

    def _check_type(self, value: Any) -> list | None:
        """The values as a list of ``item``; None stays None. Raises ``TypeError``."""
        if value is None:
            return None
        out = []
        for part in value if isinstance(value, (list, tuple)) else [value]:
            for v in part.split(",") if isinstance(part, str) else [part]:
                if not (isinstance(v, str) and not v.strip()):
                    out.append(self._convert(v.strip() if isinstance(v, str) else v))
        if not out:
            raise TypeError("expected at least one value")
        return out

    def _convert(self, value: Any) -> Any:
        expected = f"expected {self.item.__name__} values, got {value!r}"
        if isinstance(value, (bool, list, dict)) or value is None:
            raise TypeError(expected)
        try:
            converted = self.item(value)
        except (TypeError, ValueError):
            raise TypeError(expected) from None
        if self.item is int and isinstance(value, float) and converted != value:  # not 2.5
            raise TypeError(expected)
        return converted


def flag_names(name: str) -> list[str]:
    """``"batch_size"`` -> ``["--batch-size", "--batch_size"]``; one word -> one flag."""
    dashed = "--" + name.replace("_", "-")
    return [dashed] if "_" not in name else [dashed, "--" + name]


def _parameter_names(source: type | Callable) -> list[str]:
    if dataclasses.is_dataclass(source):
        return [f.name for f in dataclasses.fields(source)]
    return list(inspect.signature(source).parameters)


def _documented(source: type | Callable, names: Iterable[str]) -> dict[str, argparse.Action]:
    """jsonargparse's reading of ``source``: one action per parameter in ``names``, holding its
    docstring (``help``), default and whether it is required."""
    scratch = ArgumentParser(add_help=False, print_config=None)
    skip = set(_parameter_names(source)) - set(names)
    if isinstance(source, type):
        scratch.add_class_arguments(source, None, as_group=False, skip=skip)
    else:
        scratch.add_function_arguments(source, None, as_group=False, skip=skip)
    return {a.dest: a for a in scratch._actions}


def _plain(doc: str | None) -> str | None:
    """Docstring markup as plain text: ``:func:`x``` and ````x```` -> ``x``."""
    if not doc:
        return doc
    doc = re.sub(r":\w+:`~?([^`]+)`", r"\1", doc)
    return re.sub(r"``([^`]+)``", r"\1", " ".join(doc.split()))


def _as_help(doc: str | None, *, lower: bool = True) -> str | None:
    """A docstring as ``--help`` words, like the commands' own help: a lower-case start (a
    sentence, not a name: ``Show a bar`` -> ``show a bar``; ``L, the depth`` stays) and no
    final full stop (jsonargparse appends ``(type: ..., default: ...)``)."""
    doc = _plain(doc)
    if not doc:
        return doc
    if lower and re.match(r"[A-Z][a-z]+\b(?![.(])", doc):
        doc = doc[0].lower() + doc[1:]
    return doc[:-1] if doc.endswith(".") and not doc.endswith("..") else doc


def _optional(hint: Any) -> Any:
    """``hint | None`` (shown as ``float | null`` in --help)."""
    try:
        return hint | None
    except TypeError:  # a typing construct without ``|``
        return typing.Optional[hint]


def _sequence_item(hint: Any) -> type | None:
    """``Sequence[int] | None`` -> ``int``; not a sequence -> None."""
    args = [a for a in typing.get_args(hint) if a is not type(None)] \
        if typing.get_origin(hint) in (typing.Union, types.UnionType) else [hint]
    for a in args:
        origin = typing.get_origin(a)
        if isinstance(origin, type) and origin is not str and issubclass(
                origin, collections.abc.Sequence) and typing.get_args(a):
            return typing.get_args(a)[0]
    return None


def add_options(parser: Parser | argparse._ArgumentGroup, source: type | Callable,
                names: Sequence[str] | Mapping[str, str], *, positional: Iterable[str] = (),
                defaults: Mapping[str, Any] | None = None, help: Mapping[str, str] | None = None,
                choices: Mapping[str, Sequence[str]] | None = None) -> list[str]:
    """Add parameters of ``source`` (a dataclass or a typed function) as options.

    Args:
        parser: the command's parser or one of its argument groups.
        source: where the options come from: each one's type, default and help text.
        names: the parameters to take, or ``{option name: parameter name}`` where the command
            line names one differently (``{"suite": "name"}``).
        positional: option names that are positional arguments.
        defaults: the command's default where it differs from the source's (``steps``: the
            dataclass has none; a default of None makes the type optional).
        help: help text where the docstring's does not suit the command line.
        choices: the allowed values, where the library names them (``SCHEDULES``).

    Returns:
        The option names added, in order (also the keys of a config file).
    """
    mapping = dict(names) if isinstance(names, Mapping) else {n: n for n in names}
    defaults, help, choices = dict(defaults or {}), dict(help or {}), dict(choices or {})
    positional = set(positional)
    documented = _documented(source, mapping.values())
    hints = typing.get_type_hints(source)
    for option, name in mapping.items():
        if name not in documented:
            raise TypeError(f"{getattr(source, '__qualname__', source)} has no option {name!r}")
        derived = documented[name]
        hint = hints[name]
        default = defaults.get(option, derived.default)
        text = _as_help(help[option], lower=False) if option in help else _as_help(derived.help)
        optional = not derived.required or option in defaults
        if optional and default is None and type(None) not in typing.get_args(hint):
            hint = _optional(hint)  # a default of None means "the library's choice"
        # a choice is a name: the list shows in --help and is checked in config files too
        typed = {"choices": list(choices[option])} if option in choices else {"type": hint}
        if option in positional:
            # a positional with a default may be left out (``inrank demo [SOURCE]``)
            parser.add_argument(option, help=text, **typed,
                                **({"nargs": "?", "default": default} if optional else {}))
            continue
        flags = flag_names(option)
        item = _sequence_item(hint)
        if hint is bool or hint == typing.Optional[bool]:  # None: the library's choice
            parser.add_argument(flags[0], action=ActionYesNo(no_prefix="no-"), dest=option,
                                default=None if default is None else bool(default), help=text)
        elif item is not None:
            parser.add_argument(*flags, action=Items, item=item, dest=option,
                                default=None if default is None else list(default),
                                help=text, metavar=option.upper().removesuffix("S"))
        else:
            parser.add_argument(*flags, dest=option, help=text, required=not optional,
                                **({"default": default} if optional else {}), **typed)
    return list(mapping)


def picked(args: Namespace, names: Iterable[str]) -> dict[str, Any]:
    """``{name: args.name}`` for ``names`` (the options :func:`add_options` returned)."""
    return {n: args[n] for n in names}
