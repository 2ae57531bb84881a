"""Hostile and mistaken input on every command: one line on stderr naming the problem, a
non-zero exit, never a traceback. Each case runs in-process through ``inrank.cli.main``."""
from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from inrank.cli import main

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
#: A fit that would finish at once if the bad value were not refused.
TINY = ["--size", "8", "--steps", "1", "--width", "8", "--depth", "2", "--no-progress"]
BENCH_RUN = ["--steps", "1", "--widths", "8", "--no-progress", "--no-plots"]
BENCH = ["--methods", "relu", "--images", "camera", "--size", "4", *BENCH_RUN]


@pytest.fixture(scope="module")
def bad(tmp_path_factory) -> Path:
    """A folder of files that are not what their names say."""
    import numpy as np
    import imageio.v3 as iio

    d = tmp_path_factory.mktemp("bad")
    (d / "empty.png").write_bytes(b"")
    (d / "text.png").write_text("hello\n")
    (d / "notes.txt").write_text("hello\n")
    (d / "folder.png").mkdir()
    iio.imwrite(d / "full.png", (np.arange(48 * 64 * 3) % 251).astype(np.uint8).reshape(48, 64, 3))
    whole = (d / "full.png").read_bytes()
    (d / "half.png").write_bytes(whole[: len(whole) // 2])  # a truncated download
    (d / "garbage.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(range(200)))
    (d / "empty.wav").write_bytes(b"")
    (d / "text.wav").write_text("not audio")
    (d / "garbage.obj").write_text("v 1 2\nf 1 2 3 4 5\nxx\n")
    (d / "empty.obj").write_text("")
    (d / "bad.yaml").write_text("steps: [1, 2\n")
    return d


CASES = [
    # devices
    (["fit", "camera", "--device", "tpu", *TINY, "--accept-worse"], "unknown device 'tpu'"),
    (["fit", "camera", "--device", "", *TINY, "--accept-worse"], "unknown device ''"),
    (["fit", "camera", "--device", "meta", *TINY, "--accept-worse"], "unknown device 'meta'"),
    (["bench", "quick", "--device", "tpu", *BENCH], "unknown device 'tpu'"),
    (["tune", "quick", "--device", "tpu", "--methods", "relu", "--images", "camera", "--steps",
      "1", "--no-progress"], "unknown device 'tpu'"),
    # sizes, steps and counts
    (["fit", "chirp", "--size", "0", "--accept-worse"], "--size must be a positive integer, got 0"),
    (["fit", "chirp", "--size", "-4", "--accept-worse"], "--size must be a positive integer, got -4"),
    (["fit", "camera", "--size", "-5", "--accept-worse"], "--size must be a positive integer, got -5"),
    (["fit", "camera", "--steps", "-1", "--accept-worse"], "--steps must be a positive integer, got -1"),
    (["fit", "camera", "--width", "-3", "--accept-worse"], "--width must be a positive integer, got -3"),
    (["fit", "camera", "--lr", "nan", "--accept-worse"], "--lr: expected float or null, got 'nan'"),
    (["fit", "camera", *TINY, "--lr", "1e300", "--accept-worse"],  # was torch's overflow RuntimeError
     "--lr must be a finite number > 0 within float32's range (at most 3.4e+38), got 1e+300"),
    (["bench", "quick", *BENCH, "--lr-multipliers", "1e300"],
     "lr multiplier must be a finite number > 0 within float32's range"),
    (["fit", str(DATA / "audio" / "bach.wav"), "--duration", "0", *TINY[2:], "--accept-worse"],
     "--duration must be a finite number > 0"),
    (["fit", str(DATA / "audio" / "bach.wav"), "--duration", "0.00001", *TINY[2:], "--accept-worse"], "no samples"),
    (["fit", str(DATA / "meshes" / "bunny.obj"), "--n-points", "-3", *TINY[2:], "--accept-worse"],
     "--n-points must be a positive integer, got -3"),
    (["demo", "--size", "0"], "--size must be a positive integer, got 0"),
    (["demo", "--steps", "-1", "--methods", "relu"], "--steps must be a positive integer"),
    (["diagnose", "--size", "-1"], "--size must be a positive integer, got -1"),
    (["bench", "quick", "--methods", "relu", "--images", "camera", "--widths", "-8"],
     "width must be a positive integer, got -8"),
    (["bench", "quick", "--report-image", "nothere", *BENCH],
     "--report-image 'nothere' is not one of the images (camera)"),
    (["tune", "quick", "--steps", "-1"], "--steps must be a positive integer, got -1"),
    # BatchNorm on a one-point batch (was torch's ValueError)
    (["fit", "camera", "--method", "bn", *TINY[2:], "--size", "1", "--accept-worse"], "BatchNorm needs at least 2"),
    (["fit", "camera", "--method", "bn", *TINY, "--batch-size", "1", "--accept-worse"], "BatchNorm needs at least 2"),
    (["diagnose", "--methods", "bn", "--size", "1", "--width", "8", "--depth", "2"],
     "BatchNorm needs at least 2"),
    (["demo", "--methods", "bn", *TINY[2:], "--size", "1"], "BatchNorm needs at least 2"),
    (["bench", "quick", "--methods", "bn", "--images", "camera", "--size", "1", *BENCH_RUN],
     "BatchNorm needs at least 2"),
    # names and files
    (["fit", "", *TINY, "--accept-worse"], "source is empty"),
    (["fit", "nonsense_name", *TINY, "--accept-worse"], "image not found: 'nonsense_name'"),
    (["fit", "{bad}/empty.png", *TINY, "--accept-worse"], "cannot read '{bad}/empty.png' as an image"),
    (["fit", "{bad}/text.png", *TINY, "--accept-worse"], "cannot read '{bad}/text.png' as an image"),
    (["fit", "{bad}/notes.txt", *TINY, "--accept-worse"], "cannot read '{bad}/notes.txt' as an image"),
    (["fit", "{bad}/half.png", *TINY, "--accept-worse"], "cannot read '{bad}/half.png' as an image"),
    (["fit", "{bad}/folder.png", *TINY, "--accept-worse"], "got a directory: '{bad}/folder.png'"),
    (["fit", "{bad}/garbage.wav", *TINY[2:], "--accept-worse"], "cannot read '{bad}/garbage.wav' as a sound file"),
    (["fit", "{bad}/empty.wav", *TINY[2:], "--accept-worse"], "cannot read '{bad}/empty.wav' as a sound file"),
    (["fit", "{bad}/text.wav", *TINY[2:], "--accept-worse"], "cannot read '{bad}/text.wav' as a sound file"),
    (["fit", "{bad}/nothere.wav", *TINY[2:], "--accept-worse"], "audio file not found"),
    (["fit", "{bad}/garbage.obj", *TINY[2:], "--accept-worse"], "cannot read '{bad}/garbage.obj' as a mesh"),
    (["fit", "{bad}/empty.obj", *TINY[2:], "--accept-worse"], "has no triangles"),
    (["fit", "{bad}/nothere.obj", *TINY[2:], "--accept-worse"], "mesh file not found"),
    (["diagnose", "{bad}/notes.txt", "--size", "4"], "cannot read"),
    (["diagnose", "{bad}/folder.png", "--size", "4"], "directory"),
    (["demo", "{bad}/half.png", *TINY[2:]], "cannot read"),
    (["bench", "quick", "--methods", "relu", "--images", "{bad}/half.png", *BENCH_RUN],
     "cannot read"),
    (["tune", "quick", "--images", "{bad}/notes.txt", "--methods", "relu", "--steps", "1"],
     "cannot read"),
    # config files and output folders
    (["fit", "camera", "--config", "{bad}/bad.yaml", "--accept-worse"], "Problems parsing config"),
    (["fit", "camera", "--config", "{bad}/folder.png", "--accept-worse"], "Path is not a file"),
    (["fit", "camera", "--config", "{bad}/nothere.yaml", "--accept-worse"], "File does not exist"),
    (["fit", "camera", *TINY, "--out", "{bad}/notes.txt", "--accept-worse"],
     "'{bad}/notes.txt' is a file, not a folder; choose another output folder"),
    (["bench", "quick", *BENCH, "--out", "{bad}/notes.txt/sub"], "is a file, not a folder"),
]


def _run(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # the parser's own errors
        return exc.code


@pytest.mark.parametrize("argv,message", CASES, ids=[" ".join(a)[:60] for a, _ in CASES])
def test_one_line_error(argv, message, bad, tmp_path, capsys):
    argv = [a.replace("{bad}", str(bad)) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    code = _run(argv)
    err = capsys.readouterr().err
    assert code not in (0, None), err
    assert "Traceback" not in err
    errors = [line for line in err.strip().splitlines() if "error:" in line]
    assert len(errors) == 1, err  # one line (a command's banner may precede it)
    assert message.replace("{bad}", str(bad)) in errors[0], errors[0]


@pytest.mark.parametrize("exc,line", [
    (MemoryError("Unable to allocate 224. GiB for an array with shape (100000, 100000, 3) and "
                 "data type float64"), "out of memory (tried to allocate 224 GiB)"),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't "
                  "allocate memory: you tried to allocate 4000000000000 bytes. Error code 12 "
                  "(Cannot allocate memory)"), "out of memory (tried to allocate 4.0 TB)"),
    (MemoryError(), "out of memory (MemoryError)"),
])
def test_out_of_memory_is_one_line(exc, line, monkeypatch, tmp_path, capsys):
    """The last resort behind the up-front estimates: the host running out of memory."""
    def allocate(*args, **kwargs):
        raise exc

    monkeypatch.setattr(importlib.import_module("inrank.cli.fit"), "fit", allocate)
    assert main(["fit", "camera", *TINY, "--out", str(tmp_path), "--accept-worse"]) == 2
    err = capsys.readouterr().err.strip().splitlines()  # a banner may precede the error
    assert err[-1] == f"inrank: error: {line}; ask for less: a smaller size, width, " \
                      "resolution or batch size, or fewer points"
    assert sum("error" in e for e in err) == 1
