"""Saved runs read back: :func:`load` rebuilds the model that ``inrank fit`` saved.

A fit's folder holds ``model.pt`` (the model's ``state_dict``, read with
``torch.load(weights_only=True)``: tensors only, no code runs), ``model.json`` (the method, the
signal's name, kind and grid shape, the preset overrides, and ``model``: every
:class:`~inrank.nn.mlp.MLPConfig` field) and ``metrics.json`` (the :class:`~inrank.FitResult`
without its prediction). Every way these files can be wrong (missing, truncated, garbled, a
pickle that ``weights_only`` refuses, weights that do not fit the described model) raises one
:class:`~inrank.errors.InputError` naming the file and the fix.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import files as _io
from .errors import InputError, InrankError
from .nn.mlp import CoordinateMLP, MLPConfig
from .train.checkpoint import tensor_digest

__all__ = ["LoadedRun", "load", "load_weights", "run_record", "save_run", "saved_identity"]

#: The weights file a run folder holds.
WEIGHTS = "model.pt"
#: The run record: the model's architecture and what it was fitted to.
RECORD = "model.json"


@dataclass(repr=False)
class LoadedRun:
    """A run that ``inrank fit`` saved, rebuilt by :func:`load`.

    Attributes:
        path: the run folder.
        model: the :class:`~inrank.nn.mlp.CoordinateMLP` with the saved weights, on the CPU,
            in eval mode; ``model(coords (N, d)) -> (N, c)``.
        method: the preset it was built from (``model.preset`` too).
        config: its :class:`~inrank.nn.mlp.MLPConfig`.
        signal_name: the fitted signal's name (load the signal itself with
            :func:`inrank.load_signal`); None if the record does not say.
        kind: ``"image"``, ``"video"``, ``"audio"``, ``"occupancy"`` or ``"1d"``; None if not
            recorded.
        shape: the signal's grid shape (``(H, W)`` for an image, ``(T, H, W)`` for a video), so
            ``model(inrank.grid_coords(shape))`` is the reconstruction; None if not recorded.
        overrides: the preset fields the fit changed for this signal (e.g. audio's ``omega0``).
        metrics: ``metrics.json`` (final metrics, protocol, history), None if absent.
    """

    path: Path
    model: nn.Module
    method: str
    config: Any
    signal_name: str | None = None
    kind: str | None = None
    shape: tuple[int, ...] | None = None
    overrides: dict = field(default_factory=dict)
    metrics: dict | None = None

    def __repr__(self) -> str:
        grid = "x".join(map(str, self.shape)) if self.shape else "?"
        psnr = (self.metrics or {}).get("final_psnr")
        return (f"LoadedRun(method={self.method!r}, signal_name={self.signal_name!r}, "
                f"kind={self.kind!r}, "
                f"shape={grid}, width={self.config.width}, depth={self.config.depth}"
                + (f", final_psnr={psnr:.2f}" if isinstance(psnr, (int, float)) else "")
                + f", path={str(self.path)!r})")


def saved_identity(method: str, config: dict, state: dict[str, torch.Tensor]) -> dict:
    """``{"method", "config", "weights"}``: what a saved model is, by name, a hash of its
    config and a hash of its weights (:func:`inrank.train.checkpoint.tensor_digest`), so
    :func:`load` can tell when ``model.json``, ``model.pt`` and ``metrics.json`` come from
    different runs."""
    text = json.dumps(config, sort_keys=True, default=str)
    return {"method": method, "config": hashlib.sha1(text.encode()).hexdigest()[:16],
            "weights": tensor_digest(*[state[k] for k in sorted(state)])}


def save_run(folder: str | os.PathLike, model: nn.Module, *, method: str, record: dict,
             metrics: dict, config: dict) -> dict:
    """Write a fitted model's files into ``folder``: ``model.pt`` (its ``state_dict`` on the
    CPU), ``model.json`` (``record``: the signal's name, kind and shape, the overrides; plus
    ``method``, ``model``: its config, and ``identity``), ``config.json`` (the command's
    resolved configuration) and ``metrics.json`` (``metrics`` and the same ``identity``).
    Returns the identity (:func:`saved_identity`)."""
    folder = Path(folder)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    cfg = model.config.to_dict()
    identity = saved_identity(method, cfg, state)
    _io.atomic_write(folder / WEIGHTS, lambda tmp: torch.save(state, tmp))
    _io.write_json(folder / RECORD, {"method": method, **record, "model": cfg,
                                     "identity": identity})
    _io.write_json(folder / "config.json", config)
    _io.write_json(folder / "metrics.json", {**metrics, "identity": identity})
    return identity


def load(run: str | os.PathLike) -> LoadedRun:
    """Load a run saved by ``inrank fit``: the model rebuilt from ``model.json`` with the
    weights of ``model.pt``.

    Args:
        run: the run folder (``inrank fit --out``), or a file in it (``model.pt``,
            ``model.json``).

    Returns:
        :class:`LoadedRun`: ``.model`` (eval mode, CPU), ``.method``, ``.config``, the signal's
        ``.signal_name`` / ``.kind`` / ``.shape``, ``.overrides`` and ``.metrics``.

    Raises:
        ValueError (InputError): the folder or a file is missing, a file is truncated or
            garbled, ``model.pt`` is a pickle that ``torch.load(weights_only=True)`` refuses
            or not a state dict, its weights do not fit the model ``model.json`` describes,
            or the files come from different runs (their recorded identities differ).

    Examples:
        >>> import inrank, json, os, tempfile, torch
        >>> run_dir = tempfile.mkdtemp()
        >>> model = inrank.build("relu", 2, 3, width=8, depth=1)
        >>> torch.save(model.state_dict(), os.path.join(run_dir, "model.pt"))
        >>> with open(os.path.join(run_dir, "model.json"), "w") as f:
        ...     json.dump({"method": "relu", "model": model.config.to_dict()}, f)
        >>> run = inrank.load(run_dir)
        >>> run.method, torch.equal(run.model(torch.zeros(4, 2)), model(torch.zeros(4, 2)))
        ('relu', True)
    """
    folder, weights = _paths(run)
    record = run_record(folder)
    if record is None:
        raise InputError(f"no {RECORD} in {str(folder)!r} (the architecture of {WEIGHTS}); "
                         f"load the weights into your own model with "
                         f"inrank.runs.load_weights(model, {str(weights)!r})")
    source, content = record
    model, config = _rebuild(source, content)
    load_weights(model, weights)
    model.eval()
    shape = content.get("shape")
    metrics = _read_json(folder / "metrics.json") if (folder / "metrics.json").is_file() else None
    if metrics is not None and not isinstance(metrics, dict):
        raise InputError(f"{str(folder / 'metrics.json')!r} holds a {type(metrics).__name__}, "
                         "not the metrics object inrank fit writes; delete it or rerun the fit")
    _check_identity(source, content, model, weights, folder, metrics)
    return LoadedRun(path=folder, model=model, method=model.preset, config=config,
                     signal_name=content.get("signal"), kind=content.get("kind"),
                     shape=tuple(shape) if shape is not None else None,
                     overrides=dict(content.get("overrides") or {}), metrics=metrics)


def _check_identity(source: Path, content: dict, model: nn.Module, weights: Path,
                    folder: Path, metrics: dict | None) -> None:
    """Refuse a run folder whose files come from different runs: ``model.json``'s identity
    against the weights loaded, and ``metrics.json``'s against ``model.json``'s."""
    identity = content.get("identity")
    if identity is None:  # written before identities were recorded
        return
    state = {k: v.detach() for k, v in model.state_dict().items()}
    mine = saved_identity(content.get("method") or "model", content["model"], state)
    if mine != identity:
        what = next(k for k in ("method", "config", "weights") if mine.get(k) != identity.get(k))
        raise InputError(f"{str(source)!r} and {str(weights)!r} come from different runs (the "
                         f"{what} differs from the one recorded); restore the run's own files "
                         "or rerun inrank fit")
    if metrics is not None and metrics.get("identity") not in (None, identity):
        raise InputError(f"{str(folder / 'metrics.json')!r} belongs to another run than "
                         f"{str(source)!r} (their identities differ); restore the run's own "
                         "files or rerun inrank fit")


def run_record(folder: str | os.PathLike) -> tuple[Path, dict] | None:
    """The run record of a run folder, checked: ``(path, content)`` of its ``model.json``, or
    of an older fit's ``config.json`` that holds the same ``model`` object; None when neither
    describes the model.

    Raises:
        ValueError (InputError): ``model.json`` (or ``config.json``) cannot be read or parsed,
            or ``model.json`` lacks a well-formed ``model`` object.
    """
    folder = Path(folder)
    record = folder / RECORD
    if record.is_file():
        content = _read_json(record)
        _check_record(record, content)
        return record, content
    legacy = folder / "config.json"
    if legacy.is_file():
        content = _read_json(legacy)
        if isinstance(content, dict) and "model" in content:
            _check_record(legacy, content)
            return legacy, content
    return None


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load the state dict saved at ``path`` into ``model`` (in place) and return ``model``.

    The file is read by ``torch.load(weights_only=True)`` onto the CPU: tensors only, so no
    code in it runs.

    Raises:
        ValueError (InputError): the file is missing, unreadable or truncated, is a pickle
            ``weights_only`` refuses, is not a state dict, or its keys or shapes do not fit.
    """
    path = Path(path)
    name = str(path)
    if not path.is_file():
        raise InputError(f"model weights not found: {name!r}; give the model.pt that "
                         "inrank fit writes at the end of a run")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, OSError
        raise InputError(_unreadable(name, exc)) from None
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise InputError(f"{name!r} holds a {type(state).__name__}, not a state dict (names to "
                         "tensors); save it with torch.save(model.state_dict(), path)")
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = (lines[1] if len(lines) > 1 else str(exc)).split(". ")[0]  # the first problem
        raise InputError(f"{name!r} does not fit the model it is loaded into ({reason[:300]}); "
                         "use the model.json saved with it, or rerun the fit") from None
    return model


def _paths(run: str | os.PathLike) -> tuple[Path, Path]:
    """The run folder and its weights file, from either."""
    if not isinstance(run, (str, os.PathLike)):
        raise InputError(f"run must be a run folder path, got {type(run).__name__}")
    path = Path(run)
    if path.is_dir():
        return path, path / WEIGHTS
    if path.is_file() and path.suffix.lower() == ".json":  # model.json, metrics.json: its run
        return path.parent, path.parent / WEIGHTS
    if path.is_file():
        return path.parent, path
    raise InputError(f"run folder not found: {str(path)!r}; give the --out folder of an "
                     "inrank fit run")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{str(path)!r} is not valid JSON ({exc.msg} at line {exc.lineno} "
                         f"column {exc.colno}); restore it or rerun inrank fit") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {str(path)!r} ({type(exc).__name__}: {exc}); "
                         "check the file") from None


def _check_record(path: Path, content: Any) -> None:
    where = str(path)
    if not isinstance(content, dict) or not isinstance(content.get("model"), dict):
        raise InputError(f"{where!r} has no 'model' object (the MLPConfig fields inrank fit "
                         "writes); restore it or rerun inrank fit")
    unknown = set(content["model"]) - {f.name for f in dataclasses.fields(MLPConfig)}
    if unknown:
        raise InputError(f"{where!r}: unknown model field(s) {sorted(unknown)}; it was "
                         "written by another version of inrank or edited: rerun inrank fit")
    for key, kind in (("method", str), ("signal", str), ("kind", str), ("shape", list),
                      ("overrides", dict), ("identity", dict)):
        if content.get(key) is not None and not isinstance(content[key], kind):
            raise InputError(f"{where!r}: {key!r} must be a {kind.__name__}, got "
                             f"{content[key]!r}; restore it or rerun inrank fit")
    shape = content.get("shape")
    if shape is not None and not all(isinstance(n, int) and n > 0 for n in shape):
        raise InputError(f"{where!r}: 'shape' must list positive integers, got {shape!r}")


def _rebuild(path: Path, content: dict) -> tuple[nn.Module, Any]:
    """The model ``content["model"]`` describes, with ``model.preset`` set."""
    try:
        config = MLPConfig(**content["model"])
        model = CoordinateMLP(config)
    except InrankError as exc:
        raise InputError(f"{str(path)!r}: {exc}") from None
    except Exception as exc:  # e.g. rei_options the initialiser does not take
        raise InputError(f"{str(path)!r}: its model cannot be built ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else ''}); rerun inrank fit") from None
    model.preset = content.get("method") or "model"
    return model, config


def _unreadable(name: str, exc: BaseException) -> str:
    text = str(exc)
    if "Weights only load failed" in text or "weights_only" in text:
        return (f"{name!r} holds Python objects beyond tensors, which torch.load(weights_only="
                "True) refuses (unpickling them could run code); save "
                "torch.save(model.state_dict(), path) instead, or, for a file you trust, load "
                "it yourself with weights_only=False")
    first = (text.splitlines() or [""])[0].split(". ")[0][:200]
    return (f"cannot read {name!r} as saved weights ({type(exc).__name__}: {first}); the file "
            "is truncated or not a torch.save file: rerun the fit to write it again")
