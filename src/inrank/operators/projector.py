"""A differentiable parallel-beam CT projector: the Radon transform of a square image as one
sparse matrix, with the geometry of :func:`skimage.transform.radon` (``circle=True``).

For each angle the image is rotated about the pixel ``(n // 2, n // 2)`` by bilinear
interpolation (zero outside) and summed along its rows; the sinogram is ``(n, A)``: detector
bins by angles. The whole map is linear, so it is stored once as a sparse ``(n A, n^2)`` matrix
and applied (and back-propagated: its transpose) by a sparse matrix product: scipy's on the
CPU (measured 0.7 ms for n = 64, 100 angles on 2 cores, against 16 ms for torch's CSR product
and 50 ms for ``grid_sample`` forward and backward), torch's sparse product on other devices.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse
import torch

from .. import validation
from ..errors import InputError
from .base import Operator

__all__ = ["ParallelBeamProjector", "projection_angles", "radon_matrix", "SparseMatrix"]


def projection_angles(angles: int) -> np.ndarray:
    """``angles`` equally spaced projection angles in degrees over ``[0, 180)``: ``(A,)``.

    Examples:
        >>> projection_angles(4).tolist()
        [0.0, 45.0, 90.0, 135.0]
    """
    a = validation.positive_int("angles", angles)
    return np.linspace(0.0, 180.0, a, endpoint=False)


def radon_matrix(size: int, theta: np.ndarray) -> torch.Tensor:
    """The Radon transform of an ``(n, n)`` image at angles ``theta (A,)`` (degrees) as a
    scipy sparse CSR matrix ``(n A, n^2)`` float64: row ``det * A + k`` is detector bin ``det`` at
    angle ``k``, column ``row * n + col`` the pixel; ``(M @ image.ravel()).reshape(n, A)``
    equals ``skimage.transform.radon(image, theta, circle=True)``.
    """
    n = validation.positive_int("size", size)
    theta = np.asarray(theta, dtype=np.float64).reshape(-1)
    centre = n // 2
    r, c = np.meshgrid(np.arange(n, dtype=np.float64), np.arange(n, dtype=np.float64),
                       indexing="ij")                                        # output (row, col)
    rad = np.deg2rad(theta)[:, None, None]                                   # (A, 1, 1)
    cos, sin = np.cos(rad), np.sin(rad)
    x = centre + cos * (c - centre) + sin * (r - centre)                     # (A, n, n) source col
    y = centre - sin * (c - centre) + cos * (r - centre)                     # (A, n, n) source row
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    k = np.broadcast_to(np.arange(len(theta))[:, None, None], x.shape)
    det = np.broadcast_to(c, x.shape)
    rows, cols, vals = [], [], []
    for dy, dx, w in ((0, 0, (1 - fy) * (1 - fx)), (0, 1, (1 - fy) * fx),
                      (1, 0, fy * (1 - fx)), (1, 1, fy * fx)):
        yy, xx = y0 + dy, x0 + dx
        ok = (yy >= 0) & (yy < n) & (xx >= 0) & (xx < n) & (w != 0)
        rows.append((det[ok] * len(theta) + k[ok]).astype(np.int64))
        cols.append((yy[ok] * n + xx[ok]).astype(np.int64))
        vals.append(w[ok])
    return scipy.sparse.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n * len(theta), n * n))


class SparseMatrix:
    """A fixed sparse matrix ``S (M, N)`` applied to ``x (N, k)`` with autograd: the backward
    pass is ``S^T grad``. On the CPU through scipy (float32 or float64 as ``x``), elsewhere
    through ``torch.sparse.mm`` (built once per device and dtype).

    Args:
        matrix: a scipy sparse matrix (float64).
    """

    def __init__(self, matrix: scipy.sparse.spmatrix) -> None:
        self.forward_ = matrix.tocsr()
        self.backward_ = matrix.T.tocsr()
        self._cast: dict = {}

    @property
    def shape(self) -> tuple[int, int]:
        return self.forward_.shape

    def _mat(self, transpose: bool, like: torch.Tensor):
        key = (transpose, like.dtype, like.device)
        if key not in self._cast:
            m = self.backward_ if transpose else self.forward_
            if like.device.type == "cpu":
                self._cast[key] = m.astype(np.float64 if like.dtype == torch.float64 else np.float32)
            else:
                coo = m.tocoo()
                index = torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64))
                self._cast[key] = torch.sparse_coo_tensor(
                    index, torch.from_numpy(coo.data), m.shape, check_invariants=False
                ).coalesce().to(device=like.device, dtype=like.dtype)
        return self._cast[key]

    def product(self, x: torch.Tensor, *, transpose: bool = False) -> torch.Tensor:
        """``S x`` (or ``S^T x``) of a 2-D ``x``, without autograd."""
        m = self._mat(transpose, x)
        if x.device.type == "cpu":
            return torch.from_numpy(np.ascontiguousarray(m @ x.detach().numpy()))
        return torch.sparse.mm(m, x)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``S x`` for ``x (N, k)``, differentiable in ``x``: ``(M, k)`` (float64 for a float64
        ``x``, else float32)."""
        return _Product.apply(x if x.dtype == torch.float64 else x.float(), self)


class _Product(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, matrix: SparseMatrix) -> torch.Tensor:
        ctx.matrix = matrix
        return matrix.product(x.contiguous())

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return ctx.matrix.product(grad.contiguous(), transpose=True), None


class ParallelBeamProjector(Operator):
    """Parallel-beam CT: an ``(n, n)`` image's sinogram at ``angles`` angles over ``[0, 180)``.

    Maps predictions ``(..., n^2, c)`` (the image in row-major order) to sinograms
    ``(..., n A, c)`` (:func:`radon_matrix`'s row order; ``.reshape(n, A)`` per channel is
    :func:`skimage.transform.radon`'s ``(n, A)``, ``circle=True``: the image is seen inside its
    inscribed circle only).

    Args:
        shape: the image grid ``(n, n)`` (square).
        angles: projection angles, equally spaced over ``[0, 180)`` degrees.

    Raises:
        InputError: a non-square grid or ``angles`` < 1.

    Examples:
        >>> A = ParallelBeamProjector((8, 8), angles=3)
        >>> A(torch.ones(64, 1)).shape
        torch.Size([24, 1])
    """

    name = "ct"

    def __init__(self, shape: tuple[int, int], *, angles: int) -> None:
        if len(shape) != 2 or shape[0] != shape[1]:
            raise InputError(f"the CT projector needs a square image, got grid "
                             f"{'x'.join(map(str, shape))}; crop or resize it to n x n")
        super().__init__(shape)
        self.theta = projection_angles(angles)
        self.angles = len(self.theta)
        self.matrix = SparseMatrix(radon_matrix(self.shape[0], self.theta))

    def n_measurements(self) -> int:
        return self.shape[0] * self.angles

    def measure(self, pred: torch.Tensor) -> torch.Tensor:
        lead, (n, c) = pred.shape[:-2], pred.shape[-2:]
        flat = pred.reshape(-1, n, c).permute(1, 0, 2).reshape(n, -1)      # (N, B c)
        out = self.matrix(flat)                                             # (M, B c)
        return out.reshape(-1, max(1, flat.shape[1] // c), c).permute(1, 0, 2).reshape(
            *lead, -1, c)                                                   # (..., M, c)

    def sinogram(self, measurements: torch.Tensor) -> np.ndarray:
        """Measurements ``(M, c)`` as sinograms ``(n, A, c)`` float64 numpy."""
        return measurements.detach().cpu().double().numpy().reshape(self.shape[0], self.angles, -1)

    def describe(self) -> dict:
        return {**super().describe(), "angles": self.angles}
