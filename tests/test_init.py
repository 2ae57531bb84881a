import math

import pytest
import torch
from torch import nn

from inrank import init
from inrank.diagnosis.rank import exact_rank
from inrank.signals import grid_coords


def _g(seed=0):
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("fn", [
    init.torch_default_, init.siren_first_,
    lambda lin, generator: init.siren_hidden_(lin, omega0=30.0, generator=generator),
    lambda lin, generator: init.rank_expanding_(lin, generator=generator),
    lambda lin, generator: init.uniform_bias_(lin, 20.0, generator=generator),
])
def test_in_place_returns_same_and_is_seeded(fn):
    a, b = nn.Linear(2, 32), nn.Linear(2, 32)
    b.load_state_dict(a.state_dict())  # same start: parts an init leaves alone stay equal
    assert fn(a, generator=_g(5)) is a
    fn(b, generator=_g(5))
    assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    state = torch.get_rng_state()
    fn(b, generator=_g(6))
    assert torch.equal(torch.get_rng_state(), state), "global RNG must not be used"
    assert not (torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias))


def test_siren_bounds():
    first = init.siren_first_(nn.Linear(2, 4096), generator=_g())
    assert float(first.weight.abs().max()) <= 1 / 2
    assert float(first.weight.abs().max()) > 0.49
    hidden = init.siren_hidden_(nn.Linear(256, 256), omega0=30, generator=_g())
    bound = math.sqrt(6 / 256) / 30
    assert float(hidden.weight.abs().max()) <= bound and float(hidden.weight.abs().max()) > 0.99 * bound
    # uniform: variance bound^2 / 3
    assert abs(float(hidden.weight.var()) - bound ** 2 / 3) < 0.05 * bound ** 2


def test_torch_default_is_uniform_on_pytorchs_bound():
    lin = init.torch_default_(nn.Linear(64, 128), generator=_g())
    bound = 1 / 8  # 1 / sqrt(fan_in)
    for t in (lin.weight, lin.bias):
        t = t.detach()
        assert float(t.abs().max()) <= bound and float(t.abs().max()) > 0.95 * bound
        assert abs(float(t.mean())) < 0.1 * bound
    # U(-a, a) has variance a^2 / 3; 8192 draws pin it to a few percent
    assert float(lin.weight.var()) == pytest.approx(bound ** 2 / 3, rel=0.05)
    ref = nn.Linear(64, 128)  # PyTorch's own init has the same distribution
    assert float(ref.weight.var()) == pytest.approx(float(lin.weight.var()), rel=0.1)


def test_uniform_bias_fills_only_the_bias_and_needs_one():
    lin = nn.Linear(2, 4096)
    w = lin.weight.detach().clone()
    init.uniform_bias_(lin, 20.0, generator=_g())
    assert torch.equal(lin.weight, w)
    assert 19 < float(lin.bias.abs().max()) <= 20
    with pytest.raises(TypeError, match="without a bias"):
        init.uniform_bias_(nn.Linear(2, 4, bias=False), 1.0)


def _inlet_rank(lin, coords):
    feats = torch.relu(coords.double() @ lin.weight.double().T + lin.bias.double())
    return exact_rank(torch.cat([feats, torch.ones(len(coords), 1, dtype=torch.float64)], 1))


def test_rei_reaches_full_exact_rank_where_default_does_not():
    coords = grid_coords((64, 64))
    width = 256
    default = init.torch_default_(nn.Linear(2, width), generator=_g(0))
    rei = init.rank_expanding_(nn.Linear(2, width), generator=_g(0))
    assert _inlet_rank(rei, coords) == width + 1
    assert _inlet_rank(default, coords) < width + 1
    # every kink w.x + b = 0 crosses the domain: some points on each side
    pre = coords @ rei.weight.T + rei.bias
    assert bool(((pre > 0).any(0) & (pre < 0).any(0)).all())


def test_rei_from_data_coordinates_and_domain():
    coords = grid_coords((16, 16))
    lin = init.rank_expanding_(nn.Linear(2, 64), coords, generator=_g(1), scale=3.0)
    assert torch.allclose(lin.weight.norm(dim=1), torch.full((64,), 3.0))
    # kinks pass through data points: each neuron is zero at one grid point
    pre = coords @ lin.weight.T + lin.bias
    assert bool((pre.abs().min(0).values < 1e-5).all())
    with pytest.raises(ValueError, match="unknown REI variant"):
        init.rank_expanding_(nn.Linear(2, 4), variant="nope")
    with pytest.raises(ValueError, match="hi > lo"):
        init.rank_expanding_(nn.Linear(2, 4), domain=(1, -1))
    with pytest.raises(ValueError, match="columns"):
        init.rank_expanding_(nn.Linear(2, 4), torch.zeros(5, 3))
    with pytest.raises(TypeError, match="nn.Linear"):
        init.rank_expanding_(nn.Linear(2, 4, bias=False))
