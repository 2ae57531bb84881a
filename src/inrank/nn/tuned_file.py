"""The tuned-values file, in one place: its format, reading and checking it, merging a tuning
into it, comparing two tunings' protocols and writing it.

The file (the registry's ``src/inrank/nn/tuned.json``, an ``inrank tune`` output, an archived
copy) is ``{"protocol": {...}, "methods": {name: {"lr", "config", "grid", "edge", ...,
"muon": {...}}}}``: per method the Adam lr and knob a tuning chose, with their grids, the
reason and, from a Muon tuning, a ``"muon"`` entry. :mod:`inrank.nn.registry` reads it (which
file: :data:`~inrank.nn.tuned_state.TUNED_PATH`, or :func:`~inrank.nn.tuned_state.tuned_values`);
:mod:`inrank.bench.tuning` writes it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import files
from ..errors import InputError
from ..readback import (IS_DICT, IS_LIST, IS_NUMBER, IS_POSITIVE, IS_POSITIVE_INT, Reader,
                        read_json, short)

__all__ = ["TUNED_FIX", "check_tuned_values", "read_tuned", "merge_tuned", "PROTOCOL_FIELDS",
           "protocol_mismatch", "write_tuned_file"]

#: The fix for a bad tuned-values file.
TUNED_FIX = "restore it from git or rerun `inrank tune` to rewrite it"
_WHAT = "an inrank tuned-values file"


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
    r = Reader(path, _WHAT, TUNED_FIX)
    payload = r.top(payload)
    methods = r.field(payload, "methods", IS_DICT, required=False) or {}
    for name, entry in methods.items():
        where = f"methods[{name!r}]"
        if not isinstance(entry, dict):
            raise r.fail(f"{where} must be an object, got {short(entry)}")
        r.field(entry, "lr", IS_POSITIVE, where, required=False)
        r.field(entry, "steps", IS_POSITIVE_INT, where, required=False)
        for knob in (r.field(entry, "config", IS_DICT, where, required=False) or {}):
            r.field(entry["config"], knob, IS_NUMBER, f"{where}['config']")
        muon = r.field(entry, "muon", IS_DICT, where, required=False)
        if muon is not None and muon.get("muon_lr") is not None:
            r.field(muon, "muon_lr", IS_POSITIVE, f"{where}['muon']")
        for holder, at in ((entry, where), (muon or {}, f"{where}['muon']")):
            if holder.get("offgrid_psnr") is not None:  # the default optimiser's criterion
                r.field(holder, "offgrid_psnr", IS_NUMBER, at)
        images = r.field(entry, "calibration", IS_LIST, where, required=False) or []
        if not all(isinstance(i, str) for i in images):
            raise r.fail(f"{where}['calibration'] must list image names, got {short(images)}")
        for flag, value in (r.field(entry, "edge", IS_DICT, where, required=False) or {}).items():
            if not isinstance(value, bool):
                raise r.fail(f"{where}['edge'][{flag!r}] must be true or false, got "
                             f"{short(value)}")
    protocol = r.field(payload, "protocol", IS_DICT, required=False) or {}
    r.field(protocol, "steps", IS_POSITIVE_INT, "protocol", required=False)
    suite = r.field(protocol, "suite", IS_DICT, "protocol", required=False) or {}
    widths = r.field(suite, "widths", IS_LIST, "protocol['suite']", required=False)
    if widths is not None and not (widths and all(IS_POSITIVE_INT[1](w) for w in widths)):
        raise r.fail(f"protocol['suite']['widths'] must list integers > 0, got {short(widths)}")
    r.field(suite, "depth", IS_POSITIVE_INT, "protocol['suite']", required=False)
    if suite.get("size") is not None:
        r.field(suite, "size", IS_POSITIVE_INT, "protocol['suite']")
    return payload


def read_tuned(path: str | Path) -> dict:
    """Read a tuned-values file, refusing a truncated one or one that is not in the registry's
    format with one line naming the file and the fix (:func:`check_tuned_values`)."""
    return check_tuned_values(read_json(path, what=_WHAT, fix=TUNED_FIX), path)


def merge_tuned(old: dict, new: dict) -> dict:
    """``new`` tuned values laid over ``old`` (both in the registry's format): methods that
    ``new`` does not name keep their entries, and a method's Adam fields and its ``"muon"``
    entry are replaced only by a tuning of that optimiser.

    Examples:
        >>> old = {"protocol": {"steps": 5}, "methods": {"a": {"lr": 1.0}, "b": {"lr": 2.0}}}
        >>> merge_tuned(old, {"protocol": {}, "methods": {"a": {"muon": {"muon_lr": 3.0}}}})["methods"]
        {'a': {'lr': 1.0, 'muon': {'muon_lr': 3.0}}, 'b': {'lr': 2.0}}
    """
    methods = {m: dict(v) for m, v in old.get("methods", {}).items()}
    for m, entry in new.get("methods", {}).items():
        merged = methods.setdefault(m, {})
        if set(entry) == {"muon"}:        # a Muon tuning: the Adam fields stay
            merged["muon"] = entry["muon"]
        else:                             # an Adam tuning: the Muon entry stays
            muon = merged.get("muon")
            merged.clear()
            merged.update(entry)
            if muon is not None and "muon" not in entry:
                merged["muon"] = muon
    adam_tuning = any(set(e) != {"muon"} for e in new.get("methods", {}).values())
    protocol = new.get("protocol") if adam_tuning or not old.get("protocol") else old["protocol"]
    return {"protocol": protocol, "methods": methods}


#: What makes two tunings comparable: the suite's protocol fields (``suite``) and the tuning's
#: own (``calibration``, ``steps``). Values tuned under different ones never share a file.
PROTOCOL_FIELDS = {"suite": ("name", "size", "widths", "depth", "param_tolerance", "task",
                             "group", "calibration", "tune_steps"),
                   "": ("calibration", "steps")}


def protocol_mismatch(old: dict, new: dict) -> str | None:
    """The first protocol field in which two tuned-values payloads' protocols differ, as
    ``"field: OLD here, NEW in this tuning"`` (None when they agree or one has none).

    Examples:
        >>> protocol_mismatch({"suite": {"widths": [128]}}, {"suite": {"widths": [72]}})
        'suite.widths: [128] here, [72] in this tuning'
        >>> protocol_mismatch({}, {"steps": 500}) is None
        True
    """
    if not old or not new:
        return None
    old, new = json.loads(json.dumps(old)), json.loads(json.dumps(new))  # tuples as lists
    for part, fields in PROTOCOL_FIELDS.items():
        a, b = (old.get(part) or {}, new.get(part) or {}) if part else (old, new)
        for f in fields:
            if a.get(f) != b.get(f):
                name = f"{part}.{f}" if part else f
                return f"{name}: {a.get(f)} here, {b.get(f)} in this tuning"
    return None


def write_tuned_file(path: str | Path, payload: dict, *, replace: bool = False) -> Path:
    """Write tuned values ``payload`` to ``path``, merged into what the file holds
    (:func:`merge_tuned`) unless ``replace``; return the path.

    Raises:
        InputError: the file holds values tuned under another protocol
            (:func:`protocol_mismatch`): merging would mix them.
    """
    path = Path(path)
    if not replace and path.is_file():
        old = read_tuned(path)
        differs = protocol_mismatch(old.get("protocol") or {}, payload.get("protocol") or {})
        if differs:
            raise InputError(f"{path} holds values tuned under another protocol ({differs}); "
                             "merging would mix them: write it anew (replace_saved=True, "
                             "inrank tune --replace-tuned) or save elsewhere")
        payload = merge_tuned(old, payload)
    return files.write_json(path, payload)
