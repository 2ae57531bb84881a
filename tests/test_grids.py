"""Feature grids (inrank.nn.grids) and their place in models, optimisers, fits, the CLI and the
diagnosis: the hash encoding against a direct computation, the dense grid's interpolation, the
parameter groups, stacked fits, checkpoints, precision, and the table's NTK block against the
Jacobian contraction in float64."""
from __future__ import annotations

import copy
import itertools
import json
import math

import pytest
import torch
from torch.func import functional_call, jacrev, vmap

import inrank
from inrank.cli.main import main
from inrank.diagnosis.tables import table_ntk_block
from inrank.errors import InputError
from inrank.nn.grids import HASH_PRIMES, TABLE_INIT, DenseGrid, HashGrid
from inrank.nn.mlp import CoordinateMLP, MLPConfig
from inrank.train.optimizers import hidden_weight_names, lr_scales, make_optimizer
from inrank.train.stacked import stacked_forward


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _direct_hash(enc: HashGrid, x: torch.Tensor) -> torch.Tensor:
    """The hash encoding by explicit loops: per point, level and corner, Instant-NGP's index
    (the paper's uint32 hash, then mod T) and d-linear weight."""
    T, d, F = 2 ** enc.log2_table, enc.in_dim, enc.features
    table = enc.table.detach().double()
    out = torch.zeros(x.shape[0], enc.levels * F, dtype=torch.float64)
    offset = 0
    for level in range(enc.levels):
        n = math.floor(enc.base_resolution * enc.growth ** level)
        dense = (n + 1) ** d <= T
        for i, point in enumerate(x.double().tolist()):
            pos = [(p + 1) / 2 * n for p in point]
            lo = [min(math.floor(q), n - 1) for q in pos]
            for bits in itertools.product((0, 1), repeat=d):
                corner = [lo[k] + bits[k] for k in range(d)]
                if dense:
                    index = 0
                    for c in corner:  # row-major, axis 0 slowest
                        index = index * (n + 1) + c
                else:
                    h = 0
                    for c, prime in zip(corner, HASH_PRIMES):
                        h ^= (c * prime) & 0xFFFFFFFF  # uint32 arithmetic, as the paper's
                    index = h % T
                weight = math.prod(pos[k] - lo[k] if bits[k] else 1 - (pos[k] - lo[k])
                                   for k in range(d))
                out[i, level * F:(level + 1) * F] += weight * table[offset + index]
        offset += (n + 1) ** d if dense else T
    return out


@pytest.mark.parametrize("d", [2, 3])
def test_hash_encoding_matches_a_direct_computation_with_collisions(d):
    # T = 8: level 0 (N = 1, 2^d corners) is indexed directly, the finer levels hash into 8
    enc = HashGrid(d, levels=3, log2_table=3, features=2, base_resolution=1, growth=2.0,
                   generator=_gen(1))
    assert enc.resolutions == [1, 2, 4] and enc.hashed == [False, True, True]
    with torch.no_grad():
        enc.table.normal_(generator=_gen(2))
    x = torch.rand(40, d, generator=_gen(3)) * 2 - 1
    x[0], x[1] = 1.0, -1.0  # the domain's corners
    idx, _ = enc.corner_weights(x)
    level2 = idx[:, 2] - enc._offsets[2]
    assert len(set(level2.flatten().tolist())) <= 8 < 5 ** d  # 25 or 125 corners, 8 entries
    assert any(len(set(row.tolist())) < 2 ** d for row in level2), "a point's corners collide"
    torch.testing.assert_close(enc(x).double(), _direct_hash(enc, x), atol=1e-6, rtol=1e-5)


def test_hash_grid_sizes_levels_like_the_paper():
    enc = HashGrid(2, levels=16, log2_table=12, features=2, base_resolution=16, growth=1.26)
    assert enc.resolutions[0] == 16 and enc.resolutions[-1] == 512
    sizes = [min(2 ** 12, (n + 1) ** 2) for n in enc.resolutions]
    assert tuple(enc.table.shape) == (sum(sizes), 2) and enc.out_dim == 32
    assert enc.hashed == [(n + 1) ** 2 > 2 ** 12 for n in enc.resolutions]


@pytest.mark.parametrize("kind", ["grid", "hashgrid"])
def test_tables_init_uniform_small_and_seeded(kind):
    a, b = (inrank.build(kind, 2, 3, width=8, depth=1, seed=5) for _ in range(2))
    c = inrank.build(kind, 2, 3, width=8, depth=1, seed=6)
    assert torch.equal(a.encoding.table, b.encoding.table)
    assert not torch.equal(a.encoding.table, c.encoding.table)
    t = a.encoding.table.detach()
    assert t.abs().max() <= TABLE_INIT and t.std() > TABLE_INIT / 3  # U(-1e-4, 1e-4)
    state = torch.get_rng_state()
    DenseGrid(2, resolution=4, generator=_gen()), HashGrid(2, levels=2, generator=_gen())
    assert torch.equal(torch.get_rng_state(), state), "global RNG untouched"


def _node_grid(R: int, d: int) -> list[torch.Tensor]:
    axis = torch.linspace(-1, 1, R, dtype=torch.float64)
    return list(torch.meshgrid(*[axis] * d, indexing="ij"))


@pytest.mark.parametrize("d", [1, 2, 3])
def test_dense_grid_hits_its_nodes_and_is_exactly_linear_between(d):
    R = 5
    grid = DenseGrid(d, resolution=R, features=2).double()
    nodes = _node_grid(R, d)
    coef = torch.tensor([0.3, -0.7, 0.45][:d], dtype=torch.float64)
    affine = lambda *xs: sum(c * x for c, x in zip(coef, xs)) + 0.1  # noqa: E731
    with torch.no_grad():
        grid.table[0] = torch.rand(*[R] * d, generator=_gen(), dtype=torch.float64)
        grid.table[1] = affine(*nodes)
    at_nodes = torch.stack([n.reshape(-1) for n in nodes], 1)  # (R^d, d), row-major
    torch.testing.assert_close(grid(at_nodes)[:, 0], grid.table[0].reshape(-1).detach())
    x = torch.rand(200, d, generator=_gen(1), dtype=torch.float64) * 2 - 1
    torch.testing.assert_close(grid(x)[:, 1], affine(*x.T))  # affine: reproduced exactly
    if d == 2:  # bilinear reproduces x y too
        with torch.no_grad():
            grid.table[1] = nodes[0] * nodes[1]
        torch.testing.assert_close(grid(x)[:, 1], x[:, 0] * x[:, 1])


def test_bicubic_interpolates_nodes_keeps_constants_and_has_gradients():
    R = 7
    grid = DenseGrid(2, resolution=R, features=1, interpolation="cubic").double()
    nodes = _node_grid(R, 2)
    with torch.no_grad():
        grid.table[0] = torch.rand(R, R, generator=_gen(), dtype=torch.float64)
    at_nodes = torch.stack([n.reshape(-1) for n in nodes], 1)
    torch.testing.assert_close(grid(at_nodes)[:, 0], grid.table[0].reshape(-1).detach())
    with torch.no_grad():
        grid.table.fill_(2.5)
    x = torch.rand(100, 2, generator=_gen(1), dtype=torch.float64) * 2 - 1
    torch.testing.assert_close(grid(x)[:, 0], torch.full((100,), 2.5, dtype=torch.float64))
    x.requires_grad_(True)  # grid_sample's bicubic backward on the CPU: table and coordinates
    grid(x).square().sum().backward()
    assert grid.table.grad is not None and grid.table.grad.abs().sum() > 0
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("d,interp", [(1, "linear"), (1, "cubic"), (2, "linear"), (2, "cubic"),
                                      (3, "linear")])
def test_dense_grid_corner_weights_are_what_grid_sample_computes(d, interp):
    grid = DenseGrid(d, resolution=6, features=3, interpolation=interp)
    with torch.no_grad():
        grid.table.normal_(generator=_gen())
    x = torch.rand(50, d, generator=_gen(1)) * 2 - 1
    x[0], x[1] = 1.0, -1.0
    idx, w = grid.corner_weights(x)
    assert idx.shape == (50, 1, (2 if interp == "linear" else 4) ** d)
    torch.testing.assert_close(w.sum(-1), torch.ones(50, 1))  # a partition of unity
    explicit = (w[..., None] * grid.table_rows()[idx]).sum(2).reshape(50, -1)
    torch.testing.assert_close(grid(x), explicit, atol=1e-5, rtol=1e-5)


def test_parameter_counts_include_the_tables():
    R, F, D = 10, 3, 8
    grid = inrank.build("grid", 2, 3, width=D, depth=1, grid_resolution=R, grid_features=F)
    assert sum(p.numel() for p in grid.parameters()) == R * R * F + (F * D + D) + (D * 3 + 3)
    direct = inrank.build("grid", 2, 3, depth=0, grid_resolution=R, grid_features=F)
    assert len(direct.linears) == 1 and direct.hidden_features(torch.zeros(2, 2))[0].shape == (2, F)
    assert sum(p.numel() for p in direct.parameters()) == R * R * F + F * 3 + 3
    hg = inrank.build("hashgrid", 3, 1, width=D, depth=1, hash_levels=3, hash_log2_table=6,
                      hash_base_resolution=2, hash_growth=2.0)
    entries = sum(min(64, (n + 1) ** 3) for n in (2, 4, 8))  # 27 + 64 + 64
    assert sum(p.numel() for p in hg.parameters()) == entries * 2 + (6 * D + D) + (D + 1)


def test_configuration_errors_are_one_clear_line():
    with pytest.raises(InputError, match="cubic interpolation is 1-D or 2-D only"):
        CoordinateMLP(MLPConfig(in_dim=3, encoding="grid", grid_interpolation="cubic"))
    with pytest.raises(InputError, match="batchnorm='first' needs a hidden layer"):
        MLPConfig(depth=0, batchnorm="first").validate()
    with pytest.raises(InputError, match="first_init='rei'"):
        MLPConfig(depth=0, first_init="rei").validate()
    with pytest.raises(InputError, match="1- to 3-D"):
        HashGrid(4)
    with pytest.raises(InputError, match="growth must be >= 1"):
        HashGrid(2, growth=0.5)
    with pytest.raises(InputError, match="grid_interpolation"):
        MLPConfig(grid_interpolation="nearest").validate()
    with pytest.raises(InputError, match="needs resolution >= 4"):
        DenseGrid(2, resolution=3, interpolation="cubic")


def test_tables_train_at_the_scaled_lr_with_adam_and_muon():
    model = inrank.build("hashgrid", 2, 3, width=8, depth=3)
    assert model.config.encoding_lr_scale == 10 and lr_scales(model) == {"encoding.": 10.0}
    named = list(model.named_parameters())
    adam = make_optimizer(named, [], lr=1e-3, lr_scales=lr_scales(model))
    assert [g["lr"] for g in adam.param_groups] == [1e-3, 1e-2]
    assert adam.param_groups[1]["params"] == [model.encoding.table]
    muon = make_optimizer(named, hidden_weight_names(model), optimizer="muon", lr=1e-3,
                          muon_lr=0.02, lr_scales=lr_scales(model))
    by_lr = {g["lr"]: g["params"] for g in muon.param_groups}
    assert by_lr[1e-2] == [model.encoding.table] and len(by_lr[0.02]) == 2  # hidden weights
    assert lr_scales(inrank.build("relu", 2, 3, width=8)) == {}


def test_a_fit_step_moves_the_table_ten_times_as_far(camera16):
    # Adam's first step moves every parameter with a gradient by about its lr
    model = inrank.build("grid", 2, 1, width=8, depth=1, grid_resolution=8)
    before = copy.deepcopy(model.state_dict())
    inrank.fit(model, camera16, steps=1, lr=1e-3, progress=False, accept_worse=True)
    table = (model.encoding.table - before["encoding.table"]).abs().max().item()
    weight = (model.linears[1].weight - before["linears.1.weight"]).abs().max().item()
    assert table == pytest.approx(1e-2, rel=0.01) and weight == pytest.approx(1e-3, rel=0.01)


@pytest.mark.parametrize("name", ["grid", "hashgrid"])
def test_preset_metadata(name):
    p = inrank.preset(name)
    assert name in inrank.presets("grids") and p.config.encoding == name
    assert p.knob in ("grid_resolution", "hash_levels") and getattr(p.config, p.knob) in p.knob_grid
    assert "Mueller" in p.source and p.config.encoding_lr_scale == 10.0
    assert isinstance(inrank.nn.registry.knob_overrides(p.knob, 12.0)[p.knob], int)


def test_grid_fit_beats_relu_at_a_like_budget(camera16):
    # 16 x 16 image: a 12 x 12 grid read out linearly (146 parameters) vs a ReLU MLP (1 x 36,
    # 145 parameters), 100 Adam steps at lr 3e-3 (the table at 3e-2); measured 30.9 vs 16.6 dB
    grid = inrank.build("grid", 2, 1, depth=0, grid_resolution=12, grid_features=1)
    relu = inrank.build("relu", 2, 1, width=36, depth=1)
    assert abs(sum(p.numel() for p in grid.parameters())
               - sum(p.numel() for p in relu.parameters())) < 5
    g = inrank.fit(grid, camera16, steps=100, lr=3e-3, progress=False, eval_every=50, accept_worse=True)
    r = inrank.fit(relu, camera16, steps=100, lr=3e-3, progress=False, eval_every=50, accept_worse=True)
    assert g.final_psnr > 28 and g.final_psnr > r.final_psnr + 10


@pytest.mark.parametrize("name,depth", [("grid", 0), ("hashgrid", 1)])
def test_fit_many_stacks_grids_with_vmap_and_equals_separate_fits(name, depth):
    sigs = [inrank.load_image(s, size=8) for s in ("camera", "moon")]
    kw = dict(width=8, depth=depth, seed=3)
    models = [inrank.build(name, 2, 1, **kw) for _ in sigs]
    assert stacked_forward(models) is None  # the grid lookup goes through vmap
    stacked = inrank.fit_models(models, sigs, steps=4, lr=1e-3, progress=False, chunk=2, accept_worse=True)
    for m, s, r in zip(models, sigs, stacked):
        alone = inrank.build(name, 2, 1, **kw)
        ref = inrank.fit(alone, s, steps=4, lr=1e-3, seed=3, progress=False, accept_worse=True)
        assert r.final_psnr == pytest.approx(ref.final_psnr, abs=1e-4)
        torch.testing.assert_close(m.encoding.table, alone.encoding.table, atol=1e-6, rtol=1e-4)


def test_checkpoint_holds_the_table_and_resumes_exactly(camera16, tmp_path, monkeypatch):
    import inrank.train.loop as loop

    def run(path=None):
        model = inrank.build("hashgrid", 2, 1, width=8, depth=1, hash_levels=4)
        res = inrank.fit(model, camera16, steps=6, lr=1e-3, progress=False, checkpoint=path,
                         checkpoint_every=2, accept_worse=True)
        return model, res

    ref_model, ref = run()
    real, calls = loop.train_step, []

    def killed_at_5(*a, **k):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    ck = tmp_path / "ck.pt"
    monkeypatch.setattr(loop, "train_step", killed_at_5)
    with pytest.raises(KeyboardInterrupt):
        run(ck)
    assert "encoding.table" in torch.load(ck, weights_only=False)["models"]
    monkeypatch.setattr(loop, "train_step", real)
    model, res = run(ck)
    assert res.resumed_from == 4 and res.final_psnr == ref.final_psnr
    assert torch.equal(model.encoding.table, ref_model.encoding.table)


def test_bf16_fit_runs(camera16):
    model = inrank.build("hashgrid", 2, 1, width=8, depth=1, hash_levels=4)
    res = inrank.fit(model, camera16, steps=3, lr=1e-3, progress=False, precision="bf16",
                     check_steps=0, accept_worse=True)
    assert math.isfinite(res.final_psnr) and res.precision == "bf16"


def test_cli_fits_both_and_load_rebuilds_them(tmp_path, capsys):
    for name, depth in (("hashgrid", "1"), ("grid", "0")):
        out = tmp_path / name
        assert main(["fit", "camera", "--method", name, "--size", "12", "--steps", "5",
                     "--width", "8", "--depth", depth, "--out", str(out), "--no-progress", "--accept-worse"]) == 0
        assert "table values" in capsys.readouterr().err
        saved = json.loads((out / "model.json").read_text())
        assert saved["model"]["encoding"] == name and saved["model"]["encoding_lr_scale"] == 10
        lr = json.loads((out / "config.json").read_text())["lr"]  # depth 0: no width to scale by
        assert lr == inrank.preset(name).lr_for("adam", width=None if depth == "0" else 8)["lr"]
        run = inrank.load(out)
        sig = inrank.load_image("camera", size=12)
        with torch.no_grad():
            pred = run.model(sig.coords)
        assert inrank.metrics.psnr(pred, sig.values) == pytest.approx(
            run.metrics["final_psnr"], abs=1e-6)


def test_cli_fit_reads_a_kodak_name_from_the_data_folder(tmp_path, monkeypatch, capsys):
    from PIL import Image

    (tmp_path / "data" / "kodak").mkdir(parents=True)
    Image.new("RGB", (12, 8), (200, 30, 90)).save(tmp_path / "data" / "kodak" / "kodim05.png")
    monkeypatch.setenv("INRANK_DATA", str(tmp_path / "data"))
    assert main(["fit", "kodim05", "--method", "grid", "--steps", "3", "--width", "8",
                 "--depth", "1", "--out", str(tmp_path / "out"), "--no-progress", "--accept-worse"]) == 0
    assert "grid on kodim05 8x12" in capsys.readouterr().out


def _jacobian_table_block(model, x, outputs):
    """The table's NTK block by Jacobian contraction (the reference), float64."""
    m = copy.deepcopy(model).double().eval()
    params = {"encoding.table": m.encoding.table.detach()}
    single = lambda p, xi: functional_call(m, p, (xi[None].double(),))[0]  # noqa: E731
    J = vmap(jacrev(single), in_dims=(None, 0))(params, x)["encoding.table"].flatten(2)
    if outputs == "trace":
        return torch.einsum("iap,jap->ij", J, J)
    n, c, _ = J.shape
    return torch.einsum("iap,jbp->iajb", J, J).reshape(n * c, n * c)


@pytest.mark.parametrize("name,kw", [
    ("grid", {"grid_resolution": 5}),
    ("grid", {"grid_resolution": 5, "grid_interpolation": "cubic"}),
    ("hashgrid", {"hash_levels": 3, "hash_log2_table": 4, "hash_base_resolution": 2,
                  "hash_growth": 2.0})])
@pytest.mark.parametrize("depth", [0, 2])
def test_table_ntk_block_equals_the_jacobian_contraction(name, kw, depth):
    model = inrank.build(name, 2, 3, width=8, depth=depth, **kw)
    with torch.no_grad():
        model.encoding.table.normal_(generator=_gen())
    x = torch.rand(20, 2, generator=_gen(1), dtype=torch.float64) * 2 - 1
    for outputs in ("trace", "full"):
        torch.testing.assert_close(table_ntk_block(model, x, outputs=outputs),
                                   _jacobian_table_block(model, x, outputs),
                                   atol=1e-12, rtol=1e-9)


def test_diagnose_reports_the_table_block_beside_the_encoded_features():
    model = inrank.build("grid", 2, 1, width=8, depth=1, grid_resolution=4, grid_features=2)
    with torch.no_grad():
        model.encoding.table.normal_(generator=_gen())
    x = inrank.grid_coords((8, 8))
    d = inrank.diagnose(model, x)
    enc = model.encoding(x).detach().double()
    ones = torch.cat([enc, torch.ones(64, 1, dtype=torch.float64)], 1)
    assert d.input_features.exact == torch.linalg.matrix_rank(ones).item() == 3
    tab = d.encoding_table
    assert tab.name == "encoding.table" and (tab.fan_in, tab.fan_out) == (16, 2)
    # rank(W W^T) rank(G G^T): the 16 nodes the data touches times the 2 features
    assert tab.ntk.exact == 16 * 2 and tab.ntk_share > 0
    assert sum(layer.ntk_share for layer in d.layers) + tab.ntk_share == pytest.approx(1.0)
    block = table_ntk_block(model, x)
    assert tab.ntk_top[0] == pytest.approx(torch.linalg.eigvalsh(block)[-1].item())
    assert "encoding.table" in d.to_markdown() and "table_ntk=" in repr(d)
    json.dumps(d.to_dict())
    with pytest.raises(InputError, match="no learned table encoding"):
        table_ntk_block(inrank.build("relu", 2, 1, width=8), x)
