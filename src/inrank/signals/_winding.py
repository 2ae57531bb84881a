"""Inside/outside of a triangle mesh by the generalized winding number (Jacobson et al. 2013).

``w(q) = sum_t Omega_t(q) / (4 pi)``, the signed solid angles of the triangles seen from ``q``
(Van Oosterom and Strackee 1983). For a closed, consistently oriented mesh ``w`` is 1 inside and
0 outside; at a hole it varies smoothly between, so thresholding ``|w| > 1/2`` still gives a
sensible inside for meshes with small holes or flipped orientation. Speed-up (after Barill et al.
2018): triangles are grouped into the leaves of a kd-tree (``leaf_size`` each); a cluster
farther than ``beta`` times its radius from ``q`` contributes its dipole
``n . (p - q) / |p - q|^3`` (``n``: summed area vectors, ``p``: area-weighted centroid);
nearer ones are summed exactly. ``exact=True`` sums every triangle exactly (the reference).
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .. import validation as _checks
from ..errors import InputError

__all__ = ["winding_number", "is_watertight"]


def _leaves(cen: np.ndarray, leaf_size: int) -> list[np.ndarray]:
    """Split triangle centroids ``(F, 3)`` at the median of the longest box side, recursively,
    into leaves of at most ``leaf_size`` indices (a kd-tree's leaves, compact in space)."""
    out, stack = [], [np.arange(cen.shape[0])]
    while stack:
        idx = stack.pop()
        if idx.size <= leaf_size:
            out.append(idx)
            continue
        pts = cen[idx]
        axis = int(np.argmax(pts.max(0) - pts.min(0)))
        half = idx.size // 2
        part = np.argpartition(pts[:, axis], half)
        stack += [idx[part[:half]], idx[part[half:]]]
    return out


def _clusters(tri: torch.Tensor, leaf_size: int):
    """Group triangles ``(F, 3, 3)`` into ``(K, S, 3, 3)`` (zero-padded, S = ``leaf_size``) with
    area-weighted centres ``(K, 3)``, radii ``(K,)`` and summed area vectors ``(K, 3)``."""
    leaves = _leaves(tri.mean(1).numpy(), leaf_size)
    k = len(leaves)
    padded = torch.zeros(k, leaf_size, 3, 3, dtype=tri.dtype)
    valid = torch.zeros(k, leaf_size, dtype=torch.bool)
    for i, idx in enumerate(leaves):
        padded[i, :idx.size] = tri[torch.from_numpy(idx)]
        valid[i, :idx.size] = True
    area_vec = 0.5 * torch.linalg.cross(padded[:, :, 1] - padded[:, :, 0],
                                        padded[:, :, 2] - padded[:, :, 0])  # (K, S, 3)
    area = area_vec.norm(dim=-1)                                    # (K, S)
    weight = torch.where(valid, area, 0.0)
    weight = torch.where(weight.sum(1, keepdim=True) > 0, weight, valid.double())
    weight = weight / weight.sum(1, keepdim=True)
    centre = (weight[..., None] * padded.mean(2)).sum(1)            # (K, 3)
    radius = ((padded - centre[:, None, None]).norm(dim=-1).amax(-1) * valid).amax(1)  # (K,)
    return padded, centre, radius, area_vec.sum(1)


def _solid_angles(t: torch.Tensor) -> torch.Tensor:
    """Signed solid angles of triangles ``(..., 3, 3)`` given relative to the query: ``(...)``."""
    a, b, c = t[..., 0, :], t[..., 1, :], t[..., 2, :]
    la, lb, lc = a.norm(dim=-1), b.norm(dim=-1), c.norm(dim=-1)
    det = (a * torch.linalg.cross(b, c)).sum(-1)
    den = la * lb * lc + (a * b).sum(-1) * lc + (b * c).sum(-1) * la + (c * a).sum(-1) * lb
    return 2.0 * torch.atan2(det, den)


def _group(centre, radius, dipole, tri, group: int):
    """Pad the leaves to ``K1 * group`` and summarise each run of ``group`` consecutive leaves
    (spatially coherent: DFS order of the kd-tree) by a centre, radius and dipole."""
    k = centre.shape[0]
    k1 = math.ceil(k / group)
    pad = k1 * group - k
    if pad:
        centre = torch.cat([centre, centre[-1:].expand(pad, 3)])
        radius = torch.cat([radius, radius.new_zeros(pad)])
        dipole = torch.cat([dipole, dipole.new_zeros(pad, 3)])
        tri = torch.cat([tri, tri.new_zeros(pad, *tri.shape[1:])])
    area = dipole.norm(dim=-1).reshape(k1, group) + 1e-30          # weights (K1, G)
    top_c = (area[..., None] * centre.reshape(k1, group, 3)).sum(1) / area.sum(1, keepdim=True)
    top_r = ((centre.reshape(k1, group, 3) - top_c[:, None]).norm(dim=-1)
             + radius.reshape(k1, group)).amax(1)                  # encloses every leaf
    top_d = dipole.reshape(k1, group, 3).sum(1)
    return (centre, radius, dipole, tri), (top_c, top_r, top_d)


def _dipole_term(d: torch.Tensor, dist: torch.Tensor, dip: torch.Tensor) -> torch.Tensor:
    """Solid angle of a far cluster: ``n . (p - q) / |p - q|^3`` with ``d = q - p``."""
    return -(d * dip).sum(-1) / dist.clamp_min(1e-12) ** 3


def winding_number(points: torch.Tensor | np.ndarray, vertices: torch.Tensor | np.ndarray,
                   faces: torch.Tensor | np.ndarray, *, exact: bool = False, leaf_size: int = 32,
                   beta: float = 2.0, chunk: int = 4096) -> torch.Tensor:
    """Generalized winding number of a triangle mesh at query points.

    Args:
        points: ``(Q, 3)`` query points.
        vertices: ``(V, 3)`` mesh vertices.
        faces: ``(F, 3)`` vertex indices, counter-clockwise seen from outside.
        exact: sum every triangle exactly (slow reference) instead of the clustered
            approximation.
        leaf_size: at most this many triangles per cluster.
        beta: a cluster is "far" beyond ``beta`` times its radius (larger = more exact).
        chunk: query points per batch.

    Returns:
        ``(Q,)`` float64: ~1 inside, ~0 outside (negative for inward-facing orientation).

    Examples:
        >>> v = torch.tensor([[1., 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]])
        >>> f = torch.tensor([[0, 1, 2], [0, 3, 1], [1, 3, 2], [2, 3, 0]])  # a tetrahedron
        >>> winding_number(torch.tensor([[.1, .1, .1], [2., 2, 2]]), v, f, exact=True).round().tolist()
        [1.0, 0.0]
    """
    q = _checks.tensor_2d("points", torch.as_tensor(points, dtype=torch.float64), cols=3,
                          what="(Q, 3)")
    v = torch.as_tensor(np.asarray(vertices), dtype=torch.float64)
    fc = torch.as_tensor(np.asarray(faces), dtype=torch.long)
    if v.ndim != 2 or v.shape[1] != 3 or fc.ndim != 2 or fc.shape[1] != 3 or fc.shape[0] == 0:
        raise InputError(f"need vertices (V, 3) and faces (F >= 1, 3), got {tuple(v.shape)} and "
                         f"{tuple(fc.shape)}")
    if int(fc.min()) < 0 or int(fc.max()) >= v.shape[0]:
        raise InputError(f"faces index vertices 0..{v.shape[0] - 1}, got {int(fc.min())}..{int(fc.max())}")
    leaf = fc.shape[0] if exact else _checks.positive_int("leaf_size", leaf_size)
    far_beta = math.inf if exact else _checks.positive_float("beta", beta)
    tri, centre, radius, dipole = _clusters(v[fc], leaf)
    group = max(1, int(math.sqrt(centre.shape[0])))
    (centre, radius, dipole, tri), (top_c, top_r, top_d) = _group(centre, radius, dipole, tri, group)
    # float32 throughout: the sign of w - 1/2 needs far less precision
    tri, centre, radius, dipole = tri.float(), centre.float(), radius.float(), dipole.float()
    top_c, top_r, top_d = top_c.float(), top_r.float(), top_d.float()
    qf = q.float()
    out = torch.empty(q.shape[0], dtype=torch.float64)
    step = _checks.positive_int("chunk", chunk)
    for i in range(0, q.shape[0], step):
        qc = qf[i:i + step]                                         # (Qc, 3)
        d = qc[:, None, :] - top_c[None]                            # (Qc, K1, 3)
        dist = d.norm(dim=-1)
        far = dist > far_beta * top_r
        w = torch.where(far, _dipole_term(d, dist, top_d), 0.0).sum(1).double()
        qi, gi = (~far).nonzero(as_tuple=True)                      # near groups -> their leaves
        li = (gi[:, None] * group + torch.arange(group)).reshape(-1)
        qi = qi.repeat_interleave(group)
        d = qc[qi] - centre[li]                                     # (P, 3)
        dist = d.norm(dim=-1)
        far = dist > far_beta * radius[li]
        w.index_add_(0, qi, torch.where(far, _dipole_term(d, dist, dipole[li]), 0.0).double())
        qi, li = qi[~far], li[~far]
        for j in range(0, qi.numel(), 4096):
            sq, sl = qi[j:j + 4096], li[j:j + 4096]
            rel = tri[sl] - qc[sq][:, None, None, :]                # (B, S, 3, 3)
            w.index_add_(0, sq, _solid_angles(rel).sum(1).double())
        out[i:i + step] = w / (4 * math.pi)
    return out


def is_watertight(faces: torch.Tensor | np.ndarray) -> bool:
    """True if every undirected edge is shared by exactly two faces (closed 2-manifold edges)."""
    f = np.asarray(faces, dtype=np.int64)
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return bool((counts == 2).all())
