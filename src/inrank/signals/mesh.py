"""3-D shapes as occupancy: points in ``[-1, 1]^3`` labelled 1 inside a mesh, 0 outside.

Layout: ``coords (N, 3)`` float32, ``values (N, 1)`` in {0, 1}, ``shape (N,)`` (a point set,
not a grid), ``kind="occupancy"``; train with ``fit(..., loss="bce")`` on logits. ``meta`` keeps
the normalised mesh (``vertices (V, 3)``, ``faces (F, 3)``) for the dense-grid IoU and the
export in :mod:`inrank.report.mesh`, and ``watertight``.

Needs the ``mesh`` extra (``pip install 'inrank[mesh]'``): trimesh reads files, samples the
surface and checks watertightness; libigl computes the generalized winding number (Jacobson
et al. 2013) by its fast Barnes-Hut approximation (Barill et al. 2018), thresholded at
``|w| > 1/2``. For a closed mesh this is exact; for a mesh with holes (not watertight) ``w``
drops smoothly across each hole, so points deep inside stay inside and points near a hole are
labelled by which side of the "soap film" across it they lie (a warning says so). ``|w|``
makes an inward-facing (flipped) mesh work as well.
"""
from __future__ import annotations

import importlib
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import torch

from .. import memory as _memory
from .. import validation as _checks
from ..errors import InputError, MissingDependencyError
from .signal import Signal, grid_coords

__all__ = ["require_mesh_extra", "as_trimesh", "mesh_arrays", "load_mesh", "normalize_mesh", "sample_surface", "winding_number", "is_watertight",
           "mesh_occupancy", "load_mesh_occupancy", "grid_occupancy", "extract_mesh",
           "MESH_SUFFIXES"]

#: File suffixes read through trimesh.
MESH_SUFFIXES = (".obj", ".ply", ".stl", ".off", ".glb", ".gltf")


def require_mesh_extra(module: str, purpose: str) -> ModuleType:
    """Import an optional dependency of the ``mesh`` extra, or raise a one-line install hint."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = {"igl": "libigl"}.get(module, module)
        raise MissingDependencyError(
            f"{purpose} needs {package}: pip install 'inrank[mesh]'") from None


def as_trimesh(vertices: np.ndarray, faces: np.ndarray):
    """The arrays as a ``trimesh.Trimesh``, unprocessed (no merging or reordering)."""
    trimesh = require_mesh_extra("trimesh", "mesh sampling")
    return trimesh.Trimesh(vertices=np.asarray(vertices, dtype=np.float64),
                           faces=np.asarray(faces, dtype=np.int64), process=False)


def load_mesh(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read a triangle mesh with trimesh (``pip install 'inrank[mesh]'``).

    Returns:
        ``vertices (V, 3)`` float64 and ``faces (F, 3)`` int64, as stored (not normalised).
    """
    text = str(path)
    if not Path(text).exists():
        raise FileNotFoundError(f"mesh file not found: {text!r}")
    trimesh = require_mesh_extra("trimesh", "reading meshes")
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
    """``n`` points uniform on the surface: ``(n, 3)`` float64, by ``trimesh.sample.sample_surface``
    (faces drawn by area, uniform barycentric coordinates).

    trimesh draws from a numpy generator seeded by one 62-bit integer taken from ``generator``,
    so the same generator state gives the same points and the generator advances.
    """
    trimesh = require_mesh_extra("trimesh", "mesh sampling")
    count = _checks.positive_int("n", n)
    seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator))
    points, _ = trimesh.sample.sample_surface(as_trimesh(vertices, faces), count, seed=seed)
    return torch.from_numpy(np.asarray(points, dtype=np.float64))


def mesh_arrays(vertices, faces) -> tuple[np.ndarray, np.ndarray]:
    """Validated ``vertices (V, 3)`` float64 and ``faces (F >= 1, 3)`` int64, C-contiguous."""
    v = np.ascontiguousarray(np.asarray(vertices), dtype=np.float64)
    f = np.ascontiguousarray(np.asarray(faces), dtype=np.int64)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3 or f.shape[0] == 0:
        raise InputError(f"need vertices (V, 3) and faces (F >= 1, 3), got {v.shape} and {f.shape}")
    if int(f.min()) < 0 or int(f.max()) >= v.shape[0]:
        raise InputError(f"faces index vertices 0..{v.shape[0] - 1}, got {int(f.min())}..{int(f.max())}")
    return v, f


def winding_number(points: torch.Tensor | np.ndarray, vertices: np.ndarray,
                   faces: np.ndarray) -> np.ndarray:
    """Generalized winding number of a triangle mesh at query points (libigl's fast winding
    number for triangle soups: Barnes-Hut, 2nd-order expansion, accuracy ``beta = 2``).

    Args:
        points: ``(Q, 3)`` query points.
        vertices: ``(V, 3)`` mesh vertices.
        faces: ``(F, 3)`` vertex indices, counter-clockwise seen from outside.

    Returns:
        ``(Q,)`` float64: ~1 inside, ~0 outside (~-1 inside an inward-facing mesh); within
        about 0.005 of the exact sum of solid angles away from the surface.

    Examples:
        >>> v = np.array([[1., 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]])
        >>> f = np.array([[0, 1, 2], [0, 3, 1], [1, 3, 2], [2, 3, 0]])  # a tetrahedron
        >>> winding_number(np.array([[.1, .1, .1], [2., 2, 2]]), v, f).round(3).tolist()
        [1.0, 0.0]
    """
    igl = require_mesh_extra("igl", "winding numbers")
    q = _checks.tensor_2d("points", torch.as_tensor(points, dtype=torch.float64), cols=3,
                          what="(Q, 3)")
    v, f = mesh_arrays(vertices, faces)
    if q.shape[0] == 0:
        return np.zeros(0)
    return np.asarray(igl.fast_winding_number(v, f, np.ascontiguousarray(q.numpy())))


def is_watertight(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """True if every undirected edge is shared by exactly two faces (trimesh's check)."""
    return bool(as_trimesh(vertices, faces).is_watertight)


def mesh_occupancy(vertices: np.ndarray, faces: np.ndarray, *, n_points: int = 50_000,
                   near_fraction: float = 0.5, sigmas: tuple[float, ...] = (0.01, 0.05),
                   padding: float = 0.1, seed: int = 0, name: str = "mesh") -> Signal:
    """Occupancy samples of a mesh given as arrays (needs ``inrank[mesh]``: trimesh, libigl).

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
        seed: seeds every draw (the same seed gives the same points and labels).
        name: a label.

    Returns:
        A ``kind="occupancy"`` signal, ``coords (N, 3)``, ``values (N, 1)`` in {0, 1}.
    """
    n = _checks.positive_int("n_points", n_points)
    _memory.check_points(n, "occupancy", name="n_points")
    if not 0.0 <= near_fraction <= 1.0:
        raise InputError(f"near_fraction must be in [0, 1], got {near_fraction}")
    verts, norm = normalize_mesh(vertices, padding=padding)
    verts, faces = mesh_arrays(verts, faces)
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
    watertight = is_watertight(verts, faces)
    if not watertight:
        warnings.warn(f"{name}: the mesh is not watertight; inside/outside near its holes "
                      "follows the winding number's smooth fill", stacklevel=2)
    inside = np.abs(winding_number(pts, verts, faces)) > 0.5
    return Signal(coords=pts.float(), values=torch.from_numpy(inside).float()[:, None],
                  shape=(n,), name=name, kind="occupancy",
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
        _memory.check_grid(r)
        if "vertices" not in signal.meta:
            raise InputError(f"signal {signal.name!r} has no mesh in meta; build it with "
                             "inrank.load_mesh_occupancy or mesh_occupancy")
        w = winding_number(grid_coords((r, r, r)), signal.meta["vertices"], signal.meta["faces"])
        signal.meta[key] = (np.abs(w) > 0.5).reshape(r, r, r)
    return signal.meta[key]


def extract_mesh(logits: np.ndarray, *, level: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Marching cubes (scikit-image) of a logit grid ``(R, R, R)`` at ``level``.

    Returns:
        ``vertices (V, 3)`` in ``[-1, 1]^3`` coordinates and ``faces (F, 3)``, oriented outward;
        empty arrays when the level set is empty.
    """
    from skimage.measure import marching_cubes

    grid = np.asarray(logits, dtype=np.float32)
    if grid.ndim != 3:
        raise InputError(f"logits must be a 3-D grid (R, R, R), got shape {grid.shape}")
    if not (grid.min() < level < grid.max()):
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    # pad with "outside" so the surface is closed at the cube's faces
    padded = np.pad(grid, 1, constant_values=min(float(grid.min()), level - 1.0))
    verts, faces, _, _ = marching_cubes(padded, level=level)
    r = np.array(grid.shape, dtype=np.float64)
    verts = (2 * (verts - 1) + 1) / r - 1                          # cell centres -> [-1, 1]
    return verts, np.ascontiguousarray(faces[:, ::-1]).astype(np.int64)  # outward normals
