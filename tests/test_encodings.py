import math

import torch

from inrank.nn.encodings import FourierFeatures, PositionalEncoding


def test_positional_encoding_values():
    enc = PositionalEncoding(1, octaves=3, include_input=True)
    x = torch.tensor([[0.25]])
    out = enc(x)[0]
    expect = [0.25] + [math.sin(math.pi * 2 ** k * 0.25) for k in range(3)] + \
             [math.cos(math.pi * 2 ** k * 0.25) for k in range(3)]
    assert torch.allclose(out, torch.tensor(expect), atol=1e-6)
    assert PositionalEncoding(2, octaves=4, include_input=False).out_dim == 16


def test_fourier_features_fixed_seeded_and_scaled():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    a, b = FourierFeatures(2, features=64, sigma=10, generator=g1), FourierFeatures(2, features=64, sigma=10, generator=g2)
    assert torch.equal(a.B, b.B) and not a.B.requires_grad
    assert abs(float(a.B.std()) - 10) < 2.5
    out = a(torch.rand(7, 2) * 2 - 1)
    assert out.shape == (7, 128)
    # cos^2 + sin^2 = 1 per frequency
    assert torch.allclose(out[:, :64] ** 2 + out[:, 64:] ** 2, torch.ones(7, 64), atol=1e-5)
