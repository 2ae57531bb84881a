"""Export an occupancy field ``f: [-1, 1]^3 -> logit``: OBJ files (trimesh) and a rendered
preview of the marching-cubes mesh (:func:`inrank.signals.mesh.extract_mesh`; its grid IoU is
:func:`inrank.train.evaluate.occupancy_iou`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from mpl_toolkits.mplot3d.art3d import Poly3DCollection

from .. import files as _io
from ..errors import MissingDependencyError
from ..signals.mesh import extract_mesh
from .figures import new_figure

__all__ = ["extract_mesh", "save_obj", "save_mesh_preview", "render_mesh"]


def save_obj(path: str | Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """Write a triangle mesh (``vertices (V, 3)``, ``faces (F, 3)`` 0-based) as a Wavefront OBJ
    through trimesh's exporter (8 decimals, no normals), atomically; needs ``inrank[mesh]``.

    Vertices and faces are written as given (no merging). A mesh without faces (an empty level
    set) gives an OBJ with only a comment.
    """
    try:
        import trimesh
    except ImportError:
        raise MissingDependencyError(
            "writing OBJ files needs trimesh: pip install 'inrank[mesh]'") from None
    v = np.asarray(vertices, dtype=np.float64).reshape(-1, 3)
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if f.shape[0] == 0:  # trimesh would write bare "v" / "f" lines
        return _io.write_text(path, "# empty mesh: no faces\n")
    mesh = trimesh.Trimesh(vertices=v, faces=f, process=False)
    text = mesh.export(file_type="obj", include_normals=False, include_color=False,
                       include_texture=False)
    return _io.write_text(path, text)


def save_mesh_preview(path: str | Path, vertices: np.ndarray, faces: np.ndarray, *,
                      title: str = "", max_faces: int = 60_000) -> Path:
    """Render a mesh (matplotlib 3-D, Lambert-shaded, two views) to a PNG."""
    fig = _mesh_figure(vertices, faces, title=title, max_faces=max_faces,
                       views=[(15, -60), (15, 120)], size=(8, 4.2))
    return _io.save_figure(fig, path, dpi=100)


def render_mesh(vertices: np.ndarray, faces: np.ndarray, *, title: str = "",
                max_faces: int = 30_000, pixels: int = 240) -> np.ndarray:
    """One view of a mesh as an image: ``(pixels, pixels, 3)`` float in ``[0, 1]`` (the
    shading of :func:`save_mesh_preview`; for reports that tile many shapes)."""
    fig = _mesh_figure(vertices, faces, title=title, max_faces=max_faces,
                       views=[(15, -60)], size=(pixels / 80, pixels / 80))
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(80)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba(), dtype=np.float64)[..., :3] / 255


def _mesh_figure(vertices: np.ndarray, faces: np.ndarray, *, title: str, max_faces: int,
                 views: list[tuple[float, float]], size: tuple[float, float]):
    from matplotlib import colormaps

    v, f = np.asarray(vertices, dtype=np.float64), np.asarray(faces)
    if f.shape[0] > max_faces:  # every k-th face keeps the preview quick
        f = f[:: int(np.ceil(f.shape[0] / max_faces))]
    fig = new_figure(size)
    for k, (elev, azim) in enumerate(views):
        ax = fig.add_subplot(1, len(views), k + 1, projection="3d")
        if f.shape[0]:
            tri = v[f]                                              # (F, 3, 3)
            n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
            n /= np.linalg.norm(n, axis=1, keepdims=True).clip(1e-12)
            shade = 0.25 + 0.75 * np.clip(n @ np.array([0.3, -0.5, 0.8]) / 1.0, 0, 1)
            ax.add_collection3d(Poly3DCollection(tri[:, :, [0, 2, 1]], linewidths=0,
                                                 facecolors=colormaps["bone"](0.25 + 0.6 * shade)))
        half = float(np.abs(v).max()) if v.size else 1.0
        ax.set(xlim=(-half, half), ylim=(-half, half), zlim=(-half, half))
        ax.view_init(elev=elev, azim=azim)
        ax.set_box_aspect((1, 1, 1))
        ax.set_axis_off()
    if title:
        fig.suptitle(title)
    return fig
