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


def _pair_images(h=24, w=20, c=3, seed=2):
    rng = np.random.default_rng(seed)
    a = rng.random((h, w, c))
    return np.clip(a + rng.normal(0, 0.1, a.shape), 0, 1), a


@pytest.mark.parametrize("c", [1, 3])
def test_ssim_refuses_flat_values_without_their_grid(c):
    """(N, c) values scored as an N x c strip gave a number unlike the image's SSIM."""
    b, a = _pair_images(c=c)
    flat_b, flat_a = torch.from_numpy(b.reshape(-1, c)), torch.from_numpy(a.reshape(-1, c))
    with pytest.raises(ValueError, match=r"looks like flat values \(N, c\); pass shape=\(H, W\)"):
        ssim(flat_b, flat_a)
    with pytest.raises(ValueError, match="flat values"):
        ssim(flat_b[:, 0], flat_a[:, 0])  # (N,)


@pytest.mark.parametrize("c", [1, 3])
def test_ssim_of_flat_values_with_shape_is_the_image_ssim(c):
    b, a = _pair_images(c=c)
    image = ssim(b, a)
    assert image == pytest.approx(structural_similarity(
        a[..., 0] if c == 1 else a, b[..., 0] if c == 1 else b, data_range=1.0,
        channel_axis=None if c == 1 else -1), abs=1e-12)
    flat = ssim(torch.from_numpy(b.reshape(-1, c)), torch.from_numpy(a.reshape(-1, c)),
                shape=(24, 20))
    assert flat == pytest.approx(image, abs=1e-12)
    assert ssim(b.reshape(-1, c)[:, 0], a.reshape(-1, c)[:, 0], shape=(24, 20)) == pytest.approx(
        ssim(b[..., 0], a[..., 0]), abs=1e-12)


def test_ssim_shape_must_match_the_values():
    b, a = _pair_images()
    with pytest.raises(ValueError, match=r"N = H \* W; got values of shape \(480, 3\)"):
        ssim(b.reshape(-1, 3), a.reshape(-1, 3), shape=(20, 20))
    with pytest.raises(TypeError, match="shape must be a grid"):
        ssim(b.reshape(-1, 3), a.reshape(-1, 3), shape=480)


def test_ssim_takes_narrow_gray_images_as_h_w_1_and_tensors_with_grad():
    b, a = _pair_images(h=30, w=3, c=1)
    ref = structural_similarity(a[..., 0], b[..., 0], data_range=1.0, win_size=3)
    assert ssim(b, a) == pytest.approx(ref, abs=1e-12)
    pred = torch.from_numpy(b).requires_grad_()
    assert ssim(pred, torch.from_numpy(a)) == pytest.approx(ref, abs=1e-12)
