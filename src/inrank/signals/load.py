"""One entry point from a source string to a :class:`Signal`: WAV file -> audio, mesh file ->
occupancy, a 1-D signal name -> synthetic 1-D, ``pattern:NAME`` -> a synthetic test pattern,
anything else -> image."""
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
    """``"audio"``, ``"occupancy"``, ``"1d"``, ``"pattern"`` or ``"image"``, from the suffix or
    the name. An existing file always wins over a 1-D signal name or ``pattern:NAME``.

    Examples:
        >>> signal_kind("bach.flac"), signal_kind("bunny.obj"), signal_kind("chirp"), signal_kind("camera")
        ('audio', 'occupancy', '1d', 'image')
        >>> signal_kind("pattern:star")
        'pattern'
    """
    from .mesh import MESH_SUFFIXES
    from .patterns import PATTERN_PREFIX
    from .synthetic import SIGNALS_1D

    text = str(source)
    suffix = Path(text).suffix.lower()
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    if suffix in MESH_SUFFIXES:
        return "occupancy"
    if text in SIGNALS_1D and not Path(text).exists():
        return "1d"
    if text.startswith(PATTERN_PREFIX) and not Path(text).exists():
        return "pattern"
    return "image"


#: The options of :func:`load_signal` each kind of signal reads (another kind refuses them).
OPTIONS_OF = {"size": ("image", "1d", "pattern"), "duration": ("audio",), "n_points": ("occupancy",)}


def load_signal(source: str | Path, *, size: int | None = None, duration: float | None = None,
                n_points: int | None = None, seed: int = 0) -> Signal:
    """Load ``source`` as the kind :func:`signal_kind` names.

    Args:
        source: an image path or scikit-image name, an audio file (``.wav``, ``.flac``,
            ``.ogg``, ``.aiff``), a mesh file (needs ``inrank[mesh]``), ``sinusoids`` /
            ``step`` / ``chirp``, or ``pattern:NAME``, a synthetic test pattern
            (:func:`inrank.pattern`; ``NAME`` one of :data:`inrank.PATTERNS`).
        size: images: short side in pixels; patterns: the side (default 128); 1-D signals:
            the number of samples.
        duration: audio: keep the first ``duration`` seconds.
        n_points: meshes: occupancy samples (default 50,000).
        seed: meshes: seeds the sampling; patterns: seeds the random ones.

    An option the source's kind does not read (``size`` for audio, ``duration`` for an image,
    ...) is refused by name, never ignored.

    Examples:
        >>> load_signal("pattern:discs", size=32, seed=1).shape
        (32, 32)
    """
    if not str(source).strip():
        raise InputError("source is empty; give an image path or sample name, a sound file, a "
                         "mesh file, a 1-D signal name or pattern:NAME")
    if size is not None:
        size = _checks.positive_int("size", size)
    kind = signal_kind(source)
    given = {"size": size, "duration": duration, "n_points": n_points}
    for name, value in given.items():
        if value is not None and kind not in OPTIONS_OF[name]:
            raise InputError(f"{name} does nothing for {kind} signals ({str(source)!r}); it "
                             f"applies to {' and '.join(OPTIONS_OF[name])} signals")
    if kind == "audio":
        from .audio import load_audio

        return load_audio(source, duration=duration)
    if kind == "occupancy":
        from .mesh import load_mesh_occupancy

        return load_mesh_occupancy(source, n_points=50_000 if n_points is None else n_points,
                                   seed=seed)
    if kind == "1d":
        from .synthetic import signal_1d

        n = 512 if size is None else size
        _memory.check_points(n, "1d", name="size")
        return signal_1d(str(source), n_points=n)
    if kind == "pattern":
        from .patterns import PATTERN_PREFIX, pattern

        return pattern(str(source)[len(PATTERN_PREFIX):], size=128 if size is None else size,
                       seed=seed)
    return load_image(source, size=size)
