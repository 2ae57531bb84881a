"""Audio signals: sound files as ``time -> amplitude`` samples, and writing them back.

Decoding and encoding go through ``soundfile`` (libsndfile): WAV (PCM 8/16/24/32-bit, float),
and also FLAC and OGG/Vorbis, which libsndfile reads the same way.

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

from .. import files as _io
from .. import validation as _checks
from ..errors import InputError
from .signal import Signal, grid_coords

__all__ = ["load_audio", "save_audio"]


def load_audio(path: str | Path, *, duration: float | None = None, offset: float = 0.0,
               mono: bool = False) -> Signal:
    """Load a sound file as a :class:`Signal`.

    Reads whatever libsndfile (through ``soundfile``) decodes: WAV (PCM 8/16/24/32-bit or
    float), FLAC, OGG/Vorbis, AIFF; mono or multi-channel. PCM is scaled to full scale
    ``[-1, 1)`` (16-bit: ``k / 32768``); only the selected span is decoded.

    Args:
        path: the sound file (``.wav``, ``.flac``, ``.ogg``, ...).
        duration: keep only this many seconds (default: to the end).
        offset: start this many seconds into the file.
        mono: average the channels into one.

    Returns:
        A ``kind="audio"`` signal: ``coords (N, 1)`` in ``[-1, 1]`` (time, sample centres),
        ``values (N, c)`` float32 in ``[-1, 1]``, ``shape (N,)``, ``meta["sample_rate"]`` in Hz.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a readable sound file, or the selected span is empty.

    Examples:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "beep.wav")
        >>> _ = save_audio(path, torch.sin(torch.arange(800.0))[:, None] / 2, sample_rate=8000)
        >>> sig = load_audio(path, duration=0.05)
        >>> sig.shape, sig.meta["sample_rate"], sig.out_dim
        ((400,), 8000, 1)
    """
    import soundfile as sf

    text = str(path)
    p = Path(text)
    if not p.exists():
        raise FileNotFoundError(f"audio file not found: {text!r}")
    if p.is_dir():
        raise IsADirectoryError(f"expected a sound file, got a directory: {text!r}")
    if offset < 0:
        raise InputError(f"offset must be >= 0 seconds, got {offset}")
    if duration is not None:
        duration = _checks.positive_float("duration", duration)
    try:
        with sf.SoundFile(text) as file:
            rate, total = int(file.samplerate), int(file.frames)
            start = int(round(offset * rate))
            frames = -1 if duration is None else int(round(duration * rate))
            if start < total:
                file.seek(start)
                # float64: PCM scaled in one rounding, so float32 values match k / 2^(bits-1)
                arr = file.read(frames, dtype="float64", always_2d=True)      # (N, c)
            else:
                arr = np.zeros((0, file.channels))
    except (sf.SoundFileError, RuntimeError, OSError, EOFError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise InputError(f"cannot read {text!r} as a sound file "
                         f"({exc.__class__.__name__}: {first})") from None
    if arr.shape[0] == 0:
        raise InputError(f"{text!r}: no samples between {offset} s and "
                         f"{'the end' if duration is None else f'{offset + duration} s'} "
                         f"(the file lasts {total / rate:.3f} s)")
    if mono:
        arr = arr.mean(axis=1, keepdims=True)
    peak = float(np.abs(arr).max())
    if peak > 1.0:
        warnings.warn(f"{p.name}: peak amplitude {peak:.3f} exceeds 1; PSNR assumes [-1, 1]",
                      stacklevel=2)
    n = arr.shape[0]
    return Signal(coords=grid_coords((n,)), values=torch.from_numpy(arr.astype(np.float32)),
                  shape=(n,), name=p.stem, kind="audio",
                  meta={"sample_rate": rate, "duration": n / rate, "data_range": 2.0,
                        "path": text})


def save_audio(path: str | Path, values: torch.Tensor | np.ndarray, *, sample_rate: int) -> Path:
    """Write ``values (N, c)`` or ``(N,)`` in ``[-1, 1]`` as a 16-bit PCM WAV, atomically.

    libsndfile quantises ``x`` to ``round(32768 x)`` (clipped to the int16 range), so reading
    the file back gives ``x`` to within ``1 / 32768``. Values outside ``[-1, 1]`` are clipped
    (with a warning).
    """
    import soundfile as sf

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
    arr = np.clip(arr, -1.0, 1.0)
    # the temporary file has no .wav suffix: name the format
    return _io.atomic_write(path, lambda tmp: sf.write(tmp, arr, rate, subtype="PCM_16",
                                                       format="WAV"))
