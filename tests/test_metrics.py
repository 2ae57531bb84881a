import math

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from inrank.metrics import psnr, snr, ssim


def test_psnr_matches_skimage():
    rng = np.random.default_rng(0)
    a = rng.random((20, 30, 3))
    b = np.clip(a + rng.normal(0, 0.05, a.shape), 0, 1)
    assert psnr(torch.from_numpy(b), torch.from_numpy(a)) == pytest.approx(
        peak_signal_noise_ratio(a, b, data_range=1.0), abs=1e-10)
    assert psnr(a, a) == math.inf


def test_ssim_matches_skimage():
    rng = np.random.default_rng(1)
    a = rng.random((32, 32, 3))
    b = np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1)
    ref = structural_similarity(a, b, data_range=1.0, channel_axis=-1)
    assert ssim(b, a) == pytest.approx(ref, abs=1e-12)


def test_snr_and_shape_checks():
    t = torch.ones(10)
    assert snr(t * 1.1, t) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(torch.zeros(3), torch.zeros(4))
