"""Sound files (soundfile) loading and writing, audio fits (PSNR peak-to-peak 2, SNR), the
audio CLI."""
import json
import math

import numpy as np
import pytest
import soundfile as sf
import torch
from scipy.io import wavfile

import inrank
from inrank.cli import main
from inrank.signals.audio import load_audio, save_audio
from inrank.bench.tasks import task_overrides


def _tone(n=800, rate=8000, freq=440.0):
    return 0.5 * np.sin(2 * np.pi * freq * np.arange(n) / rate)


def test_round_trip_16_bit(tmp_path):
    y = _tone()
    save_audio(tmp_path / "a.wav", y, sample_rate=8000)
    info = sf.info(str(tmp_path / "a.wav"))
    assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", 8000, 1)
    sig = load_audio(tmp_path / "a.wav")
    assert sig.kind == "audio" and sig.shape == (800,) and sig.values.shape == (800, 1)
    assert sig.values.dtype == torch.float32
    assert sig.meta["sample_rate"] == 8000 and sig.meta["duration"] == pytest.approx(0.1)
    assert np.abs(sig.values[:, 0].numpy() - y).max() <= 1 / 32768
    c = sig.coords[:, 0]
    assert c.min() == pytest.approx(-1 + 1 / 800) and c.max() == pytest.approx(1 - 1 / 800)
    assert bool((c[1:] > c[:-1]).all())


def test_round_trip_full_scale_stereo_within_one_step(tmp_path):
    """16-bit quantisation: a write and a read change any value in [-1, 1] by at most
    1 / 32768 (one step of k / 32768); out-of-range values are clipped with a warning."""
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.uniform(-1, 1, (5000, 2)), [[-1.0, 1.0], [1.0, -1.0], [0.0, 0.0]]])
    save_audio(tmp_path / "s.wav", torch.from_numpy(y), sample_rate=16000)
    sig = load_audio(tmp_path / "s.wav")
    assert sig.values.shape == (5003, 2)
    assert np.abs(sig.values.numpy() - y).max() <= 1 / 32768
    # every value read back is an exact step k / 32768
    k = sig.values.numpy().astype(np.float64) * 32768
    assert np.array_equal(k, np.round(k)) and k.min() >= -32768 and k.max() <= 32767
    with pytest.warns(UserWarning, match="clipped"):
        save_audio(tmp_path / "c.wav", np.array([1.5, -2.0, 0.25]), sample_rate=100)
    assert load_audio(tmp_path / "c.wav").values[:, 0].tolist() == [32767 / 32768, -1.0, 0.25]


@pytest.mark.parametrize("dtype,scale", [(np.int16, 32768), (np.int32, 2 ** 31), (np.float32, 1)])
def test_formats_and_stereo(tmp_path, dtype, scale):
    stereo = np.stack([_tone(), -_tone(freq=220)], axis=1)
    data = (stereo * scale).astype(dtype) if dtype == np.float32 else np.round(
        stereo * (scale - 1)).astype(dtype)
    wavfile.write(tmp_path / "s.wav", 8000, data)              # an independent writer
    sig = load_audio(tmp_path / "s.wav")
    assert sig.out_dim == 2
    # PCM k reads as k / 2^(bits - 1) exactly (one rounding to float32)
    expected = (data.astype(np.float64) / scale).astype(np.float32)
    np.testing.assert_array_equal(sig.values.numpy(), expected)
    np.testing.assert_allclose(sig.values.numpy(), stereo, atol=1e-4)
    mono = load_audio(tmp_path / "s.wav", mono=True)
    np.testing.assert_array_equal(
        mono.values[:, 0].numpy(), (data.astype(np.float64) / scale).mean(1).astype(np.float32))


@pytest.mark.parametrize("subtype,fmt,bits", [("PCM_U8", "WAV", 8), ("PCM_24", "WAV", 24),
                                              ("PCM_16", "FLAC", 16)])
def test_8_and_24_bit_wav_and_flac(tmp_path, subtype, fmt, bits):
    y = _tone(1000)
    path = tmp_path / f"x.{fmt.lower()}"
    sf.write(str(path), y, 8000, subtype=subtype, format=fmt)
    sig = load_audio(path)
    assert sig.shape == (1000,) and sig.meta["sample_rate"] == 8000 and sig.name == "x"
    # quantised to steps of 2^(1 - bits): within one step of the written tone
    assert np.abs(sig.values[:, 0].numpy() - y).max() <= 2.0 ** (1 - bits)


def test_seconds_and_offset(tmp_path):
    save_audio(tmp_path / "a.wav", _tone(8000), sample_rate=8000)
    assert len(load_audio(tmp_path / "a.wav", duration=0.25)) == 2000
    full = load_audio(tmp_path / "a.wav").values
    sig = load_audio(tmp_path / "a.wav", duration=0.25, offset=0.5)
    assert torch.equal(sig.values, full[4000:6000])            # exactly the span, decoded alone
    np.testing.assert_allclose(sig.values[:, 0].numpy(), _tone(8000)[4000:6000], atol=1e-4)
    assert len(load_audio(tmp_path / "a.wav", duration=5.0, offset=0.75)) == 2000  # to the end
    with pytest.raises(ValueError, match="no samples"):
        load_audio(tmp_path / "a.wav", offset=2.0)
    with pytest.raises(ValueError, match="offset"):
        load_audio(tmp_path / "a.wav", offset=-1.0)
    with pytest.raises(ValueError, match="duration"):
        load_audio(tmp_path / "a.wav", duration=0)


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_audio(tmp_path / "nope.wav")
    with pytest.raises(IsADirectoryError, match="directory"):
        load_audio(tmp_path)
    for name, data in (("bad.wav", b"RIFF0000WAVEjunk"), ("empty.wav", b""),
                       ("notes.wav", b"hello, not audio")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ValueError, match="cannot read") as err:
            load_audio(tmp_path / name)
        assert isinstance(err.value, inrank.errors.InputError)
        assert len(str(err.value).splitlines()) == 1
    with pytest.raises(ValueError, match="NaN"):
        save_audio(tmp_path / "x.wav", np.array([0.0, np.nan]), sample_rate=100)
    assert not (tmp_path / "x.wav").exists()


def test_snr_formula():
    y = torch.tensor([1.0, -1.0, 2.0, 0.0])
    noise = torch.tensor([0.1, 0.0, -0.1, 0.2])
    expected = 10 * math.log10(6.0 / 0.06)
    assert inrank.metrics.snr(y + noise, y) == pytest.approx(expected)


def test_audio_fit_reports_snr_and_psnr_with_range_two(tmp_path):
    save_audio(tmp_path / "a.wav", _tone(400, freq=300), sample_rate=8000)
    sig = load_audio(tmp_path / "a.wav")
    model = inrank.build("siren", 1, 1, width=32, depth=2, **task_overrides("siren", sig))
    assert model.config.omega0 == pytest.approx(3000 * 0.05 / 7)
    res = inrank.fit(model, sig, steps=40, lr=1e-3, progress=False, accept_worse=True)
    assert res.final_psnr == pytest.approx(inrank.psnr(res.prediction, sig.values, data_range=2.0))
    assert res.metrics["snr"] == pytest.approx(inrank.metrics.snr(res.prediction, sig.values))
    assert res.metrics["snr"] > 10  # a 300 Hz tone over 50 ms is well fitted


def test_cli_fit_wav_writes_wav_and_plot(tmp_path, capsys):
    save_audio(tmp_path / "a.wav", _tone(300), sample_rate=8000)
    out = tmp_path / "run"
    rc = main(["fit", str(tmp_path / "a.wav"), "--method", "siren", "--steps", "5", "--width", "16",
               "--depth", "1", "--out", str(out), "--no-progress", "--accept-worse"])
    assert rc == 0 and "SNR" in capsys.readouterr().out
    for name in ("reconstruction.wav", "waveform.png", "psnr_curve.png", "metrics.json", "model.pt"):
        assert (out / name).is_file(), name
    assert len(load_audio(out / "reconstruction.wav")) == 300
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["kind"] == "audio" and "snr" in metrics["metrics"]
    # SIREN's audio omega0 (3000 for a 7 s clip) kept in Hz terms: 3000 T / 7 for T = 300 / 8000 s
    omega0 = json.loads((out / "model.json").read_text())["overrides"]["omega0"]
    assert omega0 == pytest.approx(3000 * (300 / 8000) / 7)


def test_bach_clip(data_dir):
    sig = load_audio(data_dir / "audio" / "bach.wav", duration=0.1)
    assert sig.shape == (4410,) and sig.meta["sample_rate"] == 44100 and sig.out_dim == 1
    assert float(sig.values.abs().max()) <= 1.0


def test_load_signal_and_the_cli_take_an_audio_offset(tmp_path):
    """A clip that opens in silence: --offset starts past it (load_signal passes it on), and an
    image refuses it by name."""
    rate = 8000
    t = np.arange(rate) / rate
    clip = np.where(t < 0.5, 0.0, 0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    path = tmp_path / "late.wav"
    sf.write(path, clip, rate)
    late = inrank.load_signal(path, duration=0.1, offset=0.6)
    assert len(late) == 800 and float(late.values.abs().max()) > 0.4
    assert float(inrank.load_signal(path, duration=0.1).values.abs().max()) == 0.0
    with pytest.raises(inrank.InputError, match="offset does nothing for image signals"):
        inrank.load_signal("camera", offset=1.0)
    assert main(["fit", str(path), "--duration", "0.05", "--offset", "0.6", "--steps", "5",
                 "--width", "16", "--no-progress", "--accept-worse",
                 "--out", str(tmp_path / "run")]) == 0
    cfg = json.loads((tmp_path / "run" / "config.json").read_text())
    assert cfg["offset"] == 0.6
