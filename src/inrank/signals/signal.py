"""Signals as coordinate -> value samples, and loaders for images.

Layout: ``coords`` is ``(N, d)`` float32 in ``[-1, 1]^d`` at pixel (sample) centres, ``values`` is
``(N, c)`` float32 (images in ``[0, 1]``), ``shape`` is the grid shape (``(H, W)`` for images,
``(T, H, W)`` for videos), with points in C (row-major) order so ``values.reshape(*shape, c)``
is the image (the clip).
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .. import memory as _memory
from .. import validation as _checks
from ..errors import InputError, InputTypeError
from ._pixels import array_pixels, check_float_pixels, read_file, resize_short_side, unit_float

__all__ = ["Signal", "grid_coords", "load_image", "center_crop", "SKIMAGE_SAMPLES"]

#: scikit-image sample names accepted by :func:`load_image` (built in, no download).
SKIMAGE_SAMPLES = ("astronaut", "camera", "coffee", "chelsea", "cat", "rocket", "coins", "moon",
                   "page", "text", "horse", "immunohistochemistry", "shepp_logan_phantom")


def grid_coords(shape: tuple[int, ...]) -> torch.Tensor:
    """Return pixel-centre coordinates of a grid, in ``[-1, 1]`` per axis.

    Args:
        shape: grid shape ``(n_1, ..., n_d)``.

    Returns:
        coords: ``(N, d)`` float32, ``N = prod(shape)``, row-major; axis ``k`` of point ``i`` is
        ``(2 j_k + 1) / n_k - 1``.

    Examples:
        >>> grid_coords((2, 2)).tolist()
        [[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]]
    """
    shape = tuple(_checks.positive_int("grid size", n) for n in shape)
    axes = [(2 * torch.arange(n, dtype=torch.float64) + 1) / n - 1 for n in shape]
    mesh = torch.meshgrid(*axes, indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], dim=-1).float()


@dataclass
class Signal:
    """A sampled signal: coordinates and values on a grid.

    Attributes:
        coords: ``(N, d)`` float32 in ``[-1, 1]``.
        values: ``(N, c)`` float32.
        shape: grid shape, ``prod(shape) == N``.
        name: a label for tables and files.
        kind: ``"image"``, ``"video"`` (``shape (T, H, W)``, coordinates ``(t, y, x)``),
            ``"audio"``, ``"occupancy"`` or ``"1d"``.
    """

    coords: torch.Tensor
    values: torch.Tensor
    shape: tuple[int, ...]
    name: str = "signal"
    kind: str = "image"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        _checks.tensor_2d("coords", self.coords)
        _checks.tensor_2d("values", self.values, what="(N, c)")
        n = int(np.prod(self.shape))
        if self.coords.shape[0] != self.values.shape[0] or self.coords.shape[0] != n:
            raise InputError(
                f"coords {tuple(self.coords.shape)}, values {tuple(self.values.shape)} and grid "
                f"shape {self.shape} disagree: expected N = prod(shape) = {n} rows in both"
            )

    @property
    def in_dim(self) -> int:
        """Input dimension d."""
        return self.coords.shape[1]

    @property
    def out_dim(self) -> int:
        """c, the number of value channels (a model fitting it has ``out_dim = c``)."""
        return self.values.shape[1]

    def __len__(self) -> int:
        return self.coords.shape[0]

    @classmethod
    def from_image(cls, image: np.ndarray, name: str = "image") -> "Signal":
        """Build a signal from an ``(H, W)`` or ``(H, W, c)`` float array in ``[0, 1]``."""
        arr = np.asarray(image, dtype=np.float32)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 1:
            raise InputError(f"image must have shape (H, W) or (H, W, c), got {arr.shape}")
        if not np.isfinite(arr).all():
            raise InputError(f"image {name!r} contains NaN or inf values")
        h, w, c = arr.shape
        coords = grid_coords((h, w))
        values = torch.from_numpy(np.ascontiguousarray(arr.reshape(h * w, c)))
        return cls(coords=coords, values=values, shape=(h, w), name=name, kind="image")

    def to_image(self, pred: torch.Tensor | np.ndarray) -> np.ndarray:
        """Reshape predictions ``(N, c)`` back to the grid: ``(*shape, c)`` float32 numpy.

        Images and videos are clipped to ``[0, 1]`` (a video's frames: ``(T, H, W, c)``); other
        kinds are returned as they are.
        """
        arr = pred.detach().cpu().numpy() if isinstance(pred, torch.Tensor) else np.asarray(pred)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.shape[0] != len(self):
            raise InputError(f"pred has {arr.shape[0]} rows, the signal has N = {len(self)}")
        out = arr.reshape(*self.shape, arr.shape[-1]).astype(np.float32)
        return np.clip(out, 0.0, 1.0) if self.kind in ("image", "video") else out


def load_image(source: str | Path | np.ndarray | torch.Tensor, *,
               size: int | None = None) -> Signal:
    """Load an image as a :class:`Signal` with values in ``[0, 1]``.

    Args:
        source: a file path (PNG, JPEG, TIFF, ...: what imageio's Pillow plugin reads; gray,
            RGB, RGBA, palette, CMYK; 8 or 16 bits, colour included), a scikit-image sample
            name from :data:`SKIMAGE_SAMPLES`, or an image in memory: a numpy array or torch
            tensor ``(H, W)`` or ``(H, W, c)`` (channels last; any device) of uint8, uint16,
            bool or float in ``[0, 1]``. Integers become unit floats as
            :func:`skimage.util.img_as_float` maps them (``k / 255``, ``k / 65535``); an alpha
            channel is dropped (with a warning).
        size: if given, resize so the short side has ``size`` pixels (antialiased).

    Returns:
        A signal with ``coords (H*W, 2)``, ``values (H*W, c)``, ``c`` in {1, 3}, ``shape (H, W)``.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError (InputError): the file is not a readable image, its pixel type is not
            supported, an array is channel-first or has floats outside ``[0, 1]``, or
            ``size`` is not positive.

    Examples:
        >>> sig = load_image("camera", size=32)
        >>> sig.shape, sig.values.shape
        ((32, 32), torch.Size([1024, 1]))
        >>> load_image(torch.full((4, 6, 3), 0.5)).values.shape
        torch.Size([24, 3])
    """
    if size is not None:
        size = _checks.positive_int("size", size)
    if isinstance(source, (np.ndarray, torch.Tensor)):
        name = "tensor" if isinstance(source, torch.Tensor) else "array"
        arr = unit_float(array_pixels(source, name), name)
    elif isinstance(source, (str, os.PathLike)):
        arr, name = _read(source)
    else:
        raise InputTypeError(f"source must be a path, a scikit-image sample name or an image "
                             f"array / tensor (H, W[, c]), got {type(source).__name__}")
    if arr.ndim == 3 and arr.shape[2] == 4:
        warnings.warn(f"{name}: alpha channel dropped (RGBA -> RGB)", stacklevel=2)
        arr = arr[:, :, :3]
    elif arr.ndim == 3 and arr.shape[2] == 2:
        warnings.warn(f"{name}: alpha channel dropped (gray+alpha -> gray)", stacklevel=2)
        arr = arr[:, :, :1]
    _memory.check_image(arr.shape[:2], arr.shape[2] if arr.ndim == 3 else 1, size)
    if size is not None:
        arr = resize_short_side(arr, size)
    return Signal.from_image(arr, name=name)


def center_crop(image: Signal, size: int) -> Signal:
    """The ``size x size`` centre crop of an image signal (its name kept).

    Raises:
        InputError: not an image, or smaller than ``size`` on a side.

    Examples:
        >>> center_crop(load_image("camera", size=16), 8).shape
        (8, 8)
    """
    size = _checks.positive_int("size", size)
    if not isinstance(image, Signal) or image.kind != "image":
        raise InputError(f"a centre crop needs an image signal, got "
                         f"{getattr(image, 'kind', type(image).__name__)!r}")
    arr = image.to_image(image.values)                                    # (H, W, c)
    if min(arr.shape[:2]) < size:
        raise InputError(f"cannot crop {size} x {size} from a {arr.shape[0]} x {arr.shape[1]} "
                         "image; give a smaller crop or a larger size")
    top, left = (arr.shape[0] - size) // 2, (arr.shape[1] - size) // 2
    crop = Signal.from_image(arr[top:top + size, left:left + size], name=image.name)
    crop.meta = dict(image.meta)
    return crop


def _read(source: str | Path) -> tuple[np.ndarray, str]:
    """A file path or scikit-image sample name -> ``(H, W)`` or ``(H, W, c)`` float64 in
    ``[0, 1]`` and a name."""
    text = str(source)
    path = Path(text)
    if not path.exists() and text in SKIMAGE_SAMPLES:
        import skimage.data

        return unit_float(getattr(skimage.data, text)(), text), text
    if not path.exists():
        raise FileNotFoundError(
            f"image not found: {text!r} (give a file path or a scikit-image sample: "
            f"{', '.join(SKIMAGE_SAMPLES[:4])}, ...)"
        )
    if path.is_dir():
        raise IsADirectoryError(f"expected an image file, got a directory: {text!r}")
    return unit_float(check_float_pixels(read_file(path), text), text), path.stem
