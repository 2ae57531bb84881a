"""FitResult's notebook displays: a short repr and an HTML table, not the whole history."""
from __future__ import annotations

import math

import pytest
import torch

import inrank
from inrank.train.result import FitResult
from inrank.train.settings import resolve_settings


def _result(evaluations: int = 1000, **extra) -> FitResult:
    history = [{"step": i, "loss": 0.0123456, "lr": 1e-3, "psnr": 20.0 + i / 1000,
                "train_seconds": i * 1e-3} for i in range(evaluations)]
    settings = resolve_settings([torch.nn.Linear(2, 3)], steps=evaluations, lr=3.16e-3,
                                device="cpu", seed=0)
    fields = dict(history=history, final_psnr=31.4234, best_psnr=31.5012, ssim=0.91234,
                  params=12345, seconds_per_step=8.51e-4, settings=settings,
                  batch_size=None, prediction=torch.zeros(4, 3))
    return FitResult(**{**fields, **extra})


def test_repr_is_short_and_names_the_numbers_that_matter():
    text = repr(_result(1000))
    assert len(text) < 300 and "\n" not in text and "0.0123456" not in text  # no history rows
    assert text == ("FitResult(final_psnr=31.42, best_psnr=31.50, ssim=0.9123, steps=1000, "
                    "lr=0.00316, params=12345, seconds_per_step=0.000851, device=cpu, "
                    "history=[1000 evaluations])")
    masked = repr(_result(3, test_psnr=27.126, ssim=None))
    assert "test_psnr=27.13" in masked and "ssim=None" in masked


def test_repr_html_is_a_small_table():
    page = _result(1000)._repr_html_()
    assert page.startswith("<table>") and page.count("<tr>") == 1 + 9 and len(page) < 1000
    assert "<td>final_psnr</td><td>31.42</td>" in page
    assert "<td>history</td><td>[1000 evaluations]</td>" in page


def test_repr_of_a_real_fit():
    sig = inrank.load_image(torch.rand(6, 6, 3))
    res = inrank.fit(inrank.build("relu", 2, 3, width=8, depth=1, seed=0), sig, steps=2,
                     lr=1e-3, progress=False, accept_worse=True)
    assert repr(res).startswith(f"FitResult(final_psnr={res.final_psnr:.2f}, ")
    assert f"steps=2, lr=0.001, params={res.params}" in repr(res)
    assert f"history=[{len(res.history)} evaluations])" in repr(res)


def test_the_default_evaluation_cadence_keeps_evaluations_cheap_under_mini_batches():
    """An evaluation passes every point forward: with mini-batches of B of N points it costs
    about N / (3 B) steps, so the default cadence stretches to keep it near 5% of the training
    time; a cadence the user gives is kept."""
    import inrank
    from inrank.train.loop import EVAL_SHARE

    signal = inrank.load_image("camera", size=32)                      # 1024 points
    model = inrank.build("relu", 2, 1, width=16, depth=2, seed=0)
    res = inrank.fit(model, signal, steps=200, lr=1e-3, batch_size=64, progress=False,
                     accept_worse=True)
    steps = [h["step"] for h in res.history]
    every = steps[1] - steps[0]
    assert every == min(200 // 10, math.ceil(1024 / (3 * 64 * EVAL_SHARE)))  # 20, not 2
    share = (1024 / (3 * 64)) / every                # evaluations' cost over the steps'
    assert share <= 0.3 and len(steps) == 200 // every
    given = inrank.fit(model, signal, steps=20, lr=1e-3, batch_size=64, eval_every=2,
                       progress=False, accept_worse=True)
    assert [h["step"] for h in given.history] == list(range(2, 21, 2))
    full = inrank.fit(model, signal, steps=200, lr=1e-3, progress=False, accept_worse=True)
    assert full.history[1]["step"] - full.history[0]["step"] == 2       # full batch: steps // 100


def test_compile_is_the_users_word_or_the_measured_rule_and_the_result_says_which(monkeypatch):
    """compile=None (the default) compiles a CPU fit of at least COMPILE_MIN_FLOPS of training
    work when a C++ compiler is there, and trains small fits eagerly; the result's settings say
    what ran; fit_many refuses compile=True for a batched pass rather than ignoring it."""
    import inrank
    from inrank.errors import InputError
    from inrank.train import compiling
    from inrank.train.flops import step_flops

    signal = inrank.load_image("camera", size=16)
    model = inrank.build("relu", 2, 1, width=16, depth=2, seed=0)
    small = inrank.fit(model, signal, steps=3, progress=False, accept_worse=True)
    assert small.settings.compile is False                     # far below the threshold
    work = step_flops(model, len(signal)) * 3
    monkeypatch.setattr(compiling, "COMPILE_MIN_FLOPS", work)   # as if this fit were large
    monkeypatch.setattr(compiling, "cxx_compiler", lambda: "g++")
    big = inrank.fit(model, signal, steps=3, progress=False, accept_worse=True)
    assert big.settings.compile is True
    assert inrank.fit(model, signal, steps=3, progress=False, accept_worse=True,
                      compile=False).settings.compile is False
    monkeypatch.setattr(compiling, "cxx_compiler", lambda: None)  # no compiler: eager
    assert inrank.fit(model, signal, steps=3, progress=False,
                      accept_worse=True).settings.compile is False
    models = [inrank.build("relu", 2, 1, width=16, depth=2, seed=i) for i in range(2)]
    with pytest.raises(InputError, match="compile=True cannot be used with batched passes"):
        inrank.fit_models(models, [signal, signal], steps=3, progress=False, compile=True)
    batched = inrank.fit_models(models, [signal, signal], steps=3, progress=False,
                                accept_worse=True)
    assert [r.settings.compile for r in batched] == [False, False]


def test_the_cli_says_before_training_when_a_fit_will_compile(tmp_path, capsys, monkeypatch):
    """The compiled first step takes seconds more: the start line says so, and how to avoid it."""
    from inrank.cli import main
    from inrank.train import compiling

    monkeypatch.setattr(compiling, "COMPILE_MIN_FLOPS", 1.0)     # as if the fit were large
    monkeypatch.setattr(compiling, "cxx_compiler", lambda: None)  # ... but nothing compiles here
    assert main(["fit", "camera", "--size", "8", "--steps", "2", "--out", str(tmp_path / "a"),
                 "--no-progress", "--accept-worse"]) == 0
    assert "compiled" not in capsys.readouterr().err
    monkeypatch.setattr(compiling, "cxx_compiler", lambda: "g++")
    assert main(["fit", "camera", "--size", "8", "--steps", "2", "--out", str(tmp_path / "b"),
                 "--no-progress", "--accept-worse", "--no-compile"]) == 0
    assert "compiled" not in capsys.readouterr().err
    assert main(["fit", "camera", "--size", "8", "--steps", "2", "--out", str(tmp_path / "c"),
                 "--no-progress", "--accept-worse"]) == 0
    first = capsys.readouterr().err.splitlines()[0]
    assert first.endswith("compiled (torch.compile: the first step takes some seconds more; "
                          "--no-compile trains eagerly)")
