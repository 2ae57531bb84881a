"""Feature grids: learned tables read at the coordinate by interpolation, the other family of
neural fields beside the coordinate MLP.

:class:`DenseGrid` is a dense d-D grid of feature vectors (linear or cubic interpolation,
``torch.nn.functional.grid_sample``); :class:`HashGrid` is the multiresolution hash encoding of
Instant-NGP (Mueller, Evans, Schied and Keller, SIGGRAPH 2022). Both follow the encodings'
interface: ``out_dim`` and ``forward((N, d)) -> (N, out_dim)``, so a model is a grid plus a head
(:class:`~inrank.nn.mlp.CoordinateMLP` with ``encoding="grid"`` or ``"hashgrid"``).

Neither has an inlet collapse: the "first layer" is a table lookup whose Jacobian is the
interpolation weights, so its features have the rank of the cells the data touches. Both expose
those weights (:meth:`DenseGrid.corner_weights`, :meth:`HashGrid.corner_weights`) for the
diagnosis: a table's NTK block is the Gram of the weights times the head's backpropagated factor
(:func:`inrank.diagnosis.tables.table_ntk_block`).

Pure PyTorch on every device; a fused CUDA backend (tiny-cuda-nn) is not provided.
"""
from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from .. import memory as _memory
from .. import validation as _checks
from ..errors import InputError

__all__ = ["DenseGrid", "HashGrid", "INTERPOLATIONS", "HASH_PRIMES", "TABLE_INIT", "fill_table_"]

#: ``DenseGrid`` interpolation: ``"linear"`` (bi-/trilinear) or ``"cubic"`` (bicubic, d <= 2).
INTERPOLATIONS = ("linear", "cubic")
#: Instant-NGP's per-axis hash primes ``pi_1, pi_2, pi_3`` (``pi_1 = 1`` for cache coherence).
HASH_PRIMES = (1, 2654435761, 805459861)
#: Half-width of the tables' uniform init ``U(-1e-4, 1e-4)`` (Instant-NGP, Sec. 4).
TABLE_INIT = 1e-4
#: The cubic convolution constant of ``grid_sample``'s bicubic mode (Keys' ``a``).
_CUBIC_A = -0.75
#: Bytes per table entry in a fit: weights, gradients, Adam's state, the best state.
_FIT_BYTES = 28


def _check_table(entries: int, request: str) -> None:
    """Refuse a table whose training state cannot fit in memory (before allocating it)."""
    if entries * _FIT_BYTES > _memory.available_bytes():
        _memory.ensure_fits(entries * _FIT_BYTES, request=request,
                            what=f"{entries:,} table values x {_FIT_BYTES} bytes (weights, "
                                 "gradients, Adam's state, the best state)",
                            fix="use a smaller table")


def _cubic_weights(t: torch.Tensor) -> list[torch.Tensor]:
    """The four cubic-convolution weights of taps ``-1, 0, 1, 2`` at offset ``t`` in [0, 1]
    (Keys 1981, ``a = -0.75``: ``grid_sample``'s bicubic kernel)."""
    a = _CUBIC_A

    def near(s):  # |s| <= 1
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def far(s):  # 1 < |s| < 2
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a

    return [far(t + 1), near(t), near(1 - t), far(2 - t)]



@torch.no_grad()
def fill_table_(table: torch.Tensor, *, generator: torch.Generator | None = None) -> torch.Tensor:
    """Fill a feature table from ``U(-1e-4, 1e-4)`` in place (Instant-NGP's init), drawing from
    ``generator`` (seed 0 when None); returns ``table``."""
    if generator is None:
        generator = torch.Generator().manual_seed(0)
    init = torch.empty(table.shape).uniform_(-TABLE_INIT, TABLE_INIT, generator=generator)
    return table.copy_(init)

class DenseGrid(nn.Module):
    """A dense grid of learned feature vectors, interpolated at the coordinate.

    The table holds ``R`` nodes per axis; its corner nodes sit at ``-1`` and ``+1``
    (``grid_sample(..., align_corners=True)``), so node ``j`` of axis ``k`` is at
    ``-1 + 2 j / (R - 1)``. ``"linear"`` is bi-/trilinear; ``"cubic"`` is ``grid_sample``'s
    bicubic (cubic convolution, Keys' ``a = -0.75``, taps past the edge clamped to it: border
    padding), for d <= 2. Axis ``k`` of the coordinates indexes table dimension ``k + 1``.

    Args:
        in_dim: d, 1, 2 or 3.
        resolution: R, nodes per axis (at least 2; 4 for cubic).
        features: F, values per node (the output width).
        interpolation: ``"linear"`` or ``"cubic"`` (:data:`INTERPOLATIONS`).
        generator: draws the init ``U(-1e-4, 1e-4)`` (:data:`TABLE_INIT`).

    Shapes: ``table (F, R, ..., R)`` (d node axes); ``forward((N, d)) -> (N, F)``.

    Examples:
        >>> grid = DenseGrid(2, resolution=8, features=3)
        >>> grid(torch.zeros(5, 2)).shape, grid.out_dim, tuple(grid.table.shape)
        (torch.Size([5, 3]), 3, (3, 8, 8))
    """

    def __init__(self, in_dim: int, *, resolution: int = 64, features: int = 4,
                 interpolation: str = "linear", generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.in_dim = _checks.positive_int("in_dim", in_dim)
        self.resolution = _checks.positive_int("resolution", resolution)
        self.features = _checks.positive_int("features", features)
        self.interpolation = _checks.one_of("interpolation", interpolation, INTERPOLATIONS)
        if self.in_dim > 3:
            raise InputError(f"DenseGrid takes 1-, 2- or 3-D coordinates, got in_dim={in_dim}; "
                             "use the hash grid for higher dimensions")
        if self.interpolation == "cubic" and self.in_dim > 2:
            raise InputError(f"cubic interpolation is 1-D or 2-D only (grid_sample's bicubic), "
                             f"got in_dim={in_dim}; use interpolation='linear'")
        least = 4 if self.interpolation == "cubic" else 2
        if self.resolution < least:
            raise InputError(f"a {self.interpolation} grid needs resolution >= {least} nodes per "
                             f"axis, got {resolution}")
        _check_table(self.features * self.resolution ** self.in_dim,
                     f"grid_resolution={resolution}")
        self.table = nn.Parameter(torch.empty(self.features, *[self.resolution] * self.in_dim))
        self.out_dim = self.features
        self.reset_parameters(generator=generator)

    def reset_parameters(self, *, generator: torch.Generator | None = None) -> None:
        """Fill the table from ``U(-1e-4, 1e-4)`` in place, drawing from ``generator``."""
        fill_table_(self.table, generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, d = x.shape[0], self.in_dim
        table = self.table
        if d == 1:  # a 1 x R image sampled along its one row
            table = table[:, None, :]                                   # (F, 1, R)
            xy = torch.cat([x, torch.zeros_like(x)], dim=-1)            # (N, 2): (x, y = 0)
        else:  # grid_sample reads (x, y[, z]) = (last axis, ..., axis 0)
            xy = x.flip(-1)
        grid = xy.reshape(1, *[1] * (xy.shape[1] - 1), n, xy.shape[1])
        mode = "bicubic" if self.interpolation == "cubic" else "bilinear"
        out = F.grid_sample(table[None].to(x.dtype), grid, mode=mode, padding_mode="border",
                            align_corners=True)                          # (1, F, 1.., N)
        return out.reshape(self.features, n).T                           # (N, F)

    @property
    def point_bytes(self) -> int:
        """Rough training memory per point of the lookup (coordinates, output, gradient; x4
        slack), for the batch-size rule (:func:`inrank.train.device.bytes_per_point`)."""
        return 4 * 4 * (self.features + 2 * self.in_dim)

    def table_rows(self) -> torch.Tensor:
        """The table as rows, one per node in row-major order: ``(R^d, F)``, a view."""
        return self.table.reshape(self.features, -1).T

    def corner_weights(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The interpolation as explicit weights: ``forward(x)[i] = sum_k w[i, 0, k] *
        table_rows()[idx[i, 0, k]]``, the same numbers ``grid_sample`` computes.

        Args:
            x: ``(N, d)`` coordinates.

        Returns:
            ``idx (N, 1, K)`` int64 rows of :meth:`table_rows` and ``w (N, 1, K)`` in ``x``'s
            dtype, ``K = 2^d`` (linear) or ``4^d`` (cubic); a node may repeat at the border.
        """
        R, d = self.resolution, self.in_dim
        pos = (x + 1) / 2 * (R - 1)                                       # (N, d) node units
        if self.interpolation == "linear":
            lo = pos.floor().clamp(0, R - 2)
            t = pos - lo
            taps = [(0, 1 - t), (1, t)]
        else:
            lo = pos.floor().clamp(0, R - 1)
            t = pos - lo
            taps = list(zip((-1, 0, 1, 2), _cubic_weights(t)))
        lo = lo.long()
        idx = torch.zeros(x.shape[0], 1, dtype=torch.long, device=x.device)
        w = torch.ones(x.shape[0], 1, dtype=x.dtype, device=x.device)
        for k in range(d):  # row-major: axis 0 slowest
            node = torch.stack([(lo[:, k] + o).clamp(0, R - 1) for o, _ in taps], 1)  # (N, T)
            wk = torch.stack([wt[:, k] for _, wt in taps], 1)
            idx = (idx[:, :, None] * R + node[:, None, :]).flatten(1)
            w = (w[:, :, None] * wk[:, None, :]).flatten(1)
        return idx[:, None, :], w[:, None, :]


class HashGrid(nn.Module):
    """The multiresolution hash encoding of Instant-NGP (Mueller et al., SIGGRAPH 2022).

    ``L`` levels of resolution ``N_l = floor(N_min b^l)``; at level ``l`` the coordinate,
    scaled to ``x' = (x + 1) / 2 * N_l`` in ``[0, N_l]``, lies in a cell with ``2^d`` integer
    corners ``c``. A level whose ``(N_l + 1)^d`` corners fit in ``T`` entries indexes them
    directly (row-major, axis 0 slowest, ``(N_l + 1)^d`` entries); a finer level hashes them,
    ``h(c) = (XOR_k c_k pi_k) mod T`` with :data:`HASH_PRIMES`, colliding corners sharing an
    entry. The corners' ``F`` features are d-linearly interpolated and the levels concatenated
    (level-major): ``out_dim = L F``.

    The hash is computed in int64: ``c_k pi_k < 2^52`` for ``N_l < 2^20``, exact, and since
    ``T`` is a power of two, ``mod T`` of the int64 value equals ``mod T`` of the paper's
    uint32 arithmetic (its overflow drops only bits above ``2^32``). Deviations: the paper's
    levels, ``N_l`` and hash, without tiny-cuda-nn's half-cell offset and entry rounding; a
    coordinate outside ``[-1, 1]`` extrapolates its edge cell linearly. No fused CUDA kernel
    is provided (pure PyTorch on every device).

    Args:
        in_dim: d, 1 to 3.
        levels: L.
        log2_table: ``log2 T``, the most entries per level.
        features: F, features per entry.
        base_resolution: N_min.
        growth: b, the per-level scale (``b = exp((ln N_max - ln N_min) / (L - 1))`` reaches
            the finest resolution ``N_max``).
        generator: draws the init ``U(-1e-4, 1e-4)`` (:data:`TABLE_INIT`).

    Shapes: ``table (E, F)`` with ``E = sum_l min(T, (N_l + 1)^d)`` rows (level ``l`` from
    ``offsets[l]``); ``forward((N, d)) -> (N, L F)``.

    Examples:
        >>> enc = HashGrid(2, levels=4, log2_table=8, features=2, base_resolution=4, growth=2.0)
        >>> enc(torch.zeros(5, 2)).shape, enc.resolutions, enc.hashed
        (torch.Size([5, 8]), [4, 8, 16, 32], [False, False, True, True])
    """

    def __init__(self, in_dim: int, *, levels: int = 16, log2_table: int = 12, features: int = 2,
                 base_resolution: int = 16, growth: float = 1.26,
                 generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.in_dim = _checks.positive_int("in_dim", in_dim)
        if self.in_dim > len(HASH_PRIMES):
            raise InputError(f"HashGrid takes 1- to 3-D coordinates (three hash primes), got "
                             f"in_dim={in_dim}")
        self.levels = _checks.positive_int("levels", levels)
        self.log2_table = _checks.positive_int("log2_table", log2_table)
        if self.log2_table > 30:
            raise InputError(f"log2_table must be at most 30 (2^30 entries per level), got "
                             f"{log2_table}; Instant-NGP uses 14 to 24")
        self.features = _checks.positive_int("features", features)
        self.base_resolution = _checks.positive_int("base_resolution", base_resolution)
        self.growth = _checks.positive_float("growth", growth)
        if self.growth < 1:
            raise InputError(f"growth must be >= 1 (each level at least as fine as the last), "
                             f"got {growth}")
        T, d = 2 ** self.log2_table, self.in_dim
        self.resolutions = [int(math.floor(self.base_resolution * self.growth ** level))
                            for level in range(self.levels)]
        if self.resolutions[-1] >= 2 ** 20:
            raise InputError(f"the finest level's resolution {self.resolutions[-1]} reaches "
                             "2^20 (the int64 hash's range); use fewer levels or a smaller growth")
        self.hashed = [(n + 1) ** d > T for n in self.resolutions]
        sizes = [T if h else (n + 1) ** d for n, h in zip(self.resolutions, self.hashed)]
        _check_table(sum(sizes) * self.features, f"hash_log2_table={log2_table}")
        offsets = [0] + list(itertools.accumulate(sizes))[:-1]
        self.table_size = T
        self.out_dim = self.levels * self.features
        self.table = nn.Parameter(torch.empty(sum(sizes), self.features))
        bits = torch.tensor(list(itertools.product((0, 1), repeat=d)), dtype=torch.long)
        strides = torch.tensor([[(n + 1) ** (d - 1 - k) for k in range(d)]
                                for n in self.resolutions], dtype=torch.long)
        # constants as buffers (they follow .to(device)); not saved: the config rebuilds them
        for name, value in (("_scales", torch.tensor(self.resolutions, dtype=torch.float32)),
                            ("_offsets", torch.tensor(offsets, dtype=torch.long)),
                            ("_hashed", torch.tensor(self.hashed)),
                            ("_strides", strides), ("_bits", bits),
                            ("_primes", torch.tensor(HASH_PRIMES[:d], dtype=torch.long))):
            self.register_buffer(name, value, persistent=False)
        self.reset_parameters(generator=generator)

    def reset_parameters(self, *, generator: torch.Generator | None = None) -> None:
        """Fill the table from ``U(-1e-4, 1e-4)`` in place, drawing from ``generator``."""
        fill_table_(self.table, generator=generator)

    @property
    def point_bytes(self) -> int:
        """Rough training memory per point of the lookup: per level and corner the int64
        corner, hash and index tensors, the weight and the gathered features, kept for the
        backward pass (x2 slack), for :func:`inrank.train.device.bytes_per_point`."""
        corners = self.levels * 2 ** self.in_dim
        return 2 * corners * (8 * (self.in_dim + 4) + 4 * (2 + self.features))

    def table_rows(self) -> torch.Tensor:
        """The table, ``(E, F)`` (every level's entries, level ``l`` from ``offsets[l]``)."""
        return self.table

    def corner_weights(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Each level's corner entries and d-linear weights: ``forward(x)[i, l F:(l+1) F] =
        sum_k w[i, l, k] * table[idx[i, l, k]]``.

        Args:
            x: ``(N, d)`` coordinates in ``[-1, 1]``.

        Returns:
            ``idx (N, L, 2^d)`` int64 rows of the table (hashed corners may collide) and
            ``w (N, L, 2^d)`` in ``x``'s dtype.
        """
        scales = self._scales.to(x.dtype)
        pos = ((x + 1) / 2)[:, None, :] * scales[None, :, None]          # (N, L, d)
        lo = torch.minimum(pos.floor().clamp_min(0), (scales - 1)[None, :, None])
        t = pos - lo                                                     # (N, L, d)
        corner = lo.long()[:, :, None, :] + self._bits                   # (N, L, K, d)
        scaled = corner * self._primes                                   # int64, < 2^52
        hashed = scaled[..., 0]
        for k in range(1, self.in_dim):
            hashed = torch.bitwise_xor(hashed, scaled[..., k])
        hashed = hashed % self.table_size
        direct = (corner * self._strides[None, :, None, :]).sum(-1)      # (N, L, K)
        idx = torch.where(self._hashed[None, :, None], hashed, direct) + self._offsets[None, :, None]
        w = torch.where(self._bits.bool(), t[:, :, None, :], 1 - t[:, :, None, :]).prod(-1)
        return idx, w                                                    # (N, L, K) each

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idx, w = self.corner_weights(x)
        feats = self.table[idx]                                          # (N, L, K, F)
        out = (w[..., None].to(feats.dtype) * feats).sum(2)              # (N, L, F)
        return out.reshape(x.shape[0], self.out_dim)
