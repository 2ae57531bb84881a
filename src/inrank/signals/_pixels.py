"""Image pixels from files and in-memory arrays, as unit floats (the readers behind
:func:`inrank.signals.load_image`), and the one resize of images and video frames.

Files are decoded by imageio's Pillow plugin, except 16-bit colour, which Pillow decodes to 8
bits (its ``RGB;16B -> RGB`` unpacker keeps the high byte of each sample): a 16-bit RGB, RGBA
or gray + alpha PNG (or other file Pillow decodes with its ``zip`` or ``raw`` codec) is decoded
twice, the second time with the other byte order's unpacker, which keeps the low byte; a 16-bit
colour TIFF is read by tifffile (a scikit-image dependency).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError

__all__ = ["read_file", "array_pixels", "unit_float", "check_float_pixels", "resize_short_side"]

#: Pillow modes without a direct array form here, and the mode imageio converts them to.
_CONVERT_MODES = {"CMYK": "RGB", "YCbCr": "RGB", "LAB": "RGB", "HSV": "RGB", "PA": "RGBA"}

#: Pillow raw modes of 16-bit colour samples that it unpacks to 8 bits, and the raw mode that
#: unpacks the other byte of each sample; gray + alpha (``LA;16B``, unpacked to RGBA) is read
#: whole through ``RGBA``, whose 4 bytes are ``L_hi, L_lo, A_hi, A_lo``.
_OTHER_BYTE = {"RGB;16B": "RGB;16L", "RGB;16L": "RGB;16B", "RGBA;16B": "RGBA;16L",
               "RGBA;16L": "RGBA;16B", "LA;16B": "RGBA"}
_WIDE_COLOUR = ("RGB;16N", "RGBA;16N", *_OTHER_BYTE)


#: EXIF orientation (tag 0x0112) -> how to turn the stored pixels upright, as Pillow's
#: ``ImageOps.exif_transpose`` does: 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90
#: clockwise, 7 transverse, 8 rotate 90 counter-clockwise.
_UPRIGHT = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
            5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
            7: lambda a: a[::-1, ::-1].swapaxes(0, 1), 8: lambda a: np.rot90(a, 1)}


def read_file(path: Path) -> np.ndarray:
    """An image file's first frame, upright (its EXIF orientation applied): ``(H, W)`` or
    ``(H, W, c)`` uint8, uint16, bool or float pixels, as stored (16-bit colour at 16 bits)."""
    arr = _read_stored(path)
    turn = _UPRIGHT.get(_orientation(path))
    return arr if turn is None else np.ascontiguousarray(turn(arr))


def _orientation(path: Path) -> int:
    """The file's EXIF orientation (1, upright, when it has none)."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            return int(im.getexif().get(0x0112, 1) or 1)
    except (OSError, ValueError, TypeError, SyntaxError):
        return 1


def _read_stored(path: Path) -> np.ndarray:
    """The first frame's pixels in their stored orientation."""
    import imageio.v3 as iio

    text = str(path)
    try:
        wide = _wide_colour(path)
        if wide is not None:
            return wide
        with iio.imopen(path, "r", plugin="pillow") as file:
            meta = file.metadata(index=0)
            mode = _CONVERT_MODES.get(meta.get("mode"))
            if meta.get("mode") == "P" and "transparency" in meta:
                mode = "RGBA"  # so the alpha warning names it
            arr = file.read(index=0, mode=mode)
    except (OSError, SyntaxError, ValueError) as exc:  # Pillow's errors are OSErrors
        from imageio.core.request import InitializationError

        # imageio raises a bare OSError on top of its "Pillow can not read ..." reason
        reason = exc.__cause__ if isinstance(exc.__cause__, InitializationError) else exc
        first = (str(reason).splitlines() or [""])[0]
        raise InputError(f"cannot read {text!r} as an image "
                         f"({reason.__class__.__name__}: {first})") from None
    if not arr.dtype.isnative:  # e.g. Pillow mode "I;16B" (big-endian 16-bit TIFF)
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if arr.dtype.kind in "iu" and arr.dtype.itemsize == 4:
        # Pillow mode "I", a 32-bit container (16-bit gray PNG under Pillow < 10): read as
        # 16-bit if any value exceeds 255, else as 8-bit; out-of-range values are clipped
        wide = arr.max() > 255
        arr = np.clip(arr, 0, 65535 if wide else 255).astype(np.uint16 if wide else np.uint8)
    return arr


def _rawmode(tile) -> str:
    args = tile[3]
    return args[0] if isinstance(args, tuple) else args


def _wide_colour(path: Path) -> np.ndarray | None:
    """16-bit colour pixels ``(H, W, c)`` uint16 of a file Pillow would read at 8 bits; None
    for any other file (imageio reads those)."""
    from PIL import Image

    with Image.open(path) as im:
        tiles, fmt = list(im.tile), im.format
    if not tiles or _rawmode(tiles[0]) not in _WIDE_COLOUR:
        return None
    if fmt == "TIFF":
        return _tifffile(path)
    raw = _rawmode(tiles[0])
    if raw not in _OTHER_BYTE or any(t[0] not in ("zip", "raw") for t in tiles):
        warnings.warn(f"{str(path)!r}: 16-bit colour read at 8 bits (Pillow's {tiles[0][0]} "
                      "decoder); save it as a PNG to keep 16 bits", stacklevel=4)
        return None
    high, low = _decode(path, None), _decode(path, _OTHER_BYTE[raw])
    if raw == "LA;16B":  # (H, W, 4) bytes L_hi, L_lo, A_hi, A_lo
        pairs = low.reshape(*low.shape[:2], 2, 2).astype(np.uint16)
        return (pairs[..., 0] << 8) | pairs[..., 1]  # (H, W, 2)
    return (high.astype(np.uint16) << 8) | low  # (H, W, c)


def _decode(path: Path, rawmode: str | None) -> np.ndarray:
    """The file's first frame decoded by Pillow, with its tiles' raw mode replaced."""
    from PIL import Image

    with Image.open(path) as im:
        if rawmode is not None:
            im.tile = [_with_rawmode(t, rawmode) for t in im.tile]
        return np.asarray(im)


def _with_rawmode(tile, rawmode: str):
    """A Pillow tile ``(codec, extents, offset, args)`` (a plain tuple before Pillow 11, a
    named tuple since) with its raw mode replaced."""
    args = (rawmode, *tile[3][1:]) if isinstance(tile[3], tuple) else rawmode
    fields = (tile[0], tile[1], tile[2], args)
    return fields if type(tile) is tuple else type(tile)(*fields)


def _tifffile(path: Path) -> np.ndarray:
    import tifffile

    try:
        arr = tifffile.imread(path, key=0)
    except Exception as exc:  # e.g. a compression that needs the imagecodecs package
        first = (str(exc).splitlines() or [""])[0]
        raise InputError(f"cannot read the 16-bit colour TIFF {str(path)!r} at full depth "
                         f"(tifffile: {first}); install imagecodecs (pip install imagecodecs) "
                         "or save it as a 16-bit PNG") from None
    return arr


def array_pixels(source, name: str) -> np.ndarray:
    """An in-memory image (numpy array or torch tensor) ``(H, W)`` or ``(H, W, c)`` as a numpy
    array, checked for its layout (channel-first is refused) and, for floats, range."""
    if isinstance(source, torch.Tensor):
        t = source.detach().cpu()
        arr = (t.float() if t.is_floating_point() and t.dtype == torch.bfloat16 else t).numpy()
    else:
        arr = np.asarray(source)
    if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[2] > 4:
        raise InputError(f"{name} of shape {arr.shape} looks channel-first (c, H, W); expected "
                         "(H, W) or (H, W, c): pass x.permute(1, 2, 0) (numpy: x.transpose(1, 2, 0))")
    if arr.ndim not in (2, 3):
        raise InputError(f"{name} must have shape (H, W) or (H, W, c), got {arr.shape}")
    return check_float_pixels(arr, name)


def check_float_pixels(arr: np.ndarray, name: str) -> np.ndarray:
    """Refuse float pixels that are NaN, infinite or outside ``[0, 1]`` (files and arrays
    alike: a value is never clipped on the way in); other dtypes pass."""
    if arr.dtype.kind != "f" or not arr.size:
        return arr
    if not np.isfinite(arr).all():
        raise InputError(f"{name}: {int((~np.isfinite(arr)).sum())} pixel value(s) are NaN or "
                         "infinite; clean the image first")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0 or hi > 1:
        raise InputError(f"{name}: float pixels must lie in [0, 1], got values in "
                         f"[{lo:.4g}, {hi:.4g}]; divide by the peak (e.g. 255) or rescale "
                         "to [0, 1] first")
    return arr


def unit_float(arr: np.ndarray, name: str) -> np.ndarray:
    """uint8 / uint16 / bool / float pixels -> float64 by :func:`skimage.util.img_as_float64`
    (``k / 255``, ``k / 65535``, {0, 1}; floats unchanged)."""
    from skimage.util import img_as_float64

    if arr.dtype not in (np.uint8, np.uint16, np.bool_) and arr.dtype.kind != "f":
        raise InputError(f"{name}: unsupported pixel type {arr.dtype}; expected uint8, uint16, "
                         "bool or float in [0, 1] (convert, e.g. x.astype(np.uint8))")
    return img_as_float64(arr)


def resize_short_side(arr: np.ndarray, size: int) -> np.ndarray:
    """An ``(H, W)`` or ``(H, W, c)`` float image in ``[0, 1]`` resized (bilinear, antialiased when
    shrinking) so its short side has ``size`` pixels, clipped to ``[0, 1]``; the same array when
    it has that size already."""
    from skimage.transform import resize

    h, w = arr.shape[:2]
    scale = size / min(h, w)
    new = (max(1, round(h * scale)), max(1, round(w * scale)))
    if new == (h, w):
        return arr
    out = resize(arr, new + arr.shape[2:], anti_aliasing=scale < 1, order=1, mode="reflect")
    return np.clip(out, 0.0, 1.0)
