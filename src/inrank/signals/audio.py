"""Audio signals: WAV files as ``time -> amplitude`` samples, and writing them back.

Layout: ``coords (N, 1)`` are the sample centres mapped to ``[-1, 1]`` over the clip,
``values (N, c)`` the amplitudes in ``[-1, 1]`` (``c`` = 1 mono, 2 stereo), ``shape (N,)``,
``kind="audio"``; ``meta`` holds ``sample_rate`` (Hz), ``duration`` (seconds) and
``data_range = 2`` (PSNR peak-to-peak of ``[-1, 1]`` audio).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from .. import validation as _checks

from .. import files as _io
from ..errors import InputError
from .signal import Signal, grid_coords

__all__ = ["load_audio", "save_audio"]


def _to_float(data: np.ndarray, path: str) -> np.ndarray:
    """PCM integers or floats -> float64 in [-1, 1] (full scale), ``(N, c)``."""
    if data.dtype == np.uint8:
        out = (data.astype(np.float64) - 128.0) / 128.0
    elif data.dtype == np.int16:
        out = data.astype(np.float64) / 32768.0
    elif data.dtype == np.int32:  # 32-bit PCM, and 24-bit PCM as scipy left-justifies it
        out = data.astype(np.float64) / 2.0 ** 31
    elif np.issubdtype(data.dtype, np.floating):
        out = data.astype(np.float64)
    else:
        raise InputError(f"{path}: unsupported WAV sample type {data.dtype}")
    return out[:, None] if out.ndim == 1 else out


def load_audio(path: str | Path, *, duration: float | None = None, offset: float = 0.0,
               mono: bool = False) -> Signal:
    """Load a WAV file (PCM 8/16/24/32-bit or float, mono or stereo) as a :class:`Signal`.

    Args:
        path: the ``.wav`` file.
        duration: keep only this many seconds (default: to the end).
        offset: start this many seconds into the file.
        mono: average the channels into one.

    Returns:
        A ``kind="audio"`` signal: ``coords (N, 1)`` in ``[-1, 1]`` (time, sample centres),
        ``values (N, c)`` in ``[-1, 1]``, ``shape (N,)``, ``meta["sample_rate"]`` in Hz.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a readable WAV file, or the selected span is empty.

    Examples:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "beep.wav")
        >>> _ = save_audio(path, torch.sin(torch.arange(800.0))[:, None] / 2, sample_rate=8000)
        >>> sig = load_audio(path, duration=0.05)
        >>> sig.shape, sig.meta["sample_rate"], sig.out_dim
        ((400,), 8000, 1)
    """
    from scipy.io import wavfile

    text = str(path)
    p = Path(text)
    if not p.exists():
        raise FileNotFoundError(f"audio file not found: {text!r}")
    if p.is_dir():
        raise IsADirectoryError(f"expected a WAV file, got a directory: {text!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", wavfile.WavFileWarning)  # unknown chunks are fine
            rate, data = wavfile.read(text)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"cannot read {text!r} as a WAV file ({exc.__class__.__name__}: {exc})") from None
    arr = _to_float(np.asarray(data), text)                          # (N_file, c)
    if offset < 0:
        raise InputError(f"offset must be >= 0 seconds, got {offset}")
    start = int(round(offset * rate))
    stop = arr.shape[0] if duration is None else start + int(round(
        _checks.positive_float("duration", duration) * rate))
    arr = arr[start:stop]
    if arr.shape[0] == 0:
        raise InputError(f"{text!r}: no samples between {offset} s and "
                         f"{'the end' if duration is None else f'{offset + duration} s'} "
                         f"(the file lasts {data.shape[0] / rate:.3f} s)")
    if mono:
        arr = arr.mean(axis=1, keepdims=True)
    peak = float(np.abs(arr).max())
    if peak > 1.0:
        warnings.warn(f"{p.name}: peak amplitude {peak:.3f} exceeds 1; PSNR assumes [-1, 1]",
                      stacklevel=2)
    n = arr.shape[0]
    return Signal(coords=grid_coords((n,)), values=torch.from_numpy(arr.astype(np.float32)),
                  shape=(n,), name=p.stem, kind="audio",
                  meta={"sample_rate": int(rate), "duration": n / rate, "data_range": 2.0,
                        "path": text})


def save_audio(path: str | Path, values: torch.Tensor | np.ndarray, *, sample_rate: int) -> Path:
    """Write ``values (N, c)`` or ``(N,)`` in ``[-1, 1]`` as a 16-bit PCM WAV, atomically.

    Values outside ``[-1, 1]`` are clipped (with a warning).
    """
    from scipy.io import wavfile

    rate = _checks.positive_int("sample_rate", sample_rate)
    arr = values.detach().cpu().numpy() if isinstance(values, torch.Tensor) else np.asarray(values)
    arr = arr.astype(np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim not in (1, 2) or arr.shape[0] == 0:
        raise InputError(f"values must have shape (N,) or (N, c) with N >= 1, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InputError("values contain NaN or inf; nothing written")
    if np.abs(arr).max() > 1.0:
        warnings.warn(f"{Path(path).name}: amplitudes outside [-1, 1] clipped", stacklevel=2)
    pcm = np.round(np.clip(arr, -1.0, 1.0) * 32767.0).astype(np.int16)
    return _io.atomic_write(path, lambda tmp: wavfile.write(tmp, rate, pcm))
