import imageio.v3 as iio
import numpy as np
import pytest
import skimage.data
import torch
from PIL import Image
from skimage.util import img_as_float, img_as_ubyte

from inrank import files
from inrank.errors import InputError
from inrank.signals import Signal, grid_coords, load_image


def test_grid_coords_are_pixel_centres_in_unit_box():
    c = grid_coords((4, 6))
    assert c.shape == (24, 2) and c.dtype == torch.float32
    assert torch.allclose(c[0], torch.tensor([-0.75, -5 / 6]))
    assert c.min() > -1 and c.max() < 1
    # row-major: the second axis varies fastest
    assert torch.equal(c[1, 0], c[0, 0]) and c[1, 1] > c[0, 1]


def test_load_skimage_sample_and_resize_short_side():
    sig = load_image("astronaut", size=24)
    assert sig.shape == (24, 24) and sig.values.shape == (576, 3)
    assert 0 <= float(sig.values.min()) and float(sig.values.max()) <= 1
    cam = load_image("camera")
    assert cam.shape == (512, 512) and cam.out_dim == 1


def test_resize_keeps_aspect(tmp_path):
    arr = (np.random.default_rng(0).random((30, 60, 3)) * 255).astype(np.uint8)
    Image.fromarray(arr).save(tmp_path / "wide.png")
    sig = load_image(tmp_path / "wide.png", size=10)
    assert sig.shape == (10, 20)


def test_to_image_round_trip(astronaut32):
    img = astronaut32.to_image(astronaut32.values)
    assert img.shape == (32, 32, 3)
    raw = load_image("astronaut", size=32).values.reshape(32, 32, 3).numpy()
    assert np.allclose(img, raw)


@pytest.mark.parametrize("mode,channels", [("L", 1), ("RGB", 3), ("P", 3)])
def test_png_modes(tmp_path, mode, channels):
    rgb = (np.random.default_rng(1).random((8, 9, 3)) * 255).astype(np.uint8)
    img = Image.fromarray(rgb).convert(mode)
    img.save(tmp_path / "x.png")
    sig = load_image(tmp_path / "x.png")
    assert sig.shape == (8, 9) and sig.out_dim == channels


def test_rgba_drops_alpha_with_warning(tmp_path):
    rgba = np.zeros((5, 5, 4), np.uint8)
    rgba[..., 0] = 255
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    with pytest.warns(UserWarning, match="alpha"):
        sig = load_image(tmp_path / "a.png")
    assert sig.out_dim == 3 and torch.allclose(sig.values[:, 0], torch.ones(25))


def test_16bit_png_keeps_precision(tmp_path):
    arr = np.array([[0, 1000, 65535]], dtype=np.uint16)
    Image.fromarray(arr).save(tmp_path / "g16.png")
    sig = load_image(tmp_path / "g16.png")
    assert np.allclose(sig.values[:, 0].numpy(), arr[0] / 65535.0, atol=1e-7)
    Image.fromarray(arr.astype(">u2")).save(tmp_path / "g16b.tif")  # big-endian 16-bit TIFF
    assert torch.equal(load_image(tmp_path / "g16b.tif").values, sig.values)


@pytest.mark.parametrize("kind", ["rgb8", "gray8", "gray16", "bilevel"])
def test_values_are_skimage_unit_floats(tmp_path, kind):
    """A lossless file reads as ``img_as_float`` of its pixels (uint8 / 255, uint16 / 65535,
    bool -> {0, 1}), in [0, 1], as float32."""
    rng = np.random.default_rng(3)
    arr = {"rgb8": lambda: (rng.random((9, 7, 3)) * 256).astype(np.uint8),
           "gray8": lambda: (rng.random((9, 7)) * 256).astype(np.uint8),
           "gray16": lambda: (rng.random((9, 7)) * 65536).astype(np.uint16),
           "bilevel": lambda: rng.random((9, 7)) > 0.5}[kind]()
    Image.fromarray(arr).save(tmp_path / "x.png")
    sig = load_image(tmp_path / "x.png")
    expected = img_as_float(arr).astype(np.float32).reshape(63, -1)
    assert sig.values.dtype == torch.float32 and torch.equal(sig.values, torch.from_numpy(expected))
    assert 0 <= float(sig.values.min()) and float(sig.values.max()) <= 1
    assert torch.equal(load_image(arr).values, sig.values)      # the array path converts alike


def test_skimage_sample_matches_its_own_conversion():
    sig = load_image("coffee")
    ref = img_as_float(skimage.data.coffee()).astype(np.float32)
    assert sig.shape == ref.shape[:2] and torch.equal(sig.values, torch.from_numpy(ref.reshape(-1, 3)))


def test_cmyk_jpeg_and_transparent_palette(tmp_path):
    rgb = (np.random.default_rng(4).random((6, 5, 3)) * 255).astype(np.uint8)
    Image.fromarray(rgb).convert("CMYK").save(tmp_path / "c.jpg")
    assert load_image(tmp_path / "c.jpg").out_dim == 3           # CMYK converted to RGB
    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png", transparency=0)
    with pytest.warns(UserWarning, match="alpha"):
        assert load_image(tmp_path / "p.png").out_dim == 3


def test_save_png_is_img_as_ubyte_of_clipped_values(tmp_path):
    x = np.random.default_rng(5).uniform(-0.2, 1.2, (6, 7, 3))
    files.save_png(tmp_path / "x.png", x)
    assert np.array_equal(iio.imread(tmp_path / "x.png"), img_as_ubyte(np.clip(x, 0, 1)))
    files.save_png(tmp_path / "g.png", x[:, :, :1])             # (H, W, 1) -> gray PNG
    assert iio.imread(tmp_path / "g.png").shape == (6, 7)
    assert not list(tmp_path.glob(".*.tmp"))                     # the atomic write cleaned up


@pytest.mark.parametrize("fmt", ["JPEG", "TIFF"])
def test_jpeg_and_tiff(tmp_path, fmt):
    rgb = (np.random.default_rng(2).random((12, 10, 3)) * 255).astype(np.uint8)
    path = tmp_path / f"x.{fmt.lower()}"
    Image.fromarray(rgb).save(path, format=fmt)
    sig = load_image(path)
    assert sig.shape == (12, 10) and sig.out_dim == 3


def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="image not found"):
        load_image(tmp_path / "missing.png")
    with pytest.raises(IsADirectoryError, match="directory"):
        load_image(tmp_path)
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(ValueError, match="cannot read"):
        load_image(tmp_path / "empty.png")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="cannot read"):
        load_image(tmp_path / "notes.txt")
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((40, 40, 3), np.uint8)).save(good)
    (tmp_path / "trunc.png").write_bytes(good.read_bytes()[:60])
    with pytest.raises(ValueError, match="cannot read"):
        load_image(tmp_path / "trunc.png")
    for bad in ("empty.png", "notes.txt", "trunc.png"):
        with pytest.raises(InputError) as err:
            load_image(tmp_path / bad)
        assert len(str(err.value).splitlines()) == 1 and bad in str(err.value)
    with pytest.raises(ValueError, match="unsupported pixel type int64"):
        load_image(np.zeros((2, 2), np.int64))
    with pytest.raises(ValueError, match="size"):
        load_image("camera", size=0)


def test_one_pixel_image(tmp_path):
    Image.fromarray(np.full((1, 1, 3), 128, np.uint8)).save(tmp_path / "p.png")
    sig = load_image(tmp_path / "p.png")
    assert sig.shape == (1, 1) and torch.equal(sig.coords, torch.zeros(1, 2))


def test_signal_rejects_nan_and_mismatch():
    c = grid_coords((2, 2))
    with pytest.raises(ValueError, match="NaN"):
        Signal(c, torch.full((4, 1), float("nan")), (2, 2))
    with pytest.raises(ValueError, match="disagree"):
        Signal(c, torch.zeros(3, 1), (2, 2))
