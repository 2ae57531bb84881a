"""One entry point from a source string to a :class:`Signal`: WAV file -> audio, mesh file ->
occupancy, video file or built-in clip -> video, a 1-D signal name -> synthetic 1-D,
``pattern:NAME`` -> a synthetic test pattern, anything else -> image."""
from __future__ import annotations

from pathlib import Path

from .. import memory as _memory
from .. import validation as _checks
from ..errors import InputError
from .audio import load_audio
from .mesh import MESH_SUFFIXES, load_mesh_occupancy
from .patterns import PATTERN_PREFIX, pattern
from .signal import Signal, load_image
from .synthetic import SIGNALS_1D, signal_1d
from .video import VIDEO_SAMPLES, VIDEO_SUFFIXES, load_video

__all__ = ["load_signal", "signal_kind", "OPTIONS_OF"]


#: File suffixes read as audio (through soundfile / libsndfile).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")


def signal_kind(source: str | Path) -> str:
    """``"audio"``, ``"occupancy"``, ``"video"``, ``"1d"``, ``"pattern"`` or ``"image"``, from
    the suffix or the name. An existing file always wins over a built-in name.

    Examples:
        >>> signal_kind("bach.flac"), signal_kind("bunny.obj"), signal_kind("chirp"), signal_kind("camera")
        ('audio', 'occupancy', '1d', 'image')
        >>> signal_kind("clip.mp4"), signal_kind("bikes"), signal_kind("pattern:star")
        ('video', 'video', 'pattern')
    """
    text = str(source)
    suffix = Path(text).suffix.lower()
    exists = Path(text).exists()
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    if suffix in MESH_SUFFIXES:
        return "occupancy"
    if suffix in VIDEO_SUFFIXES or (text in VIDEO_SAMPLES and not exists):
        return "video"
    if text in SIGNALS_1D and not exists:
        return "1d"
    if text.startswith(PATTERN_PREFIX) and not exists:
        return "pattern"
    return "image"


#: The options of :func:`load_signal`, each with the kinds of signal that read it and the value
#: that means "not given"; another kind refuses a given one by name.
OPTIONS_OF = {"size": (("image", "1d", "pattern", "video"), None),
              "duration": (("audio",), None), "offset": (("audio",), 0.0),
              "n_points": (("occupancy",), None),
              "frames": (("video",), None), "stride": (("video",), 1), "start": (("video",), 0)}


def load_signal(source: str | Path, *, size: int | None = None, duration: float | None = None,
                offset: float = 0.0, n_points: int | None = None, seed: int = 0,
                frames: int | None = None, stride: int = 1, start: int = 0) -> Signal:
    """Load ``source`` as the kind :func:`signal_kind` names.

    Args:
        source: an image path or scikit-image name, an audio file (``.wav``, ``.flac``,
            ``.ogg``, ``.aiff``), a mesh file (needs ``inrank[mesh]``), a video file
            (``.mp4``, ``.mkv``, ...) or built-in clip (``bikes``, ``carphone``,
            ``bigbuckbunny``; needs ``inrank[video]``), ``sinusoids`` / ``step`` /
            ``chirp``, or ``pattern:NAME``, a synthetic test pattern (:func:`inrank.pattern`;
            ``NAME`` one of :data:`inrank.PATTERNS`).
        size: images: short side in pixels; videos: each frame's short side; patterns: the
            side (default 128); 1-D signals: the number of samples.
        duration: audio: keep ``duration`` seconds (from ``offset``).
        offset: audio: start this many seconds into the file (a clip's first seconds are
            often silence).
        n_points: meshes: occupancy samples (default 50,000).
        seed: meshes: seeds the sampling; patterns: seeds the random ones.
        frames: videos: keep at most this many frames (default: to the end).
        stride: videos: keep every ``stride``-th frame.
        start: videos: the first frame kept (0-based).

    An option the source's kind does not read (``size`` for audio, ``duration`` for an image,
    ``frames`` for a photo, ...) is refused by name, never ignored.

    Examples:
        >>> load_signal("pattern:discs", size=32, seed=1).shape
        (32, 32)
    """
    if not str(source).strip():
        raise InputError("source is empty; give an image path or sample name, a sound file, a "
                         "mesh file, a video, a 1-D signal name or pattern:NAME")
    if size is not None:
        size = _checks.positive_int("size", size)
    kind = signal_kind(source)
    given = {"size": size, "duration": duration, "offset": offset, "n_points": n_points,
             "frames": frames, "stride": stride, "start": start}
    for name, value in given.items():
        kinds, unset = OPTIONS_OF[name]
        if value != unset and kind not in kinds:
            raise InputError(f"{name} does nothing for {kind} signals ({str(source)!r}); it "
                             f"applies to {' and '.join(kinds)} signals")
    if kind == "audio":
        return load_audio(source, duration=duration, offset=offset)
    if kind == "occupancy":
        return load_mesh_occupancy(source, n_points=50_000 if n_points is None else n_points,
                                   seed=seed)
    if kind == "video":
        return load_video(source, size=size, frames=frames, stride=stride, start=start)
    if kind == "1d":
        n = 512 if size is None else size
        _memory.check_points(n, "1d", name="size")
        return signal_1d(str(source), n_points=n)
    if kind == "pattern":
        return pattern(str(source)[len(PATTERN_PREFIX):], size=128 if size is None else size,
                       seed=seed)
    return load_image(source, size=size)
