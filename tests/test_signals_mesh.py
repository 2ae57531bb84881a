"""Winding numbers, occupancy sampling, BCE fits with IoU, marching cubes export, mesh CLI."""
import json
import sys

import numpy as np
import pytest
import torch

import inrank
from inrank.cli import main
from inrank.errors import MissingDependencyError
from inrank.report.mesh import extract_mesh, save_mesh_preview, save_obj
from inrank.train.evaluate import occupancy_iou, occupancy_logits
from inrank.signals import grid_coords
from inrank.signals.mesh import load_mesh, load_mesh_occupancy, mesh_occupancy, normalize_mesh
from inrank.signals._winding import is_watertight, winding_number

R = 0.6


@pytest.fixture(scope="module")
def sphere():
    """A closed, outward-oriented sphere mesh of radius 0.6 (marching cubes of 0.36 - |x|^2)."""
    c = grid_coords((20, 20, 20)).numpy()
    return extract_mesh((R ** 2 - (c ** 2).sum(1)).reshape(20, 20, 20))


@pytest.fixture(scope="module")
def sphere_signal(sphere):
    return mesh_occupancy(*sphere, n_points=2000, seed=0, name="sphere")


def test_winding_number_inside_outside_and_fast_equals_exact(sphere):
    v, f = sphere
    assert is_watertight(f) and f.shape[0] > 1000
    g = torch.Generator().manual_seed(0)
    pts = torch.rand(400, 3, generator=g, dtype=torch.float64) * 2 - 1
    fast = winding_number(pts, v, f, leaf_size=8)
    exact = winding_number(pts, v, f, exact=True)
    assert float((fast - exact).abs().max()) < 0.05
    r = pts.norm(dim=1)
    far = (r - R).abs() > 0.05                                  # away from the faceted surface
    assert torch.equal(exact[far] > 0.5, r[far] < R)
    assert float((exact[r < R - 0.05] - 1).abs().max()) < 1e-6
    flipped = winding_number(pts[:5], v, f[:, ::-1].copy(), exact=True)
    assert torch.allclose(flipped, -exact[:5], atol=1e-6)


def test_normalize_into_padded_cube(sphere):
    v, _ = sphere
    out, norm = normalize_mesh(v * 3 + 5, padding=0.1)
    assert float(np.abs(out).max()) == pytest.approx(0.9)
    assert np.allclose((v * 3 + 5 - norm["center"]) * norm["scale"], out)


def test_occupancy_samples(sphere_signal):
    s = sphere_signal
    assert s.kind == "occupancy" and s.coords.shape == (2000, 3) and s.values.shape == (2000, 1)
    assert float(s.coords.abs().max()) <= 1.0 and set(s.values.unique().tolist()) <= {0.0, 1.0}
    r = s.coords.double().norm(dim=1) / float(np.abs(s.meta["vertices"]).max()) * R  # original units
    inside = r < R * 0.97
    outside = r > R * 1.03
    assert bool((s.values[inside, 0] == 1).all()) and bool((s.values[outside, 0] == 0).all())
    # half the points near the surface
    assert float(((r - R).abs() < 0.1).double().mean()) > 0.45


def test_non_watertight_warns_and_keeps_the_inside(sphere):
    v, f = sphere
    with pytest.warns(UserWarning, match="not watertight"):
        s = mesh_occupancy(v, f[10:], n_points=500, seed=1)
    assert not s.meta["watertight"]
    w = winding_number(torch.zeros(1, 3), s.meta["vertices"], s.meta["faces"], exact=True)
    assert float(w) > 0.9  # a small hole barely changes the centre's winding number


def test_bce_fit_of_a_sphere_reaches_high_iou_and_exports(sphere_signal, tmp_path):
    model = inrank.build("relu+rei", 3, 1, width=32, depth=2, seed=0)
    res = inrank.fit(model, sphere_signal, steps=100, lr=3e-3, loss="bce", progress=False)
    assert res.loss_name == "bce" and res.metrics["accuracy"] > 0.8
    iou = occupancy_iou(model, sphere_signal, resolution=20)
    assert iou > 0.85, iou
    assert "grid_labels_20" in sphere_signal.meta
    verts, faces = extract_mesh(occupancy_logits(model, 16))
    assert faces.shape[0] > 50 and np.abs(verts).max() <= 1.0
    save_obj(tmp_path / "m.obj", verts, faces)
    lines = (tmp_path / "m.obj").read_text().splitlines()
    assert sum(ln.startswith("v ") for ln in lines) == len(verts)
    assert sum(ln.startswith("f ") for ln in lines) == len(faces)
    save_mesh_preview(tmp_path / "p.png", verts, faces, title="t")
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_extract_mesh_empty_level_set():
    v, f = extract_mesh(-np.ones((8, 8, 8)))
    assert v.shape == (0, 3) and f.shape == (0, 3)


def test_missing_trimesh_gives_install_hint(tmp_path, monkeypatch, sphere):
    save_obj(tmp_path / "s.obj", *sphere)
    monkeypatch.setitem(sys.modules, "trimesh", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'inrank\[mesh\]'"):
        load_mesh(tmp_path / "s.obj")


def test_load_mesh_file_and_cli(tmp_path, sphere, capsys):
    save_obj(tmp_path / "s.obj", *sphere)
    v, f = load_mesh(tmp_path / "s.obj")
    assert f.shape == sphere[1].shape
    sig = load_mesh_occupancy(tmp_path / "s.obj", n_points=500, seed=0)
    assert sig.name == "s" and sig.meta["watertight"]
    out = tmp_path / "run"
    rc = main(["fit", str(tmp_path / "s.obj"), "--n-points", "1000", "--steps", "20", "--width", "16",
               "--depth", "2", "--method", "relu+rei", "--resolution", "12", "--out", str(out),
               "--no-progress"])
    assert rc == 0 and "IoU" in capsys.readouterr().out
    for name in ("reconstruction.obj", "preview.png", "metrics.json", "model.pt", "config.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["loss_name"] == "bce" and 0 <= metrics["grid_iou"] <= 1
    assert metrics["grid_resolution"] == 12
    with pytest.raises(FileNotFoundError):
        load_mesh(tmp_path / "missing.obj")
