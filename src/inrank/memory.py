"""One up-front memory estimate for every request that allocates by its size.

Each ``check_*`` function estimates the bytes a request will need *before* anything is
allocated and raises :class:`~inrank.errors.ResourceError` when that exceeds the memory this
machine has available (:func:`available_bytes`), with the size it would need and the largest
setting that fits. Only what truly cannot fit is refused: the estimates count what the code
allocates at its peak (not a safety factor), against all the available memory.

Messages name the library's own arguments (``size=``, ``width=``, ``resolution=``,
``solver=``); the command line shows them as its flags.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from .errors import ResourceError

__all__ = ["available_bytes", "format_bytes", "ensure_fits", "check_image", "check_video",
           "check_model", "check_points", "check_grid", "check_dense_ntk"]

_FALLBACK = 8 << 30  # when the system says nothing: 8 GiB


def _meminfo_available() -> int | None:
    """``MemAvailable`` of ``/proc/meminfo`` in bytes (Linux), else None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_available() -> int | None:
    """What a container's memory limit leaves (cgroup v2 or v1), else None."""
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            cap = Path(limit).read_text().strip()
            if cap == "max" or int(cap) >= 1 << 60:  # no limit
                continue
            return max(0, int(cap) - int(Path(usage).read_text().strip()))
        except (OSError, ValueError):
            continue
    return None


def available_bytes(device: str | torch.device | None = None) -> int:
    """Bytes this process can still allocate on ``device`` (default: host memory).

    CUDA: the free memory ``torch.cuda.mem_get_info`` reports. Host: ``MemAvailable`` of
    ``/proc/meminfo`` (free plus reclaimable cache), capped by a container's cgroup limit;
    elsewhere the free pages ``os.sysconf`` reports, else 8 GiB.

    Examples:
        >>> available_bytes() > 0
        True
    """
    if device is not None and torch.device(device).type == "cuda":
        free, _ = torch.cuda.mem_get_info(torch.device(device))
        return int(free)
    found = [b for b in (_meminfo_available(), _cgroup_available()) if b is not None]
    if not found:
        try:
            found = [os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")]
        except (ValueError, OSError, AttributeError):
            found = [_FALLBACK]
    return int(min(found))


def format_bytes(n: float) -> str:
    """A byte count in decimal units, two or three significant digits.

    Examples:
        >>> format_bytes(999), format_bytes(1.23e12), format_bytes(20e9), format_bytes(4.56e6)
        ('999 B', '1.2 TB', '20 GB', '4.6 MB')
    """
    value, unit = float(n), "B"
    for unit in ("B", "kB", "MB", "GB", "TB", "PB", "EB"):
        if abs(value) < 999.5 or unit == "EB":
            break
        value /= 1000
    return f"{value:.0f} {unit}" if unit == "B" or abs(value) >= 10 else f"{value:.1f} {unit}"


def _round_down(x: int) -> int:
    """``x`` floored to two significant digits (a setting a person would type)."""
    if x < 100:
        return x
    step = 10 ** (len(str(x)) - 2)
    return x // step * step


def _largest(need: Callable[[int], int], budget: int, hi: int) -> int:
    """The largest ``k`` in ``[1, hi)`` with ``need(k) <= budget`` (``need`` grows with ``k``),
    floored to two significant digits; 0 if none."""
    lo, hi = 0, hi  # need(lo) fits (or lo == 0), need(hi) does not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if need(mid) <= budget else (lo, mid)
    return _round_down(lo)


def ensure_fits(need: int, *, request: str, what: str, fix: str,
                device: str | torch.device | None = None) -> int:
    """Return ``need`` if it fits in :func:`available_bytes`, else raise ``ResourceError``.

    Args:
        need: the estimated bytes.
        request: the request as the caller wrote it, e.g. ``"size=100000"``.
        what: what the bytes are, e.g. ``"a 100000 x 150000 x 3 image ..."``.
        fix: the advice that ends the message, e.g. ``"use size=27000 or less"``.
        device: where the bytes go (default host memory).

    Examples:
        >>> ensure_fits(1000, request="n=10", what="ten points", fix="use fewer")
        1000
    """
    have = available_bytes(device)
    if need > have:
        where = "this machine has" if device is None or torch.device(device).type == "cpu" \
            else f"{torch.device(device)} has"
        raise ResourceError(f"{request} needs about {format_bytes(need)} ({what}); {where} "
                            f"{format_bytes(have)} available; {fix}")
    return need


def _fix(name: str, largest: int, unit: str = "") -> str:
    if largest < 1:
        return "free some memory or use a machine with more"
    return f"use {name}={largest}{unit} or less"


def _image_bytes(h: int, w: int, c: int) -> int:
    # at the peak: the float64 image (8 c) beside its float32 values (4 c) and the coordinates
    # being built (two float64 axes copied, stacked, then float32: 46 per pixel as measured);
    # above the resize's float64 output and its clipped copy (16 c) for c < 10
    return h * w * (12 * c + 46)


def _resized(shape: tuple[int, int], size: int) -> tuple[int, int]:
    h, w = shape
    scale = size / min(h, w)
    return max(1, round(h * scale)), max(1, round(w * scale))


def check_image(shape: tuple[int, int], channels: int, size: int | None) -> None:
    """Refuse resizing an ``(H, W, c)`` image so its short side has ``size`` pixels when the
    result (float64 resize, float32 values and ``(N, 2)`` coordinates) cannot fit.

    Examples:
        >>> check_image((512, 512), 3, 64)  # fits: returns None
    """
    if size is None:
        h, w = shape
    else:
        h, w = _resized(shape, size)
    need = _image_bytes(h, w, channels)
    if size is None or need <= available_bytes():
        return
    fits = _largest(lambda s: _image_bytes(*_resized(shape, s), channels), available_bytes(), size)
    ensure_fits(need, request=f"size={size}",
                what=f"a {h} x {w} x {channels} image: float64 resize, float32 values and "
                     "coordinates", fix=_fix("size", fits))


def _video_bytes(t: int, h: int, w: int, c: int, source: tuple[int, int]) -> int:
    # per point at the peak: the float32 frames (4 c) beside the (N, 3) coordinates being built
    # (three float64 axes copied, stacked, then float32: 50 B as measured); the frames' list
    # and its stacked copy (8 c) come earlier. One frame in flight: the decoded uint8 and its
    # float64 copy at the source size, the float64 resize and its clipped copy
    h0, w0 = source
    return t * h * w * (4 * c + 50) + h0 * w0 * 9 * c + h * w * 16 * c


def check_video(frames: int, source: tuple[int, int], channels: int, size: int | None) -> None:
    """Refuse decoding ``frames`` frames of ``source = (H, W)`` pixels and ``channels``
    channels, resized so their short side has ``size`` pixels, when the clip (float32 frames
    and ``(N, 3)`` coordinates) cannot fit; the message names the most frames that fit.

    Examples:
        >>> check_video(16, (272, 640), 3, 48)  # fits: returns None
    """
    h, w = source if size is None else _resized(source, size)

    def need(t: int) -> int:
        return _video_bytes(t, h, w, channels, source)

    if need(frames) <= available_bytes():
        return
    request = f"frames={frames}" + ("" if size is None else f", size={size}")
    fits = _largest(need, available_bytes(), frames)
    ensure_fits(need(frames), request=request,
                what=f"a {frames} x {h} x {w} x {channels} clip: float32 frames and "
                     "coordinates",
                fix=_fix("frames", fits))


def _mlp_parameters(dims: list[int]) -> int:
    return sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))


#: Peak bytes per parameter of a fit (measured 27-30): float32 weights, gradients, Adam's two
#: moments, the temporaries of its update and the best state ``fit`` keeps.
_FIT_BYTES_PER_PARAMETER = 28


def check_model(enc_dim: int, width: int, depth: int, out_dim: int) -> None:
    """Refuse an MLP (``enc_dim -> width x depth -> out_dim``) whose training state (weights,
    gradients, Adam's moments and update, the best state: 28 bytes per parameter) cannot fit:
    it could not be trained on this machine.

    Examples:
        >>> check_model(2, 256, 3, 3)  # about 133k parameters: fits
    """
    def need(w: int) -> int:
        return _FIT_BYTES_PER_PARAMETER * _mlp_parameters([enc_dim] + [w] * depth + [out_dim])

    if need(width) <= available_bytes():
        return
    params = need(width) // _FIT_BYTES_PER_PARAMETER
    ensure_fits(need(width), request=f"width={width}",
                what=f"{params:,} parameters at depth {depth} x {_FIT_BYTES_PER_PARAMETER} "
                     "bytes: weights, gradients, Adam's state and the best state",
                fix=_fix("width", _largest(need, available_bytes(), width)))


#: Peak bytes per sample while a point-set signal is built: 1-D signals (float64 axis, its
#: sinusoid terms, float32 coordinates and values) and mesh occupancy samples (float64
#: surface points, their noise and the uniform ones, joined and clamped; winding numbers;
#: float32 coordinates).
_SAMPLE_BYTES = {"1d": 128, "occupancy": 150}


def check_points(n: int, kind: str, *, name: str) -> None:
    """Refuse building ``n`` samples of a ``kind`` (``"1d"``, ``"occupancy"``) signal when they
    cannot fit; ``name`` is the argument that sets ``n``.

    Examples:
        >>> check_points(50_000, "occupancy", name="n_points")
    """
    per = _SAMPLE_BYTES[kind]
    if n * per <= available_bytes():
        return
    ensure_fits(n * per, request=f"{name}={n}", what=f"{n:,} {kind} samples x {per} bytes",
                fix=_fix(name, _round_down(available_bytes() // per)))


def _grid_bytes(r: int) -> int:
    # per cell centre at the peak: the coordinates being built (two float64 axes copied,
    # stacked, then float32: 48 B as measured); later the float32 coordinates, the logits
    # (chunks and their joined copy) and the padded volume marching cubes reads (below 60 B)
    return 60 * r ** 3


def check_grid(resolution: int, *, scale: int = 1) -> None:
    """Refuse evaluating an occupancy field on a dense ``(scale R)^3`` grid of cell centres
    (``R = resolution``) when it cannot fit. ``inrank fit`` on a mesh evaluates its IoU on
    ``R^3`` and extracts the mesh on ``(2R)^3``: ``scale=2`` checks both up front.

    Examples:
        >>> check_grid(64, scale=2)
    """
    r = resolution

    def need(k: int) -> int:
        return _grid_bytes(scale * k)

    if need(r) <= available_bytes():
        return
    side = scale * r
    ensure_fits(need(r), request=f"resolution={r}",
                what=f"a {side}^3 grid" + (" (marching cubes at twice the resolution)"
                                           if scale == 2 else "")
                     + ": coordinates and logits",
                fix=_fix("resolution", _largest(need, available_bytes(), r)))


def _ntk_bytes(n: int, kernels: int, factor_columns: int, side: int = 1,
               itemsize: int = 8) -> int:
    return itemsize * (n * side) ** 2 * kernels + 16 * n * factor_columns


def check_dense_ntk(n: int, *, kernels: int, layers: Sequence[tuple[int, int]],
                    full: bool = False, itemsize: int = 8, request: str | None = None,
                    alternative: str = "solver=matrix-free") -> None:
    """Refuse an NTK computation on ``n`` points of an MLP whose dense layers have the
    ``(fan_in, fan_out)`` shapes ``layers`` when it keeps ``kernels`` dense ``(N, N)``
    matrices (``(N c, N c)`` if ``full``) of ``itemsize`` bytes alive at once (diagnose's
    dense solver: a block, its symmetrised copies, the copy its eigendecomposition works on,
    the whole kernel) beside the layers' factors ``G_l (N, c D_l)`` and ``H~ (N, P + 1)`` (float64,
    and copies).

    Args:
        request: how the message names the request (default ``solver=dense at N = n points``).
        alternative: the other way the message offers.

    Examples:
        >>> check_dense_ntk(4096, kernels=5, layers=[(2, 256), (256, 256), (256, 3)])
    """
    c = layers[-1][1] if layers else 1
    columns = sum(c * fan_out + fan_in + 1 for fan_in, fan_out in layers)
    side = c if full else 1

    def need(m: int) -> int:
        return _ntk_bytes(m, kernels, columns, side, itemsize)

    if need(n) <= available_bytes():
        return
    fits = _largest(need, available_bytes(), n)
    ensure_fits(need(n), request=request or f"solver=dense at N = {n} points",
                what=f"{kernels} {n * side} x {n * side} matrices of {itemsize}-byte numbers "
                     "at once",
                fix=f"use {alternative}" + (f" or at most {fits} points" if fits else ""))
