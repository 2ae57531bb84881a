"""Layer-wise NTK: every block against the Jacobian-contraction reference, in float64."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import inrank
from inrank.diagnosis.ntk import dense_layers, jacobian_ntk, layerwise_ntk, ntk_factors

RTOL = 1e-10


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-300))


def _coords(n: int = 24, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 2, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _assert_same(a, b) -> None:
    assert a.names == b.names
    assert len(a.blocks) == len(b.blocks)
    for k, (p, q) in enumerate(zip(a.blocks, b.blocks)):
        assert p.shape == q.shape and p.dtype == torch.float64
        assert _rel(p, q) < RTOL, f"block {k}: {_rel(p, q):.2e}"
    assert _rel(a.total, b.total) < RTOL


@pytest.mark.parametrize("outputs", ["trace", "full"])
@pytest.mark.parametrize("name", inrank.presets())
def test_blocks_match_jacobian_reference(name, outputs, whole_ntk):
    model = inrank.build(name, 2, 3, width=12, depth=2, seed=1)
    x = _coords()
    a = layerwise_ntk(model, x, outputs=outputs)
    b = jacobian_ntk(model, x, outputs=outputs)
    _assert_same(a, b)
    n = 24 if outputs == "trace" else 24 * 3
    assert a.total.shape == (n, n) and len(a.blocks) == 3
    # the total against one Jacobian of all dense parameters, never split into blocks (float64;
    # eval-mode BatchNorm there, so compare the running-statistics kernel for the bn presets)
    ref = whole_ntk(model, x, outputs=outputs)
    total = a.total if "bn" not in name else layerwise_ntk(model, x, outputs=outputs,
                                                           batchnorm="running").total
    assert _rel(total, ref) < RTOL


@pytest.mark.parametrize("name", ["relu", "siren", "bn-all"])
def test_blocks_symmetric_psd_and_trace_of_full(name):
    model = inrank.build(name, 2, 3, width=10, depth=2, seed=2)
    x = _coords(20)
    tr, full = layerwise_ntk(model, x), layerwise_ntk(model, x, outputs="full")
    for bt, bf in zip(tr.blocks + [tr.total], full.blocks + [full.total]):
        assert torch.allclose(bt, bt.T, rtol=0, atol=1e-13 * float(bt.abs().max()))
        ev = torch.linalg.eigvalsh(bt)
        assert ev.min() > -1e-10 * ev.max()
        summed = bf.view(20, 3, 20, 3).diagonal(dim1=1, dim2=3).sum(-1)  # sum_a Theta[(i,a),(j,a)]
        assert _rel(summed, bt) < 1e-13


def test_output_layer_block_is_c_times_feature_gram():
    model = inrank.build("relu", 2, 3, width=8, depth=2)
    x = _coords(16)
    ntk = layerwise_ntk(model, x)
    h = model.hidden_features(x)[-1].double()
    h1 = torch.cat([h, torch.ones(16, 1, dtype=torch.float64)], 1)
    assert _rel(ntk.blocks[-1], 3 * h1 @ h1.T) < 1e-6  # features computed in float32 here


def test_tiles_layers_and_names():
    model = inrank.build("pe", 2, 3, width=8, depth=3)
    x = _coords(23)
    whole = layerwise_ntk(model, x, chunk=4096)
    tiled = layerwise_ntk(model, x, chunk=5)
    _assert_same(tiled, whole)
    some = layerwise_ntk(model, x, layers=[1, "linears.3"], chunk=7)
    assert some.names == ["linears.1", "linears.3"]
    assert _rel(some.blocks[0], whole.blocks[1]) < 1e-13
    assert _rel(some.total, whole.blocks[1] + whole.blocks[3]) < 1e-13
    ref = jacobian_ntk(model, x, layers=[-1])
    assert ref.names == ["linears.3"] and _rel(ref.total, whole.blocks[3]) < RTOL


def test_batch_statistics_frozen_and_model_untouched():
    model = inrank.build("bn-all", 2, 3, width=8, depth=2).train()
    x = _coords(32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    f = ntk_factors(model, x)
    assert model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    # the frozen-statistics forward equals the training-mode forward on the same batch
    ref = copy.deepcopy(model).double().train()
    h = ref.hidden_features(x.double())[-1]  # (N, D), batch statistics
    assert torch.allclose(f.H[-1][:, :-1], h, rtol=0, atol=1e-12)


def test_running_and_coupled_batchnorm_modes():
    model = inrank.build("bn", 2, 3, width=8, depth=2)
    with torch.no_grad():  # non-trivial running statistics
        model.norms[0].running_mean.uniform_(-0.5, 0.5)
        model.norms[0].running_var.uniform_(0.5, 2.0)
    x = _coords(20)
    _assert_same(layerwise_ntk(model, x, batchnorm="running"),
                 jacobian_ntk(model, x, batchnorm="running"))
    frozen = jacobian_ntk(model, x, batchnorm="batch")
    coupled = jacobian_ntk(model, x, batchnorm="coupled")
    assert _rel(coupled.blocks[0], frozen.blocks[0]) > 1e-3  # coupling changes layer 1's block
    with pytest.raises(ValueError, match="coupled"):
        layerwise_ntk(model, x, batchnorm="coupled")
    plain = inrank.build("relu", 2, 3, width=8, depth=2)
    _assert_same(jacobian_ntk(plain, x, batchnorm="coupled"), layerwise_ntk(plain, x))


class _Generic(nn.Module):
    """Not a preset: tanh, a bias-free hidden layer, a sigmoid head."""

    def __init__(self) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(3)
        self.head = nn.Linear(6, 2)
        self.inp = nn.Linear(2, 6)
        self.mid = nn.Linear(6, 6, bias=False)
        for p in self.parameters():
            with torch.no_grad():
                p.copy_(torch.randn(p.shape, generator=gen))

    def forward(self, x):
        return torch.sigmoid(self.head(torch.tanh(self.mid(torch.tanh(self.inp(x))))))


@pytest.mark.parametrize("outputs", ["trace", "full"])
def test_generic_module(outputs):
    model, x = _Generic(), _coords(18)
    assert [n for n, _ in dense_layers(model, x)] == ["inp", "mid", "head"]  # forward order
    _assert_same(layerwise_ntk(model, x, outputs=outputs), jacobian_ntk(model, x, outputs=outputs))


def test_errors():
    model, x = inrank.build("relu", 2, 3, width=8, depth=2), _coords(8)
    with pytest.raises(ValueError, match="outputs"):
        layerwise_ntk(model, x, outputs="diag")
    with pytest.raises(ValueError, match="out of range"):
        layerwise_ntk(model, x, layers=[5])
    with pytest.raises(ValueError, match="unknown layer"):
        layerwise_ntk(model, x, layers=["nope"])
    with pytest.raises(ValueError, match="shape"):
        layerwise_ntk(model, x[0])
    with pytest.raises(ValueError, match="batchnorm"):
        layerwise_ntk(model, x, batchnorm="frozen")
    lin = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="more than once"):
        layerwise_ntk(nn.Sequential(lin, nn.Tanh(), lin), x)
    with pytest.raises(TypeError, match="nn.Module"):
        layerwise_ntk(lambda t: t, x)
