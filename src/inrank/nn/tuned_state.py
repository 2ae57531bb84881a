"""Which tuned values the registry applies now: :data:`TUNED_PATH`'s file, or within
:func:`tuned_values` another file, a payload, or none (the paper defaults); the file's format
is :mod:`inrank.nn.tuned_file`. :mod:`inrank.nn.registry` reads them at each lookup."""
from __future__ import annotations

import contextlib
import copy
import functools
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..errors import InputError
from .mlp import MLPConfig
from .tuned_file import check_tuned_values, read_tuned

__all__ = ["TUNED_PATH", "tuned_values", "tuned_payload", "active_payload", "tuned_by_method",
           "tuned_network"]

#: Tuned values the registry applies over the paper defaults (a missing file: the paper
#: defaults), unless :func:`tuned_values` names others. ``INRANK_TUNED_PATH`` sets it for a
#: whole process (the tests' command-line subprocesses run at the paper defaults so); the
#: executors hand their workers the values in effect explicitly (:func:`tuned_payload`).
TUNED_PATH = Path(os.environ.get("INRANK_TUNED_PATH") or Path(__file__).with_name("tuned.json"))
#: The sources :func:`tuned_values` set, innermost last: a file (read as it is at each lookup)
#: or a payload.
_ACTIVE: list[Path | dict] = []


@contextlib.contextmanager
def tuned_values(source: str | Path | Mapping | None) -> Iterator[None]:
    """Within the block, the registry applies the tuned values of ``source`` instead of
    :data:`TUNED_PATH`'s: a tuned-values file (read as it is at each lookup, so a tuning that
    rewrites it is seen), a payload as such a file holds, or None (the paper defaults).

    It holds in this process; the executors hand their worker processes the values in effect
    (:func:`tuned_payload`) with each run, so a suite run inside the block uses them throughout.

    Raises:
        InputError: a path that is not a file, or values not in the tuned-values format
            (:func:`inrank.nn.tuned_file.check_tuned_values`).

    Examples:
        >>> from inrank.nn.registry import preset
        >>> with tuned_values({"methods": {"relu": {"lr": 0.02}}}):
        ...     preset("relu").lr
        0.02
        >>> with tuned_values(None):
        ...     preset("relu+rei").lr
        0.0005
    """
    if source is None:
        entry: Path | dict = {}
    elif isinstance(source, Mapping):
        entry = check_tuned_values(copy.deepcopy(dict(source)))
    else:
        entry = Path(source)
        if not entry.is_file():
            raise InputError(f"tuned-values file not found: {str(entry)!r}; give the path of "
                             "a file `inrank tune` wrote (e.g. src/inrank/nn/tuned.json)")
        _file_payload(entry)  # a malformed file fails here, before the block runs
    _ACTIVE.append(entry)
    try:
        yield
    finally:
        _ACTIVE.pop()


def tuned_payload() -> dict:
    """A copy of the tuned values the registry applies now (``{}``: the paper defaults): the
    innermost :func:`tuned_values`' source, else :data:`TUNED_PATH`'s content (no file:
    ``{}``); what an executor hands its workers."""
    return copy.deepcopy(active_payload())


def active_payload() -> dict:
    """The tuned values in effect (the shared, cached object: read, never change it)."""
    if _ACTIVE:
        source = _ACTIVE[-1]
        return source if isinstance(source, dict) else _file_payload(source)
    return _file_payload(Path(TUNED_PATH))


def _file_payload(path: Path) -> dict:
    """The checked content of the tuned-values file ``path`` (``{}`` when it is missing)."""
    if not path.is_file():
        return {}
    return _read_payload(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _read_payload(path: str, mtime_ns: int) -> dict:
    """The checked payload (a truncated or malformed file: one InputError naming it)."""
    return read_tuned(path)


def tuned_by_method() -> dict:
    """The tuned values by method (:func:`tuned_payload`'s ``methods``)."""
    return active_payload().get("methods", {})


def tuned_network() -> dict[str, int]:
    """``{"width", "depth", "size", "steps"}``: the network, image size (px, short side) and
    steps the tuned values were chosen at (:data:`TUNED_PATH`'s protocol), so a command can run
    where its learning rates hold; without a tuned-values file, :class:`MLPConfig`'s width and
    depth, 64 px and 500 steps. Learning rates do not carry over to other widths unchanged
    (Adam's best lr falls as the network widens).

    Examples:
        >>> sorted(tuned_network())
        ['depth', 'size', 'steps', 'width']
    """
    defaults = MLPConfig()
    proto = active_payload().get("protocol", {})
    suite = proto.get("suite", {})
    return {"width": int((suite.get("widths") or [defaults.width])[0]),
            "depth": int(suite.get("depth", defaults.depth)), "size": int(suite.get("size", 64)),
            "steps": int(proto.get("steps", 500))}
