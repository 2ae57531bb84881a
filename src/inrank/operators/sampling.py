"""Operators that sample the image itself: :class:`AreaDownsample` (super-resolution: the mean
of each ``f x f`` block) and :class:`PixelMask` (inpainting: the observed pixels only)."""
from __future__ import annotations

import torch

from .. import validation
from ..errors import InputError, InputTypeError
from .base import Operator

__all__ = ["AreaDownsample", "PixelMask", "random_pixel_mask"]


class AreaDownsample(Operator):
    """Area downsampling by ``factor``: each low-resolution pixel is the mean of an
    ``f x f`` block of the high-resolution grid.

    Maps predictions ``(..., H W, c)`` on the high-resolution grid to ``(..., (H/f)(W/f), c)``
    (row-major), what ``skimage.transform.downscale_local_mean`` gives.

    Args:
        shape: the high-resolution grid ``(H, W)``; both divisible by ``factor``.
        factor: the downsampling factor f.

    Raises:
        InputError: ``factor`` < 1 or a side not divisible by it.

    Examples:
        >>> AreaDownsample((4, 4), factor=2)(torch.arange(16.).reshape(16, 1)).flatten().tolist()
        [2.5, 4.5, 10.5, 12.5]
    """

    name = "superres"

    def __init__(self, shape: tuple[int, int], *, factor: int) -> None:
        f = validation.positive_int("factor", factor)
        if len(shape) != 2 or shape[0] % f or shape[1] % f:
            raise InputError(f"factor={f} must divide the image's sides, got grid "
                             f"{'x'.join(map(str, shape))}; crop or resize it to a multiple of {f}")
        super().__init__(shape)
        self.factor = f
        self.low_shape = (shape[0] // f, shape[1] // f)

    def n_measurements(self) -> int:
        return self.low_shape[0] * self.low_shape[1]

    def measure(self, pred: torch.Tensor) -> torch.Tensor:
        (h, w), f, c = self.low_shape, self.factor, pred.shape[-1]
        blocks = pred.reshape(*pred.shape[:-2], h, f, w, f, c)               # (..., h, f, w, f, c)
        return blocks.mean(dim=(-4, -2)).reshape(*pred.shape[:-2], h * w, c)  # (..., h w, c)

    def describe(self) -> dict:
        return {**super().describe(), "factor": self.factor}


class PixelMask(Operator):
    """Inpainting: the measurements are the values of the observed pixels.

    Maps predictions ``(..., N, c)`` to ``(..., K, c)``, the K True points of ``mask`` in
    order; the others are :meth:`unseen` (a fit's ``test_psnr``).

    Args:
        shape: the grid ``(H, W)``.
        mask: ``(N,)`` bool, True where a pixel is observed.

    Raises:
        InputTypeError: ``mask`` is not a bool tensor.
        InputError: its shape is not ``(N,)`` or it selects no pixel.

    Examples:
        >>> PixelMask((2, 2), torch.tensor([True, False, False, True]))(
        ...     torch.arange(4.).reshape(4, 1)).flatten().tolist()
        [0.0, 3.0]
    """

    name = "inpaint"

    def __init__(self, shape: tuple[int, ...], mask: torch.Tensor) -> None:
        super().__init__(shape)
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            raise InputTypeError(f"mask must be a bool tensor of shape ({self.n_points},), got "
                                 f"{getattr(mask, 'dtype', type(mask).__name__)}")
        if tuple(mask.shape) != (self.n_points,):
            raise InputError(f"mask must have shape ({self.n_points},) (one entry per pixel "
                             f"of the {'x'.join(map(str, shape))} grid), got {tuple(mask.shape)}")
        if not bool(mask.any()):
            raise InputError("the mask observes no pixels; set at least one entry to True")
        self.register_buffer("mask", mask.detach().cpu().clone(), persistent=False)
        self.register_buffer("index", mask.nonzero().squeeze(1), persistent=False)   # (K,)

    def n_measurements(self) -> int:
        return int(self.index.numel())

    def measure(self, pred: torch.Tensor) -> torch.Tensor:
        return pred.index_select(-2, self.index.to(pred.device))

    def unseen(self) -> torch.Tensor:
        return ~self.mask

    def describe(self) -> dict:
        return {**super().describe(), "observed": self.n_measurements()}


def random_pixel_mask(n: int, keep: float, *, seed: int = 0) -> torch.Tensor:
    """A ``(n,)`` bool mask observing ``round(keep * n)`` pixels drawn without replacement.

    Raises:
        InputError: ``keep`` outside ``(0, 1]`` or so small that no pixel is observed.

    Examples:
        >>> int(random_pixel_mask(100, 0.25, seed=0).sum())
        25
    """
    keep = validation.positive_float("keep", keep)
    if keep > 1:
        raise InputError(f"keep is the observed fraction of pixels, in (0, 1]; got {keep}")
    k = round(keep * n)
    if k == 0:
        raise InputError(f"keep={keep} observes no pixels of {n}; the mask needs at least one "
                         f"(keep >= {1 / n:.2g})")
    mask = torch.zeros(n, dtype=torch.bool)
    mask[torch.randperm(n, generator=torch.Generator().manual_seed(int(seed)))[:k]] = True
    return mask
