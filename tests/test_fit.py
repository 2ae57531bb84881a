import math

import pytest
import torch
from torch import nn

import inrank
from inrank.errors import DivergedError


def _fit(name, signal, steps, **kw):
    model = inrank.build(name, 2, signal.out_dim, width=64, depth=2, seed=0)
    return inrank.fit(model, signal, steps=steps, lr=kw.pop("lr", inrank.preset(name).lr),
                      progress=False, **kw, accept_worse=True)


def test_fit_raises_psnr_and_pe_beats_relu(astronaut32):
    relu = _fit("relu", astronaut32, 300)
    pe = _fit("pe", astronaut32, 300)
    first = relu.history[0]["psnr"]
    assert relu.final_psnr > first + 3
    assert pe.final_psnr > relu.final_psnr + 3, (pe.final_psnr, relu.final_psnr)
    assert 0 < relu.ssim < pe.ssim <= 1
    assert relu.best_psnr >= relu.final_psnr
    assert relu.params == sum(p.numel() for p in inrank.build("relu", 2, 3, width=64, depth=2).parameters())
    assert relu.prediction.shape == astronaut32.values.shape
    assert [h["step"] for h in relu.history][-1] == 300 and relu.seconds_per_step > 0


def test_fit_is_bitwise_reproducible_full_and_mini_batch(camera16):
    for bs in (None, 64):
        a = _fit("relu+rei", camera16, 20, batch_size=bs, seed=3)
        b = _fit("relu+rei", camera16, 20, batch_size=bs, seed=3)
        assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
        assert torch.equal(a.prediction, b.prediction)


def test_mini_batches_when_full_batch_exceeds_budget(camera16):
    with pytest.warns(UserWarning, match="mini-batches"):
        res = _fit("relu", camera16, 5, memory_budget=10_000)
    assert res.batch_size is not None and res.batch_size < len(camera16)


def test_schedules_set_the_learning_rate_of_every_step(camera16):
    T, lr0 = 8, 1e-3
    expected = {
        "none": [lr0] * T,
        "cosine": [lr0 * (1 + math.cos(math.pi * s / T)) / 2 for s in range(T)],  # to 0 at T
        "exponential": [lr0 * 0.1 ** (s / T) for s in range(T)],                # 10x decay over T
    }
    for name, lrs in expected.items():
        res = _fit("relu", camera16, T, schedule=name, lr=lr0, eval_every=1)
        assert [h["lr"] for h in res.history] == pytest.approx(lrs, rel=1e-12), name
    with pytest.raises(ValueError, match="unknown schedule"):
        _fit("relu", camera16, 5, schedule="linear")


class _Explodes(nn.Module):
    """Wraps a model; returns NaN from the 8th training forward on."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.calls, self.in_dim = inner, 0, 2

    def forward(self, x):
        out = self.inner(x)
        if self.training:
            self.calls += 1
            if self.calls >= 8:
                return out * float("nan")
        return out


def test_nan_loss_stops_with_clear_error_and_keeps_best_state(camera16):
    model = _Explodes(inrank.build("relu", 2, 1, width=16, depth=1))
    with pytest.raises(DivergedError, match="loss became nan at step 8") as info:
        inrank.fit(model, camera16, steps=50, lr=1e-3, eval_every=1, progress=False, accept_worse=True)
    partial = info.value.result
    assert len(partial.history) == 7 and partial.best_psnr == max(h["psnr"] for h in partial.history)
    restored = inrank.predict(model, camera16.coords)
    assert inrank.psnr(restored, camera16.values) == pytest.approx(partial.best_psnr, abs=1e-9)


def test_bad_arguments(camera16):
    model = inrank.build("relu", 2, 1, width=8, depth=1)
    for kw, msg in [({"steps": 0, "lr": 1e-3}, "steps"), ({"steps": -5, "lr": 1e-3}, "steps"),
                    ({"steps": 5, "lr": 0.0}, "lr"), ({"steps": 5, "lr": -1.0}, "lr"),
                    ({"steps": 5, "lr": float("nan")}, "lr")]:
        with pytest.raises(ValueError, match=msg):
            inrank.fit(model, camera16, progress=False, **kw, accept_worse=True)
    with pytest.raises(ValueError, match="3-D coordinates"):
        inrank.fit(inrank.build("relu", 3, 1, width=8, depth=1), camera16, steps=2, lr=1e-3, accept_worse=True)
    with pytest.raises(TypeError, match="Signal"):
        inrank.fit(model, torch.zeros(4, 2), steps=2, lr=1e-3, accept_worse=True)


def test_rank_tracking_records_what_diagnose_measures(camera16):
    from inrank.train.tracking import track_point_indices

    model = inrank.build("relu", 2, 1, width=16, depth=2, seed=0)
    res = inrank.fit(model, camera16, steps=10, lr=1e-3, progress=False, track_every=4,
                     track_points=100, accept_worse=True)
    assert [t["step"] for t in res.track] == [0, 4, 8, 10]
    last = res.track[-1]
    assert [lay["name"] for lay in last["layers"]] == ["linears.0", "linears.1", "linears.2"]
    assert sum(lay["ntk"]["share"] for lay in last["layers"]) == pytest.approx(1.0)
    # the last record is diagnose() of the final model on the same subsample
    idx = track_point_indices(len(camera16), 100, seed=0)
    d = inrank.diagnose(model, camera16.coords[idx], rtols=(1e-3,), total=False)
    assert last["layers"][1]["features"]["effective"] == pytest.approx(
        d.layers[0].features.effective, rel=1e-9)
    assert last["layers"][1]["ntk"]["top"] == pytest.approx(d.layers[1].ntk_top[:3], rel=1e-9)
    assert res.track_seconds > 0
    # tracking changes nothing about the fit
    plain = inrank.fit(inrank.build("relu", 2, 1, width=16, depth=2, seed=0), camera16, steps=10,
                       lr=1e-3, progress=False, accept_worse=True)
    assert torch.equal(plain.prediction, res.prediction)


def test_compiled_training_follows_the_eager_fit(camera16):
    """One float32 step through torch.compile equals the eager step to round-off (the fused
    kernels sum in another order); 1e-4 of the output scale bounds it."""
    runs = [inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1, seed=0), camera16, steps=1,
                       lr=1e-3, progress=False, compile=c, accept_worse=True) for c in (False, True)]
    scale = float(runs[0].prediction.abs().max())
    assert float((runs[0].prediction - runs[1].prediction).abs().max()) <= 1e-4 * scale
