"""Held-out splits (inrank.splits) and fit's train_mask / loss options."""
import math

import pytest
import torch

import inrank
from inrank import fit
from inrank.signals.splits import subgrid_mask
from inrank.bench.tasks import run_generalize


@pytest.mark.parametrize("shape,stride,offset,expected", [
    ((4, 4), 2, 0, 4), ((5, 4), 2, 0, 6), ((5, 4), 2, 1, 4), ((7,), 2, 0, 4), ((4, 4, 4), 2, 0, 8),
    ((9, 9), 3, 1, 9), ((3, 3), 1, 0, 9)])
def test_subgrid_sizes(shape, stride, offset, expected):
    mask = subgrid_mask(shape, stride=stride, offset=offset)
    assert mask.dtype == torch.bool and mask.shape == (math.prod(shape),)
    assert int(mask.sum()) == expected


def test_subgrid_is_the_even_pixel_grid():
    mask = subgrid_mask((6, 4)).reshape(6, 4)
    rows, cols = torch.meshgrid(torch.arange(6), torch.arange(4), indexing="ij")
    assert torch.equal(mask, (rows % 2 == 0) & (cols % 2 == 0))
    coords = inrank.grid_coords((6, 4))[subgrid_mask((6, 4))]
    assert torch.equal(coords, inrank.grid_coords((6, 4)).reshape(6, 4, 2)[::2, ::2].reshape(-1, 2))


def test_subgrid_bad_offset():
    with pytest.raises(ValueError, match="offset must be in"):
        subgrid_mask((4, 4), stride=2, offset=2)


def _model(seed=0):
    return inrank.build("relu+rei", 2, 1, width=32, depth=2, seed=seed)


def test_held_out_values_never_reach_training(camera16):
    """Corrupting the held-out pixels changes nothing in training, only the test PSNR."""
    mask = subgrid_mask(camera16.shape)
    corrupt = inrank.Signal(camera16.coords, camera16.values.clone(), camera16.shape, "c")
    corrupt.values[~mask] = 1.0 - corrupt.values[~mask]
    a = fit(_model(), camera16, steps=30, lr=1e-3, train_mask=mask, progress=False, accept_worse=True)
    b = fit(_model(), corrupt, steps=30, lr=1e-3, train_mask=mask, progress=False, accept_worse=True)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert torch.equal(a.prediction, b.prediction) and a.train_psnr == b.train_psnr
    assert a.test_psnr != b.test_psnr


def test_train_and_test_psnr_are_the_split_psnrs(camera16):
    mask = subgrid_mask(camera16.shape)
    res = fit(_model(), camera16, steps=40, lr=1e-3, train_mask=mask, progress=False, accept_worse=True)
    p, y = res.prediction, camera16.values
    assert res.train_psnr == pytest.approx(inrank.psnr(p[mask], y[mask]), abs=1e-9)
    assert res.test_psnr == pytest.approx(inrank.psnr(p[~mask], y[~mask]), abs=1e-9)
    assert res.final_psnr == pytest.approx(inrank.psnr(p, y), abs=1e-9)
    assert {"train_psnr", "test_psnr"} <= set(res.history[-1])
    assert res.metrics["test_psnr"] == res.test_psnr and res.to_dict()["train_psnr"] == res.train_psnr
    # the whole-signal PSNR is the MSE-weighted mix of the two parts
    mse = 0.25 * 10 ** (-res.train_psnr / 10) + 0.75 * 10 ** (-res.test_psnr / 10)
    assert res.final_psnr == pytest.approx(-10 * math.log10(mse), abs=1e-6)


def test_mini_batches_draw_only_training_points(camera16):
    mask = subgrid_mask(camera16.shape)
    res = fit(_model(), camera16, steps=10, lr=1e-3, train_mask=mask, batch_size=16, progress=False, accept_worse=True)
    assert res.batch_size == 16 and res.test_psnr is not None


def test_without_mask_no_split_fields(camera16):
    res = fit(_model(), camera16, steps=3, lr=1e-3, progress=False, accept_worse=True)
    assert res.train_psnr is None and res.test_psnr is None and set(res.metrics) == {"psnr"}
    assert res.loss_name == "mse"


def test_bad_masks_and_losses(camera16):
    n = len(camera16)
    for mask, err, msg in [(torch.ones(n), TypeError, "bool tensor"),
                           (torch.ones(n - 1, dtype=torch.bool), ValueError, "shape"),
                           (torch.zeros(n, dtype=torch.bool), ValueError, "no points")]:
        with pytest.raises(err, match=msg):
            fit(_model(), camera16, steps=2, lr=1e-3, train_mask=mask, progress=False, accept_worse=True)
    with pytest.raises(ValueError, match="unknown loss"):
        fit(_model(), camera16, steps=2, lr=1e-3, loss="l1", progress=False, accept_worse=True)
    with pytest.raises(ValueError, match="0/1 values"):
        fit(_model(), camera16, steps=2, lr=1e-3, loss="bce", progress=False, accept_worse=True)


def test_run_generalize_row(camera16):
    row = run_generalize("pe", camera16, steps=5, width=16, depth=1)
    assert row["method"] == "pe" and row["steps"] == 5
    assert all(math.isfinite(row[k]) for k in ("psnr", "train_psnr", "test_psnr"))


def test_task_protocols(camera16):
    from inrank.bench.tasks import TASK_SUITES, task_fit_kwargs, task_loss, task_overrides

    assert set(TASK_SUITES) == {"generalize", "audio", "occupancy", "sdf", "ct", "superres",
                                "denoise", "inpaint"}
    mask = task_fit_kwargs("generalize", camera16)["train_mask"]
    assert torch.equal(mask, subgrid_mask(camera16.shape))
    assert task_loss(camera16) == "mse" and task_overrides("siren", camera16) == {}
    occ = inrank.Signal(torch.zeros(4, 3), torch.ones(4, 1), (4,), kind="occupancy")
    assert task_loss(occ) == "bce" and task_fit_kwargs("occupancy", occ)["loss"] == "bce"
    sdf = inrank.Signal(torch.zeros(4, 3), torch.zeros(4, 1), (4,), kind="sdf")
    assert task_loss(sdf) == "sdf" and task_fit_kwargs("sdf", sdf)["loss"] == "sdf"
