"""One entry point from a source string to a :class:`Signal`: WAV file -> audio, mesh file ->
occupancy, video file or built-in clip -> video, a 1-D signal name -> synthetic 1-D, anything
else -> image."""
from __future__ import annotations

from pathlib import Path

from .. import memory as _memory
from .. import validation as _checks
from ..errors import InputError
from .signal import Signal, load_image

__all__ = ["load_signal", "signal_kind"]


#: File suffixes read as audio (through soundfile / libsndfile).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def signal_kind(source: str | Path) -> str:
    """``"audio"``, ``"occupancy"``, ``"video"``, ``"1d"`` or ``"image"``, from the suffix or
    the name.

    Examples:
        >>> signal_kind("bach.flac"), signal_kind("bunny.obj"), signal_kind("chirp"), signal_kind("camera")
        ('audio', 'occupancy', '1d', 'image')
        >>> signal_kind("clip.mp4"), signal_kind("bikes")
        ('video', 'video')
    """
    from .synthetic import SIGNALS_1D
    from .mesh import MESH_SUFFIXES
    from .video import VIDEO_SAMPLES, VIDEO_SUFFIXES

    text = str(source)
    suffix = Path(text).suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    if suffix in MESH_SUFFIXES:
        return "occupancy"
    if suffix in VIDEO_SUFFIXES or (text in VIDEO_SAMPLES and not Path(text).exists()):
        return "video"
    if text in SIGNALS_1D and not Path(text).exists():
        return "1d"
    return "image"


def load_signal(source: str | Path, *, size: int | None = None, duration: float | None = None,
                n_points: int = 50_000, seed: int = 0, frames: int | None = None,
                stride: int = 1, start: int = 0) -> Signal:
    """Load ``source`` as the kind :func:`signal_kind` names.

    Args:
        source: an image path or scikit-image name, an audio file (``.wav``, ``.flac``,
            ``.ogg``, ``.aiff``), a mesh file (needs ``inrank[mesh]``), a video file
            (``.mp4``, ``.mkv``, ...) or built-in clip (``bikes``, ``carphone``,
            ``bigbuckbunny``; needs ``inrank[video]``), or ``sinusoids`` / ``step`` /
            ``chirp``.
        size: images: short side in pixels; videos: each frame's short side; 1-D signals:
            the number of samples.
        duration: audio: keep the first ``duration`` seconds.
        n_points: meshes: occupancy samples.
        seed: meshes: seeds the sampling.
        frames: videos: keep at most this many frames (default: to the end).
        stride: videos: keep every ``stride``-th frame.
        start: videos: the first frame kept (0-based).
    """
    if not str(source).strip():
        raise InputError("source is empty; give an image path or sample name, a sound file, a "
                         "mesh file, a video or a 1-D signal name")
    if size is not None:
        size = _checks.positive_int("size", size)
    kind = signal_kind(source)
    if kind == "audio":
        from .audio import load_audio

        return load_audio(source, duration=duration)
    if kind == "occupancy":
        from .mesh import load_mesh_occupancy

        return load_mesh_occupancy(source, n_points=n_points, seed=seed)
    if kind == "video":
        from .video import load_video

        return load_video(source, size=size, frames=frames, stride=stride, start=start)
    if kind == "1d":
        from .synthetic import signal_1d

        n = 512 if size is None else size
        _memory.check_points(n, "1d", name="size")
        return signal_1d(str(source), n_points=n)
    return load_image(source, size=size)
