"""Hooks into the training loop: a callback sees every evaluation (step, metrics, model), and
two loggers are built on it, :class:`CSVLogger` and :class:`TensorBoardLogger`.

A callback is any object with some of ``on_start(info)``, ``on_eval(step, metrics, model)``
and ``on_end(results)``, or a plain function, called as ``on_eval``. ``metrics`` is the
history entry the evaluation appended (``step``, ``loss``, ``lr``, ``psnr``, ...) plus
``signal`` (the signal's name) and ``index`` (the model's position in a batched fit). In a
batched fit (:func:`inrank.fit_many`) ``model`` is a copy with that model's current weights.
"""
from __future__ import annotations

import csv
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from torch import nn

from ..errors import InputTypeError, MissingDependencyError

__all__ = ["Callback", "CSVLogger", "TensorBoardLogger", "check_callbacks", "notify"]


@runtime_checkable
class Callback(Protocol):
    """What the loop calls; every method is optional (a plain function is an ``on_eval``)."""

    def on_eval(self, step: int, metrics: dict, model: nn.Module) -> None:
        """After each evaluation."""


_HOOKS = ("on_start", "on_eval", "on_end")


def check_callbacks(callbacks: Sequence[Any] | Callable | None) -> tuple:
    """Validate ``callbacks`` (one, a sequence, or None); return them as a tuple."""
    if callbacks is None:
        return ()
    items = (callbacks,) if callable(callbacks) or any(
        hasattr(callbacks, h) for h in _HOOKS) else tuple(callbacks)
    for i, cb in enumerate(items):
        if not (callable(cb) or any(hasattr(cb, h) for h in _HOOKS)):
            raise InputTypeError(f"callbacks[{i}] ({type(cb).__name__}) is neither a function nor "
                                 f"an object with {', '.join(_HOOKS)}; pass e.g. CSVLogger(path)")
    return items


def notify(callbacks: Sequence[Any], hook: str, *args) -> None:
    """Call ``hook`` on every callback that has it (a plain function only for ``on_eval``)."""
    for cb in callbacks:
        fn = getattr(cb, hook, None)
        if fn is None and hook == "on_eval" and callable(cb) and not any(
                hasattr(cb, h) for h in _HOOKS):
            fn = cb
        if fn is not None:
            fn(*args)


class CSVLogger:
    """Write every evaluation as a CSV row: ``index, signal, step, loss, lr, psnr, ...``.

    The columns are those of the first row (later keys that were not there are dropped).

    Args:
        path: the CSV file (its folder is created; an existing file is overwritten).

    Examples:
        >>> import inrank, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
        >>> _ = inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1),
        ...                inrank.load_image("camera", size=8), steps=30, lr=1e-2,
        ...                progress=False, callbacks=[CSVLogger(path)])
        >>> open(path).read().splitlines()[0].split(",")[:4]
        ['index', 'signal', 'step', 'loss']
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._writer = None
        self._file = None

    def on_start(self, info: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "w", newline="", encoding="utf-8")
        self._writer = None

    def on_eval(self, step: int, metrics: dict, model: nn.Module) -> None:
        if self._file is None:
            self.on_start({})
        if self._writer is None:
            first = ["index", "signal", "step"]
            fields = first + [k for k in metrics if k not in first]
            self._writer = csv.DictWriter(self._file, fieldnames=fields, extrasaction="ignore")
            self._writer.writeheader()
        self._writer.writerow(metrics)
        self._file.flush()

    def on_end(self, results) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class TensorBoardLogger:
    """Write every evaluation's numbers as TensorBoard scalars (``psnr``, ``loss``, ``lr``, ...;
    tagged ``SIGNAL/NAME``, and ``SIGNAL#INDEX/NAME`` in a batched pass of several models). Needs the
    ``tensorboard`` extra: ``pip install "inrank[tensorboard]"``.

    Args:
        log_dir: the run's event folder (``tensorboard --logdir`` its parent).
    """

    def __init__(self, log_dir: str | os.PathLike) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise MissingDependencyError(
                'TensorBoardLogger needs tensorboard: pip install "inrank[tensorboard]"') from None
        self.log_dir = Path(log_dir)
        self._cls = SummaryWriter
        self._writer = None
        self._models = 1

    def on_start(self, info: dict) -> None:
        self._writer = self._cls(log_dir=str(self.log_dir))
        self._models = int(info.get("models", 1))

    def on_eval(self, step: int, metrics: dict, model: nn.Module) -> None:
        if self._writer is None:
            self.on_start({})
        tag = str(metrics.get("signal", "fit"))
        if self._models > 1:
            tag = f"{tag}#{metrics.get('index', 0)}"
        for key, value in metrics.items():
            if key in ("step", "index", "signal") or not isinstance(value, (int, float)):
                continue
            self._writer.add_scalar(f"{tag}/{key}", float(value), global_step=step)

    def on_end(self, results) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
