"""Mixed precision: autocast for the forward pass only, float32 master weights, loss and
metrics; the float32 comparison at the end and its warning."""
from __future__ import annotations

import importlib
import math

import pytest
import torch

import inrank

loop = importlib.import_module("inrank.train.loop")


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_low_precision_fit_keeps_float32_weights_and_checks_itself(precision, camera16):
    model = inrank.build("relu", 2, 1, width=16, depth=2, seed=0)
    res = inrank.fit(model, camera16, steps=20, lr=1e-3, precision=precision, progress=False,
                     check_steps=5, accept_worse=True)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert res.precision == precision and res.prediction.dtype == torch.float32
    assert all(math.isfinite(h["loss"]) and isinstance(h["loss"], float) for h in res.history)
    check = res.precision_check
    assert check["steps"] == 5 and check["speedup"] > 0
    assert check["gain_db"] == pytest.approx(check["psnr_float32"] - check["psnr_low"])
    # the check restores the state: the model keeps its final weights and PSNR
    assert inrank.psnr(inrank.predict(model, camera16.coords), camera16.values) == \
        pytest.approx(res.final_psnr, abs=1e-9)


def test_the_bf16_forward_really_runs_in_bf16(camera16, monkeypatch):
    seen = []
    real = torch.nn.Linear.forward

    def spy(self, x):
        out = real(self, x)
        seen.append(out.dtype)
        return out

    monkeypatch.setattr(torch.nn.Linear, "forward", spy)
    inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1), camera16, steps=1, lr=1e-3,
               precision="bf16", progress=False, check_steps=0, accept_worse=True)
    assert torch.bfloat16 in seen


def test_precision_limited_results_warn_and_float32_never_checks(camera16, monkeypatch):
    monkeypatch.setattr(loop, "PRECISION_LIMIT_DB", -1e9)  # every gain counts as a limit
    with pytest.warns(UserWarning, match="bf16 result is precision-limited"):
        inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1), camera16, steps=10, lr=1e-3,
                   precision="bf16", progress=False, check_steps=3, accept_worse=True)
    res = inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1), camera16, steps=10, lr=1e-3,
                     progress=False, accept_worse=True)
    assert res.precision == "float32" and res.precision_check is None
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1), camera16, steps=1, lr=1e-3,
                   precision="fp8", accept_worse=True)


def test_cli_reports_the_speedup(tmp_path, capsys):
    from inrank.cli import main

    assert main(["fit", "camera", "--size", "12", "--steps", "20", "--width", "8",
                 "--precision", "bf16", "--out", str(tmp_path), "--no-progress", "--accept-worse"]) == 0
    assert "x the float32 step speed" in capsys.readouterr().err
