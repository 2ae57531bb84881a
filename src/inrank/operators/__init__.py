"""Measurement operators for inverse problems, called by the one training loop.

A fit with ``operator=A, measurements=y`` minimises ``mse(A(model(coords)), y)`` and scores
the prediction against the signal's values (the ground truth the loss never sees). Fitting is
``A = I`` (:class:`Identity`). The operators: :class:`ParallelBeamProjector` (CT, tested
against ``skimage.transform.radon``), :class:`AreaDownsample` (super-resolution),
:class:`PixelMask` (inpainting); :func:`make_task` builds a whole :class:`InverseTask`
(truth, operator, measurements, classical baseline).
"""
from __future__ import annotations

from .base import Identity, Operator, check_measurements
from .projector import ParallelBeamProjector, SparseMatrix, projection_angles, radon_matrix
from .sampling import AreaDownsample, PixelMask, random_pixel_mask
from .tasks import (TASKS, InverseTask, ct_task, denoise_task, inpaint_task, inscribed_disk,
                    make_task, superres_task)

__all__ = ["Operator", "Identity", "check_measurements", "ParallelBeamProjector", "SparseMatrix",
           "projection_angles", "radon_matrix", "AreaDownsample", "PixelMask",
           "random_pixel_mask", "InverseTask", "TASKS", "make_task", "ct_task", "superres_task",
           "denoise_task", "inpaint_task", "inscribed_disk"]
