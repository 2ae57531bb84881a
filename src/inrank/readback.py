"""Files the tool reads back, checked before use: JSON reading, the checks a reader of one
file's content runs (:class:`Reader`) and the run records.

Every file inrank writes is written atomically (:mod:`inrank.files`), so a file that is not
valid JSON, or valid JSON of the wrong shape, was truncated, hand-edited or written by
something else. Reading it back never treats it as absent nor as a result: each reader raises
one :class:`~inrank.errors.InputError` naming the file, what is wrong and the fix. The
tuned-values file's format and its checks live with the registry that reads it
(:mod:`inrank.nn.tuned_file`).
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .errors import InputError

__all__ = ["read_json", "Reader", "Check", "IS_DICT", "IS_LIST", "IS_STR", "IS_NUMBER",
           "IS_NUMBER_OR_NULL", "IS_INT", "IS_POSITIVE", "IS_POSITIVE_INT", "short",
           "check_run_record", "read_run_record", "RECORD_FIX"]

#: The fix for a bad run record (``out/runs/<id>.json``).
RECORD_FIX = "delete it to rerun that run"


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


#: A check: its name (for messages) and its test.
Check = tuple[str, Callable[[Any], bool]]
IS_DICT: Check = ("an object", lambda x: isinstance(x, dict))
IS_LIST: Check = ("a list", lambda x: isinstance(x, list))
IS_STR: Check = ("a string", lambda x: isinstance(x, str))
IS_NUMBER: Check = ("a finite number", _is_number)
IS_NUMBER_OR_NULL: Check = ("a finite number or null", _number_or_none)
IS_INT: Check = ("an integer", _is_int)
IS_POSITIVE: Check = ("a number > 0", _positive)
IS_POSITIVE_INT: Check = ("an integer > 0", _positive_int)


class Reader:
    """Checks on one file's content, each error naming the file (``path``), the key, what the
    file should be (``what``) and the ``fix``."""

    def __init__(self, path: str | Path, what: str, fix: str) -> None:
        self.path, self.what, self.fix = str(path), what, fix

    def fail(self, problem: str) -> InputError:
        return InputError(f"{self.path} is not {self.what} ({problem}); {self.fix}")

    def field(self, obj: Mapping, key: str, check: Check, where: str = "",
              required: bool = True) -> Any:
        """``obj[key]`` after ``check``; a missing key raises if ``required``, else None."""
        name = f"{where}{key!r}" if not where else f"{where}[{key!r}]"
        if key not in obj:
            if required:
                raise self.fail(f"missing {name}")
            return None
        value = obj[key]
        if not check[1](value):
            raise self.fail(f"{name} must be {check[0]}, got {short(value)}")
        return value

    def top(self, content: Any) -> dict:
        if not isinstance(content, dict):
            raise self.fail(f"expected a JSON object, got {type(content).__name__}")
        return content


def short(value: Any) -> str:
    """``value`` as JSON (a string as its repr) in at most 40 characters, for a message."""
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
    r = Reader(path, "an inrank run record", RECORD_FIX)
    record = r.top(record)
    run_id = r.field(record, "id", IS_STR)
    run = r.field(record, "run", IS_DICT)
    status = r.field(record, "status", IS_STR)
    metrics = r.field(record, "metrics", IS_DICT)
    history = r.field(record, "history", IS_LIST)
    if run_id != Path(path).stem:
        raise r.fail(f"its 'id' is {run_id!r}, its file name says {Path(path).stem!r}")
    if status not in ("ok", "diverged"):
        raise r.fail(f"'status' must be 'ok' or 'diverged', got {short(status)}")
    for name in _RECORD_METRICS:
        r.field(metrics, name, IS_NUMBER_OR_NULL, "metrics")
    for name in _OPTIONAL_METRICS:
        r.field(metrics, name, IS_NUMBER_OR_NULL, "metrics", required=False)
    r.field(metrics, "params", IS_POSITIVE_INT, "metrics", required=False)
    for i, point in enumerate(history):
        where = f"history[{i}]"
        if not isinstance(point, dict):
            raise r.fail(f"{where} must be an object, got {short(point)}")
        r.field(point, "step", IS_POSITIVE_INT, where)
        r.field(point, "psnr", IS_NUMBER_OR_NULL, where, required=False)
    rank = record.get("rank")
    if rank is not None:
        r.field(record, "rank", IS_DICT)
        for name in _RANK_KEYS:
            r.field(rank, name, IS_INT, "rank")
    if "shape" in record:
        shape = r.field(record, "shape", IS_LIST)
        if not shape or not all(_positive_int(s) for s in shape):
            raise r.fail(f"'shape' must list positive integers, got {short(shape)}")
    r.field(record, "config", IS_DICT, required=False)
    if key is not None and run != dict(key):
        differ = sorted(k for k in set(run) | set(key) if run.get(k) != key.get(k))
        raise r.fail(f"it holds another run: its 'run' differs in {', '.join(differ)}")
    return record


def read_run_record(path: str | Path, *, key: Mapping | None = None) -> dict:
    """Read and check the run record at ``path`` (:func:`check_run_record`)."""
    return check_run_record(read_json(path, what="an inrank run record", fix=RECORD_FIX), path,
                            key=key)
