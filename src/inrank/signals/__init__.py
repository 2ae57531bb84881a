"""Signals: coordinates ``(N, d)`` in ``[-1, 1]^d`` and values ``(N, c)`` on a grid.

Images (imageio + scikit-image), video clips (PyAV), audio (soundfile: WAV, FLAC, OGG), mesh occupancy and signed distance fields
(inside/outside by libigl's fast winding number, surface samples by trimesh) and synthetic 1-D
signals, synthetic test patterns (band-limited noise, discs, a Sierpinski triangle, a Siemens
star), a real CT slice (pydicom's test file); train / held-out splits; one entry point,
:func:`load_signal`, from a source string to a :class:`Signal`.
"""
from __future__ import annotations

from .audio import load_audio, save_audio
from .ct import load_ct_slice
from .load import load_signal, signal_kind
from .mesh import MESH_SUFFIXES, extract_mesh, load_mesh, load_mesh_occupancy, mesh_occupancy
from .patterns import CALIBRATION_SEEDS, PATTERNS, REPORTED_SEEDS, pattern
from .sdf import chamfer_distance, load_mesh_sdf, mesh_sdf, sdf_grid, sdf_metrics
from .signal import SKIMAGE_SAMPLES, Signal, grid_coords, load_image
from .splits import subgrid_mask
from .synthetic import SIGNALS_1D, chirp, signal_1d, sinusoids, step
from .video import VIDEO_SAMPLES, VIDEO_SUFFIXES, load_video

__all__ = ["Signal", "grid_coords", "load_image", "SKIMAGE_SAMPLES", "load_audio", "save_audio",
           "load_mesh", "mesh_occupancy", "extract_mesh", "load_mesh_occupancy", "MESH_SUFFIXES", "signal_1d",
           "sinusoids", "step", "chirp", "SIGNALS_1D", "subgrid_mask", "load_signal",
           "signal_kind", "load_ct_slice", "mesh_sdf", "load_mesh_sdf", "sdf_grid", "sdf_metrics",
           "chamfer_distance", "pattern", "PATTERNS", "CALIBRATION_SEEDS", "REPORTED_SEEDS",
           "load_video", "VIDEO_SAMPLES", "VIDEO_SUFFIXES"]
