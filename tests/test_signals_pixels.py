"""Image pixels at full depth (16-bit colour files) and images given in memory."""
from __future__ import annotations

import struct
import zlib
from contextlib import nullcontext

import numpy as np
import pytest
import tifffile
import torch

from inrank.errors import InputError
from inrank.signals import load_image

_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (gray, LA, RGB, RGBA)


def _png16(arr: np.ndarray) -> bytes:
    """A 16-bit PNG of ``(H, W, c)`` uint16 pixels, its rows filtered by each PNG filter in
    turn (none, sub, up, average, Paeth), so a decoder must undo them at 2 c bytes per pixel.
    Written here because Pillow cannot write 16-bit colour."""
    h, w, c = arr.shape
    x = arr.astype(">u2").view(np.uint8).reshape(h, w * c * 2).astype(np.int32)
    bpp = 2 * c
    rows = []
    for y in range(h):
        kind, row = y % 5, x[y]
        up = x[y - 1] if y else np.zeros_like(row)
        left = np.concatenate([np.zeros(bpp, np.int32), row[:-bpp]])
        corner = np.concatenate([np.zeros(bpp, np.int32), up[:-bpp]])
        p = left + up - corner
        paeth = np.where((abs(p - left) <= abs(p - up)) & (abs(p - left) <= abs(p - corner)),
                         left, np.where(abs(p - up) <= abs(p - corner), up, corner))
        pred = [0, left, up, (left + up) // 2, paeth][kind]
        rows.append(bytes([kind]) + ((row - pred) % 256).astype(np.uint8).tobytes())

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 16, _COLOUR_TYPE[c], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def test_16bit_rgb_png_with_small_values_is_read_at_full_depth(tmp_path):
    """Values up to 252 / 65535 used to load as all zeros (Pillow keeps the high byte)."""
    arr = (np.arange(5 * 7 * 3).reshape(5, 7, 3) * 2.4).astype(np.uint16)  # 0 .. 249
    (tmp_path / "dark.png").write_bytes(_png16(arr))
    sig = load_image(tmp_path / "dark.png")
    assert sig.shape == (5, 7) and sig.out_dim == 3 and float(sig.values.max()) > 0
    assert np.allclose(sig.values.numpy(), arr.reshape(-1, 3) / 65535.0, rtol=0, atol=1e-9)


@pytest.mark.parametrize("channels", [2, 3, 4])
def test_16bit_colour_png_every_byte_and_filter(tmp_path, channels):
    rng = np.random.default_rng(channels)
    arr = rng.integers(0, 65536, (11, 9, channels)).astype(np.uint16)
    (tmp_path / "x.png").write_bytes(_png16(arr))
    with pytest.warns(UserWarning, match="alpha channel dropped") if channels != 3 else nullcontext():
        sig = load_image(tmp_path / "x.png")
    colour = arr[..., :1] if channels == 2 else arr[..., :3]
    expected = (colour / 65535.0).astype(np.float32).reshape(99, -1)
    assert torch.equal(sig.values, torch.from_numpy(expected))


@pytest.mark.parametrize("byteorder", ["<", ">"])
@pytest.mark.parametrize("compression", [None, "zlib"])
def test_16bit_rgb_tiff_is_read_at_full_depth(tmp_path, byteorder, compression):
    arr = np.random.default_rng(5).integers(0, 65536, (6, 8, 3)).astype(np.uint16)
    arr[0, 0] = 252  # below one 8-bit step
    tifffile.imwrite(tmp_path / "x.tif", arr, photometric="rgb", byteorder=byteorder,
                     compression=compression)
    sig = load_image(tmp_path / "x.tif")
    assert torch.equal(sig.values, torch.from_numpy((arr / 65535.0).astype(np.float32).reshape(48, 3)))


@pytest.mark.parametrize("kind", ["float", "uint8", "uint16", "bool"])
def test_in_memory_image_tensor_or_array(kind):
    """A torch tensor used to be taken for a path; tensors and arrays of each pixel type load
    as their unit floats (integers scaled by their type's maximum)."""
    rng = np.random.default_rng(7)
    arr = {"float": lambda: rng.random((5, 6, 3)).astype(np.float32),
           "uint8": lambda: rng.integers(0, 256, (5, 6, 3)).astype(np.uint8),
           "uint16": lambda: rng.integers(0, 65536, (5, 6)).astype(np.uint16),
           "bool": lambda: rng.random((5, 6)) > 0.5}[kind]()
    peak = {"float": 1.0, "uint8": 255.0, "uint16": 65535.0, "bool": 1.0}[kind]
    expected = torch.from_numpy((arr / peak).astype(np.float32).reshape(30, -1))
    from_array = load_image(arr)
    assert from_array.shape == (5, 6) and torch.allclose(from_array.values, expected, atol=1e-7)
    if kind != "uint16":  # torch's uint16 has few operations; arrays cover it
        tensor = torch.from_numpy(arr)
        assert torch.equal(load_image(tensor).values, from_array.values)
        assert load_image(tensor).name == "tensor"


def test_in_memory_image_with_grad_resized_and_gray():
    t = torch.rand(8, 12, requires_grad=True)
    sig = load_image(t, size=4)
    assert sig.shape == (4, 6) and sig.out_dim == 1
    assert torch.allclose(load_image(t).values[:, 0], t.detach().reshape(-1))


def test_in_memory_image_refusals():
    with pytest.raises(InputError, match=r"looks channel-first \(c, H, W\).*permute\(1, 2, 0\)"):
        load_image(torch.rand(3, 16, 16))
    with pytest.raises(InputError, match=r"float pixels must lie in \[0, 1\].*divide by the peak"):
        load_image(torch.rand(4, 4, 3) * 255)
    with pytest.raises(InputError, match=r"shape \(H, W\) or \(H, W, c\), got \(16,\)"):
        load_image(np.zeros(16))
    with pytest.raises(InputError, match="unsupported pixel type int64"):
        load_image(torch.zeros(4, 4, dtype=torch.int64))
    with pytest.raises(TypeError, match="source must be a path.*got list"):
        load_image([[0.0, 1.0]])
