"""Synthetic test patterns (inrank.signals.patterns), their routing through load_signal and the
CLI, and the mean predictor's PSNR (inrank.metrics.mean_psnr)."""
import math

import numpy as np
import pytest
import torch

import inrank
from inrank.signals import load_signal, signal_kind
from inrank.signals.patterns import (CALIBRATION_SEEDS, PATTERNS, REPORTED_SEEDS, bandlimited,
                                     disc_layout, discs, sierpinski, star)

#: the patterns that ignore their seed (one signal whatever the seed).
DETERMINISTIC = ("sierpinski", "star")


@pytest.mark.parametrize("name", list(PATTERNS))
def test_layout_range_and_meta(name):
    sig = inrank.pattern(name, size=128)
    assert sig.kind == "image" and sig.name == name and sig.shape == (128, 128)
    assert sig.coords.shape == (128 * 128, 2) and sig.values.shape == (128 * 128, 1)
    assert 0.0 <= float(sig.values.min()) and float(sig.values.max()) <= 1.0
    assert float(sig.values.std()) > 0
    assert sig.meta["pattern"] == name and sig.meta["seed"] == 0 and sig.meta["data_range"] == 1.0


@pytest.mark.parametrize("name", list(PATTERNS))
def test_a_seed_gives_one_array_and_other_seeds_others(name):
    a, b, c = (inrank.pattern(name, size=128, seed=s).values for s in (3, 3, 4))
    assert torch.equal(a, b)
    assert torch.equal(a, c) == (name in DETERMINISTIC)


def test_calibration_and_reported_seeds_are_disjoint():
    assert CALIBRATION_SEEDS and REPORTED_SEEDS
    assert set(CALIBRATION_SEEDS).isdisjoint(REPORTED_SEEDS)
    assert inrank.signals.CALIBRATION_SEEDS == CALIBRATION_SEEDS


def _radius(n: int) -> np.ndarray:
    """``(n, n)`` radius of each DFT bin in cycles per side."""
    k = np.fft.fftfreq(n) * n
    return np.hypot(k[:, None], k[None, :])


@pytest.mark.parametrize("bandwidth", [4, 16, 48])
def test_bandlimited_spectrum_is_the_disc(bandwidth):
    img = bandlimited(128, seed=1, bandwidth=bandwidth)
    power = np.abs(np.fft.fft2(img)) ** 2
    r = _radius(128)
    outside, inside = power[r > bandwidth], power[(r > 0) & (r <= bandwidth)]
    assert outside.max() < 1e-20 * power.sum()
    assert inside.min() > 1e-6 * inside.mean()  # every frequency of the disc is present


def test_bandlimited_range_presets_and_nyquist():
    img = bandlimited(64, bandwidth=8)
    assert (img.min(), img.max()) == pytest.approx((0.45, 0.55), abs=1e-12)
    full = bandlimited(64, bandwidth=8, contrast=1.0)
    assert (full.min(), full.max()) == pytest.approx((0.0, 1.0), abs=1e-12)
    assert {n: PATTERNS[n].keywords["bandwidth"] for n in PATTERNS if "-" in n} == {
        "bandlimited-low": 4, "bandlimited-mid": 16, "bandlimited-high": 48}
    with pytest.raises(ValueError, match=r"bandwidth must be in \[1, size / 2\)"):
        inrank.pattern("bandlimited-high", size=96)
    with pytest.raises(ValueError, match="contrast must be in"):
        bandlimited(32, bandwidth=4, contrast=2)


def test_bandlimited_is_one_field_at_every_size():
    """Size 3n samples the field at the pixel centres of size n (row 3j + 1): the two agree up
    to the per-grid affine scaling."""
    small, large = bandlimited(40, seed=5, bandwidth=8), bandlimited(120, seed=5, bandwidth=8)
    sub = large[1::3, 1::3]

    def standard(a):
        return (a - a.mean()) / a.std()

    np.testing.assert_allclose(standard(sub), standard(small), atol=1e-9)


@pytest.mark.parametrize("wedges", [8, 40])
def test_star_changes_colour_wedges_times_around_a_circle(wedges):
    img = star(128, wedges=wedges)
    y, x = np.meshgrid(*2 * [(2 * np.arange(128) + 1) / 128 - 1], indexing="ij")
    r = np.hypot(y, x)
    ring = (r > 0.5) & (r < 0.95)  # each pixel's value is its centre's sector's
    values = img[ring][np.argsort(np.arctan2(y, x)[ring])]
    assert set(np.unique(img)) == {0.0, 1.0}
    assert int((values != np.roll(values, 1)).sum()) == wedges


def test_star_supersampled_is_the_area_fraction():
    img = star(64, supersample=4)
    assert len(np.unique(img)) > 2 and 0 <= img.min() and img.max() <= 1
    assert img.mean() == pytest.approx(math.pi / 8, abs=0.005)  # half the inscribed disc
    with pytest.raises(ValueError, match="wedges must be even"):
        star(32, wedges=7)


@pytest.mark.parametrize("depth", [0, 1, 2, 3, 4])
def test_sierpinski_keeps_three_quarters_per_step(depth):
    img = sierpinski(256, depth=depth)
    assert set(np.unique(img)) <= {0.0, 1.0}
    expected = math.sqrt(3) / 4 * 0.75 ** depth  # the triangle covers sqrt(3)/4 of the image
    assert img.mean() == pytest.approx(expected, rel=0.01)


def test_discs_are_binary_and_fill_their_area():
    layout = disc_layout(seed=2, count=10)
    y, x, r = layout.T
    assert np.all(np.abs(y) + r <= 1) and np.all(np.abs(x) + r <= 1)
    gaps = np.hypot(y[:, None] - y, x[:, None] - x) - (r[:, None] + r)
    assert np.all(gaps[~np.eye(10, dtype=bool)] >= 0)  # no two overlap
    img = discs(256, seed=2, count=10)
    assert set(np.unique(img)) == {0.0, 1.0}
    assert img.mean() == pytest.approx(np.sum(np.pi * r ** 2) / 4, abs=0.001)
    with pytest.raises(ValueError, match="could not place 30 non-overlapping discs"):
        disc_layout(count=30, radius=(0.5, 0.6))


def test_discs_are_one_shape_at_every_size():
    """Supersampling 2x at size n reads the pixel centres of size 2n."""
    fine = discs(64, seed=4)
    blocks = fine.reshape(32, 2, 32, 2).mean(axis=(1, 3))
    np.testing.assert_array_equal(discs(32, seed=4, supersample=2), blocks)


def test_pattern_errors_name_the_fix():
    with pytest.raises(ValueError, match="unknown pattern 'nope'; choose one of: bandlimited"):
        inrank.pattern("nope")
    with pytest.raises(TypeError, match="'star' takes the options wedges, supersample; got "
                                        "bandwidth"):
        inrank.pattern("star", bandwidth=4)
    with pytest.raises(TypeError, match="bandlimited-low fixes bandwidth"):
        inrank.pattern("bandlimited-low", bandwidth=8)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        inrank.pattern("discs", seed=-1)


def test_load_signal_reads_pattern_names(tmp_path, monkeypatch):
    assert signal_kind("pattern:star") == "pattern" and signal_kind("star") == "image"
    sig = load_signal("pattern:discs", size=32, seed=7)
    assert torch.equal(sig.values, inrank.pattern("discs", size=32, seed=7).values)
    assert load_signal("pattern:sierpinski").shape == (128, 128)  # the default side
    with pytest.raises(ValueError, match="unknown pattern 'spiral'"):
        load_signal("pattern:spiral")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pattern:star").write_bytes(b"")
    assert signal_kind("pattern:star") == "image"  # an existing file wins


def test_cli_fits_a_pattern(tmp_path):
    import json

    from inrank.cli import main

    rc = main(["fit", "pattern:star", "--size", "16", "--steps", "2", "--width", "8", "--depth",
               "2", "--no-progress", "--out", str(tmp_path), "--accept-worse"])
    assert rc == 0
    model = json.loads((tmp_path / "model.json").read_text())
    assert model["signal"] == "star" and model["shape"] == [16, 16]


def test_mean_psnr_is_the_constant_predictors_psnr():
    from skimage.metrics import peak_signal_noise_ratio

    sig = inrank.pattern("discs", size=64)
    img = sig.values.double().numpy()
    direct = 10 * np.log10(1.0 / np.mean((img - img.mean()) ** 2))
    assert inrank.mean_psnr(sig) == pytest.approx(direct, rel=1e-12)
    assert inrank.mean_psnr(sig) == pytest.approx(
        peak_signal_noise_ratio(img, np.full_like(img, img.mean()), data_range=1.0), rel=1e-12)
    rgb = inrank.load_image("astronaut", size=16)  # per channel means, the data range from meta
    v = rgb.values.double().numpy()
    assert inrank.mean_psnr(rgb) == pytest.approx(
        10 * np.log10(1.0 / np.mean((v - v.mean(axis=0)) ** 2)), rel=1e-12)
    chirp = inrank.signal_1d("chirp", n_points=64)  # data_range 2
    y = chirp.values.double().numpy()
    assert inrank.mean_psnr(chirp) == pytest.approx(10 * np.log10(4 / y.var()), rel=1e-12)
    assert inrank.mean_psnr(chirp, data_range=1.0) == pytest.approx(10 * np.log10(1 / y.var()))
    with pytest.raises(TypeError, match="mean_psnr takes a Signal"):
        inrank.mean_psnr(np.zeros((4, 1)))
