"""Synthetic 1-D signals, and REI / ranks / diagnose in d = 1, 2, 3."""
import math

import pytest
import torch
from torch import nn

import inrank
from inrank.nn.init import rank_expanding_, rank_expanding_mlp_, rei_layers, rei_variants
from inrank.diagnosis.rank import exact_rank, numerical_rank
from inrank.signals.synthetic import SIGNALS_1D, chirp, signal_1d, sinusoids, step


def _ones(x):
    return torch.cat([x, torch.ones(x.shape[0], 1, dtype=x.dtype)], dim=1)


@pytest.mark.parametrize("name", list(SIGNALS_1D))
def test_layout_and_range(name):
    s = signal_1d(name, n_points=100)
    assert s.kind == "1d" and s.shape == (100,) and s.coords.shape == (100, 1)
    assert s.values.shape == (100, 1) and float(s.values.abs().max()) <= 1.0
    assert s.meta["data_range"] == 2.0
    assert float(s.coords.min()) == pytest.approx(-0.99) and float(s.coords.max()) == pytest.approx(0.99)


def test_sinusoid_frequency_counts_zero_crossings():
    y = sinusoids(2000, freqs=(5,), phases=(0.3,)).values[:, 0]
    crossings = int((torch.sign(y[1:]) != torch.sign(y[:-1])).sum())
    assert crossings == 10  # 5 cycles over [-1, 1]


def test_sinusoids_normalised_and_checked():
    s = sinusoids(64, freqs=(1, 2), amplitudes=(2.0, -2.0))
    assert float(s.values.abs().max()) <= 1.0
    with pytest.raises(ValueError, match="same length"):
        sinusoids(8, freqs=(1, 2), amplitudes=(1,))
    with pytest.raises(ValueError, match="unknown 1-D signal"):
        signal_1d("square", n_points=8)


def test_step_and_chirp():
    s = step(10, at=0.25)
    assert s.values[:, 0].tolist() == [-1.0] * 6 + [1.0] * 4
    y = chirp(4000, f0=1, f1=40).values[:, 0]
    first, last = y[:2000], y[2000:]
    zc = [int((torch.sign(p[1:]) != torch.sign(p[:-1])).sum()) for p in (first, last)]
    assert zc[1] > 2 * zc[0]  # the frequency rises


def test_rank_of_x_and_ones_is_two():
    s = signal_1d("sinusoids", n_points=256)
    assert exact_rank(_ones(s.coords)) == 2


GRIDS = [(1, (2000,)), (2, (16, 16)), (3, (7, 7, 7))]


def _layer_features(variant, d, x, width=48):
    """[H_l, 1] after the layers the REI variant sets (l = 1 or 2), computed in float64 (float32
    round-off would count as rank)."""
    model = inrank.build("relu", d, 1, width=width, depth=2, seed=0)
    layers = 1
    if variant is not None:
        rank_expanding_mlp_(model, variant=variant, generator=torch.Generator().manual_seed(0))
        layers = rei_layers(variant)
    return model, _ones(model.double().hidden_features(x.double())[layers])


def _crossing(lin) -> int:
    """How many first-layer kinks ``w.x + b = 0`` meet the box ``[-1, 1]^d`` (``|b| <= ||w||_1``).
    A neuron whose kink misses the box is zero or affine on it, so it adds nothing beyond
    ``span{x, 1}``: ``rank [ReLU(X W^T + b), 1] <= crossing + d + 1`` (the inlet collapse)."""
    w, b = lin.weight.detach().double(), lin.bias.detach().double()
    return int((b.abs() <= w.abs().sum(1)).sum())


@pytest.mark.parametrize("d,shape", GRIDS)
def test_rei_kink_crosses_the_box_and_gives_full_rank(d, shape):
    """Every REI kink meets [-1, 1]^d, so on a dense grid [ReLU(X W^T + b), 1] has exact rank
    D + 1 in any dimension; the default init's rank is capped by its crossing kinks."""
    x = inrank.grid_coords(shape)
    lin = rank_expanding_(nn.Linear(d, 48), generator=torch.Generator().manual_seed(0))
    assert _crossing(lin) == 48
    assert exact_rank(_ones(torch.relu(lin.double()(x.double())).detach())) == 49
    default_model, default = _layer_features(None, d, x)
    _, kink = _layer_features("kink", d, x)
    assert exact_rank(kink) == 49
    bound = _crossing(default_model.linears[0]) + d + 1
    assert exact_rank(default) <= min(49, bound)
    if d == 1:  # w, b ~ U(-1, 1): about half the kinks miss [-1, 1]; a real collapse
        assert bound < 49 and exact_rank(default) < exact_rank(kink)


def _zigzag_features(d: int, width: int = 48) -> int:
    """F, the zig-zags (plus the linear feature) the zigzag variant builds at this width: per
    direction ``m = width // k`` kinks give ``log2(m)`` octaves of 2 phases each, plus ``s``;
    k = 1 direction in 1-D, else 6 (``min(6, width // 8)``)."""
    k = 1 if d == 1 else min(6, width // 8)
    return k * (2 * int(math.log2(width // k)) + 1)


@pytest.mark.parametrize("d,shape", GRIDS)
def test_rei_variants_in_any_dimension(d, shape):
    x = inrank.grid_coords(shape)
    assert set(rei_variants()) >= {"kink", "zigzag", "triangle"}
    default_model, default = _layer_features(None, d, x)
    # triangle: layer 2 is a random mix of the zig-zags, full and well conditioned (the claim)
    _, tri = _layer_features("triangle", d, x)
    assert exact_rank(tri) == numerical_rank(tri, rtol=1e-3) == 49
    # zigzag: every zig-zag is the pre-activation of some layer-2 neuron, so the features span
    # at least the F zig-zags and the ones column
    _, zig = _layer_features("zigzag", d, x)
    assert exact_rank(zig) >= _zigzag_features(d) + 1
    if d == 1:  # beyond what the default can reach at all (its crossing-kink bound)
        cap = _crossing(default_model.linears[0]) + 2
        assert numerical_rank(zig, rtol=1e-3) > cap and numerical_rank(tri, rtol=1e-3) > cap


@pytest.mark.parametrize("d,shape", [(1, (64,)), (3, (5, 5, 5))])
def test_relu_rei_preset_second_layer_rank(d, shape):
    """The preset (two-layer 'triangle' REI) hands layer 3 features of near-full numerical rank
    (at least D of D + 1), more well-conditioned directions than the default ReLU's features
    have at all (its exact rank)."""
    x = inrank.grid_coords(shape)
    x = x.double()
    rei = inrank.build("relu+rei", d, 1, width=24, depth=2, seed=0).double().hidden_features(x)
    relu = inrank.build("relu", d, 1, width=24, depth=2, seed=0).double().hidden_features(x)
    assert [f.shape for f in rei] == [(x.shape[0], d), (x.shape[0], 24), (x.shape[0], 24)]
    rank_rei = numerical_rank(_ones(rei[2]), rtol=1e-3)
    assert rank_rei >= 24 and rank_rei > exact_rank(_ones(relu[2]))


@pytest.mark.parametrize("d,shape", [(1, (40,)), (3, (4, 4, 4))])
def test_diagnose_in_one_and_three_dimensions(d, shape):
    from inrank.diagnosis.per_layer import diagnose
    from inrank.diagnosis.ntk import jacobian_ntk
    from inrank.diagnosis.rank import kernel_eigenvalues, spectral_numerical_rank

    x = inrank.grid_coords(shape)
    for method in ("relu", "relu+rei"):
        model = inrank.build(method, d, 1, width=16, depth=2, seed=0)
        diag = diagnose(model, x)
        assert diag.n_points == x.shape[0] and len(diag.layers) == 3
        assert diag.input_features.exact == d + 1  # rank of [x, 1]
        feats = model.double().hidden_features(x.double())  # float64, as diagnose measures
        for layer, h in zip(diag.layers[:2], feats[1:]):
            assert layer.features.exact == exact_rank(_ones(h))
        assert diag.layers[2].features is None
        # the second block's spectrum against the Jacobian-contraction reference
        ev = kernel_eigenvalues(jacobian_ntk(model, x, layers=[1]).blocks[0])
        assert diag.layers[1].ntk_top == pytest.approx(ev[:5].tolist(), rel=1e-9)
        assert diag.layers[1].ntk.at(1e-3) == spectral_numerical_rank(ev, rtol=1e-3)


def test_fit_1d_reports_snr():
    s = signal_1d("sinusoids", n_points=128, freqs=(1, 3))
    res = inrank.fit(inrank.build("relu+rei", 1, 1, width=32, depth=2, seed=0), s, steps=200,
                     lr=3e-3, progress=False, accept_worse=True)
    assert res.metrics["snr"] == pytest.approx(inrank.metrics.snr(res.prediction, s.values))
    assert res.metrics["snr"] > 10
