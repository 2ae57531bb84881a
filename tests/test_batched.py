"""fit_many / fit_models against separate fits.

Two comparisons, each with the tolerance its arithmetic allows:
- float64, 15 steps: the batched pass and the separate fits do the same arithmetic up to the
  order of float64 sums, so the trained weights agree to ~1e-12 relative (we allow 1e-9);
- float32, one step: one Adam step from the same init differs only by float32 round-off of
  one forward/backward (relative ~1e-6 of the weights' change; we allow 1e-5 of the scale).
Many float32 steps are not compared bit for bit: kernels round differently across CPUs and
thread counts, and 15 Adam steps on Fourier features amplify the last bits (issue 12).
"""
import pytest
import torch

import inrank
from inrank.train.batched import fit_many, fit_models


@pytest.fixture(scope="module")
def signals():
    # chelsea and coffee share a shape (12 x 18 RGB) and are batched together; astronaut
    # (12 x 12 RGB) and camera (10 x 10 gray) form groups of their own
    sigs = [inrank.load_image(n, size=s) for n, s in
            (("chelsea", 12), ("coffee", 12), ("astronaut", 12), ("camera", 10))]
    assert sigs[0].shape == sigs[1].shape
    return sigs


def _double(sig: inrank.Signal) -> inrank.Signal:
    return inrank.Signal(sig.coords.double(), sig.values.double(), sig.shape, sig.name)


def _weights(model):
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


@pytest.mark.parametrize("name", ["relu+rei", "siren", "rff"])
def test_fit_models_equals_separate_fits_in_float64(name, signals, threads):
    sigs = [_double(s) for s in signals]
    build = lambda s: inrank.build(name, 2, s.channels, width=24, depth=2, seed=4).double()  # noqa: E731
    batched = [build(s) for s in sigs]
    many = fit_models(batched, sigs, steps=15, lr=1e-3, seed=4, progress=False)
    for sig, model, res in zip(sigs, batched, many):
        alone = build(sig)
        ref = inrank.fit(alone, sig, steps=15, lr=1e-3, seed=4, progress=False)
        a, b = _weights(model), _weights(alone)
        assert float((a - b).abs().max()) <= 1e-9 * float(b.abs().max()), name
        assert res.final_psnr == pytest.approx(ref.final_psnr, abs=1e-6)
        assert [h["step"] for h in res.history] == [h["step"] for h in ref.history]
        assert res.params == ref.params


@pytest.mark.parametrize("name", ["relu+rei", "siren", "rff"])
def test_fit_many_one_float32_step_equals_a_separate_step(name, signals, threads):
    many = fit_many(name, signals, steps=1, lr=1e-3, width=24, depth=2, seed=4, progress=False)
    for sig, res in zip(signals, many):
        model = inrank.build(name, 2, sig.channels, width=24, depth=2, seed=4)
        ref = inrank.fit(model, sig, steps=1, lr=1e-3, seed=4, progress=False)
        scale = float(ref.prediction.abs().max())
        assert float((res.prediction - ref.prediction).abs().max()) <= 1e-5 * scale
        assert res.final_psnr == pytest.approx(ref.final_psnr, abs=1e-4)


def test_fit_models_trains_in_place_and_checks_lengths(signals):
    models = [inrank.build("relu", 2, s.channels, width=8, depth=1) for s in signals]
    before = models[0].linears[0].weight.detach().clone()
    fit_models(models, signals, steps=3, lr=1e-2, progress=False)
    assert not torch.equal(before, models[0].linears[0].weight)
    with pytest.raises(ValueError, match="one model per signal"):
        fit_models(models[:1], signals, steps=3, lr=1e-3)


def test_batchnorm_models_fall_back_to_sequential_fits(signals):
    with pytest.warns(UserWarning, match="one by one"):
        res = fit_many("bn", signals[:2], steps=2, lr=1e-3, width=8, depth=1, progress=False)
    for sig, r in zip(signals[:2], res):  # the same code path as a separate fit: bit for bit
        ref = inrank.fit(inrank.build("bn", 2, 3, width=8, depth=1), sig, steps=2, lr=1e-3,
                         progress=False)
        assert torch.equal(r.prediction, ref.prediction) and r.final_psnr == ref.final_psnr
