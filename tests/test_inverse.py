"""Inverse problems through the one loop (issue 26): the operators against scikit-image
(float64, tight), their gradients, the identity operator reproducing a plain fit bit for bit,
a fit through an operator beating the measurement-naive reconstruction, Muon and checkpoints
through an operator, and every refusal in one line."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import inrank
from inrank.errors import InputError
from inrank.operators import (AreaDownsample, Identity, ParallelBeamProjector, PixelMask,
                              make_task, radon_matrix)


def _phantom(n: int) -> np.ndarray:
    from skimage.data import shepp_logan_phantom
    from skimage.transform import resize

    from inrank.operators import inscribed_disk

    img = resize(shepp_logan_phantom(), (n, n), anti_aliasing=True)
    return img * inscribed_disk((n, n)).numpy().reshape(n, n)  # what radon(circle=True) sees


@pytest.mark.parametrize("n", [16, 17])
def test_projector_equals_skimage_radon(n):
    """float64, tight: the same bilinear rotation about (n // 2, n // 2) and column sums as
    ``skimage.transform.radon(circle=True)``, at even and odd sizes."""
    from skimage.transform import radon

    img = _phantom(n)
    A = ParallelBeamProjector((n, n), angles=12)
    ours = A(torch.from_numpy(img.reshape(-1, 1))).numpy().reshape(n, 12)  # float64 in and out
    ref = radon(img, A.theta, circle=True)
    assert np.abs(ours - ref).max() < 1e-10 * np.abs(ref).max()
    assert radon_matrix(n, A.theta).shape == (n * 12, n * n)


def test_operators_gradients_and_batch_dims():
    """gradcheck (float64) of each operator, the adjoint identity <Ax, y> = <x, A^T y> the
    projector's backward relies on, and leading dimensions passing through."""
    ops = [ParallelBeamProjector((6, 6), angles=4), AreaDownsample((6, 6), factor=3),
           PixelMask((6, 6), torch.arange(36) % 3 == 0), Identity((6, 6))]
    for A in ops:
        x = torch.rand(36, 2, dtype=torch.float64, requires_grad=True)
        assert torch.autograd.gradcheck(A, (x,)), A.name
        y = torch.rand(A.n_measurements(), 2, dtype=torch.float64)
        (g,) = torch.autograd.grad((A(x) * y).sum(), x)
        assert torch.allclose((A(x) * y).sum(), (x * g).sum(), atol=1e-12)
        stacked = torch.rand(3, 36, 2, dtype=torch.float64)
        assert torch.allclose(A(stacked)[1], A(stacked[1]), atol=1e-12)


def test_area_downsample_equals_skimage_local_mean():
    from skimage.transform import downscale_local_mean

    img = np.random.default_rng(0).random((8, 12, 3))
    ours = AreaDownsample((8, 12), factor=4)(torch.from_numpy(img.reshape(-1, 3)))
    assert np.allclose(ours.numpy().reshape(2, 3, 3), downscale_local_mean(img, (4, 4, 1)))


def test_identity_operator_is_the_plain_fit_bit_for_bit(one_thread):
    """Fitting is the identity: the same losses and PSNRs, exactly."""
    sig = inrank.load_image("camera", size=8)
    kw = dict(steps=6, lr=1e-2, progress=False, eval_every=2)
    plain = inrank.fit(inrank.build("relu+rei", 2, 1, width=16, depth=2, seed=0), sig, **kw, accept_worse=True)
    ident = inrank.fit(inrank.build("relu+rei", 2, 1, width=16, depth=2, seed=0), sig,
                       operator=Identity(sig.shape), measurements=sig.values, **kw, accept_worse=True)
    assert [h["loss"] for h in plain.history] == [h["loss"] for h in ident.history]
    assert torch.equal(plain.prediction, ident.prediction)
    assert plain.operator is None and ident.operator == {"name": "identity", "shape": [8, 8]}


def test_superres_beats_the_naive_upsampling_and_psnr_is_on_the_truth(one_thread):
    """4x super-resolution of a 16 px image: the network, trained on the 4 x 4 measurements
    only, beats pixel replication (the measurement-naive reconstruction) on the HR truth
    (measured 19.18 against 17.63 dB); its PSNR is against the truth."""
    task = make_task("superres", inrank.load_image("camera", size=16), factor=4)
    naive = task.measurements.reshape(4, 1, 4, 1).expand(4, 4, 4, 4).reshape(256, 1)
    res = inrank.fit(inrank.build("relu", 2, 1, width=32, depth=2, seed=0), task, steps=150, lr=1e-2,
                   progress=False, eval_every=10, accept_worse=True)
    assert res.final_psnr > inrank.psnr(naive, task.signal.values) + 0.5
    assert res.final_psnr == pytest.approx(inrank.psnr(res.prediction, task.signal.values))
    assert res.operator == {"name": "superres", "shape": [16, 16], "factor": 4}


def test_ct_fit_beats_zero_and_inpainting_reports_unseen_pixels(one_thread):
    """CT at 16 px from 10 angles: the network ends well above the zero image (measured
    +5.0 dB), as does FBP (+15 dB); an inpainting fit's test_psnr is on the unseen pixels."""
    ct = make_task("ct", inrank.load_image(_phantom(16)), angles=10)
    res = inrank.fit(inrank.build("relu", 2, 1, width=32, depth=2, seed=0), ct, steps=100, lr=1e-2,
                 progress=False, eval_every=10, accept_worse=True)
    zero = inrank.psnr(torch.zeros_like(ct.signal.values), ct.signal.values)
    assert res.final_psnr > zero + 3 and inrank.psnr(ct.baseline(), ct.signal.values) > zero + 10
    inp = make_task("inpaint", inrank.load_image("camera", size=8), keep=0.25, seed=1)
    r = inrank.fit(inrank.build("relu", 2, 1, width=8, depth=1, seed=0), inp, steps=3, lr=1e-3,
                progress=False, accept_worse=True)
    unseen = inp.operator.unseen()
    assert int(unseen.sum()) == 48
    assert r.test_psnr == pytest.approx(inrank.psnr(r.prediction[unseen], inp.signal.values[unseen]))


def test_a_real_ct_slice_and_its_filtered_back_projection():
    """pydicom's CT_small.dcm (the ct extra) as a gray image in [0, 1]; FBP from 30 angles at
    32 px reconstructs it (measured 30.5 dB)."""
    from inrank.signals import load_ct_slice

    sig = load_ct_slice(size=32)
    assert sig.shape == (32, 32) and sig.out_dim == 1 and sig.name == "ct_small"
    assert 0 <= float(sig.values.min()) and float(sig.values.max()) <= 1
    task = make_task("ct", sig, angles=30)
    assert inrank.psnr(task.baseline(), task.signal.values) > 25


def test_denoising_noise_models_have_their_stated_level():
    """Gaussian: standard deviation ``noise``; Poisson-like: unbiased, variance x / k with
    k = 1 / noise^2 photons at value 1 (a flat 0.5 image, 64 x 64: sampling error ~2%)."""
    flat = inrank.load_image(torch.full((64, 64), 0.5))
    gauss = make_task("denoise", flat, noise=0.1, seed=0)
    assert float((gauss.measurements - 0.5).std()) == pytest.approx(0.1, rel=0.05)
    pois = make_task("denoise", flat, noise=0.1, seed=0, noise_model="poisson")
    assert pois.settings["photons"] == pytest.approx(100.0)
    assert float(pois.measurements.mean()) == pytest.approx(0.5, abs=0.01)
    assert float(pois.measurements.var()) == pytest.approx(0.5 / 100, rel=0.1)
    with pytest.raises(InputError, match="noise_model"):
        make_task("denoise", flat, noise_model="speckle")


def test_muon_precision_and_checkpoint_through_an_operator(tmp_path, one_thread):
    """Muon and bf16 run through the operator; a checkpointed fit resumes to the uninterrupted
    result and refuses another task's measurements."""
    task = make_task("denoise", inrank.load_image("camera", size=8), noise=0.1, seed=0)
    build = lambda: inrank.build("relu", 2, 1, width=16, depth=3, seed=0)  # noqa: E731
    kw = dict(steps=8, lr=1e-2, progress=False, optimizer="muon")
    full = inrank.fit(build(), task, **kw, accept_worse=True)
    assert full.optimizer == "muon" and np.isfinite(full.final_psnr)
    assert np.isfinite(inrank.fit(build(), task, steps=3, lr=1e-2, progress=False, precision="bf16",
                                check_steps=1, accept_worse=True).final_psnr)
    ck = tmp_path / "ck.pt"
    import inrank.train.loop as loop

    real, calls = loop.train_step, []

    def killed_at_5(*a, **k):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    loop.train_step = killed_at_5
    try:
        with pytest.raises(KeyboardInterrupt):
            inrank.fit(build(), task, checkpoint=ck, checkpoint_every=2, **kw, accept_worse=True)
    finally:
        loop.train_step = real
    other = make_task("denoise", task.signal, noise=0.1, seed=1)
    with pytest.raises(inrank.train.CheckpointError, match="measurements"):
        inrank.fit(build(), other, checkpoint=ck, checkpoint_every=2, **kw, accept_worse=True)
    resumed = inrank.fit(build(), task, checkpoint=ck, checkpoint_every=2, **kw, accept_worse=True)
    assert resumed.resumed_from == 4
    assert torch.equal(resumed.prediction, full.prediction)


def test_fit_many_through_an_operator_equals_separate_fits(threads):
    """B models stacked through one operator (CT, inpainting): each gets its separate fit (2
    float32 steps, summed in another order: 1e-4 of the output scale, as
    tests/test_batched.py); camera and moon are stacked, astronaut (RGB) is a separate pass;
    an inpainting fit's test_psnr is on the unseen pixels there too."""
    sigs = [inrank.load_image(n, size=8) for n in ("camera", "moon", "astronaut")]
    for op in (ParallelBeamProjector((8, 8), angles=4), PixelMask((8, 8), torch.arange(64) % 3 == 0)):
        ys = [op(s.values) for s in sigs]
        many = inrank.fit_many("relu+rei", sigs, steps=2, lr=1e-2, width=16, depth=2, seed=1,
                               operator=op, measurements=ys, chunk=2, progress=False, accept_worse=True)
        for sig, y, res in zip(sigs, ys, many):
            model = inrank.build("relu+rei", 2, sig.out_dim, width=16, depth=2, seed=1)
            ref = inrank.fit(model, sig, steps=2, lr=1e-2, seed=1, operator=op, measurements=y,
                             progress=False, accept_worse=True)
            scale = float(ref.prediction.abs().max())
            assert float((res.prediction - ref.prediction).abs().max()) <= 1e-4 * scale
            assert res.operator == ref.operator
            if op.name == "inpaint":
                assert res.test_psnr == pytest.approx(ref.test_psnr, abs=1e-3)


def test_bad_input_is_one_clear_line():
    sig = inrank.load_image("camera", size=8)
    model = inrank.build("relu", 2, 1, width=8, depth=1)
    with pytest.raises(InputError, match="angles must be a positive integer, got 0"):
        make_task("ct", sig, angles=0)
    with pytest.raises(InputError, match="observes no pixels"):
        PixelMask((8, 8), torch.zeros(64, dtype=torch.bool))
    with pytest.raises(InputError, match="keep=0.001 observes no pixels"):
        make_task("inpaint", sig, keep=0.001)
    with pytest.raises(InputError, match="built for a 16x16 grid"):
        inrank.fit(model, sig, steps=1, lr=1e-3, operator=Identity((16, 16)),
                   measurements=torch.zeros(256, 1), accept_worse=True)
    with pytest.raises(InputError, match=r"measurements have shape \(10, 1\)"):
        inrank.fit(model, sig, steps=1, lr=1e-3, operator=Identity((8, 8)),
                   measurements=torch.zeros(10, 1), accept_worse=True)
    with pytest.raises(InputError, match="factor=3 must divide"):
        make_task("superres", sig, factor=3)
    with pytest.raises(InputError, match="batch_size cannot be used with an operator"):
        inrank.fit(model, sig, steps=1, lr=1e-3, batch_size=4, operator=Identity((8, 8)),
                   measurements=sig.values, accept_worse=True)
    with pytest.raises(InputError, match="needs both operator= and measurements="):
        inrank.fit(model, sig, steps=1, lr=1e-3, measurements=sig.values, accept_worse=True)
    with pytest.raises(InputError, match="measurements must list one"):
        inrank.fit_many("relu", [sig], steps=1, lr=1e-3, operator=Identity((8, 8)),
                        measurements=sig.values, accept_worse=True)
    with pytest.raises(InputError, match="needs an image signal"):
        make_task("denoise", inrank.signal_1d("step", n_points=16))


def test_cli_fit_task_and_its_errors(tmp_path, capsys, one_thread):
    import json

    from inrank.cli import main

    out = tmp_path / "ct"
    assert main(["fit", "shepp_logan_phantom", "--task", "ct", "--angles", "10", "--size", "16",
                 "--steps", "5", "--width", "16", "--depth", "2", "--out", str(out),
                 "--no-progress", "--accept-worse"]) == 0
    line = capsys.readouterr().out
    assert "(ct, angles 10)" in line and "baseline fbp" in line
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"]["operator"]["angles"] == 10 and metrics["operator"]["name"] == "ct"
    assert (out / "baseline.png").is_file() and metrics["baseline_psnr"] > 5
    for bad, words in ((["--task", "ct", "--angles", "0"], "angles must be a positive integer"),
                       (["--task", "inpaint", "--keep", "0.0001"], "observes no pixels")):
        assert main(["fit", "camera", "--size", "8", "--steps", "1", "--out", str(tmp_path / "x"),
                     "--no-progress", *bad, "--accept-worse"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert words in err[-1] and len([e for e in err if "Error" in e or words in e]) == 1


def test_each_inverse_task_is_a_bench_suite_beside_its_baseline(tmp_path):
    """`inrank bench ct|superres|denoise|inpaint` (issue 26, item 3): the network trained on the
    measurements only, scored against the truth, the classical baseline's PSNR in the same
    record; inpainting on the unseen pixels too."""
    import json as _json

    for task, image, baseline in (("ct", "shepp_logan_phantom", "fbp"),
                                  ("inpaint", "camera", "biharmonic")):
        out = tmp_path / task
        inrank.run_suite(task, methods=["relu"], images=[image], steps=3, widths=[16], out=out,
                         progress=False, plots=False)
        rec = _json.loads(next((out / "runs").glob("*.json")).read_text())
        m = rec["metrics"]
        assert rec["run"]["task"] == task and rec["shape"] == [48, 48] and m["baseline"] == baseline
        assert 5 < m["baseline_psnr"] < 60 and m["final_psnr"] is not None
        if task == "inpaint":
            assert m["test_psnr"] is not None and 5 < m["baseline_test_psnr"] < 60
