"""A real CT slice as an image signal: pydicom's ``CT_small.dcm`` test file (a 128 x 128 slice
that ships inside pydicom 3), for the inverse problems' CT task beside the Shepp-Logan phantom.

Needs the ``ct`` extra (``pip install 'inrank[ct]'``).
"""
from __future__ import annotations

import numpy as np
import torch

from .. import validation
from ..errors import MissingDependencyError
from .signal import Signal, load_image

__all__ = ["load_ct_slice"]


def load_ct_slice(*, size: int | None = None) -> Signal:
    """pydicom's ``CT_small.dcm`` as a gray image signal in ``[0, 1]``: Hounsfield units
    (``pixel * RescaleSlope + RescaleIntercept``) scaled linearly from the slice's minimum to
    its maximum.

    Args:
        size: if given, resize to ``size x size`` (antialiased; the slice is 128 x 128).

    Returns:
        A signal with ``coords (N, 2)``, ``values (N, 1)``, ``shape (n, n)``, named ``ct_small``.

    Raises:
        MissingDependencyError: pydicom is not installed.

    (Tested in ``tests/test_inverse.py``, not as a doctest: the installed-wheel doctests run
    without the ``ct`` extra.)
    """
    try:
        import pydicom
        from pydicom.data import get_testdata_file
    except ImportError:
        raise MissingDependencyError("load_ct_slice needs pydicom: pip install 'inrank[ct]'") from None
    ds = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    hu = ds.pixel_array.astype(np.float64) * float(ds.get("RescaleSlope", 1)) + float(
        ds.get("RescaleIntercept", 0))
    unit = (hu - hu.min()) / max(hu.max() - hu.min(), 1e-12)                  # (n, n) in [0, 1]
    sig = load_image(torch.from_numpy(unit.astype(np.float32)))
    if size is not None:
        from skimage.transform import resize

        n = validation.positive_int("size", size)
        sig = load_image(torch.from_numpy(np.clip(resize(unit, (n, n), anti_aliasing=True),
                                                  0, 1).astype(np.float32)))
    sig.name = "ct_small"
    return sig
