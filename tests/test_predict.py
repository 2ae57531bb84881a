"""Issue 27's predictors on cases with known answers: a target that is one NTK eigenvector,
the linearised curve against a real gradient-descent fit of a nearly linear network, FreSh's
spectrum distance on images whose spectra are known."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import inrank
from inrank.diagnosis.predict import (fresh_distance, kernel_target_alignment, linear_curve,
                                      predict, spectrum_profile, top_energy)
from inrank.diagnosis import layerwise_ntk
from inrank.diagnosis.rank import eigh_desc
from inrank.signals.signal import Signal


def _model_and_kernel(n: int = 40):
    torch.manual_seed(0)
    model = inrank.build("relu", 2, 1, width=32, depth=2, seed=3).double()
    x = torch.rand(n, 2, dtype=torch.float64) * 2 - 1
    K = layerwise_ntk(model, x).total
    values, vectors = eigh_desc(K)
    return model, x.float(), K, values, vectors


def test_a_target_that_is_one_eigenvector_has_known_alignment_and_energy():
    _, _, K, values, vectors = _model_and_kernel()
    for k in (0, 3):
        v = vectors[:, k:k + 1]
        assert kernel_target_alignment(K, v) == pytest.approx(
            float(values[k]) / float(torch.linalg.matrix_norm(K)), rel=1e-10)
        energy = top_energy(vectors, v, (k, k + 1, 40))
        if k:
            assert energy[k] == pytest.approx(0.0, abs=1e-12)
        assert energy[k + 1] == pytest.approx(1.0, rel=1e-12) and energy[40] == pytest.approx(1.0)


def test_the_linearised_curve_decays_each_mode_at_its_own_rate():
    _, _, K, values, vectors = _model_and_kernel()
    r0 = 0.5 * vectors[:, 2:3]                                        # one mode
    (r,), lr = linear_curve(values, vectors, r0, [7], lr=None, channels=1)
    rate = 1 - float(values[2] / values[0])                           # 2 lr lambda / N = ratio
    assert torch.allclose(r, r0 * rate ** 7, atol=1e-12)
    assert lr == pytest.approx(40 / (2 * float(values[0])))


def test_the_linearised_curve_matches_gradient_descent_on_a_wide_network():
    """In the kernel regime (a wide network, small steps) plain gradient descent on the MSE
    follows the predicted curve: the NTK at init describes the fit."""
    torch.manual_seed(0)
    n = 24
    x = torch.rand(n, 1, dtype=torch.float64) * 2 - 1
    y = torch.sin(3 * x)
    model = torch.nn.Sequential(torch.nn.Linear(1, 2048), torch.nn.Tanh(),
                                torch.nn.Linear(2048, 1)).double()
    sig = Signal(coords=x.float(), values=y.float(), shape=(n,), name="sin", kind="1d")
    pred = predict(model, sig, points=n, steps=(0, 40), lr=None, ks=(4,))
    opt = torch.optim.SGD(model.parameters(), lr=pred.lr)
    for _ in range(40):
        opt.zero_grad()
        torch.nn.functional.mse_loss(model(x), y).backward()
        opt.step()
    with torch.no_grad():
        real = 10 * math.log10(1 / float(((model(x) - y) ** 2).mean()))
    assert pred.fit_psnr[1] == pytest.approx(real, abs=0.5)
    assert pred.fit_psnr[1] > pred.fit_psnr[0] + 3


def test_the_off_grid_prediction_interpolates_a_kernel_function():
    """A target inside the kernel's span (the model's own function after a linearised step)
    is predicted off the grid exactly when the regressor runs to convergence."""
    _, _, K, values, vectors = _model_and_kernel()
    sig = inrank.load_image("camera", size=16)
    off = inrank.load_image("camera", size=32)
    p = predict(inrank.build("pe", 2, 1, width=32, depth=2), sig, points=256, offgrid=off,
                offgrid_points=128, steps=(0, 2000), ks=(16,))
    assert p.offgrid_psnr is not None and p.offgrid_psnr > 10
    assert p.fit_psnr[-1] > p.fit_psnr[0]


def test_fresh_is_zero_for_equal_spectra_and_grows_with_the_frequency_gap():
    h = w = 32
    yy, xx = np.mgrid[:h, :w]
    low, mid, high = (np.sin(2 * np.pi * k * xx / w) for k in (2, 6, 12))
    assert fresh_distance([low], low) == pytest.approx(0.0, abs=1e-12)
    assert fresh_distance([low], high) > fresh_distance([low], mid) > 0
    prof = spectrum_profile(mid)
    assert prof.argmax() + 1 == 6 and prof.sum() == pytest.approx(1.0)
    assert fresh_distance([low], high) == pytest.approx(10.0, abs=1e-9)  # all mass moves 2 -> 12


def test_predict_refuses_bad_input_in_one_line():
    sig = inrank.load_image("camera", size=8)
    model = inrank.build("relu", 2, 1, width=8, depth=1)
    with pytest.raises(inrank.InputError, match="points must be a positive integer"):
        predict(model, sig, points=0)
    with pytest.raises(inrank.InputError, match="steps is empty"):
        predict(model, sig, steps=())
    with pytest.raises(inrank.InputError, match="unknown predictor"):
        predict(model, sig, points=16, ks=(4,)).score("magic")


def test_advise_ranks_a_knob_grid_by_each_predictor(tmp_path, capsys):
    from inrank.cli import main
    from inrank.diagnosis.advise import advise

    sig = inrank.load_image("camera", size=12)
    a = advise(sig, "siren", width=16, depth=2, points=64, inits=2, candidates=[10, 30],
               offgrid=inrank.load_image("camera", size=24), offgrid_points=32)
    assert a.candidates == [10.0, 30.0] and len(a.predictions) == 2
    for name, higher in {"alignment": True, "linear_fit": True, "fresh": False}.items():
        s = a.scores(name)
        assert a.choices[name] == a.candidates[s.index(max(s) if higher else min(s))]
    assert a.choice == a.choices[a.recommended]
    with pytest.raises(inrank.InputError, match="'relu' has no knob to choose"):
        advise(sig, "relu")
    assert main(["advise", "camera", "--method", "pe", "--size", "12", "--points", "64",
                 "--offgrid-points", "32", "--width", "16", "--depth", "2", "--inits", "1",
                 "--out", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    assert "choice: pe_octaves = " in said and "predicted fit (linearised GD on 64 points)" in said
    assert (tmp_path / "advice.json").is_file() and (tmp_path / "predicted_curves.png").is_file()


def test_fresh_reads_each_init_in_eval_mode_and_advise_scores_it_once():
    """FreSh averages the given inits' output spectra in eval mode (BatchNorm's running
    statistics, as the other predictors' evaluation), leaving each model's mode as it was."""
    from inrank.diagnosis.predict import fresh_of_models

    sig = inrank.load_image("camera", size=12)
    models = [inrank.build("bn", 2, 1, width=16, depth=2, seed=s) for s in (0, 1)]
    mixed = fresh_of_models(models, sig)
    assert all(m.training for m in models)
    p = predict(models[0], sig, points=32, ks=(4,), inits=models[1:])
    assert p.fresh == pytest.approx(mixed, rel=1e-12)
    assert predict(models[0], sig, points=32, ks=(4,)).fresh == pytest.approx(
        fresh_of_models(models[:1], sig), rel=1e-12)


def test_advise_takes_reis_other_options_as_knobs_and_keeps_the_presets_gain(monkeypatch):
    """``knob="rei_options.directions"`` on relu+rei: the candidates keep the preset's gain
    (an rei_options override alone would replace it), the choice is the REI predictor's, and
    a knob a method does not have is refused by name."""
    from inrank.diagnosis import advise as adv
    from inrank.nn import registry

    built = []
    real = registry.build

    def spy(*a, **k):
        built.append(k.get("rei_options"))
        return real(*a, **k)

    from dataclasses import replace

    real_preset = registry.preset
    tuned = replace(real_preset("relu+rei"), config=replace(real_preset("relu+rei").config,
                                                             rei_options={"gain": 7.0}))
    fake = lambda name: tuned if name == "relu+rei" else real_preset(name)  # noqa: E731
    for module in (registry, adv):  # advise imports them at its top
        monkeypatch.setattr(module, "preset", fake)
        monkeypatch.setattr(module, "build", spy)
    sig = inrank.load_image("camera", size=12)
    a = adv.advise(sig, "relu+rei", knob="rei_options.directions", candidates=[3, 4],
                   width=32, depth=3, points=48, inits=1,
                   offgrid=inrank.load_image("camera", size=24), offgrid_points=32)
    assert built == [{"gain": 7.0, "directions": 3}, {"gain": 7.0, "directions": 4}]
    assert a.knob == "rei_options.directions" and a.recommended == "linear_offgrid"
    with pytest.raises(inrank.InputError, match="'pe' has no knob 'rei_options.gain'"):
        adv.advise(sig, "pe", knob="rei_options.gain")
    with pytest.raises(inrank.InputError, match="has no option 'foo'"):
        adv.advise(sig, "relu+rei", knob="rei_options.foo")
