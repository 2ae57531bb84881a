"""3-D shapes as occupancy: points in ``[-1, 1]^3`` labelled 1 inside a mesh, 0 outside.

Layout: ``coords (N, 3)`` float32, ``values (N, 1)`` in {0, 1}, ``shape (N,)`` (a point set,
not a grid), ``kind="occupancy"``; train with ``fit(..., loss="bce")`` on logits. ``meta`` keeps
the normalised mesh (``vertices (V, 3)``, ``faces (F, 3)``) for the dense-grid IoU and the
export in :mod:`inrank.report.mesh`, and ``watertight``.

Inside/outside comes from the generalized winding number (:mod:`inrank.signals._winding`), thresholded
at ``|w| > 1/2``. For a closed mesh this is exact; for a mesh with holes (not watertight) ``w``
drops smoothly across each hole, so points deep inside stay inside and points near a hole are
labelled by which side of the "soap film" across it they lie (a warning says so).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from .. import validation as _checks
from ..errors import MissingDependencyError, InputError
from .signal import Signal, grid_coords
from ._winding import is_watertight, winding_number

__all__ = ["load_mesh", "normalize_mesh", "sample_surface", "mesh_occupancy",
           "load_mesh_occupancy", "grid_occupancy", "MESH_SUFFIXES"]

#: File suffixes read through trimesh.
MESH_SUFFIXES = (".obj", ".ply", ".stl", ".off", ".glb", ".gltf")


def load_mesh(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a triangle mesh with trimesh (``pip install 'inrank[mesh]'``).

    Returns:
        ``vertices (V, 3)`` float64 and ``faces (F, 3)`` int64, as stored (not normalised).
    """
    text = str(path)
    if not Path(text).exists():
        raise FileNotFoundError(f"mesh file not found: {text!r}")
    try:
        import trimesh
    except ImportError:
        raise MissingDependencyError(
            "reading meshes needs trimesh: pip install 'inrank[mesh]'") from None
    try:
        mesh = trimesh.load(text, force="mesh")
    except Exception as exc:  # trimesh raises many types for bad files
        raise InputError(f"cannot read {text!r} as a mesh ({exc.__class__.__name__}: {exc})") from None
    if not hasattr(mesh, "faces") or len(mesh.faces) == 0:
        raise InputError(f"{text!r} has no triangles")
    return np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int64)


def normalize_mesh(vertices: np.ndarray, *, padding: float = 0.1) -> tuple[np.ndarray, dict]:
    """Centre the bounding box at 0 and scale its longest side to ``[-1 + padding, 1 - padding]``.

    Returns:
        ``vertices (V, 3)`` and ``{"center": (3,), "scale": s}`` with ``new = (old - center) * s``.
    """
    v = np.asarray(vertices, dtype=np.float64)
    if not 0 <= padding < 1:
        raise InputError(f"padding must be in [0, 1), got {padding}")
    lo, hi = v.min(0), v.max(0)
    center = (lo + hi) / 2
    half = float((hi - lo).max()) / 2
    if half <= 0:
        raise InputError("the mesh has zero extent; cannot normalise it")
    scale = (1 - padding) / half
    return (v - center) * scale, {"center": center.tolist(), "scale": scale}


def sample_surface(vertices: np.ndarray, faces: np.ndarray, n: int, *,
                   generator: torch.Generator) -> torch.Tensor:
    """``n`` points uniform on the surface (area-weighted faces, uniform barycentrics): ``(n, 3)``."""
    tri = torch.as_tensor(np.asarray(vertices)[np.asarray(faces)], dtype=torch.float64)  # (F, 3, 3)
    area = 0.5 * torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]).norm(dim=-1)
    face = torch.multinomial(area, n, replacement=True, generator=generator)
    r = torch.rand(n, 2, generator=generator, dtype=torch.float64)
    flip = r.sum(1) > 1
    r[flip] = 1 - r[flip]                                           # fold into the triangle
    t = tri[face]
    return t[:, 0] + r[:, :1] * (t[:, 1] - t[:, 0]) + r[:, 1:] * (t[:, 2] - t[:, 0])


def mesh_occupancy(vertices: np.ndarray, faces: np.ndarray, *, n_points: int = 50_000,
                   near_fraction: float = 0.5, sigmas: tuple[float, ...] = (0.01, 0.05),
                   padding: float = 0.1, seed: int = 0, name: str = "mesh") -> Signal:
    """Occupancy samples of a mesh given as arrays (no trimesh needed).

    The mesh is normalised into ``[-1, 1]^3`` (:func:`normalize_mesh`). ``near_fraction`` of
    the points are surface samples plus Gaussian noise (split evenly over ``sigmas``), the rest
    uniform in the cube; each is labelled by the winding number.

    Args:
        vertices: ``(V, 3)``.
        faces: ``(F, 3)`` vertex indices.
        n_points: N.
        near_fraction: share of near-surface points, in ``[0, 1]``.
        sigmas: noise scales of the near-surface points (in normalised units).
        padding: empty margin of the cube, see :func:`normalize_mesh`.
        seed: seeds every draw.
        name: a label.

    Returns:
        A ``kind="occupancy"`` signal, ``coords (N, 3)``, ``values (N, 1)`` in {0, 1}.
    """
    n = _checks.positive_int("n_points", n_points)
    if not 0.0 <= near_fraction <= 1.0:
        raise InputError(f"near_fraction must be in [0, 1], got {near_fraction}")
    faces = np.asarray(faces, dtype=np.int64)
    verts, norm = normalize_mesh(vertices, padding=padding)
    gen = torch.Generator().manual_seed(int(seed))
    n_near = int(round(n * near_fraction))
    parts = []
    if n_near:
        surf = sample_surface(verts, faces, n_near, generator=gen)
        scale = torch.tensor([float(sigmas[i * len(sigmas) // n_near]) for i in range(n_near)],
                             dtype=torch.float64)
        parts.append(surf + scale[:, None] * torch.randn(n_near, 3, generator=gen, dtype=torch.float64))
    parts.append(torch.rand(n - n_near, 3, generator=gen, dtype=torch.float64) * 2 - 1)
    pts = torch.cat(parts).clamp(-1.0, 1.0)                        # (N, 3)
    watertight = is_watertight(faces)
    if not watertight:
        warnings.warn(f"{name}: the mesh is not watertight; inside/outside near its holes "
                      "follows the winding number's smooth fill", stacklevel=2)
    inside = (winding_number(pts, verts, faces).abs() > 0.5).float()[:, None]  # (N, 1)
    return Signal(coords=pts.float(), values=inside, shape=(n,), name=name, kind="occupancy",
                  meta={"vertices": verts, "faces": faces, "watertight": watertight,
                        "data_range": 1.0, **norm})


def load_mesh_occupancy(path: str | Path, *, n_points: int = 50_000, **options) -> Signal:
    """Load a mesh file (OBJ, PLY, STL, OFF, GLB; needs ``inrank[mesh]``) as occupancy samples.

    See :func:`mesh_occupancy` for ``options`` and the result.
    """
    vertices, faces = load_mesh(path)
    return mesh_occupancy(vertices, faces, n_points=n_points, name=Path(str(path)).stem, **options)


def grid_occupancy(signal: Signal, resolution: int) -> np.ndarray:
    """The mesh's inside on the ``R^3`` cell centres of ``[-1, 1]^3``: ``(R, R, R)`` bool, by
    winding number; computed once per signal and resolution, then cached in ``signal.meta``."""
    r = _checks.positive_int("resolution", resolution)
    key = f"grid_labels_{r}"
    if key not in signal.meta:
        if "vertices" not in signal.meta:
            raise InputError(f"signal {signal.name!r} has no mesh in meta; build it with "
                             "inrank.load_mesh_occupancy or mesh_occupancy")
        w = winding_number(grid_coords((r, r, r)), signal.meta["vertices"], signal.meta["faces"])
        signal.meta[key] = (w.abs() > 0.5).numpy().reshape(r, r, r)
    return signal.meta[key]
