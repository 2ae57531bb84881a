"""Files the tool reads back, checked before use: run records and tuned values.

Every file inrank writes is written atomically (:mod:`inrank.files`), so a file that is not
valid JSON, or valid JSON of the wrong shape, was truncated, hand-edited or written by
something else. Reading it back never treats it as absent nor as a result: each reader raises
one :class:`~inrank.errors.InputError` naming the file, what is wrong and the fix.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = ["read_json", "check_run_record", "read_run_record", "check_tuned_values",
           "RECORD_FIX", "TUNED_FIX"]

#: The fix for a bad run record (``out/runs/<id>.json``).
RECORD_FIX = "delete it to rerun that run"
#: The fix for a bad tuned-values file.
TUNED_FIX = "restore it from git or rerun `inrank tune` to rewrite it"


def read_json(path: str | Path, *, what: str, fix: str) -> Any:
    """The JSON content of ``path``; an unreadable or not-JSON file (e.g. truncated) raises
    ``InputError`` naming the file, ``what`` it should be and the ``fix``.

    Examples:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "x.json")
        >>> _ = open(p, "w").write('{"a": [1, 2')  # half written
        >>> read_json(p, what="a run record", fix="delete it")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        inrank.errors.InputError: ...x.json is not valid JSON (truncated? ...); it should be a run record; delete it
    """
    text_path = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{text_path} is not a text file; it should be {what}; {fix}") from None
    except IsADirectoryError:
        raise InputError(f"{text_path} is a directory; it should be {what}; {fix}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{text_path} is not valid JSON (truncated? {exc.msg} at line "
                         f"{exc.lineno} column {exc.colno}); it should be {what}; {fix}") from None


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _number_or_none(x: Any) -> bool:
    return x is None or _is_number(x)


def _positive(x: Any) -> bool:
    return _is_number(x) and x > 0


def _positive_int(x: Any) -> bool:
    return _is_int(x) and x > 0


#: A check's name (for messages) and its test.
_Check = tuple[str, Callable[[Any], bool]]
_DICT: _Check = ("an object", lambda x: isinstance(x, dict))
_LIST: _Check = ("a list", lambda x: isinstance(x, list))
_STR: _Check = ("a string", lambda x: isinstance(x, str))
_NUMBER: _Check = ("a finite number", _is_number)
_NUMBER_OR_NULL: _Check = ("a finite number or null", _number_or_none)
_INT: _Check = ("an integer", _is_int)
_POSITIVE: _Check = ("a number > 0", _positive)
_POSITIVE_INT: _Check = ("an integer > 0", _positive_int)


class _Reader:
    """Checks on one file's content, each error naming the file, the key and the fix."""

    def __init__(self, path: str | Path, what: str, fix: str) -> None:
        self.path, self.what, self.fix = str(path), what, fix

    def fail(self, problem: str) -> InputError:
        return InputError(f"{self.path} is not {self.what} ({problem}); {self.fix}")

    def field(self, obj: Mapping, key: str, check: _Check, where: str = "",
              required: bool = True) -> Any:
        """``obj[key]`` after ``check``; a missing key raises if ``required``, else None."""
        name = f"{where}{key!r}" if not where else f"{where}[{key!r}]"
        if key not in obj:
            if required:
                raise self.fail(f"missing {name}")
            return None
        value = obj[key]
        if not check[1](value):
            raise self.fail(f"{name} must be {check[0]}, got {_short(value)}")
        return value

    def top(self, content: Any) -> dict:
        if not isinstance(content, dict):
            raise self.fail(f"expected a JSON object, got {type(content).__name__}")
        return content


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


#: Metrics every run record holds (a number, or null when not finite or diverged).
_RECORD_METRICS = ("final_psnr", "best_psnr")
#: Metrics a record may hold, read as numbers by the tables (null: not finite).
_OPTIONAL_METRICS = ("ssim", "seconds_per_step", "test_psnr", "train_psnr", "snr", "grid_iou",
                     "offgrid_psnr", "offgrid_ssim", "accuracy")
_RANK_KEYS = ("init_exact", "init_numerical", "final_exact", "final_numerical", "max")


def check_run_record(record: Any, path: str | Path, *, key: Mapping | None = None) -> dict:
    """Check the content of a run record ``path`` (``out/runs/<id>.json``, as
    :func:`inrank.bench.run.execute_run` writes it); return it.

    Args:
        record: the parsed JSON.
        path: the file (its stem is the run's id).
        key: the identity the record must hold (``Run.key()``), if known.

    Raises:
        InputError: naming the file, the first problem and the fix (delete it to rerun).

    Examples:
        >>> check_run_record({"id": "x", "run": {}, "status": "ok", "history": []}, "runs/x.json")
        Traceback (most recent call last):
        ...
        inrank.errors.InputError: runs/x.json is not an inrank run record (missing 'metrics'); delete it to rerun that run
    """
    r = _Reader(path, "an inrank run record", RECORD_FIX)
    record = r.top(record)
    run_id = r.field(record, "id", _STR)
    run = r.field(record, "run", _DICT)
    status = r.field(record, "status", _STR)
    metrics = r.field(record, "metrics", _DICT)
    history = r.field(record, "history", _LIST)
    if run_id != Path(path).stem:
        raise r.fail(f"its 'id' is {run_id!r}, its file name says {Path(path).stem!r}")
    if status not in ("ok", "diverged"):
        raise r.fail(f"'status' must be 'ok' or 'diverged', got {_short(status)}")
    for name in _RECORD_METRICS:
        r.field(metrics, name, _NUMBER_OR_NULL, "metrics")
    for name in _OPTIONAL_METRICS:
        r.field(metrics, name, _NUMBER_OR_NULL, "metrics", required=False)
    r.field(metrics, "params", _POSITIVE_INT, "metrics", required=False)
    for i, point in enumerate(history):
        where = f"history[{i}]"
        if not isinstance(point, dict):
            raise r.fail(f"{where} must be an object, got {_short(point)}")
        r.field(point, "step", _POSITIVE_INT, where)
        r.field(point, "psnr", _NUMBER_OR_NULL, where, required=False)
    rank = record.get("rank")
    if rank is not None:
        r.field(record, "rank", _DICT)
        for name in _RANK_KEYS:
            r.field(rank, name, _INT, "rank")
    if "shape" in record:
        shape = r.field(record, "shape", _LIST)
        if not shape or not all(_positive_int(s) for s in shape):
            raise r.fail(f"'shape' must list positive integers, got {_short(shape)}")
    r.field(record, "config", _DICT, required=False)
    if key is not None and run != dict(key):
        differ = sorted(k for k in set(run) | set(key) if run.get(k) != key.get(k))
        raise r.fail(f"it holds another run: its 'run' differs in {', '.join(differ)}")
    return record


def read_run_record(path: str | Path, *, key: Mapping | None = None) -> dict:
    """Read and check the run record at ``path`` (:func:`check_run_record`)."""
    return check_run_record(read_json(path, what="an inrank run record", fix=RECORD_FIX), path,
                            key=key)


def check_tuned_values(payload: Any, path: str | Path = "tuned values") -> dict:
    """Check a tuned-values payload (the registry's ``tuned.json``: ``{"protocol": {...},
    "methods": {name: {"lr", "config", ...}}}``); return it.

    Each method's entry may hold ``lr`` (a number > 0), ``config`` (knob -> finite number),
    ``muon`` (``{"muon_lr": number > 0 or null, ...}``), ``offgrid_psnr`` (a number or null,
    in the entry and in ``muon``), ``steps`` (an integer > 0),
    ``calibration`` (image names) and ``edge`` (name -> bool); the protocol's ``suite`` may
    hold ``widths`` (integers > 0), ``depth`` and ``size`` (integers > 0), and ``steps``.

    Raises:
        InputError: naming ``path``, the first problem and the fix.

    Examples:
        >>> check_tuned_values({"methods": {"relu": {"lr": 1e-3}}})["methods"]["relu"]["lr"]
        0.001
        >>> check_tuned_values({"methods": {"relu": {"lr": "fast"}}}, "tuned.json")
        Traceback (most recent call last):
        ...
        inrank.errors.InputError: tuned.json is not an inrank tuned-values file (methods['relu']['lr'] must be a number > 0, got 'fast'); restore it from git or rerun `inrank tune` to rewrite it
    """
    r = _Reader(path, "an inrank tuned-values file", TUNED_FIX)
    payload = r.top(payload)
    methods = r.field(payload, "methods", _DICT, required=False) or {}
    for name, entry in methods.items():
        where = f"methods[{name!r}]"
        if not isinstance(entry, dict):
            raise r.fail(f"{where} must be an object, got {_short(entry)}")
        r.field(entry, "lr", _POSITIVE, where, required=False)
        r.field(entry, "steps", _POSITIVE_INT, where, required=False)
        for knob in (r.field(entry, "config", _DICT, where, required=False) or {}):
            r.field(entry["config"], knob, _NUMBER, f"{where}['config']")
        muon = r.field(entry, "muon", _DICT, where, required=False)
        if muon is not None and muon.get("muon_lr") is not None:
            r.field(muon, "muon_lr", _POSITIVE, f"{where}['muon']")
        for holder, at in ((entry, where), (muon or {}, f"{where}['muon']")):
            if holder.get("offgrid_psnr") is not None:  # the default optimiser's criterion
                r.field(holder, "offgrid_psnr", _NUMBER, at)
        images = r.field(entry, "calibration", _LIST, where, required=False) or []
        if not all(isinstance(i, str) for i in images):
            raise r.fail(f"{where}['calibration'] must list image names, got {_short(images)}")
        for flag, value in (r.field(entry, "edge", _DICT, where, required=False) or {}).items():
            if not isinstance(value, bool):
                raise r.fail(f"{where}['edge'][{flag!r}] must be true or false, got "
                             f"{_short(value)}")
    protocol = r.field(payload, "protocol", _DICT, required=False) or {}
    r.field(protocol, "steps", _POSITIVE_INT, "protocol", required=False)
    suite = r.field(protocol, "suite", _DICT, "protocol", required=False) or {}
    widths = r.field(suite, "widths", _LIST, "protocol['suite']", required=False)
    if widths is not None and not (widths and all(_positive_int(w) for w in widths)):
        raise r.fail(f"protocol['suite']['widths'] must list integers > 0, got {_short(widths)}")
    r.field(suite, "depth", _POSITIVE_INT, "protocol['suite']", required=False)
    if suite.get("size") is not None:
        r.field(suite, "size", _POSITIVE_INT, "protocol['suite']")
    return payload
