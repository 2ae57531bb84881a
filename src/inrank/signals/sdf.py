"""3-D shapes as signed distance fields (SIREN, Sitzmann et al. 2020): a network ``f: [-1, 1]^3
-> R`` trained from surface samples with normals so that its zero level set is the surface and
``|grad f| = 1`` (the eikonal equation), negative inside.

Layout of an SDF signal (``kind="sdf"``): ``coords (N, 3)`` float32, points on the normalised
surface; ``values (N, 1)`` zeros (the signed distance on the surface), ``shape (N,)``. ``meta``
holds ``normals (N, 3)`` float32 (unit, outward), ``offsurface (N, 3)`` float32 (points uniform in
the cube, the off-surface term's samples, paired with the surface points by index so a
mini-batch draws both), the normalised mesh (``vertices``, ``faces``) for the metrics, and
``data_range`` 2.0 (the cube's side: the loop's PSNR of ``f`` on the surface against 0).

Train with ``fit(..., loss="sdf")`` (:mod:`inrank.train.sdf`); score the shape with
:func:`sdf_metrics` (Chamfer distance and IoU of the zero level set against the mesh); export
with :func:`inrank.signals.mesh.extract_mesh` on ``-sdf_grid(model, R)``.

Needs the ``mesh`` extra (``pip install 'inrank[mesh]'``): trimesh samples the surface, libigl's
winding number labels the inside for the IoU.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from .. import memory as _memory
from .. import validation as _checks
from ..errors import InputError
from ..nn.forward import predict
from .mesh import (as_trimesh, extract_mesh, grid_occupancy, load_mesh, mesh_arrays,
                   normalize_mesh, require_mesh_extra, sample_surface)
from .signal import Signal, grid_coords

__all__ = ["mesh_sdf", "load_mesh_sdf", "surface_normals", "sdf_grid", "sdf_metrics",
           "chamfer_distance"]


def surface_normals(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit outward normals of a mesh's faces, and which faces have one.

    Returns:
        ``normals (F, 3)`` float64 (zero rows for degenerate faces) and ``ok (F,)`` bool: the
        faces of positive area, the only ones a surface sample may come from.

    Raises:
        InputError: no face has positive area (the mesh has no normals).
    """
    v, f = mesh_arrays(vertices, faces)
    tri = v[f]                                                        # (F, 3, 3)
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])    # (F, 3), |.| = 2 area
    norm = np.linalg.norm(cross, axis=1)
    ok = norm > 1e-12 * max(1.0, float(np.abs(v).max()) ** 2)
    if not ok.any():
        raise InputError(f"every one of the mesh's {f.shape[0]} faces has zero area: it has no "
                         "surface normals, which the SDF loss needs")
    normals = np.zeros_like(cross)
    normals[ok] = cross[ok] / norm[ok, None]
    return normals, ok


def mesh_sdf(vertices: np.ndarray, faces: np.ndarray, *, n_points: int = 50_000,
             padding: float = 0.1, seed: int = 0, name: str = "mesh") -> Signal:
    """An SDF signal of a mesh given as arrays (needs ``inrank[mesh]``).

    The mesh is normalised into ``[-1, 1]^3`` (:func:`inrank.signals.mesh.normalize_mesh`);
    ``n_points`` surface points are drawn uniformly by area (trimesh) from the faces of
    positive area, each with its face's outward normal (flip an inward-facing mesh: the
    sign convention is negative inside), and as many off-surface points uniformly in the cube.

    Args:
        vertices: ``(V, 3)``.
        faces: ``(F, 3)`` vertex indices, counter-clockwise seen from outside.
        n_points: N, surface samples (and off-surface samples).
        padding: empty margin of the cube.
        seed: seeds every draw.
        name: a label.

    Returns:
        A ``kind="sdf"`` signal (layout in the module docstring).

    Raises:
        InputError: bad arrays, or a mesh whose faces all have zero area (no normals).
    """
    n = _checks.positive_int("n_points", n_points)
    _memory.check_points(2 * n, "occupancy", name="n_points")
    verts, norm = normalize_mesh(vertices, padding=padding)
    verts, faces = mesh_arrays(verts, faces)
    normals, ok = surface_normals(verts, faces)
    trimesh = require_mesh_extra("trimesh", "mesh sampling")
    gen = torch.Generator().manual_seed(int(seed))
    keep = faces[ok]
    sample_seed = int(torch.randint(0, 2 ** 62, (1,), generator=gen))
    points, face_idx = trimesh.sample.sample_surface(as_trimesh(verts, keep), n, seed=sample_seed)
    off = torch.rand(n, 3, generator=gen, dtype=torch.float64) * 2 - 1
    return Signal(coords=torch.from_numpy(np.asarray(points)).float(),
                  values=torch.zeros(n, 1), shape=(n,), name=name, kind="sdf",
                  meta={"normals": torch.from_numpy(normals[ok][face_idx]).float(),
                        "offsurface": off.float(), "vertices": verts, "faces": faces,
                        "data_range": 2.0, **norm})


def load_mesh_sdf(path: str | Path, *, n_points: int = 50_000, **options) -> Signal:
    """Load a mesh file (OBJ, PLY, STL, OFF, GLB; needs ``inrank[mesh]``) as an SDF signal;
    ``options`` as :func:`mesh_sdf`."""
    vertices, faces = load_mesh(path)
    return mesh_sdf(vertices, faces, n_points=n_points, name=Path(str(path)).stem, **options)


@torch.no_grad()
def sdf_grid(model: nn.Module, resolution: int = 64, *, chunk: int = 65536) -> np.ndarray:
    """The model's signed distance on the ``R^3`` cell centres of ``[-1, 1]^3``: ``(R, R, R)``
    float32, axis order (x, y, z) as :func:`inrank.signals.signal.grid_coords`."""
    r = _checks.positive_int("resolution", resolution)
    _memory.check_grid(r)
    dev = next(model.parameters()).device
    out = predict(model, grid_coords((r, r, r)).to(dev), chunk=chunk)   # (R^3, 1)
    return out[:, 0].float().cpu().numpy().reshape(r, r, r)


def chamfer_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Chamfer distance between point sets ``a (P, 3)`` and ``b (Q, 3)``: the mean
    distance from each point to the other set's nearest, averaged over both directions (same
    units as the points; ``inf`` if a set is empty).

    Examples:
        >>> chamfer_distance(np.zeros((1, 3)), np.array([[0., 0, 1], [0, 0, -1]]))
        1.0
    """
    from scipy.spatial import cKDTree

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) == 0 or len(b) == 0:
        return float("inf")
    d_ab = cKDTree(b).query(a)[0]
    d_ba = cKDTree(a).query(b)[0]
    return float((d_ab.mean() + d_ba.mean()) / 2)


def sdf_metrics(model: nn.Module, signal: Signal, *, resolution: int = 64,
                n_chamfer: int = 30_000, seed: int = 0) -> dict:
    """Shape metrics of a trained SDF network against the signal's mesh.

    ``iou``: ``f < 0`` against the mesh's inside (winding number) on the ``R^3`` grid;
    ``chamfer``: :func:`chamfer_distance` between ``n_chamfer`` points drawn from the zero
    level set's marching-cubes mesh (on a ``(2R)^3`` grid) and as many from the mesh, in the
    normalised units of the cube ``[-1, 1]^3`` (``inf`` when the level set is empty);
    ``faces``: the extracted mesh's triangles.

    Returns:
        ``{"iou", "chamfer", "faces", "resolution"}``, and the extracted mesh as
        ``"mesh": (vertices (V, 3), faces (F, 3))``.
    """
    if signal.kind != "sdf" or "vertices" not in signal.meta:
        raise InputError(f"signal {signal.name!r} is not an SDF signal with a mesh; build it "
                         "with inrank.signals.sdf.load_mesh_sdf or mesh_sdf")
    r = _checks.positive_int("resolution", resolution)
    truth = grid_occupancy(signal, r)
    inside = sdf_grid(model, r) < 0
    union = int((inside | truth).sum())
    iou = float((inside & truth).sum()) / union if union else 1.0
    verts, faces = extract_mesh(-sdf_grid(model, 2 * r))          # inside: -f > 0
    gen = torch.Generator().manual_seed(int(seed))
    k = _checks.positive_int("n_chamfer", n_chamfer)
    truth_pts = sample_surface(signal.meta["vertices"], signal.meta["faces"], k, generator=gen)
    if faces.shape[0]:
        recon_pts = sample_surface(verts, faces, k, generator=gen).numpy()
    else:
        recon_pts = np.zeros((0, 3))
    return {"iou": iou, "chamfer": chamfer_distance(recon_pts, truth_pts.numpy()),
            "faces": int(faces.shape[0]), "resolution": r, "mesh": (verts, faces)}
