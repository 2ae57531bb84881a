"""Signed distance fields (issue 26): the SIREN-style loss against autograd's numerical check
and an exact SDF, surface samples and normals of a mesh, a fit that recovers a shape, the
metrics against known answers, every training path, and bad input as one line."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import inrank
from inrank.errors import InputError
from inrank.signals.sdf import chamfer_distance, mesh_sdf, surface_normals
from inrank.train.checkpoint import CheckpointError
from inrank.train.sdf import SDFWeights, sdf_loss


def _sphere_mesh(subdivisions: int = 3) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    m = trimesh.creation.icosphere(subdivisions=subdivisions, radius=1.0)
    return np.asarray(m.vertices), np.asarray(m.faces)


class _ExactSphere(nn.Module):
    """f(x) = |x| - r: the exact signed distance of a sphere of radius r."""

    def __init__(self, r: float) -> None:
        super().__init__()
        self.r = nn.Parameter(torch.tensor(float(r), dtype=torch.float64))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.norm(dim=-1, keepdim=True) - self.r


def test_the_loss_vanishes_on_an_exact_sdf_except_its_off_surface_term():
    g = torch.Generator().manual_seed(0)
    n = torch.nn.functional.normalize(torch.randn(500, 3, generator=g, dtype=torch.float64), dim=-1)
    surface = 0.5 * n                                       # on the sphere of radius 0.5
    off = torch.rand(400, 3, generator=g, dtype=torch.float64) * 2 - 1
    total, terms = sdf_loss(_ExactSphere(0.5), surface, n, off)
    assert terms["surface"] < 1e-12 and terms["normal"] < 1e-12 and terms["eikonal"] < 1e-12
    f_off = (off.norm(dim=-1) - 0.5).abs()
    assert terms["offsurface"] == pytest.approx(float(torch.exp(-100 * f_off).mean()), rel=1e-9)
    assert float(total) == pytest.approx(1e2 * terms["offsurface"], rel=1e-9)
    # a wrong normal costs 1 - cos: flipped normals cost 2 each
    _, flipped = sdf_loss(_ExactSphere(0.5), surface, -n, off)
    assert flipped["normal"] == pytest.approx(2.0, abs=1e-12)


def test_the_loss_gradient_passes_autograds_numerical_check():
    """The loss differentiates through the network's input gradient (create_graph): its
    gradient in the parameters against finite differences, in float64, on a smooth network."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 8), nn.Tanh(),
                        nn.Linear(8, 1)).double()
    g = torch.Generator().manual_seed(1)
    surface = torch.rand(6, 3, generator=g, dtype=torch.float64) - 0.5
    normals = torch.nn.functional.normalize(torch.randn(6, 3, generator=g, dtype=torch.float64), dim=-1)
    off = torch.rand(5, 3, generator=g, dtype=torch.float64) * 2 - 1
    names = [k for k, _ in net.named_parameters()]
    weights = SDFWeights(alpha=3.0)  # a gentle falloff keeps the finite differences accurate

    def loss_of(*params):
        state = dict(zip(names, params))
        model = lambda x: torch.func.functional_call(net, state, (x,))  # noqa: E731
        return sdf_loss(net, surface, normals, off, weights=weights, forward=model)[0]

    params = tuple(p.detach().clone().requires_grad_(True) for p in net.parameters())
    assert torch.autograd.gradcheck(loss_of, params, eps=1e-6, atol=1e-5, rtol=1e-4)


def test_surface_samples_lie_on_the_mesh_with_its_outward_normals():
    v, f = _sphere_mesh()
    sig = mesh_sdf(v, f, n_points=2000, padding=0.2, seed=3)
    assert sig.kind == "sdf" and sig.coords.shape == (2000, 3) and sig.values.abs().max() == 0
    radius = sig.coords.norm(dim=-1)                        # normalised sphere: radius 0.8
    assert float(radius.max()) <= 0.8 + 1e-5 and float(radius.min()) > 0.78  # on the facets
    outward = (sig.meta["normals"] * sig.coords).sum(-1) / radius
    assert float(outward.min()) > 0.98                      # facet normals ~ radial, outward
    assert torch.allclose(sig.meta["normals"].norm(dim=-1), torch.ones(2000), atol=1e-5)
    off = sig.meta["offsurface"]
    assert off.shape == (2000, 3) and float(off.abs().max()) <= 1
    again = mesh_sdf(v, f, n_points=2000, padding=0.2, seed=3)
    assert torch.equal(again.coords, sig.coords) and torch.equal(again.meta["offsurface"], off)


def test_chamfer_distance_against_known_answers():
    a = np.array([[0.0, 0, 0], [1, 0, 0]])
    assert chamfer_distance(a, a) == 0.0
    assert chamfer_distance(a, a + [0, 0, 0.1]) == pytest.approx(0.1)
    assert chamfer_distance(a, np.zeros((0, 3))) == float("inf")


def test_a_short_fit_recovers_a_sphere(one_thread):
    v, f = _sphere_mesh()
    sig = mesh_sdf(v, f, n_points=3000, padding=0.3, seed=0)   # radius 0.7
    model = inrank.build("relu", 3, 1, width=32, depth=2, seed=0)
    before = inrank.sdf_metrics(model, sig, resolution=20, n_chamfer=3000)
    res = inrank.fit(model, sig, steps=250, lr=3e-3, loss="sdf", batch_size=1000, progress=False,
                     accept_worse=True, eval_every=2)  # the mini-batch default starts at 20
    after = inrank.sdf_metrics(model, sig, resolution=20, n_chamfer=3000)
    assert after["iou"] > 0.9 and after["iou"] > before["iou"] + 0.3
    assert after["chamfer"] < 0.03                          # 2% of the cube's half-side
    assert res.history[-1]["loss"] < res.history[0]["loss"] / 5
    assert res.operator["name"] == "sdf-loss" and res.operator["surface"] == 3e3


def test_every_training_path_takes_the_sdf_loss(tmp_path, one_thread):
    v, f = _sphere_mesh(2)
    sigs = [mesh_sdf(v, f, n_points=400, seed=s) for s in (0, 1)]
    opts = dict(steps=6, lr=1e-3, loss="sdf", batch_size=200, progress=False)
    one = [inrank.fit(inrank.build("relu+rei", 3, 1, width=16, depth=2, seed=0), sig, **opts, accept_worse=True)
           for sig in sigs]
    many = inrank.fit_many("relu+rei", sigs, width=16, depth=2, seed=0, **opts, accept_worse=True)
    models = inrank.fit_models([inrank.build("relu+rei", 3, 1, width=16, depth=2, seed=0)
                                for _ in sigs], sigs, **opts, accept_worse=True)
    assert [r.final_psnr for r in many] == [r.final_psnr for r in one]
    assert [r.final_psnr for r in models] == [r.final_psnr for r in one]
    muon = inrank.fit(inrank.build("relu", 3, 1, width=16, depth=3, seed=0), sigs[0],
                      optimizer="muon", muon_lr=0.01, **opts, accept_worse=True)
    assert muon.optimizer == "muon" and np.isfinite(muon.final_psnr)
    # a checkpoint resumes bit for bit, and refuses another shape's samples
    ck = tmp_path / "ck.pt"
    full = inrank.fit(inrank.build("relu", 3, 1, width=16, depth=2, seed=0), sigs[0], **opts, accept_worse=True)
    part = inrank.build("relu", 3, 1, width=16, depth=2, seed=0)
    with pytest.raises(KeyboardInterrupt):
        inrank.fit(part, sigs[0], checkpoint=ck, checkpoint_every=2,
                   callbacks=[_stop_at(4)], **opts, accept_worse=True)
    with pytest.raises(CheckpointError, match="belongs to another run"):  # the other samples
        inrank.fit(inrank.build("relu", 3, 1, width=16, depth=2, seed=0), sigs[1],
                   checkpoint=ck, checkpoint_every=2, **opts, accept_worse=True)
    resumed = inrank.fit(inrank.build("relu", 3, 1, width=16, depth=2, seed=0), sigs[0],
                         checkpoint=ck, checkpoint_every=2, **opts, accept_worse=True)
    assert resumed.resumed_from == 2 and resumed.final_psnr == full.final_psnr
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in full.history]


def _stop_at(step: int):
    def stop(s, metrics, model):
        if s >= step:
            raise KeyboardInterrupt
    return stop


def test_bad_sdf_input_is_one_clear_line():
    v = np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0]])        # collinear: no normal anywhere
    with pytest.raises(InputError, match="zero area: it has no surface normals"):
        surface_normals(v, np.array([[0, 1, 2]]))
    with pytest.raises(InputError, match="zero area"):
        mesh_sdf(v, np.array([[0, 1, 2]]), n_points=10)
    sv, sf = _sphere_mesh(1)
    sig = mesh_sdf(sv, sf, n_points=50)
    image = inrank.load_image("camera", size=8)
    with pytest.raises(InputError, match="loss='sdf' fits an SDF signal"):
        inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1), image, steps=1, lr=1e-3,
                   loss="sdf", progress=False, accept_worse=True)
    with pytest.raises(InputError, match="an SDF signal takes loss='sdf' only"):
        inrank.fit(inrank.build("relu", 3, 1, width=8, depth=1), sig, steps=1, lr=1e-3,
                   progress=False, accept_worse=True)
    with pytest.raises(InputError, match="train_mask cannot be used with loss='sdf'"):
        inrank.fit(inrank.build("relu", 3, 1, width=8, depth=1), sig, steps=1, lr=1e-3,
                   loss="sdf", train_mask=torch.ones(50, dtype=torch.bool), progress=False, accept_worse=True)
    with pytest.raises(InputError, match="compile=True cannot be used with loss='sdf'"):
        inrank.fit(inrank.build("relu", 3, 1, width=8, depth=1), sig, steps=1, lr=1e-3,
                   loss="sdf", compile=True, progress=False, accept_worse=True)
    with pytest.raises(InputError, match="not an SDF signal"):
        inrank.sdf_metrics(inrank.build("relu", 2, 1, width=8, depth=1), image)


def test_inrank_fit_task_sdf_writes_the_shape_and_its_scores(tmp_path, data_dir, capsys):
    from inrank.cli import main

    out = tmp_path / "o"
    rc = main(["fit", str(data_dir / "meshes" / "bunny.obj"), "--task", "sdf", "--method",
               "relu", "--steps", "30", "--width", "32", "--depth", "2", "--n-points", "2000",
               "--batch-size", "1000", "--resolution", "16", "--out", str(out), "--accept-worse"])
    assert rc == 0
    said = capsys.readouterr().out
    assert "bunny SDF (2000 surface points): Chamfer" in said and "grid IoU" in said
    metrics = __import__("json").loads((out / "metrics.json").read_text())
    assert metrics["kind"] == "sdf" and 0 < metrics["chamfer"] < 1 and 0 <= metrics["grid_iou"] <= 1
    assert (out / "reconstruction.obj").stat().st_size > 0 and (out / "preview.png").is_file()
    assert main(["fit", "camera", "--task", "sdf", "--out", str(tmp_path / "x"), "--accept-worse"]) == 2
    assert "--task sdf fits a mesh's signed distance field" in capsys.readouterr().err


def test_the_sdf_bench_suite_scores_and_renders_a_shape(tmp_path, one_thread):
    """`inrank bench sdf`'s path: a generated calibration shape (the torus), the SDF loss, the
    Chamfer distance and grid IoU in the record, the shape's picture for the report."""
    res = inrank.run_suite("sdf", methods=["relu"], images=["torus"], steps=60, widths=[16],
                           out=tmp_path, progress=False, plots=False)
    rec = __import__("json").loads(next((tmp_path / "runs").glob("*.json")).read_text())
    assert rec["run"]["task"] == "sdf" and rec["status"] == "ok"
    assert 0 < rec["metrics"]["chamfer"] < 2 and 0 <= rec["metrics"]["grid_iou"] <= 1
    assert len(res.rows) == 1 and list((tmp_path / "recon").glob("*.png"))
