import pytest
import torch

import inrank
from inrank.batched import fit_many, fit_models


@pytest.fixture(scope="module")
def signals():
    # chelsea and coffee share a shape (12 x 18 RGB) and are batched together; astronaut
    # (12 x 12 RGB) and camera (10 x 10 gray) form groups of their own
    sigs = [inrank.load_image(n, size=s) for n, s in
            (("chelsea", 12), ("coffee", 12), ("astronaut", 12), ("camera", 10))]
    assert sigs[0].shape == sigs[1].shape
    return sigs


@pytest.mark.parametrize("name", ["relu+rei", "siren", "rff"])
def test_fit_many_equals_separate_fits(name, signals):
    many = fit_many(name, signals, steps=15, lr=1e-3, width=24, depth=2, seed=4, progress=False)
    for sig, res in zip(signals, many):
        model = inrank.build(name, 2, sig.channels, width=24, depth=2, seed=4)
        ref = inrank.fit(model, sig, steps=15, lr=1e-3, seed=4, progress=False)
        assert res.final_psnr == pytest.approx(ref.final_psnr, abs=1e-4)
        assert torch.allclose(res.prediction, ref.prediction, atol=1e-5)
        assert [h["step"] for h in res.history] == [h["step"] for h in ref.history]
        assert res.params == ref.params


def test_fit_models_trains_in_place_and_checks_lengths(signals):
    models = [inrank.build("relu", 2, s.channels, width=8, depth=1) for s in signals]
    before = models[0].linears[0].weight.detach().clone()
    fit_models(models, signals, steps=3, lr=1e-2, progress=False)
    assert not torch.equal(before, models[0].linears[0].weight)
    with pytest.raises(ValueError, match="one model per signal"):
        fit_models(models[:1], signals, steps=3, lr=1e-3)


def test_batchnorm_models_fall_back_to_sequential(signals):
    with pytest.warns(UserWarning, match="one by one"):
        res = fit_many("bn", signals[:2], steps=2, lr=1e-3, width=8, depth=1, progress=False)
    assert len(res) == 2
