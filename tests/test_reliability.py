"""Interruption (kill -9 and resume), reproducibility and safe files (issue 7)."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

import inrank
from inrank.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from inrank.cli import main

FIT = ["fit", "camera", "--size", "16", "--steps", "300", "--width", "32", "--depth", "2",
       "--method", "relu+rei", "--checkpoint-every", "10", "--no-progress", "--accept-worse"]


def _cli(args, **kw):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "inrank.cli", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)


def _kill_when(proc, ready, timeout=120.0):
    """SIGKILL ``proc`` as soon as ``ready()`` holds; fail if it finishes first."""
    t0 = time.time()
    while not ready():
        assert proc.poll() is None, "finished before it could be interrupted"
        assert time.time() - t0 < timeout, "never became ready"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_fit_survives_kill_and_resumes_to_identical_result(tmp_path):
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    assert _cli(FIT + ["--out", str(ref)]).wait() == 0
    proc = _cli(FIT + ["--out", str(cut)])
    _kill_when(proc, lambda: (cut / "checkpoint.pt").exists())
    assert not (cut / "metrics.json").exists()
    assert _cli(FIT + ["--out", str(cut)]).wait() == 0
    a, b = (json.loads((d / "metrics.json").read_text()) for d in (ref, cut))
    assert a["final_psnr"] == b["final_psnr"] and a["best_psnr"] == b["best_psnr"]
    assert [h["psnr"] for h in a["history"]] == [h["psnr"] for h in b["history"]]
    assert [h["loss"] for h in a["history"]] == [h["loss"] for h in b["history"]]
    wa, wb = (torch.load(d / "model.pt", weights_only=True) for d in (ref, cut))
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    assert not (cut / "checkpoint.pt").exists(), "checkpoint removed once finished"


def test_bench_survives_kill_and_resumes(tmp_path):
    args = ["bench", "quick", "--methods", "relu", "pe", "siren", "--images", "camera",
            "--size", "12", "--steps", "150", "--widths", "32", "--no-progress", "--no-plots"]
    ref, cut = tmp_path / "ref", tmp_path / "cut"
    assert _cli(args + ["--out", str(ref)]).wait() == 0
    proc = _cli(args + ["--out", str(cut)])
    _kill_when(proc, lambda: len(list((cut / "runs").glob("*.json"))) >= 1)
    done = len(list((cut / "runs").glob("*.json")))
    assert done < 3
    assert _cli(args + ["--out", str(cut)]).wait() == 0
    rows = [{r["method"]: (r["final_psnr"], r["best_psnr"], r["ssim"])
             for r in json.loads((d / "results.json").read_text())} for d in (ref, cut)]
    assert rows[0] == rows[1] and len(rows[0]) == 3


def test_same_seed_bitwise_identical_metrics(camera16):
    def once():
        model = inrank.build("siren", 2, 1, width=16, depth=2, seed=11)
        return inrank.fit(model, camera16, steps=25, lr=1e-4, seed=11, batch_size=100,
                          progress=False, accept_worse=True)
    a, b = once(), once()
    assert [(h["loss"], h["psnr"]) for h in a.history] == [(h["loss"], h["psnr"]) for h in b.history]
    assert (a.final_psnr, a.best_psnr, a.ssim) == (b.final_psnr, b.best_psnr, b.ssim)


def test_checkpoint_errors(tmp_path, camera16):
    bad = tmp_path / "ck.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(bad)
    torch.save({"x": torch.zeros(1)}, bad)
    with pytest.raises(CheckpointError, match="not an inrank checkpoint"):
        load_checkpoint(bad)
    save_checkpoint(bad, {"protocol": {"steps": 5}})
    with pytest.raises(CheckpointError, match="belongs to another run"):
        load_checkpoint(bad, expect={"protocol": {"steps": 6}})
    model = inrank.build("relu", 2, 1, width=8, depth=1)
    with pytest.raises(CheckpointError, match="belongs to another run"):
        inrank.fit(model, camera16, steps=5, lr=1e-3, checkpoint=bad, progress=False, accept_worse=True)


def test_cli_corrupt_checkpoint_is_one_line(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / "checkpoint.pt").write_bytes(b"\x00garbage")
    assert main(FIT + ["--out", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    # the banner saying what runs, then the error in one line
    assert lines[-1].startswith("inrank: error: cannot read checkpoint")
    assert len(lines) == 2 and lines[0].startswith("fit ")


def test_bad_input_catalogue_api(tmp_path):
    """Each documented bad input raises one clear exception."""
    Image.fromarray(np.full((1, 1, 3), 7, np.uint8)).save(tmp_path / "one.png")
    one = inrank.load_image(tmp_path / "one.png")
    res = inrank.fit(inrank.build("relu", 2, 3, width=8, depth=1), one, steps=3, lr=1e-3,
                     progress=False, accept_worse=True)
    assert res.prediction.shape == (1, 3)
    cases = [
        (lambda: inrank.Signal(torch.zeros(2, 2), torch.tensor([[float("nan")], [0.0]]), (2,)),
         ValueError, "NaN"),
        (lambda: inrank.build("relu", 2, 3, width=0), ValueError, "width"),
        (lambda: inrank.build("relu", 2, 3, depth=0), ValueError, "depth"),
        (lambda: inrank.build("nope", 2, 3), ValueError, "unknown method"),
        (lambda: inrank.fit(inrank.build("relu", 2, 3, width=8, depth=1), one, steps=0, lr=1e-3, accept_worse=True),
         ValueError, "steps"),
        (lambda: inrank.fit(inrank.build("relu", 2, 3, width=8, depth=1), one, steps=2, lr=-1.0, accept_worse=True),
         ValueError, "lr"),
        (lambda: inrank.build("relu", 3, 3, width=8, depth=1)(torch.zeros(2, 2)), ValueError,
         "expects coordinates"),
        (lambda: inrank.load_image(tmp_path / "nope.png"), FileNotFoundError, "not found"),
        (lambda: inrank.load_image(tmp_path), IsADirectoryError, "directory"),
    ]
    for fn, exc, msg in cases:
        with pytest.raises(exc, match=msg):
            fn()


def test_cli_resume_with_another_method_refuses_and_says_why(tmp_path, capsys, monkeypatch):
    """A killed `inrank fit` rerun with another --method refuses, naming the method."""
    import inrank.train.loop as loop

    out = tmp_path / "ck"
    args = ["fit", "camera", "--size", "12", "--steps", "30", "--width", "16", "--depth", "2",
            "--checkpoint-every", "5", "--out", str(out), "--no-progress", "--accept-worse"]
    real, calls = loop.train_step, []

    def killed_at_12(*a, **k):
        calls.append(1)
        if len(calls) == 12:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(loop, "train_step", killed_at_12)
    assert main(args) != 0
    assert (out / "checkpoint.pt").is_file()
    monkeypatch.setattr(loop, "train_step", real)
    capsys.readouterr()
    assert main(args + ["--method", "relu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "belongs to another run" in err and "'relu+rei'" in err and "'relu'" in err
    assert main(args) == 0  # the same command resumes, and says so
    assert "resumed from" in capsys.readouterr().err
