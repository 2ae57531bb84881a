"""Winding numbers (libigl against a brute-force sum), occupancy sampling (trimesh), BCE fits
with IoU, marching cubes export (trimesh OBJ), mesh CLI."""
import json
import math
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
from inrank.signals.mesh import (is_watertight, load_mesh, load_mesh_occupancy, mesh_occupancy,
                                 normalize_mesh, sample_surface, winding_number)

R = 0.6


def brute_winding(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray,
                  chunk: int = 16) -> np.ndarray:
    """Reference: the exact sum of signed solid angles (Van Oosterom and Strackee 1983) over
    every triangle, in float64, divided by 4 pi. ``points (Q, 3)`` -> ``(Q,)``."""
    tri = np.asarray(vertices, dtype=np.float64)[np.asarray(faces)]        # (F, 3, 3)
    out = np.empty(len(points))
    for i in range(0, len(points), chunk):
        rel = tri[None] - np.asarray(points, dtype=np.float64)[i:i + chunk, None, None]
        a, b, c = rel[..., 0, :], rel[..., 1, :], rel[..., 2, :]             # (q, F, 3)
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        det = np.einsum("qfk,qfk->qf", a, np.cross(b, c))
        den = (la * lb * lc + np.einsum("qfk,qfk->qf", a, b) * lc
               + np.einsum("qfk,qfk->qf", b, c) * la + np.einsum("qfk,qfk->qf", c, a) * lb)
        out[i:i + chunk] = 2 * np.arctan2(det, den).sum(1) / (4 * math.pi)
    return out


@pytest.fixture(scope="module")
def sphere():
    """A closed, outward-oriented sphere mesh of radius 0.6 (marching cubes of 0.36 - |x|^2)."""
    c = grid_coords((20, 20, 20)).numpy()
    return extract_mesh((R ** 2 - (c ** 2).sum(1)).reshape(20, 20, 20))


@pytest.fixture(scope="module")
def sphere_signal(sphere):
    return mesh_occupancy(*sphere, n_points=2000, seed=0, name="sphere")


def test_libigl_winding_number_matches_brute_force(sphere):
    v, f = sphere
    assert is_watertight(v, f) and f.shape[0] > 1000
    pts = np.random.default_rng(0).uniform(-1, 1, (400, 3))
    fast = winding_number(pts, v, f)
    exact = brute_winding(pts, v, f)
    assert fast.shape == (400,) and fast.dtype == np.float64
    # Barnes-Hut (beta = 2, 2nd order) is within 0.01 of the exact sum; labels agree everywhere
    assert np.abs(fast - exact).max() < 0.01
    assert np.array_equal(np.abs(fast) > 0.5, np.abs(exact) > 0.5)
    r = np.linalg.norm(pts, axis=1)
    far = np.abs(r - R) > 0.05                                  # away from the faceted surface
    assert np.array_equal(exact[far] > 0.5, r[far] < R)
    assert np.abs(exact[r < R - 0.05] - 1).max() < 1e-9 and np.abs(exact[r > R + 0.05]).max() < 1e-9
    flipped = winding_number(pts, v, f[:, ::-1])                # inward-facing: w -> -w
    assert np.abs(flipped + exact).max() < 0.01
    assert np.array_equal(np.abs(flipped) > 0.5, np.abs(exact) > 0.5)
    assert np.allclose(winding_number(torch.from_numpy(pts), v, f), fast, atol=0)


def test_winding_number_bad_input(sphere):
    v, f = sphere
    with pytest.raises(ValueError, match=r"\(Q, 3\)"):
        winding_number(np.zeros((4, 2)), v, f)
    with pytest.raises(ValueError, match="faces index vertices"):
        winding_number(np.zeros((1, 3)), v, f + len(v))
    assert winding_number(np.zeros((0, 3)), v, f).shape == (0,)


def test_occupancy_labels_of_the_bunny_match_brute_force(data_dir):
    """Half the points lie within ~0.01-0.05 of the surface: the hard cases for Barnes-Hut."""
    v, f = load_mesh(data_dir / "meshes" / "bunny.obj")
    sig = mesh_occupancy(v, f, n_points=200, seed=3, name="bunny")
    assert sig.meta["watertight"] and float(sig.coords.abs().max()) <= 1.0
    exact = brute_winding(sig.coords.double().numpy(), sig.meta["vertices"], sig.meta["faces"])
    assert np.array_equal(sig.values[:, 0].numpy() == 1, np.abs(exact) > 0.5)
    again = mesh_occupancy(v, f, n_points=200, seed=3, name="bunny")
    assert torch.equal(sig.coords, again.coords) and torch.equal(sig.values, again.values)


def test_sample_surface_is_area_weighted_uniform_and_seeded():
    # two disjoint triangles: area 0.5 at z = 0, area 1.5 at z = 1
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1], [3, 0, 1], [0, 1, 1]], float)
    f = np.array([[0, 1, 2], [3, 4, 5]])
    n = 20_000
    pts = sample_surface(v, f, n, generator=torch.Generator().manual_seed(0)).numpy()
    assert pts.shape == (n, 3)
    again = sample_surface(v, f, n, generator=torch.Generator().manual_seed(0)).numpy()
    other = sample_surface(v, f, n, generator=torch.Generator().manual_seed(1)).numpy()
    assert np.array_equal(pts, again) and not np.array_equal(pts, other)
    top = pts[:, 2] == 1
    assert np.all(top | (pts[:, 2] == 0))
    sd = math.sqrt(0.75 * 0.25 / n)                              # binomial share of the top
    assert abs(top.mean() - 0.75) < 5 * sd
    lo, hi = pts[~top], pts[top]
    eps = 1e-12
    assert (lo[:, :2] >= -eps).all() and (lo[:, 0] + lo[:, 1] <= 1 + eps).all()
    assert (hi[:, :2] >= -eps).all() and (hi[:, 0] / 3 + hi[:, 1] <= 1 + eps).all()
    # uniform in each triangle: the mean is the centroid (tolerance: 5 standard errors)
    for part, centroid in ((lo, [1 / 3, 1 / 3]), (hi, [1.0, 1 / 3])):
        se = part[:, :2].std(0) / math.sqrt(len(part))
        assert (np.abs(part[:, :2].mean(0) - centroid) < 5 * se).all()


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
    assert not is_watertight(v, f[10:])
    with pytest.warns(UserWarning, match="not watertight"):
        s = mesh_occupancy(v, f[10:], n_points=500, seed=1)
    assert not s.meta["watertight"]
    w = winding_number(np.zeros((1, 3)), s.meta["vertices"], s.meta["faces"])
    assert float(w[0]) > 0.9  # a small hole barely changes the centre's winding number
    assert float(w[0]) == pytest.approx(brute_winding(np.zeros((1, 3)), s.meta["vertices"],
                                                      s.meta["faces"])[0], abs=0.01)


def test_bce_fit_of_a_sphere_reaches_high_iou_and_exports(sphere_signal, tmp_path):
    model = inrank.build("relu+rei", 3, 1, width=32, depth=2, seed=0)
    res = inrank.fit(model, sphere_signal, steps=100, lr=3e-3, loss="bce", progress=False, accept_worse=True)
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
    back_v, back_f = load_mesh(tmp_path / "m.obj")
    assert back_f.shape == faces.shape
    save_mesh_preview(tmp_path / "p.png", verts, faces, title="t")
    assert (tmp_path / "p.png").stat().st_size > 1000


def test_extract_mesh_empty_level_set(tmp_path):
    v, f = extract_mesh(-np.ones((8, 8, 8)))
    assert v.shape == (0, 3) and f.shape == (0, 3)
    save_obj(tmp_path / "empty.obj", v, f)  # a valid OBJ with no elements
    assert all(ln.startswith("#") for ln in (tmp_path / "empty.obj").read_text().splitlines())


def test_save_obj_round_trips_through_trimesh(tmp_path, sphere):
    import trimesh

    v, f = sphere
    save_obj(tmp_path / "s.obj", v, f)
    back = trimesh.load(tmp_path / "s.obj", force="mesh", process=False)
    assert np.array_equal(back.faces, f)                        # written as given, 1-based
    assert np.abs(back.vertices - v).max() <= 0.5e-8            # 8 decimals


def test_missing_trimesh_gives_install_hint(tmp_path, monkeypatch, sphere):
    save_obj(tmp_path / "s.obj", *sphere)
    monkeypatch.setitem(sys.modules, "trimesh", None)
    for call in (lambda: load_mesh(tmp_path / "s.obj"), lambda: save_obj(tmp_path / "t.obj", *sphere),
                 lambda: mesh_occupancy(*sphere, n_points=10)):
        with pytest.raises(MissingDependencyError, match=r"trimesh: pip install 'inrank\[mesh\]'") as err:
            call()
        assert len(str(err.value).splitlines()) == 1


def test_missing_libigl_gives_install_hint(monkeypatch, sphere):
    monkeypatch.setitem(sys.modules, "igl", None)
    with pytest.raises(MissingDependencyError,
                       match=r"^winding numbers needs libigl: pip install 'inrank\[mesh\]'$"):
        winding_number(np.zeros((1, 3)), *sphere)
    with pytest.raises(MissingDependencyError, match="libigl"):
        mesh_occupancy(*sphere, n_points=10)


def test_load_mesh_file_and_cli(tmp_path, sphere, capsys):
    save_obj(tmp_path / "s.obj", *sphere)
    v, f = load_mesh(tmp_path / "s.obj")
    assert f.shape == sphere[1].shape
    sig = load_mesh_occupancy(tmp_path / "s.obj", n_points=500, seed=0)
    assert sig.name == "s" and sig.meta["watertight"]
    out = tmp_path / "run"
    rc = main(["fit", str(tmp_path / "s.obj"), "--n-points", "1000", "--steps", "20", "--width", "16",
               "--depth", "2", "--method", "relu+rei", "--resolution", "12", "--out", str(out),
               "--no-progress", "--accept-worse"])
    assert rc == 0 and "IoU" in capsys.readouterr().out
    for name in ("reconstruction.obj", "preview.png", "metrics.json", "model.pt", "config.json"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["loss_name"] == "bce" and 0 <= metrics["grid_iou"] <= 1
    assert metrics["grid_resolution"] == 12
    with pytest.raises(FileNotFoundError):
        load_mesh(tmp_path / "missing.obj")
