"""Synthetic test patterns: band-limited noise, binary discs, a Sierpinski triangle and a
Siemens star, as gray images in ``[0, 1]`` (issue 36's benchmark off the tuning protocol).

Each pattern is a function of the continuous position ``(y, x)`` in ``[-1, 1]^2`` (``y`` down
the rows, ``x`` along the columns, as :func:`~inrank.signals.grid_coords` orders them), sampled
at the pixel centres of a ``size x size`` grid. So the same seed gives the same underlying
pattern at every size: ``size=256`` samples the pixels between those of ``size=128`` (the 2x
off-grid evaluation), up to band-limited noise's min-max scaling, which is per grid.

Seeds: ``bandlimited*`` and ``discs`` draw from ``numpy.random.default_rng(seed)`` (no global
RNG); ``sierpinski`` and ``star`` are fully deterministic, the same array for every seed.
Calibration (choosing lrs, knobs) uses :data:`CALIBRATION_SEEDS`, tables report
:data:`REPORTED_SEEDS`: disjoint, so no reported pattern was seen while choosing. The two
deterministic patterns are one signal whatever the seed: calibrate on them never, or only at
another size.
"""
from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable

import numpy as np

from .. import memory as _memory
from .. import validation as _checks
from ..errors import InputError, InputTypeError
from .signal import Signal

__all__ = ["pattern", "PATTERNS", "CALIBRATION_SEEDS", "REPORTED_SEEDS", "PATTERN_PREFIX",
           "bandlimited", "discs", "disc_layout", "sierpinski", "star"]

#: Seeds of the patterns a default is chosen on (never in a reported table).
CALIBRATION_SEEDS = (100, 101)
#: Seeds of the patterns a table reports (disjoint from :data:`CALIBRATION_SEEDS`).
REPORTED_SEEDS = (0, 1, 2)
#: The prefix :func:`inrank.load_signal` reads as a pattern name: ``pattern:star``.
PATTERN_PREFIX = "pattern:"


def _centres(size: int, supersample: int = 1, offset: int = 0) -> np.ndarray:
    """Pixel (or sub-pixel) centres in ``[-1, 1]``: ``(size,)`` float64. With ``supersample``
    s, the ``offset``-th of the s sub-pixel centres of each pixel."""
    j = np.arange(size) * supersample + offset
    return (2 * j + 1) / (size * supersample) - 1


def _rasterise(inside: Callable[[np.ndarray, np.ndarray], np.ndarray], size: int,
               supersample: int) -> np.ndarray:
    """``(size, size)`` float64: the fraction of each pixel's ``supersample^2`` sub-pixel
    centres where ``inside(y, x)`` holds (0 or 1 when ``supersample`` is 1)."""
    s = _checks.positive_int("supersample", supersample)
    out = np.zeros((size, size))
    for i in range(s):
        for k in range(s):
            y, x = np.meshgrid(_centres(size, s, i), _centres(size, s, k), indexing="ij")
            out += inside(y, x)  # (size, size) bool
    return out / s ** 2


def bandlimited(size: int = 128, *, seed: int = 0, bandwidth: float = 16.0,
                contrast: float = 0.1) -> np.ndarray:
    """Gaussian white noise low-passed to a disc of radius ``bandwidth`` in frequency.

    ``f(u, v) = Re sum_{|k| <= B} c_k exp(2 pi i (k_y u + k_x v))`` with ``u = (y + 1) / 2``,
    ``v = (x + 1) / 2``, ``k`` integer frequency pairs (cycles per image side) and ``c_k``
    i.i.d. standard complex Gaussians: white noise whose Fourier coefficients outside the
    disc are set to zero. Then scaled affinely so its minimum and maximum on the grid are
    ``0.5 - contrast / 2`` and ``0.5 + contrast / 2``. The image's DFT is zero outside the disc
    (up to float error) as long as ``bandwidth < size / 2`` (Nyquist), which is required.

    Args:
        size: side in pixels.
        seed: seeds the coefficients.
        bandwidth: B, cycles per image side, ``1 <= B < size / 2``.
        contrast: the range's width, in ``(0, 1]``; 0.1 (the default, issue 36's values
            0.45-0.55) puts the mean predictor near 37 dB; 1 spans ``[0, 1]``.

    Returns:
        ``(size, size)`` float64.

    Examples:
        >>> img = bandlimited(64, bandwidth=4)
        >>> img.shape, round(float(img.min()), 6), round(float(img.max()), 6)
        ((64, 64), 0.45, 0.55)
    """
    size = _checks.positive_int("size", size)
    bandwidth = _checks.positive_float("bandwidth", bandwidth)
    contrast = _checks.positive_float("contrast", contrast)
    if not 1 <= bandwidth < size / 2:
        raise InputError(f"bandwidth must be in [1, size / 2) cycles per side (below Nyquist), "
                         f"got {bandwidth:g} at size {size}; lower bandwidth or raise size "
                         f"above {2 * bandwidth:g}")
    if contrast > 1:
        raise InputError(f"contrast must be in (0, 1] (values stay in [0, 1]), got {contrast:g}")
    rng = np.random.default_rng(seed)
    b = math.floor(bandwidth)
    k = np.arange(-b, b + 1)                                                   # (K,)
    coef = rng.standard_normal((k.size, k.size)) + 1j * rng.standard_normal((k.size, k.size))
    coef[k[:, None] ** 2 + k[None, :] ** 2 > bandwidth ** 2] = 0               # (K, K)
    wave = np.exp(1j * np.pi * np.outer(_centres(size) + 1, k))                # (size, K)
    field = (wave @ coef @ wave.T).real                                       # (size, size)
    lo, hi = field.min(), field.max()
    return 0.5 + contrast * ((field - lo) / (hi - lo) - 0.5)


def disc_layout(*, seed: int = 0, count: int = 10,
                radius: tuple[float, float] = (0.04, 0.16)) -> np.ndarray:
    """The discs of :func:`discs`: ``(count, 3)`` float64 rows ``(y, x, r)``.

    Drawn one by one: a radius uniform in ``radius``, a centre uniform where the disc lies in
    ``[-1, 1]^2``, rejected if it overlaps a disc already placed (touching is allowed).

    Examples:
        >>> disc_layout(count=3).shape
        (3, 3)
    """
    count = _checks.positive_int("count", count)
    if not (isinstance(radius, (tuple, list)) and len(radius) == 2):
        raise InputTypeError(f"radius must be a pair (min, max), got {radius!r}")
    r_min, r_max = (_checks.positive_float("radius", r) for r in radius)
    if not r_min <= r_max < 1:
        raise InputError(f"radius must be (min, max) with min <= max < 1 (units of the half "
                         f"side), got {tuple(radius)}")
    rng = np.random.default_rng(seed)
    placed = np.zeros((0, 3))
    for _ in range(1000 * count):
        r = rng.uniform(r_min, r_max)
        yx = rng.uniform(-1 + r, 1 - r, size=2)
        if np.all(np.hypot(*(placed[:, :2] - yx).T) >= placed[:, 2] + r):
            placed = np.vstack([placed, [*yx, r]])
            if len(placed) == count:
                return placed
    raise InputError(f"could not place {count} non-overlapping discs of radius "
                     f"{tuple(radius)} (placed {len(placed)}); lower count or radius")


def discs(size: int = 128, *, seed: int = 0, count: int = 10,
          radius: tuple[float, float] = (0.04, 0.16), supersample: int = 1) -> np.ndarray:
    """``count`` non-overlapping white discs on black, placed by :func:`disc_layout`.

    Args:
        size: side in pixels.
        seed: seeds the radii and centres.
        count: number of discs.
        radius: (min, max) radius, in units of the half side (``[-1, 1]`` coordinates): the
            default 0.04-0.16 is 2.6-10 px at 128 px.
        supersample: 1: binary, a pixel is 1 when its centre is inside a disc; s > 1: the
            fraction of its s x s sub-pixel centres inside (anti-aliased edges).

    Returns:
        ``(size, size)`` float64; the filled fraction is close to ``sum pi r^2 / 4``.

    Examples:
        >>> sorted(np.unique(discs(32)).tolist())
        [0.0, 1.0]
    """
    size = _checks.positive_int("size", size)
    layout = disc_layout(seed=seed, count=count, radius=radius)

    def inside(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        return np.any([(y - cy) ** 2 + (x - cx) ** 2 <= r ** 2 for cy, cx, r in layout], axis=0)

    return _rasterise(inside, size, supersample)


def sierpinski(size: int = 128, *, seed: int = 0, depth: int = 4,
               supersample: int = 1) -> np.ndarray:
    """The Sierpinski triangle at ``depth``: white on black, deterministic (``seed`` ignored).

    The equilateral triangle spans the image's width (base on ``y = sqrt(3) / 2``, apex at
    ``y = -sqrt(3) / 2``, so it covers ``sqrt(3) / 4`` of the image); each of ``depth`` steps
    removes the middle quarter of every remaining triangle, leaving ``3^depth`` triangles of
    side ``2^-depth`` of the width (8 px at 128 px, depth 4) and ``(3/4)^depth`` of the area.
    A point is kept when, in the triangle's barycentric coordinates ``(a, b)``, doubling
    ``depth`` times never lands in a middle triangle (``a < 1, b < 1, a + b > 1``).

    Args:
        size: side in pixels.
        seed: ignored: the pattern is the same for every seed.
        depth: removal steps, >= 0 (0: the filled triangle).
        supersample: as in :func:`discs`.

    Returns:
        ``(size, size)`` float64.

    Examples:
        >>> float(sierpinski(64, depth=0).mean()) > float(sierpinski(64, depth=2).mean())
        True
    """
    size = _checks.positive_int("size", size)
    depth = _checks.non_negative_int("depth", depth)
    h = math.sqrt(3)

    def inside(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        b = (h / 2 - y) / h          # towards the apex
        a = (x + 1 - b) / 2          # towards the base's right end
        keep = (a >= 0) & (b >= 0) & (a + b <= 1)
        for _ in range(depth):
            a, b = 2 * a, 2 * b
            keep &= (a >= 1) | (b >= 1) | (a + b <= 1)
            a, b = np.where(a >= 1, a - 1, a), np.where(b >= 1, b - 1, b)
        return keep

    return _rasterise(inside, size, supersample)


def star(size: int = 128, *, seed: int = 0, wedges: int = 40, supersample: int = 1) -> np.ndarray:
    """A Siemens star: ``wedges`` alternating white and black sectors in the inscribed circle
    (radius 1, black outside), centred; deterministic (``seed`` ignored).

    A point at angle ``t = atan2(y, x)`` inside the circle is white when
    ``floor(wedges (t + pi) / (2 pi))`` is even. Near the centre the sectors are narrower
    than a pixel: the target's point is that a representation resolves them down to some
    radius and aliases below it.

    Args:
        size: side in pixels.
        seed: ignored: the pattern is the same for every seed.
        wedges: number of sectors, even (they alternate around the circle), >= 2.
        supersample: as in :func:`discs`; 1 (binary) by default.

    Returns:
        ``(size, size)`` float64.

    Examples:
        >>> star(8, wedges=4)[1].tolist()
        [0.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    """
    size = _checks.positive_int("size", size)
    wedges = _checks.positive_int("wedges", wedges)
    if wedges % 2:
        raise InputError(f"wedges must be even (white and black alternate), got {wedges}")

    def inside(y: np.ndarray, x: np.ndarray) -> np.ndarray:
        sector = np.floor(wedges * (np.arctan2(y, x) + np.pi) / (2 * np.pi))
        return (y ** 2 + x ** 2 <= 1) & (sector % 2 == 0)

    return _rasterise(inside, size, supersample)


#: name -> builder ``(size, *, seed, **options) -> (size, size)`` float64, for :func:`pattern`;
#: the three ``bandlimited-*`` presets fix ``bandwidth`` at 4, 16 and 48 cycles per side (48
#: stays below the Nyquist rate, 64, at 128 px, so it needs a side above 96 px).
PATTERNS: dict[str, Callable[..., np.ndarray]] = {
    "bandlimited": bandlimited,
    "bandlimited-low": functools.partial(bandlimited, bandwidth=4.0),
    "bandlimited-mid": functools.partial(bandlimited, bandwidth=16.0),
    "bandlimited-high": functools.partial(bandlimited, bandwidth=48.0),
    "discs": discs,
    "sierpinski": sierpinski,
    "star": star,
}
"""The pattern names :func:`pattern` builds, each mapped to its builder."""


def pattern(name: str, *, size: int = 128, seed: int = 0, **options) -> Signal:
    """Build the synthetic test pattern ``name`` as a gray image signal in ``[0, 1]``.

    Args:
        name: one of :data:`PATTERNS`: ``bandlimited`` (and its presets ``bandlimited-low``,
            ``-mid``, ``-high``), ``discs``, ``sierpinski``, ``star``.
        size: side in pixels (the image is ``size x size``).
        seed: seeds the random patterns (bandlimited, discs); the others ignore it. Use
            :data:`CALIBRATION_SEEDS` to choose settings, :data:`REPORTED_SEEDS` to report.
        **options: the builder's own (e.g. ``bandwidth``, ``contrast``, ``count``,
            ``radius``, ``depth``, ``wedges``, ``supersample``); a preset's fixed option
            cannot be overridden.

    Returns:
        A :class:`Signal` with ``coords (size^2, 2)``, ``values (size^2, 1)``,
        ``kind="image"``, ``name`` the pattern's; ``meta`` holds ``pattern``, ``seed``, the
        ``options`` and ``data_range`` 1.

    Raises:
        ValueError (InputError): an unknown name or option value.
        TypeError (InputTypeError): an option the pattern does not take.

    Examples:
        >>> sig = pattern("star", size=32)
        >>> sig.shape, sig.values.shape, sig.name
        ((32, 32), torch.Size([1024, 1]), 'star')
    """
    _checks.one_of("pattern", name, tuple(PATTERNS))
    size = _checks.positive_int("size", size)
    seed = _checks.non_negative_int("seed", seed)
    builder = PATTERNS[name]
    fixed = getattr(builder, "keywords", {})
    allowed = [p for p in inspect.signature(builder).parameters if p not in ("size", "seed")]
    allowed = [p for p in allowed if p not in fixed]
    wrong = [k for k in options if k not in allowed]
    if wrong:
        raise InputTypeError(f"pattern {name!r} takes the options {', '.join(allowed)}; got "
                             f"{', '.join(wrong)}" + (f" ({name} fixes {', '.join(fixed)}: use "
                                                      f"'bandlimited')" if fixed else ""))
    _memory.check_image((size, size), 1, size)
    image = builder(size, seed=seed, **options)  # (size, size) float64
    signal = Signal.from_image(image, name=name)
    signal.meta.update(pattern=name, seed=seed, options={**fixed, **options}, data_range=1.0)
    return signal
