"""diagnose(): per-layer ranks and NTK spectra; the `inrank diagnose` command end to end."""
from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn

import inrank
from inrank.diagnosis import rank
from inrank.cli import main
from inrank.diagnosis.operators import compress_factor
from inrank.diagnosis.per_layer import _dual_eigenvalues, diagnose
from inrank.diagnosis.ntk import layerwise_ntk, ntk_factors


def _coords(n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 2, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_diagnosis_fields_and_consistency():
    model = inrank.build("relu", 2, 3, width=16, depth=2)
    x = _coords(40)
    d = diagnose(model, x, rtols=(1e-3, 1e-6))
    assert d.label == "relu" and d.n_points == 40 and len(d.layers) == 3
    assert [lay.name for lay in d.layers] == ["linears.0", "linears.1", "linears.2"]
    assert (d.layers[0].fan_in, d.layers[0].fan_out, d.layers[2].fan_out) == (2, 16, 3)
    assert d.input_features.exact == 3  # [x, y, 1]
    # features of layer l are [H_l, 1], as CoordinateMLP.hidden_features gives them
    feats = copy.deepcopy(model).double().hidden_features(x.double())  # diagnosis is float64
    for lay, h in zip(d.layers[:2], feats[1:]):
        h1 = torch.cat([h, torch.ones(40, 1, dtype=torch.float64)], 1)
        assert lay.features.exact == rank.exact_rank(h1)
        assert lay.features.at(1e-3) == rank.numerical_rank(h1, rtol=1e-3)
        assert lay.features.effective == pytest.approx(rank.effective_rank(h1), rel=1e-5)
    assert d.layers[-1].features is None
    # NTK: shares sum to 1, spectra are the blocks' eigenvalues, by either route: the output
    # layer's G is the same for every point (rank 1), so its dual Gram has rank(H~) <= 17 < N
    # rows; the hidden layer's has rank(G) * rank(H~) > N here: the primal (N, N) kernel
    ntk = layerwise_ntk(model, x)
    assert sum(lay.ntk_share for lay in d.layers) == pytest.approx(1.0)
    assert d.layers[1].ntk_solver == "primal" and d.layers[2].ntk_solver == "dual"
    for lay, block in zip(d.layers, ntk.blocks):
        ev = rank.kernel_eigenvalues(block)
        assert lay.ntk_share == pytest.approx(float(block.trace() / ntk.total.trace()))
        assert torch.allclose(lay.spectrum[:5], ev[:5], rtol=1e-9)
        assert lay.ntk.at(1e-3) == rank.spectral_numerical_rank(ev, rtol=1e-3)
        assert lay.ntk_top == pytest.approx(ev[:5].tolist(), rel=1e-9)
    assert d.total.at(1e-3) == rank.spectral_numerical_rank(
        rank.kernel_eigenvalues(ntk.total), rtol=1e-3)


def test_dual_gram_equals_primal_block_spectrum():
    model = inrank.build("siren", 2, 3, width=6, depth=2)
    x = _coords(200)
    f = ntk_factors(model, x)
    block = layerwise_ntk(model, x, layers=[0]).blocks[0]
    g = compress_factor(f.G[0].reshape(200, -1))  # (N, 18)
    dual = _dual_eigenvalues(g, compress_factor(f.H[0]), chunk=64)  # q = 18 * 3 = 54
    primal = rank.kernel_eigenvalues(block)
    assert dual.shape == (54,)
    assert torch.allclose(dual, primal[:54], rtol=1e-8, atol=1e-10 * float(primal[0]))
    assert rank.spectral_exact_rank(dual, size=200) == rank.spectral_exact_rank(primal, size=200)


def test_generic_module_features_only_markdown_and_plot(tmp_path):
    model = nn.Sequential(nn.Linear(2, 10), nn.Tanh(), nn.Linear(10, 10), nn.Tanh(),
                          nn.Linear(10, 1))
    x = _coords(30)
    d = diagnose(model, x, label="mlp")
    assert [lay.name for lay in d.layers] == ["0", "2", "4"] and d.total is not None
    md = d.to_markdown()
    assert "| 2 | [2] | 10 -> 10 |" in md and "N = 30" in md and "Whole NTK" in md
    d.plot(tmp_path / "d.png")
    assert (tmp_path / "d.png").stat().st_size > 1000
    json.dumps(d.to_dict())
    light = diagnose(model, x, ntk=False)
    assert all(lay.ntk is None for lay in light.layers) and light.total is None
    assert "NTK" not in light.to_markdown().split("\n")[2]
    light.plot(tmp_path / "light.png")


def test_layers_selects_ntk_blocks_and_rejects_out_of_range():
    model = inrank.build("relu", 2, 3, width=8, depth=2)
    x = _coords(30)
    d = diagnose(model, x, layers=[1, "linears.2"])
    assert [lay.ntk is not None for lay in d.layers] == [False, True, True]
    assert diagnose(model, x, layers=[-1]).layers[2].ntk_top == d.layers[2].ntk_top
    assert d.total is None  # only with every block
    for bad in ([5], [3], [-4]):  # 3 dense layers: indices 0..2 (or -3..-1)
        with pytest.raises(ValueError, match="out of range.*3 dense layers"):
            diagnose(model, x, layers=bad)
    with pytest.raises(ValueError, match="unknown layer"):
        diagnose(model, x, layers=["nope"])


def test_errors():
    model = inrank.build("relu", 2, 3, width=8, depth=2)
    with pytest.raises(ValueError, match="rtols"):
        diagnose(model, _coords(8), rtols=(2.0,))
    with pytest.raises(ValueError, match="shape"):
        diagnose(model, torch.zeros(8, 3))


def test_cli_end_to_end(tmp_path, capsys):
    out = tmp_path / "diag"
    code = main(["diagnose", "--methods", "relu,bn", "--width", "8", "--depth", "2", "--size",
                 "8", "--widths", "4,8", "--trained", "2", "--out", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "**relu (init)**" in text and "**bn (step 2)**" in text and "| bn |" in text
    for name in ("config.json", "diagnosis.md", "diagnosis.json", "rank_bars.png",
                 "ntk_spectra.png", "rank_vs_width.png"):
        assert (out / name).exists(), name
    records = json.loads((out / "diagnosis.json").read_text())
    assert records[0]["n_points"] == 64 and len(records[0]["layers"]) == 3
    assert set(records[-1]["rank_vs_width"]) == {"relu", "bn"}


def test_cli_unknown_method(tmp_path, capsys):
    assert main(["diagnose", "--methods", "relu,nope", "--out", str(tmp_path)]) == 2
    assert "nope" in capsys.readouterr().err


def test_matrix_free_solver_estimates_and_says_so():
    model = inrank.build("relu", 2, 3, width=16, depth=2)
    x = _coords(300)
    dense = diagnose(model, x, solver="dense")
    free = diagnose(model, x, solver="matrix-free", top=8, probes=8, steps=30)
    assert dense.solver == "dense" and free.solver == "matrix-free" and free.total is None
    for a, b in zip(dense.layers, free.layers):
        if b.ntk_solver == "matrix-free":
            assert b.ntk.estimated and b.ntk.exact is None
            assert b.ntk_top == pytest.approx(a.ntk_top, rel=1e-8)
            assert b.ntk.effective == pytest.approx(a.ntk.effective, rel=0.1)
        else:  # small blocks stay exact through their dual Gram (compressed to tol = 1e-6)
            assert b.ntk_solver == "dual" and b.ntk.numerical == a.ntk.numerical
            assert b.ntk.effective == pytest.approx(a.ntk.effective, rel=1e-6)
    assert "~" in free.to_markdown() and "matrix-free" in free.to_markdown()
    with pytest.raises(ValueError, match="unknown solver"):
        diagnose(model, x, solver="fast")


def test_cli_diagnoses_a_trained_checkpoint(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["fit", "camera", "--size", "10", "--steps", "5", "--width", "12", "--depth",
                 "2", "--method", "pe", "--out", str(run), "--no-progress", "--accept-worse"]) == 0
    out = tmp_path / "diag"
    assert main(["diagnose", "--model", str(run / "model.pt"), "camera", "--size",
                 "10", "--out", str(out), "--no-total"]) == 0
    captured = capsys.readouterr()
    assert "**pe (trained)**" in captured.out and "NTK spectra dense" in captured.err
    records = json.loads((out / "diagnosis.json").read_text())
    assert records[0]["layers"][0]["fan_out"] == 12
    # the diagnosis is of the saved weights: the same as diagnosing the model in memory
    model = inrank.build("pe", 2, 1, width=12, depth=2)
    model.load_state_dict(torch.load(run / "model.pt", weights_only=True))
    ref = diagnose(model, inrank.load_image("camera", size=10).coords, total=False)
    assert records[0]["layers"][1]["ntk_top"] == pytest.approx(ref.layers[1].ntk_top, rel=1e-9)
    (run / "model.json").unlink()  # the architecture; config.json holds the command's options
    assert main(["diagnose", "--model", str(run / "model.pt"), "camera", "--size", "10",
                 "--out", str(out)]) == 2
    assert "pass --preset NAME" in capsys.readouterr().err
